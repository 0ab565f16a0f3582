"""Routing by topic (issue 14, first part): operator groups, topic → group, and overflow.

The routing file (`data/reference/routing.yaml`) names the operator groups — the skills
staff already carry (`Staff.skills`) — the general group that takes what nobody else does,
topic codes whose group differs from the topic tree's (`topics.yaml` `group`), and each
group's overflow: after how many seconds of waiting a contact of the group is also offered
to which other groups, per line where a line needs other times, finally to everyone:

    general: general
    groups:
      - code: svo
        name: СВО
        overflow:                      # every line
          - {after: 60, to: [general]}
          - {after: 180, to: everyone}
        lines:
          "117": [{after: 30, to: everyone}]
    topics:                            # only where the topic tree's group is not wanted
      svo.psych_help: psych

`read_routing` checks every value and reports every problem of a file in one go as
`file:line: field: reason` in Russian; `RoutingTable` answers which groups a waiting contact
is offered to and why, for the offers poll and the console's card.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ekc_core.quality import LineMap, line_of, yaml_lines

#: `to: everyone` in the file: the contact is offered to every operator on the line
EVERYONE = "everyone"


class RoutingFileError(ValueError):
    """A routing file with problems: `problems` are `file:line: field: reason` lines."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class OverflowStep:
    """After `after` seconds of waiting, also offered to `to` (None: everyone)."""

    after: int
    to: tuple[str, ...] | None


@dataclass(frozen=True)
class Group:
    code: str
    name: str
    overflow: tuple[OverflowStep, ...] = ()
    by_line: Mapping[str, tuple[OverflowStep, ...]] = field(default_factory=dict)

    @property
    def origin(self) -> str:
        """The group after «из» in Russian: an abbreviation as it is («из ЖКХ»), another
        name as «из группы «Общая группа»» (a name is not declined by code)."""
        return self.name if self.name.isupper() else f"группы «{self.name}»"

    def steps(self, line: str) -> tuple[OverflowStep, ...]:
        return self.by_line.get(line, self.overflow)


@dataclass(frozen=True)
class Offer:
    """Who a waiting contact is offered to now, and why (Russian, for the card and queue)."""

    groups: frozenset[str] | None
    """Group codes; None: every operator."""
    reason: str


@dataclass(frozen=True)
class RoutingTable:
    groups: Mapping[str, Group]
    general: str
    topic_groups: Mapping[str, str]
    """Topic code → group code: the topic tree's groups with the file's overrides."""

    def known_group(self, topic: str | None) -> str | None:
        """The group of a topic the table knows, or of its nearest known parent; None for
        no topic or one it does not know."""
        code = topic or ""
        while code:
            found = self.topic_groups.get(code)
            if found is not None:
                return found
            code = code.rpartition(".")[0]
        return None

    def group_for_topic(self, topic: str | None) -> str:
        """The group of a topic; a sub-topic without its own entry takes its parent's; no
        topic or an unknown one goes to the general group."""
        return self.known_group(topic) or self.general

    def offer(self, group: str, line: str, waited: float, *, why: str) -> Offer:
        """The groups a contact of `group` on `line` is offered to after `waited` seconds.

        `why` says how the contact got its group («по теме помощника»); an overflow step
        replaces it with where the contact came from and after how long."""
        own = self.groups.get(group) or self.groups[self.general]
        offered: set[str] = {own.code}
        reason = f"{own.name}, {why}"
        for step in own.steps(line):
            if waited < step.after:
                break
            reason = f"переполнение из {own.origin} через {step.after} с"
            if step.to is None:
                return Offer(None, reason)
            offered.update(step.to)
        return Offer(frozenset(offered), reason)

    def member_groups(self, skills: Iterable[str]) -> frozenset[str]:
        """The groups an operator takes contacts of: their skills that are groups of the
        table; an operator with none of them is in the general group."""
        own = frozenset(s for s in skills if s in self.groups)
        return own or frozenset({self.general})

    def rank(
        self, members: frozenset[str], group: str, line: str, waited: float, *, why: str
    ) -> tuple[int, Offer] | None:
        """Whether a waiting contact is offered to an operator in `members` (see
        `member_groups`) and with which priority: 0 for a contact of one of their own
        groups, 1 for one that reached them by overflow; None while it is not theirs yet.

        The offers poll and the simulated day order by (priority, queued time)."""
        offer = self.offer(group, line, waited, why=why)
        own = self.groups[group].code if group in self.groups else self.general
        if own in members:
            return 0, offer
        if offer.groups is None or not offer.groups.isdisjoint(members):
            return 1, offer
        return None


def _problem(source: str, lines: LineMap, path: Sequence[str | int], what: str, why: str) -> str:
    return f"{source}:{line_of(lines, path)}: {what}: {why}"


