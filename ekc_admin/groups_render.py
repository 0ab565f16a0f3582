"""Console output of staffing by operator group (issue 14): the groups' own requirements
next to the pooled one (`staffing requirements | show`), and the hours a roster leaves a
group short (`roster check | show | generate`)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from ekc_admin.context import out, plural
from ekc_core.workforce import RequirementsPublic
from ekc_core.workforce_groups import GroupGap

#: runs listed per group before «… и ещё N»
MAX_RUNS = 8


def print_group_table(r: RequirementsPublic) -> None:
    """Each group's share, peak and operator-hours, and the cost of splitting the queue."""
    if not r.groups:
        return
    out.print()
    out.print("По группам операторов (каждая группа — своя очередь):")
    out.print(f"{'Группа':<28} {'Доля звонков':>12} {'Пик':>4} {'Опер.-часов':>12}")
    for g in r.groups:
        label = f"{g.name} ({g.code})"
        out.print(
            f"{label:<28} {g.share * 100:11.0f} % {max(g.hourly, default=0):4d} "
            f"{g.operator_hours:12d}",
            markup=False,
        )
    split = sum(g.operator_hours for g in r.groups)
    extra = split - r.operator_hours
    share = f" (+{extra / r.operator_hours:.0%})" if r.operator_hours and extra > 0 else ""
    out.print(
        f"Сумма по группам: {split} операторо-часов; одна общая очередь: {r.operator_hours}. "
        f"Разделение на группы стоит {max(extra, 0)} операторо-часов{share}."
    )


def print_group_gaps(gaps: list[GroupGap]) -> None:
    """Per group: hours short and by how many, runs of hours day by day, compact."""
    if not gaps:
        return
    by_group: dict[str, list[GroupGap]] = defaultdict(list)
    for gap in gaps:
        by_group[gap.group].append(gap)
    hours = sum(g.to_hour - g.from_hour for g in gaps)
    out.print(
        "[bold red]Группы без покрытия: "
        f"{plural(len(by_group), 'группа', 'группы', 'групп')}, "
        f"{plural(hours, 'группо-час', 'группо-часа', 'группо-часов')}[/] "
        "(сотрудник с несколькими группами считается в одной из них за раз):"
    )
    for code, runs in by_group.items():
        name = runs[0].group_name or code
        short_hours = sum(g.to_hour - g.from_hour for g in runs)
        missing = sum(g.short_hours for g in runs)
        listed = ", ".join(
            f"{g.on_date:%d.%m} {g.from_hour:02d}–{g.to_hour:02d} −{g.short}"
            for g in runs[:MAX_RUNS]
        )
        more = f" … и ещё {len(runs) - MAX_RUNS}" if len(runs) > MAX_RUNS else ""
        out.print(
            f"  {name} ({code}): {plural(short_hours, 'час', 'часа', 'часов')}, "
            f"не хватает {missing} опер.-ч, до {max(g.short for g in runs)} в час: "
            f"{listed}{more}",
            markup=False,
        )


def group_summary(solver: dict[str, Any]) -> str | None:
    """The generate summary's line on group coverage (None: the requirement has no groups)."""
    if "uncovered_group_hours" not in solver:
        return None
    hours = int(solver.get("uncovered_group_hours") or 0)
    if hours == 0:
        return "Покрытие групп: все группы покрыты в каждый час."
    missing = int(solver.get("group_short_operator_hours") or 0)
    return (
        f"Покрытие групп: без покрытия "
        f"{plural(hours, 'группо-час', 'группо-часа', 'группо-часов')}, "
        f"не хватает {missing} операторо-часов (подробно: ekc-admin roster check)."
    )
