"""The console's headless core: sign-in, reference data, citizens, contacts, the outbox.

Every method may block (HTTP, SQLite, Whoosh): the UI calls them from worker threads only.
Reads fall back to the local store when the backend does not answer; writes go through the
outbox. `online` reflects the outcome of the last request.

The link signal: `online` turns False at the first network failure of any request (before
its retries; a long poll's socket fails within ~8 s of the link going quiet through TCP
keep-alive, see `ekc_core.client`), and True at any answer. Each change calls the
functions given to `add_link_listener(fn)` with the new state, from the thread that saw it
(a UI posts itself a message there). While the link is known down, reads that have a local
copy answer from it at once; while it is up, they fail over to it after one attempt.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
from pydantic import TypeAdapter

from ekc_core.addresses import looks_like_email
from ekc_core.client import EkcClient, new_idempotency_key
from ekc_core.credentials import Credentials, load_credentials, save_credentials
from ekc_core.deadlines import Deadlines, DeadlineTerms, compute_deadlines
from ekc_core.enums import AppealKind
from ekc_core.errors import (
    AuthenticationRequiredError,
    EkcError,
    ServerError,
    ServerUnreachableError,
)
from ekc_core.phones import try_normalize_phone
from ekc_core.schemas import (
    AgencyPublic,
    AppealDetail,
    CallbackPublic,
    CitizenHistory,
    CitizenListItem,
    CitizenPublic,
    ContactOffers,
    ContactPublic,
    DeadlineRulePublic,
    StaffPublic,
    TopicPublic,
)
from ekc_tui.outbox import FlushResult, flush
from ekc_tui.settings import ConsoleSettings
from ekc_tui.store import LocalStore, OutboxItem

if TYPE_CHECKING:
    # Whoosh and the Russian analysers load on first use: `ekc --send-outbox` needs neither
    from ekc_tui.kbsync import LocalKb, SyncResult

T = TypeVar("T")


#: seconds a heartbeat may take before the console shows "no link" (600 ms RTT + slack)
HEARTBEAT_TIMEOUT = 4.0
#: seconds a read with a local copy to fall back on may take (one attempt, no retries)
QUICK_TIMEOUT = 8.0
#: the most waiting contacts the queue view asks for (the server's limit is 1000)
OFFER_LIMIT = 500


class OfflineError(Exception):
    """The backend did not answer and nothing usable is cached."""


@dataclass
class Reference:
    topics: list[TopicPublic]
    agencies: list[AgencyPublic]
    rules: list[DeadlineRulePublic]

    def __post_init__(self) -> None:
        self.topic_by_code = {t.code: t for t in self.topics}
        self.agency_by_code = {a.code: a for a in self.agencies}
        self.rule_by_kind = {r.kind: r for r in self.rules}

    def topic_name(self, code: str | None) -> str:
        topic = self.topic_by_code.get(code or "")
        return topic.name if topic else (code or "")

    def topic_path(self, code: str | None) -> str:
        """ "Parent / child" for the picker and the card."""
        topic = self.topic_by_code.get(code or "")
        if topic is None:
            return code or ""
        parent = self.topic_by_code.get(topic.parent_code or "")
        return f"{parent.name} / {topic.name}" if parent else topic.name

    def agency_name(self, code: str | None) -> str:
        agency = self.agency_by_code.get(code or "")
        return agency.short_name or agency.name if agency else (code or "")

    def deadlines(
        self, kind: AppealKind, topic_code: str | None, now: datetime | None = None
    ) -> Deadlines | None:
        rule = self.rule_by_kind.get(kind)
        if rule is None:
            return None
        topic = self.topic_by_code.get(topic_code or "")
        now = now or datetime.now(UTC)
        override = topic.pos_answer_days if topic and kind == AppealKind.pos_message else None
        return compute_deadlines(
            DeadlineTerms(
                rule.register_days, rule.forward_days, rule.answer_days, rule.max_extension_days
            ),
            received_at=now,
            registered_at=now,
            answer_days_override=override,
        )


class Desk:
    """One operator's session: the client, the local store and the local KB index."""

    def __init__(self, settings: ConsoleSettings) -> None:
        self.settings = settings
        self.store = LocalStore(settings.console_dir / "console.db")
        # personal data at rest stays bounded (152-FZ): forget what was not needed for long
        self.store.purge_citizens()
        self.store.purge_outbox()
        self._kb: LocalKb | None = None
        self._kb_lock = threading.Lock()
        self.client: EkcClient | None = None
        self.me: StaffPublic | None = None
        self.username: str | None = None
        self._online = False
        self._link_listeners: list[Callable[[bool], None]] = []
        self._shown: ContactOffers | None = None
        """The last queue the backend sent: an unchanged one comes back as a bodiless 304."""
        self._flush_lock = threading.Lock()
        self.transport: httpx.BaseTransport | None = None
        """The HTTP transport of the clients made from now on (None: the network; tests put
        a link that loses answers here)."""

    # --- the link signal ----------------------------------------------------------------

    @property
    def online(self) -> bool:
        return self._online

    @online.setter
    def online(self, up: bool) -> None:
        changed = up != self._online
        self._online = up
        if changed:
            for listener in list(self._link_listeners):
                listener(up)

    def add_link_listener(self, listener: Callable[[bool], None]) -> None:
        """`listener(up)` on every change of `online`, from the thread that saw it."""
        self._link_listeners.append(listener)

    def _on_link(self, up: bool) -> None:
        self.online = up

    def interrupt(self) -> None:
        """End requests in flight (a long poll) so the console can quit at once."""
        if self.client is not None:
            self.client.close()

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
        if self._kb is not None:
            self._kb.close()
        self.store.close()

    # --- sign-in ------------------------------------------------------------------------

    @property
    def server_url(self) -> str:
        return self.client.base_url if self.client else self.settings.server_url

    def saved_login(self) -> Credentials | None:
        return load_credentials(self.settings.config_dir)

    def _make_client(self, url: str, token: str | None) -> EkcClient:
        if self.client is not None:
            self.client.close()
        self.client = EkcClient(
            url,
            token=token,
            settings=self.settings,
            transport=self.transport,
            etag_store=self.store,
        )
        self.client.on_link = self._on_link
        self._shown = None
        return self.client

    def resume(self, creds: Credentials) -> bool:
        """Use a saved token; False when the server says it is no longer valid.

        When the server does not answer, the console starts offline with the saved login.
        """
        client = self._make_client(creds.server_url, creds.token)
        self.username = creds.username
        try:
            self.me = client.me()
        except AuthenticationRequiredError:
            self.online = True
            return False
        except (ServerUnreachableError, ServerError):
            self.online = False
            return True
        self.online = True
        return True

    def sign_in(self, url: str, username: str, password: str) -> StaffPublic:
        client = self._make_client(url.rstrip("/"), None)
        token = client.login(username, password)
        client.token = token.access_token
        self.me = client.me()
        self.username = self.me.username
        self.online = True
        save_credentials(
            self.settings.config_dir,
            Credentials(
                server_url=client.base_url,
                username=self.me.username,
                token=token.access_token,
                expires_at=token.expires_at,
            ),
        )
        return self.me

    # --- calls with the offline fallback ------------------------------------------------

    def _api(self) -> EkcClient:
        if self.client is None:
            raise OfflineError("вход не выполнен")
        return self.client

    def call(self, fn: Callable[[EkcClient], T]) -> T:
        """Run one request; keep `online` current (errors propagate)."""
        try:
            result = fn(self._api())
        except (ServerUnreachableError, ServerError):
            self.online = False
            raise
        self.online = True
        return result

    def _cached(self, key: str, fn: Callable[[EkcClient], T], adapter: TypeAdapter[T]) -> T:
        if not self.online:
            cached = self.store.get(key)
            if cached is not None:  # the link is known down: the local copy, at once
                return adapter.validate_python(cached)
        try:
            value = self.call(fn)
        except (ServerUnreachableError, ServerError, OfflineError):
            cached = self.store.get(key)
            if cached is None:
                raise OfflineError("нет связи с сервером, и в памяти консоли этого нет") from None
            return adapter.validate_python(cached)
        self.store.put(key, adapter.dump_python(value, mode="json"))
        return value

    # --- reference data -----------------------------------------------------------------

    def reference(self) -> Reference:
        return Reference(
            topics=self._cached(
                "ref:topics", lambda c: c.topics(retries=0), TypeAdapter(list[TopicPublic])
            ),
            agencies=self._cached(
                "ref:agencies", lambda c: c.agencies(retries=0), TypeAdapter(list[AgencyPublic])
            ),
            rules=self._cached(
                "ref:deadlines",
                lambda c: c.deadline_rules(retries=0),
                TypeAdapter(list[DeadlineRulePublic]),
            ),
        )

    # --- citizens -----------------------------------------------------------------------

    def find_citizens(self, text: str) -> tuple[list[CitizenListItem], bool]:
        """By phone (any form), e-mail or name; the flag is True when answered from the cache."""
        phone = try_normalize_phone(text) if any(ch.isdigit() for ch in text) else None
        if not self.online:
            return self.store.find_citizens(phone=phone, name=None if phone else text), True
        try:
            if phone:
                found = self.call(lambda c: c.find_citizens(phone=phone))
            elif looks_like_email(text):
                found = self.call(lambda c: c.find_citizens(email=text.strip()))
            else:
                found = self.call(lambda c: c.find_citizens(name=text))
        except (ServerUnreachableError, ServerError, OfflineError):
            return self.store.find_citizens(phone=phone, name=None if phone else text), True
        return found, False

    def open_citizen(self, citizen_id: int) -> tuple[CitizenPublic, CitizenHistory | None, bool]:
        """The citizen with the history (one request); from the local copy at once while the
        link is known down, and after one failed attempt (no retries) while it is up."""
        cached = self.store.citizen(citizen_id)
        if cached is not None and not self.online:
            return cached[0], cached[1], True
        retries = 0 if cached is not None else None
        timeout = QUICK_TIMEOUT if cached is not None else None
        try:
            history = self.call(
                lambda c: c.history(citizen_id, limit=50, retries=retries, timeout=timeout)
            )
        except (ServerUnreachableError, ServerError, OfflineError):
            if cached is None:
                raise OfflineError(
                    "нет связи с сервером; этого гражданина нет в памяти консоли"
                ) from None
            return cached[0], cached[1], True
        self.store.remember_citizen(history.citizen, history)
        return history.citizen, history, False

    def appeal(self, appeal_id: int) -> AppealDetail:
        return self.call(lambda c: c.appeal(appeal_id))

    # --- contacts -----------------------------------------------------------------------

    def offers(self, version: str | None) -> ContactOffers:
        """The long poll of the queue (every waiting contact, up to `OFFER_LIMIT`). The
        queue last received goes as `If-None-Match`: unchanged, it costs a bodiless 304.
        One attempt: the caller's loop waits and asks again."""
        shown = self._shown if self._shown and self._shown.version == version else None
        offers = self.call(
            lambda c: c.offers(
                version=version,
                wait=self.settings.offer_wait,
                limit=OFFER_LIMIT,
                shown=shown,
                retries=0,
            )
        )
        self._shown = offers
        return offers

    def take(
        self, contact: ContactPublic, key: str | None = None
    ) -> tuple[ContactPublic, CitizenHistory | None]:
        """Claim the contact; the caller's history comes in the same answer (one round trip).

        `key` names this take attempt: asked again with the same key after a lost answer,
        the server replays its first answer instead of refusing a contact already ours."""
        key = key or new_idempotency_key()
        taken = self.call(lambda c: c.take_with_key(contact.id, key))
        if taken.history is not None:
            self.store.remember_citizen(taken.history.citizen, taken.history)
        return taken.contact, taken.history

    def my_contacts(self) -> list[ContactPublic]:
        """The contacts the server thinks this operator holds (active or after-call)."""
        return self.call(lambda c: c.my_contacts())

    def heartbeat(self) -> bool:
        """A tiny request: keeps a connection warm and `online` current while idle."""
        try:
            self.call(lambda c: c.request("GET", "/me", timeout=HEARTBEAT_TIMEOUT, retries=0))
        except (ServerUnreachableError, ServerError, OfflineError):
            return False
        except AuthenticationRequiredError:
            raise
        except EkcError:
            return self.online
        return True

    def callbacks(self) -> tuple[list[CallbackPublic], bool]:
        """My callbacks and my group's that are due by the end of today (overdue too)."""
        now = datetime.now().astimezone()
        end_of_day = now.replace(hour=23, minute=59, second=59)
        adapter = TypeAdapter(list[CallbackPublic])
        try:
            items = self.call(lambda c: c.callbacks(due_before=end_of_day))
        except (ServerUnreachableError, ServerError, OfflineError):
            return adapter.validate_python(self.store.get("callbacks", [])), True
        self.store.put("callbacks", adapter.dump_python(items, mode="json"))
        return items, False

    # --- outbox -------------------------------------------------------------------------

    def enqueue(
        self,
        key: str,
        title: str,
        steps: list[dict[str, Any]],
        card: dict[str, Any] | None = None,
        *,
        background: bool = False,
    ) -> OutboxItem:
        return self.store.enqueue(
            key=key, title=title, steps=steps, card=card, background=background
        )

    def flush(self) -> FlushResult:
        """Send what is pending (one sender at a time)."""
        if self.client is None:
            return FlushResult(offline=True)
        with self._flush_lock:
            result = flush(self.client, self.store)
        if result.offline:
            self.online = False
        elif result.sent or result.failed:
            self.online = True
        return result

    def unsent(self) -> int:
        """Items of work not yet sent (background items not counted: `to_send`)."""
        counts = self.store.counts()
        return counts.get("pending", 0)

    def to_send(self) -> bool:
        """Anything at all waits in the outbox (work, or a background item)."""
        return bool(self.unsent() or self.store.background_pending())

    def failed(self) -> int:
        return self.store.counts().get("failed", 0)

    # --- knowledge base -----------------------------------------------------------------

    @property
    def kb(self) -> LocalKb:
        with self._kb_lock:
            if self._kb is None:
                from ekc_tui.kbsync import LocalKb

                self._kb = LocalKb(
                    self.settings.console_dir / "kb-index", self.settings.synonyms_path
                )
            return self._kb

    def sync_kb(self) -> SyncResult:
        return self.call(lambda c: self.kb.sync(c))
