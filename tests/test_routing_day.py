"""The simulated day (ekc_roster.routing_day) on a scripted day whose outcomes were worked out
by hand: who answers which call, after how long, with the backend's rank and with one queue."""

from __future__ import annotations

import math
import random

import pytest

from ekc_core.routing import RoutingTable, read_routing
from ekc_roster.erlang import erlang_a
from ekc_roster.routing_day import Call, Operator, Policy, simulate_day, summarise

TABLE = """\
general: general
groups:
  - code: svo
    name: СВО
    overflow:
      - {after: 60, to: [general]}
      - {after: 180, to: everyone}
  - code: housing
    name: ЖКХ
    overflow:
      - {after: 30, to: everyone}
  - code: general
    name: Общая группа
"""

CREW = [
    Operator("A", frozenset({"svo"})),
    Operator("B", frozenset({"housing"})),
    Operator("C", frozenset()),  # no group of the table: the general group
]

# at, group, handle, patience
CALLS = [
    Call(0, "svo", 100),
    Call(10, "svo", 50),
    Call(20, "housing", 30),
    Call(30, "svo", 50, patience=40),
    Call(40, "housing", 60),
    Call(85, "svo", 40),
    Call(60, "housing", 20),
]


def table() -> RoutingTable:
    return read_routing(
        TABLE, "t.yaml", tree_groups={"svo": "svo", "housing": "housing"}, lines_known=["122"]
    )


def brief(policy: Policy) -> list[tuple[str | None, float, bool]]:
    outcomes = simulate_day(table(), CREW, CALLS, policy, outside_factor=2.0)
    assert [o.call for o in outcomes] == CALLS
    return [(o.operator, o.wait, o.outside) for o in outcomes]


def test_routed_own_group_first_overflow_when_due() -> None:
    # 0: A at once. 1: only svo, A busy; at 70 (60 s) it overflows to general: C, outside.
    # 2: B at once. 3: hangs up at 70 (patience 40) before its overflow at 90.
    # 4: B frees at 50 and takes it (C, free since 0, is not offered housing yet).
    # 6 (housing, 60) overflows to everyone at 90, but at 100 A takes 5, its own group's,
    # though 6 is older; B frees at 110 and takes 6, its own.
    assert brief(Policy.ROUTED) == [
        ("A", 0, False),
        ("C", 60, True),
        ("B", 0, False),
        (None, 40, False),
        ("B", 10, False),
        ("A", 15, False),
        ("B", 50, False),
    ]


def test_single_queue_oldest_first_to_whoever_is_free() -> None:
    # 1 → B and 2 → C at once, both outside and twice as slow (B busy till 110, C till 80);
    # 3 hangs up at 70; C at 80 takes 4 (the oldest), A at 100 takes 6, B at 110 takes 5.
    assert brief(Policy.SINGLE) == [
        ("A", 0, False),
        ("B", 0, True),
        ("C", 0, True),
        (None, 40, False),
        ("C", 40, True),
        ("B", 25, True),
        ("A", 40, True),
    ]


def test_per_group_figures() -> None:
    outcomes = simulate_day(table(), CREW, CALLS, Policy.ROUTED, outside_factor=2.0)
    groups, total = summarise(outcomes)
    svo, housing = groups["svo"], groups["housing"]
    assert (svo.offered, svo.answered, svo.within, svo.abandoned, svo.outside) == (4, 3, 2, 1, 1)
    assert svo.average_wait == pytest.approx(25.0)  # (0 + 60 + 15) / 3
    assert svo.service_level == 0.5 and svo.abandoned_share == 0.25 and svo.outside_share == 0.25
    assert (housing.offered, housing.within, housing.outside) == (3, 2, 0)
    assert housing.average_wait == pytest.approx(20.0)  # (0 + 10 + 50) / 3
    assert (total.offered, total.answered, total.within) == (7, 6, 4)


