"""The indicators of `ekc_core.kpi` over a UTC time window, from sums done in SQL.

`kpi_window(session=, start=, end=)` gives the centre's indicators for `[start, end)` (the
wallboard's "SL today" and "last 30 minutes"); `kpi_groups(..., by=)` the same per local
day / week / month / hour of the day or per line, channel, office, operator or top-level
topic (the KPI report's rows). SQL only counts and adds seconds (`KpiSums`); the values
come from `ekc_core.kpi.compute`, so every caller applies the same rules.

Time dimensions are grouped in SQL by the UTC hour (`kpi_sql.utc_hour`) and folded into
Irkutsk days, weeks (from Monday), months or hours of the day here: the centre's offset is
a whole number of hours, so this is exact, and a year is at most 8,784 groups.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, and_, false, func, literal_column, or_, text
from sqlalchemy import select as sa_select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from ekc_core.enums import AppealKind, Channel, ContactStatus, Direction
from ekc_core.kpi import (
    CSAT_SATISFIED_MIN,
    DETRACTOR_MAX,
    PROMOTER_MIN,
    SUM_FIELDS,
    WRITTEN_CHANNELS,
    KpiParams,
    KpiSums,
    KpiValues,
)
from ekc_core.localtime import CENTRE_TZ
from ekc_server.models import Appeal, Contact, Office, Staff, Topic
from ekc_server.models_performance import ContactSurvey, QualityReview
from ekc_server.services.appeals import overdue_clause
from ekc_server.services.kpi_sql import hour_start, seconds_between, utc_hour


class Dimension(StrEnum):
    """What the rows of a grouped KPI computation are."""

    day = "day"
    week = "week"
    month = "month"
    hour = "hour"
    line = "line"
    channel = "channel"
    office = "office"
    operator = "operator"
    topic = "topic"


TIME_DIMENSIONS = frozenset({Dimension.day, Dimension.week, Dimension.month, Dimension.hour})

CHANNEL_RU: dict[str, str] = {
    Channel.phone: "телефон",
    Channel.social: "соцсети",
    Channel.pos: "ПОС",
    Channel.governor_chat: "чат губернатора",
    Channel.web_chat: "чат сайта",
    Channel.email: "e-mail",
    Channel.video: "видео",
}


@dataclass
class KpiGroup:
    """One row: its key (sortable, stable), its label (Russian) and its sums."""

    key: str
    label: str
    sums: KpiSums = field(default_factory=KpiSums)


# --- the classification of contacts (the rules of ekc_core.kpi, in SQL) ------------------


def _contact_sums(params: KpiParams, now: datetime) -> list[tuple[str, ColumnElement[Any]]]:
    """(KpiSums field, SQL aggregate) over Contact rows."""
    wait = seconds_between(col(Contact.queued_at), col(Contact.answered_at))
    hung_up_after = seconds_between(col(Contact.queued_at), col(Contact.ended_at))
    inbound = col(Contact.direction) == Direction.inbound.value
    phone_in = and_(col(Contact.channel) == Channel.phone.value, inbound)
    answered = col(Contact.answered_at).is_not(None)
    abandoned = and_(
        col(Contact.answered_at).is_(None),
        or_(
            col(Contact.abandoned).is_(True),
            col(Contact.status) == ContactStatus.abandoned.value,
        ),
    )
    if params.short_abandon_seconds > 0:
        short = and_(
            abandoned,
            col(Contact.ended_at).is_not(None),
            hung_up_after < params.short_abandon_seconds,
        )
    else:
        short = and_(false())
    waiting = and_(
        col(Contact.answered_at).is_(None),
        col(Contact.status) == ContactStatus.queued.value,
        ~abandoned,
    )
    late = col(Contact.queued_at) < now - timedelta(seconds=params.sl_threshold_seconds)
    within = and_(answered, wait <= params.sl_threshold_seconds)
    handled = and_(
        phone_in,
        answered,
        col(Contact.ended_at).is_not(None),
        col(Contact.wrapup_ended_at).is_not(None),
        col(Contact.close_reason).is_(None),
    )
    written = and_(inbound, col(Contact.channel).in_([c.value for c in WRITTEN_CHANNELS]))
    written_young = and_(
        col(Contact.answered_at).is_(None),
        col(Contact.queued_at) >= now - timedelta(seconds=params.written_threshold_seconds),
    )
    written_counted = and_(written, ~written_young)

    def total(condition: ColumnElement[bool], value: ColumnElement[Any]) -> ColumnElement[Any]:
        return func.sum(value).filter(condition)

    return [
        ("answered", count(and_(phone_in, answered))),
        ("answered_within", count(and_(phone_in, within))),
        ("abandoned", count(and_(phone_in, abandoned, ~short))),
        ("short_abandoned", count(and_(phone_in, short))),
        ("waiting_late", count(and_(phone_in, waiting, late))),
        ("handled", count(handled)),
        (
            "talk_seconds",
            total(handled, seconds_between(col(Contact.answered_at), col(Contact.ended_at))),
        ),
        (
            "acw_seconds",
            total(handled, seconds_between(col(Contact.ended_at), col(Contact.wrapup_ended_at))),
        ),
        (
            "outbound",
            count(
                and_(
                    col(Contact.channel) == Channel.phone.value,
                    col(Contact.direction) == Direction.outbound.value,
                )
            ),
        ),
        ("written", count(written_counted)),
        (
            "written_within",
            count(and_(written, answered, wait <= params.written_threshold_seconds)),
        ),
        ("video", count(and_(col(Contact.channel) == Channel.video.value, ~abandoned))),
    ]


def count(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    """`count(*) FILTER (WHERE condition)`: cheaper than `sum(CASE …)` on both databases."""
    return func.count().filter(condition)


#: the reviews of each contact, added up (a contact may be reviewed more than once): joined
#: to the contacts so that one pass over them does everything
_QUALITY = (
    sa_select(
        col(QualityReview.contact_id).label("contact_id"),
        func.count().label("reviews"),
        func.sum(col(QualityReview.score)).label("score"),
    )
    .group_by(col(QualityReview.contact_id))
    .subquery("kpi_quality")
)


def _survey_sums() -> list[tuple[str, ColumnElement[Any]]]:
    """Over contacts outer-joined to their survey (one per contact) and their reviews."""
    csat, recommend = col(ContactSurvey.csat), col(ContactSurvey.recommend)
    return [
        ("csat_answers", func.count(csat)),
        ("csat_satisfied", count(csat >= CSAT_SATISFIED_MIN)),
        ("recommend_answers", func.count(recommend)),
        ("promoters", count(recommend >= PROMOTER_MIN)),
        ("detractors", count(recommend <= DETRACTOR_MAX)),
        ("quality_reviews", func.sum(_QUALITY.c.reviews)),
        ("quality_score_sum", func.sum(_QUALITY.c.score)),
    ]


def _appeal_sums(now: datetime) -> list[tuple[str, ColumnElement[Any]]]:
    return [
        ("appeals", func.count()),
        ("complaints", count(col(Appeal.kind) == AppealKind.complaint.value)),
        ("overdue", count(overdue_clause(now))),
    ]


# --- keys of the groups -------------------------------------------------------------------

_Operator = aliased(Staff, name="kpi_operator")


def _column(attribute: Any) -> ColumnElement[Any]:
    """A model attribute as a typed SQL column (sqlmodel's `col` keeps the Python type)."""
    return cast(ColumnElement[Any], col(attribute))


def _contact_key(by: Dimension | None) -> tuple[ColumnElement[Any], bool]:
    """The SQL key of a Contact row's group and whether the operator must be joined."""
    if by is None:
        return literal_column("0"), False
    if by in TIME_DIMENSIONS:
        return utc_hour(col(Contact.queued_at)), False
    if by == Dimension.office:
        return func.coalesce(col(Contact.office_id), _Operator.office_id), True
    column = {
        Dimension.line: Contact.line,
        Dimension.channel: Contact.channel,
        Dimension.operator: Contact.operator_id,
        Dimension.topic: Contact.topic_id,
    }[by]
    return _column(column), False


def _with_operator(query: Select[Any], join: bool) -> Select[Any]:
    if join:
        return query.outerjoin(_Operator, col(_Operator.id) == col(Contact.operator_id))
    return query


def _tune(session: Session) -> None:
    """PostgreSQL, for the rest of this transaction: no JIT (compiling the aggregates costs
    more than it saves on a year of contacts) and memory to sort a year's groups in."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL jit = off"))
        session.execute(text("SET LOCAL work_mem = '64MB'"))


def _grouped(query: Select[Any], key: ColumnElement[Any], by: Dimension | None) -> Select[Any]:
    """Group by the key; one row of totals (no GROUP BY) when there is no dimension."""
    return query if by is None else query.group_by(key)


Fold = Callable[[Any], Hashable]
"""Maps a raw SQL key to the key of its group (the identity, or a UTC hour to its local day)."""

_POSITION = {name: i for i, name in enumerate(SUM_FIELDS)}


def _run(
    session: Session,
    query: Select[Any],
    names: list[str],
    into: dict[Hashable, list[float]],
    fold: Fold,
) -> None:
    """Add the query's rows into `into` (per folded key, the sums in SUM_FIELDS order)."""
    positions = [_POSITION[name] for name in names]
    for row in session.execute(query):
        key = fold(row[0])
        acc = into.get(key)
        if acc is None:
            acc = into[key] = [0.0] * len(SUM_FIELDS)
        for position, value in zip(positions, row[1:], strict=True):
            if value:
                acc[position] += float(value)


def _identity(key: Any) -> Hashable:
    return cast(Hashable, key)


def raw_sums(
    *,
    session: Session,
    start: datetime,
    end: datetime,
    params: KpiParams,
    now: datetime,
    by: Dimension | None = None,
    fold: Fold = _identity,
) -> dict[Hashable, KpiSums]:
    """Sums per raw SQL key (UTC hour index, line, channel, office id, operator id, topic
    id; a single key for `by=None`), or per `fold(key)`, of everything that happened in
    `[start, end)`."""
    result: dict[Hashable, list[float]] = {}
    key, join_operator = _contact_key(by)
    in_window = and_(col(Contact.queued_at) >= start, col(Contact.queued_at) < end)

    _tune(session)
    contact_aggs = _contact_sums(params, now) + _survey_sums()
    query = (
        sa_select(key, *(agg for _n, agg in contact_aggs))
        .select_from(Contact)
        .outerjoin(ContactSurvey, col(ContactSurvey.contact_id) == col(Contact.id))
        .outerjoin(_QUALITY, _QUALITY.c.contact_id == col(Contact.id))
    )
    query = _with_operator(query, join_operator).where(in_window)
    _run(session, _grouped(query, key, by), [n for n, _a in contact_aggs], result, fold)

    appeal_key = _appeal_key(by)
    aggs = _appeal_sums(now)
    query = sa_select(appeal_key, *(agg for _n, agg in aggs)).select_from(Appeal)
    if by is not None and by not in TIME_DIMENSIONS and by != Dimension.topic:
        query = query.outerjoin(Contact, col(Contact.id) == col(Appeal.contact_id))
        query = _with_operator(query, join_operator)
    query = query.where(col(Appeal.registered_at) >= start, col(Appeal.registered_at) < end)
    _run(session, _grouped(query, appeal_key, by), [n for n, _a in aggs], result, fold)
    return {key: KpiSums.from_values(values) for key, values in result.items()}


def _appeal_key(by: Dimension | None) -> ColumnElement[Any]:
    if by is None:
        return literal_column("0")
    if by in TIME_DIMENSIONS:
        return utc_hour(col(Appeal.registered_at))
    if by == Dimension.topic:
        return _column(Appeal.topic_id)
    if by == Dimension.operator:
        return func.coalesce(col(Contact.operator_id), col(Appeal.created_by_id))
    return _contact_key(by)[0]


# --- the public functions -----------------------------------------------------------------


def kpi_window(
    *,
    session: Session,
    start: datetime,
    end: datetime,
    params: KpiParams | None = None,
    now: datetime | None = None,
) -> KpiValues:
    """The indicators of everything queued (appeals: registered) in `[start, end)` (UTC
    aware). `now` (default: the clock) decides which waiting calls already count as missed
    and which appeals are overdue."""
    sums = raw_sums(
        session=session,
        start=start,
        end=end,
        params=params or KpiParams(),
        now=now or datetime.now(UTC),
    )
    return KpiValues(sum(sums.values(), KpiSums()))


def kpi_groups(
    *,
    session: Session,
    start: datetime,
    end: datetime,
    by: Dimension,
    params: KpiParams | None = None,
    now: datetime | None = None,
) -> list[KpiGroup]:
    """The sums of `[start, end)` per group, in order. Time dimensions list every local day,
    week, month or hour of the day of the window, also those without contacts (their
    indicators are None); the others list the values that occur."""
    folded = by in TIME_DIMENSIONS

    def local_bucket(index: Any) -> Hashable:
        return _time_key(hour_start(int(index)), by)

    raw = raw_sums(
        session=session,
        start=start,
        end=end,
        params=params or KpiParams(),
        now=now or datetime.now(UTC),
        by=by,
        fold=local_bucket if folded else _identity,
    )
    if folded:
        return _fold_time(raw, by, start, end)
    labels = _labels(session, by, raw.keys())
    groups: dict[str, KpiGroup] = {}
    for raw_key, sums in raw.items():
        key, label = labels(raw_key)
        group = groups.setdefault(key, KpiGroup(key=key, label=label))
        group.sums.merge(sums)
    return sorted(groups.values(), key=lambda g: (g.key == "", g.label, g.key))


def _time_key(moment: datetime, by: Dimension) -> tuple[str, str]:
    local = moment.astimezone(CENTRE_TZ)
    if by == Dimension.day:
        day = local.date().isoformat()
        return day, day
    if by == Dimension.week:
        monday = local.date() - timedelta(days=local.weekday())
        return monday.isoformat(), f"неделя с {monday.strftime('%d.%m.%Y')}"
    if by == Dimension.month:
        month = f"{local.year:04d}-{local.month:02d}"
        return month, month
    return f"{local.hour:02d}", f"{local.hour:02d}:00"


def _fold_time(
    raw: dict[Hashable, KpiSums], by: Dimension, start: datetime, end: datetime
) -> list[KpiGroup]:
    groups: dict[str, KpiGroup] = {}
    # every bucket of the window, in order (the key of an hour is that of its local day,
    # except by hour of the day: the step is a day unless the buckets are hours)
    step = timedelta(hours=1) if by == Dimension.hour else timedelta(days=1)
    moment = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    while moment < end:
        key, label = _time_key(moment, by)
        groups.setdefault(key, KpiGroup(key=key, label=label))
        moment += step
    if end > start:  # a window not starting at midnight: its last day too
        key, label = _time_key(end - timedelta(microseconds=1), by)
        groups.setdefault(key, KpiGroup(key=key, label=label))
    for bucket, sums in raw.items():  # already folded into (key, label) by raw_sums
        key, label = cast(tuple[str, str], bucket)
        groups[key] = KpiGroup(key=key, label=label, sums=sums)
    return sorted(groups.values(), key=lambda g: g.key)


def _labels(
    session: Session, by: Dimension, keys: Iterable[Hashable]
) -> Callable[[Hashable], tuple[str, str]]:
    """raw SQL key → (group key, Russian label); "" is the key of "not known"."""
    if by == Dimension.line:
        return lambda k: (str(k), f"линия {k}") if k else ("", "без линии")
    if by == Dimension.channel:
        return lambda k: (str(k), CHANNEL_RU.get(str(k), str(k))) if k else ("", "—")
    ids = [int(k) for k in keys if isinstance(k, int)]
    if by == Dimension.office:
        rows = session.exec(select(Office).where(col(Office.id).in_(ids))).all()
        offices = {o.id: o for o in rows}
        return lambda k: (
            (offices[k].code, offices[k].name) if k in offices else ("", "офис не указан")
        )
    if by == Dimension.operator:
        staff = {s.id: s for s in session.exec(select(Staff).where(col(Staff.id).in_(ids))).all()}
        return lambda k: (
            (staff[k].username, staff[k].full_name) if k in staff else ("", "без оператора")
        )
    roots = top_level_topics(session)
    return lambda k: (
        roots.get(k, ("", "без тематики")) if isinstance(k, int) else ("", "без тематики")
    )


def top_level_topics(session: Session) -> dict[int, tuple[str, str]]:
    """topic id → (code, name) of its top-level topic (the tree's root above it)."""
    rows = {t.id: t for t in session.exec(select(Topic)).all() if t.id is not None}
    result: dict[int, tuple[str, str]] = {}
    for topic_id, topic in rows.items():
        root, seen = topic, {topic_id}
        while root.parent_id is not None and root.parent_id in rows:
            if root.parent_id in seen:
                break  # a cycle in the tree: stop where it closes
            seen.add(root.parent_id)
            root = rows[root.parent_id]
        result[topic_id] = (root.code, root.name)
    return result


def local_day_window(first: date, last: date) -> tuple[datetime, datetime]:
    """`[start, end)` in UTC of the local days `first` … `last` (inclusive)."""
    from ekc_server.services.kpi_sql import local_midnight

    return local_midnight(first), local_midnight(last + timedelta(days=1))
