"""The demo's contacts with what came of them: topics, outcomes, appeals (with their events)
and callback tasks, from the arrival times (`demo_traffic`) and who answered when
(`demo_queue`)."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ekc_core.deadlines import DeadlineTerms
from ekc_core.enums import (
    AppealKind,
    AppealStatus,
    Channel,
    ContactOutcome,
    ContactStatus,
    Direction,
)
from ekc_core.reference_data import INBOUND_TOPIC_WEIGHTS
from ekc_server.demo_appeals import callback_task, complete_callback, make_appeal
from ekc_server.demo_people import Numbers, weighted
from ekc_server.demo_queue import Handled
from ekc_server.models import Agency, Topic

_EMOTIONS = ["спокойствие", "тревога", "раздражение", "растерянность", "гнев", "грусть"]
#: share of 59-FZ appeals that are complaints (the centre: 0 % complaints)
COMPLAINT_SHARE = 0.001
#: the text classifier's confidence below which the demo routes a contact to the general
#: group (the real threshold is the classifier's; see `services.contact_routing`)
_DEMO_CONFIDENT = 0.6
#: appeals that get stuck with their agency and go overdue (the centre: none overdue; a
#: few recent ones keep the overdue list of the console worth a look)
STUCK_BUDGET = 3


@dataclass
class Reference:
    topics: list[Topic]
    children: dict[int, list[Topic]]
    top_by_id: dict[int | None, Topic]
    top_by_code: dict[str, Topic]
    agencies: list[Agency]
    rules: dict[AppealKind, DeadlineTerms]
    summaries: dict[str, list[str]]
    replies: dict[str, list[str]]
    messages: dict[str, list[str]]
    """Citizens' own words by top-level topic (`data/demo/messages.yaml`): the texts of
    written contacts and the transcripts of calls, as the centre's history has them."""


@dataclass
class Incoming:
    """One contact before its row: kind, when it arrived, what the queue did with it."""

    at: float
    kind: str  # inbound | outbound | written | video
    channel: Channel = Channel.phone
    office_id: int | None = None
    handled: Handled = field(default_factory=lambda: Handled(None, None))


@dataclass
class ContactRows:
    contacts: list[dict[str, Any]] = field(default_factory=list)
    appeals: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    callbacks: list[dict[str, Any]] = field(default_factory=list)


def _route(row: dict[str, Any], topic: Topic, top: Topic) -> None:
    """The routing a demo contact got on arrival (issue 14): the assistant's topic, the text
    classifier (a confidence drawn from the row's id, so the other draws stay as they were),
    an outgoing call's topic; an unsure guess goes to the general group."""
    if row["handoff"] is not None:
        row.update(group_code=top.group_code, routed_topic=top.code, route_source="handoff")
    elif row["direction"] == Direction.outbound.value:
        row.update(group_code=topic.group_code, routed_topic=topic.code, route_source="topic")
    else:
        confidence = round(0.4 + (row["id"] * 2654435761 % 1000) / 1000 * 0.59, 3)
        row["route_confidence"] = confidence
        if confidence >= _DEMO_CONFIDENT:
            row.update(group_code=topic.group_code, routed_topic=topic.code, route_source="text")
        else:
            row.update(group_code="general", routed_topic=None, route_source="none")


