"""Wire schemas of REST API v1, shared by the backend and its clients.

Naming follows `XCreate` (what a client sends to create), `XUpdate` (a partial change),
`XPublic` (what the server returns).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    field_validator,
    model_validator,
)

from ekc_core.addresses import address_key
from ekc_core.enums import (
    AppealEventType,
    AppealKind,
    AppealStatus,
    AuditAction,
    CallbackResult,
    CallbackStatus,
    Channel,
    ContactOutcome,
    ContactStatus,
    Direction,
    Line,
    Role,
)
from ekc_core.fields import Code, Id, InputDatetime, Int32, Text
from ekc_core.phones import normalize_phone, try_normalize_phone

T = TypeVar("T")


def _phone(value: str) -> str:
    return normalize_phone(value)


#: a phone number written any way a person writes it, normalised to E.164 on input
Phone = Annotated[str, AfterValidator(_phone)]

NonEmpty = Annotated[Text, Field(min_length=1, max_length=200)]


def _messenger(value: str) -> str:
    key = address_key(value)
    if not key or any(ch.isspace() for ch in key):
        raise ValueError("идентификатор в мессенджере: одно слово без пробелов (vk.com/id123)")
    return key


#: a messenger / social-network id, kept trimmed and in lower case (see ekc_core.addresses)
Messenger = Annotated[Text, Field(max_length=200), AfterValidator(_messenger)]

#: a point in time sent by a client: naive values are ambiguous (Irkutsk is UTC+8) → 422;
#: years 2000–2100 (see `ekc_core.fields`)
AwareDatetime = InputDatetime


class Wire(BaseModel):
    # validators are built on first use: clients start faster (most models are never used
    # by a given command or screen)
    model_config = ConfigDict(from_attributes=True, extra="forbid", defer_build=True)


class Page(Wire, Generic[T]):
    """One page of a list, newest first; `next_offset` is None on the last page."""

    items: list[T]
    total: int
    offset: int
    limit: int
    next_offset: int | None = None


# --- auth -------------------------------------------------------------------------------


class LoginRequest(Wire):
    username: NonEmpty
    password: Annotated[Text, Field(min_length=1, max_length=200)]


class TokenPublic(Wire):
    access_token: str
    token_type: str = "bearer"
    expires_at: datetime | None


class ApiTokenCreate(Wire):
    """A personal API token; only admins issue them, for a gateway service account or for
    themselves."""

    name: NonEmpty
    staff_id: Id | None = None
    """The gateway account (e.g. the telephony); without it (and `username`), the admin's own."""
    username: Annotated[Text, Field(max_length=60)] | None = None
    """The gateway account by login instead of `staff_id`."""
    expires_in_days: Annotated[int, Field(ge=1, le=3650)] | None = None
    """Lifetime; by default the server's `gateway_token_days` (365) for a gateway and
    `admin_token_days` (30, also the maximum) for the admin's own token."""


class ApiTokenPublic(Wire):
    id: int
    name: str
    staff_id: int
    kind: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiTokenCreated(ApiTokenPublic):
    token: str
    """Shown once; the server keeps only its hash."""


class StaffPublic(Wire):
    id: int
    username: str
    full_name: str
    role: Role
    office_code: str | None
    skills: list[str]
    active: bool


# --- reference data ---------------------------------------------------------------------


class OfficePublic(Wire):
    id: int
    code: str
    name: str
    kind: str
    settlement: str
    district: str | None
    address: str | None
    remote: bool
    timezone: str


class AgencyPublic(Wire):
    id: int
    code: str
    name: str
    short_name: str
    level: str
    email: str | None
    phone: str | None
    active: bool


class TopicPublic(Wire):
    id: int
    code: str
    name: str
    parent_code: str | None
    group: str
    default_agency_code: str | None
    pos_answer_days: int | None
    sort_order: int
    active: bool


class TopicCreate(Wire):
    code: Annotated[str, Field(pattern=r"^[a-z0-9_.]+$", max_length=80)]
    name: NonEmpty
    parent_code: Code | None = None
    group: Annotated[str, Field(pattern=r"^[a-z0-9_]+$", max_length=40)] | None = None
    default_agency_code: Code | None = None
    pos_answer_days: Annotated[int, Field(ge=1, le=30)] | None = None
    sort_order: Int32 | None = None


