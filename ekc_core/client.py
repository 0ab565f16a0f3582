"""The one HTTP client of the console and the CLI: httpx, retries with backoff, one place
that maps HTTP failures to `ekc_core.errors`, ETag revalidation of reference data."""

from __future__ import annotations

import email.utils
import json
import random
import socket
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter

from ekc_core import __version__, kb_feed
from ekc_core.client_admin import AdminApi
from ekc_core.client_kb import KbImportApi, KbLearningApi
from ekc_core.client_quality import QualityApi
from ekc_core.client_reports import ReportsApi
from ekc_core.client_rosters import RosterApi
from ekc_core.client_routing import RoutingApi
from ekc_core.client_transfers import TransfersApi
from ekc_core.client_wallboard import WallboardApi
from ekc_core.errors import (
    ApiError,
    AuthenticationRequiredError,
    ConflictError,
    FieldProblem,
    NotFoundError,
    PermissionDeniedError,
    ServerError,
    ServerUnreachableError,
    ValidationFailedError,
)
from ekc_core.schemas import (
    AgencyPublic,
    AppealCreate,
    AppealDetail,
    AppealEventCreate,
    AppealPublic,
    CallbackAttempt,
    CallbackCreate,
    CallbackPublic,
    CitizenCreate,
    CitizenHistory,
    CitizenListItem,
    CitizenPublic,
    CitizenUpdate,
    ContactClose,
    ContactInbound,
    ContactManual,
    ContactOffers,
    ContactOutbound,
    ContactPublic,
    ContactSave,
    ContactTaken,
    ContactWrapUp,
    DeadlineRulePublic,
    KbArticlePublic,
    KbBatchPublic,
    KbChanges,
    KbImportRequest,
    KbImportResult,
    KbSearchHit,
    KbVersionPublic,
    OfficePublic,
    Page,
    StaffPublic,
    TokenPublic,
    TopicPublic,
)
from ekc_core.settings import ClientSettings

API = "/api/v1"
#: bulk knowledge-base work (imports of tens of thousands of articles, reindex) may take
#: minutes on the server; these requests wait this long before giving up
LONG_TIMEOUT = 900.0
M = TypeVar("M", bound=BaseModel)
_RETRY_STATUS = frozenset({502, 503, 504})


@dataclass
class _Cached:
    etag: str
    body: Any


#: idle connections are kept this long (below the backend's keep-alive of 75 s)
KEEPALIVE_SECONDS = 60.0

#: TCP keep-alive on the client's sockets: a connection whose peer stops answering (the
#: satellite link went down while a long poll waits) fails after about
#: TCP_KEEPIDLE + TCP_KEEPCNT x TCP_KEEPINTVL seconds (~7 s) instead of the read timeout.
#: While the link is up a probe goes only every TCP_KEEPIDLE s (one 52-byte packet and its
#: ACK); four lost in a row (2 % loss each way) is a false alarm about once in 10 shifts.
TCP_KEEPIDLE = 3
TCP_KEEPINTVL = 1
TCP_KEEPCNT = 4
#: how long sent data may stay unacknowledged before the kernel gives the connection up
TCP_USER_TIMEOUT_MS = 10_000


def _socket_options() -> list[tuple[int, int, int]]:
    options = [(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)]
    for name, value in (
        ("TCP_KEEPIDLE", TCP_KEEPIDLE),
        ("TCP_KEEPINTVL", TCP_KEEPINTVL),
        ("TCP_KEEPCNT", TCP_KEEPCNT),
        ("TCP_USER_TIMEOUT", TCP_USER_TIMEOUT_MS),
    ):
        if hasattr(socket, name):  # Linux; other systems keep their defaults
            options.append((socket.IPPROTO_TCP, getattr(socket, name), value))
    return options


class EtagStore(Protocol):
    """Where revalidated GET bodies are kept with their ETags across runs (the console's
    local store): a start sends `If-None-Match` and a 304 reuses the kept body."""

    def etag_get(self, path: str) -> tuple[str, Any] | None: ...

    def etag_put(self, path: str, etag: str, body: Any) -> None: ...


#: when a write happened at the operator's desk, and when this attempt to send it left
OCCURRED_AT = "X-Occurred-At"
SENT_AT = "X-Sent-At"


