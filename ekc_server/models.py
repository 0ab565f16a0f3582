"""Database tables (SQLModel, table=True). The wire schemas live in `ekc_core.schemas`.

Timestamps are stored as timezone-aware UTC. Enumerations are stored as their string
values (VARCHAR), so adding a value needs no migration of a database enum type.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from ekc_server.model_types import (
    UTCDateTime,
    json_dict,
    json_list,
    ts,
    ts_now,
    utcnow,
)

__all__ = ["UTCDateTime", "utcnow"]


# --- reference data ---------------------------------------------------------------------


class Office(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=60, unique=True)
    name: str = Field(max_length=200)
    kind: str = Field(max_length=30)  # contact_centre | mfc | tosp
    settlement: str = Field(max_length=120)
    district: str | None = Field(default=None, max_length=120)
    address: str | None = Field(default=None, max_length=300)
    remote: bool = False
    timezone: str = Field(default="Asia/Irkutsk", max_length=60)


class Agency(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=60, unique=True)
    name: str = Field(max_length=400)
    short_name: str = Field(max_length=120)
    level: str = Field(max_length=20)  # regional | federal | municipal | utility | other
    email: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=60)
    active: bool = True


class Topic(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=80, unique=True)
    name: str = Field(max_length=200)
    parent_id: int | None = Field(default=None, foreign_key="topic.id", index=True)
    group_code: str = Field(max_length=40)
    """Operator skill group that handles this topic."""
    default_agency_id: int | None = Field(default=None, foreign_key="agency.id")
    pos_answer_days: int | None = None
    """Answer term of ПОС messages on this topic, when shorter than 30 days."""
    sort_order: int = 0
    active: bool = True


class DeadlineRule(SQLModel, table=True):
    """59-FZ deadlines per appeal kind; loaded from `data/reference/deadlines.yaml`."""

    __tablename__ = "deadline_rule"

    kind: str = Field(primary_key=True, max_length=30)
    title: str = Field(max_length=200)
    register_days: int | None = None
    forward_days: int | None = None
    answer_days: int | None = None
    max_extension_days: int | None = None
    legal_basis: str | None = Field(default=None, max_length=200)


# --- staff and auth ---------------------------------------------------------------------


class Staff(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=60, unique=True)
    full_name: str = Field(max_length=200)
    role: str = Field(max_length=20)
    office_id: int | None = Field(default=None, foreign_key="office.id")
    skills: list[str] = json_list()
    """Topic groups this person handles (`svo`, `medicine`, …)."""
    password_hash: str | None = Field(default=None, max_length=200)
    active: bool = True
    created_at: datetime = ts_now()
    phone: str | None = Field(default=None, max_length=20)
    """Work contact number, E.164."""
    email: str | None = Field(default=None, max_length=200)
    employment_rate: float = 1.0
    """Share of a full-time post (1.0, 0.75, 0.5 …): scales the monthly norm of hours."""
    week_hours: float = 40.0
    """Statutory working week (40; 36 or 35 for reduced-time categories, ст.92)."""
    night_work: bool = True
    """May be rostered for night hours 22:00–06:00 (ст.96 excludes some categories)."""
    updated_at: datetime = ts_now()


class ApiToken(SQLModel, table=True):
    """A login session token or a personal API token; only the SHA-256 is kept."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    staff_id: int = Field(foreign_key="staff.id", index=True)
    kind: str = Field(max_length=20)  # session | personal
    name: str = Field(max_length=120)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = ts_now()
    expires_at: datetime | None = ts()
    last_used_at: datetime | None = ts()
    revoked_at: datetime | None = ts()


class LoginThrottle(SQLModel, table=True):
    """Wrong passwords per login and per client address in the current window (kept in the
    database so that every server process counts the same attempts)."""

    __tablename__ = "login_throttle"

    key: str = Field(primary_key=True, max_length=64)
    """SHA-256 of `<kind>:<value>`: a typed login is not stored in clear (it may be a
    password typed into the wrong field)."""
    kind: str = Field(max_length=10)  # login | address
    failures: int = 0
    window_started_at: datetime = ts_now(index=True)


# --- citizens ---------------------------------------------------------------------------


NO_NAME = "(без имени)"