class TopicUpdate(Wire):
    name: NonEmpty | None = None
    parent_code: Code | None = None
    group: Annotated[str, Field(pattern=r"^[a-z0-9_]+$", max_length=40)] | None = None
    default_agency_code: Code | None = None
    pos_answer_days: Annotated[int, Field(ge=1, le=30)] | None = None
    sort_order: Int32 | None = None
    active: bool | None = None


class DeadlineRulePublic(Wire):
    kind: AppealKind
    title: str
    register_days: int | None
    forward_days: int | None
    answer_days: int | None
    max_extension_days: int | None
    legal_basis: str | None


# --- citizens ---------------------------------------------------------------------------


class CitizenBase(Wire):
    last_name: Annotated[Text, Field(max_length=100)] = ""
    first_name: Annotated[Text, Field(max_length=100)] = ""
    middle_name: Annotated[Text, Field(max_length=100)] = ""
    email: EmailStr | None = None
    messenger_id: Messenger | None = None
    """A messenger or social-network id as the gateway sends it (vk.com/id123,
    tg:@ivan_petrov): written contacts from it are identified as this citizen."""
    settlement: Annotated[Text, Field(max_length=120)] | None = None
    address: Annotated[Text, Field(max_length=300)] | None = None
    consent_personal_data: bool = False
    """Consent to processing of personal data (152-FZ)."""
    consent_disclosure: bool = False
    """Consent to pass the appeal's contents to the responsible agency."""


NO_IDENTITY = (
    "укажите фамилию или имя, телефон или e-mail (или мессенджер): запись без них не найти"
)


class CitizenCreate(CitizenBase):
    phones: list[Phone] = Field(default_factory=list, max_length=10)

    @model_validator(mode="after")
    def _identifiable(self) -> CitizenCreate:
        names = self.last_name.strip() or self.first_name.strip()
        if not (names or self.phones or self.email or self.messenger_id):
            raise ValueError(NO_IDENTITY)
        return self


class CitizenUpdate(Wire):
    """A partial change; `version` must be the one the client read (409 when stale)."""

    version: Int32
    last_name: Annotated[Text, Field(max_length=100)] | None = None
    first_name: Annotated[Text, Field(max_length=100)] | None = None
    middle_name: Annotated[Text, Field(max_length=100)] | None = None
    email: EmailStr | None = None
    messenger_id: Messenger | None = None
    settlement: Annotated[Text, Field(max_length=120)] | None = None
    address: Annotated[Text, Field(max_length=300)] | None = None
    consent_personal_data: bool | None = None
    consent_disclosure: bool | None = None
    phones: list[Phone] | None = Field(default=None, max_length=10)

    @field_validator(
        "last_name",
        "first_name",
        "middle_name",
        "consent_personal_data",
        "consent_disclosure",
        mode="before",
    )
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        # omitted means "unchanged"; an explicit null cannot be stored in these fields
        if value is None:
            raise ValueError("значение не может быть null: не передавайте поле, чтобы не менять")
        return value


class CitizenPublic(Wire):
    """Full card of a citizen (opening it is audited)."""

    id: int
    last_name: str
    first_name: str
    middle_name: str
    full_name: str
    phones: list[str]
    email: str | None
    messenger_id: str | None = None
    settlement: str | None
    address: str | None
    consent_personal_data: bool
    consent_disclosure: bool
    merged_into_id: int | None
    anonymised: bool
    version: int
    created_at: datetime
    updated_at: datetime


class CitizenListItem(Wire):
    """A citizen in a search result: phones masked (152-FZ)."""

    id: int
    full_name: str
    phones_masked: list[str]
    settlement: str | None
    merged_into_id: int | None
    open_appeals: int


class CitizenMerge(Wire):
    source_id: Id
    """This citizen record is merged into the target and marked `merged_into`."""


# --- contacts ---------------------------------------------------------------------------


class Handoff(Wire):
    """What the voice assistant passes on with a call."""

    transcript: Annotated[Text, Field(max_length=20000)] | None = None
    detected_topic: Annotated[Text, Field(max_length=200)] | None = None
    detected_emotion: Annotated[Text, Field(max_length=60)] | None = None


