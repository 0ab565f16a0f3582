"""Learning from the operators: the console's search log, the gaps report an editor works
through, and the synonym groups admins edit (picked up by consoles with the next sync)."""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import and_, case, func
from sqlmodel import Session, col, select

from ekc_core.kb_gaps import (
    KbGap,
    KbGapArticle,
    KbGapReport,
    KbSearchEventBatch,
    KbSearchEventsResult,
    KbSynonymCreate,
    KbSynonymGroup,
    KbSynonymSet,
    normalise,
    scrub_query,
)
from ekc_core.localtime import CENTRE_TZ
from ekc_server.errors import InvalidFieldError, NotFoundError
from ekc_server.models import KbArticle
from ekc_server.models_kb import KbSearchLog
from ekc_server.models_kb import KbSynonymGroup as SynonymRow
from ekc_server.services.report_common import check_period, today_local
from ekc_server.write_time import WriteTime
from kb_index.analysis import stem, words
from kb_index.colloquial import ARROW, Colloquial, ColloquialFileError
from kb_index.synonyms import SynonymFileError, Synonyms, looks_like_person_name

#: the groups of the gaps report at most (the editor's list, not a dump)
GAPS_LIMIT = 500
#: the longest period of one gaps report (days, both ends included)
PERIOD_MAX_DAYS = 366


def group_key(query: str) -> str:
    """Lower case, ё → е, each word folded to its lemma (the search's own analysis), stop
    words dropped: «Соседи затопили» and «сосед затопил» fall into one group."""
    folded = [stem(w) for w in words(query)]
    return " ".join(folded) or normalise(query)


# --- the search log -------------------------------------------------------------------------


def record_events(
    *, session: Session, batch: KbSearchEventBatch, write: WriteTime
) -> KbSearchEventsResult:
    """Store the batch's new events; events already stored (a batch sent again by the
    outbox) and queries with nothing left after scrubbing are skipped. Does not commit."""
    ids = [e.event_id for e in batch.events]
    if len(set(ids)) != len(ids):
        raise InvalidFieldError("повторяется event_id в одном пакете", field="events")
    for i, event in enumerate(batch.events):
        write.refuse_future(write.from_desk(event.at), field=f"events.{i}.at", what="время поиска")
    seen = set(session.exec(select(KbSearchLog.event_id).where(col(KbSearchLog.event_id).in_(ids))))
    stored = skipped = 0
    for event in batch.events:
        query = scrub_query(event.query, is_name=looks_like_person_name)  # the console too
        if event.event_id in seen or query is None:
            skipped += 1
            continue
        session.add(
            KbSearchLog(
                event_id=event.event_id,
                session=event.session,
                seq=event.seq,
                query=query,
                key=group_key(query)[:400],
                hits=event.hits,
                opened=event.opened,
                copied=event.copied and event.opened is not None,
                at=write.from_desk(event.at),
                recorded_at=write.received_at,
            )
        )
        stored += 1
    return KbSearchEventsResult(stored=stored, skipped=skipped)


def period(
    date_from: date | None, date_to: date | None, today: date | None = None
) -> tuple[date, date]:
    """The report's days: `to` defaults to today (the centre's), `from` to the longest
    period ending on `to`; 422 naming `from`/`to` when backwards or longer than
    `PERIOD_MAX_DAYS` (the log is read in SQL, but a period still bounds the work)."""
    last = date_to or today or today_local()
    first = date_from or last - timedelta(days=PERIOD_MAX_DAYS - 1)
    check_period(first, last, max_days=PERIOD_MAX_DAYS, too_long_field="to" if date_to else "from")
    return first, last


