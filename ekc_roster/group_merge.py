"""Staffing by operator group with the routing's overflow (issue 14, point 5).

Each group as its own Erlang queue in every hour asks for a dedicated crew even for a trickle
of calls: one agent meets 80/20 only below ~0.2 Erlang, and after shrinkage that is two
operators per group per hour, nights included (+327 % over one pooled queue on the demo
month). A centre serves such a group through the groups its contacts overflow to, with
multi-skilled staff. The rule, per hour:

- a group's own load is its forecast calls × the handle time / 3600 (Erlangs: how many
  operators its calls alone would keep busy);
- a group whose load is below `below_erlangs` (`RequirementsRequest.merge_below_erlangs`,
  default 1.0: its calls would not keep even one operator busy for the hour; no calls at all
  included) is **merged**: its calls join the queue of its first overflow step's first group
  (a step `to: everyone` → the general group), and it has no own requirement that hour;
- when that group is merged too, its calls go on along that group's first step, until a group
  that keeps its own queue (the general group always does; a cycle ends there too);
- a group without overflow steps, the general group, and groups at or above the threshold
  keep their own Erlang requirement, for their own calls plus those merged into them.

Staff follow their groups' calls: in an hour a person with a merged group's skill counts for
the queue that group's calls are in (`ekc_roster.groups`), as the routing offers them those
calls first.

`below_erlangs = 0` merges nothing (every group its own queue). The merged calls are answered
in the target's queue only when the target's operators on shift carry the merged group's
skill (or the overflow step is due within the answer time): the routing offers a group's
contact to another group only after its step's seconds (see `bench/group_staffing_day.py`).
"""

from __future__ import annotations

from collections.abc import Mapping

from ekc_core.routing import RoutingTable


def first_target(table: RoutingTable, group: str) -> str:
    """Where a group's contacts go first when they overflow (lines' own steps aside): the
    first group of its first step; `everyone` → the general group; no step → itself."""
    own = table.groups.get(group)
    if own is None or not own.overflow:
        return group if own is not None else table.general
    to = own.overflow[0].to
    return table.general if to is None else to[0]


def merge_map(
    table: RoutingTable, loads: Mapping[str, float], below_erlangs: float
) -> dict[str, str]:
    """For one hour: each group of `loads` (own load, Erlangs) → the group whose queue takes
    its calls (itself when it keeps its own queue)."""
    merged = {
        g
        for g, load in loads.items()
        if g != table.general and load < below_erlangs and first_target(table, g) != g
    }
    result: dict[str, str] = {}
    for g in loads:
        current, seen = g, {g}
        while current in merged:
            current = first_target(table, current)
            if current in seen:  # a cycle of small groups: the general group takes them
                current = table.general
                break
            seen.add(current)
        result[g] = current
    return result


def queue_calls(calls: Mapping[str, float], into: Mapping[str, str]) -> dict[str, float]:
    """The calls of each queue kept this hour: its own plus those merged into it."""
    result: dict[str, float] = {}
    for g, n in calls.items():
        target = into.get(g, g)
        result[target] = result.get(target, 0.0) + n
    return result
