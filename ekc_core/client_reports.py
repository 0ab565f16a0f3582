"""Typed client methods for the report endpoints (`GET /api/v1/reports/<kind>`).

Every report comes back in the one wire shape `ekc_core.reports.Report`, so the admin CLI
renders any of them the same way. Dates are local dates of the centre (Asia/Irkutsk), `to`
inclusive. A mixin of `ekc_core.client.EkcClient` over the `Requester` protocol (the one
request method: retries, auth, error mapping).
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from ekc_core.client_admin import Requester
from ekc_core.reports import Report

KpiBy = Literal["day", "week", "month", "hour", "line", "channel", "office", "operator", "topic"]
"""The dimensions of `GET /reports/kpi?by=`."""

VideoBy = Literal["office", "month"]
"""The dimensions of `GET /reports/video?by=`."""

#: a year of a large centre aggregated on the server: more than the default read timeout
REPORT_TIMEOUT = 120.0


def _report(client: Requester, kind: str, params: dict[str, Any]) -> Report:
    response = client.request("GET", f"/reports/{kind}", params=params, timeout=REPORT_TIMEOUT)
    return Report.model_validate(response.json())


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


class ReportsApi:
    """KPI, operators, topics, appeals, plan against fact and video consultations."""

    def report_kpi(
        self: Requester,
        date_from: date,
        date_to: date,
        *,
        by: KpiBy | None = None,
        short_abandon: int | None = None,
    ) -> Report:
        """The indicators against their targets, one row per `by` value (no `by`: one row);
        `short_abandon` overrides the server's short-abandon threshold in seconds."""
        params = {
            "from": _day(date_from),
            "to": _day(date_to),
            "by": by,
            "short_abandon": short_abandon,
        }
        return _report(self, "kpi", params)

    def report_operators(self: Requester, date_from: date, date_to: date) -> Report:
        """Per operator: contacts, handle time, after-call share, outcomes, callbacks kept."""
        return _report(self, "operators", {"from": _day(date_from), "to": _day(date_to)})

    def report_topics(self: Requester, date_from: date, date_to: date) -> Report:
        """What people contact the centre about, with each topic's share."""
        return _report(self, "topics", {"from": _day(date_from), "to": _day(date_to)})

    def report_transfers(self: Requester, date_from: date, date_to: date) -> Report:
        """Contacts transferred onward to an agency, per agency and topic."""
        return _report(self, "transfers", {"from": _day(date_from), "to": _day(date_to)})

    def report_appeals(self: Requester, on: date | None = None) -> Report:
        """Appeals open, due this week and overdue by agency, on `on` (the server's today)."""
        return _report(self, "appeals", {"on": _day(on)})

    def report_plan_vs_fact(
        self: Requester, *, day: date | None = None, month: str | None = None
    ) -> Report:
        """Per hour of a day or a month (`YYYY-MM`): required, rostered and working
        operators, offered calls and the service level achieved."""
        return _report(self, "plan-vs-fact", {"date": _day(day), "month": month})

    def report_video(
        self: Requester, date_from: date, date_to: date, *, by: VideoBy = "office"
    ) -> Report:
        """Video consultations per MFC office (or per month)."""
        params = {"from": _day(date_from), "to": _day(date_to), "by": by}
        return _report(self, "video", params)
