"""The main series of a report drawn in the terminal with plotext, for people who would rather
look than read: upright bars along time (days, weeks, months, hours), bars sideways for
named things (offices, operators, topics), the target as a line, percent in percent and
durations in minutes.
"""

from __future__ import annotations

import math
import re

from ekc_admin.report_render import Series, heading, number
from ekc_core.reports import ColumnKind, Report

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_DAY = re.compile(r"^(\d\d\.\d\d)\.(\d{4})$")
HEIGHT = 20
#: sideways bars get two lines each, up to this height
MAX_HEIGHT = 60
LABEL_WIDTH = 24


def _scale(kind: ColumnKind) -> tuple[float, str]:
    """Multiplier and unit of the drawn values."""
    if kind == ColumnKind.percent:
        return 100.0, "%"
    if kind == ColumnKind.seconds:
        return 1 / 60, "мин"
    return 1.0, ""


def _short(labels: list[str]) -> list[str]:
    """`01.11.2026` → `01.11` when every day is of one year; long names cut with «…»."""
    days = [_DAY.match(label) for label in labels]
    if labels and all(days) and len({d.group(2) for d in days if d}) == 1:
        return [d.group(1) for d in days if d]
    return [lab if len(lab) <= LABEL_WIDTH else lab[: LABEL_WIDTH - 1] + "…" for lab in labels]


def _limits(values: list[float], data: Series, scale: float) -> tuple[float, float]:
    """From 0 (or the lowest value) to a little over the highest value or the target; a
    share never over 100 %."""
    target = [data.target * scale] if data.target is not None else []
    top = max([*values, *target], default=1.0) or 1.0
    bottom = min([0.0, *values])
    upper = top * 1.08
    if data.kind == ColumnKind.percent and top <= 100:
        upper = min(upper, 100.0)
    return bottom, upper


def _ticks(lower: float, upper: float, count: int = 5) -> list[float]:
    """Round tick values (1, 2 or 5 × a power of ten apart) over [lower, upper]."""
    span = (upper - lower) or 1.0
    raw = span / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(lower / step) * step
    return [first + i * step for i in range(int((upper - first) // step) + 1)]


def _tick_label(value: float, kind: ColumnKind) -> str:
    if kind == ColumnKind.percent:
        return f"{value:g} %"
    return number(value, 0 if float(value).is_integer() else 1)


def chart_text(report: Report, data: Series, *, width: int = 80, colour: bool = False) -> str:
    """The chart as text (`colour`: keep plotext's ANSI colours)."""
    import plotext

    scale, unit = _scale(data.kind)
    # a value that cannot be computed (no calls that hour) has no bar, rather than a false 0
    points = [
        (label, value * scale)
        for label, value in zip(_short(data.labels), data.values, strict=True)
        if value is not None
    ]
    labels = [label for label, _v in points]
    values = [value for _l, value in points]
    sideways = not data.timeline
    height = min(MAX_HEIGHT, max(HEIGHT, 2 * len(labels) + 6)) if sideways else HEIGHT
    fig = plotext.figure
    fig.clear()
    plotext.terminal.limit(width=False, height=False)  # the caller sizes the chart
    fig.plot_size(width, height)
    fig.theme("default" if colour else "colorless")
    orientation = "horizontal" if sideways else "vertical"
    if sideways:  # plotext draws the first bar at the bottom: the report's first on top
        labels, values = labels[::-1], values[::-1]
    fig.draw(fig.bar(labels, values, orientation=orientation, width=0.6))
    lower, upper = _limits(values, data, scale)
    ruler = fig.ruler("x" if sideways else "y")
    ruler.lim(lower, upper)
    ticks = _ticks(lower, upper)
    ruler.ticks(ticks, [_tick_label(t, data.kind) for t in ticks])
    title = f"{data.title}, {unit}" if unit else data.title
    if data.target is not None:
        target = data.target * scale
        fig.line(target, orientation="vertical" if sideways else "horizontal")
        title += f" (цель {target:g}{' ' + unit if unit else ''})"
    fig.title(heading(report, title))
    text = str(fig.build())
    fig.clear()
    if not colour:
        text = _ANSI.sub("", text)
    return "\n".join(line.rstrip() for line in text.splitlines())