def gaps(
    *,
    session: Session,
    date_from: date | None = None,
    date_to: date | None = None,
    limit: int = GAPS_LIMIT,
) -> KbGapReport:
    """The searches that found nothing or where nothing was opened, grouped by normalised
    query and counted (most frequent first), each with the articles operators finally opened
    later in the same session (after rephrasing). Filtered, grouped and counted in SQL: only
    the `limit` groups and their spellings and later articles reach Python."""
    first, last = period(date_from, date_to)
    start = datetime.combine(first, time(), CENTRE_TZ)
    end = datetime.combine(last + timedelta(days=1), time(), CENTRE_TZ)
    log = KbSearchLog.__table__  # type: ignore[attr-defined]
    in_period = and_(log.c.at >= start, log.c.at < end)
    searches = int(
        session.execute(select(func.count()).select_from(log).where(in_period)).scalar_one()
    )
    unopened = and_(in_period, log.c.opened.is_(None))
    count = func.count().label("n")
    latest = func.max(log.c.at).label("last_at")
    top = session.execute(
        select(
            log.c.key,
            count,
            func.sum(case((log.c.hits == 0, 1), else_=0)).label("not_found"),
            latest,
        )
        .where(unopened)
        .group_by(log.c.key)
        .order_by(count.desc(), latest.desc(), log.c.key)
        .limit(limit)
    ).all()
    keys = [r.key for r in top]
    spellings: dict[str, Counter[str]] = defaultdict(Counter)
    then: dict[str, Counter[str]] = defaultdict(Counter)
    for chunk in (keys[i : i + 250] for i in range(0, len(keys), 250)):
        for key, query, n in session.execute(
            select(log.c.key, log.c.query, func.count())
            .where(unopened, log.c.key.in_(chunk))
            .group_by(log.c.key, log.c.query)
        ):
            spellings[key][query.lower()] += n
        gap, later = log.alias("gap"), log.alias("later")
        for key, article, n in session.execute(
            select(gap.c.key, later.c.opened, func.count(func.distinct(gap.c.id)))
            .join(
                later,
                and_(
                    later.c.session == gap.c.session,
                    later.c.seq > gap.c.seq,
                    later.c.opened.is_not(None),
                    later.c.at >= start,
                    later.c.at < end,
                ),
            )
            .where(
                gap.c.opened.is_(None),
                gap.c.at >= start,
                gap.c.at < end,
                gap.c.key.in_(chunk),
            )
            .group_by(gap.c.key, later.c.opened)
        ):
            then[key][article] = n
    shown = {
        key: sorted(articles.items(), key=lambda t: (-t[1], t[0]))[:5]
        for key, articles in then.items()
    }
    wanted = {a for articles in shown.values() for a, _ in articles}
    titles = (
        dict(
            session.exec(
                select(KbArticle.id, KbArticle.title).where(col(KbArticle.id).in_(wanted))
            ).all()
        )
        if wanted
        else {}
    )
    report = [
        KbGap(
            key=r.key,
            query=min(spellings[r.key].items(), key=lambda t: (-t[1], t[0]))[0],
            count=r.n,
            not_found=int(r.not_found),
            not_opened=r.n - int(r.not_found),
            last_at=r.last_at if r.last_at.tzinfo else r.last_at.replace(tzinfo=UTC),
            then_opened=[
                KbGapArticle(article_id=a, title=titles.get(a), count=n)
                for a, n in shown.get(r.key, [])
            ],
        )
        for r in top
    ]
    return KbGapReport(date_from=first, date_to=last, searches=searches, gaps=report)


# --- synonyms -------------------------------------------------------------------------------


def _split_line(line: str) -> list[str]:
    text = line.split("#", 1)[0].strip()
    return [p.strip() for p in text.split(",") if p.strip()] if text else []


def seed(*, session: Session, path: Path) -> int:
    """Fill the table from the shipped file once (the table has never had a row). Returns
    the groups added. Does not commit."""
    if _ever_seeded(session):
        return 0
    if not path.exists():
        return 0
    added = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        phrases = _split_line(line)
        if len(phrases) >= 2:
            session.add(SynonymRow(phrases=phrases))
            added += 1
    session.flush()
    return added


