"""Enumerations of the domain; their string values travel on the wire and in the database."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """What a staff account may do. `gateway` is a service account of an integration."""

    operator = "operator"
    shift_lead = "shift_lead"
    admin = "admin"
    gateway = "gateway"


class Channel(StrEnum):
    phone = "phone"
    social = "social"
    pos = "pos"
    governor_chat = "governor_chat"
    web_chat = "web_chat"
    email = "email"
    video = "video"


class Line(StrEnum):
    """The phone line a call came in on."""

    l122 = "122"
    l117 = "117"


class Direction(StrEnum):
    inbound = "in"
    outbound = "out"


class ContactStatus(StrEnum):
    """Lifecycle of a contact: waiting in the queue, talking, after-call work, finished."""

    queued = "queued"
    active = "active"
    wrapup = "wrapup"
    done = "done"
    abandoned = "abandoned"


class RouteSource(StrEnum):
    """How a contact's operator group was found (issue 14)."""

    handoff = "handoff"
    """The voice assistant's detected topic."""
    text = "text"
    """The text classifier, confident enough."""
    topic = "topic"
    """A known topic: an outgoing call's callback appeal or contact."""
    operator = "operator"
    """The operator's own group (outgoing or manual contacts without a topic)."""
    none = "none"
    """No topic found (or not confidently): the general group."""


class ContactOutcome(StrEnum):
    consultation = "consultation"
    appeal_registered = "appeal_registered"
    forwarded = "forwarded"
    transferred = "transferred"
    callback_needed = "callback_needed"
    no_answer = "no_answer"


class ContactEventType(StrEnum):
    """What happened to a contact besides its status changes (`contact_event`)."""

    transferred = "transferred"
    """Transferred onward to an agency's line (issue 14): the operator's part ends."""


class AppealKind(StrEnum):
    consultation = "consultation"
    appeal_59fz = "appeal_59fz"
    pos_message = "pos_message"
    complaint = "complaint"
    psych_help = "psych_help"
    emergency = "emergency"


class AppealStatus(StrEnum):
    registered = "registered"
    forwarded = "forwarded"
    in_progress = "in_progress"
    resolved = "resolved"
    closed = "closed"
    cancelled = "cancelled"


OPEN_APPEAL_STATUSES: frozenset[AppealStatus] = frozenset(
    {AppealStatus.registered, AppealStatus.forwarded, AppealStatus.in_progress}
)


class AppealEventType(StrEnum):
    created = "created"
    comment = "comment"
    forwarded = "forwarded"
    agency_reply = "agency_reply"
    extended = "extended"
    status_change = "status_change"
    callback_made = "callback_made"
    resolved = "resolved"
    closed = "closed"
    cancelled = "cancelled"


class CallbackStatus(StrEnum):
    open = "open"
    done = "done"
    cancelled = "cancelled"


class CallbackResult(StrEnum):
    reached = "reached"
    no_answer = "no_answer"
    busy = "busy"
    wrong_number = "wrong_number"
    declined = "declined"


class AgentState(StrEnum):
    """What an operator said they are doing at the console (the F-key ready / away toggle).

    On a contact and after-call work are not states one sets: they follow from the
    operator's open contacts (status `active` / `wrapup`), so the wallboard and the KPIs read
    them from the contacts."""

    ready = "ready"
    away = "away"
    offline = "offline"


class AwayReason(StrEnum):
    """Why an operator is away (shown on the wallboard, counted in plan-vs-fact)."""

    break_ = "break"
    lunch = "lunch"
    training = "training"
    meeting = "meeting"
    other = "other"


#: results after which a callback task stays open for another attempt
RETRYABLE_CALLBACK_RESULTS: frozenset[CallbackResult] = frozenset(
    {CallbackResult.no_answer, CallbackResult.busy}
)


class AuditAction(StrEnum):
    view_citizen = "view_citizen"
    view_history = "view_history"
    view_appeal = "view_appeal"
    list_appeals = "list_appeals"
    search_citizens = "search_citizens"
    create_citizen = "create_citizen"
    update_citizen = "update_citizen"
    merge_citizen = "merge_citizen"
    anonymise_citizen = "anonymise_citizen"
    # staff records (personal data of employees) and rosters (what the staff were told)
    create_staff = "create_staff"
    update_staff = "update_staff"
    deactivate_staff = "deactivate_staff"
    import_staff = "import_staff"
    save_roster = "save_roster"
    change_roster = "change_roster"
    publish_roster = "publish_roster"
    # contacts closed without a wrap-up: given up by the operator or left open too long
    close_contact = "close_contact"
    close_stale_contacts = "close_stale_contacts"
    # the routing table: who sends which contacts to which operators
    change_routing = "change_routing"
    # a contact transferred onward: its summary goes to an agency
    transfer_contact = "transfer_contact"
    # a contact read or opened with its number or texts (the contact's citizen, if known)
    view_contact = "view_contact"
    claim_contact = "claim_contact"
    manual_contact = "manual_contact"
    outbound_contact = "outbound_contact"
    # personal API tokens (who holds a key to the data)
    issue_token = "issue_token"
    revoke_token = "revoke_token"
