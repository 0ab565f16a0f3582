"""Ready / away at the console: F12 takes the operator off the line (with a reason) and
back; the state goes to the backend through the outbox, with the time it happened.

What an operator expects (`ekc_core.presence` has the backend's side):
- after signing in they are on the line (ready); a console that crashed while away comes
  back away, with the same reason;
- Ctrl+Q makes them offline: the console waits up to `presence_quit_wait` seconds for that
  to reach the backend (else it goes with the next start, with the time of the quit);
- while away the queue is not polled (on a satellite link an idle long poll is the biggest
  steady cost) and F2 says how to come back; the heartbeat goes on, so the lead sees them
  away rather than gone;
- when the link comes back after `REASSERT_AFTER` seconds or more, the console sends its
  state again (the backend counts a console silent for two minutes offline; the same state
  again is a no-op there).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from ekc_tui.messages import QuitNow

if TYPE_CHECKING:
    from ekc_tui.app import EkcConsole

KV = "presence"
"""The console's last state in its store: {state, reason, since, quit}."""
REASSERT_AFTER = 30.0
"""Seconds without a link after which the state is sent again when the link returns."""

REASONS: list[tuple[str, str]] = [
    ("break", "перерыв"),
    ("lunch", "обед"),
    ("training", "обучение"),
    ("meeting", "совещание"),
    ("other", "другое"),
]
REASON_RU = dict(REASONS)


@dataclass
class Presence:
    state: str
    """ready | away | offline (`ekc_core.enums.AgentState`)."""
    reason: str | None
    since: float
    """time.time() when it began at this desk."""
    down_since: float | None = None
    """time.monotonic() when the link went down (None: up)."""

    @property
    def away(self) -> bool:
        return self.state == "away"

    def label(self, now: float | None = None) -> str:
        """The status bar's part (Rich markup): on the line, or off it, why and how long."""
        if self.state == "ready":
            return "[b green]на линии[/]"
        if self.state == "away":
            from ekc_tui.text import fmt_clock

            spent = fmt_clock(max(0.0, (now or time.time()) - self.since))
            why = REASON_RU.get(self.reason or "", "")
            return f"[b black on yellow] не на линии{': ' + why if why else ''} {spent} [/]"
        return "[dim]не в сети[/]"


def change(
    console: EkcConsole, state: str, reason: str | None = None, *, quit: bool = False
) -> str:
    """The operator's state is now `state`: stored, shown, and queued for the backend (the
    outbox sends it with `X-Occurred-At`). Returns the outbox key."""
    from ekc_core.client_wallboard import WallboardApi
    from ekc_core.enums import AgentState, AwayReason
    from ekc_core.presence import PresenceUpdate
    from ekc_tui.outbox import new_key, step

    now = datetime.now(UTC)
    old = console.presence
    same = old is not None and (old.state, old.reason) == (state, reason)
    since = old.since if same and old is not None else now.timestamp()
    data = PresenceUpdate(
        state=AgentState(state), reason=AwayReason(reason) if reason else None, at=now
    )
    method, path, body = WallboardApi.presence_request(data)
    key = new_key()
    title = "Состояние: " + (REASON_RU.get(reason or "", "") if state == "away" else state)
    desk = console.desk
    steps = [step("state", path, body, method=method, occurred_at=now)]
    desk.enqueue(key, title, steps, background=True)  # not counted as unsent work
    console.presence = Presence(state, reason, since)
    desk.store.put(KV, {"state": state, "reason": reason, "since": since, "quit": quit})
    console.refresh_status()
    console.refresh_bindings()  # F12's label in the footer
    if console.main.is_mounted:
        console.show_card()  # "free" or "not on the line"
    console.after_save()  # without the background loops (tests): send it now
    return key


def signed_in(console: EkcConsole) -> None:
    """After signing in: on the line; away again after a crash while away; the same state
    again after signing in anew (an expired session)."""
    current = console.presence
    if current is not None:
        change(console, current.state, current.reason)
        return
    last: dict[str, Any] | None = console.desk.store.get(KV)
    if last and last.get("state") == "away" and not last.get("quit"):
        console.presence = Presence("away", last.get("reason"), float(last.get("since") or 0))
        change(console, "away", last.get("reason"))
    else:
        change(console, "ready")


