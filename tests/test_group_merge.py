"""The staffing rule that merges small groups into their first overflow target's queue
(`ekc_roster.group_merge`), on a table worked out by hand."""

from __future__ import annotations

import pytest

from ekc_core.routing import Group, OverflowStep, RoutingTable
from ekc_roster.group_merge import first_target, merge_map, queue_calls


def step(after: int, *to: str) -> OverflowStep:
    return OverflowStep(after, tuple(to) if to else None)


TABLE = RoutingTable(
    groups={
        "general": Group("general", "Общая", (step(60),)),
        "svo": Group("svo", "СВО", (step(60, "general"), step(180))),
        "social": Group("social", "Соцзащита", (step(60, "general"),)),
        "psych": Group("psych", "Психологи", (step(30, "social", "general"), step(90))),
        "emergency": Group("emergency", "Экстренные", (step(20),)),  # to everyone
        "alone": Group("alone", "Без переполнения"),
        "a": Group("a", "А", (step(10, "b"),)),
        "b": Group("b", "Б", (step(10, "a"),)),
    },
    general="general",
    topic_groups={},
)


def test_the_first_target_is_the_first_group_of_the_first_step() -> None:
    assert first_target(TABLE, "svo") == "general"
    assert first_target(TABLE, "psych") == "social"  # not general, the second of the step
    assert first_target(TABLE, "emergency") == "general"  # `everyone`
    assert first_target(TABLE, "alone") == "alone"  # nowhere to go
    assert first_target(TABLE, "general") == "general"


def test_an_hour_worked_out_by_hand() -> None:
    # loads in Erlangs (calls × AHT / 3600) for one hour, threshold 1.0
    loads = {
        "general": 0.4,  # below, but the general group always keeps its queue
        "svo": 3.0,  # above: its own queue
        "social": 0.5,  # below → general
        "psych": 0.3,  # below → social, which is merged too → general
        "emergency": 0.1,  # below → everyone → general
        "alone": 0.1,  # below, but no overflow step: keeps its queue
        "a": 0.2,  # a → b → a: a cycle of small groups ends in general
        "b": 0.1,
    }
    into = merge_map(TABLE, loads, 1.0)
    assert into == {
        "general": "general",
        "svo": "svo",
        "social": "general",
        "psych": "general",
        "emergency": "general",
        "alone": "alone",
        "a": "general",
        "b": "general",
    }
    # calls per hour (AHT 300 s: loads × 12)
    calls = {g: load * 12 for g, load in loads.items()}
    queues = queue_calls(calls, into)
    assert queues == pytest.approx(
        {"general": (0.4 + 0.5 + 0.3 + 0.1 + 0.2 + 0.1) * 12, "svo": 36.0, "alone": 1.2}
    )
    assert sum(queues.values()) == pytest.approx(sum(calls.values()))


def test_a_target_large_enough_keeps_what_is_merged_into_it() -> None:
    into = merge_map(TABLE, {"general": 2.0, "social": 1.5, "psych": 0.3}, 1.0)
    assert into == {"general": "general", "social": "social", "psych": "social"}


def test_the_threshold_is_strict_and_zero_merges_nothing() -> None:
    loads = {"general": 0.0, "svo": 1.0, "social": 0.999, "psych": 0.0}
    assert merge_map(TABLE, loads, 1.0) == {
        "general": "general",
        "svo": "svo",  # exactly at the threshold: its own queue
        "social": "general",
        "psych": "general",  # no calls at all: merged (its staff follow its calls)
    }
    assert merge_map(TABLE, loads, 0.0) == {g: g for g in loads}
