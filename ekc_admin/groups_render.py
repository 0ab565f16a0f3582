"""Console output of staffing by operator group (issue 14): the groups' own requirements
next to the pooled one (`staffing requirements | show`), and the hours a roster leaves a
group short (`roster check | show | generate`)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from ekc_admin.context import out, plural
from ekc_core.workforce import RequirementsPublic
from ekc_core.workforce_groups import GroupGap, GroupRequirementPublic

#: runs listed per group before «… и ещё N»
MAX_RUNS = 8


def _ranges(hours: list[int]) -> str:
    """Hours of the day as ranges: [0, 1, 2, 7] → «00–03, 07–08»."""
    runs: list[tuple[int, int]] = []
    for h in sorted(hours):
        if runs and runs[-1][1] == h:
            runs[-1] = (runs[-1][0], h + 1)
        else:
            runs.append((h, h + 1))
    return ", ".join(f"{a:02d}–{b:02d}" for a, b in runs)


def merge_parts(g: GroupRequirementPublic) -> list[tuple[str, str]]:
    """Where the group's calls go in the hours it has no queue of its own, compactly: per
    target, the hours of the day merged every day and those merged on some days."""
    if not g.merged_into:
        return []
    n_days = len(g.merged_into) // 24
    parts: list[tuple[str, str]] = []
    for target in sorted({t for t in g.merged_into if t}):
        days_at = [
            sum(1 for d in range(n_days) if g.merged_into[d * 24 + h] == target) for h in range(24)
        ]
        every = [h for h, n in enumerate(days_at) if n == n_days]
        some = [h for h, n in enumerate(days_at) if 0 < n < n_days]
        when = []
        if every:
            when.append(f"{_ranges(every)} ежедневно")
        if some:
            when.append(f"{_ranges(some)} в части дней")
        total = plural(sum(days_at), "час", "часа", "часов")
        parts.append((target, f"{'; '.join(when)} — {total} месяца"))
    return parts


def merge_lines(groups: list[GroupRequirementPublic], names: dict[str, str]) -> list[str]:
    """One line per target and set of hours, naming every group merged so."""
    merged: dict[tuple[str, str], list[str]] = defaultdict(list)
    for g in groups:
        for target, when in merge_parts(g):
            merged[(target, when)].append(f"{g.name} ({g.code})")
    return [
        f"{', '.join(labels)} → "
        f"{f'{names[target]} ({target})' if target in names else target}: {when}"
        for (target, when), labels in merged.items()
    ]


def print_group_table(r: RequirementsPublic) -> None:
    """Each group's share, peak and operator-hours, where small groups' calls go, and both
    totals: by group and one pooled queue."""
    if not r.groups:
        return
    below = r.params.get("request", {}).get("merge_below_erlangs")
    out.print()
    if below:
        out.print(
            f"По группам операторов (группа с нагрузкой меньше {float(below):g} Эрл в час "
            "своей очереди не получает: её звонки принимает первая группа её переполнения):"
        )
    else:
        out.print("По группам операторов (каждая группа — своя очередь):")
    idle = [g for g in r.groups if g.share == 0 and g.operator_hours == 0]
    shown = [g for g in r.groups if g not in idle]
    width = max([28, *(len(f"{g.name} ({g.code})") for g in shown)])
    out.print(
        f"{'Группа':<{width}} {'Доля звонков':>12} {'Пик':>4} {'Опер.-часов':>12} "
        f"{'Своя очередь':>13}"
    )
    for g in shown:
        label = f"{g.name} ({g.code})"
        own = sum(1 for t in g.merged_into if not t) if g.merged_into else len(g.hourly)
        out.print(
            f"{label:<{width}} {g.share * 100:11.0f} % {max(g.hourly, default=0):4d} "
            f"{g.operator_hours:12d} {own:9d} ч",
            markup=False,
        )
    if idle:
        out.print("Без звонков в истории: " + ", ".join(f"{g.name} ({g.code})" for g in idle))
    merges = merge_lines(shown, {g.code: g.name for g in r.groups})
    if merges:
        out.print(
            "Звонки групп в часы без своей очереди (их принимают операторы группы-получателя: "
            "им нужны навыки этих групп, иначе звонок дойдёт до них только по шагу "
            "переполнения):"
        )
        for line in merges:
            out.print(f"  {line}", markup=False)
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