class Citizen(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    last_name: str = Field(default="", max_length=100)
    first_name: str = Field(default="", max_length=100)
    middle_name: str = Field(default="", max_length=100)
    name_key: str = Field(default="", max_length=320, index=True)
    """Lower-case "фамилия имя отчество" with ё→е: SQLite's lower() knows no Cyrillic."""
    email: str | None = Field(default=None, max_length=200)
    messenger_id: str | None = Field(default=None, max_length=200, index=True)
    """Messenger / social-network id in lower case (ekc_core.addresses.address_key)."""
    settlement: str | None = Field(default=None, max_length=120)
    address: str | None = Field(default=None, max_length=300)
    consent_personal_data: bool = False
    consent_disclosure: bool = False
    merged_into_id: int | None = Field(default=None, foreign_key="citizen.id", index=True)
    anonymised_at: datetime | None = ts()
    version: int = 1
    created_at: datetime = ts_now()
    updated_at: datetime = ts_now()

    @property
    def display_name(self) -> str:
        """ "Фамилия Имя Отчество", or NO_NAME when nobody gave a name (or it was erased)."""
        parts = (self.last_name, self.first_name, self.middle_name)
        return " ".join(p for p in parts if p) or NO_NAME


class CitizenPhone(SQLModel, table=True):
    __tablename__ = "citizen_phone"
    __table_args__ = (UniqueConstraint("citizen_id", "e164"),)

    id: int | None = Field(default=None, primary_key=True)
    citizen_id: int = Field(foreign_key="citizen.id", index=True)
    e164: str = Field(max_length=20, index=True)
    position: int = 0


# --- contacts ---------------------------------------------------------------------------


class Contact(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("channel", "external_id", name="uq_contact_channel_external_id"),
        Index("ix_contact_operator_status", "operator_id", "status"),
        Index("ix_contact_status_queued_at", "status", "queued_at"),
        Index("ix_contact_status_group_queued_at", "status", "group_code", "queued_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=20)
    line: str | None = Field(default=None, max_length=5)
    direction: str = Field(max_length=3)
    status: str = Field(max_length=12)
    caller_number: str | None = Field(default=None, max_length=20, index=True)
    sender: str | None = Field(default=None, max_length=200)
    citizen_id: int | None = Field(default=None, foreign_key="citizen.id", index=True)
    operator_id: int | None = Field(default=None, foreign_key="staff.id", index=True)
    office_id: int | None = Field(default=None, foreign_key="office.id")
    topic_id: int | None = Field(default=None, foreign_key="topic.id", index=True)
    outcome: str | None = Field(default=None, max_length=30)
    summary: str | None = None
    text: str | None = None
    abandoned: bool = False
    external_id: str | None = Field(default=None, max_length=120)
    handoff: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # appeal and callback_task point back at contact: these two are added after creation
    appeal_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("appeal.id", use_alter=True), nullable=True),
    )
    callback_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("callback_task.id", use_alter=True), nullable=True),
    )
    queued_at: datetime = ts_now(index=True)
    answered_at: datetime | None = ts()
    ended_at: datetime | None = ts()
    wrapup_ended_at: datetime | None = ts()
    # the times above are when things happened (a console's outbox may deliver them later,
    # see ekc_server.write_time); these are when the backend learnt of them, for audit
    recorded_at: datetime | None = ts()
    ended_recorded_at: datetime | None = ts()
    wrapup_recorded_at: datetime | None = ts()
    close_reason: str | None = Field(default=None, max_length=500)
    """Why the contact was closed without a wrap-up (given up by the operator, closed as
    stale by the backend); None for a contact wrapped up as usual."""
    # routing by topic (issue 14): the operator group the contact was offered to first, and
    # how it was found (`ekc_server.services.contact_routing`); None for older contacts
    group_code: str | None = Field(default=None, max_length=40)
    routed_topic: str | None = Field(default=None, max_length=80)
    """The topic code the routing used (the assistant's, the classifier's, the callback's)."""
    route_source: str | None = Field(default=None, max_length=12)
    """`RouteSource`: handoff | text | topic | operator | none."""
    route_confidence: float | None = None
    """The text classifier's confidence (0–1) when it was asked; else None."""


# --- appeals ----------------------------------------------------------------------------


class AppealCounter(SQLModel, table=True):
    """Last sequence number of appeals per year, for human numbers `122-2026-000123`."""

    __tablename__ = "appeal_counter"

    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    last_seq: int = 0


class Appeal(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=30, unique=True)
    citizen_id: int = Field(foreign_key="citizen.id", index=True)
    contact_id: int | None = Field(default=None, foreign_key="contact.id")
    kind: str = Field(max_length=20)
    topic_id: int = Field(foreign_key="topic.id", index=True)
    summary: str = Field(max_length=500)
    description: str = ""
    status: str = Field(max_length=20, index=True)
    complex: bool = False
    agency_id: int | None = Field(default=None, foreign_key="agency.id", index=True)
    received_at: datetime = ts_now()
    registered_at: datetime = ts_now(index=True)
    recorded_at: datetime | None = ts()
    """When the registration reached the backend (`registered_at` is when the operator
    registered it at the desk: the 59-FZ clock starts there)."""
    register_due: datetime | None = ts()
    forward_due: datetime | None = ts()
    answer_due: datetime | None = ts(index=True)
    extension_days: int = 0
    forwarded_at: datetime | None = ts()
    resolved_at: datetime | None = ts()
    closed_at: datetime | None = ts()
    assignee_id: int | None = Field(default=None, foreign_key="staff.id", index=True)
    created_by_id: int | None = Field(default=None, foreign_key="staff.id")
    version: int = 1
    updated_at: datetime = ts_now()


