"""Keys typed while a dialog opens go to the dialog, in the order typed.

A dialog is pushed at once but mounted a moment later, and it puts the focus on its first
field later still. Keys the terminal delivers in between went to a screen with no focus
(dropped: «+30м» lost) or to a field the dialog then moved the focus away from («Иванова»
Tab «Анна» became one surname). The app holds such keys from the push until the new screen
is mounted and has its focus, then sends them again, in order, ahead of any typed later.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import events

if TYPE_CHECKING:
    from textual.app import App
    from textual.screen import Screen

#: refreshes to wait for a dialog's focus before the held keys go to it anyway
MAX_WAIT = 30


class TypeAhead:
    def __init__(self, app: App[object]) -> None:
        self.app = app
        self.held: list[events.Key] | None = None
        """Keys held back (None: keys pass)."""
        self._front = 0
        self._screen: Screen[object] | None = None
        self._waited = 0
        self._in_flight: dict[int, events.Key] = {}

    def hold(self, screen: Screen[object]) -> None:
        """A screen was pushed: hold the keys until it is ready for them."""
        if self.held is None:
            self.held = []
        self._screen = screen
        self._waited = 0
        self._front = 0
        self.app.call_after_refresh(self._check)

    def held_back(self, event: events.Key) -> bool:
        """Whether `event` is kept for later (the app does not dispatch it now)."""
        replayed = self._in_flight.pop(id(event), None) is not None
        if replayed:
            if self._screen is not None and self.held is not None:
                # a key sent again opened another dialog: the rest wait for that one,
                # still ahead of the keys typed after them
                self.held.insert(self._front, event)
                self._front += 1
                return True
            if not self._in_flight:
                self._send_next()
            return False
        if self.held is None or event.is_forwarded:
            return False
        self.held.append(event)
        return True

    def _ready(self) -> bool:
        screen = self._screen
        if screen is None or not screen.is_attached or self.app.screen is not screen:
            return True  # gone (or covered) already: the keys go where the focus is now
        if not screen.is_mounted:
            return False
        return screen.focused is not None or not screen.focus_chain

    def _check(self) -> None:
        if self._screen is None:
            return
        if not self._ready() and self._waited < MAX_WAIT:
            self._waited += 1
            self.app.call_after_refresh(self._check)
            return
        # one more refresh: a focus the dialog asked for in on_mount is applied by then
        self.app.call_after_refresh(self._release)

    def _release(self) -> None:
        self._screen = None
        if not self._in_flight:
            self._send_next()

    def _send_next(self) -> None:
        """Send the held keys again (the keys typed meanwhile are held behind them)."""
        keys, self._front = self.held or [], 0
        if not keys:
            self.held = None
            return
        self.held = []
        for key in keys:
            again = events.Key(key.key, key.character)
            self._in_flight[id(again)] = again
            self.app.post_message(again)
