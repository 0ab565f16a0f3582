"""The wire shape of every report (`GET /api/v1/reports/...`): a titled table whose columns
say what kind of value they hold and, for an indicator, its target.

One shape for all reports (KPI, operators, topics, appeals, plan against fact, video), so
the admin CLI renders any of them the same way: a terminal table with misses marked, JSON,
CSV, XLSX with typed cells and a chart sheet, a terminal chart.

Values: `percent` columns carry fractions (0.833 is 83.3 %), `seconds` columns seconds,
`date` columns ISO dates (`2026-11-30`), `datetime` ISO date-times with offset; a value
that cannot be computed (no calls offered that hour) is `None`, never 0.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, Field


class ColumnKind(StrEnum):
    text = "text"
    int = "int"
    float = "float"
    percent = "percent"
    seconds = "seconds"
    date = "date"
    datetime = "datetime"


class Better(StrEnum):
    """Which way an indicator should move: a value on the wrong side of the target misses."""

    more = "higher"
    less = "lower"


Cell = str | int | float | bool | None


class ReportColumn(BaseModel):
    key: str = Field(max_length=60)
    title: str = Field(max_length=120)
    """Russian column heading."""
    kind: ColumnKind
    target: float | None = None
    """The indicator's target in the column's unit (0.8 for SL 80 %), if it has one."""
    better: Better | None = None
    """Direction against the target; None for columns that are not indicators."""
    description: str | None = Field(default=None, max_length=600)
    """The formula and its edge cases in words (for the XLSX notes and `--help`)."""

    def misses(self, value: Cell) -> bool:
        """True when the value is on the wrong side of the target."""
        if self.target is None or self.better is None or not isinstance(value, int | float):
            return False
        if isinstance(value, bool):
            return False
        if self.better == Better.more:
            return value < self.target
        return value > self.target


class Report(BaseModel):
    kind: str = Field(max_length=40)
    """kpi | operators | topics | appeals | plan_vs_fact | video"""
    title: str = Field(max_length=200)
    period_from: date
    period_to: date
    """Inclusive: the last day the report covers."""
    group_by: str | None = Field(default=None, max_length=20)
    """The dimension of the rows (day, week, month, hour, line, channel, office, operator,
    topic), None for a report whose rows are its own (appeals by agency, …)."""
    columns: list[ReportColumn]
    rows: list[dict[str, Cell]]
    total: dict[str, Cell] | None = None
    """The whole period in one row (same keys as `rows`), when it makes sense."""
    notes: list[str] = Field(default_factory=list)
    """Russian remarks printed under the table (rules applied, data that was missing)."""

    def column(self, key: str) -> ReportColumn:
        for col in self.columns:
            if col.key == key:
                return col
        raise KeyError(key)

    def misses(self, row: dict[str, Cell]) -> list[str]:
        """Keys of the row's cells that miss their column's target."""
        return [c.key for c in self.columns if c.misses(row.get(c.key))]
