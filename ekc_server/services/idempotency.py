"""`Idempotency-Key`: a retried write returns the first result and creates nothing."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import delete, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from ekc_server.deps import Principal
from ekc_server.errors import ConflictError
from ekc_server.models import NO_NAME, IdempotencyRecord


def request_hash(payload: BaseModel) -> str:
    text = json.dumps(payload.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


#: how long a key is honoured; a console's outbox retries within hours, offline within days
RETENTION = timedelta(days=30)
#: share of new records whose request also purges expired ones (no scheduler needed)
PURGE_EVERY = 200


def purge_expired(*, session: Session, now: datetime | None = None) -> int:
    """Delete records older than RETENTION; returns how many. Does not commit."""
    cutoff = (now or datetime.now(UTC)) - RETENTION
    result = session.execute(
        delete(IdempotencyRecord).where(col(IdempotencyRecord.created_at) < cutoff)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def run_once(
    *,
    session: Session,
    principal: Principal,
    key: str | None,
    endpoint: str,
    payload: BaseModel,
    action: Callable[[], BaseModel],
    status_code: int = 201,
) -> tuple[int, dict[str, Any]]:
    """Run `action` and commit, or replay the stored response for a key seen before.

    The action must not commit: its writes and the idempotency record are one transaction.
    Returns (status code, JSON body).
    """
    if key is None:
        result = action()
        session.commit()
        return status_code, result.model_dump(mode="json")

    digest = request_hash(payload)
    existing = session.get(IdempotencyRecord, key)
    if existing is not None:
        return _replay(existing, principal=principal, endpoint=endpoint, digest=digest)
    result = action()
    body = result.model_dump(mode="json")
    if secrets.randbelow(PURGE_EVERY) == 0:
        purge_expired(session=session)
    session.add(
        IdempotencyRecord(
            key=key,
            staff_id=principal.staff_id,
            endpoint=endpoint,
            request_hash=digest,
            status_code=status_code,
            response=body,
        )
    )
    try:
        session.commit()
    except IntegrityError:
        # the same key won a race in another process: undo ours, answer with theirs
        session.rollback()
        existing = session.get(IdempotencyRecord, key)
        if existing is None:
            raise
        return _replay(existing, principal=principal, endpoint=endpoint, digest=digest)
    return status_code, body


def check_key(
    *, session: Session, principal: Principal, key: str | None, endpoint: str, payload: BaseModel
) -> bool:
    """For a write that is idempotent by itself (a take): True when `key` was seen for this
    very request before; 409 when it was used for another request."""
    if key is None:
        return False
    existing = session.get(IdempotencyRecord, key)
    if existing is None:
        return False
    _replay(existing, principal=principal, endpoint=endpoint, digest=request_hash(payload))
    return True


def remember_key(
    *,
    session: Session,
    principal: Principal,
    key: str | None,
    endpoint: str,
    payload: BaseModel,
    summary: dict[str, Any],
    status_code: int = 200,
) -> None:
    """Keep `key` (with a short `summary`, no personal data) so that it is never reused for
    another request. Call it only when `check_key` found the key new; a racing retry that
    kept it first is left as it is. Commits."""
    if key is None:
        return
    session.add(
        IdempotencyRecord(
            key=key,
            staff_id=principal.staff_id,
            endpoint=endpoint,
            request_hash=request_hash(payload),
            status_code=status_code,
            response=summary,
        )
    )
    try:
        session.commit()
    except IntegrityError:
        session.rollback()


def _replay(
    record: IdempotencyRecord, *, principal: Principal, endpoint: str, digest: str
) -> tuple[int, dict[str, Any]]:
    if (
        record.staff_id != principal.staff_id
        or record.endpoint != endpoint
        or record.request_hash != digest
    ):
        raise ConflictError(
            "ключ идемпотентности уже использован для другого запроса", field="Idempotency-Key"
        )
    return record.status_code, record.response


#: fields of stored responses that carry a citizen's personal data, and their cleared value
_PERSONAL_FIELDS: dict[str, Any] = {
    "caller_number": None,
    "sender": None,
    "text": None,
    "handoff": None,
    "phone": "",
    "citizen_name": NO_NAME,
}


def scrub_citizen(*, session: Session, citizen_id: int, card: dict[str, Any]) -> None:
    """Anonymisation (152-FZ): no stored response may replay the citizen's personal data.

    The citizen's own card (`POST /citizens`) is replaced by `card` (the anonymised one);
    other responses about the citizen (contacts, callbacks) lose their personal fields.
    """
    response = col(IdempotencyRecord.response)
    records = session.exec(
        select(IdempotencyRecord).where(
            or_(
                (col(IdempotencyRecord.endpoint) == "POST /citizens")
                & (response["id"].as_integer() == citizen_id),
                response["citizen_id"].as_integer() == citizen_id,
            )
        )
    ).all()
    for record in records:
        if record.endpoint == "POST /citizens":
            record.response = card
        else:
            record.response = {
                key: _PERSONAL_FIELDS.get(key, value) for key, value in record.response.items()
            }
        session.add(record)
