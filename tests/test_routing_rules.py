"""The routing file: groups, topic → group, overflow by waiting time and line, and every
problem of a file reported with its line (ekc_core.routing)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ekc_core.routing import OverflowStep, RoutingFileError, RoutingTable, read_routing
from ekc_core.routing_edit import OverflowChange, edit_routing

REFERENCE = Path(__file__).resolve().parent.parent / "data" / "reference"


def tree_groups() -> dict[str, str]:
    """Topic code → group from the shipped topic tree (sub-topics inherit)."""
    result: dict[str, str] = {}

    def walk(nodes: list[dict[str, object]], parent: str | None) -> None:
        for node in nodes:
            group = str(node.get("group") or parent)
            result[str(node["code"])] = group
            walk(list(node.get("children") or []), group)  # type: ignore[call-overload]

    walk(yaml.safe_load((REFERENCE / "topics.yaml").read_text(encoding="utf-8")), None)
    return result


def shipped() -> RoutingTable:
    text = (REFERENCE / "routing.yaml").read_text(encoding="utf-8")
    return read_routing(text, "routing.yaml", tree_groups=tree_groups(), lines_known=["122", "117"])


def test_the_shipped_file_covers_every_group_of_the_topic_tree() -> None:
    table = shipped()
    assert set(tree_groups().values()) <= set(table.groups)
    assert table.general == "general"


def test_a_topic_takes_its_own_group_its_parents_or_the_general_one() -> None:
    table = shipped()
    assert table.group_for_topic("svo.contract") == "svo"
    assert table.group_for_topic("svo.contract.unknown_leaf") == "svo"
    assert table.group_for_topic("no_such_topic") == "general"
    assert table.group_for_topic(None) == "general"


def test_overflow_widens_with_waiting_and_says_why() -> None:
    table = shipped()
    first = table.offer("svo", "122", 5, why="по теме помощника")
    assert first.groups == frozenset({"svo"}) and first.reason == "СВО, по теме помощника"
    later = table.offer("svo", "122", 60, why="по теме помощника")
    assert later.groups == frozenset({"svo", "general"})
    assert later.reason == "переполнение из СВО через 60 с"
    last = table.offer("svo", "122", 200, why="по теме помощника")
    assert last.groups is None  # everyone on the line


def test_a_line_has_its_own_steps() -> None:
    table = shipped()
    assert table.offer("emergency", "117", 12, why="x").groups is None
    assert table.offer("emergency", "122", 12, why="x").groups == frozenset({"emergency"})


def test_overrides_of_the_topic_tree() -> None:
    text = (
        (REFERENCE / "routing.yaml")
        .read_text(encoding="utf-8")
        .replace("topics: {}", "topics:\n  svo.psych_help: psych")
    )
    tree = {**tree_groups(), "svo.psych_help": "svo"}
    table = read_routing(text, "r.yaml", tree_groups=tree, lines_known=["122", "117"])
    assert table.group_for_topic("svo.psych_help") == "psych"


def test_every_problem_of_a_file_with_its_line() -> None:
    text = """general: nobody
groups:
  - code: svo
    name: СВО
    overflow:
      - {after: 60, to: [medicne]}
      - {after: 30, to: everyone}
  - code: svo
    name: Дубль
  - code: general
    name: Общая
    lines:
      "999": [{after: 5, to: everyone}]
topics:
  no.such: svo
