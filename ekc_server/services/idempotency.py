"""`Idempotency-Key`: a retried write returns the first result and creates nothing."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from ekc_server.deps import Principal
from ekc_server.errors import ConflictError
from ekc_server.models import IdempotencyRecord


def request_hash(payload: BaseModel) -> str:
    text = json.dumps(payload.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


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