def link_changed(console: EkcConsole, up: bool) -> None:
    """Send the state again when the link returns after a long enough outage."""
    current = console.presence
    if current is None or current.state == "offline":
        return
    if not up:
        if current.down_since is None:
            current.down_since = time.monotonic()
        return
    down, current.down_since = current.down_since, None
    if down is not None and time.monotonic() - down >= REASSERT_AFTER:
        change(console, current.state, current.reason)


def ask_away(console: EkcConsole) -> None:
    """F12 while on the line: why (a reason picked by digit or arrows), then away."""

    def chosen(reason: object) -> None:
        if isinstance(reason, str):
            change(console, "away", reason)
            console.notify(
                f"Вы не на линии: {REASON_RU[reason]}. Очередь не опрашивается. "
                "F12 — вернуться на линию",
                timeout=5,
            )

    from ekc_tui.presence_dialog import ReasonScreen

    console.push_screen(ReasonScreen(REASONS), chosen)


def back(console: EkcConsole) -> None:
    """F12 while away: back on the line (the queue is polled again at once)."""
    change(console, "ready")
    console.controller.resume_offers()
    console.notify("Вы на линии", timeout=3)


def leave(console: EkcConsole) -> None:
    """Ctrl+Q decided: offline, then quit once that reached the backend (or the wait ran out,
    or there is no link: it goes with the next start)."""
    if console.presence is None or console.desk_if_made is None or not console.online:
        if console.presence is not None and console.desk_if_made is not None:
            change(console, "offline", quit=True)
        console.exit()
        return
    key = change(console, "offline", quit=True)
    console.controller.leave_after(key, console.settings.presence_quit_wait)


class PresenceKeys:
    """The console's keys for the state (F12) and the wallboard (F10, leads), and what they
    allow: a mixin of `EkcConsole`, so the app module stays about the card."""

    LEAD_ROLES = frozenset({"shift_lead", "admin"})

    def presence_allows(self, action: str) -> bool | None:
        """`check_action` for these keys (None: not one of them)."""
        console = host(self)
        state = console.presence
        if action == "presence":
            return console.card is None and state is not None and state.state != "offline"
        if action == "wallboard":
            me = console.desk_if_made.me if console.desk_if_made else None
            return me is not None and me.role.value in PresenceKeys.LEAD_ROLES
        return None

    def action_presence(self) -> None:
        """F12: off the line (asking why) or back on it."""
        console = host(self)
        if console.presence is not None and console.presence.away:
            back(console)
        elif console.presence is not None:
            ask_away(console)

    def action_wallboard(self) -> None:
        from ekc_tui.wallboard import WallboardScreen

        console = host(self)
        if self.presence_allows("wallboard") is not True:
            console.notify("Табло — для старших смены и администраторов", severity="warning")
        elif not isinstance(console.screen, WallboardScreen):
            console.push_screen(WallboardScreen(standalone=False))

    def open_wallboard(self) -> bool:
        """`ekc --wallboard` signed in: the board alone for a lead (True); anyone else gets
        the console as usual, told why (False)."""
        from ekc_tui.wallboard import WallboardScreen

        console = host(self)
        if self.presence_allows("wallboard") is not True:
            console.wallboard_only = False
            console.notify("Табло — для старших смены и администраторов", severity="warning")
            return False
        console.refresh_status()
        console.push_screen(WallboardScreen(standalone=True))
        return True

    def away_refusal(self) -> bool:
        """F2 while away: say how to come back (True: refused)."""
        console = host(self)
        if console.presence is not None and console.presence.away:
            console.notify("Вы не на линии. F12 — вернуться на линию", severity="warning")
            return True
        return False

    def on_quit_now(self, message: QuitNow) -> None:
        host(self).exit()


def host(mixin: object) -> EkcConsole:
    """The console a mixin's method runs on."""
    return cast("EkcConsole", mixin)
