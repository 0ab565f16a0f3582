"""Modal screens of the console: sign-in, pickers, forms, article and appeal views, help."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar
from weakref import WeakKeyDictionary

from rich.align import Align
from rich.markup import escape
from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.command import CommandList, CommandPalette
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import (
    Button,
    DataTable,
    Input,
    Label,
    OptionList,
    Static,
)
from textual.widgets.option_list import Option

if TYPE_CHECKING:
    from kb_index import Article

from ekc_core.schemas import AppealDetail, ContactPublic
from ekc_tui import topic_match
from ekc_tui.desk import Reference
from ekc_tui.store import OutboxItem
from ekc_tui.text import (
    CHANNELS,
    EVENT_TYPES,
    OUTCOMES,
    STATUS_NAMES,
    fmt_dt,
)


class Dialog(ModalScreen[object]):
    """A modal with Esc to cancel."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Отмена", id="dialog.cancel", tooltip="Закрыть без изменений")
    ]

    def action_cancel(self) -> None:
        self.dismiss(None)


# --- sign-in ----------------------------------------------------------------------------


@dataclass
class LoginRequest:
    server: str
    username: str
    password: str


class LoginScreen(Dialog):
    """Server URL, login and password; the app signs in and closes it on success.

    A failed attempt opens the form again: it shows the server and login typed last in
    this console (not the defaults), with the cursor in the password."""

    #: the last attempt of each console app (the password is never kept)
    typed: ClassVar[WeakKeyDictionary[App[object], tuple[str, str]]] = WeakKeyDictionary()

    def __init__(self, server: str, username: str = "", message: str = "") -> None:
        super().__init__(id="login")
        self._server, self._username, self._message = server, username, message

    def compose(self) -> ComposeResult:
        last = self.typed.get(self.app)
        if last is not None:
            self._server, self._username = last
        with Vertical(classes="dialog"):
            yield Static("[b]ЕКЦ 122 — вход оператора[/b]", classes="title")
            yield Label("Адрес сервера")
            yield Input(self._server, id="server")
            yield Label("Логин")
            yield Input(self._username, id="username")
            yield Label("Пароль")
            yield Input(password=True, id="password")
            yield Static(self._message, id="login-error", classes="error")
            yield Static("Enter — войти, Esc — выйти из программы", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#password" if self._username else "#username", Input).focus()

    @on(Input.Submitted)
    def _submit(self, event: Input.Submitted) -> None:
        server = self.query_one("#server", Input).value.strip()
        username = self.query_one("#username", Input).value.strip()
        password = self.query_one("#password", Input).value
        if not (server and username and password):
            missing = [
                n
                for n, v in (("сервер", server), ("логин", username), ("пароль", password))
                if not v
            ]
            self.show_error("Заполните: " + ", ".join(missing))
            nxt = {"server": "#username", "username": "#password"}.get(event.input.id or "")
            if nxt:
                self.query_one(nxt, Input).focus()
            return
        self.show_error("Вход…")
        self.typed[self.app] = (server, username)
        self.dismiss(LoginRequest(server, username, password))

    def show_error(self, text: str) -> None:
        self.query_one("#login-error", Static).update(text)


# --- a filterable list ------------------------------------------------------------------


class PickerScreen(Dialog):
    """Type to filter, arrows to move, Enter to choose; returns the chosen value."""

    def __init__(
        self,
        title: str,
        items: Sequence[tuple[str, str]],
        *,
        first: str | None = None,
        placeholder: str = "Введите часть названия…",
    ) -> None:
        super().__init__(classes="picker")
        self._title = title
        self._items = list(items)
        self._first = first
        self._placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Static(f"[b]{escape(self._title)}[/b]", classes="title")
            yield Input(placeholder=self._placeholder, id="filter")
            yield OptionList(id="choices")
            yield Static("Enter — выбрать, ↑↓ — листать, Esc — отмена", classes="hint")

    def on_mount(self) -> None:
        self._fill("")
        self.query_one("#filter", Input).focus()
        self.run_worker(self._warm, thread=True, group="picker-warm", exit_on_error=False)

    def _warm(self) -> None:
        """Word forms of every label before the first key (the analysis loads lazily)."""
        for _value, label in self._items:
            topic_match.label_forms(label)

    def _fill(self, text: str) -> None:
        words = text.split()
        options = self.query_one("#choices", OptionList)
        options.clear_options()
        items = topic_match.filter_items(self._items, text)  # word forms: «скорая» → «скорой»
        if self._first and not words:
            items.sort(key=lambda item: item[0] != self._first)
        options.add_options([Option(escape(label), id=value) for value, label in items[:300]])
        if items:
            options.highlighted = 0

    @on(Input.Changed, "#filter")
    def _changed(self, event: Input.Changed) -> None:
        self._fill(event.value)

    def on_key(self, event: object) -> None:
        key = getattr(event, "key", "")
        options = self.query_one("#choices", OptionList)
        if key in ("down", "up") and self.focused is self.query_one("#filter", Input):
            options.action_cursor_down() if key == "down" else options.action_cursor_up()
            getattr(event, "stop", lambda: None)()

    @on(Input.Submitted, "#filter")
    def _submit(self) -> None:
        options = self.query_one("#choices", OptionList)
        if options.highlighted is not None:
            option = options.get_option_at_index(options.highlighted)
            self.dismiss(option.id)

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


def topic_items(ref: Reference) -> list[tuple[str, str]]:
    return [(t.code, ref.topic_path(t.code)) for t in ref.topics if t.active]


def agency_items(ref: Reference) -> list[tuple[str, str]]:
    return [(a.code, a.name) for a in ref.agencies if a.active]


class PromptScreen(Dialog):
    """One line of text (e.g. a phone or a name to look for)."""

    def __init__(self, title: str, placeholder: str) -> None:
        super().__init__()
        self._title, self._placeholder = title, placeholder

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(f"[b]{escape(self._title)}[/b]", classes="title")
            yield Input(placeholder=self._placeholder, id="prompt")
            yield Static("Enter — найти, Esc — отмена", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#prompt", Input).focus()

    @on(Input.Submitted)
    def _ok(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)


# --- viewers ----------------------------------------------------------------------------


def answer_of(article: Article) -> str:
    """The part of an article to say to the citizen (or the operator's summary)."""
    body = article.body
    for head in ("Что сказать гражданину", "Кратко для оператора"):
        m = re.search(
            r"\*\*" + head + r"[.:]?\*\*[.:]?\s*(.+?)(?=\n\*\*[^*\n]+\*\*|\Z)", body, re.S
        )
        if m:
            text = re.sub(r"\s*\n\s*[-\d.]*\s*", " ", m.group(1).strip())
            return re.sub(r"\s{2,}", " ", text).strip()
    return re.sub(r"\s+", " ", body)[:1000]


class ArticleScreen(Dialog):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "ctrl+y",
            "copy",
            "Ответ в итог",
            id="article.copy",
            tooltip="Вставить ответ гражданину в итог разговора",
        ),
    ]

    def __init__(self, article: Article, topic: str) -> None:
        super().__init__()
        self.article = article
        self._topic = topic

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog full"):
            yield Static(f"[b]{escape(self.article.title)}[/b]", classes="title")
            yield Static(escape(self._topic), classes="dim")
            from textual.widgets import Markdown  # only when an article is opened

            with VerticalScroll(id="article-body"):
                yield Markdown(self.article.body)
            yield Static(
                "Ctrl+Y — ответ в итог, ↑↓ PgUp PgDn — листать, Esc — закрыть", classes="hint"
            )

    def on_mount(self) -> None:
        self.query_one("#article-body").focus()

    def action_copy(self) -> None:
        self.dismiss(answer_of(self.article))


