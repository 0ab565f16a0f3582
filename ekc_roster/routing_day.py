"""A day of calls through the routing, with simulated operators (issue 14, point 6).

A discrete-event simulation: calls arrive with a routing group, a line, a handling time and
the caller's patience; operators carry skills. Two ways of handing out calls are compared
on the same calls:

- `ROUTED`: the backend's rules (`RoutingTable.member_groups` / `rank`): an operator who is
  free takes the best-ranked call offered to them — their own groups' calls first (priority
  0), calls that reached them by overflow when their step is due (priority 1), oldest first
  within a priority;
- `SINGLE`: one queue, every operator takes the oldest call.

Rules of the clock: everything that happens at one instant (arrivals, hang-ups, operators
finishing, overflow steps falling due) is applied first, then the free operators take
calls, the one free longest first (ties: the crew's order). A caller whose patience runs out
at the instant an operator frees up has hung up. An operator outside the call's group
handles it `outside_factor` times as long (a specialist knows the topic). Calls keep
arriving until the day's last arrival; the queue is then worked off.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum

from ekc_core.routing import RoutingTable

#: the service level threshold: answered within this many seconds (80/20)
SERVICE_SECONDS = 20.0
#: why a call has its group, for `RoutingTable.rank` (the reason text is not used here)
_WHY = "по теме"


class Policy(Enum):
    ROUTED = "routed"
    SINGLE = "single"


@dataclass(frozen=True)
class Call:
    at: float
    """Arrival, seconds from the start of the day."""
    group: str
    """Routing group (`RoutingTable.group_for_topic`)."""
    handle: float
    """Handling time by an operator of the call's group, seconds."""
    patience: float = math.inf
    """The caller hangs up after waiting this long."""
    line: str = "122"


@dataclass(frozen=True)
class Operator:
    name: str
    skills: frozenset[str]
    hours: frozenset[int] | None = None
    """Hours of the day (0–23) on duty: takes calls only in them (None: all day; after the
    day's hour 23 the hour-23 crew works the queue off). A call in hand is finished."""


@dataclass(frozen=True)
class Outcome:
    call: Call
    operator: str | None
    """Who answered; None: the caller hung up."""
    wait: float
    """Seconds until answered or hung up."""
    outside: bool = False
    """Answered by an operator outside the call's group (by overflow when routed)."""


@dataclass
class GroupStats:
    offered: int = 0
    answered: int = 0
    within: int = 0
    """Answered within SERVICE_SECONDS."""
    abandoned: int = 0
    outside: int = 0
    wait_total: float = 0.0
    """Waiting of the answered calls, seconds."""

    def add(self, outcome: Outcome) -> None:
        self.offered += 1
        if outcome.operator is None:
            self.abandoned += 1
            return
        self.answered += 1
        self.within += outcome.wait <= SERVICE_SECONDS
        self.outside += outcome.outside
        self.wait_total += outcome.wait

    @property
    def service_level(self) -> float:
        return self.within / self.offered if self.offered else 0.0

    @property
    def average_wait(self) -> float:
        return self.wait_total / self.answered if self.answered else 0.0

    @property
    def abandoned_share(self) -> float:
        return self.abandoned / self.offered if self.offered else 0.0

    @property
    def outside_share(self) -> float:
        return self.outside / self.offered if self.offered else 0.0


def summarise(outcomes: Iterable[Outcome]) -> tuple[dict[str, GroupStats], GroupStats]:
    """Per call group and in total."""
    groups: dict[str, GroupStats] = {}
    total = GroupStats()
    for outcome in outcomes:
        groups.setdefault(outcome.call.group, GroupStats()).add(outcome)
        total.add(outcome)
    return groups, total


@dataclass
class _Agent:
    operator: Operator
    order: int
    members: frozenset[str]
    free_since: float = 0.0
    busy: bool = False


