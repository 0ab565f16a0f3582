"""Roster generation with OR-Tools CP-SAT.

One boolean per person, day of the month and shift kind. The rules come from
`ekc_roster.rules` (the checker uses the same functions). Coverage of the hourly requirement
is a hard constraint first; if CP-SAT proves that infeasible or finds nothing within half
the time limit, a second model makes coverage soft and reports every gap instead of failing.

Objective, in order of weight: operators missing (soft phase only), operators of an
operator group missing (`ekc_roster.groups`), hours under each person's norm, nights /
weekends / public holidays away from each person's fair share (proportional to their
norm), and wishes not granted.
"""

from __future__ import annotations

import math
import os
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from ortools.sat.python import cp_model

from ekc_core.workforce import CoverageGap
from ekc_roster.checker import CheckResult, check
from ekc_roster.greedy import first_roster
from ekc_roster.groups import objective_terms
from ekc_roster.model import DAY, LOOKBACK_DAYS, Assignment, Problem, RosterInfeasibleError
from ekc_roster.rules import (
    Span,
    absence_overlap,
    impossible_requirement,
    night_forbidden,
    occupied,
    overlaps,
    pair_conflict,
    required_in_reach,
    weekly_rest_windows,
)

#: objective weights (per operator-hour missing, per operator-hour of a group missing, per
#: minute under the norm, per shift away from the fair share, per wish not granted)
W_SHORT = 100_000
W_GROUP = 1_000
W_UNDER = 1
W_FAIR = 120
W_WISH = 240

Key = tuple[str, int, str]  # (username, horizon day, template code)


@dataclass
class Outcome:
    """What the generator produced and how it got there."""

    assignments: list[Assignment]
    result: CheckResult
    phase: str
    """`hard` (coverage held as a constraint) or `soft` (coverage with gaps allowed)."""
    status: str
    """CP-SAT status of the final phase: OPTIMAL or FEASIBLE."""
    objective: float
    best_bound: float
    wall_seconds: float
    first_solution_seconds: float | None
    first_gap_free_seconds: float | None
    """Seconds until the first roster meeting the whole requirement (None: never)."""
    workers: int
    notes: list[str] = field(default_factory=list)
    last_improvement_seconds: float | None = None
    """When the final phase last found a better roster (seconds into that phase)."""
    suggested_time_limit: float | None = None
    """Set when a longer search would likely leave fewer hours under the norms."""

    @property
    def gap(self) -> float | None:
        """Relative distance of the objective from CP-SAT's proven bound (0: optimal)."""
        if not (math.isfinite(self.objective) and math.isfinite(self.best_bound)):
            return None
        if self.objective <= 0:
            return 0.0
        return max(0.0, (self.objective - self.best_bound) / self.objective)

    @property
    def under_norm_hours(self) -> float:
        """Hours of all people under their norms (the objective's main term)."""
        return sum(max(0.0, p.norm_hours - p.hours) for p in self.result.people)

    def report(self) -> dict[str, object]:
        return {
            "phase": self.phase,
            "status": self.status,
            # NaN when the solver found nothing better than the first roster: JSON has no
            # NaN (PostgreSQL refuses it in a JSON column, and so does a JSON answer)
            "objective": _finite(self.objective),
            "best_bound": _finite(self.best_bound),
            "wall_seconds": round(self.wall_seconds, 3),
            "first_solution_seconds": _round(self.first_solution_seconds),
            "first_gap_free_seconds": _round(self.first_gap_free_seconds),
            "workers": self.workers,
            "short_operator_hours": self.result.short_hours,
            "under_norm_hours": round(self.under_norm_hours, 1),
            "gap": None if self.gap is None else round(self.gap, 4),
            "last_improvement_seconds": _round(self.last_improvement_seconds),
            "suggested_time_limit": self.suggested_time_limit,
            "notes": self.notes,
        } | self._groups()

    def _groups(self) -> dict[str, object]:
        """Group coverage, when the requirement has operator groups (`ekc_roster.groups`)."""
        if not self.result.group_short:
            return {}
        hours, missing = self.result.uncovered_group_hours
        return {"uncovered_group_hours": hours, "group_short_operator_hours": missing}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