def _ts(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def make_contacts(
    *,
    rng: random.Random,
    incoming: list[Incoming],
    ref: Reference,
    citizens: int,
    citizen_phone: dict[int, str],
    numbers: Numbers,
    lead_ids: list[int],
    today_year: int,
    now: datetime,
) -> ContactRows:
    out = ContactRows()
    # how often each citizen gets in touch: log-normal, so a few call several times a month
    cum_weights = list(itertools.accumulate(rng.lognormvariate(0, 0.55) for _ in range(citizens)))
    citizen_ids = range(1, citizens + 1)
    top_inbound = [
        (ref.top_by_code[c], w) for c, w in INBOUND_TOPIC_WEIGHTS.items() if c in ref.top_by_code
    ]
    tops = [t for t, _ in top_inbound]
    top_cum = list(itertools.accumulate(w for _, w in top_inbound))
    stuck_left = STUCK_BUDGET
    # citizens' words drawn apart from `rng`, so the rest of the demo stays as it was
    own_words = random.Random(f"demo-messages:{citizens}")

    def said(top: Topic, summary: str) -> str:
        words = ref.messages.get(top.code)
        return own_words.choice(words) if words else summary

    for item in incoming:
        h = item.handled
        inbound_call = item.kind == "inbound"
        direction = Direction.outbound if item.kind == "outbound" else Direction.inbound
        channel = item.channel
        queued = h.start if item.kind == "outbound" and h.start is not None else item.at
        cid = rng.choices(citizen_ids, cum_weights=cum_weights, k=1)[0]
        known = direction == Direction.outbound or rng.random() < 0.88
        top = rng.choices(tops, cum_weights=top_cum, k=1)[0]
        topic = rng.choice(ref.children.get(top.id or 0) or [top])
        row: dict[str, Any] = {
            "id": len(out.contacts) + 1,
            "channel": channel.value,
            "line": ("117" if rng.random() < 0.12 else "122") if channel == Channel.phone else None,
            "direction": direction.value,
            "caller_number": None,
            "sender": None,
            "citizen_id": cid if known else None,
            "operator_id": h.staff_id,
            "office_id": item.office_id,
            "topic_id": topic.id,
            "outcome": None,
            "summary": None,
            "text": None,
            "abandoned": False,
            "external_id": None,
            "handoff": None,
            "appeal_id": None,
            "callback_id": None,
            "queued_at": _ts(queued),
            "answered_at": None,
            "ended_at": None,
            "wrapup_ended_at": None,
            "status": ContactStatus.done.value,
            "group_code": None,
            "routed_topic": None,
            "route_source": None,
            "route_confidence": None,
        }
        if channel == Channel.phone:
            row["caller_number"] = citizen_phone[cid] if known else numbers.mobile()
        elif channel == Channel.email:
            row["sender"] = f"citizen{cid}@mail.ru"
        elif channel == Channel.pos:
            row["external_id"] = f"POS-{today_year}-{len(out.contacts) + 1:07d}"
        elif channel != Channel.video:
            row["sender"] = f"id{rng.randint(10**6, 10**9)}"
        if h.start is None:  # the caller hung up before anybody answered
            _route(row, topic, top)
            row.update(
                status=ContactStatus.abandoned.value,
                abandoned=True,
                operator_id=None,
                topic_id=None,
                ended_at=_ts(h.abandoned_at if h.abandoned_at is not None else item.at),
            )
            out.contacts.append(row)
            continue
        answered = _ts(h.start)
        row["answered_at"] = answered
        row["ended_at"] = answered + timedelta(seconds=h.talk)
        row["wrapup_ended_at"] = row["ended_at"] + timedelta(seconds=h.acw)
        row["summary"] = rng.choice(ref.summaries.get(top.code) or ref.summaries["mfc"])
        if channel not in (Channel.phone, Channel.video):
            row["text"] = said(top, row["summary"])
        if inbound_call and rng.random() < 0.7:
            row["handoff"] = {
                "transcript": f"Гражданин: {said(top, row['summary'])}. Ассистент: "
                "соединяю с оператором.",
                "detected_topic": top.name,
                "detected_emotion": rng.choice(_EMOTIONS),
            }
        _route(row, topic, top)
        outcome = weighted(
            rng,
            [
                (ContactOutcome.consultation, 80),
                (ContactOutcome.appeal_registered, 7),
                (ContactOutcome.forwarded, 4),
                (ContactOutcome.callback_needed, 5),
                (ContactOutcome.transferred, 4),
            ],
        )
        if row["citizen_id"] is None and outcome != ContactOutcome.consultation:
            outcome = ContactOutcome.consultation
        if direction == Direction.outbound and outcome == ContactOutcome.callback_needed:
            outcome = ContactOutcome.consultation
        row["outcome"] = outcome.value
        out.contacts.append(row)
        operator = int(h.staff_id or 0)

        if outcome in (ContactOutcome.appeal_registered, ContactOutcome.forwarded):
            if channel == Channel.pos:
                kind = AppealKind.pos_message
            elif top.code == "psych":
                kind = AppealKind.psych_help
            elif top.code == "emergency":
                kind = AppealKind.emergency
            elif rng.random() < COMPLAINT_SHARE:
                kind = AppealKind.complaint
            else:
                kind = AppealKind.appeal_59fz
            age_days = (now - row["wrapup_ended_at"]).total_seconds() / 86400
            stuck = stuck_left > 0 and 8 < age_days < 40 and rng.random() < 0.25
            stuck_left -= stuck
            appeal = make_appeal(
                rng=rng,
                row=row,
                kind=kind,
                topic=topic,
                top=top,
                terms=ref.rules[kind],
                agencies=ref.agencies,
                operator=operator,
                lead_ids=lead_ids,
                now=now,
                appeal_id=len(out.appeals) + 1,
                replies=ref.replies.get(top.code) or [],
                events=out.events,
                stuck=stuck,
            )
            out.appeals.append(appeal)
            row["appeal_id"] = appeal["id"]
            due = None
            if appeal["status"] == AppealStatus.resolved.value:
                due = appeal["resolved_at"] + timedelta(hours=rng.uniform(2, 26))
            elif (
                appeal["status"] != AppealStatus.closed.value
                and appeal["complex"]
                and (rng.random() < 0.3)
            ):  # an interim call to tell the citizen where things stand
                due = now + timedelta(hours=rng.uniform(-6, 30))
            if due is not None:
                task = callback_task(
                    len(out.callbacks) + 1,
                    row,
                    citizen_phone,
                    due,
                    operator,
                    f"Сообщить результат по обращению {appeal['number']}",
                    appeal["id"],
                    now,
                )
                if due < now - timedelta(hours=1) and rng.random() < 0.998:
                    complete_callback(rng, task, due)
                out.callbacks.append(task)
        elif outcome == ContactOutcome.callback_needed:
            due = row["wrapup_ended_at"] + timedelta(hours=rng.uniform(2, 30))
            task = callback_task(
                len(out.callbacks) + 1,
                row,
                citizen_phone,
                due,
                operator,
                "Перезвонить с ответом: " + row["summary"],
                None,
                now,
            )
            if due < now - timedelta(hours=1) and rng.random() < 0.998:
                complete_callback(rng, task, due)
            out.callbacks.append(task)
    return out
