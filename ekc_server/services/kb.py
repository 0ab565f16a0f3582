"""Knowledge base: imports as batches (diff, publish in one transaction, rollback), version
history, the change feed consoles sync from, export."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, func, insert, text, update
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from ekc_core.kb_refs import Catalogue, agencies_catalogue, topics_catalogue
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
from ekc_server.errors import ConflictError, FieldErrorsError, NotFoundError
from ekc_server.models import Agency, KbArticle, KbArticleVersion, KbImportBatch, Staff, Topic
from ekc_server.services.reference import code_maps
from kb_index import AUDIENCES

#: PostgreSQL advisory lock key that serialises writers of the change feed
_FEED_LOCK = 1_220_001
CONTENT_FIELDS = ("title", "body", "topic_id", "agency_id", "tags", "audience")


#: ids by topic code, ids by agency code, the topic and agency catalogues
Refs = tuple[dict[str, int], dict[str, int], Catalogue, Catalogue]


def _codes(session: Session) -> Refs:
    """Ids by code, and the catalogues that read a code or a name (with near-name hints)."""
    topic_rows = session.exec(select(Topic)).all()
    agency_rows = session.exec(select(Agency)).all()
    topics = {t.code: t.id for t in topic_rows if t.id is not None}
    agencies = {a.code: a.id for a in agency_rows if a.id is not None}
    return topics, agencies, topics_catalogue(topic_rows), agencies_catalogue(agency_rows)


def article_public(
    row: KbArticle, topics: dict[int | None, str], agencies: dict[int | None, str]
) -> KbArticlePublic:
    return KbArticlePublic(
        id=row.id,
        title=row.title,
        body=row.body,
        topic=topics.get(row.topic_id) if row.topic_id else None,
        agency=agencies.get(row.agency_id) if row.agency_id else None,
        tags=list(row.tags or []),
        audience=row.audience,
        version=row.version,
        seq=row.seq,
        updated_at=row.updated_at,
    )


def resolve_articles(
    session: Session, articles: list[KbArticleIn], *, catalogues: Refs | None = None
) -> list[dict[str, Any]]:
    """Article contents with topic/agency ids; a topic or agency may be given by code or by
    name; every unknown one (with the nearest known names) or duplicate id reported (the
    `articles` index of each problem is its place in `articles`)."""
    topic_ids, agency_ids, topic_names, agency_names = catalogues or _codes(session)
    problems: list[tuple[list[str | int], str]] = []
    seen: dict[str, int] = {}
    resolved = []
    for i, a in enumerate(articles):
        if a.id in seen:
            problems.append(
                (
                    ["articles", i, "id"],
                    f"«{a.id}» уже есть в этом пакете (статья {seen[a.id] + 1})",
                )
            )
        seen.setdefault(a.id, i)
        topic = topic_names.resolve(a.topic) if a.topic else None
        agency = agency_names.resolve(a.agency) if a.agency else None
        if a.topic and topic is None:
            problems.append((["articles", i, "topic"], topic_names.unknown(a.topic)))
        if a.agency and agency is None:
            problems.append((["articles", i, "agency"], agency_names.unknown(a.agency)))
        if a.audience and a.audience not in AUDIENCES:
            problems.append(
                (["articles", i, "audience"], f"«{a.audience}»: допустимо {', '.join(AUDIENCES)}")
            )
        resolved.append(
            {
                "id": a.id,
                "title": a.title.strip(),
                "body": a.body.strip(),
                "topic_id": topic_ids.get(topic) if topic else None,
                "agency_id": agency_ids.get(agency) if agency else None,
                "tags": [t.strip() for t in a.tags if t.strip()],
                "audience": a.audience or None,
            }
        )
    if problems:
        raise FieldErrorsError(problems)
    return resolved


_ARTICLES = KbArticle.__table__  # type: ignore[attr-defined]
_VERSIONS = KbArticleVersion.__table__  # type: ignore[attr-defined]
_CURRENT_COLUMNS = ("id", "version", "deleted", *CONTENT_FIELDS)


def _current(session: Session) -> dict[str, dict[str, Any]]:
    """Every article's id, version, deletion mark and content (plain rows, not ORM objects:
    50,000 of them load in a fraction of the time)."""
    rows = session.execute(select(*(_ARTICLES.c[c] for c in _CURRENT_COLUMNS)))
    return {r.id: dict(r._mapping) for r in rows}


def _same(row: dict[str, Any], content: dict[str, Any]) -> bool:
    return not row["deleted"] and all(
        (row[f] or None) == (content[f] or None) for f in CONTENT_FIELDS
    )


def _diff_of(
    current: dict[str, dict[str, Any]], contents: list[dict[str, Any]], sync: bool
) -> KbDiff:
    added, changed, unchanged = [], [], 0
    for content in contents:
        row = current.get(content["id"])
        if row is None or row["deleted"]:
            added.append(content["id"])
        elif _same(row, content):
            unchanged += 1
        else:
            changed.append(content["id"])
    wanted = {c["id"] for c in contents}
    removed = (
        sorted(i for i, a in current.items() if not a["deleted"] and i not in wanted)
        if sync
        else []
    )
    return KbDiff(added=added, changed=changed, unchanged=unchanged, removed=removed)


def diff_contents(session: Session, contents: list[dict[str, Any]], sync: bool) -> KbDiff:
    return _diff_of(_current(session), contents, sync)


def lock_feed(session: Session) -> None:
    """Serialise writers of the feed so sequence numbers are unique and gap-free."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _FEED_LOCK})