class _Watch(cp_model.CpSolverSolutionCallback):
    def __init__(self, started: float, shortfall: list[cp_model.IntVar] | None) -> None:
        super().__init__()
        self.started = started
        self.shortfall = shortfall
        self.first: float | None = None
        self.first_gap_free: float | None = None
        self.trace: list[tuple[float, float]] = []
        """(seconds, objective) of every improving solution."""

    def on_solution_callback(self) -> None:
        now = time.perf_counter() - self.started
        if self.first is None:
            self.first = now
        self.trace.append((now, self.objective_value))
        if self.first_gap_free is None and (
            self.shortfall is None or all(self.value(v) == 0 for v in self.shortfall)
        ):
            self.first_gap_free = now


@dataclass
class _Model:
    model: cp_model.CpModel
    x: dict[Key, cp_model.IntVar]
    shortfall: list[cp_model.IntVar] | None


def _build(
    problem: Problem, *, hard_coverage: bool, optimise: bool = True, groups: bool = True
) -> _Model:
    """The CP-SAT model; without `optimise` only the rules and the coverage (no objective):
    CP-SAT finds a first lawful roster of such a model far sooner. `groups`: the operator
    groups' coverage in the objective."""
    model = cp_model.CpModel()
    rules = problem.rules
    month_days = range(LOOKBACK_DAYS, LOOKBACK_DAYS + problem.days)
    fixed: dict[str, list[Span]] = defaultdict(list)
    for a in problem.before:
        if a.template_code in problem.templates and a.username in problem.person:
            fixed[a.username].append(
                Span(problem.day_index(a.on_date), problem.templates[a.template_code])
            )

    x: dict[Key, cp_model.IntVar] = {}
    for person in problem.people:
        u = person.username
        for d in month_days:
            for code, t in problem.templates.items():
                span = Span(d, t)
                if night_forbidden(problem, u, t) or absence_overlap(problem, u, span):
                    continue
                if any(pair_conflict(rules, f, span) for f in fixed[u]):
                    continue
                x[(u, d, code)] = model.new_bool_var(f"x_{u}_{d}_{code}")

    by_person: dict[str, dict[tuple[int, str], cp_model.IntVar]] = defaultdict(dict)
    for (u, d, c), v in x.items():
        by_person[u][(d, c)] = v
    objective: list[cp_model.LinearExprT] = []
    for person in problem.people:
        u = person.username
        mine = by_person[u]
        # rest between shifts (ст.103, ст.107): the shifts whose occupied stretch (shift +
        # rest owed) covers a moment clash pairwise, so one "at most one" per moment
        stretches = [
            (occupied(rules, Span(d, problem.templates[c])), v) for (d, c), v in mine.items()
        ]
        moments = sorted({lo for (lo, _), _ in stretches})
        seen: set[frozenset[int]] = set()
        for moment in moments:
            clique = [v for (lo, hi), v in stretches if lo <= moment < hi]
            key = frozenset(v.index for v in clique)
            if len(clique) > 1 and key not in seen:
                seen.add(key)
                model.add_at_most_one(clique)
        # weekly uninterrupted rest (ст.110): one free candidate window per week
        for monday in problem.weeks():
            choices: list[cp_model.IntVar] = []
            trivially_free = False
            for lo, hi in weekly_rest_windows(problem, monday):
                if any(overlaps(f, lo, hi) for f in fixed[u]):
                    continue
                inside = [
                    v
                    for (d, c), v in mine.items()
                    if overlaps(Span(d, problem.templates[c]), lo, hi)
                ]
                if not inside:
                    trivially_free = True
                    break
                free = model.new_bool_var(f"rest_{u}_{monday:%m%d}_{lo}")
                for v in inside:
                    model.add_implication(free, v.Not())
                choices.append(free)
            if not trivially_free:
                model.add_bool_or(choices)  # empty → this person cannot be rostered lawfully
        # the month's norm (ст.104) as a ceiling: no planned overtime (ст.99)
        norm = problem.norm_minutes(u)
        worked = sum(problem.templates[c].work_minutes * v for (_, c), v in mine.items())
        model.add(worked <= norm)
        if not optimise:
            continue
        under = model.new_int_var(0, max(norm, 0), f"under_{u}")
        model.add(under >= norm - worked)
        objective.append(W_UNDER * under)
        # wishes (soft)
        for wish in problem.preferences_of(u):
            for d in month_days:
                day = problem.horizon_start + timedelta(days=d)
                if not wish.applies(day):
                    continue
                hits = [
                    v
                    for (dd, c), v in mine.items()
                    if dd == d and (wish.template_code is None or c == wish.template_code)
                ]
                if wish.kind == "off":
                    objective.extend(W_WISH * v for v in hits)
                else:
                    objective.append(W_WISH * (1 - sum(hits)))

    if optimise:
        objective += _fairness(problem, model, x)
    if optimise and groups:
        objective += objective_terms(problem, model, x, fixed, W_GROUP)

    # coverage of the hourly requirement
    shortfall: list[cp_model.IntVar] | None = None
    if problem.required is not None:
        on_shift: dict[int, list[cp_model.IntVar]] = defaultdict(list)
        fixed_count: dict[int, int] = defaultdict(int)
        for (_, d, c), v in x.items():
            for offset in problem.templates[c].covered_hours():
                h = problem.hour_of_month(d, offset)
                if h is not None:
                    on_shift[h].append(v)
        for spans in fixed.values():
            for s in spans:
                for offset in s.template.covered_hours():
                    h = problem.hour_of_month(s.day, offset)
                    if h is not None:
                        fixed_count[h] += 1
        shortfall = []
        for h, need in enumerate(required_in_reach(problem) or []):
            need -= fixed_count[h]
            if need <= 0 or not on_shift[h]:
                continue  # met, or only the previous month's shifts staff it (a gap if short)
            cover = sum(on_shift[h])
            if hard_coverage:
                model.add(cover >= need)
            else:
                short = model.new_int_var(0, need, f"short_{h}")
                model.add(short >= need - cover)
                shortfall.append(short)
                objective.append(W_SHORT * short)
        if hard_coverage:
            shortfall = None
    if optimise:
        model.minimize(sum(objective))
    return _Model(model=model, x=x, shortfall=shortfall)


