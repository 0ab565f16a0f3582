"""A call card as data, and the outbox items its actions turn into (no UI here)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from pydantic import ValidationError

from ekc_core.client import EkcClient
from ekc_core.enums import AppealKind, CallbackResult, Channel, ContactOutcome, Line
from ekc_core.schemas import CallbackPublic, ContactPublic, ContactSave
from ekc_tui.outbox import new_key, step
from ekc_tui.text import CHANNELS as CHANNEL_NAMES
from ekc_tui.transfers import FORWARD, Transfer, forward_body

CONTACT = "contact"


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    raise TypeError(type(value).__name__)


@dataclass
class NewCitizen:
    last_name: str = ""
    first_name: str = ""
    middle_name: str = ""
    phone: str | None = None
    settlement: str | None = None
    consent_personal_data: bool = False
    email: str | None = None
    messenger_id: str | None = None

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "last_name": self.last_name,
            "first_name": self.first_name,
            "middle_name": self.middle_name,
            "consent_personal_data": self.consent_personal_data,
            "phones": [self.phone] if self.phone else [],
        }
        if self.settlement:
            body["settlement"] = self.settlement
        if self.email:
            body["email"] = self.email
        if self.messenger_id:
            body["messenger_id"] = self.messenger_id
        return body

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.last_name, self.first_name, self.middle_name) if p)


@dataclass
class AppealDraft:
    kind: AppealKind
    summary: str
    agency_code: str | None = None
    description: str = ""
    complex: bool = False


@dataclass
class CallbackDraft:
    due_at: datetime
    reason: str


@dataclass
class Card:
    """The current contact as the operator works on it."""

    key: str
    direction: str  # "in" | "out"
    channel: Channel
    line: Line | None = None
    number: str | None = None
    sender: str | None = None
    text: str | None = None
    contact: ContactPublic | None = None
    """The backend's contact (offered and taken); None for a card opened by hand."""
    callback: CallbackPublic | None = None
    citizen_id: int | None = None
    citizen_name: str | None = None
    new_citizen: NewCitizen | None = None
    started: float = field(default_factory=time.monotonic)
    ended: float | None = None
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    """Wall-clock (UTC) start: the time a manual or outgoing start step carries."""
    ended_at: datetime | None = None
    """Wall-clock (UTC) F8 (or F9 without F8): the time the `end` step carries.
    `started`/`ended` are monotonic, for the timers on screen."""
    start_item: str | None = None
    """Outbox key of the item that creates the contact (manual and outgoing cards)."""
    end_sent: bool = False
    end_item: str | None = None
    """Outbox key of the F8 item (the save sends the end again if it was refused)."""
    lookup: str | None = None
    """What the operator typed to find the citizen of a card opened by hand."""
    clock: Callable[[], float] = field(default=time.monotonic, repr=False, compare=False)
    """Where the timers read the time (tests fix it)."""

    # wrap-up
    topic_code: str | None = None
    outcome: ContactOutcome | None = None
    summary: str = ""
    appeal: AppealDraft | None = None
    callback_request: CallbackDraft | None = None
    callback_result: CallbackResult | None = None
    transfer: Transfer | None = None
    """The transfer onward to an agency (`ekc_tui.transfer_dialog`), once made."""

    # a card reopened to correct what the server refused (`ekc_tui.correction`)
    server_problems: dict[str, str] = field(default_factory=dict)
    """The server's reasons by the card field they name (`citizen.phone`, `topic`, …)."""
    replaces: list[int] = field(default_factory=list)
    """Outbox items (ids) this card's next save replaces."""

    @classmethod
    def offered(cls, contact: ContactPublic) -> Card:
        return cls(
            key=new_key(),
            direction="in",
            channel=contact.channel,
            line=contact.line,
            number=contact.caller_number,
            sender=contact.sender,
            text=contact.text,
            contact=contact,
            citizen_id=contact.citizen_id,
        )

    @classmethod
    def for_callback(cls, task: CallbackPublic, **extra: Any) -> Card:
        """An outgoing call card for a callback task."""
        return cls(
            key=extra.pop("key", None) or new_key(),
            direction="out",
            channel=Channel.phone,
            number=task.phone,
            callback=task,
            citizen_id=task.citizen_id,
            citizen_name=task.citizen_name,
            **extra,
        )

    def fix(self, where: str) -> None:
        """The operator changed `where` (e.g. `topic`, `citizen`): its refusal is dealt with."""
        for key in [k for k in self.server_problems if k == where or k.startswith(where + ".")]:
            del self.server_problems[key]

    def end_now(self) -> None:
        """The conversation is over (F8, or F9 without F8): both clocks."""
        if self.ended is None:
            self.ended = self.clock()
            self.ended_at = datetime.now(UTC)

    @property
    def handle_seconds(self) -> float:
        return (self.ended or self.clock()) - self.started

    @property
    def acw_seconds(self) -> float:
        return self.clock() - self.ended if self.ended else 0.0

    @property
    def has_citizen(self) -> bool:
        return self.citizen_id is not None or self.new_citizen is not None

    def contact_ref(self) -> dict[str, str]:
        """How later steps name the contact id: known, or the start item's answer."""
        return {} if self.contact else {"path:contact_id": f"{self.start_item}/{CONTACT}.id"}

    def _path(self, suffix: str) -> str:
        cid = str(self.contact.id) if self.contact else "{contact_id}"
        return f"/contacts/{cid}/{suffix}"

    # --- items --------------------------------------------------------------------------

    def manual_start_steps(self, started_at: datetime | None = None) -> list[dict[str, Any]]:
        started_at = started_at or self.started_at
        body: dict[str, Any] = {
            "channel": self.channel.value,
            "started_at": started_at.isoformat(),
        }
        if self.line:
            body["line"] = self.line.value
        if self.number:
            body["caller_number"] = self.number
        if self.sender:
            body["sender"] = self.sender
        if self.citizen_id:
            body["citizen_id"] = self.citizen_id
        return [step(CONTACT, "/contacts/manual", body, occurred_at=started_at)]

    def outbound_start_steps(self) -> list[dict[str, Any]]:
        assert self.callback is not None
        body = {
            "citizen_id": self.callback.citizen_id,
            "phone": self.callback.phone,
            "callback_id": self.callback.id,
        }
        return [step(CONTACT, "/contacts/outbound", body, occurred_at=self.started_at)]

    def start_steps(self) -> list[dict[str, Any]]:
        """The item that creates this card's contact (manual or outgoing)."""
        return self.outbound_start_steps() if self.callback else self.manual_start_steps()

    def end_steps(self) -> list[dict[str, Any]]:
        return [
            step(
                "end",
                self._path("end"),
                None,
                refs=self.contact_ref(),
                occurred_at=self.ended_at or datetime.now(UTC),
            )
        ]

    def problems(self) -> list[str]:
        """What must be filled before saving (Russian, for the status line)."""
        out = []
        if not self.topic_code:
            out.append("тематика")
        if not self.outcome:
            out.append("результат")
        if self.appeal is not None and not self.has_citizen:
            out.append("гражданин (для обращения)")
        if self.callback_request is not None and not self.has_citizen:
            out.append("гражданин (для перезвона)")
        if self.callback is not None and self.callback_result is None:
            out.append("итог перезвона")
        return out

    def save_steps(self, saved_at: datetime | None = None) -> list[dict[str, Any]]:
        """Everything the save key sends, in order, as one outbox item; each step carries
        the time of F9 (`saved_at`), the `end` step the time of F8."""
        at = saved_at or datetime.now(UTC)
        steps: list[dict[str, Any]] = []
        citizen_ref: dict[str, str] = {}
        if self.new_citizen is not None and self.citizen_id is None:
            steps.append(step("citizen", "/citizens", self.new_citizen.body(), occurred_at=at))
            citizen_ref = {"citizen_id": "citizen.id"}
        contact_ref = self.contact_ref()
        contact_id_ref = (
            {"contact_id": f"{self.start_item}/{CONTACT}.id"} if self.contact is None else {}
        )
        known: dict[str, Any] = {"citizen_id": self.citizen_id} if self.citizen_id else {}
        if self.callback is not None and self.callback_result is not None:
            steps.append(
                step(
                    "attempt",
                    f"/callbacks/{self.callback.id}/attempts",
                    {"result": self.callback_result.value, "note": self.summary[:4000]},
                    occurred_at=at,
                )
            )
        appeal_ref: dict[str, str] = {}
        if self.appeal is not None:
            body: dict[str, Any] = {
                **known,
                "kind": self.appeal.kind.value,
                "topic_code": self.topic_code,
                "summary": self.appeal.summary[:500] or (self.summary[:500] or "Обращение"),
                "description": self.appeal.description or self.summary,
                "complex": self.appeal.complex,
            }
            if self.appeal.agency_code:
                body["agency_code"] = self.appeal.agency_code
            if self.contact is not None:
                body["contact_id"] = self.contact.id
            steps.append(
                step(
                    "appeal",
                    "/appeals",
                    body,
                    refs={**citizen_ref, **contact_id_ref},
                    occurred_at=at,
                )
            )
            appeal_ref = {"appeal_id": "appeal.id"}
            if self.transfer is not None and self.transfer.forward_appeal:
                # the transfer asked for it: the appeal goes to the same agency at once
                steps.append(
                    step(
                        FORWARD,
                        "/appeals/{appeal_id}/events",
                        forward_body(self.transfer),
                        refs={"path:appeal_id": "appeal.id"},
                        occurred_at=at,
                    )
                )
        if self.callback_request is not None:
            body = {
                **known,
                "reason": self.callback_request.reason[:500] or "Перезвонить гражданину",
                "due_at": self.callback_request.due_at.astimezone(UTC).isoformat(),
            }
            if self.contact is not None:
                body["contact_id"] = self.contact.id
            steps.append(
                step(
                    "callback",
                    "/callbacks",
                    body,
                    refs={**citizen_ref, **contact_id_ref, **appeal_ref},
                    occurred_at=at,
                )
            )
        steps.append(self._save_step(at, known, {**contact_ref, **citizen_ref, **appeal_ref}))
        return steps

    def _save_step(
        self, at: datetime, known: dict[str, Any], refs: dict[str, str]
    ) -> dict[str, Any]:
        """End (unless F8 was sent on its own) and wrap up in one request (`POST
        /contacts/{id}/save`), its body a `ContactSave`. The step keeps the name `wrapup`
        (the correction of a refused card maps its fields by that name)."""
        fields: dict[str, Any] = {
            **known,
            "topic_code": self.topic_code,
            "outcome": self.outcome,
            "summary": self.summary[:4000],
            "ended_at": None if self.end_sent else (self.ended_at or at),
        }
        later = {name.split(".")[-1] for name in refs if not name.startswith("path:")}
        contact_id = str(self.contact.id) if self.contact else "{contact_id}"
        try:
            # ids that earlier steps will give are checked with a stand-in, then left out
            data = ContactSave.model_validate({**fields, **dict.fromkeys(later, 1)})
        except ValidationError:
            # the server names the refused field in Russian; the card is reopened with it
            path = f"/contacts/{contact_id}/save"
            body = {k: v for k, v in fields.items() if v is not None and k not in later}
            body = json.loads(json.dumps(body, default=_json_default))
        else:
            path, body = EkcClient.save_contact_request(contact_id, data)
            body = {k: v for k, v in body.items() if k not in later}
        return step("wrapup", path, body, refs=refs, occurred_at=at)

    # --- the draft kept in the local store (restored after a crash or a quit) ----------

    def dump(self) -> dict[str, Any]:
        """JSON-ready state of the card, timers as elapsed seconds."""
        return {
            "key": self.key,
            "direction": self.direction,
            "channel": self.channel.value,
            "line": self.line.value if self.line else None,
            "number": self.number,
            "sender": self.sender,
            "text": self.text,
            "contact": self.contact.model_dump(mode="json") if self.contact else None,
            "callback": self.callback.model_dump(mode="json") if self.callback else None,
            "citizen_id": self.citizen_id,
            "citizen_name": self.citizen_name,
            "new_citizen": asdict(self.new_citizen) if self.new_citizen else None,
            "elapsed": self.handle_seconds,
            "acw": self.acw_seconds if self.ended is not None else None,
            "start_item": self.start_item,
            "end_sent": self.end_sent,
            "topic_code": self.topic_code,
            "outcome": self.outcome.value if self.outcome else None,
            "summary": self.summary,
            "appeal": (
                {**asdict(self.appeal), "kind": self.appeal.kind.value} if self.appeal else None
            ),
            "callback_request": (
                {
                    "due_at": self.callback_request.due_at.isoformat(),
                    "reason": self.callback_request.reason,
                }
                if self.callback_request
                else None
            ),
            "callback_result": self.callback_result.value if self.callback_result else None,
            "started_at": self.started_at.isoformat(),
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "server_problems": self.server_problems,
            "replaces": self.replaces,
            "end_item": self.end_item,
            "transfer": self.transfer.dump() if self.transfer else None,
        }

    @classmethod
    def load(cls, data: dict[str, Any]) -> Card:
        card = cls(
            key=data["key"],
            direction=data["direction"],
            channel=Channel(data["channel"]),
            line=Line(data["line"]) if data.get("line") else None,
            number=data.get("number"),
            sender=data.get("sender"),
            text=data.get("text"),
            contact=ContactPublic.model_validate(data["contact"]) if data.get("contact") else None,
            callback=(
                CallbackPublic.model_validate(data["callback"]) if data.get("callback") else None
            ),
            citizen_id=data.get("citizen_id"),
            citizen_name=data.get("citizen_name"),
            new_citizen=NewCitizen(**data["new_citizen"]) if data.get("new_citizen") else None,
            start_item=data.get("start_item"),
            end_sent=bool(data.get("end_sent")),
            topic_code=data.get("topic_code"),
            outcome=ContactOutcome(data["outcome"]) if data.get("outcome") else None,
            summary=data.get("summary") or "",
            callback_result=(
                CallbackResult(data["callback_result"]) if data.get("callback_result") else None
            ),
            server_problems=dict(data.get("server_problems") or {}),
            replaces=list(data.get("replaces") or []),
            end_item=data.get("end_item"),
            transfer=Transfer.load(data.get("transfer")),
        )
        if data.get("started_at"):
            card.started_at = datetime.fromisoformat(data["started_at"])
        if data.get("ended_at"):
            card.ended_at = datetime.fromisoformat(data["ended_at"])
        if data.get("appeal"):
            card.appeal = AppealDraft(
                **{**data["appeal"], "kind": AppealKind(data["appeal"]["kind"])}
            )
        if data.get("callback_request"):
            request = data["callback_request"]
            card.callback_request = CallbackDraft(
                due_at=datetime.fromisoformat(request["due_at"]), reason=request["reason"]
            )
        # the timers go on from where they stood (the time the console was closed is not
        # counted); `elapsed` is the talk time, `acw` the after-call time so far
        now = card.clock()
        acw = data.get("acw")
        card.started = now - float(data.get("elapsed") or 0.0) - float(acw or 0.0)
        if acw is not None:
            card.ended = now - float(acw)
            card.ended_at = card.ended_at or datetime.now(UTC)
        return card

    def title(self) -> str:
        who = self.citizen_name or (self.new_citizen.full_name if self.new_citizen else "")
        what = {"in": "Входящий", "out": "Исходящий"}[self.direction]
        channel = CHANNEL_NAMES.get(self.channel.value, self.channel.value)
        return f"{what}: {channel} {who}".strip()