class AppealEvent(SQLModel, table=True):
    __tablename__ = "appeal_event"

    id: int | None = Field(default=None, primary_key=True)
    appeal_id: int = Field(foreign_key="appeal.id", index=True)
    type: str = Field(max_length=20)
    at: datetime = ts_now()
    recorded_at: datetime | None = ts()
    """When the event reached the backend (`at` is when it happened)."""
    actor_id: int | None = Field(default=None, foreign_key="staff.id")
    text: str = ""
    agency_id: int | None = Field(default=None, foreign_key="agency.id")
    data: dict[str, Any] = json_dict()


# --- callbacks --------------------------------------------------------------------------


class CallbackTask(SQLModel, table=True):
    __tablename__ = "callback_task"

    id: int | None = Field(default=None, primary_key=True)
    citizen_id: int = Field(foreign_key="citizen.id", index=True)
    phone: str = Field(max_length=20)
    appeal_id: int | None = Field(default=None, foreign_key="appeal.id", index=True)
    contact_id: int | None = Field(default=None, foreign_key="contact.id")
    reason: str = Field(max_length=500)
    due_at: datetime = ts_now(index=True)
    assignee_id: int | None = Field(default=None, foreign_key="staff.id", index=True)
    group_code: str | None = Field(default=None, max_length=40)
    status: str = Field(default="open", max_length=12, index=True)
    attempts: int = 0
    last_attempt_at: datetime | None = ts()
    last_attempt_recorded_at: datetime | None = ts()
    result: str | None = Field(default=None, max_length=20)
    result_note: str | None = None
    completed_at: datetime | None = ts()
    created_by_id: int | None = Field(default=None, foreign_key="staff.id")
    created_at: datetime = ts_now()


# --- workforce: shift templates, absences, preferences, requirements, rosters ----------


class ShiftTemplate(SQLModel, table=True):
    """A kind of shift (`Д` 08:00–20:00, `Н` 20:00–08:00 …); a shift ending at or before its
    start time ends on the next day."""

    __tablename__ = "shift_template"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=10, unique=True)
    name: str = Field(max_length=120)
    starts_at: str = Field(max_length=5)  # HH:MM, local time of the centre
    ends_at: str = Field(max_length=5)
    break_minutes: int = 0
    active: bool = True
    created_at: datetime = ts_now()


class StaffAbsence(SQLModel, table=True):
    """Vacation, sick leave or an agreed day off: nobody rosters the person on these days."""

    __tablename__ = "staff_absence"

    id: int | None = Field(default=None, primary_key=True)
    staff_id: int = Field(foreign_key="staff.id", index=True)
    kind: str = Field(max_length=20)
    start_date: date
    end_date: date
    note: str = Field(default="", max_length=300)
    created_by_id: int | None = Field(default=None, foreign_key="staff.id")
    created_at: datetime = ts_now()


class StaffPreference(SQLModel, table=True):
    """A wish the roster tries to honour (soft): a day or weekday off, or a wanted shift."""

    __tablename__ = "staff_preference"

    id: int | None = Field(default=None, primary_key=True)
    staff_id: int = Field(foreign_key="staff.id", index=True)
    kind: str = Field(max_length=10)  # off | work
    on_date: date | None = None
    weekday: int | None = None  # 0 = Monday
    template_code: str | None = Field(default=None, max_length=10)
    note: str = Field(default="", max_length=300)
    created_at: datetime = ts_now()


class StaffingRequirement(SQLModel, table=True):
    """Required operators per hour of a month (days × 24 values), with how it was computed."""

    __tablename__ = "staffing_requirement"

    month: str = Field(primary_key=True, max_length=7)  # YYYY-MM
    hourly: list[int] = json_list()
    params: dict[str, Any] = json_dict()
    created_by_id: int | None = Field(default=None, foreign_key="staff.id")
    created_at: datetime = ts_now()


