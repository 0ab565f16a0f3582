"""The console's global keys: bindings with ids (for keymaps) and tooltips, how they are
written for operators (F1, ^T), the F1 help rows (each key once) and the command palette.

The footer shows only the keys of the moment (a card open or not, on the line or not,
`EkcConsole.check_action`) and fits 80 columns: F4, F10, Ctrl+R, Ctrl+B, Ctrl+L, Ctrl+O,
Ctrl+Q and Ctrl+P are not in it (an appeal and a callback are also reached from the outcomes,
F5; the transfer to an agency, Ctrl+L, from the card); F1 lists every key. F12 takes the
operator off the line (asking why) or back on it, only while no card is open (finish the
card first); F10, the shift's wallboard, only for leads."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, cast

from textual.binding import Binding, BindingType

if TYPE_CHECKING:
    from textual.app import SystemCommand
    from textual.screen import Screen

    from ekc_tui.app import EkcConsole
    from ekc_tui.cards import Card


def key(binding_key: str, action: str, description: str, tooltip: str, **kw: Any) -> Binding:
    """A global key: its id is its action (keymaps can rebind it), the tooltip says more."""
    return Binding(binding_key, action, description, id=action, tooltip=tooltip, **kw)


BINDINGS: list[BindingType] = [
    key("f1", "help", "Справка", "Все клавиши и что они делают"),
    key("f2", "take", "Принять", "Принять контакт из очереди (в очереди F7 — выбранный)"),
    key("f3", "kb", "Поиск", "Поиск в базе знаний"),
    key("f4", "history", "История", "История гражданина", show=False),
    key("f5", "wrap", "Итог", "Тематика, результат, итог разговора"),
    key("f6", "callbacks", "Перезвоны", "Мои перезвоны"),
    key("f7", "queue", "Очередь", "Контакты, ожидающие оператора"),
    key("f8", "end_call", "Конец", "Разговор окончен"),
    key("f9", "save", "Сохранить", "Сохранить карточку"),
    key("ctrl+t", "topic", "Тема", "Выбрать тематику из дерева"),
    key("ctrl+g", "citizen", "Гражданин", "Найти гражданина (телефон, ФИО)"),
    key("ctrl+r", "appeal", "Обращение", "Зарегистрировать обращение (или F5, 2)", show=False),
    key("ctrl+b", "callback", "Перезвон", "Запланировать перезвон (или F5, 5)", show=False),
    key(
        "ctrl+l",
        "transfer",
        "Перевод",
        "Перевести контакт на линию ведомства (причина, суть; обращение — туда же)",
        show=False,
    ),
    key("ctrl+n", "manual", "Вручную", "Карточка без телефонии"),
    key(
        "f12",
        "presence",
        "Линия",
        "На линии / не на линии (перерыв, обед…; очередь тогда не опрашивается)",
    ),
    key("f10", "wallboard", "Табло", "Табло смены: очередь, SL, операторы", show=False),
    key("ctrl+o", "outbox", "Неотправленное", "Что не дошло до сервера", show=False),
    key("ctrl+q", "quit_console", "Выход", "Выйти из консоли", show=False),
    key(
        "ctrl+p",
        "command_palette",
        "Команды",
        "Найти действие по названию",
        show=False,
        priority=True,
    ),
]

#: keys of panes and dialogs (not global bindings), for F1
MORE_KEYS = [
    ("Enter", "Открыть", "статью в результатах поиска, обращение в истории, перезвон"),
    ("1–5", "Результат", "в списке результатов (F5) — выбрать цифрой"),
    ("Ctrl+Y", "Ответ в итог", "в открытой статье — вставить ответ гражданину в итог"),
    ("Esc", "Назад", "закрыть окно без изменений"),
    ("Tab", "Дальше", "следующее поле"),
]


def display(binding: Binding, default: Callable[[Binding], str]) -> str:
    """F1 … F9 and ^T as operators know them (Textual writes f1)."""
    k = binding.key
    if k.startswith("f") and k[1:].isdigit():
        return k.upper()
    if k.startswith("ctrl+") and len(k) == 6:
        return "^" + k[-1].upper()
    return default(binding)


def spelled(shown: str) -> str:
    return shown.replace("^", "Ctrl+")


def help_rows(shown: Callable[[Binding], str]) -> list[tuple[str, str, str]]:
    """Each key once: the global ones, then those of the panes and dialogs."""
    rows = []
    for binding in BINDINGS:
        assert isinstance(binding, Binding)
        rows.append((spelled(shown(binding)), binding.description, binding.tooltip))
    return rows + MORE_KEYS


def help_context(card: Card | None) -> str:
    """The first line of F1: what the operator is doing and the keys for it."""
    if card is None:
        return (
            "Сейчас: свободны. F2 — принять контакт из очереди, "
            "Ctrl+N — карточка вручную, F6 — перезвоны, Ctrl+Q — выход."
        )
    if card.callback is not None:
        return "Сейчас: перезвон. F5 — итог перезвона (цифрой), F9 — сохранить."
    return (
        "Сейчас: карточка контакта. Ctrl+T — тематика, F5 — результат, "
        "Ctrl+L — перевод в ведомство, F9 — сохранить."
    )


def commands(
    shown: Callable[[Binding], str], action: Callable[[str], Callable[[], Any]]
) -> Iterable[tuple[str, str, Callable[[], Any]]]:
    """(title, help, callback) of each global key for the command palette."""
    for binding in BINDINGS:
        assert isinstance(binding, Binding)
        if binding.action == "command_palette":
            continue
        title = f"{binding.description} ({spelled(shown(binding))})"
        yield title, binding.tooltip, action(binding.action)


class HelpKeys:
    """F1, the command palette and Ctrl+C out of habit: a mixin of `EkcConsole`."""

    def action_help(self) -> None:
        from ekc_tui.screens import HelpScreen

        console = cast("EkcConsole", self)
        if not isinstance(console.screen, HelpScreen):
            rows = help_rows(console.get_key_display)
            console.push_screen(HelpScreen(rows, help_context(console.card)))

    def action_command_palette(self) -> None:
        from textual.command import CommandPalette

        from ekc_tui.screens import RussianPalette

        console = cast("EkcConsole", self)
        if not CommandPalette.is_open(console):  # type: ignore[arg-type]  # App[None] is fine
            console.push_screen(
                RussianPalette(placeholder="Найти действие…", id="--command-palette")
            )

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        from textual.app import SystemCommand

        console = cast("EkcConsole", self)

        def action(name: str) -> Callable[[], Any]:
            return cast("Callable[[], Any]", getattr(console, f"action_{name}"))

        for title, help_text, callback in commands(console.get_key_display, action):
            yield SystemCommand(title, help_text, callback)

    def action_help_quit(self) -> None:
        """Ctrl+C out of habit: say how to quit (Textual's own hint is in English)."""
        cast("EkcConsole", self).notify("Выход из консоли — Ctrl+Q", title="Выйти?")
