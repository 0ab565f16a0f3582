"""The console's global keys: bindings with ids (for keymaps) and tooltips, how they are
written for operators (F1, ^T), the F1 help rows (each key once) and the command palette.

The footer shows only the keys of the moment (a card open or not, `EkcConsole.check_action`)
and fits 80 columns: F4, Ctrl+R, Ctrl+B, Ctrl+O, Ctrl+Q and Ctrl+P are not in it (an appeal
and a callback are also reached from the outcomes, F5); F1 lists every key."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from textual.binding import Binding, BindingType

if TYPE_CHECKING:
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
    key("ctrl+n", "manual", "Вручную", "Карточка без телефонии"),
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
    return "Сейчас: карточка контакта. Ctrl+T — тематика, F5 — результат, F9 — сохранить."


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
