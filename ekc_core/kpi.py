"""The centre's indicators, each defined once: code, Russian name, formula, target, direction
and the exact rule for its edge cases, next to each other.

The backend's SQL (`ekc_server/services/kpi*.py`) only adds up counts and seconds into a
`KpiSums`; every value (a share, a mean) is computed here from those sums by `compute`, so
the report, the wallboard and any other caller apply the same rules.

Which contacts count where (the rules the SQL applies; a contact counts in the period its
`queued_at` falls in, for surveys and quality reviews the period of their contact):

- **Calls** are contacts on the `phone` channel with direction `in`. A call is *answered*
  when it has `answered_at` (whatever its flags say); *abandoned* when it has no
  `answered_at` and is marked abandoned (the caller hung up while waiting, or the backend
  gave up on it after `EKC_STALE_QUEUE_HOURS`). A *short abandon* is an abandoned call whose
  caller hung up less than `short_abandon_seconds` after it was queued
  (`ended_at − queued_at`): a misdial, not a missed caller; it is left out of *offered* (and
  so of every share below) unless the threshold is 0. A call *still waiting* (status
  `queued`) counts as offered (and not answered within the threshold) once it has waited
  longer than the service-level threshold at the moment of the computation; before that it
  is not counted yet (its fate is open).
  Offered = answered + abandoned (not short) + waiting too long.
- **Wait** = `answered_at − queued_at` (the time in the queue; the voice assistant's part
  before queueing is not the centre's wait). Answered *within* the threshold means wait
  ≤ threshold (20 s answered at 20.000 s is within).
- **Handle time** of an answered inbound call = talk (`answered_at → ended_at`: the
  connected time the telephony reports, so hold is inside it) + after-call work
  (`ended_at → wrapup_ended_at`). Only calls with all three times count; a call whose
  after-call work is still going on is left out until it ends, and a contact closed without
  a wrap-up (`close_reason` set: given up, or closed as stale by the backend) is left out,
  its times are not work.
- **Written contacts** are inbound contacts on `social`, `pos`, `governor_chat`,
  `web_chat`, `email`. The reaction clock runs `queued_at → answered_at` (the operator
  takes the message); within `written_threshold_seconds` (600 s) counts. A message still
  unanswered counts as missed once it has waited longer than the threshold; before that it
  is not counted yet.
- **Video consultations** are contacts on the `video` channel that were not abandoned.
- **Appeals** count in the period of their `registered_at`. Overdue by the 59-FZ rule the
  product applies everywhere (`ekc_core.deadlines.is_overdue`): open and past the answer
  term, or not forwarded past the forward term, *at the moment of the report* (an appeal
  of last month still overdue today counts in last month's row).
- **Surveys**: CSAT answers 1–5, satisfied = 4 or 5; "would recommend" 0–10.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Self

from pydantic import BaseModel, Field

from ekc_core.enums import Channel
from ekc_core.reports import Better, Cell, ColumnKind, ReportColumn

WRITTEN_CHANNELS: tuple[Channel, ...] = (
    Channel.social,
    Channel.pos,
    Channel.governor_chat,
    Channel.web_chat,
    Channel.email,
)
"""The written channels of the reaction-clock indicator."""

CSAT_SATISFIED_MIN = 4
"""A CSAT answer of this or more (on 1–5) is a satisfied caller."""

PROMOTER_MIN = 9
"""`recommend` 9–10: a promoter."""

DETRACTOR_MAX = 6
"""`recommend` 0–6: a detractor (7–8 are passives: counted in the answers only)."""


class KpiParams(BaseModel):
    """The thresholds the indicators are computed with (server defaults from `EKC_KPI_*`)."""

    sl_threshold_seconds: int = Field(default=20, ge=1, le=3600)
    """Service level: a call answered within this many seconds of queueing is "in time"
    (the 20 of 80/20)."""

    sl_target: float = Field(default=0.8, gt=0, le=1)
    """Service level: the share of offered calls that should be in time (the 80 of 80/20)."""

    short_abandon_seconds: int = Field(default=5, ge=0, le=600)
    """Calls abandoned less than this many seconds after queueing are left out of offered
    calls (misdials); 0 counts every abandoned call."""

    written_threshold_seconds: int = Field(default=600, ge=1, le=7 * 86400)
    """Written channels: a message taken within this many seconds of arrival is answered in
    time (10 minutes)."""


@dataclass
class KpiSums:
    """Counts and second totals the SQL adds up for one group (one row of a report)."""

    offered: int = 0
    """Inbound calls offered: answered + abandoned (not short) + waiting too long."""
    answered: int = 0
    answered_within: int = 0
    abandoned: int = 0
    """Abandoned inbound calls, short abandons not included."""
    short_abandoned: int = 0
    waiting_late: int = 0
    """Calls still waiting, past the service-level threshold."""
    handled: int = 0
    """Answered inbound calls with talk and after-call work both finished."""
    talk_seconds: float = 0.0
    acw_seconds: float = 0.0
    outbound: int = 0
    written: int = 0
    """Inbound written contacts counted (a message still young is not counted yet)."""
    written_within: int = 0
    video: int = 0
    appeals: int = 0
    complaints: int = 0
    overdue: int = 0
    csat_answers: int = 0
    csat_satisfied: int = 0
    recommend_answers: int = 0
    promoters: int = 0
    detractors: int = 0
    quality_reviews: int = 0
    quality_score_sum: float = 0.0

    def __add__(self, other: KpiSums) -> Self:
        result = type(self)(**{name: getattr(self, name) for name in SUM_FIELDS})
        result.merge(other)
        return result

    def merge(self, other: KpiSums) -> None:
        """Add another group's sums into this one, in place."""
        for name in SUM_FIELDS:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @classmethod
    def from_values(cls, values: list[float]) -> Self:
        """The sums from their values in `SUM_FIELDS` order (as the SQL adds them up, counts
        as floats), with offered calls = answered + abandoned (not short) + waiting too long."""
        sums = cls()
        for name, value in zip(SUM_FIELDS, values, strict=True):
            setattr(sums, name, round(value) if isinstance(getattr(sums, name), int) else value)
        sums.offered = sums.answered + sums.abandoned + sums.waiting_late
        return sums