def _ever_seeded(session: Session) -> bool:
    """The table has had a row (removed ones count: removing every group keeps it empty)."""
    return session.exec(select(SynonymRow.id).limit(1)).first() is not None


def _current(session: Session) -> list[SynonymRow]:
    stmt = select(SynonymRow).where(col(SynonymRow.removed_at).is_(None))
    return list(session.exec(stmt.order_by(col(SynonymRow.id))))


def _public(row: SynonymRow) -> KbSynonymGroup:
    assert row.id is not None
    return KbSynonymGroup(
        id=row.id, phrases=list(row.phrases), means=list(row.means), created_at=row.created_at
    )


def synonym_set(*, session: Session, known: str | None = None, rules: bool = True) -> KbSynonymSet:
    """The current groups and their version (a hash of the lines); with `known` equal to
    the version only the version comes back (a console's sync on a slow link). Without
    `rules` the one-way groups are left out (a console of the release before them would
    read them as equal synonyms), and the version is that of the equal groups alone."""
    groups = [_public(r) for r in _current(session)]
    if not rules:
        groups = [g for g in groups if not g.means]
    text = "\n".join(f"{g.id}:{g.line()}" for g in groups)
    version = hashlib.sha256(text.encode()).hexdigest()[:16]
    if known == version:
        return KbSynonymSet(version=version, unchanged=True)
    return KbSynonymSet(version=version, groups=groups)


def _clean(raw: list[str], name: str) -> list[str]:
    phrases: list[str] = []
    for i, text in enumerate(raw):
        phrase = " ".join(text.split())
        if any(mark in phrase for mark in (",", "#", ARROW)):
            raise InvalidFieldError(
                f"фраза не может содержать запятую, # или {ARROW}", field=f"{name}.{i}"
            )
        if phrase and phrase not in phrases:
            phrases.append(phrase)
    return phrases


def add_synonyms(*, session: Session, data: KbSynonymCreate) -> KbSynonymGroup:
    """A new group. Equal synonyms: the phrases must analyse to at least two different word
    sequences; a one-way rule (`means`): each side must keep a word the search uses (the
    same checks the search's own loaders make). Does not commit."""
    phrases = _clean(data.phrases, "phrases")
    means = _clean(data.means, "means")
    if data.means and not means:
        raise InvalidFieldError("формулировка статей пуста", field="means")
    if means:
        try:
            Colloquial.from_lines([f"{', '.join(phrases)} {ARROW} {', '.join(means)}"])
        except ColloquialFileError as exc:
            callers = exc.side == "callers"
            where = "во фразах звонящего" if callers else "в формулировке статей"
            raise InvalidFieldError(
                f"{where} только служебные слова: поиску не по чему искать",
                field="phrases" if callers else "means",
            ) from None
    else:
        try:
            Synonyms.from_lines([", ".join(phrases)], source="phrases")
        except SynonymFileError:
            raise InvalidFieldError(
                "в группе синонимов нужно хотя бы две разные фразы", field="phrases"
            ) from None
    row = SynonymRow(phrases=phrases, means=means)
    session.add(row)
    session.flush()
    return _public(row)


def remove_synonyms(*, session: Session, group_id: int) -> KbSynonymGroup:
    row = session.get(SynonymRow, group_id)
    if row is None or row.removed_at is not None:
        raise NotFoundError(f"нет группы синонимов {group_id}")
    row.removed_at = datetime.now(UTC)
    session.add(row)
    return _public(row)


def for_search(
    *, session: Session, known: str | None
) -> tuple[str, Synonyms, tuple[str, ...]] | None:
    """The current groups as the search's `Synonyms` and the one-way rules as lines of the
    colloquial format, with their version (for the backend's own index); None when the
    version is `known` or the table was never seeded (the index keeps the shipped file)."""
    if not _ever_seeded(session):
        return None
    groups = synonym_set(session=session)
    if groups.version == known:
        return None
    return groups.version, Synonyms.from_lines(groups.lines()), tuple(groups.rules())