class ContactInbound(Wire):
    """What telephony or a channel gateway posts for a new inbound contact."""

    channel: Channel
    line: Line | None = None
    caller_number: Annotated[Text, Field(max_length=40)] | None = None
    """The caller's number as telephony sends it; a hidden or unreadable one ("anonymous")
    does not stop the call: it is queued without a number and the raw value kept."""
    sender: Annotated[Text, Field(max_length=200)] | None = None
    """Sender address on written channels (profile, e-mail, chat id)."""
    external_id: Annotated[Text, Field(max_length=120)] | None = None
    """The gateway's own id of the contact; empty or blank means none."""
    queued_at: AwareDatetime | None = None
    text: Annotated[Text, Field(max_length=20000)] | None = None
    """The message text on written channels."""
    handoff: Handoff | None = None
    office_code: Code | None = None

    @field_validator("external_id", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        # an empty id is no id: two contacts without one are never "the same contact"
        return None if isinstance(value, str) and not value.strip() else value

    def caller_e164(self) -> str | None:
        """The caller's number in E.164, or None when hidden or unreadable."""
        return try_normalize_phone(self.caller_number) if self.caller_number else None


class ContactPublic(Wire):
    id: int
    channel: Channel
    line: Line | None
    direction: Direction
    status: ContactStatus
    caller_number: str | None
    sender: str | None
    citizen_id: int | None
    operator_id: int | None
    topic_code: str | None
    outcome: ContactOutcome | None
    summary: str | None
    text: str | None
    abandoned: bool
    external_id: str | None
    handoff: Handoff | None
    appeal_id: int | None
    queued_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    wrapup_ended_at: datetime | None
    close_reason: str | None = None
    """Why it was closed without a wrap-up (given up, left open too long); else None."""
    group_code: str | None = None
    """The operator group the contact was routed to (issue 14); None for older contacts."""
    route_reason: str | None = None
    """Why it is offered where it is, in Russian, at the time of the answer (while waiting)
    or of the answer by an operator: «СВО, по теме помощника», «переполнение из ЖКХ через
    60 с»."""


class ContactClaim(Wire):
    citizen_id: Id | None = None


class ContactTaken(Wire):
    """A claimed contact with its caller's history: the call card in one round trip."""

    contact: ContactPublic
    history: CitizenHistory | None


class ContactWrapUp(Wire):
    topic_code: NonEmpty
    outcome: ContactOutcome
    summary: Annotated[Text, Field(max_length=4000)] = ""
    citizen_id: Id | None = None
    appeal_id: Id | None = None


class ContactSave(ContactWrapUp):
    """The save of a call card in one request: the conversation ends (if the operator's F8
    has not reached the server yet) and the wrap-up is recorded, in one transaction."""

    ended_at: AwareDatetime | None = None
    """When the conversation ended at the desk (F8); default the time of the save. Ignored
    when the contact is already in after-call work."""


class ContactClose(Wire):
    """Close a contact without a wrap-up (the operator gives up a card the server refused)."""

    reason: Annotated[Text, Field(min_length=1, max_length=500)]


class ContactOutbound(Wire):
    """An outgoing call the operator starts (e.g. a callback)."""

    citizen_id: Id
    phone: Phone
    callback_id: Id | None = None


class ContactManual(Wire):
    """A conversation that reached the operator without the telephony link (a call on a
    desk phone, a visitor at the MFC counter): the operator registers it as their own."""

    channel: Channel = Channel.phone
    line: Line | None = None
    """Required for calls (122 or 117), absent on written channels."""
    caller_number: Annotated[Text, Field(max_length=40)] | None = None
    """As the operator wrote it; stored in E.164 when readable."""
    sender: Annotated[Text, Field(max_length=200)] | None = None
    citizen_id: Id | None = None
    """The citizen when known; otherwise identified by number (exactly one match)."""
    text: Annotated[Text, Field(max_length=20000)] | None = None
    started_at: AwareDatetime | None = None
    """When the conversation began; default now, not in the future."""

    def caller_e164(self) -> str | None:
        """The caller's number in E.164, or None when empty or unreadable."""
        return try_normalize_phone(self.caller_number) if self.caller_number else None


class ContactOffers(Wire):
    """The contacts offered to the caller as a long poll answers it (their own groups' first,
    then those that reached them by overflow, oldest first within each; everything for
    leads and admins): `version` changes whenever that list (ids, order, reasons) changes,
    also when waiting time alone widens an offer; numbers are masked (152-FZ)."""

    version: str
    contacts: list[ContactPublic]


# --- appeals ----------------------------------------------------------------------------


class AppealCreate(Wire):
    citizen_id: Id
    kind: AppealKind
    topic_code: NonEmpty
    summary: Annotated[Text, Field(min_length=1, max_length=500)]
    description: Annotated[Text, Field(max_length=20000)] = ""
    agency_code: Code | None = None
    complex: bool = False
    contact_id: Id | None = None
    received_at: AwareDatetime | None = None
    """When the appeal reached the centre; default now. Deadlines count from here."""
    assignee_id: Id | None = None


class AppealEventCreate(Wire):
    """An event on an appeal. Which fields a type needs: see the API docs of the route."""

    type: AppealEventType
    text: Annotated[Text, Field(max_length=20000)] = ""
    agency_code: Code | None = None
    extension_days: Annotated[int, Field(ge=1, le=365)] | None = None
    status: AppealStatus | None = None


class AppealEventPublic(Wire):
    id: int
    type: AppealEventType
    at: datetime
    actor_id: int | None
    actor_name: str | None
    text: str
    agency_code: str | None
    data: dict[str, Any]


class AppealPublic(Wire):
    id: int
    number: str
    citizen_id: int
    contact_id: int | None
    kind: AppealKind
    topic_code: str
    summary: str
    description: str
    status: AppealStatus
    complex: bool
    agency_code: str | None
    received_at: datetime
    registered_at: datetime
    register_due: datetime | None
    forward_due: datetime | None
    answer_due: datetime | None
    extension_days: int
    forwarded_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    assignee_id: int | None
    overdue: bool
    version: int


class AppealDetail(AppealPublic):
    events: list[AppealEventPublic]


# --- history ----------------------------------------------------------------------------


class HistoryItem(Wire):
    """One line of a citizen's history: a contact or an appeal, on any channel."""

    kind: str  # "contact" | "appeal"
    at: datetime
    contact: ContactPublic | None = None
    appeal: AppealPublic | None = None


class CitizenHistory(Wire):
    """Everything a call card needs in one response."""

    citizen: CitizenPublic
    open_appeals: int
    overdue_appeals: int
    open_callbacks: int
    page: Page[HistoryItem]


# --- callbacks --------------------------------------------------------------------------


class CallbackCreate(Wire):
    citizen_id: Id
    phone: Phone | None = None
    """Number to call; default the citizen's first phone."""
    appeal_id: Id | None = None
    contact_id: Id | None = None
    reason: Annotated[Text, Field(min_length=1, max_length=500)]
    due_at: AwareDatetime
    assignee_id: Id | None = None
    group: Annotated[Text, Field(max_length=40)] | None = None


class CallbackAttempt(Wire):
    result: CallbackResult
    note: Annotated[Text, Field(max_length=4000)] = ""
    retry_at: AwareDatetime | None = None
    """When to try again after no answer / busy; default in one hour."""


class CallbackPublic(Wire):
    id: int
    citizen_id: int
    citizen_name: str
    phone: str
    appeal_id: int | None
    appeal_number: str | None
    contact_id: int | None
    reason: str
    due_at: datetime
    assignee_id: int | None
    group: str | None
    status: CallbackStatus
    attempts: int
    last_attempt_at: datetime | None
    result: CallbackResult | None
    result_note: str | None
    completed_at: datetime | None
    overdue: bool


# --- audit ------------------------------------------------------------------------------


class AuditPublic(Wire):
    id: int
    at: datetime
    staff_id: int | None
    staff_username: str | None
    workstation: str | None
    action: AuditAction
    citizen_id: int | None
    details: dict[str, Any]


# --- errors -----------------------------------------------------------------------------


class ErrorDetail(Wire):
    loc: list[str | int]
    msg: str
    type: str


class ErrorResponse(Wire):
    detail: str | list[ErrorDetail]
    code: str | None = None
    field: str | None = None
    """The field a domain rule refused, when there is one."""


# --- knowledge base ---------------------------------------------------------------------


#: longest topic / agency reference an import may give: a code or a *name*, which may be
#: as long as the reference tables' name columns (`Topic.name`, `Agency.name`)
KB_TOPIC_REF_MAX = 200
KB_AGENCY_REF_MAX = 400


class KbArticleIn(Wire):
    """One article as imported (the JSONL / CSV columns)."""

    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,79}$")]
    title: Annotated[Text, Field(min_length=1, max_length=300)]
    body: Annotated[Text, Field(min_length=1, max_length=100_000)]
    topic: Annotated[Text, Field(max_length=KB_TOPIC_REF_MAX)] | None = None
    """A topic code or name (resolved by the backend)."""
    agency: Annotated[Text, Field(max_length=KB_AGENCY_REF_MAX)] | None = None
    """An agency code, name or short name (resolved by the backend)."""
    tags: list[Annotated[Text, Field(max_length=100)]] = Field(default_factory=list, max_length=50)
    audience: Code | None = None


