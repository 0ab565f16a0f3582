"""Keys typed ahead go where they were meant to, in the order typed.

Two things made keys typed quickly land in the wrong place:
- a key with an action (F-keys, Ctrl+B, Tab, Enter) is acted on only after it has gone
  round the focused widget and its parents, while the keys typed after it were already
  queued for the widget focused before: «завтра» typed after Ctrl+B went into the search
  field, «Анна» typed after Tab into the surname;
- a dialog is pushed at once but mounted, and focused, a moment later: keys in between went
  to a screen with no focus (dropped: «+30м» lost).

So after such a key the app holds what is typed next until the key has been dealt with
(it came back to the app, which ran its binding, or a widget kept it: `LOST_KEY` at most),
and after a dialog is pushed until the dialog is mounted and has its focus; then it sends
the keys again, in order, one action key at a time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import events

if TYPE_CHECKING:
    from textual.app import App
    from textual.screen import Screen

#: refreshes to wait for a dialog's focus before the held keys go to it anyway
MAX_WAIT = 30
#: seconds to wait for an action key a widget kept (Enter in a text area) to come back
LOST_KEY = 0.3


class TypeAhead:
    def __init__(self, app: App[Any]) -> None:
        self.app = app
        self.held: list[events.Key] | None = None
        """Keys held back (None: keys pass)."""
        self._screen: Screen[Any] | None = None
        self._waited = 0
        self._keys: dict[int, events.Key] = {}
        """Action keys dispatched and not yet back at the app."""
        self._in_flight: dict[int, events.Key] = {}

    # --- called by the app ------------------------------------------------------------------

    def held_back(self, event: events.Key) -> bool:
        """Whether `event` is kept for later (the app does not dispatch it now)."""
        if event.is_forwarded:
            return False
        if self._in_flight.pop(id(event), None) is not None:
            return False  # sent again: dispatch it now
        if self.held is None:
            return False
        self.held.append(event)
        return True

    def dispatched(self, event: events.Key) -> None:
        """`event`, from the terminal, went to the focused widget: after an action key, hold
        what follows until it is back (its binding has run then)."""
        if not event.is_printable:
            if self.held is None:
                self.held = []
            self._keys[id(event)] = event
            self.app.set_timer(LOST_KEY, lambda: self.returned(event))
        elif not self._in_flight:
            self._pump()

    def returned(self, event: events.Key) -> None:
        """`event` came back to the app and its binding ran (or it was kept by a widget)."""
        if self._keys.pop(id(event), None) is not None:
            self._pump()

    def hold(self, screen: Screen[Any]) -> None:
        """A screen was pushed: hold the keys until it is ready for them."""
        if self.held is None:
            self.held = []
        self._screen = screen
        self._waited = 0
        self.app.call_after_refresh(self._check)

    # --- releasing ----------------------------------------------------------------------------

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
        self._pump()

    def _pump(self) -> None:
        """Send the held keys again, up to and including the next action key (the rest wait
        for it to be dealt with)."""
        if self._keys or self._screen is not None or self._in_flight or self.held is None:
            return
        if not self.held:
            self.held = None
            return
        while self.held:
            key = self.held.pop(0)
            again = events.Key(key.key, key.character)
            self._in_flight[id(again)] = again
            self.app.post_message(again)
            if not again.is_printable:
                break
