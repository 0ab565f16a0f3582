"""Validate the staffing-by-group rule on a simulated day: staff the demo day hour by hour
with the per-group numbers and check each group's service level in the simulation.

The day of `bench/routing_day.py` (2,600 calls by the demo centre's hour profile and topic
mix, handle times per topic, patience 90 s, lines 122/117). For every hour, each group's
expected calls and load (calls × its mean handle time) go through the rule of
`ekc_roster.group_merge` with the shipped routing table: a group below the threshold joins
its first overflow target's queue. Each queue kept gets the Erlang C agents for 80/20 (its
calls, its calls' mean handle time) — on the phones, so no shrinkage and no floor — and is
staffed with that many simulated operators in that hour. An operator of a queue carries, in
each hour, its group's skill and those of the groups merged into it then (multi-skilled
staff, given the skills the plan puts them on);
`--plain` gives them only their own group's skill (merged calls then reach them only by the
overflow step, 60 s). The routed simulation (`ekc_roster.routing_day`, the backend's rank)
then says per call group: offered, answered within 20 s, wait, abandoned, answered outside
the group. Threshold 0 is every group its own queue (the first round); the last line is one
pooled queue (every operator takes the oldest call, all skills) with the pooled Erlang C.
`--erlang-a` sizes every queue with Erlang A (patience 90 s, as the simulated callers).

    python bench/group_staffing_day.py [--calls 2600] [--seed 1] [--seeds 5]
        [--below 0 --below 0.5 --below 1 --below 2] [--outside-factor 1.25] [--plain]
        [--erlang-a]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass

# the day's calls and the shipped table, as bench/routing_day.py makes them (same folder)
from routing_day import HANDLE_MEAN, HANDLE_OTHER, make_day, routing_table

from ekc_core.reference_data import INBOUND_TOPIC_WEIGHTS
from ekc_core.routing import RoutingTable
from ekc_roster.erlang import required_agents
from ekc_roster.group_merge import merge_map
from ekc_roster.routing_day import GroupStats, Operator, Policy, simulate_day, summarise
from ekc_server.demo_queue import PATIENCE_SECONDS
from ekc_server.demo_traffic import HOUR_PROFILE

TARGET, WITHIN = 0.8, 20
#: Erlang A's patience when `--erlang-a` (the simulated callers' mean)
PATIENCE: float | None = None


@dataclass
class Plan:
    """One day's staffing: per queue and hour the agents, and where each group's calls go."""

    agents: dict[str, list[int]]
    into: list[dict[str, str]]

    @property
    def operator_hours(self) -> int:
        return sum(sum(hourly) for hourly in self.agents.values())

    def own_hours(self, group: str) -> int:
        return sum(1 for hour in self.into if hour.get(group, group) == group)


def expected(table: RoutingTable, calls: int) -> tuple[dict[str, list[float]], dict[str, float]]:
    """Per group: expected calls in each hour, and the mean handle time of its calls."""
    weights = dict(INBOUND_TOPIC_WEIGHTS)
    total_w, total_h = sum(weights.values()), sum(HOUR_PROFILE)
    share: dict[str, float] = defaultdict(float)
    handle: dict[str, float] = defaultdict(float)
    for topic, w in weights.items():
        g = table.group_for_topic(topic)
        share[g] += w / total_w
        handle[g] += w / total_w * HANDLE_MEAN.get(topic.partition(".")[0], HANDLE_OTHER)
    hourly = {g: [calls * s * p / total_h for p in HOUR_PROFILE] for g, s in share.items()}
    return hourly, {g: handle[g] / share[g] for g in share}


def plan(
    table: RoutingTable, hourly: dict[str, list[float]], handle: dict[str, float], below: float
) -> Plan:
    agents: dict[str, list[int]] = {g: [0] * 24 for g in hourly}
    into_all: list[dict[str, str]] = []
    for h in range(24):
        loads = {g: hourly[g][h] * handle[g] / 3600 for g in hourly}
        into = merge_map(table, loads, below)
        into_all.append(into)
        queue_calls: dict[str, float] = defaultdict(float)
        queue_load: dict[str, float] = defaultdict(float)
        for g, q in into.items():
            queue_calls[q] += hourly[g][h]
            queue_load[q] += loads[g]
        for q, n in queue_calls.items():
            if n > 0:
                aht = queue_load[q] * 3600 / n
                agents[q][h] = required_agents(
                    n,
                    3600,
                    aht,
                    target_sl=TARGET,
                    answer_within_seconds=WITHIN,
                    patience_seconds=PATIENCE,
                )
    return Plan(agents, into_all)


def crew(p: Plan, plain: bool) -> list[Operator]:
    """Operator i of a queue is on duty in the hours the queue needs more than i agents, with
    the skills of that hour's queue: its group and the groups merged into it then (`plain`:
    its group only). A change of skills starts a new simulated operator (who may overlap the
    previous one by the rest of a call in hand)."""
    ops: list[Operator] = []
    for q, hourly in p.agents.items():
        for i in range(max(hourly, default=0)):
            runs: list[tuple[frozenset[str], set[int]]] = []
            for h in range(24):
                if hourly[h] <= i:
                    continue
                skills = {q} if plain else {q} | {g for g, t in p.into[h].items() if t == q}
                if runs and runs[-1][0] == skills and h - 1 in runs[-1][1]:
                    runs[-1][1].add(h)
                else:
                    runs.append((frozenset(skills), {h}))
            for n, (skills_run, hours) in enumerate(runs):
                ops.append(Operator(f"{q}-{i + 1}.{n + 1}", skills_run, frozenset(hours)))
    return ops


def pooled(hourly: dict[str, list[float]], handle: dict[str, float], table: RoutingTable) -> Plan:
    agents = [0] * 24
    for h in range(24):
        n = sum(hourly[g][h] for g in hourly)
        load = sum(hourly[g][h] * handle[g] / 3600 for g in hourly)
        agents[h] = required_agents(
            n,
            3600,
            load * 3600 / n,
            target_sl=TARGET,
            answer_within_seconds=WITHIN,
            patience_seconds=PATIENCE,
        )
    return Plan({table.general: agents}, [{} for _ in range(24)])


def _spread(values: list[float]) -> str:
    return f"{statistics.mean(values):6.1%} ({min(values):.1%}–{max(values):.1%})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=2600)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--below", type=float, action="append", help="thresholds, Erlangs")
    parser.add_argument("--outside-factor", type=float, default=1.25)
    parser.add_argument("--plain", action="store_true", help="no multi-skilled staff")
    parser.add_argument(
        "--erlang-a", action="store_true", help="size with Erlang A (the callers' patience)"
    )
    args = parser.parse_args()
    global PATIENCE
    PATIENCE = PATIENCE_SECONDS if args.erlang_a else None
    if args.calls < 1 or args.seeds < 1 or not args.outside_factor >= 1:
        sys.exit("--calls and --seeds from 1, --outside-factor from 1")
    thresholds = args.below or [0.0, 0.5, 1.0, 2.0]
    table = routing_table()
    hourly, handle = expected(table, args.calls)
    days = [make_day(table, args.calls, dict(INBOUND_TOPIC_WEIGHTS), args.seed + n)
            for n in range(args.seeds)]  # fmt: skip
    order = sorted(hourly, key=lambda g: -sum(hourly[g]))
    one = pooled(hourly, handle, table)
    started = time.perf_counter()
    print(
        f"{args.calls} calls a day, {args.seeds} days (seeds {args.seed}..), "
        f"{'Erlang A' if PATIENCE else 'Erlang C'} "
        f"{TARGET:.0%}/{WITHIN} per queue, outside factor {args.outside_factor:g}, "
        f"{'single-skilled' if args.plain else 'multi-skilled'} staff of merged queues; "
        f"SL20 per call group, mean (min–max) over the days"
    )
    for below in thresholds:
        p = plan(table, hourly, handle, below)
        ops = crew(p, args.plain)
        per_group: dict[str, list[GroupStats]] = defaultdict(list)
        totals: list[GroupStats] = []
        for calls in days:
            groups, total = summarise(
                simulate_day(table, ops, calls, Policy.ROUTED, outside_factor=args.outside_factor)
            )
            for g in order:
                per_group[g].append(groups.get(g, GroupStats()))
            totals.append(total)
        print(
            f"\nthreshold {below:g} Erlang: {p.operator_hours} agent-hours "
            f"(one pooled queue {one.operator_hours}, "
            f"{(p.operator_hours - one.operator_hours) / one.operator_hours:+.0%})"
        )
        print(f"  {'group':<11}{'calls':>6} {'own h':>6}  SL20 mean (min–max)    aband.  outside")
        for g in order:
            stats = per_group[g]
            print(
                f"  {g:<11}{sum(hourly[g]):6.0f} {p.own_hours(g):6d}  "
                f"{_spread([s.service_level for s in stats])}  "
                f"{statistics.mean(s.abandoned_share for s in stats):6.1%}  "
                f"{statistics.mean(s.outside_share for s in stats):6.1%}"
            )
        print(
            f"  {'total':<11}{args.calls:6d} {'':>6}  {_spread([t.service_level for t in totals])}"
            f"  {statistics.mean(t.abandoned_share for t in totals):6.1%}  "
            f"{statistics.mean(t.outside_share for t in totals):6.1%}"
        )
    everyone = frozenset(table.groups)
    ops = [
        Operator(f"pool-{i + 1}", everyone, frozenset(h for h, n in enumerate(a) if n > i))
        for a in [one.agents[table.general]]
        for i in range(max(a))
    ]
    pooled_sl = [
        summarise(simulate_day(table, ops, calls, Policy.SINGLE))[1].service_level for calls in days
    ]
    print(
        f"\none pooled queue, everyone all skills: {one.operator_hours} agent-hours, "
        f"SL20 {_spread(pooled_sl)}"
    )
    print(f"simulated in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