def check_steps(
    raw: Any,
    path: tuple[str | int, ...],
    codes: set[str],
    report: list[tuple[tuple[str | int, ...], str, str]],
) -> tuple[OverflowStep, ...]:
    """Overflow steps of a file (or a change): `report` gets (path, field, reason) per
    problem; `codes` are the groups a step may name."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        report.append((path, "overflow", "нужен список шагов {after, to}"))
        return ()
    steps: list[OverflowStep] = []
    previous = -1
    for i, item in enumerate(raw):
        here = (*path, i)
        if not isinstance(item, dict) or set(item) != {"after", "to"}:
            report.append((here, "overflow", "шаг — это {after: секунды, to: группы}"))
            continue
        after = item["after"]
        if not isinstance(after, int) or isinstance(after, bool) or not 0 <= after <= 3600:
            report.append(((*here, "after"), "after", "целое число секунд от 0 до 3600"))
            continue
        if after <= previous:
            report.append(((*here, "after"), "after", "шаги идут по возрастанию времени"))
            continue
        previous = after
        to = item["to"]
        if to == EVERYONE:
            steps.append(OverflowStep(after, None))
            continue
        if not isinstance(to, list) or not to or not all(isinstance(g, str) for g in to):
            report.append(((*here, "to"), "to", f"список групп или «{EVERYONE}»"))
            continue
        unknown = [g for g in to if g not in codes]
        if unknown:
            report.append(((*here, "to"), "to", f"нет группы «{unknown[0]}»"))
            continue
        steps.append(OverflowStep(after, tuple(to)))
    return tuple(steps)


def read_routing(
    text: str,
    source: str,
    *,
    tree_groups: Mapping[str, str],
    lines_known: Sequence[str],
    strict_tree: bool = True,
) -> RoutingTable:
    """The routing table of a file's text. `tree_groups`: topic code → group from the
    topic tree; `lines_known`: the line codes. Raises RoutingFileError with every problem.

    `strict_tree=False` (the table in force, read again after the topic tree changed): a
    group of the tree that the file does not name is no problem, its topics go to the
    general group."""
    try:
        data, lines = yaml_lines(text)
    except ValueError as exc:
        raise RoutingFileError([f"{source}: {exc}"]) from exc
    report: list[tuple[tuple[str | int, ...], str, str]] = []
    if not isinstance(data, dict):
        raise RoutingFileError([f"{source}:1: файл маршрутизации — это словарь groups/topics"])
    raw_groups = data.get("groups")
    if not isinstance(raw_groups, list) or not raw_groups:
        raise RoutingFileError([_problem(source, lines, ("groups",), "groups", "нужен список")])
    codes: set[str] = set()
    for i, item in enumerate(raw_groups):
        code = item.get("code") if isinstance(item, dict) else None
        if not isinstance(code, str) or not code:
            report.append((("groups", i), "code", "у группы нет кода"))
        elif code in codes:
            report.append((("groups", i, "code"), "code", f"группа «{code}» уже есть"))
        else:
            codes.add(code)
    groups: dict[str, Group] = {}
    for i, item in enumerate(raw_groups):
        if not isinstance(item, dict) or not isinstance(item.get("code"), str):
            continue
        code, name = item["code"], item.get("name")
        if not isinstance(name, str) or not name.strip():
            report.append((("groups", i, "name"), "name", "нужно название группы"))
            name = code
        overflow = check_steps(item.get("overflow"), ("groups", i, "overflow"), codes, report)
        by_line: dict[str, tuple[OverflowStep, ...]] = {}
        raw_lines = item.get("lines") or {}
        if not isinstance(raw_lines, dict):
            report.append((("groups", i, "lines"), "lines", "нужен словарь линия → шаги"))
            raw_lines = {}
        for line, raw in raw_lines.items():
            if str(line) not in lines_known:
                report.append((("groups", i, "lines", str(line)), "lines", f"нет линии «{line}»"))
                continue
            by_line[str(line)] = check_steps(raw, ("groups", i, "lines", str(line)), codes, report)
        groups.setdefault(code, Group(code, name.strip(), overflow, by_line))
    general = data.get("general")
    if general not in codes:
        report.append((("general",), "general", f"нет группы «{general}»"))
    topic_groups = dict(tree_groups)
    for group in sorted(set(tree_groups.values()) - codes):
        if strict_tree:
            report.append(
                (("groups",), "groups", f"в дереве тематик есть группа «{group}», здесь нет")
            )
        else:
            for topic, tree_group in tree_groups.items():
                if tree_group == group:
                    topic_groups[topic] = str(general)
    raw_topics = data.get("topics") or {}
    if not isinstance(raw_topics, dict):
        report.append((("topics",), "topics", "нужен словарь тематика → группа"))
        raw_topics = {}
    overrides: dict[str, str] = {}
    for topic, group in raw_topics.items():
        where = ("topics", str(topic))
        if str(topic) not in tree_groups:
            report.append((where, "topics", f"нет тематики «{topic}»"))
        elif group not in codes:
            report.append((where, "topics", f"нет группы «{group}»"))
        else:
            overrides[str(topic)] = str(group)
    for topic in topic_groups:  # a topic's entry carries its sub-topics without their own
        code = topic
        while code and code not in overrides:
            code = code.rpartition(".")[0]
        if code:
            topic_groups[topic] = overrides[code]
    if report:
        ordered = sorted(report, key=lambda r: line_of(lines, r[0]))
        raise RoutingFileError([_problem(source, lines, p, what, why) for p, what, why in ordered])
    return RoutingTable(groups=groups, general=str(general), topic_groups=topic_groups)