def max_seq(session: Session) -> int:
    return int(session.exec(select(func.coalesce(func.max(KbArticle.seq), 0))).one())


def _version_values(
    values: dict[str, Any], change: str, batch_id: int | None, staff_id: int | None, now: datetime
) -> dict[str, Any]:
    return {
        "article_id": values["id"],
        "version": values["version"],
        "change": change,
        **{f: values[f] for f in CONTENT_FIELDS},
        "batch_id": batch_id,
        "changed_by_id": staff_id,
        "changed_at": now,
    }


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


#: rows per executemany: bounded memory of the driver's parameter lists
_BULK = 2000


def _bulk(session: Session, statement: Any, rows: list[dict[str, Any]]) -> None:
    connection = session.connection()
    for start in range(0, len(rows), _BULK):
        connection.execute(statement, rows[start : start + _BULK])


def publish(
    session: Session,
    *,
    batch: KbImportBatch,
    contents: list[dict[str, Any]],
    sync: bool,
    staff_id: int | None,
) -> KbDiff:
    """Write `contents` as `batch` (added, changed and with `sync` removed articles, one
    version row each, feed positions in file order) inside the caller's transaction; the
    caller holds the feed lock and commits."""
    now = datetime.now(UTC)
    current = _current(session)
    diff = _diff_of(current, contents, sync)
    seq = max_seq(session)
    by_id = {c["id"]: c for c in contents}
    fresh: list[dict[str, Any]] = []
    updated: list[dict[str, Any]] = []
    versions: list[dict[str, Any]] = []
    for article_id in [*diff.added, *diff.changed]:
        seq += 1
        old = current.get(article_id)
        values = {
            **{f: by_id[article_id][f] for f in CONTENT_FIELDS},
            "id": article_id,
            "version": old["version"] + 1 if old else 1,
            "deleted": False,
            "seq": seq,
            "updated_at": now,
        }
        change = "updated" if old and not old["deleted"] else "created"
        (updated if old else fresh).append(values)
        versions.append(_version_values(values, change, batch.id, staff_id, now))
    for article_id in diff.removed:
        seq += 1
        values = {**current[article_id], "deleted": True, "seq": seq, "updated_at": now}
        values["version"] += 1
        updated.append(values)
        versions.append(_version_values(values, "deleted", batch.id, staff_id, now))
    _bulk(session, insert(_ARTICLES), fresh)
    if updated:
        names = [*CONTENT_FIELDS, "version", "deleted", "seq", "updated_at"]
        statement = (
            update(_ARTICLES)
            .where(_ARTICLES.c.id == bindparam("b_id"))
            .values({n: bindparam(f"b_{n}") for n in names})
        )
        _bulk(
            session,
            statement,
            [{f"b_{n}": v[n] for n in ("id", *names)} for v in updated],
        )
    _bulk(session, insert(_VERSIONS), versions)
    batch.status = "published"
    batch.added, batch.changed, batch.removed = (
        len(diff.added),
        len(diff.changed),
        len(diff.removed),
    )
    session.add(batch)
    return diff


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


def export(*, session: Session) -> Iterator[KbArticlePublic]:
    """Every live article by id. Plain rows into trusted models (no ORM objects, no
    validation): the backend's index rebuild reads 50,000 of them through here."""
    topics, agencies = code_maps(session=session)
    t = _ARTICLES.c
    rows = session.execute(
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
    for r in rows:
        yield KbArticlePublic.model_construct(
            id=r.id,
            title=r.title,
            body=r.body,
            topic=topics.get(r.topic_id) if r.topic_id else None,
            agency=agencies.get(r.agency_id) if r.agency_id else None,
            tags=list(r.tags or []),
            audience=r.audience,
            version=r.version,
            seq=r.seq,
            updated_at=r.updated_at,
        )


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