SUM_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(KpiSums))
"""The names of the sums, in order."""


def _share(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def _mean(total: float, count: int) -> float | None:
    return total / count if count else None


@dataclass(frozen=True)
class Indicator:
    """One indicator: how a column of the KPI report is headed, judged and computed."""

    key: str
    title: str
    kind: ColumnKind
    description: str
    value: Callable[[KpiSums], Cell]
    target: float | None = None
    better: Better | None = None

    def column(self, params: KpiParams) -> ReportColumn:
        target = params.sl_target if self.key == "service_level" else self.target
        names = {
            "sl": params.sl_threshold_seconds,
            "target": round(params.sl_target * 100),
            "short": params.short_abandon_seconds,
            "written": _minutes(params.written_threshold_seconds),
            "written_min": _minutes(params.written_threshold_seconds),
        }
        return ReportColumn(
            key=self.key,
            title=self.title.format(**names),
            kind=self.kind,
            target=target,
            better=self.better,
            description=self.description.format(**names),
        )


INDICATORS: tuple[Indicator, ...] = (
    Indicator(
        "service_level",
        "Уровень сервиса {target}/{sl}",
        ColumnKind.percent,
        "Доля входящих звонков, принятых не позже {sl} с от постановки в очередь "
        "(answered_at − queued_at ≤ {sl} с), от поступивших. Поступившие = принятые + "
        "потерянные + ждущие дольше {sl} с; сбросы раньше {short} с не считаются "
        "(0: считаются все).",
        lambda s: _share(s.answered_within, s.offered),
        target=0.8,
        better=Better.more,
    ),
    Indicator(
        "answer_rate",
        "Коэффициент дозвона",
        ColumnKind.percent,
        "Принятые входящие звонки / поступившие (короткие сбросы до {short} с не считаются).",
        lambda s: _share(s.answered, s.offered),
        target=0.9,
        better=Better.more,
    ),
    Indicator(
        "abandon_rate",
        "Доля пропущенных",
        ColumnKind.percent,
        "Потерянные входящие звонки (абонент положил трубку, не дождавшись ответа; "
        "сбросы раньше {short} с не считаются) / поступившие. Цель 5–8 %: выше 8 % — промах.",
        lambda s: _share(s.abandoned, s.offered),
        target=0.08,
        better=Better.less,
    ),
    Indicator(
        "aht",
        "Среднее время обслуживания",
        ColumnKind.seconds,
        "Разговор (answered_at → ended_at, удержание внутри: АТС сообщает время соединения) "
        "+ поствызывная обработка (ended_at → wrapup_ended_at), среднее по принятым "
        "входящим звонкам с законченной обработкой; закрытые без карточки не считаются. "
        "Цель — не больше 300 с (центр измерил 297 с после «единого окна оператора»).",
        lambda s: _mean(s.talk_seconds + s.acw_seconds, s.handled),
        target=300.0,
        better=Better.less,
    ),
    Indicator(
        "talk_time",
        "Среднее время разговора",
        ColumnKind.seconds,
        "answered_at → ended_at, среднее по тем же звонкам, что и время обслуживания.",
        lambda s: _mean(s.talk_seconds, s.handled),
    ),
    Indicator(
        "acw_time",
        "Среднее время обработки после звонка",
        ColumnKind.seconds,
        "ended_at → wrapup_ended_at, среднее по тем же звонкам, что и время обслуживания.",
        lambda s: _mean(s.acw_seconds, s.handled),
    ),
    Indicator(
        "written_in_time",
        "Письменные: ответ за {written}",
        ColumnKind.percent,
        "Доля входящих письменных обращений (соцсети, ПОС, чат губернатора, чат сайта, "
        "e-mail), принятых оператором не позже {written_min} от поступления; "
        "сообщение без ответа считается пропущенным, когда прошло больше {written_min}.",
        lambda s: _share(s.written_within, s.written),
        target=0.9,
        better=Better.more,
    ),
    Indicator(
        "overdue_appeals",
        "Просроченные обращения",
        ColumnKind.int,
        "Обращения, зарегистрированные в периоде и просроченные по 59-ФЗ на момент отчёта: "
        "открыты и прошёл срок ответа, или не направлены в ведомство после срока "
        "направления.",
        lambda s: s.overdue,
        target=0.0,
        better=Better.less,
    ),
    Indicator(
        "complaint_share",
        "Доля жалоб",
        ColumnKind.percent,
        "Обращения вида «жалоба» / все обращения, зарегистрированные в периоде.",
        lambda s: _share(s.complaints, s.appeals),
        target=0.0,
        better=Better.less,
    ),
    Indicator(
        "csat",
        "Удовлетворённость (CSAT)",
        ColumnKind.percent,
        "Доля оценок 4–5 среди ответов на вопрос об удовлетворённости (1–5) в опросе после звонка.",
        lambda s: _share(s.csat_satisfied, s.csat_answers),
        target=0.9,
        better=Better.more,
    ),
    Indicator(
        "loyalty",
        "Индекс лояльности",
        ColumnKind.percent,
        "По типу NPS: (доля ответов 9–10 − доля ответов 0–6) на вопрос «порекомендуете ли "
        "линию» (0–10); 7–8 нейтральны.",
        lambda s: _share(s.promoters - s.detractors, s.recommend_answers),
        target=0.9,
        better=Better.more,
    ),
    Indicator(
        "quality",
        "Качество контактов",
        ColumnKind.percent,
        "Средняя оценка проверенных контактов по чек-листу (0–100 %; провал критичного "
        "пункта — 0).",
        lambda s: _mean(s.quality_score_sum, s.quality_reviews),
        target=0.9,
        better=Better.more,
    ),
    Indicator(
        "video",
        "Видеоконсультации",
        ColumnKind.int,
        "Контакты канала «видео» (из СПС МФЦ), кроме потерянных.",
        lambda s: s.video,
    ),
    Indicator(
        "offered",
        "Поступило звонков",
        ColumnKind.int,
        "Входящие звонки, поступившие в очередь (без сбросов раньше {short} с).",
        lambda s: s.offered,
    ),
    Indicator(
        "answered",
        "Принято звонков",
        ColumnKind.int,
        "Входящие звонки с answered_at.",
        lambda s: s.answered,
    ),
    Indicator(
        "abandoned",
        "Потеряно звонков",
        ColumnKind.int,
        "Входящие звонки, где абонент положил трубку в очереди (без сбросов раньше {short} с).",
        lambda s: s.abandoned,
    ),
    Indicator(
        "short_abandoned",
        "Сбросы до {short} с",
        ColumnKind.int,
        "Звонки, сброшенные раньше {short} с от постановки в очередь (в поступившие не входят).",
        lambda s: s.short_abandoned,
    ),
    Indicator(
        "outbound",
        "Исходящие звонки",
        ColumnKind.int,
        "Звонки с направлением «исходящий».",
        lambda s: s.outbound,
    ),
    Indicator(
        "written",
        "Письменные обращения",
        ColumnKind.int,
        "Входящие письменные контакты (кроме ещё не просроченных без ответа).",
        lambda s: s.written,
    ),
)

BY_KEY: dict[str, Indicator] = {i.key: i for i in INDICATORS}


def columns(params: KpiParams) -> list[ReportColumn]:
    """The report columns of every indicator, described with these thresholds."""
    return [i.column(params) for i in INDICATORS]


def _minutes(seconds: int) -> str:
    if seconds % 60 == 0:
        return f"{seconds // 60} мин"
    return f"{seconds} с"


def compute(sums: KpiSums) -> dict[str, Cell]:
    """Every indicator's value from the sums of one group (None where it cannot be computed:
    no calls offered, no surveys, …; never 0 for "no data")."""
    return {i.key: i.value(sums) for i in INDICATORS}


@dataclass(frozen=True)
class KpiValues:
    """The headline indicators of one group, typed (for callers other than reports)."""

    sums: KpiSums

    @property
    def service_level(self) -> float | None:
        return _share(self.sums.answered_within, self.sums.offered)

    @property
    def answer_rate(self) -> float | None:
        return _share(self.sums.answered, self.sums.offered)

    @property
    def abandon_rate(self) -> float | None:
        return _share(self.sums.abandoned, self.sums.offered)

    @property
    def aht(self) -> float | None:
        return _mean(self.sums.talk_seconds + self.sums.acw_seconds, self.sums.handled)

    @property
    def written_in_time(self) -> float | None:
        return _share(self.sums.written_within, self.sums.written)

    def as_row(self) -> dict[str, Cell]:
        return compute(self.sums)
