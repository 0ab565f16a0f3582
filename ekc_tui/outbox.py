"""The durable outbox: the operator's writes, stored first and sent when the backend answers.

An item is one unit of work (e.g. "save the card": create the citizen, register the appeal,
schedule the callback, wrap up the contact) as ordered steps. Each step is an HTTP write with
an idempotency key derived from the item's key and the step's name, so a step that reached
the server before a crash is answered from the server's idempotency record when it is sent
again: nothing is lost and nothing is duplicated. A step's answer is stored as soon as it
arrives; later steps refer to earlier answers (`refs`), also across items.

A step is a dict: `{"name", "method", "path", "body", "refs"}`, where `refs` maps a dotted
path in the body (or `path:<placeholder>` for the URL) to a reference `step.field` of the
same item or `<item key>/step.field` of an earlier one. `occurred_at` (ISO 8601, UTC) is when
the operator did it at the desk: sent as `X-Occurred-At`, with `X-Sent-At` per attempt, so
the server stores the time of the work, not the time the link came back (an item stored
before steps had it falls back to the item's creation time). `done_on_conflict` marks a step
whose 409 means "nothing left to do" (closing a contact already closed).
"""

from __future__ import annotations

import copy
import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ekc_core.client import EkcClient
from ekc_core.errors import (
    ApiError,
    AuthenticationRequiredError,
    ConflictError,
    ServerError,
    ServerUnreachableError,
    ValidationFailedError,
)
from ekc_tui.store import LocalStore, OutboxItem

log = logging.getLogger("ekc_tui.outbox")


class MissingReferenceError(Exception):
    """A step needs the answer of a step that has not been sent (or failed)."""


def new_key() -> str:
    return uuid.uuid4().hex


def step(
    name: str,
    path: str,
    body: dict[str, Any] | None = None,
    *,
    refs: dict[str, str] | None = None,
    method: str = "POST",
    occurred_at: datetime | None = None,
    done_on_conflict: bool = False,
) -> dict[str, Any]:
    st: dict[str, Any] = {
        "name": name,
        "method": method,
        "path": path,
        "body": body,
        "refs": refs or {},
    }
    if occurred_at is not None:
        st["occurred_at"] = occurred_at.astimezone(UTC).isoformat()
    if done_on_conflict:
        st["done_on_conflict"] = True
    return st


def occurred_at(item: OutboxItem, st: dict[str, Any]) -> datetime:
    """When the operator did this step (the item's creation for items stored before steps
    carried their own time)."""
    stamp = st.get("occurred_at")
    if stamp:
        return datetime.fromisoformat(stamp)
    return datetime.fromtimestamp(item.created_at, UTC)


@dataclass
class FlushResult:
    sent: int = 0
    failed: int = 0
    offline: bool = False
    """Stopped because the backend did not answer (items stay pending)."""
    auth_needed: bool = False
    errors: list[str] = field(default_factory=list)
    appeals: list[str] = field(default_factory=list)
    """Numbers of the appeals registered by the items sent (to tell the operator)."""


def _lookup(store: LocalStore, item: OutboxItem, ref: str) -> Any:
    if "/" in ref:
        key, _, local = ref.partition("/")
        other = store.item(key)
        results = other.results if other else {}
    else:
        local, results = ref, item.results
    step_name, _, attr = local.partition(".")
    if step_name not in results:
        raise MissingReferenceError(f"нет ответа на шаг «{step_name}»")
    value = results[step_name]
    for part in attr.split(".") if attr else []:
        if not isinstance(value, dict) or part not in value:
            # a KeyError here would escape flush() and stop the queue at this item for good
            raise MissingReferenceError(f"в ответе на шаг «{step_name}» нет поля «{attr}»")
        value = value[part]
    return value


def resolve(store: LocalStore, item: OutboxItem, st: dict[str, Any]) -> tuple[str, Any]:
    """The step's URL path and body with references filled in."""
    path: str = st["path"]
    # a deep copy: filling a nested target must not change the stored step itself
    body = copy.deepcopy(st["body"]) if st.get("body") is not None else None
    for target, ref in (st.get("refs") or {}).items():
        value = _lookup(store, item, ref)
        if target.startswith("path:"):
            path = path.replace("{" + target[5:] + "}", str(value))
            continue
        if body is None:
            body = {}
        node = body
        *parents, leaf = target.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return path, body


def resolve_path(store: LocalStore, item: OutboxItem, st: dict[str, Any]) -> str:
    """The step's URL path with its `path:` references filled in (the body's may still be
    unanswered: e.g. which contact a save works on, before its appeal is registered)."""
    path: str = st["path"]
    for target, ref in (st.get("refs") or {}).items():
        if target.startswith("path:"):
            path = path.replace("{" + target[5:] + "}", str(_lookup(store, item, ref)))
    return path


def send_item(client: EkcClient, store: LocalStore, item: OutboxItem) -> None:
    """Send the item's remaining steps in order, storing each answer as it arrives."""
    for st in item.steps:
        name = st["name"]
        if name in item.results:
            continue
        path, body = resolve(store, item, st)
        try:
            response = client.write_at(
                st.get("method", "POST"),
                path,
                occurred_at=occurred_at(item, st),
                json_body=body,
                idempotency_key=f"{item.key}-{name}",
            )
        except ConflictError:
            if not st.get("done_on_conflict"):
                raise
            result: Any = None
        else:
            result = response.json() if response.content else None
        store.record_step(item.id, name, result)
        item.results[name] = result


def flush(client: EkcClient, store: LocalStore, *, limit: int | None = None) -> FlushResult:
    """Send pending items oldest first; stop at the first sign that the backend is away."""
    outcome = FlushResult()
    for item in store.outbox()[:limit]:
        try:
            send_item(client, store, item)
        except (ServerUnreachableError, ServerError) as exc:
            store.note_attempt(item.id, str(exc))
            outcome.offline = True
            break
        except AuthenticationRequiredError as exc:
            store.note_attempt(item.id, str(exc))
            outcome.auth_needed = True
            break
        except (ApiError, MissingReferenceError) as exc:
            # the server refused it for good (or it depends on something refused): keep it,
            # marked, for the operator to look at; later items go on
            log.warning("outbox item %s refused: %s", item.key, exc)
            store.finish(item.id, state="failed", error=str(exc), problems=problems(item, exc))
            outcome.failed += 1
            outcome.errors.append(f"{item.title}: {exc}")
        else:
            store.finish(item.id, state="sent")
            outcome.sent += 1
            appeal = item.results.get("appeal")
            if isinstance(appeal, dict) and appeal.get("number"):
                outcome.appeals.append(str(appeal["number"]))
    return outcome


def problems(item: OutboxItem, exc: Exception) -> list[dict[str, str]]:
    """The refusal field by field, with the step it came from (the first unanswered one):
    what the console needs to show the reason next to the field when the card reopens."""
    failed = next((st["name"] for st in item.steps if st["name"] not in item.results), "")
    if isinstance(exc, ValidationFailedError) and exc.problems:
        return [{"step": failed, "field": p.field, "message": p.message} for p in exc.problems]
    message = exc.message if isinstance(exc, ApiError) else str(exc)
    return [{"step": failed, "field": "", "message": message}]