class AppealViewScreen(Dialog):
    def __init__(self, appeal: AppealDetail, ref: Reference) -> None:
        super().__init__()
        self.appeal, self.ref = appeal, ref

    def compose(self) -> ComposeResult:
        a = self.appeal
        status = STATUS_NAMES.get(a.status.value, a.status.value)
        due = f"ответ до {fmt_dt(a.answer_due)}" if a.answer_due else ""
        overdue = " [b red]ПРОСРОЧЕНО[/]" if a.overdue else ""
        with Vertical(classes="dialog full"):
            yield Static(
                f"[b]Обращение {a.number}[/b] · {status} · {due}{overdue}", classes="title"
            )
            yield Static(
                f"{escape(self.ref.topic_path(a.topic_code))} · "
                f"{escape(self.ref.agency_name(a.agency_code)) or 'ведомство не назначено'}"
            )
            yield Static(escape(a.summary))
            table: DataTable[str] = DataTable(id="events", cursor_type="row", zebra_stripes=True)
            yield table
            yield Static("↑↓ — листать, Esc — закрыть", classes="hint")

    def on_mount(self) -> None:
        table = self.query_one("#events", DataTable)
        table.add_columns("Когда", "Событие", "Кто", "Текст")
        for e in sorted(self.appeal.events, key=lambda e: e.at, reverse=True):
            table.add_row(
                fmt_dt(e.at),
                EVENT_TYPES.get(e.type.value, e.type.value),
                e.actor_name or "",
                (e.text or self.ref.agency_name(e.agency_code))[:200],
            )
        table.focus()


