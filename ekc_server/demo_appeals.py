"""Demo appeals (advanced through their life as far as their age allows) and callback tasks."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from ekc_core.deadlines import DeadlineTerms, compute_deadlines
from ekc_core.enums import (
    AppealEventType,
    AppealKind,
    AppealStatus,
    CallbackResult,
    CallbackStatus,
)
from ekc_server.demo_people import weighted
from ekc_server.models import Agency, Topic


def complete_callback(rng: random.Random, task: dict[str, Any], due: datetime) -> None:
    """The call back made: mostly before it was due (the centre keeps its promises), about
    one in twelve late by up to three hours; never before the task existed."""
    if rng.random() < 0.92:
        room = max(0.0, (due - task["created_at"]).total_seconds() - 600)
        at = due - timedelta(seconds=rng.uniform(0, min(room, 4 * 3600)))
    else:
        at = due + timedelta(minutes=rng.randint(1, 180))
    result = weighted(
        rng,
        [
            (CallbackResult.reached, 90),
            (CallbackResult.declined, 5),
            (CallbackResult.wrong_number, 5),
        ],
    )
    task.update(
        status=CallbackStatus.done.value,
        attempts=rng.randint(1, 2),
        last_attempt_at=at,
        completed_at=at,
        result=result.value,
        result_note="Информация доведена до гражданина" if result == CallbackResult.reached else "",
    )


def callback_task(
    task_id: int,
    row: dict[str, Any],
    phones: dict[int, str],
    due: datetime,
    operator: int,
    reason: str,
    appeal_id: int | None,
    now: datetime,
) -> dict[str, Any]:
    return {
        "id": task_id,
        "citizen_id": row["citizen_id"],
        "phone": phones[row["citizen_id"]],
        "appeal_id": appeal_id,
        "contact_id": row["id"],
        "reason": reason,
        "due_at": due,
        "assignee_id": operator,
        "group_code": None,
        "status": CallbackStatus.open.value,
        "attempts": 0,
        "last_attempt_at": None,
        "result": None,
        "result_note": None,
        "completed_at": None,
        "created_by_id": operator,
        "created_at": min(row["wrapup_ended_at"], now),
    }


def make_appeal(
    *,
    rng: random.Random,
    row: dict[str, Any],
    kind: AppealKind,
    topic: Topic,
    top: Topic,
    terms: DeadlineTerms,
    agencies: Sequence[Agency],
    operator: int,
    lead_ids: list[int],
    now: datetime,
    appeal_id: int,
    replies: list[str],
    events: list[dict[str, Any]],
    stuck: bool = False,
) -> dict[str, Any]:
    """One appeal and its events, advanced as far as its age allows."""
    registered = row["wrapup_ended_at"] - timedelta(seconds=10)
    dues = compute_deadlines(
        terms,
        received_at=row["queued_at"],
        registered_at=registered,
        answer_days_override=topic.pos_answer_days if kind == AppealKind.pos_message else None,
    )
    agency_id = topic.default_agency_id or top.default_agency_id or rng.choice(agencies).id
    age_days = (now - registered).total_seconds() / 86400
    complex_ = kind in (AppealKind.appeal_59fz, AppealKind.complaint) and rng.random() < 0.6
    appeal: dict[str, Any] = {
        "id": appeal_id,
        "number": "",
        "citizen_id": row["citizen_id"],
        "contact_id": row["id"],
        "kind": kind.value,
        "topic_id": topic.id,
        "summary": row["summary"],
        "description": f"{row['summary']}. Со слов заявителя, вопрос не решён.",
        "status": AppealStatus.registered.value,
        "complex": complex_,
        "agency_id": agency_id,
        "received_at": row["queued_at"],
        "registered_at": registered,
        "register_due": dues.register_due,
        "forward_due": dues.forward_due,
        "answer_due": dues.answer_due,
        "extension_days": 0,
        "forwarded_at": None,
        "resolved_at": None,
        "closed_at": None,
        "assignee_id": operator if complex_ else None,
        "created_by_id": operator,
        "version": 1,
        "updated_at": registered,
    }

    def event(
        kind_: AppealEventType,
        at: datetime,
        actor: int | None,
        text_: str = "",
        data: dict[str, Any] | None = None,
        agency: int | None = None,
    ) -> None:
        events.append(
            {
                "id": len(events) + 1,
                "appeal_id": appeal_id,
                "type": kind_.value,
                "at": at,
                "actor_id": actor,
                "text": text_,
                "agency_id": agency,
                "data": data or {},
            }
        )
        appeal["updated_at"] = at
        appeal["version"] += 1

    event(AppealEventType.created, registered, operator, row["summary"], {"kind": kind.value})
    appeal["version"] = 1
    # a stuck appeal (the caller decides: very few, the centre has none overdue) is never
    # forwarded and goes overdue by the forwarding term
    term = (
        (appeal["answer_due"] - registered).total_seconds() / 86400 if appeal["answer_due"] else 0
    )
    short = 0 < term < 27  # a short answer term (an emergency: a day): the agency keeps it
    # forwarded within a day or two (within hours when the term is short)
    forward_hours = rng.uniform(0.3, 2.0) if short else rng.uniform(1, 40)
    if age_days > 0.2 and not stuck:
        at = registered + timedelta(hours=min(age_days * 24 * 0.5, forward_hours))
        appeal.update(status=AppealStatus.forwarded.value, forwarded_at=at)
        event(
            AppealEventType.forwarded,
            at,
            operator,
            "Направлено в ведомство",
            agency=agency_id,
            data={"from": "registered", "to": "forwarded"},
        )
    else:
        return appeal
    term = (
        (appeal["answer_due"] - registered).total_seconds() / 86400 if appeal["answer_due"] else 0
    )
    # a quarter of the agencies answer in the last week of the term (as they do): open
    # appeals fall due this week and today, none past the term
    limit = 0.98 * term if term else 29.5
    reply_after = rng.uniform(2, 22) if rng.random() < 0.75 else rng.uniform(22, limit - 1.0)
    resolve_after = rng.uniform(0.2, min(1.5, limit - reply_after))
    if 0 < term < 27:  # a short answer term (an emergency: a day): the agency keeps it too
        reply_after = rng.uniform(0.1, 0.5) * term
        resolve_after = rng.uniform(0.05, 0.3) * term
    if stuck:
        reply_after = 1000.0
    if age_days > reply_after and replies:
        at = registered + timedelta(days=reply_after)
        appeal["status"] = AppealStatus.in_progress.value
        event(
            AppealEventType.agency_reply,
            at,
            None,
            rng.choice(replies),
            agency=agency_id,
            data={"from": "forwarded", "to": "in_progress"},
        )
        if complex_ and rng.random() < 0.1 and appeal["answer_due"] is not None:
            ext = 30
            old = appeal["answer_due"]
            appeal["answer_due"] = old + timedelta(days=ext)
            appeal["extension_days"] = ext
            event(
                AppealEventType.extended,
                at + timedelta(hours=2),
                rng.choice(lead_ids),
                "Срок продлён: требуется выезд специалистов",
                {
                    "days": ext,
                    "old_answer_due": old.isoformat(),
                    "new_answer_due": appeal["answer_due"].isoformat(),
                },
            )
        if age_days > reply_after + resolve_after:
            done = at + timedelta(days=resolve_after)
            appeal.update(status=AppealStatus.resolved.value, resolved_at=done)
            event(
                AppealEventType.resolved,
                done,
                operator,
                "Вопрос решён ведомством",
                data={"from": "in_progress", "to": "resolved"},
            )
            if age_days > reply_after + 4 and rng.random() < 0.85:
                closed = done + timedelta(days=rng.uniform(0.5, 2))
                event(
                    AppealEventType.callback_made,
                    closed - timedelta(minutes=5),
                    operator,
                    "Гражданину сообщён результат, претензий нет",
                )
                appeal.update(status=AppealStatus.closed.value, closed_at=closed)
                event(
                    AppealEventType.closed,
                    closed,
                    operator,
                    "",
                    data={"from": "resolved", "to": "closed"},
                )
    return appeal