def test_a_multi_skilled_operator_and_a_line_of_its_own() -> None:
    routing = read_routing(
        TABLE.replace(
            "      - {after: 30, to: everyone}\n",
            "      - {after: 30, to: everyone}\n"
            "    lines:\n"
            "      '117': [{after: 5, to: everyone}]\n",
        ),
        "t.yaml",
        tree_groups={"svo": "svo", "housing": "housing"},
        lines_known=["122", "117"],
    )
    crew = [Operator("AB", frozenset({"svo", "housing"})), Operator("C", frozenset())]
    calls = [
        Call(0, "svo", 30),
        Call(1, "housing", 10, line="117"),  # to everyone after 5 s on line 117: C at 6
        Call(2, "housing", 10),  # to everyone only after 30 s on line 122
        Call(3, "svo", 10, patience=math.inf),
    ]
    outcomes = simulate_day(routing, crew, calls, Policy.ROUTED)
    # AB frees at 30 and takes its own groups' calls oldest first: 2, then 3 at 40; C, free
    # from 16, is offered neither in time
    assert [(o.operator, o.wait, o.outside) for o in outcomes] == [
        ("AB", 0, False),
        ("C", 5, True),
        ("AB", 28, False),
        ("AB", 37, False),
    ]


def test_the_same_day_gives_the_same_outcomes() -> None:
    first = simulate_day(table(), CREW, CALLS, Policy.ROUTED, outside_factor=1.5)
    assert simulate_day(table(), CREW, CALLS, Policy.ROUTED, outside_factor=1.5) == first


def poisson_day(n: int, rate: float, aht: float, patience: float, seed: int) -> list[Call]:
    rng = random.Random(seed)
    at, calls = 0.0, []
    for _ in range(n):
        at += rng.expovariate(rate)
        calls.append(Call(at, "general", rng.expovariate(1 / aht), rng.expovariate(1 / patience)))
    return calls


def test_one_group_routed_is_the_single_queue() -> None:
    calls = poisson_day(3000, 1 / 25, 200, 90, seed=5)
    crew = [Operator(f"op{i}", frozenset()) for i in range(8)]
    routed = simulate_day(table(), crew, calls, Policy.ROUTED, outside_factor=3)
    assert routed == simulate_day(table(), crew, calls, Policy.SINGLE, outside_factor=3)
    assert not any(o.outside for o in routed)


def test_the_single_queue_agrees_with_erlang_a() -> None:
    """M/M/n+M: the simulated service level and abandon share are Erlang A's, within the
    noise of 40,000 calls."""
    calls = poisson_day(40_000, 1 / 25, 200, 90, seed=7)  # 8 Erlangs on 9 operators
    crew = [Operator(f"op{i}", frozenset()) for i in range(9)]
    _, total = summarise(simulate_day(table(), crew, calls, Policy.SINGLE))
    expected = erlang_a(3600 / 25, 3600, 200, 9, patience_seconds=90)
    assert total.service_level == pytest.approx(expected.service_level, abs=0.02)
    assert total.abandoned_share == pytest.approx(expected.abandon_probability, abs=0.01)
    assert total.average_wait == pytest.approx(expected.asa_seconds, rel=0.1)


def test_operators_take_calls_only_in_their_hours_on_duty() -> None:
    crew = [
        Operator("night", frozenset({"svo"}), hours=frozenset({0})),
        Operator("day", frozenset({"svo"}), hours=frozenset({1})),
    ]
    calls = [
        Call(100, "svo", 3550),  # night takes it at once, finishes at 3650 (after the hour)
        Call(3500, "svo", 10),  # night busy; day starts at 3600: waits 100 s
        Call(3700, "svo", 10),  # night is free but off duty, day is free at 3610: day, at once
    ]
    outcomes = simulate_day(table(), crew, calls, Policy.ROUTED)
    assert [(o.operator, o.wait) for o in outcomes] == [
        ("night", 0),
        ("day", 100),
        ("day", 0),
    ]