def _stamp_sent_at(request: httpx.Request) -> None:
    """httpx request hook: every attempt of a write that says when it happened also says
    when it was sent (the desk's clock now)."""
    if OCCURRED_AT in request.headers:
        request.headers[SENT_AT] = datetime.now(UTC).isoformat()


#: the longest a client waits on a 503's `Retry-After` before its next attempt
MAX_RETRY_AFTER = 10.0


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds from `Retry-After` (delta-seconds or an HTTP date), at most `MAX_RETRY_AFTER`."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return min(MAX_RETRY_AFTER, max(0.0, seconds))


def new_idempotency_key() -> str:
    """A client-generated key for one logical write (kept with the write until it is sent)."""
    return str(uuid.uuid4())


class EkcClient(
    AdminApi,
    RosterApi,
    ReportsApi,
    QualityApi,
    WallboardApi,
    KbLearningApi,
    KbImportApi,
    RoutingApi,
    TransfersApi,
):
    """A synchronous client of REST API v1 (the console calls it from worker threads).

    Safe requests (GET, and writes carrying an idempotency key) are retried on network
    errors and 502/503/504 with exponential backoff and jitter; other writes are not.
    """

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        settings: ClientSettings | None = None,
        transport: httpx.BaseTransport | None = None,
        workstation: str | None = None,
        etag_store: EtagStore | None = None,
    ) -> None:
        self.settings = settings or ClientSettings()
        self.base_url = base_url.rstrip("/")
        self.token = token
        self._etags: dict[str, _Cached] = {}
        self.etag_store = etag_store
        self.on_link: Callable[[bool], None] | None = None
        """Told True after every answer and False at the first network failure of a
        request (before its retries): the console's link state, without the retries' wait."""
        headers = {
            "User-Agent": f"ekc122/{__version__}",
            "Accept-Encoding": "gzip",
            "X-Workstation": workstation or self.settings.workstation or socket.gethostname(),
        }
        self._http = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(
                self.settings.read_timeout, connect=self.settings.connect_timeout
            ),
            transport=transport
            if transport is not None
            else httpx.HTTPTransport(socket_options=_socket_options()),
            # keep connections across an operator's pauses: a new one costs a round trip
            # (or three, with TLS) on a satellite link; the backend keeps them 75 s
            limits=httpx.Limits(keepalive_expiry=KEEPALIVE_SECONDS),
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> EkcClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- transport and error mapping (the one place) ------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        headers: Mapping[str, str] | None = None,
        auth: bool = True,
        timeout: float | None = None,
        retries: int | None = None,
    ) -> httpx.Response:
        """Send one request (with retries when safe) and return a 2xx/304 response.

        `retries` overrides the settings' count for this request (0: fail at once, for
        reads the caller can answer from a local copy)."""
        send_headers = dict(headers or {})
        if auth and self.token:
            send_headers["Authorization"] = f"Bearer {self.token}"
        if idempotency_key:
            send_headers["Idempotency-Key"] = idempotency_key
        safe = method == "GET" or idempotency_key is not None
        tries = self.settings.retries if retries is None else retries
        attempts = 1 + (tries if safe else 0)
        clean_params = {k: v for k, v in (params or {}).items() if v is not None}
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                response = self._http.request(
                    method,
                    API + path,
                    json=json_body,
                    params=clean_params,
                    headers=send_headers,
                    timeout=(
                        httpx.Timeout(timeout, connect=self.settings.connect_timeout)
                        if timeout is not None
                        else httpx.USE_CLIENT_DEFAULT
                    ),
                )
            except httpx.TimeoutException as exc:
                self._link(False)
                if last:
                    raise ServerUnreachableError(
                        f"сервер {self.base_url} не ответил вовремя"
                    ) from exc
            except httpx.TransportError as exc:
                self._link(False)
                if last:
                    raise ServerUnreachableError(
                        f"нет связи с сервером {self.base_url}: {exc}"
                    ) from exc
            else:
                self._link(response.status_code not in _RETRY_STATUS)
                if response.status_code not in _RETRY_STATUS or last:
                    return self._check(response, attempts=attempt + 1)
                # a busy server says when to come back: wait that (bounded), not less
                wait = _retry_after(response)
                if wait is not None:
                    time.sleep(wait + random.random() / 2)
                    continue
            time.sleep(min(8.0, 0.5 * 2**attempt) * (0.5 + random.random() / 2))
        raise AssertionError("unreachable")  # pragma: no cover

    def _link(self, up: bool) -> None:
        if self.on_link is not None:
            self.on_link(up)

    @staticmethod
    def _check(response: httpx.Response, *, attempts: int = 1) -> httpx.Response:
        """`response` if 2xx/3xx, else the typed error (`attempts`: how many were sent)."""
        status = response.status_code
        if status < 400:
            return response
        try:
            body = response.json()
        except (json.JSONDecodeError, ValueError):
            body = {"detail": response.text[:500] or response.reason_phrase}
        detail = body.get("detail") if isinstance(body, dict) else body
        code = body.get("code") if isinstance(body, dict) else None
        if isinstance(detail, list):
            problems = [
                FieldProblem(
                    field=".".join(
                        str(p) for p in item.get("loc", []) if p not in ("body", "query")
                    ),
                    message=str(item.get("msg", "")),
                )
                for item in detail
                if isinstance(item, dict)
            ]
            message = "; ".join(
                f"{p.field}: {p.message}" if p.field else p.message for p in problems
            )
        else:
            problems = []
            message = str(detail)
        kwargs: dict[str, Any] = {"status_code": status, "code": code}
        if status == 401:
            raise AuthenticationRequiredError(message, **kwargs)
        if status == 403:
            raise PermissionDeniedError(message, **kwargs)
        if status == 404:
            raise NotFoundError(message, **kwargs)
        if status == 409:
            raise ConflictError(message, **kwargs)
        if status == 422:
            raise ValidationFailedError(message, problems=problems, **kwargs)
        tried = f" (попыток: {attempts})" if attempts > 1 else ""
        if status == 503:  # the backend sheds load (code server_busy), or a proxy says so
            wait = _retry_after(response)
            later = f"через {wait:.0f} с" if wait else "позже"
            text = f"сервер перегружен (503){tried}; повторите {later}"
            if code != "server_busy" and isinstance(body, dict) and detail:
                text += f": {message}"
            raise ServerError(text, **kwargs)
        if status >= 500:
            raise ServerError(f"ошибка сервера ({status}){tried}: {message}", **kwargs)
        raise ApiError(message, **kwargs)

    def _get(self, path: str, model: type[M], **params: Any) -> M:
        return model.model_validate(self.request("GET", path, params=params).json())

    def _get_list(self, path: str, model: type[M], **params: Any) -> list[M]:
        return TypeAdapter(list[model]).validate_python(  # type: ignore[valid-type]
            self.request("GET", path, params=params).json()
        )

    def _post(
        self,
        path: str,
        model: type[M],
        body: BaseModel | None = None,
        idempotency_key: str | None = None,
    ) -> M:
        payload = body.model_dump(mode="json", exclude_unset=True) if body else None
        response = self.request("POST", path, json_body=payload, idempotency_key=idempotency_key)
        return model.model_validate(response.json())

    def _cached_list(self, path: str, model: type[M], *, retries: int | None = None) -> list[M]:
        """GET with If-None-Match: a 304 reuses the body already held (in memory, or in the
        `etag_store` from an earlier run)."""
        cached = self._etags.get(path)
        if cached is None and self.etag_store is not None:
            kept = self.etag_store.etag_get(path)
            if kept is not None:
                cached = self._etags[path] = _Cached(etag=kept[0], body=kept[1])
        headers = {"If-None-Match": cached.etag} if cached else None
        response = self.request("GET", path, headers=headers, retries=retries)
        if response.status_code == 304 and cached is not None:
            body = cached.body
        else:
            body = response.json()
            etag = response.headers.get("etag")
            if etag:
                self._etags[path] = _Cached(etag=etag, body=body)
                if self.etag_store is not None:
                    self.etag_store.etag_put(path, etag, body)
        return TypeAdapter(list[model]).validate_python(body)  # type: ignore[valid-type]

    # --- auth ---------------------------------------------------------------------------

    def login(self, username: str, password: str) -> TokenPublic:
        response = self.request(
            "POST",
            "/auth/token",
            json_body={"username": username, "password": password},
            auth=False,
        )
        token = TokenPublic.model_validate(response.json())
        self.token = token.access_token
        return token

    def logout(self) -> None:
        self.request("POST", "/auth/logout")
        self.token = None

    def me(self) -> StaffPublic:
        return self._get("/me", StaffPublic)

    # --- reference data -----------------------------------------------------------------

    def topics(self, *, retries: int | None = None) -> list[TopicPublic]:
        return self._cached_list("/topics", TopicPublic, retries=retries)

    def agencies(self, *, retries: int | None = None) -> list[AgencyPublic]:
        return self._cached_list("/agencies", AgencyPublic, retries=retries)

    def offices(self) -> list[OfficePublic]:
        return self._cached_list("/offices", OfficePublic)

    def deadline_rules(self, *, retries: int | None = None) -> list[DeadlineRulePublic]:
        return self._cached_list("/deadline-rules", DeadlineRulePublic, retries=retries)

    # --- citizens -----------------------------------------------------------------------

    def find_citizens(
        self,
        *,
        phone: str | None = None,
        name: str | None = None,
        limit: int = 20,
        email: str | None = None,
    ) -> list[CitizenListItem]:
        return self._get_list(
            "/citizens", CitizenListItem, phone=phone, name=name, email=email, limit=limit
        )

    def citizen(self, citizen_id: int) -> CitizenPublic:
        return self._get(f"/citizens/{citizen_id}", CitizenPublic)

    def create_citizen(
        self, data: CitizenCreate, *, idempotency_key: str | None = None
    ) -> CitizenPublic:
        return self._post("/citizens", CitizenPublic, data, idempotency_key)

    def update_citizen(self, citizen_id: int, data: CitizenUpdate) -> CitizenPublic:
        response = self.request(
            "PATCH",
            f"/citizens/{citizen_id}",
            json_body=data.model_dump(mode="json", exclude_unset=True),
        )
        return CitizenPublic.model_validate(response.json())

    def history(
        self,
        citizen_id: int,
        *,
        offset: int = 0,
        limit: int = 30,
        retries: int | None = None,
        timeout: float | None = None,
    ) -> CitizenHistory:
        """`retries`/`timeout`: a console with the citizen in its local copy fails fast."""
        response = self.request(
            "GET",
            f"/citizens/{citizen_id}/history",
            params={"offset": offset, "limit": limit},
            retries=retries,
            timeout=timeout,
        )
        return CitizenHistory.model_validate(response.json())

    # --- contacts -----------------------------------------------------------------------

    def post_contact(self, data: ContactInbound) -> ContactPublic:
        return self._post("/contacts", ContactPublic, data)

    def queue(self, *, limit: int = 50, group: str | None = None) -> list[ContactPublic]:
        """Every waiting contact, oldest first (masked, with group and reason); `group`:
        only that operator group's."""
        params: dict[str, Any] = {"limit": limit}
        if group is not None:
            params["group"] = group
        return self._get_list("/contacts/queue", ContactPublic, **params)

    def offers(
        self,
        *,
        version: str | None = None,
        wait: float = 25.0,
        limit: int = 20,
        shown: ContactOffers | None = None,
        retries: int | None = None,
    ) -> ContactOffers:
        """Long poll of the contacts offered to the caller (their groups' first, then
        overflow): returns at once when it differs from `version`, else when it changes
        (also by an overflow step) or after `wait` seconds (the read timeout covers the wait).

        With `shown` (the answer the caller holds) the poll sends its version as
        `If-None-Match`, and an unchanged queue comes back as a bodiless 304: `shown` is
        returned as it is."""
        headers = {"If-None-Match": f'"{shown.version}"'} if shown is not None else None
        response = self.request(
            "GET",
            "/contacts/offers",
            params={"version": version, "wait": wait, "limit": limit},
            headers=headers,
            timeout=wait + self.settings.read_timeout,
            retries=retries,
        )
        if response.status_code == 304 and shown is not None:
            return shown
        return ContactOffers.model_validate(response.json())

    def contact(self, contact_id: int) -> ContactPublic:
        return self._get(f"/contacts/{contact_id}", ContactPublic)

    def start_manual(
        self, data: ContactManual, *, idempotency_key: str | None = None
    ) -> ContactPublic:
        """Register a conversation that came without telephony as one's own active contact."""
        return self._post("/contacts/manual", ContactPublic, data, idempotency_key)

    def start_outbound(
        self, data: ContactOutbound, *, idempotency_key: str | None = None
    ) -> ContactPublic:
        return self._post("/contacts/outbound", ContactPublic, data, idempotency_key)

    def abandon_contact(self, contact_id: int) -> ContactPublic:
        """Telephony reports that the caller hung up while waiting (409 when taken)."""
        return self._post(f"/contacts/{contact_id}/abandon", ContactPublic)

    def claim(self, contact_id: int) -> ContactPublic:
        return self._post(f"/contacts/{contact_id}/claim", ContactPublic)

    def take(self, contact_id: int) -> ContactTaken:
        """Claim a contact and get the caller's history with it (one round trip)."""
        return self._post(f"/contacts/{contact_id}/take", ContactTaken)

    def take_with_key(self, contact_id: int, idempotency_key: str) -> ContactTaken:
        """`take` that can be asked again: one key per take attempt, so a take whose answer
        was lost is sent again with the same key and the server replays its first answer
        (also 200 when the contact is already this operator's). A 409 says why not in its
        `code`: `contact_abandoned` (the caller hung up), `contact_taken` (another operator)
        or `conflict`."""
        return self._post(f"/contacts/{contact_id}/take", ContactTaken, None, idempotency_key)

    def my_contacts(self) -> list[ContactPublic]:
        """The contacts the server thinks this operator still holds (active or in after-call
        work), newest first: after a take whose answer was lost, and at start-up."""
        return self._get_list("/contacts/mine", ContactPublic)

    def close_contact(
        self, contact_id: int, reason: str, *, idempotency_key: str | None = None
    ) -> ContactPublic:
        """Close a contact nobody will finish (no wrap-up), with the reason; 409 when it is
        closed already."""
        return self._post(
            f"/contacts/{contact_id}/close",
            ContactPublic,
            ContactClose(reason=reason),
            idempotency_key,
        )

    def write_at(
        self,
        method: str,
        path: str,
        *,
        occurred_at: datetime,
        json_body: Any = None,
        idempotency_key: str | None = None,
    ) -> httpx.Response:
        """A write the operator made at `occurred_at` (their desk's clock), sent now or
        later: `X-Occurred-At` carries that time and `X-Sent-At` the desk's clock when each
        attempt leaves (stamped by a request hook, so the waits between retries do not
        count), from which the server corrects the desk clock."""
        hooks = self._http.event_hooks
        if _stamp_sent_at not in hooks["request"]:
            hooks["request"] = [*hooks["request"], _stamp_sent_at]
        return self.request(
            method,
            path,
            json_body=json_body,
            idempotency_key=idempotency_key,
            headers={OCCURRED_AT: occurred_at.astimezone(UTC).isoformat()},
        )

    def end_contact(self, contact_id: int) -> ContactPublic:
        return self._post(f"/contacts/{contact_id}/end", ContactPublic)

    def wrap_up(
        self, contact_id: int, data: ContactWrapUp, *, idempotency_key: str | None = None
    ) -> ContactPublic:
        return self._post(f"/contacts/{contact_id}/wrapup", ContactPublic, data, idempotency_key)

    def save_contact(
        self,
        contact_id: int,
        data: ContactSave,
        *,
        occurred_at: datetime | None = None,
        idempotency_key: str | None = None,
    ) -> ContactPublic:
        """A card's save in one request: end (at `data.ended_at`) and wrap up. With
        `occurred_at` it is sent as a desk write (`X-Occurred-At`, see `write_at`)."""
        path, body = self.save_contact_request(contact_id, data)
        if occurred_at is None:
            response = self.request("POST", path, json_body=body, idempotency_key=idempotency_key)
        else:
            response = self.write_at(
                "POST",
                path,
                occurred_at=occurred_at,
                json_body=body,
                idempotency_key=idempotency_key,
            )
        return ContactPublic.model_validate(response.json())

    @staticmethod
    def save_contact_request(contact_id: int | str, data: ContactSave) -> tuple[str, Any]:
        """The path and JSON body of `save_contact` (the console's outbox stores them; a
        `"{contact_id}"` placeholder is filled when the contact's id is known)."""
        return f"/contacts/{contact_id}/save", data.model_dump(mode="json", exclude_none=True)

    # --- appeals ------------------------------------------------------------------------

    def create_appeal(
        self, data: AppealCreate, *, idempotency_key: str | None = None
    ) -> AppealDetail:
        return self._post("/appeals", AppealDetail, data, idempotency_key)

    def appeal(self, appeal_id: int) -> AppealDetail:
        return self._get(f"/appeals/{appeal_id}", AppealDetail)

    def appeals(self, **filters: Any) -> Page[AppealPublic]:
        return self._get("/appeals", Page[AppealPublic], **filters)

    def add_appeal_event(
        self, appeal_id: int, data: AppealEventCreate, *, idempotency_key: str | None = None
    ) -> AppealDetail:
        return self._post(f"/appeals/{appeal_id}/events", AppealDetail, data, idempotency_key)

    # --- callbacks ----------------------------------------------------------------------

    def callbacks(
        self,
        *,
        scope: str = "mine_and_group",
        due_before: datetime | None = None,
    ) -> list[CallbackPublic]:
        return self._get_list(
            "/callbacks",
            CallbackPublic,
            scope=scope,
            due_before=due_before.isoformat() if due_before else None,
        )

    def callback(self, task_id: int) -> CallbackPublic:
        return self._get(f"/callbacks/{task_id}", CallbackPublic)

    def create_callback(
        self, data: CallbackCreate, *, idempotency_key: str | None = None
    ) -> CallbackPublic:
        return self._post("/callbacks", CallbackPublic, data, idempotency_key)

    def record_callback_attempt(
        self, task_id: int, data: CallbackAttempt, *, idempotency_key: str | None = None
    ) -> CallbackPublic:
        return self._post(f"/callbacks/{task_id}/attempts", CallbackPublic, data, idempotency_key)

    # --- knowledge base -----------------------------------------------------------------

    def kb_import(self, data: KbImportRequest) -> KbImportResult:
        response = self.request(
            "POST", "/kb/imports", json_body=data.model_dump(mode="json"), timeout=LONG_TIMEOUT
        )
        return KbImportResult.model_validate(response.json())

    def kb_batches(self, *, limit: int = 50) -> list[KbBatchPublic]:
        return self._get_list("/kb/batches", KbBatchPublic, limit=limit)

    def kb_rollback(self, batch_id: int) -> KbBatchPublic:
        response = self.request("POST", f"/kb/batches/{batch_id}/rollback", timeout=LONG_TIMEOUT)
        return KbBatchPublic.model_validate(response.json())

    def kb_article(self, article_id: str) -> KbArticlePublic:
        return self._get(f"/kb/articles/{article_id}", KbArticlePublic)

    def kb_history(self, article_id: str) -> list[KbVersionPublic]:
        return self._get_list(f"/kb/articles/{article_id}/history", KbVersionPublic)

    def kb_changes(self, *, since: int, limit: int = 1000) -> KbChanges:
        return self._get("/kb/changes", KbChanges, since=since, limit=limit)

    def kb_feed(self, *, since: int, limit: int = 1000) -> kb_feed.FeedPage:
        """The change feed in its compact form (xz NDJSON; ~25 % fewer bytes than gzip'd
        JSON): what the console's first sync downloads."""
        response = self.request("GET", "/kb/feed", params={"since": since, "limit": limit})
        return kb_feed.decode(response.content)

    def kb_export(self) -> list[KbArticlePublic]:
        response = self.request("GET", "/kb/export", timeout=LONG_TIMEOUT)
        return [
            KbArticlePublic.model_validate_json(line)
            for line in response.text.splitlines()
            if line.strip()
        ]

    def kb_search(
        self, query: str, *, limit: int = 10, prefix: bool = False, **filters: str | None
    ) -> list[KbSearchHit]:
        return self._get_list(
            "/kb/search", KbSearchHit, q=query, limit=limit, prefix=str(prefix).lower(), **filters
        )

    def kb_similar(self, text: str, *, limit: int = 5) -> list[KbSearchHit]:
        response = self.request("POST", "/kb/similar", json_body={"text": text, "limit": limit})
        return TypeAdapter(list[KbSearchHit]).validate_python(response.json())

    def kb_reindex(self) -> int:
        response = self.request("POST", "/kb/reindex", timeout=LONG_TIMEOUT)
        return int(response.json()["articles"])
