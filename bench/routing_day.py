"""A simulated day of the centre's calls through the routing by topic, against one queue.

The same calls twice (`ekc_roster.routing_day`): routed by the shipped routing table
(`data/reference/routing.yaml` over the topic tree) with the backend's own
`RoutingTable.member_groups` / `rank`, and through one queue (every operator takes the oldest
call). 20 operators in 4 groups, all on shift the whole day. Calls arrive by the demo
centre's hour-of-day profile (`ekc_server.demo_traffic.HOUR_PROFILE`) with its topic mix (SVO
45 %; `--mix`/`--topic` as in `ekc-admin simulate contacts` for a surge), lines 122/117
80/20; handling time per topic (log-normal, mean below; an operator outside the call's group
takes `--outside-factor` times as long); callers' patience exponential, mean 90 s (the demo
queue's). Prints per call group: offered, answered within 20 s (share of offered), average
wait of the answered, abandoned share, share answered outside the group (when routed: by
overflow) — for the first seed — and the totals over `--seeds` seeds.

    python bench/routing_day.py [--calls 2600] [--seed 1] [--seeds 5] [--outside-factor 1.25]
                                [--mix svo-surge] [--topic svo=70 ...] [--routing FILE]
                                [--crew 7:svo,2:svo+general,…]
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ekc_admin.simulate_mix import LINE_WEIGHTS
from ekc_admin.simulate_options import topic_weights
from ekc_core.enums import Line
from ekc_core.reference_data import INBOUND_TOPIC_WEIGHTS, load_reference_data
from ekc_core.routing import RoutingFileError, RoutingTable, read_routing
from ekc_core.settings import default_reference_dir
from ekc_roster.routing_day import (
    Call,
    GroupStats,
    Operator,
    Policy,
    simulate_day,
    summarise,
)
from ekc_server.demo_queue import PATIENCE_SECONDS
from ekc_server.demo_traffic import HOUR_PROFILE

#: mean handling time (talk + after-call work) per top-level topic, seconds: the centre's
#: AHT is ~300 s (297 s after the single operator window); contract service and social
#: support take longer (documents, eligibility), a utility outage or an emergency is short,
#: a psychologist's call is long
HANDLE_MEAN: dict[str, float] = {
    "svo": 330.0,
    "medicine": 280.0,
    "social": 310.0,
    "housing": 230.0,
    "emergency": 180.0,
    "psych": 480.0,
}
HANDLE_OTHER = 270.0
HANDLE_SIGMA = 0.6

#: the crew: 20 operators in 4 groups, some multi-skilled; `general` stands for the general
#: group and the small ones (transport, emergency, psych, MFC)
CREW = "7:svo,2:svo+general,4:housing+social,1:housing+social+medicine,3:medicine,3:general"
GENERAL_SKILLS = ("general", "transport", "emergency", "psych", "mfc")


def routing_table(path: Path | None = None) -> RoutingTable:
    """The shipped routing table, or the one of `path` (checked the way an import is)."""
    data = default_reference_dir()
    tree = {t.code: t.group for t in load_reference_data(data).topics}
    path = path or data / "reference" / "routing.yaml"
    text = path.read_text(encoding="utf-8")
    return read_routing(text, path.name, tree_groups=tree, lines_known=[x.value for x in Line])


def crew(spec: str = CREW) -> list[Operator]:
    """`7:svo,2:svo+general,…` → operators; ValueError says what is wrong."""
    operators = []
    for part in spec.split(","):
        count, _, label = part.strip().partition(":")
        if not count.isdigit() or not label:
            raise ValueError(f"crew: {part!r} is not COUNT:skill+skill")
        skills = {
            s
            for skill in label.split("+")
            for s in (GENERAL_SKILLS if skill == "general" else (skill,))
        }
        for i in range(int(count)):
            operators.append(Operator(f"{label}-{i + 1}", frozenset(skills)))
    if not operators:
        raise ValueError("crew: nobody")
    return operators


def make_day(table: RoutingTable, calls: int, weights: dict[str, float], seed: int) -> list[Call]:
    """`calls` calls over a day by the hour profile, in order of arrival."""
    rng = random.Random(seed)
    codes, topic_w = list(weights), list(weights.values())
    lines, line_w = [line.value for line, _ in LINE_WEIGHTS], [w for _, w in LINE_WEIGHTS]
    hours = sorted(rng.choices(range(24), weights=HOUR_PROFILE, k=calls))
    day: list[Call] = []
    for hour in hours:
        at = hour * 3600 + rng.random() * 3600
        topic = rng.choices(codes, weights=topic_w)[0]
        mean = HANDLE_MEAN.get(topic.partition(".")[0], HANDLE_OTHER)
        handle = rng.lognormvariate(math.log(mean) - HANDLE_SIGMA**2 / 2, HANDLE_SIGMA)
        day.append(
            Call(
                at=at,
                group=table.group_for_topic(topic),
                handle=handle,
                patience=rng.expovariate(1 / PATIENCE_SECONDS),
                line=rng.choices(lines, weights=line_w)[0],
            )
        )
    day.sort(key=lambda call: call.at)
    return day


@dataclass
class Run:
    groups: dict[str, GroupStats]
    total: GroupStats


def run(
    table: RoutingTable,
    ops: list[Operator],
    calls: list[Call],
    policy: Policy,
    outside_factor: float,
) -> Run:
    outcomes = simulate_day(table, ops, calls, policy, outside_factor=outside_factor)
    return Run(*summarise(outcomes))


def _spread(values: list[float], fmt: str) -> str:
    """Mean (min–max)."""
    mean, low, high = (format(v, fmt) for v in (statistics.mean(values), min(values), max(values)))
    return f"{mean} ({low}–{high})"


def _row(name: str, offered: int, stats: list[GroupStats]) -> str:
    cells = [
        f"{s.service_level:6.1%} {s.average_wait:6.1f} {s.abandoned_share:6.1%} "
        f"{s.outside_share:6.1%}"
        for s in stats
    ]
    return f"{name:<11}{offered:>6}  " + "   ".join(cells)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=2600, help="calls in the day")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--seeds", type=int, default=5, help="days (seeds) in the summary")
    parser.add_argument("--outside-factor", type=float, default=1.25)
    parser.add_argument("--mix", default=None)
    parser.add_argument("--topic", action="append", default=[])
    parser.add_argument("--routing", type=Path, help="a routing file instead of the shipped one")
    parser.add_argument("--crew", default=CREW, help=f"COUNT:skill+skill,… (default {CREW})")
    args = parser.parse_args()
    if args.calls < 1 or args.seeds < 1 or not args.outside_factor >= 1:
        sys.exit("--calls and --seeds from 1, --outside-factor from 1")
    try:
        weights = topic_weights(args.mix, args.topic) or dict(INBOUND_TOPIC_WEIGHTS)
    except ValueError as exc:
        sys.exit(f"{exc.args[0]} {exc.args[1]!r}: {exc.args[2]}")

    try:
        table = routing_table(args.routing)
    except (OSError, RoutingFileError) as exc:
        sys.exit(str(exc))
    try:
        ops = crew(args.crew)
    except ValueError as exc:
        sys.exit(str(exc))
    unknown = {s for op in ops for s in op.skills} - set(table.groups)
    if unknown:
        sys.exit(f"crew: no such group in the routing table: {', '.join(sorted(unknown))}")
    started = time.perf_counter()
    summary: dict[Policy, list[GroupStats]] = {Policy.ROUTED: [], Policy.SINGLE: []}
    for n in range(args.seeds):
        seed = args.seed + n
        calls = make_day(table, args.calls, weights, seed)
        runs = {p: run(table, ops, calls, p, args.outside_factor) for p in Policy}
        for policy, result in runs.items():
            summary[policy].append(result.total)
        if n:
            continue
        print(
            f"One day, seed {seed}: {len(calls)} calls, {len(ops)} operators "
            f"({args.crew.replace(':', ' ').replace(',', ', ')}), outside factor "
            f"{args.outside_factor:g}, patience {PATIENCE_SECONDS:g} s"
        )
        head = "SL20   wait s  aband. outside"
        print(f"{'group':<11}{'offered':>6}  routed: {head}   one queue: {head}")
        routed, single = runs[Policy.ROUTED], runs[Policy.SINGLE]
        order = sorted(routed.groups, key=lambda g: -routed.groups[g].offered)
        for group in order:
            stats = [routed.groups[group], single.groups[group]]
            print(_row(group, stats[0].offered, stats))
        print(_row("total", routed.total.offered, [routed.total, single.total]))
    elapsed = time.perf_counter() - started

    print(f"\nTotals over {args.seeds} days (seeds {args.seed}..{args.seed + args.seeds - 1}):")
    for policy in Policy:
        totals = summary[policy]
        print(
            f"  {'routed' if policy is Policy.ROUTED else 'one queue':<9} "
            f"SL20 {_spread([t.service_level for t in totals], '.1%')}, "
            f"wait {_spread([t.average_wait for t in totals], '.1f')} s, "
            f"abandoned {_spread([t.abandoned_share for t in totals], '.1%')}, "
            f"outside the group {_spread([t.outside_share for t in totals], '.1%')}"
        )
    print(f"  simulated {2 * args.seeds} days in {elapsed:.1f} s")


if __name__ == "__main__":
    main()
