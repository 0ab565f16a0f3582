"""A small queue model that decides who answered each demo contact, when, and for how long.

The operators who signed in (`AgentSession`: sign-in, planned breaks, sign-out) are the
servers; contacts are taken in the order they arrive. An inbound call goes to the operator
who is free first (the one idle longest when several are); its wait is the time until then
(first come, first served). Each caller has a patience: one who would wait longer hangs up
(abandoned), and a few hang up within seconds (short abandons, a misdial). Outgoing calls,
written messages and video consultations are taken only by an idle operator while another
one stays free for the queue (or after a few tries, by whoever is free first), so a thinly
staffed or bursty hour shows longer waits, more abandons and a lower service level, the
way a real one does. A break starts when the operator finishes the contact at hand.

Times are seconds since 1970 (floats) for speed; the caller turns them into datetimes.
"""

from __future__ import annotations

import heapq
import math
import random
from dataclasses import dataclass, field

#: mean talk and after-call work per kind of contact, seconds (AHT of a call ≈ 3 min, the
#: centre's figure; a written answer is typed, a video consultation takes ~10 minutes)
HANDLE_SECONDS: dict[str, tuple[float, float]] = {
    "inbound": (150.0, 37.5),
    "outbound": (120.0, 25.0),
    "written": (216.0, 20.0),
    "video": (660.0, 60.0),
}
_SIGMA = {"inbound": 0.6, "outbound": 0.6, "written": 0.4, "video": 0.35}
_ACW_SPREAD = {"inbound": 22.5, "outbound": 15.0, "written": 10.0, "video": 30.0}
KINDS = ("inbound", "outbound", "written", "video")
#: callers who hang up within seconds (not counted as offered by the KPI rules)
SHORT_ABANDON_SHARE = 0.015
#: mean patience of a caller in the queue, seconds (exponential)
PATIENCE_SECONDS = 90.0
#: with this many operators on shift, outgoing calls leave one of them free for the queue
RESERVE_FROM = 6
#: mean time until an operator next looks at the written queue, seconds (exponential)
WRITTEN_PICKUP_SECONDS = 200.0
#: a deferred outgoing call / message / video is tried again after 1–3 minutes, this often
MAX_DEFERRALS = 6
#: how early before signing in an operator may be given a call (they take it at sign-in)
_LOOKAHEAD = 120.0


@dataclass
class AgentSession:
    """One operator's signed-in shift."""

    staff_id: int
    login: float
    logout: float
    breaks: list[tuple[float, float, str]] = field(default_factory=list)
    """Planned breaks: (at, seconds, AwayReason value)."""
    free_at: float = 0.0
    events: list[tuple[float, str, str | None]] = field(default_factory=list)
    """(at, AgentState value, reason): ready at sign-in, away / ready, offline at the end."""


@dataclass
class Handled:
    """What happened to one contact."""

    staff_id: int | None
    start: float | None
    """Answered (taken) at; None when abandoned."""
    talk: float = 0.0
    acw: float = 0.0
    abandoned_at: float | None = None


@dataclass(order=True)
class _Event:
    at: float
    order: int
    kind: int = field(compare=False)  # 0 break, 1 contact
    payload: tuple[int, ...] = field(compare=False)


def _handle(rng: random.Random, kind: str, factor: float) -> tuple[float, float]:
    talk_mean, acw_mean = HANDLE_SECONDS[kind]
    sigma = _SIGMA[kind]
    talk = rng.lognormvariate(math.log(talk_mean * factor) - sigma * sigma / 2, sigma)
    acw = rng.uniform(acw_mean - _ACW_SPREAD[kind], acw_mean + _ACW_SPREAD[kind])
    return max(20.0, talk), acw


def simulate(
    *,
    rng: random.Random,
    sessions: list[AgentSession],
    contacts: list[tuple[float, int]],
    handle_factor: list[float],
) -> list[Handled]:
    """`contacts`: (arrival, kind index into KINDS) in any order; `handle_factor` scales each
    contact's talk time (the handle-time trend). Returns one `Handled` per contact."""
    results: list[Handled | None] = [None] * len(contacts)
    heap: list[_Event] = []
    order = 0
    for n, s in enumerate(sessions):
        s.free_at = s.login
        s.events = [(s.login, "ready", None)]
        for b, (b_at, _, _) in enumerate(s.breaks):
            heap.append(_Event(b_at, order, 0, (n, b)))
            order += 1
    written = KINDS.index("written")
    for i, (at, kind_no) in enumerate(contacts):
        # a message waits until an operator next looks at the written queue
        seen = at + rng.expovariate(1 / WRITTEN_PICKUP_SECONDS) if kind_no == written else at
        heap.append(_Event(seen, order, 1, (i, 0)))
        order += 1
    heapq.heapify(heap)

    queue = sorted(sessions, key=lambda s: s.login)
    next_session = 0
    active: list[AgentSession] = []

    def close(s: AgentSession) -> None:
        s.events.append((max(s.logout, s.free_at), "offline", None))

    while heap:
        ev = heapq.heappop(heap)
        t = ev.at
        while next_session < len(queue) and queue[next_session].login <= t + _LOOKAHEAD:
            active.append(queue[next_session])
            next_session += 1
        if any(s.logout <= t for s in active):
            for s in [s for s in active if s.logout <= t]:
                close(s)
            active = [s for s in active if s.logout > t]
        if ev.kind == 0:  # a planned break
            s = sessions[ev.payload[0]]
            _, seconds, reason = s.breaks[ev.payload[1]]
            start = max(t, s.free_at)
            if start >= s.logout - 600:
                continue
            s.events.append((start, "away", reason))
            s.free_at = start + seconds
            s.events.append((s.free_at, "ready", None))
            continue
        index, tries = ev.payload
        kind_no = contacts[index][1]
        kind = KINDS[kind_no]
        best: AgentSession | None = None
        best_start = math.inf
        idle = 0
        for s in active:
            start = max(t, s.free_at)
            if start >= s.logout:
                continue
            if start <= t:
                idle += 1
            if start < best_start or (start == best_start and best and s.free_at < best.free_at):
                best, best_start = s, start
        if kind == "inbound":
            if rng.random() < SHORT_ABANDON_SHARE:
                results[index] = Handled(None, None, abandoned_at=t + rng.uniform(1.0, 4.5))
                continue
            patience = rng.expovariate(1 / PATIENCE_SECONDS)
            if best is None or best_start - t > patience:
                results[index] = Handled(None, None, abandoned_at=t + max(5.0, patience))
                continue
        else:
            on_shift = sum(1 for s in active if s.login <= t < s.logout)
            need = 2 if on_shift >= RESERVE_FROM and kind == "outbound" else 1
            if (best is None or idle < need) and tries < MAX_DEFERRALS:
                pause = rng.uniform(60, 180) if kind == "outbound" else rng.uniform(20, 60)
                heapq.heappush(heap, _Event(t + pause, order, 1, (index, tries + 1)))
                order += 1
                continue
            if best is None:  # nobody on shift at all: the next one who signs in
                later = [s for s in queue[next_session:] if s.logout > t]
                if not later:
                    results[index] = Handled(None, None, abandoned_at=t)
                    continue
                best = min(later, key=lambda s: s.login)
                best_start = best.login
        talk, acw = _handle(rng, kind, handle_factor[index])
        results[index] = Handled(best.staff_id, best_start, talk, acw)
        best.free_at = best_start + talk + acw
    for s in active:
        close(s)
    for s in queue[next_session:]:
        close(s)
    return [r if r is not None else Handled(None, None) for r in results]
