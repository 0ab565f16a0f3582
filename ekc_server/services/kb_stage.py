"""Staged knowledge-base imports: a big file travels in chunks, nothing is published until
one commit publishes them all in one transaction.

`open_stage` makes a batch with status `staging`; `append` resolves and checks a chunk
(references by code or name, duplicates within the chunk and against what is staged) and
stores it in `kb_import_stage`; `commit` with `dry_run` answers the difference, without it
publishes the batch (`services.kb_publish.publish`) and drops the staged rows; `discard` drops the
batch and its rows. A stage left open (an admin's interrupted import) is dropped when the
next one opens after `STALE_AFTER`. Searches, the change feed and the backend's index see
nothing of a stage.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert
from sqlmodel import Session, col, select

from ekc_core.schemas import (
    KbImportResult,
    KbStageChunk,
    KbStageCommit,
    KbStageOpen,
    KbStagePublic,
)
from ekc_server.deps import Principal
from ekc_server.errors import ConflictError, FieldErrorsError, NotFoundError
from ekc_server.models import KbArticle, KbImportBatch
from ekc_server.models_kb import KbImportStage
from ekc_server.services import kb_publish

#: a stage nobody appended to or committed for this long is dropped by the next `open_stage`
STALE_AFTER = timedelta(hours=24)
#: ids per `IN (...)` when looking for ids staged by earlier chunks
_IN_CHUNK = 500
_STAGE = KbImportStage.__table__  # type: ignore[attr-defined]
#: staged articles read and published per page
PAGE = 2000


def _drop(session: Session, batch_ids: list[int]) -> None:
    if batch_ids:
        session.execute(delete(_STAGE).where(_STAGE.c.batch_id.in_(batch_ids)))
        session.execute(delete(KbImportBatch).where(col(KbImportBatch.id).in_(batch_ids)))


def open_stage(*, session: Session, principal: Principal, request: KbStageOpen) -> KbStagePublic:
    now = datetime.now(UTC)
    stale = session.exec(
        select(KbImportBatch.id).where(
            KbImportBatch.status == "staging", col(KbImportBatch.created_at) < now - STALE_AFTER
        )
    ).all()
    _drop(session, [i for i in stale if i is not None])
    batch = KbImportBatch(
        source_name=request.source_name,
        status="staging",
        created_by_id=principal.staff_id,
        created_at=now,
    )
    session.add(batch)
    session.commit()
    assert batch.id is not None
    return KbStagePublic(batch_id=batch.id, staged=0)


def _staging(session: Session, batch_id: int) -> KbImportBatch:
    batch = session.get(KbImportBatch, batch_id)
    if batch is None:
        raise NotFoundError(f"пакет {batch_id} не найден")
    if batch.status != "staging":
        raise ConflictError(f"пакет {batch_id} уже не собирается (статус {batch.status})")
    return batch


def _staged(session: Session, batch_id: int) -> int:
    return int(
        session.exec(
            select(func.count()).select_from(_STAGE).where(_STAGE.c.batch_id == batch_id)
        ).one()
    )


def append(*, session: Session, batch_id: int, request: KbStageChunk) -> KbStagePublic:
    """Stage one chunk. 422 names each refused article by its index in this chunk; 409 when
    `offset` is not the number of articles staged so far (a chunk lost or sent twice)."""
    kb_publish.lock_feed(session)  # appends and commits of one import never interleave
    _staging(session, batch_id)
    staged = _staged(session, batch_id)
    if request.offset != staged:
        raise ConflictError(
            f"пакет {batch_id}: ожидалась часть с позиции {staged}, а пришла с {request.offset}"
        )
    ids = [a.id for a in request.articles]
    earlier: dict[str, int] = {}
    for start in range(0, len(ids), _IN_CHUNK):
        found = session.execute(
            select(_STAGE.c.article_id, _STAGE.c.position).where(
                _STAGE.c.batch_id == batch_id,
                _STAGE.c.article_id.in_(ids[start : start + _IN_CHUNK]),
            )
        )
        earlier.update({r.article_id: r.position for r in found})
    problems: list[tuple[list[str | int], str]] = [
        (
            ["articles", i, "id"],
            f"«{article_id}» уже есть в этом пакете (статья {earlier[article_id] + 1})",
        )
        for i, article_id in enumerate(ids)
        if article_id in earlier
    ]
    try:
        contents = kb_publish.resolve_articles(session, request.articles)
    except FieldErrorsError as exc:  # one report: these and the ones found above
        problems.extend(exc.problems)
    if problems:
        problems.sort(key=lambda p: int(p[0][1]))
        raise FieldErrorsError(problems)
    rows: list[dict[str, Any]] = [
        {
            "batch_id": batch_id,
            "position": staged + i,
            "article_id": c["id"],
            **{f: c[f] for f in kb_publish.CONTENT_FIELDS},
        }
        for i, c in enumerate(contents)
    ]
    if rows:
        session.connection().execute(insert(_STAGE), rows)
    session.commit()
    return KbStagePublic(batch_id=batch_id, staged=staged + len(rows))


def _pages(session: Session, batch_id: int) -> Iterator[list[dict[str, Any]]]:
    """The staged contents in file order, a page of `PAGE` at a time (keyed by position)."""
    columns = [_STAGE.c.position, _STAGE.c.article_id]
    columns += [_STAGE.c[f] for f in kb_publish.CONTENT_FIELDS]
    fields = kb_publish.CONTENT_FIELDS
    after = -1
    while True:
        rows = session.execute(
            select(*columns)
            .where(_STAGE.c.batch_id == batch_id, _STAGE.c.position > after)
            .order_by(_STAGE.c.position)
            .limit(PAGE)
        ).all()
        if not rows:
            return
        yield [{"id": r.article_id, **{f: r._mapping[f] for f in fields}} for r in rows]
        after = rows[-1].position


def _unstaged_live(session: Session, batch_id: int) -> list[str]:
    """Live articles the stage does not have (what `sync` removes), in id order."""
    a = KbArticle.__table__.c  # type: ignore[attr-defined]
    staged = select(_STAGE.c.article_id).where(_STAGE.c.batch_id == batch_id)
    rows = session.execute(
        select(a.id).where(a.deleted.is_(False), a.id.not_in(staged)).order_by(a.id)
    )
    return [r.id for r in rows]


def commit(
    *, session: Session, principal: Principal, batch_id: int, request: KbStageCommit
) -> KbImportResult:
    """`dry_run`: the difference, the stage stays open. Otherwise publish every staged
    article as this batch in one transaction (all or nothing) and drop the stage. Staged
    articles are read and written a page at a time (`kb_publish.BatchWriter`)."""
    if not request.dry_run:
        kb_publish.lock_feed(session)
    batch = _staging(session, batch_id)
    pages = _pages(session, batch_id)
    unlisted = (lambda: _unstaged_live(session, batch_id)) if request.sync else None
    if request.dry_run:
        diff = kb_publish.BatchWriter(session).run(pages, unlisted)
        return KbImportResult(batch_id=batch_id, dry_run=True, diff=diff)
    # the batch row is written first: on SQLite this takes the database lock before we read
    batch.created_at = datetime.now(UTC)
    session.add(batch)
    session.flush()
    if not _staged(session, batch_id):
        raise ConflictError(f"пакет {batch_id}: нет ни одной статьи")
    writer = kb_publish.BatchWriter(session, batch=batch, staff_id=principal.staff_id)
    diff = writer.run(pages, unlisted)
    session.execute(delete(_STAGE).where(_STAGE.c.batch_id == batch_id))
    session.commit()
    return KbImportResult(batch_id=batch_id, dry_run=False, diff=diff)


def discard(*, session: Session, batch_id: int) -> None:
    """Drop a stage and everything staged in it (nothing of it was ever published)."""
    kb_publish.lock_feed(session)
    _staging(session, batch_id)
    _drop(session, [batch_id])
    session.commit()