class KbImportRequest(Wire):
    source_name: Annotated[Text, Field(min_length=1, max_length=300)]
    articles: list[KbArticleIn]
    sync: bool = False
    """Articles absent from this import are removed (a full replacement of the KB)."""
    dry_run: bool = False
    """Only compute the difference; write nothing."""


#: most articles in one chunk of a staged import
KB_CHUNK_MAX = 5000


class KbStageOpen(Wire):
    """Open a staged import: chunks are appended to it, one commit publishes them all."""

    source_name: Annotated[Text, Field(min_length=1, max_length=300)]


class KbStageChunk(Wire):
    """One chunk of a staged import. `offset`: how many articles were staged before it (a
    chunk lost or sent twice is refused, 409); problems name indices within this chunk."""

    offset: Annotated[int, Field(ge=0)]
    articles: Annotated[list[KbArticleIn], Field(min_length=1, max_length=KB_CHUNK_MAX)]


class KbStageCommit(Wire):
    sync: bool = False
    """Articles absent from the whole import are removed (a full replacement of the KB)."""
    dry_run: bool = False
    """Only compute the difference; the stage stays open for the real commit."""


class KbStagePublic(Wire):
    batch_id: int
    staged: int
    """Articles staged so far."""


class KbDiff(Wire):
    added: list[str]
    changed: list[str]
    unchanged: int
    removed: list[str]


