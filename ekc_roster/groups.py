"""Staffing by operator group: which groups' requirements the staff on shift cannot meet.

A person on shift counts for any ONE of their groups in an hour. Whether every group's need
can be met is a bipartite b-matching: a max-flow per hour, source → skill set (capacity:
people on shift with exactly that set) → each group of the set → sink (capacity: the group's
need). Assigning people to groups one by one can be wrong (a person with two skills taken by
the first group that asks, when only they could serve the second); the flow is not.

The roster generator cannot afford a flow per hour inside CP-SAT (a variable per person,
group and hour); in its objective each shift of a person with several groups serves one of
them throughout (a variable per shift and group, chosen by the solver), with a soft
constraint per group and hour — the shifts serving the group ≥ its need, a penalty per
operator missing. That never counts a person twice, so it is never optimistic; the result is
judged with the exact flow.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING

from ekc_core.workforce_groups import GroupGap
from ekc_roster.model import Person, Problem
from ekc_roster.rules import Span

if TYPE_CHECKING:
    from ortools.sat.python import cp_model

Key = tuple[str, int, str]
#: in the objective, a person's shift serves one of their groups throughout (exact for
#: single-skilled staff, a little pessimistic for the others); False: each shift counts for
#: every group of the person (optimistic: the same person counted in several groups)
WHOLE_SHIFT = True  # (username, horizon day, template code), as in the solver


def served(need: Mapping[str, int], people: Iterable[frozenset[str]]) -> dict[str, int]:
    """How much of each group's `need` the `people` (each a set of groups) can meet, each
    person serving one group: a maximum flow, so the total is the largest possible."""
    wanted = {g: n for g, n in need.items() if n > 0}
    result = dict.fromkeys(need, 0)
    kinds = Counter(frozenset(g for g in p if g in wanted) for p in people)
    kinds.pop(frozenset(), None)
    if not wanted or not kinds:
        return result
    # loaded on the first check with groups, not when the server starts (~0.1 s)
    from ortools.graph.python import max_flow

    flow = max_flow.SimpleMaxFlow()
    source, sink = 0, 1
    group_node = {g: 2 + i for i, g in enumerate(sorted(wanted))}
    first_kind = 2 + len(group_node)
    arcs: dict[str, int] = {}
    for i, (kind, count) in enumerate(sorted(kinds.items(), key=lambda k: sorted(k[0]))):
        node = first_kind + i
        flow.add_arc_with_capacity(source, node, count)
        for g in sorted(kind):
            flow.add_arc_with_capacity(node, group_node[g], count)
    for g, node in group_node.items():
        arcs[g] = flow.add_arc_with_capacity(node, sink, wanted[g])
    if flow.solve(source, sink) != flow.OPTIMAL:  # pragma: no cover - capacities are small
        raise RuntimeError("max-flow failed")
    for g, arc in arcs.items():
        result[g] = flow.flow(arc)
    return result


def _shift_hours(
    problem: Problem, spans: Mapping[str, Iterable[Span]]
) -> Iterator[tuple[Person, int]]:
    """(person, hour of the month) for every hour each rostered person is on shift."""
    for username, placed in spans.items():
        person = problem.person.get(username)
        if person is None:
            continue
        for span in placed:
            for offset in span.template.covered_hours():
                h = problem.hour_of_month(span.day, offset)
                if h is not None:
                    yield person, h


def on_shift(problem: Problem, spans: Mapping[str, Iterable[Span]]) -> list[list[frozenset[str]]]:
    """For every hour of the month, the queues each person on shift in it serves (their
    groups, a merged group's mapped to the queue its calls are in: `Problem.queues`)."""
    hours: list[list[frozenset[str]]] = [[] for _ in range(problem.days * 24)]
    for person, h in _shift_hours(problem, spans):
        hours[h].append(problem.queues(person.groups, h))
    return hours


def shortfalls(
    problem: Problem, spans: Mapping[str, Iterable[Span]]
) -> tuple[dict[str, list[int]], dict[str, list[int]]]:
    """Per group and hour: operators missing (after the best assignment of everyone on
    shift), and staff on shift with the group's skill."""
    need = problem.group_required or {}
    short = {g: [0] * (problem.days * 24) for g in need}
    able = {g: [0] * (problem.days * 24) for g in need}
    seen: dict[tuple[tuple[int, ...], tuple[frozenset[str], ...]], dict[str, int]] = {}
    for h, people in enumerate(on_shift(problem, spans)):
        hour_need = {g: hourly[h] for g, hourly in need.items()}
        # many hours repeat (nights, the same shifts on the same weekday): one flow each
        key = (tuple(hour_need.values()), tuple(sorted(people, key=sorted)))
        done = seen.get(key)
        if done is None:
            done = seen[key] = served(hour_need, people)
        for g, n in hour_need.items():
            short[g][h] = max(0, n - done[g])
            able[g][h] = sum(1 for p in people if g in p)
    return short, able


def gaps(
    problem: Problem, short: Mapping[str, list[int]], able: Mapping[str, list[int]]
) -> list[GroupGap]:
    """Runs of short hours of one day per group, in group then date order."""
    need = problem.group_required or {}
    result: list[GroupGap] = []
    for g in sorted(short):
        for d in range(problem.days):
            day = problem.first + timedelta(days=d)
            start: int | None = None
            for hour in range(25):
                lack = short[g][d * 24 + hour] if hour < 24 else 0
                if lack and start is None:
                    start = hour
                if not lack and start is not None:
                    run = range(d * 24 + start, d * 24 + hour)
                    worst = max(run, key=lambda h: short[g][h])
                    result.append(
                        GroupGap(
                            group=g,
                            group_name=problem.group_names.get(g, g),
                            on_date=day,
                            from_hour=start,
                            to_hour=hour,
                            short=short[g][worst],
                            short_hours=sum(short[g][h] for h in run),
                            required=need[g][worst],
                            able=able[g][worst],
                        )
                    )
                    start = None
    return result


def uncovered(short: Mapping[str, list[int]]) -> tuple[int, int]:
    """(group-hours with anyone missing, operator-hours missing) over all groups."""
    return (
        sum(1 for hourly in short.values() for n in hourly if n > 0),
        sum(sum(hourly) for hourly in short.values()),
    )


def objective_terms(
    problem: Problem,
    model: cp_model.CpModel,
    x: Mapping[Key, cp_model.IntVar],
    fixed: Mapping[str, list[Span]],
    weight: int,
) -> list[cp_model.LinearExprT]:
    """Soft group coverage for the CP-SAT objective: per group and hour, `weight` per
    operator by which the shifts serving the group fall short of its need (see
    `WHOLE_SHIFT`). The previous month's shifts count for each of their person's groups."""
    need = problem.group_required
    if not need:
        return []
    holders: dict[tuple[str, int], list[cp_model.IntVar]] = defaultdict(list)
    already: Counter[tuple[str, int]] = Counter()
    for (u, d, c), v in x.items():
        hours = [
            h
            for offset in problem.templates[c].covered_hours()
            if (h := problem.hour_of_month(d, offset)) is not None
        ]
        # a group's calls are in another group's queue in the hours it is merged
        queue = {
            g: [problem.queues(frozenset({g}), h) for h in hours]
            for g in sorted(problem.person[u].groups)
        }
        groups = [
            g
            for g, qs in queue.items()
            if any(q in need and need[q][h] for h, q1 in zip(hours, qs, strict=True) for q in q1)
        ]
        if not groups:
            continue
        if WHOLE_SHIFT and len(groups) > 1:
            # the shift serves one of the person's groups (chosen by the solver)
            serve = [model.new_bool_var(f"serve_{u}_{d}_{c}_{g}") for g in groups]
            model.add(sum(serve) == v)
        else:
            serve = [v] * len(groups)
        for g, z in zip(groups, serve, strict=True):
            for h, qs in zip(hours, queue[g], strict=True):
                for q in qs:
                    if q in need and need[q][h] > 0:
                        holders[(q, h)].append(z)
    for person, h in _shift_hours(problem, fixed):
        for g in problem.queues(person.groups, h):
            already[(g, h)] += 1
    terms: list[cp_model.LinearExprT] = []
    for g, hourly in need.items():
        for h, n in enumerate(hourly):
            n -= already[(g, h)]
            if n <= 0 or not holders[(g, h)]:
                continue  # met, or nobody of this month can help (the check reports it)
            short = model.new_int_var(0, n, f"gshort_{g}_{h}")
            model.add(short >= n - sum(holders[(g, h)]))
            terms.append(weight * short)
    return terms
