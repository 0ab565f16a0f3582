"""The main series of a report drawn in the terminal with plotext, for people who would rather
look than read: bars per row (horizontal when the labels are long or many, such as offices
or operators), the target as a line, percent in percent and durations in minutes.
"""

from __future__ import annotations

import re

from ekc_admin.report_render import Series, period_text
from ekc_core.reports import ColumnKind, Report

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
#: labels longer than this, or more of them than fit under the bars, turn the bars sideways
LONG_LABEL = 8
HEIGHT = 20
MAX_HEIGHT = 48


def _scale(kind: ColumnKind) -> tuple[float, str]:
    """Multiplier and unit of the drawn values."""
    if kind == ColumnKind.percent:
        return 100.0, "%"
    if kind == ColumnKind.seconds:
        return 1 / 60, "мин"
    return 1.0, ""


def _short(label: str, width: int) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"


def chart_text(report: Report, data: Series, *, width: int = 80, colour: bool = False) -> str:
    """The chart as text (`colour`: keep plotext's ANSI colours)."""
    import plotext

    fig = plotext.figure
    fig.clear()
    scale, unit = _scale(data.kind)
    # a value that cannot be computed (no calls that hour) has no bar, rather than a false 0
    points = [
        (lab, v * scale) for lab, v in zip(data.labels, data.values, strict=True) if v is not None
    ]
    labels = [lab for lab, _v in points]
    values = [v for _lab, v in points]
    sideways = data.profile or (
        max((len(lab) for lab in labels), default=0) > LONG_LABEL
        or len(labels) * (LONG_LABEL + 1) > width
    )
    if sideways and not data.profile and len(labels) * 2 + 6 > MAX_HEIGHT:
        sideways = max(len(lab) for lab in labels) > LONG_LABEL
    height = min(MAX_HEIGHT, max(HEIGHT, len(labels) * 2 + 6)) if sideways else HEIGHT
    fig.plot_size(width, height)
    fig.theme("default" if colour else "colorless")
    shown = [_short(lab, 24) for lab in labels]
    if sideways:
        fig.draw(fig.bar(shown, values, orientation="horizontal"))
    else:
        fig.draw(fig.bar(shown, values))
    if data.target is not None:
        target = data.target * scale
        fig.line(
            target,
            orientation="vertical" if sideways else "horizontal",
            label=f"цель {target:g} {unit}".rstrip(),
        )
    title = f"{data.title}, {unit}" if unit else data.title
    fig.title(f"{title}: {period_text(report)}")
    text = str(fig.build())
    fig.clear()
    if not colour:
        text = _ANSI.sub("", text)
    return "\n".join(line.rstrip() for line in text.splitlines())