class KbImportResult(Wire):
    batch_id: int | None
    dry_run: bool
    diff: KbDiff


class KbBatchPublic(Wire):
    id: int
    source_name: str
    status: str
    created_by: str | None
    created_at: datetime
    added: int
    changed: int
    removed: int
    rolled_back_at: datetime | None


class KbArticlePublic(Wire):
    id: str
    title: str
    body: str
    topic: str | None
    agency: str | None
    tags: list[str]
    audience: str | None
    version: int
    seq: int
    updated_at: datetime


class KbVersionPublic(Wire):
    version: int
    change: str
    title: str
    body: str
    topic: str | None
    agency: str | None
    tags: list[str]
    audience: str | None
    batch_id: int | None
    changed_by: str | None
    changed_at: datetime


class KbChanges(Wire):
    """Changes after `since`, oldest first; ask again from `next_since` while `more`."""

    since: int
    next_since: int
    upserts: list[KbArticlePublic]
    deletions: list[str]
    more: bool
    reset: bool = False
    """The client's position is ahead of the server's (e.g. the database was restored):
    drop the local index and sync again from 0."""


class KbSimilarRequest(Wire):
    """Free text (a call transcript, an appeal summary) to find fitting articles for."""

    text: Annotated[Text, Field(min_length=1, max_length=20_000)]
    limit: Annotated[int, Field(ge=1, le=20)] = 5
    topic: Code | None = None
    audience: Code | None = None


class KbSearchHit(Wire):
    id: str
    title: str
    score: float
    highlights: list[str]
    topic: str | None
    agency: str | None
    audience: str | None