def _fairness(
    problem: Problem, model: cp_model.CpModel, x: dict[Key, cp_model.IntVar]
) -> list[cp_model.LinearExprT]:
    """Nights, weekend days and public holidays shared in proportion to each person's norm:
    |n_p − ⌊T·w_p / W⌋| per person, where T is the category's total and w the norms."""
    terms: list[cp_model.LinearExprT] = []
    rules = problem.rules
    categories: dict[str, Callable[[int, str], bool]] = {
        "night": lambda d, c: problem.templates[c].night_minutes(rules) > 0,
        "weekend": lambda d, c: problem.is_weekend(problem.horizon_start + timedelta(days=d)),
        "holiday": lambda d, c: problem.is_holiday(problem.horizon_start + timedelta(days=d)),
    }
    for name, member in categories.items():
        counts: dict[str, list[cp_model.IntVar]] = defaultdict(list)
        for (u, d, c), v in x.items():
            if member(d, c):
                counts[u].append(v)
        people = [p.username for p in problem.people if counts.get(p.username)]
        if len(people) < 2:
            continue
        weights = {u: max(1, round(problem.norm_minutes(u) / 60)) for u in people}
        total_weight = sum(weights.values())
        top = sum(len(counts[u]) for u in people)
        total = model.new_int_var(0, top, f"total_{name}")
        model.add(total == sum(v for u in people for v in counts[u]))
        for u in people:
            share = model.new_int_var(0, top, f"share_{name}_{u}")
            model.add_division_equality(share, total * weights[u], total_weight)
            dev = model.new_int_var(0, top, f"dev_{name}_{u}")
            n = sum(counts[u])
            model.add(dev >= n - share)
            model.add(dev >= share - n)
            terms.append(W_FAIR * dev)
    return terms