"""
    with pytest.raises(RoutingFileError) as caught:
        read_routing(text, "r.yaml", tree_groups={"svo.x": "svo"}, lines_known=["122"])
    problems = caught.value.problems
    assert problems == [
        "r.yaml:1: general: нет группы «nobody»",
        "r.yaml:6: to: нет группы «medicne»",
        "r.yaml:7: after: шаги идут по возрастанию времени",
        "r.yaml:8: code: группа «svo» уже есть",
        "r.yaml:13: lines: нет линии «999»",
        "r.yaml:15: topics: нет тематики «no.such»",
    ]


def test_a_file_that_is_not_yaml_names_its_line() -> None:
    with pytest.raises(RoutingFileError) as caught:
        read_routing("groups: [\n  - x", "r.yaml", tree_groups={}, lines_known=[])
    assert caught.value.problems[0].startswith("r.yaml:")
    assert "неверный YAML" in caught.value.problems[0]


def test_the_table_in_force_survives_a_new_group_in_the_topic_tree() -> None:
    text = (REFERENCE / "routing.yaml").read_text(encoding="utf-8")
    tree = {**tree_groups(), "new_topic": "new_group"}
    with pytest.raises(RoutingFileError) as caught:  # an import must name it
        read_routing(text, "r.yaml", tree_groups=tree, lines_known=["122", "117"])
    assert "группа «new_group», здесь нет" in caught.value.problems[0]
    lenient = read_routing(
        text, "r.yaml", tree_groups=tree, lines_known=["122", "117"], strict_tree=False
    )
    assert lenient.group_for_topic("new_topic") == "general"


def test_an_operator_gets_own_group_first_and_overflow_when_due() -> None:
    table = shipped()
    svo_only = table.member_groups(["svo", "not-a-group"])
    assert svo_only == frozenset({"svo"})
    assert table.member_groups([]) == frozenset({"general"})
    general = table.member_groups(["general"])

    own = table.rank(svo_only, "svo", "122", 5, why="по теме помощника")
    assert own is not None and own[0] == 0 and own[1].reason == "СВО, по теме помощника"
    # a general operator sees an SVO call only after its overflow step (60 s), below its own
    assert table.rank(general, "svo", "122", 59, why="x") is None
    overflow = table.rank(general, "svo", "122", 60, why="x")
    assert overflow is not None and overflow[0] == 1
    assert overflow[1].reason == "переполнение из СВО через 60 с"
    # a name that is not an abbreviation is not declined: «из группы «…»»
    psych = table.rank(svo_only, "psych", "122", 90, why="x")
    assert psych is not None and psych[1].reason == (
        "переполнение из группы «Психологическая помощь» через 90 с"
    )
    # housing reaches an SVO operator only when it goes to everyone (150 s)
    assert table.rank(svo_only, "housing", "122", 149, why="x") is None
    late = table.rank(svo_only, "housing", "122", 150, why="x")
    assert late is not None and late[0] == 1
    # a group the table does not know counts as the general group's
    unknown = table.rank(general, "gone", "122", 0, why="x")
    assert unknown is not None and unknown[0] == 0


def test_a_topic_entry_carries_its_sub_topics_unless_they_have_their_own() -> None:
    text = (
        (REFERENCE / "routing.yaml")
        .read_text(encoding="utf-8")
        .replace("topics: {}", "topics:\n  svo: general\n  svo.rehabilitation: medicine")
    )
    table = read_routing(text, "r.yaml", tree_groups=tree_groups(), lines_known=["122", "117"])
    assert table.group_for_topic("svo") == "general"
    assert table.group_for_topic("svo.contract") == "general"
    assert table.group_for_topic("svo.rehabilitation") == "medicine"
    assert table.group_for_topic("housing.heating") == "housing"


def test_a_change_is_applied_to_the_file_or_refused_naming_its_fields() -> None:
    text = (REFERENCE / "routing.yaml").read_text(encoding="utf-8")
    tree = tree_groups()
    edited = edit_routing(
        text,
        base_version=3,
        topics={"mfc": "general", "svo": "svo"},  # svo: the tree's own group, no entry
        overflow=[OverflowChange("psych", "117", [(10, None)])],
        tree_groups=tree,
        lines_known=["122", "117"],
    )
    assert edited.startswith("# Routing file written by `ekc-admin routing set` from version 3")
    table = read_routing(edited, "e.yaml", tree_groups=tree, lines_known=["122", "117"])
    assert table.group_for_topic("mfc.appointment") == "general"
    assert yaml.safe_load(edited)["topics"] == {"mfc": "general"}
    assert table.groups["psych"].steps("117") == (OverflowStep(10, None),)
    assert table.groups["psych"].steps("122") == shipped().groups["psych"].overflow

    with pytest.raises(RoutingFileError) as refused:
        edit_routing(
            text,
            base_version=0,
            topics={"mfc": "ghost"},
            overflow=[OverflowChange("svo", "999", [(5, None)])],
            tree_groups=tree,
            lines_known=["122", "117"],
        )
    assert refused.value.problems == [
        "topics.mfc: нет группы «ghost»",
        "overflow[0].line: нет линии «999»",
    ]


def test_back_to_the_tree_group_holds_under_a_parent_moved_elsewhere() -> None:
    text = (REFERENCE / "routing.yaml").read_text(encoding="utf-8")
    tree = tree_groups()
    moved = edit_routing(
        text,
        base_version=0,
        topics={"svo.contract": "svo", "svo": "general"},  # a child named first
        overflow=[],
        tree_groups=tree,
        lines_known=["122", "117"],
    )
    table = read_routing(moved, "m.yaml", tree_groups=tree, lines_known=["122", "117"])
    assert table.group_for_topic("svo.mobilized") == "general"
    assert table.group_for_topic("svo.contract") == "svo"  # its own entry, or it would follow svo
    back = edit_routing(
        moved,
        base_version=1,
        topics={"svo": None, "svo.contract": None},
        overflow=[],
        tree_groups=tree,
        lines_known=["122", "117"],
    )
    assert yaml.safe_load(back)["topics"] == {}
