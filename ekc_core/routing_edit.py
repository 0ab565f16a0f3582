"""Changes to the routing table in force without editing its file (`ekc-admin routing set`).

A change names topics to route to another group (or back to the topic tree's group) and
groups whose overflow steps to replace, for every line or for one line. It is applied to the
file's data and written out as the next version's file; every problem of the change is
reported at once as `field: reason` naming the change's own fields (`topics.svo.psych_help`,
`overflow[0].steps[1].after`), not lines of a file the admin never saw.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from ekc_core.routing import EVERYONE, RoutingFileError, check_steps


@dataclass(frozen=True)
class OverflowChange:
    """Replace `group`'s overflow steps (`line`: only that line's own steps; `steps` None with
    a line: the line goes back to the group's steps for every line)."""

    group: str
    line: str | None
    steps: Sequence[tuple[int, Sequence[str] | None]] | None
    """(after seconds, groups or None for everyone)."""


HEADER = (
    "# Routing file written by `ekc-admin routing set` from version {base} "
    "(format: data/reference/routing.yaml).\n"
)


def _dotted(path: Sequence[str | int]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _inherited(topic: str, overrides: Mapping[str, str], tree_groups: Mapping[str, str]) -> str:
    """The group `topic` gets without an entry of its own."""
    code = topic.rpartition(".")[0]
    while code:
        if code in overrides:
            return overrides[code]
        code = code.rpartition(".")[0]
    return tree_groups[topic]


def edit_routing(
    text: str,
    *,
    base_version: int,
    topics: Mapping[str, str | None],
    overflow: Sequence[OverflowChange],
    tree_groups: Mapping[str, str],
    lines_known: Sequence[str],
) -> str:
    """The file `text` with the change applied. Raises RoutingFileError (`field: reason` per
    problem) when the change names an unknown topic, group or line or a bad step."""
    data: Any = yaml.safe_load(text)
    if not isinstance(data, dict) or not isinstance(data.get("groups"), list):
        raise RoutingFileError(["таблица в силе не читается как файл маршрутизации"])
    groups = {g["code"]: g for g in data["groups"] if isinstance(g, dict) and "code" in g}
    problems: list[str] = []
    overrides = dict(data.get("topics") or {})
    # parents first: a sub-topic's entry is judged against its parent's new group
    for topic, group in sorted(topics.items(), key=lambda item: item[0].count(".")):
        field = f"topics.{topic}"
        if topic not in tree_groups:
            problems.append(f"{field}: нет тематики «{topic}»")
        elif group is not None and group not in groups:
            problems.append(f"{field}: нет группы «{group}»")
        else:
            wanted = tree_groups[topic] if group is None else group
            overrides.pop(topic, None)
            # no entry of its own is needed when the topic would get `wanted` anyway: from
            # its nearest parent's entry, else from the topic tree
            if _inherited(topic, overrides, tree_groups) != wanted:
                overrides[topic] = wanted
    for i, change in enumerate(overflow):
        group_data = groups.get(change.group)
        if group_data is None:
            problems.append(f"overflow[{i}].group: нет группы «{change.group}»")
            continue
        if change.line is not None and change.line not in lines_known:
            problems.append(f"overflow[{i}].line: нет линии «{change.line}»")
            continue
        raw = (
            None
            if change.steps is None
            else [
                {"after": after, "to": EVERYONE if to is None else list(to)}
                for after, to in change.steps
            ]
        )
        report: list[tuple[tuple[str | int, ...], str, str]] = []
        check_steps(raw, ("overflow", i, "steps"), set(groups), report)
        problems += [f"{_dotted(path)}: {why}" for path, _, why in report]
        if report:
            continue
        if change.line is None:
            group_data["overflow"] = raw or []
        else:
            lines = dict(group_data.get("lines") or {})
            if raw is None:
                lines.pop(change.line, None)
            else:
                lines[change.line] = raw
            if lines:
                group_data["lines"] = lines
            else:
                group_data.pop("lines", None)
    if problems:
        raise RoutingFileError(problems)
    data["topics"] = dict(sorted(overrides.items()))
    body = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)
    return HEADER.format(base=base_version) + body
