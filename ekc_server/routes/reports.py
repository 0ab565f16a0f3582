"""Reports (`GET /api/v1/reports/...`): each one an `ekc_core.reports.Report`; shift leads and
admins. Dates are local dates of the centre (Irkutsk), `to` inclusive."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ekc_core.fields import InputDate
from ekc_core.kpi import KpiParams
from ekc_core.reports import Report
from ekc_server.deps import Lead, SessionDep, SettingsDep
from ekc_server.error_handlers import SIGNED_IN_ERRORS
from ekc_server.services.kpi import Dimension
from ekc_server.services.report_appeals import appeals_report
from ekc_server.services.report_kpi import kpi_report
from ekc_server.services.report_operators import operators_report
from ekc_server.services.report_plan import plan_vs_fact_report
from ekc_server.services.report_topics import topics_report
from ekc_server.services.report_transfers import transfers_report

router = APIRouter(tags=["reports"], responses=SIGNED_IN_ERRORS)

DateFrom = Annotated[InputDate, Query(alias="from", description="Первый день (ГГГГ-ММ-ДД)")]
DateTo = Annotated[InputDate, Query(alias="to", description="Последний день, включительно")]


@router.get("/reports/kpi", response_model=Report)
def get_kpi(
    principal: Lead,
    session: SessionDep,
    settings: SettingsDep,
    date_from: DateFrom,
    date_to: DateTo,
    by: Annotated[Dimension | None, Query(description="Строки отчёта")] = None,
    short_abandon: Annotated[
        int | None,
        Query(ge=0, le=600, description="Сбросы раньше стольких секунд не считаются (0: все)"),
    ] = None,
) -> Report:
    """Every indicator of `ekc_core.kpi` over the period, per `by` (none: one row) and in
    total, against its target."""
    params = settings.kpi_params()
    if short_abandon is not None:
        params = KpiParams(**{**params.model_dump(), "short_abandon_seconds": short_abandon})
    return kpi_report(session=session, date_from=date_from, date_to=date_to, by=by, params=params)


@router.get("/reports/operators", response_model=Report)
def get_operators(
    principal: Lead,
    session: SessionDep,
    settings: SettingsDep,
    date_from: DateFrom,
    date_to: DateTo,
) -> Report:
    """Per operator: contacts, handle time, after-call share, outcomes, callbacks kept."""
    return operators_report(
        session=session, date_from=date_from, date_to=date_to, params=settings.kpi_params()
    )


@router.get("/reports/topics", response_model=Report)
def get_topics(
    principal: Lead, session: SessionDep, date_from: DateFrom, date_to: DateTo
) -> Report:
    """Inbound calls, written contacts and appeals per top-level topic, with shares."""
    return topics_report(session=session, date_from=date_from, date_to=date_to)


@router.get("/reports/transfers", response_model=Report)
def get_transfers(
    principal: Lead, session: SessionDep, date_from: DateFrom, date_to: DateTo
) -> Report:
    """Contacts transferred onward («переведено в ведомство») per agency and topic."""
    return transfers_report(session=session, date_from=date_from, date_to=date_to)


@router.get("/reports/appeals", response_model=Report)
def get_appeals(
    principal: Lead,
    session: SessionDep,
    on: Annotated[InputDate | None, Query(description="День (по умолчанию сегодня)")] = None,
) -> Report:
    """Open appeals, due this week and overdue (59-FZ), by agency."""
    return appeals_report(session=session, on=on)


@router.get("/reports/plan-vs-fact", response_model=Report)
def get_plan_vs_fact(
    principal: Lead,
    session: SessionDep,
    settings: SettingsDep,
    day: Annotated[InputDate | None, Query(alias="date", description="День")] = None,
    month: Annotated[
        str | None, Query(pattern=r"^\d{4}-\d{2}$", description="Месяц ГГГГ-ММ")
    ] = None,
) -> Report:
    """Per hour of the day (or of the days of the month, as means): required, rostered,
    signed-in and working operators, offered calls, service level."""
    return plan_vs_fact_report(session=session, day=day, month=month, params=settings.kpi_params())