class ContactViewScreen(Dialog):
    """One past contact of the citizen, in full."""

    def __init__(self, contact: ContactPublic, ref: Reference) -> None:
        super().__init__()
        self.contact, self.ref = contact, ref

    def compose(self) -> ComposeResult:
        c = self.contact
        channel = CHANNELS.get(c.channel.value, c.channel.value) + (
            f" {c.line.value}" if c.line else ""
        )
        arrow = "входящий" if c.direction.value == "in" else "исходящий"
        outcome = OUTCOMES.get(c.outcome, "") if c.outcome else ""
        lines = [
            f"{fmt_dt(c.queued_at)} · {channel} · {arrow} · "
            f"{STATUS_NAMES.get(c.status.value, c.status.value)}",
            f"Тематика: {escape(self.ref.topic_path(c.topic_code)) or '—'}",
            f"Результат: {outcome or '—'}",
        ]
        if c.text:
            lines += ["", "[b]Сообщение гражданина[/b]", escape(c.text)]
        if c.handoff and c.handoff.transcript:
            lines += ["", "[b]Голосовой помощник[/b]", escape(c.handoff.transcript)]
        lines += ["", "[b]Итог[/b]", escape(c.summary or "—")]
        with Vertical(classes="dialog wide"):
            yield Static("[b]Контакт[/b]", classes="title")
            with VerticalScroll(id="contact-body"):
                yield Static("\n".join(lines))
            yield Static("Esc — закрыть", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#contact-body").focus()


class RussianPalette(CommandPalette):
    """Textual's command palette with its one English phrase in Russian."""

    def _start_no_matches_countdown(self, search_value: str) -> None:
        self._stop_no_matches_countdown()

        def show() -> None:
            if search_value:
                self.query_one(CommandList).add_option(
                    Option(
                        Align.center(Text("Ничего не найдено", style="not bold")),
                        disabled=True,
                        id=self._NO_MATCHES,
                    )
                )
                self._list_visible = True
            else:
                self._list_visible = False

        self._no_matches_timer = self.set_timer(self._NO_MATCHES_COUNTDOWN, show)


class ConfirmScreen(Dialog):
    """Yes/no for anything that cannot be undone."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y,д", "yes", "Да", id="confirm.yes", tooltip="Подтвердить"),
        Binding("n,н", "cancel", "Нет", id="confirm.no", tooltip="Отказаться"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self._q = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self._q, classes="title")
            with Horizontal(classes="buttons"):
                yield Button("Да (Д/Y)", id="yes", variant="error")
                yield Button("Нет (Н/N, Esc)", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def action_yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class HelpScreen(Dialog):
    """Every key of the console, with what it does where."""

    def __init__(self, rows: list[tuple[str, str, str]], context: str) -> None:
        super().__init__(id="help")
        self._rows, self._situation = rows, context

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog full"):
            yield Static("[b]Справка: клавиши консоли[/b]", classes="title")
            yield Static(self._situation, classes="dim")
            table: DataTable[str] = DataTable(id="keys", cursor_type="row")
            yield table
            yield Static("Ctrl+P — поиск команды по названию. Esc — закрыть", classes="hint")

    def on_mount(self) -> None:
        table = self.query_one("#keys", DataTable)
        table.add_columns("Клавиша", "Действие", "Пояснение")
        for row in self._rows:
            table.add_row(*row)
        table.focus()


class OutboxScreen(Dialog):
    """What has not reached the backend yet, and what it refused."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "r,к", "retry", "Повторить", id="outbox.retry", tooltip="Отправить отклонённое снова"
        ),
        Binding(
            "e,у",
            "correct",
            "Исправить",
            id="outbox.correct",
            tooltip="Открыть карточку, исправить и сохранить снова",
        ),
        Binding(
            "delete",
            "discard",
            "Отказаться",
            id="outbox.discard",
            tooltip="Не отправлять (с подтверждением)",
        ),
    ]

    def __init__(self, rows: list[tuple[int, str, str, str, str]]) -> None:
        super().__init__()
        self._rows = rows

    @classmethod
    def of(cls, items: Sequence[OutboxItem]) -> OutboxScreen:
        return cls(
            [
                (
                    i.id,
                    datetime.fromtimestamp(i.created_at).strftime("%d.%m %H:%M:%S"),
                    i.title,
                    {"pending": "ждёт отправки", "failed": "отклонено"}.get(i.state, i.state),
                    (i.last_error or "")[:120],
                )
                for i in items
            ]
        )

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog full"):
            yield Static("[b]Неотправленное[/b]", classes="title")
            table: DataTable[str] = DataTable(id="items", cursor_type="row")
            yield table
            yield Static(
                "Enter или E — исправить отклонённое, R — повторить, Del — отказаться, "
                "Esc — закрыть",
                classes="hint",
            )

    def on_mount(self) -> None:
        table = self.query_one("#items", DataTable)
        table.add_columns("Создано", "Что", "Состояние", "Ошибка")
        for item_id, created, title, state, error in self._rows:
            table.add_row(created, title, state, error, key=str(item_id))
        table.focus()

    def _current(self) -> int | None:
        table = self.query_one("#items", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return int(key) if key else None

    def action_retry(self) -> None:
        item = self._current()
        if item is not None:
            self.dismiss(("retry", item))

    @on(DataTable.RowSelected, "#items")
    def action_correct(self) -> None:
        item = self._current()
        if item is not None:
            self.dismiss(("correct", item))

    def action_discard(self) -> None:
        item = self._current()
        if item is None:
            return

        def answer(yes: object) -> None:
            if yes:
                self.dismiss(("discard", item))

        self.app.push_screen(
            ConfirmScreen(
                "Отказаться от этой записи? Её данные останутся только в консоли, а контакт, "
                "если он ещё открыт на сервере, будет закрыт с причиной отказа."
            ),
            answer,
        )
