"""The status bar: who is signed in, on the line or not (F12), the link, what is unsent,
the queue, the KB."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.markup import escape
from rich.text import Text
from textual.widgets import Static

if TYPE_CHECKING:
    from ekc_tui.app import EkcConsole


def short_name(full_name: str) -> str:
    """ "Романов Лев Романович" -> "Романов Л. Р." (the status bar is one line at 80 columns)."""
    last, *rest = full_name.split() or [""]
    return " ".join([last, *(f"{p[0]}." for p in rest if p)])


@dataclass
class LinkView:
    """What the status bar shows; `waiting` is None when the queue is not known (offline)."""

    who: str = "вход не выполнен"
    online: bool = False
    unsent: int = 0
    failed: int = 0
    waiting: int | None = None
    kb: int = 0
    presence: str = ""
    width: int = 0


class StatusBar(Static):
    """One line: who, online/offline, unsent items, contacts waiting, articles."""

    def __init__(self) -> None:
        super().__init__(id="status")
        self.view: LinkView | None = None

    def show_session(self, console: EkcConsole) -> None:
        """The state of the console's session (before the desk is made: nobody, offline)."""
        desk = console.desk_if_made
        me = desk.me if desk else None
        who = short_name(me.full_name) if me else (desk and desk.username) or "вход не выполнен"
        state = console.presence
        away = state is not None and state.away
        self.render_state(
            who=who,
            online=console.online,
            unsent=desk.unsent() if desk else 0,
            failed=desk.failed() if desk else 0,
            # away, the queue is not polled: the last one seen is not the queue now
            waiting=None if away else len(console.offers),
            kb=console.kb_count,
            presence=state.label() if state is not None else "",
        )

    def render_state(
        self,
        *,
        who: str,
        online: bool,
        unsent: int,
        failed: int,
        waiting: int | None,
        kb: int,
        presence: str = "",
    ) -> None:
        width = self.content_size.width
        view = LinkView(
            who, online, unsent, failed, waiting if online else None, kb, presence, width
        )
        if view == self.view:
            return
        self.view = view
        link = "[green]● на связи[/]" if online else "[b red]● нет связи[/]"
        parts = [escape(who), *([presence] if presence else []), link]
        if unsent:
            parts.append(f"[yellow]не отправлено: {unsent}[/]")
        else:
            parts.append("всё отправлено")
        if failed:
            parts.append(f"[b red]отклонено: {failed} (Ctrl+O)[/]")
        # offline, the last queue seen is no longer true: say it is unknown
        parts.append("в очереди: —" if view.waiting is None else f"в очереди: {view.waiting}")
        articles = f"статей: {kb}"
        text = " · ".join(parts)
        # the articles give way first when the line is too long (80 columns, a long name)
        if not width or Text.from_markup(text).cell_len + 3 + len(articles) <= width:
            text += " · " + articles
        self.update(text)
