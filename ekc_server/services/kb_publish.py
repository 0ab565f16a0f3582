"""Publishing knowledge-base articles: references resolved (code or name, with hints), the
difference against the database, and a batch written with bulk statements (articles,
versions, change-feed positions) inside the caller's transaction. Used by the one-request
import (`services.kb.import_articles`) and the staged one (`services.kb_stage`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
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


def _current_of(session: Session, ids: list[str]) -> dict[str, dict[str, Any]]:
    """Id, version, deletion mark and content of the articles `ids` that exist (plain rows,
    not ORM objects), read in pages of `_BULK` ids."""
    columns = [_ARTICLES.c[c] for c in _CURRENT_COLUMNS]
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), _BULK):
        page = ids[start : start + _BULK]
        rows = session.execute(core_select(*columns).where(_ARTICLES.c.id.in_(page)))
        found.update({r.id: dict(r._mapping) for r in rows})
    return found


def live_ids(session: Session) -> list[str]:
    """The ids of every article not deleted, in order."""
    rows = session.execute(
        core_select(_ARTICLES.c.id).where(_ARTICLES.c.deleted.is_(False)).order_by(_ARTICLES.c.id)
    )
    return [r.id for r in rows]


def _same(row: dict[str, Any], content: dict[str, Any]) -> bool:
    return not row["deleted"] and all(
        (row[f] or None) == (content[f] or None) for f in CONTENT_FIELDS
    )


class BatchWriter:
    """The difference of a batch against the database, a page of contents at a time, and
    (`batch` given) its writing inside the caller's transaction: added and changed articles
    with one version row each and feed positions in file order, then removed ones. Only a
    page of articles is in memory at a time (a staged file of 50,000 was held whole with
    every current article beside it). The caller holds the feed lock and commits."""

    def __init__(
        self, session: Session, *, batch: KbImportBatch | None = None, staff_id: int | None = None
    ) -> None:
        self.session = session
        self.batch = batch
        self.staff_id = staff_id
        self.now = datetime.now(UTC)
        self.seq = max_seq(session) if batch is not None else 0
        self.added: list[str] = []
        self.changed: list[str] = []
        self.unchanged = 0
        self.removed: list[str] = []

    def page(self, contents: list[dict[str, Any]]) -> None:
        """Compare (and write) the next contents, in file order."""
        current = _current_of(self.session, [c["id"] for c in contents])
        fresh: list[dict[str, Any]] = []
        updated: list[dict[str, Any]] = []
        versions: list[dict[str, Any]] = []
        for content in contents:
            old = current.get(content["id"])
            if old is None or old["deleted"]:
                self.added.append(content["id"])
            elif _same(old, content):
                self.unchanged += 1
                continue
            else:
                self.changed.append(content["id"])
            if self.batch is None:
                continue
            self.seq += 1
            values = {
                **{f: content[f] for f in CONTENT_FIELDS},
                "id": content["id"],
                "version": old["version"] + 1 if old else 1,
                "deleted": False,
                "seq": self.seq,
                "updated_at": self.now,
            }
            change = "updated" if old and not old["deleted"] else "created"
            (updated if old else fresh).append(values)
            versions.append(self._version(values, change))
        self._write(fresh, updated, versions)

    def remove(self, ids: list[str]) -> None:
        """Mark `ids` (live articles the batch does not have: `sync`) deleted."""
        self.removed.extend(ids)
        if self.batch is None:
            return
        for start in range(0, len(ids), _BULK):
            page = ids[start : start + _BULK]
            current = _current_of(self.session, page)
            updated: list[dict[str, Any]] = []
            versions: list[dict[str, Any]] = []
            for article_id in page:
                self.seq += 1
                values = {**current[article_id], "deleted": True, "seq": self.seq}
                values["updated_at"] = self.now
                values["version"] += 1
                updated.append(values)
                versions.append(self._version(values, "deleted"))
            self._write([], updated, versions)

    def run(
        self, pages: Iterable[list[dict[str, Any]]], unlisted: Callable[[], list[str]] | None
    ) -> KbDiff:
        """Every page of contents, then (`sync`: `unlisted` given) the live articles the
        batch does not have; the difference, and a written batch gets its counts."""
        for contents in pages:
            self.page(contents)
        if unlisted is not None:
            self.remove(unlisted())
        if self.batch is not None:
            self.batch.status = "published"
            self.batch.added = len(self.added)
            self.batch.changed = len(self.changed)
            self.batch.removed = len(self.removed)
            self.session.add(self.batch)
        return KbDiff(
            added=self.added, changed=self.changed, unchanged=self.unchanged, removed=self.removed
        )

    def _version(self, values: dict[str, Any], change: str) -> dict[str, Any]:
        assert self.batch is not None
        return _version_values(values, change, self.batch.id, self.staff_id, self.now)

    def _write(
        self,
        fresh: list[dict[str, Any]],
        updated: list[dict[str, Any]],
        versions: list[dict[str, Any]],
    ) -> None:
        session = self.session
        _bulk(session, insert(_ARTICLES), fresh)
        if updated:
            names = [*CONTENT_FIELDS, "version", "deleted", "seq", "updated_at"]
            statement = (
                update(_ARTICLES)
                .where(_ARTICLES.c.id == bindparam("b_id"))
                .values({n: bindparam(f"b_{n}") for n in names})
            )
            _bulk(session, statement, [{f"b_{n}": v[n] for n in ("id", *names)} for v in updated])
        _bulk(session, insert(_VERSIONS), versions)


def _in_pages(contents: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    return [contents[i : i + _BULK] for i in range(0, len(contents), _BULK)]


def _unlisted(session: Session, contents: list[dict[str, Any]]) -> Callable[[], list[str]]:
    wanted = {c["id"] for c in contents}
    return lambda: [i for i in live_ids(session) if i not in wanted]


def diff_contents(session: Session, contents: list[dict[str, Any]], sync: bool) -> KbDiff:
    return BatchWriter(session).run(
        _in_pages(contents), _unlisted(session, contents) if sync else None
    )


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
    """Write `contents` as `batch` (`BatchWriter`) inside the caller's transaction; the
    caller holds the feed lock and commits."""
    return BatchWriter(session, batch=batch, staff_id=staff_id).run(
        _in_pages(contents), _unlisted(session, contents) if sync else None
    )
