"""The one HTTP client of the console and the CLI: httpx, retries with backoff, one place
that maps HTTP failures to `ekc_core.errors`, ETag revalidation of reference data."""

from __future__ import annotations

import email.utils
import json
import random
import socket
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter

from ekc_core import __version__
from ekc_core.client_rosters import RosterApi
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


class EkcClient(RosterApi):
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
    ) -> None:
        self.settings = settings or ClientSettings()
        self.base_url = base_url.rstrip("/")
        self.token = token
        self._etags: dict[str, _Cached] = {}
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
            transport=transport,
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
    ) -> httpx.Response:
        """Send one request (with retries when safe) and return a 2xx/304 response."""
        send_headers = dict(headers or {})
        if auth and self.token:
            send_headers["Authorization"] = f"Bearer {self.token}"
        if idempotency_key:
            send_headers["Idempotency-Key"] = idempotency_key
        safe = method == "GET" or idempotency_key is not None
        attempts = 1 + (self.settings.retries if safe else 0)
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
                if last:
                    raise ServerUnreachableError(
                        f"сервер {self.base_url} не ответил вовремя"
                    ) from exc
            except httpx.TransportError as exc:
                if last:
                    raise ServerUnreachableError(
                        f"нет связи с сервером {self.base_url}: {exc}"
                    ) from exc
            else:
                if response.status_code not in _RETRY_STATUS or last:
                    return self._check(response, attempts=attempt + 1)
                # a busy server says when to come back: wait that (bounded), not less
                wait = _retry_after(response)
                if wait is not None:
                    time.sleep(wait + random.random() / 2)
                    continue
            time.sleep(min(8.0, 0.5 * 2**attempt) * (0.5 + random.random() / 2))
        raise AssertionError("unreachable")  # pragma: no cover

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

    def _cached_list(self, path: str, model: type[M]) -> list[M]:
        """GET with If-None-Match: a 304 reuses the body already held."""
        cached = self._etags.get(path)
        headers = {"If-None-Match": cached.etag} if cached else None
        response = self.request("GET", path, headers=headers)
        if response.status_code == 304 and cached is not None:
            body = cached.body
        else:
            body = response.json()
            etag = response.headers.get("etag")
            if etag:
                self._etags[path] = _Cached(etag=etag, body=body)
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

    def topics(self) -> list[TopicPublic]:
        return self._cached_list("/topics", TopicPublic)

    def agencies(self) -> list[AgencyPublic]:
        return self._cached_list("/agencies", AgencyPublic)

    def offices(self) -> list[OfficePublic]:
        return self._cached_list("/offices", OfficePublic)

    def deadline_rules(self) -> list[DeadlineRulePublic]:
        return self._cached_list("/deadline-rules", DeadlineRulePublic)

    # --- citizens -----------------------------------------------------------------------

    def find_citizens(
        self, *, phone: str | None = None, name: str | None = None, limit: int = 20
    ) -> list[CitizenListItem]:
        return self._get_list("/citizens", CitizenListItem, phone=phone, name=name, limit=limit)

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

    def history(self, citizen_id: int, *, offset: int = 0, limit: int = 30) -> CitizenHistory:
        return self._get(
            f"/citizens/{citizen_id}/history", CitizenHistory, offset=offset, limit=limit
        )

    # --- contacts -----------------------------------------------------------------------

    def post_contact(self, data: ContactInbound) -> ContactPublic:
        return self._post("/contacts", ContactPublic, data)

    def queue(self, *, limit: int = 50) -> list[ContactPublic]:
        return self._get_list("/contacts/queue", ContactPublic, limit=limit)

    def offers(
        self, *, version: str | None = None, wait: float = 25.0, limit: int = 20
    ) -> ContactOffers:
        """Long poll of the queue: returns at once when it differs from `version`, else
        when it changes or after `wait` seconds (the read timeout covers the wait)."""
        response = self.request(
            "GET",
            "/contacts/offers",
            params={"version": version, "wait": wait, "limit": limit},
            timeout=wait + self.settings.read_timeout,
        )
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
