"""The reason dialog of F12 (imported when first opened)."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from ekc_tui.screens import Dialog

REASON_KEYS = 5


class ReasonScreen(Dialog):
    """Why the operator leaves the line: 1–5 or arrows and Enter; Esc stays on the line."""

    BINDINGS: ClassVar[list[BindingType]] = [
        *Dialog.BINDINGS,
        *(
            Binding(str(n), f"pick({n - 1})", show=False, id=f"reason.{n}", tooltip="Причина")
            for n in range(1, REASON_KEYS + 1)
        ),
    ]

    def __init__(self, reasons: list[tuple[str, str]]) -> None:
        super().__init__()
        self.reasons = reasons

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("[b]Уйти с линии: причина[/b]", classes="title")
            yield OptionList(
                *(
                    Option(f"{n}. {label}", id=code)
                    for n, (code, label) in enumerate(self.reasons, 1)
                ),
                id="reasons",
            )
            yield Static("1–5 или Enter — выбрать, Esc — остаться на линии", classes="hint")

    def on_mount(self) -> None:
        options = self.query_one("#reasons", OptionList)
        options.highlighted = 0
        options.focus()

    def action_pick(self, index: int) -> None:
        if index < len(self.reasons):
            self.dismiss(self.reasons[index][0])

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)