def _solve(
    built: _Model, *, seconds: float, workers: int, seed: int, hint: set[Key] | None
) -> tuple[cp_model.CpSolver, cp_model.CpSolverStatus, _Watch]:
    began = time.perf_counter()
    if hint is not None:  # within the time given (the groups' variables make it longer)
        _complete_hint(built, hint, workers=workers)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.1, seconds - (time.perf_counter() - began))
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = seed
    watch = _Watch(time.perf_counter(), built.shortfall)
    status = solver.solve(built.model, watch)
    return solver, status, watch


def _complete_hint(built: _Model, chosen: set[Key], *, workers: int) -> None:
    """Hint every variable, not only the shifts: CP-SAT rarely completes a partial hint of a
    model this size in time. The auxiliary values come from solving a copy of the model with
    the shifts fixed (a fraction of a second); a hint that breaks the model is left out."""
    fixed = built.model.clone()
    for key, v in built.x.items():
        fixed.add(fixed.get_bool_var_from_proto_index(v.index) == int(key in chosen))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = 5.0
    solver.parameters.num_workers = workers
    if solver.solve(fixed) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return
    built.model.clear_hints()  # type: ignore[no-untyped-call]
    for i in range(len(built.model.proto.variables)):
        built.model.add_hint(
            built.model.get_int_var_from_proto_index(i),
            solver.value(fixed.get_int_var_from_proto_index(i)),
        )


def _assignments(problem: Problem, built: _Model, solver: cp_model.CpSolver) -> list[Assignment]:
    result = []
    for (u, d, c), v in built.x.items():
        if solver.boolean_value(v):
            result.append(Assignment(u, problem.horizon_start + timedelta(days=d), c))
    return sorted(result)


def _own_gaps(result: CheckResult) -> list[CoverageGap]:
    return [g for g in result.gaps if not g.previous_roster]


def generate(
    problem: Problem,
    *,
    time_limit: float = 20.0,
    workers: int | None = None,
    seed: int = 0,
    groups: bool = True,
) -> Outcome:
    """A roster for every person of the problem, checked with the rule set before returning.

    1. a quick lawful construction (`ekc_roster.greedy`);
    2. if it leaves gaps: CP-SAT on the rules and hard coverage alone (no objective), for up
       to half the time — a gap-free roster, or a proof that none exists;
    3. CP-SAT with the objective from the best roster so far: hard coverage when a gap-free
       roster is known, soft coverage (every gap reported) otherwise.

    `groups=False` leaves the operator groups' coverage out (the roster before issue 14).
    """
    workers = workers or max(1, os.cpu_count() or 1)
    started = time.perf_counter()
    notes: list[str] = []
    start = first_roster(problem, groups=groups)
    start_check = check(problem, start)
    # gaps only the previous month's roster can close (the night of the 1st) stay reported,
    # but no roster of this month can do better there
    start_ok = start_check.lawful and not _own_gaps(start_check)
    elapsed = time.perf_counter() - started
    first: float | None = elapsed if start_check.lawful else None
    first_gap_free: float | None = elapsed if start_ok else None

    def left() -> float:
        return time_limit - (time.perf_counter() - started)

    def keys(roster: list[Assignment]) -> set[Key]:
        return {(a.username, problem.day_index(a.on_date), a.template_code) for a in roster}

    if not start_ok:
        # coverage as a hard constraint, rules only: CP-SAT answers this far sooner than
        # with the objective (a first lawful gap-free roster, or a proof there is none)
        offset = time.perf_counter() - started
        feasible = _build(problem, hard_coverage=True, optimise=False)
        solver, status, watch = _solve(
            feasible, seconds=left() / 2, workers=workers, seed=seed, hint=None
        )
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            start, start_ok = _assignments(problem, feasible, solver), True
            first_gap_free = (watch.first_gap_free or solver.wall_time) + offset
            first = first if first is not None else first_gap_free
        elif status == cp_model.INFEASIBLE:
            notes.append(
                "покрыть потребность целиком нельзя при этих правилах, составе и отпусках "
                f"(доказано за {solver.wall_time:.1f} с): график построен с нехваткой"
            )
        else:
            notes.append(
                "за половину отведённого времени график без нехватки не найден: "
                "график построен с нехваткой"
            )

    phase = "hard" if start_ok else "soft"
    built = _build(problem, hard_coverage=start_ok, groups=groups)
    phase_seconds = max(1.0, left())
    solver, status, watch = _solve(
        built, seconds=phase_seconds, workers=workers, seed=seed, hint=keys(start)
    )
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        assignments = _assignments(problem, built, solver)
        objective, bound = solver.objective_value, solver.best_objective_bound
        status_name = solver.status_name(status)
    elif start_ok or start_check.lawful:
        notes.append("CP-SAT не улучшил первое решение за отведённое время")
        assignments, objective, bound = start, float("nan"), float("nan")
        status_name = "FEASIBLE"
    else:
        raise RosterInfeasibleError(
            "график не построен даже с нехваткой: проверьте отпуска, ночную работу и "
            "смены конца прошлого месяца (ekc-admin roster check)"
        )

    result = check(problem, assignments)
    outcome = Outcome(
        assignments=assignments,
        result=result,
        phase=phase,
        status=status_name,
        objective=objective,
        best_bound=bound,
        wall_seconds=time.perf_counter() - started,
        first_solution_seconds=first,
        first_gap_free_seconds=first_gap_free,
        workers=workers,
        notes=notes,
        last_improvement_seconds=watch.trace[-1][0] if watch.trace else None,
    )
    if status_name != "OPTIMAL":
        _judge_search(outcome, watch.trace, phase_seconds, time_limit)
    return outcome


