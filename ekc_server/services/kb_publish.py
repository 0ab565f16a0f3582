"""Publishing knowledge-base articles: references resolved (code or name, with hints), the
difference against the database, and a batch written with bulk statements (articles,
versions, change-feed positions) inside the caller's transaction. Used by the one-request
import (`services.kb.import_articles`) and the staged one (`services.kb_stage`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, insert, text, update
from sqlalchemy import select as core_select
from sqlmodel import Session, func, select

from ekc_core.kb_refs import Catalogue, agencies_catalogue, topics_catalogue
from ekc_core.schemas import KbArticleIn, KbDiff
from ekc_server.errors import FieldErrorsError
from ekc_server.models import Agency, KbArticle, KbArticleVersion, KbImportBatch, Topic
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
    rows = session.execute(core_select(*(_ARTICLES.c[c] for c in _CURRENT_COLUMNS)))
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
