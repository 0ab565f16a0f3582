"""Knowledge base: imports as batches (diff, publish in one transaction, rollback), version
history, the change feed consoles sync from, export."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Row
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from ekc_core.schemas import (
    KbArticleIn,
    KbArticlePublic,
    KbBatchPublic,
    KbChanges,
    KbDiff,
    KbImportRequest,
    KbImportResult,
    KbVersionPublic,
)
from ekc_server.deps import Principal
from ekc_server.errors import ConflictError, NotFoundError
from ekc_server.models import KbArticle, KbArticleVersion, KbImportBatch, Staff
from ekc_server.services.kb_publish import CONTENT_FIELDS, publish
from ekc_server.services.kb_publish import diff_contents as diff_contents
from ekc_server.services.kb_publish import lock_feed as lock_feed
from ekc_server.services.kb_publish import max_seq as max_seq
from ekc_server.services.kb_publish import resolve_articles as resolve_articles
from ekc_server.services.reference import code_maps
from kb_index import AUDIENCES


def article_public(
    row: KbArticle | Row[Any],
    topics: dict[int | None, str],
    agencies: dict[int | None, str],
    *,
    trusted: bool = False,
) -> KbArticlePublic:
    """An article as the API shows it, from an ORM row or a plain row of the same columns;
    `trusted`: built without validation (the export of 50,000 rows from the database)."""
    values: dict[str, Any] = {
        "id": row.id,
        "title": row.title,
        "body": row.body,
        "topic": topics.get(row.topic_id) if row.topic_id else None,
        "agency": agencies.get(row.agency_id) if row.agency_id else None,
        "tags": list(row.tags or []),
        "audience": row.audience,
        "version": row.version,
        "seq": row.seq,
        "updated_at": row.updated_at,
    }
    return KbArticlePublic.model_construct(**values) if trusted else KbArticlePublic(**values)


def _write_version(
    session: Session,
    row: KbArticle,
    change: str,
    batch_id: int | None,
    staff_id: int | None,
    now: datetime,
) -> None:
    session.add(
        KbArticleVersion(
            article_id=row.id,
            version=row.version,
            change=change,
            title=row.title,
            body=row.body,
            topic_id=row.topic_id,
            agency_id=row.agency_id,
            tags=list(row.tags or []),
            audience=row.audience,
            batch_id=batch_id,
            changed_by_id=staff_id,
            changed_at=now,
        )
    )


def import_articles(
    *, session: Session, principal: Principal | None, request: KbImportRequest
) -> KbImportResult:
    """Dry run: the difference only. Otherwise publish it as one batch, one transaction."""
    contents = resolve_articles(session, request.articles)
    if request.dry_run:
        return KbImportResult(
            batch_id=None, dry_run=True, diff=diff_contents(session, contents, request.sync)
        )
    staff_id = principal.staff_id if principal else None
    lock_feed(session)
    batch = KbImportBatch(
        source_name=request.source_name,
        status="published",
        created_by_id=staff_id,
        created_at=datetime.now(UTC),
    )
    session.add(batch)
    session.flush()  # on SQLite this write takes the database lock before we read
    diff = publish(session, batch=batch, contents=contents, sync=request.sync, staff_id=staff_id)
    session.commit()
    return KbImportResult(batch_id=batch.id, dry_run=False, diff=diff)


def rollback(*, session: Session, principal: Principal, batch_id: int) -> KbBatchPublic:
    """Restore the versions a batch replaced (its new articles are removed). Refused with
    409 when a later change touched the same articles; roll that back first."""
    lock_feed(session)
    batch = session.get(KbImportBatch, batch_id)
    if batch is None:
        raise NotFoundError(f"пакет {batch_id} не найден")
    if batch.status != "published":
        raise ConflictError(
            f"пакет {batch_id} уже откатан"
            if batch.status == "rolled_back"
            else f"пакет {batch_id} нельзя откатить (статус {batch.status})"
        )
    now = datetime.now(UTC)
    undo = KbImportBatch(
        source_name=f"откат пакета {batch_id}",
        status="rollback",
        created_by_id=principal.staff_id,
        created_at=now,
    )
    session.add(undo)
    session.flush()
    versions = session.exec(
        select(KbArticleVersion).where(KbArticleVersion.batch_id == batch_id)
    ).all()
    later = []
    for v in versions:
        row = session.get(KbArticle, v.article_id)
        if row is None or row.version != v.version:
            later.append(v.article_id)
    if later:
        session.rollback()
        raise ConflictError(
            "статьи изменены после этого пакета: "
            + ", ".join(sorted(later)[:10])
            + ("…" if len(later) > 10 else "")
            + "; сначала откатите более поздние пакеты"
        )
    seq = max_seq(session)
    restored = removed = 0
    for v in versions:
        row = session.get(KbArticle, v.article_id)
        assert row is not None
        previous = session.exec(
            select(KbArticleVersion).where(
                KbArticleVersion.article_id == v.article_id,
                KbArticleVersion.version == v.version - 1,
            )
        ).first()
        if previous is None or previous.change == "deleted":
            row.deleted = True
            change = "deleted"
            removed += 1
        else:
            row.sqlmodel_update({f: getattr(previous, f) for f in CONTENT_FIELDS})
            row.deleted = False
            change = "restored"
            restored += 1
        row.version += 1
        seq += 1
        row.seq = seq
        row.updated_at = now
        session.add(row)
        _write_version(session, row, change, undo.id, principal.staff_id, now)
    batch.status = "rolled_back"
    batch.rolled_back_at = now
    undo.changed, undo.removed = restored, removed
    session.add(batch)
    session.add(undo)
    session.commit()
    return _batch_public(batch, _staff_names(session))


def _staff_names(session: Session) -> dict[int | None, str]:
    return {s.id: s.username for s in session.exec(select(Staff)).all()}


def _batch_public(batch: KbImportBatch, names: dict[int | None, str]) -> KbBatchPublic:
    return KbBatchPublic(
        id=batch.id or 0,
        source_name=batch.source_name,
        status=batch.status,
        created_by=names.get(batch.created_by_id),
        created_at=batch.created_at,
        added=batch.added,
        changed=batch.changed,
        removed=batch.removed,
        rolled_back_at=batch.rolled_back_at,
    )


def list_batches(*, session: Session, limit: int) -> list[KbBatchPublic]:
    names = _staff_names(session)
    rows = session.exec(
        select(KbImportBatch).order_by(col(KbImportBatch.id).desc()).limit(limit)
    ).all()
    return [_batch_public(b, names) for b in rows]


def get_article(*, session: Session, article_id: str) -> KbArticlePublic:
    row = session.get(KbArticle, article_id)
    if row is None or row.deleted:
        raise NotFoundError(f"статья «{article_id}» не найдена")
    topics, agencies = code_maps(session=session)
    return article_public(row, topics, agencies)


def history(*, session: Session, article_id: str) -> list[KbVersionPublic]:
    rows = session.exec(
        select(KbArticleVersion)
        .where(KbArticleVersion.article_id == article_id)
        .order_by(col(KbArticleVersion.version).desc())
    ).all()
    if not rows:
        raise NotFoundError(f"статья «{article_id}» не найдена")
    topics, agencies = code_maps(session=session)
    names = _staff_names(session)
    return [
        KbVersionPublic(
            version=v.version,
            change=v.change,
            title=v.title,
            body=v.body,
            topic=topics.get(v.topic_id) if v.topic_id else None,
            agency=agencies.get(v.agency_id) if v.agency_id else None,
            tags=list(v.tags or []),
            audience=v.audience,
            batch_id=v.batch_id,
            changed_by=names.get(v.changed_by_id),
            changed_at=v.changed_at,
        )
        for v in rows
    ]


def changes(*, session: Session, since: int, limit: int) -> KbChanges:
    """Upserts and deletions after `since`, in feed order (`reset` when `since` is ahead)."""
    top = max_seq(session)
    if since > top:
        return KbChanges(since=since, next_since=0, upserts=[], deletions=[], more=True, reset=True)
    rows = session.exec(
        select(KbArticle)
        .where(col(KbArticle.seq) > since)
        .order_by(col(KbArticle.seq))
        .limit(limit + 1)
    ).all()
    more = len(rows) > limit
    rows = rows[:limit]
    topics, agencies = code_maps(session=session)
    return KbChanges(
        since=since,
        next_since=rows[-1].seq if rows else since,
        upserts=[article_public(r, topics, agencies) for r in rows if not r.deleted],
        deletions=[r.id for r in rows if r.deleted],
        more=more,
    )


def export(
    *, session: Session, after: str | None = None, limit: int | None = None
) -> Iterator[KbArticlePublic]:
    """Every live article by id (with `after`/`limit`: the next page of them). Plain rows
    into trusted models (no ORM objects, no validation): the backend's index rebuild reads
    50,000 of them through here, a page at a time."""
    topics, agencies = code_maps(session=session)
    t = KbArticle.__table__.c  # type: ignore[attr-defined]
    query = (
        core_select(
            t.id,
            t.title,
            t.body,
            t.topic_id,
            t.agency_id,
            t.tags,
            t.audience,
            t.version,
            t.seq,
            t.updated_at,
        )
        .where(t.deleted.is_(False))
        .order_by(t.id)
        .execution_options(yield_per=2000)
    )
    if after is not None:
        query = query.where(t.id > after)
    if limit is not None:
        query = query.limit(limit)
    for r in session.execute(query):
        yield article_public(r, topics, agencies, trusted=True)


def seed_shipped(*, session: Session, data_dir: Path) -> KbDiff:
    """Publish the shipped articles the database has never had, as one batch.

    Articles that exist (or existed: an admin deleted them) are left as the admins made them;
    a newer shipped text reaches them only by an explicit `ekc-admin kb import`. The diff
    reports those as `changed` without writing them."""
    from ekc_core.kb_files import read_path
    from ekc_core.reference_data import ReferenceDataError

    folder = data_dir / "kb" / "articles"
    if not folder.is_dir():
        return KbDiff(added=[], changed=[], unchanged=0, removed=[])
    result = read_path(folder, audiences=AUDIENCES)
    if result.problems:
        raise ReferenceDataError(result.problems)
    request = KbImportRequest(
        source_name="поставка: data/kb/articles",
        articles=[KbArticleIn(**r.to_dict()) for r in result.records],
    )
    known = set(session.exec(select(KbArticle.id)).all())
    diff = diff_contents(session, resolve_articles(session, request.articles), sync=False)
    fresh = [a for a in request.articles if a.id not in known]
    if fresh:
        import_articles(
            session=session, principal=None, request=request.model_copy(update={"articles": fresh})
        )
    return KbDiff(
        added=[a.id for a in fresh],
        changed=list(diff.changed),
        unchanged=diff.unchanged,
        removed=[i for i in diff.added if i in known],
    )