#: a search is worth extending when the objective is this far from the proven bound …
MATERIAL_GAP = 0.05
#: … and it was still improving: this much better over the second half of the time than at
#: its middle,
HALF_GAIN = 0.02
#: or, when its first roster came after half time, a better one in the final quarter
LATE_SHARE = 0.75
#: hours under the norms below this are not worth a longer wait
MATERIAL_UNDER_HOURS = 8.0
#: the longest search a generate request may ask for (`RosterGenerateRequest`)
MAX_TIME_LIMIT = 600


def _judge_search(
    outcome: Outcome, trace: list[tuple[float, float]], seconds: float, time_limit: float
) -> None:
    """Suggest a longer search when one would likely help: the search stopped on the time
    limit while still improving, far from its proven bound, with hours under the norms."""
    under = outcome.under_norm_hours
    gap = outcome.gap
    if not trace or gap is None:
        return
    last = trace[-1][0]
    middle = [value for t, value in trace if t <= seconds / 2]
    gain = (middle[-1] - trace[-1][1]) / middle[-1] if middle and middle[-1] > 0 else 0.0
    # no roster by half time: the search is young if it still found one late; otherwise it
    # must have gained materially over its second half (a trickle of tiny gains is not it)
    still_improving = gain >= HALF_GAIN if middle else last >= LATE_SHARE * seconds
    if gap >= MATERIAL_GAP and still_improving and under >= MATERIAL_UNDER_HOURS:
        suggested = float(min(MAX_TIME_LIMIT, max(60, round(3 * time_limit))))
        if suggested <= time_limit:
            return  # already the longest search the API allows
        outcome.suggested_time_limit = suggested
        at, of = (f"{v:.1f}".replace(".", ",") for v in (last, seconds))
        outcome.notes.append(
            f"поиск остановлен по времени ещё в ходе улучшений (последнее — на {at} с из "
            f"{of}; за вторую половину времени штраф снизился на {gain:.0%}, до "
            f"доказанной нижней оценки {gap:.0%}): ниже норм {under:.0f} ч в сумме, дольше "
            f"поиск, вероятно, сократит недобор — --time-limit {suggested:.0f}"
        )


__all__ = ["DAY", "Outcome", "RosterInfeasibleError", "generate", "impossible_requirement"]