class Roster(SQLModel, table=True):
    """The month's roster: a draft until a shift lead publishes it."""

    id: int | None = Field(default=None, primary_key=True)
    month: str = Field(max_length=7, unique=True)
    status: str = Field(default="draft", max_length=12)  # draft | published
    rules: dict[str, Any] = json_dict()
    """The rule-set parameters the roster was made and is checked with."""
    solver: dict[str, Any] = json_dict()
    """How the generator did: status, objective, time, coverage gaps."""
    version: int = 1
    created_by_id: int | None = Field(default=None, foreign_key="staff.id")
    created_at: datetime = ts_now()
    updated_at: datetime = ts_now()
    published_at: datetime | None = ts()
    published_by_id: int | None = Field(default=None, foreign_key="staff.id")


class RosterShift(SQLModel, table=True):
    __tablename__ = "roster_shift"
    __table_args__ = (UniqueConstraint("roster_id", "staff_id", "on_date"),)

    id: int | None = Field(default=None, primary_key=True)
    roster_id: int = Field(foreign_key="roster.id", index=True)
    staff_id: int = Field(foreign_key="staff.id", index=True)
    on_date: date
    template_code: str = Field(max_length=10)


# --- knowledge base (tables only; the KB issue builds on them) ---------------------------


class KbImportBatch(SQLModel, table=True):
    __tablename__ = "kb_import_batch"

    id: int | None = Field(default=None, primary_key=True)
    source_name: str = Field(max_length=300)
    status: str = Field(
        default="published", max_length=20
    )  # staging|published|rolled_back|rollback
    created_by_id: int | None = Field(default=None, foreign_key="staff.id")
    created_at: datetime = ts_now()
    added: int = 0
    changed: int = 0
    removed: int = 0
    rolled_back_at: datetime | None = ts()


class KbArticle(SQLModel, table=True):
    __tablename__ = "kb_article"

    id: str = Field(primary_key=True, max_length=80)
    title: str = Field(max_length=300)
    body: str = ""
    topic_id: int | None = Field(default=None, foreign_key="topic.id")
    agency_id: int | None = Field(default=None, foreign_key="agency.id")
    tags: list[str] = json_list()
    audience: str | None = Field(default=None, max_length=60)
    version: int = 1
    deleted: bool = False
    seq: int = Field(default=0, index=True)
    """Position in the change feed: raised on every change, including deletion."""
    updated_at: datetime = ts_now()


class KbArticleVersion(SQLModel, table=True):
    __tablename__ = "kb_article_version"
    __table_args__ = (UniqueConstraint("article_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    article_id: str = Field(foreign_key="kb_article.id", index=True, max_length=80)
    version: int
    change: str = Field(max_length=10)  # created | updated | deleted
    title: str = Field(max_length=300)
    body: str = ""
    topic_id: int | None = Field(default=None, foreign_key="topic.id")
    agency_id: int | None = Field(default=None, foreign_key="agency.id")
    tags: list[str] = json_list()
    audience: str | None = Field(default=None, max_length=60)
    batch_id: int | None = Field(default=None, foreign_key="kb_import_batch.id", index=True)
    changed_by_id: int | None = Field(default=None, foreign_key="staff.id")
    changed_at: datetime = ts_now()


# --- audit and idempotency --------------------------------------------------------------


class AuditLog(SQLModel, table=True):
    """Who read or changed which citizen's data, when, from which workstation (152-FZ)."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = ts_now(index=True)
    staff_id: int | None = Field(default=None, foreign_key="staff.id", index=True)
    workstation: str | None = Field(default=None, max_length=120)
    action: str = Field(max_length=30)
    citizen_id: int | None = Field(default=None, foreign_key="citizen.id", index=True)
    details: dict[str, Any] = json_dict()


class IdempotencyRecord(SQLModel, table=True):
    """First response to a write carrying an `Idempotency-Key`, replayed on retries."""

    __tablename__ = "idempotency_record"

    key: str = Field(primary_key=True, max_length=120)
    staff_id: int = Field(foreign_key="staff.id")
    endpoint: str = Field(max_length=120)
    request_hash: str = Field(max_length=64)
    status_code: int
    response: dict[str, Any] = json_dict()
    created_at: datetime = ts_now(index=True)


# the performance tables register with the same metadata wherever the models are imported
from ekc_server.models_performance import (  # noqa: E402
    AgentPresence,
    AgentStateEvent,
    ContactSurvey,
    QualityForm,
    QualityReview,
)

__all__ += [
    "AgentPresence",
    "AgentStateEvent",
    "ContactSurvey",
    "QualityForm",
    "QualityReview",
]
from ekc_server.models_events import ContactEvent  # noqa: E402, F401
from ekc_server.models_kb import KbImportStage, KbSearchLog, KbSynonymGroup  # noqa: E402, F401
from ekc_server.models_routing import RoutingVersion  # noqa: E402, F401
from ekc_server.models_topic import TopicModelVersion  # noqa: E402, F401