@dataclass
class _Day:
    table: RoutingTable
    calls: Sequence[Call]
    policy: Policy
    outside_factor: float
    agents: list[_Agent]
    events: list[tuple[float, int, int, int]] = field(default_factory=list)
    """(time, kind, order, index): kind 0 arrival, 1 hang-up, 2 operator free, 3 overflow
    or a new hour (shifts)."""
    waiting: dict[int, Call] = field(default_factory=dict)
    outcomes: dict[int, Outcome] = field(default_factory=dict)

    def push(self, at: float, kind: int, index: int) -> None:
        heapq.heappush(self.events, (at, kind, len(self.events), index))

    def run(self) -> list[Outcome]:
        for i, call in enumerate(self.calls):
            self.push(call.at, 0, i)
        if any(a.operator.hours is not None for a in self.agents):
            for hour in range(1, 24):  # shifts change: the new hour's crew looks at the queue
                self.push(hour * 3600.0, 3, -1)
        while self.events:
            now = self.events[0][0]
            while self.events and self.events[0][0] == now:
                _, kind, _, index = heapq.heappop(self.events)
                self._apply(now, kind, index)
            self._dispatch(now)
        return [self.outcomes[i] for i in range(len(self.calls))]

    def _apply(self, now: float, kind: int, index: int) -> None:
        if kind == 0:
            call = self.calls[index]
            self.waiting[index] = call
            if math.isfinite(call.patience):
                self.push(now + call.patience, 1, index)
            if self.policy is Policy.ROUTED:
                group = self.table.groups.get(call.group)
                for step in group.steps(call.line) if group else ():
                    self.push(now + step.after, 3, index)
        elif kind == 1:
            if index in self.waiting:  # not answered yet: hangs up
                call = self.waiting.pop(index)
                self.outcomes[index] = Outcome(call, None, now - call.at)
        elif kind == 2:
            agent = self.agents[index]
            agent.busy, agent.free_since = False, now
        # kind 3: an overflow step fell due (the dispatch sees the call's wider offer), or a
        # new hour began (the dispatch sees who is on duty now)

    def _best(self, agent: _Agent, now: float) -> int | None:
        best: tuple[int, float, int] | None = None
        for index, call in self.waiting.items():
            if self.policy is Policy.SINGLE:
                key = (0, call.at, index)
            else:
                waited = round(now - call.at, 6)  # an overflow step's own instant counts
                ranked = self.table.rank(agent.members, call.group, call.line, waited, why=_WHY)
                if ranked is None:
                    continue
                key = (ranked[0], call.at, index)
            if best is None or key < best:
                best = key
        return None if best is None else best[2]

    def _dispatch(self, now: float) -> None:
        free = sorted((a for a in self.agents if not a.busy), key=lambda a: (a.free_since, a.order))
        hour = min(int(now // 3600), 23)
        for agent in free:
            if not self.waiting:
                return
            if agent.operator.hours is not None and hour not in agent.operator.hours:
                continue
            index = self._best(agent, now)
            if index is None:
                continue
            call = self.waiting.pop(index)
            outside = call.group not in agent.members
            handle = call.handle * (self.outside_factor if outside else 1.0)
            self.outcomes[index] = Outcome(call, agent.operator.name, now - call.at, outside)
            agent.busy = True
            self.push(now + handle, 2, agent.order)


def simulate_day(
    table: RoutingTable,
    operators: Sequence[Operator],
    calls: Sequence[Call],
    policy: Policy,
    *,
    outside_factor: float = 1.0,
) -> list[Outcome]:
    """What became of each call (in the order given), every operator free at the start.

    The call's group and the operators' groups are the table's (`member_groups`), also for
    `SINGLE`, where they only decide who is outside the call's group."""
    agents = [_Agent(op, i, table.member_groups(op.skills)) for i, op in enumerate(operators)]
    day = _Day(table, calls, policy, outside_factor, agents)
    return day.run()
