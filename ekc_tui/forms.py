"""The console's forms: a new citizen, an appeal, a callback, a card opened by hand."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Checkbox, Input, Label, Select, Static

from ekc_core.addresses import looks_like_email
from ekc_core.enums import AppealKind, Channel, Line
from ekc_core.phones import InvalidPhoneError, normalize_phone
from ekc_tui.cards import AppealDraft, CallbackDraft, NewCitizen
from ekc_tui.desk import Reference
from ekc_tui.screens import Dialog, PickerScreen, agency_items
from ekc_tui.text import APPEAL_KINDS, CHANNEL_CHOICES, fmt_dt


def _address(word: str) -> bool:
    """An e-mail or a messenger id (vk.com/id123, tg:@name), not a phone or a name."""
    return looks_like_email(word) or any(ch in word for ch in "@/:")


def split_lookup(text: str) -> tuple[str, str]:
    """What the operator typed to find a caller, as (phone, name): the words with digits
    are the phone, the others the name ("8 914 12" is a phone, even a wrong one); an
    e-mail or a messenger id stays with the name (the new-citizen form takes it out)."""
    words = text.split()
    phone = " ".join(w for w in words if any(ch.isdigit() for ch in w) and not _address(w))
    name = " ".join(w for w in words if not any(ch.isdigit() for ch in w) or _address(w))
    return phone, name


def split_hint(hint: str) -> tuple[list[str], str | None, str | None]:
    """A name hint as (name words, e-mail, messenger id)."""
    names: list[str] = []
    email: str | None = None
    messenger: str | None = None
    for word in hint.split():
        if looks_like_email(word):
            email = email or word
        elif _address(word):
            messenger = messenger or word
        else:
            names.append(word)
    return names, email, messenger


class NewCitizenScreen(Dialog):
    """The short form for a caller nobody knows yet. The phone is checked (and stored in
    E.164) before the form closes; a reason the server gave is shown under its field."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "ok", "Готово", id="citizen.ok", tooltip="Принять данные")
    ]
    FIELDS: ClassVar[dict[str, str]] = {
        "last_name": "last",
        "first_name": "first",
        "middle_name": "middle",
        "settlement": "settlement",
        "phone": "phone",
        "phones": "phone",
        "email": "email",
        "messenger_id": "messenger",
    }

    def __init__(
        self,
        phone: str | None,
        name_hint: str = "",
        *,
        draft: NewCitizen | None = None,
        errors: dict[str, str] | None = None,
    ) -> None:
        super().__init__()
        self._phone = phone
        self._hint = name_hint
        self._draft = draft
        self._errors = errors or {}
        self._checked = ((draft.phone if draft else None) or phone or "").strip()
        """The number whose reason is shown under the field (typing another clears it)."""

    def compose(self) -> ComposeResult:
        parts, email, messenger = split_hint(self._hint)
        d = self._draft
        email = (d.email if d else None) or email or ""
        messenger = (d.messenger_id if d else None) or messenger or ""
        last = d.last_name if d else (parts[0] if parts else "")
        first = d.first_name if d else (parts[1] if len(parts) > 1 else "")
        middle = d.middle_name if d else (parts[2] if len(parts) > 2 else "")
        phone = (d.phone if d else None) or self._phone or ""
        with Vertical(classes="dialog"):
            yield Static("[b]Новый гражданин[/b]", classes="title")
            with Horizontal(classes="row"):
                yield Input(last, placeholder="Фамилия", id="last")
                yield Input(first, placeholder="Имя", id="first")
            yield Static("", classes="error", id="err-names")
            with Horizontal(classes="row"):
                yield Input(middle, placeholder="Отчество", id="middle")
                yield Input(
                    (d.settlement if d else None) or "",
                    placeholder="Населённый пункт",
                    id="settlement",
                )
            yield Static("", classes="error", id="err-more")
            with Horizontal(classes="row"):
                yield Input(phone, placeholder="Телефон", id="phone")
                yield Input(email, placeholder="E-mail", id="email")
                yield Input(messenger, placeholder="Мессенджер: vk.com/id…", id="messenger")
            yield Static("", classes="error", id="err-phone")
            yield Static("", classes="error", id="err-address")
            yield Checkbox(
                "Согласие на обработку персональных данных",
                d.consent_personal_data if d else False,
                id="consent",
            )
            yield Static("", classes="error", id="citizen-error")
            yield Static("Ctrl+S или Enter — готово, Esc — отмена", classes="hint")

    def on_mount(self) -> None:
        labels = {
            "last": "Фамилия",
            "first": "Имя",
            "middle": "Отчество",
            "settlement": "Населённый пункт",
        }
        names, more = [], []
        for field, message in self._errors.items():
            box = self.FIELDS.get(field)
            if box in ("last", "first"):
                names.append(f"{labels[box]}: {message}")
            elif box in ("middle", "settlement"):
                more.append(f"{labels[box]}: {message}")
            elif box == "phone":
                self._show("#err-phone", f"Телефон: {message}")
            elif box in ("email", "messenger"):
                label = "E-mail" if box == "email" else "Мессенджер"
                self._show("#err-address", f"{label}: {message}")
            else:
                self._show("#citizen-error", f"Сервер: {message}")
        self._show("#err-names", "; ".join(names))
        self._show("#err-more", "; ".join(more))
        if not any(self.FIELDS.get(f) in ("email", "messenger") for f in self._errors):
            self._show("#err-address", "")
        phone = self.query_one("#phone", Input).value.strip()
        if phone and "phone" not in self._errors:
            self._check_phone(phone)
        wrong = [self.FIELDS[f] for f in self._errors if f in self.FIELDS]
        self.query_one(f"#{wrong[0] if wrong else 'last'}", Input).focus()

    def _show(self, where: str, text: str) -> None:
        box = self.query_one(where, Static)
        box.update(escape(text))
        box.display = bool(text)

    def _check_phone(self, phone: str) -> str | None:
        """The number in E.164, or None with the reason shown under the field."""
        self._checked = phone
        try:
            e164 = normalize_phone(phone)
        except InvalidPhoneError as exc:
            self._show("#err-phone", f"Телефон: {exc.reason}")
            return None
        self._show("#err-phone", "")
        return e164

    @on(Input.Changed, "#phone")
    def _phone_changed(self, event: Input.Changed) -> None:
        if event.value.strip() != self._checked:
            self._show("#err-phone", "")  # a new number: its reason is no longer the same

    @on(Input.Submitted)
    def action_ok(self) -> None:
        value = {i.id: i.value.strip() for i in self.query(Input)}
        if not (value["last"] or value["first"]):
            self._show("#citizen-error", "Укажите фамилию или имя")
            self.query_one("#last", Input).focus()
            return
        if any(ch.isdigit() for ch in value["last"] + value["first"] + value["middle"]):
            self._show("#err-names", "В фамилии, имени и отчестве не бывает цифр")
            self.query_one("#last", Input).focus()
            return
        phone: str | None = None
        if value["phone"]:
            phone = self._check_phone(value["phone"])
            if phone is None:
                self.query_one("#phone", Input).focus()
                return
        if value["email"] and not looks_like_email(value["email"]):
            self._show("#err-address", "E-mail: нужен адрес вида имя@почта.ru")
            self.query_one("#email", Input).focus()
            return
        if any(ch.isspace() for ch in value["messenger"]):
            self._show("#err-address", "Мессенджер: одно слово без пробелов (vk.com/id123)")
            self.query_one("#messenger", Input).focus()
            return
        self._show("#err-address", "")
        self.dismiss(
            NewCitizen(
                last_name=value["last"],
                first_name=value["first"],
                middle_name=value["middle"],
                phone=phone,
                settlement=value["settlement"] or None,
                consent_personal_data=self.query_one("#consent", Checkbox).value,
                email=value["email"] or None,
                messenger_id=value["messenger"] or None,
            )
        )


class AppealFormScreen(Dialog):
    """Register an appeal: kind, agency, summary; shows the deadlines it will get."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "ok", "Готово", id="appeal.ok", tooltip="Принять обращение"),
        Binding("ctrl+g", "agency", "Ведомство", id="appeal.agency", tooltip="Выбрать ведомство"),
    ]

    #: what was typed in a form closed without Ctrl+S, by card key (the latest few cards)
    unsaved: ClassVar[dict[str, AppealDraft]] = {}
    UNSAVED_KEPT: ClassVar[int] = 20

    def __init__(
        self,
        ref: Reference,
        topic_code: str | None,
        summary: str,
        *,
        draft: AppealDraft | None = None,
        error: str = "",
        card_key: str | None = None,
        has_citizen: bool = True,
    ) -> None:
        super().__init__()
        self.ref = ref
        self.topic_code = topic_code
        topic = ref.topic_by_code.get(topic_code or "")
        self.agency_code = topic.default_agency_code if topic else None
        self._summary = summary
        self._card_key = card_key
        self._has_citizen = has_citizen
        # what was typed and not accepted comes back before what was accepted last time
        draft = (self.unsaved.get(card_key) if card_key else None) or draft
        self._draft = draft
        self._error = error
        if draft is not None:
            self.agency_code = draft.agency_code or self.agency_code
            self._summary = draft.summary

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Static("[b]Регистрация обращения[/b]", classes="title")
            yield Static(f"Тематика: {escape(self.ref.topic_path(self.topic_code)) or '—'}")
            yield Select(
                [(label, kind.value) for kind, label in APPEAL_KINDS.items()],
                value=(self._draft.kind if self._draft else AppealKind.appeal_59fz).value,
                allow_blank=False,
                id="kind",
            )
            yield Static("", id="agency")
            yield Input(self._summary[:500], placeholder="Кратко суть обращения", id="summary")
            yield Checkbox(
                "Сложное (контроль до решения ведомством)",
                self._draft.complex if self._draft else False,
                id="complex",
            )
            yield Static("", id="deadlines")
            yield Static(escape(self._error), classes="error", id="appeal-error")
            yield Static("Ctrl+G — ведомство, Ctrl+S — готово, Esc — отмена", classes="hint")

    def on_mount(self) -> None:
        self._show()
        if not self._has_citizen and not self._error:
            self.query_one("#appeal-error", Static).update(NEEDS_CITIZEN)
        self.query_one("#kind", Select).focus()

    def typed(self) -> AppealDraft:
        """The form as it is now (accepted or not)."""
        return AppealDraft(
            kind=AppealKind(str(self.query_one("#kind", Select).value)),
            summary=self.query_one("#summary", Input).value.strip(),
            agency_code=self.agency_code,
            description=self._draft.description if self._draft else "",
            complex=self.query_one("#complex", Checkbox).value,
        )

    def _keep(self) -> None:
        if self._card_key is None:
            return
        self.unsaved.pop(self._card_key, None)
        self.unsaved[self._card_key] = self.typed()
        while len(self.unsaved) > self.UNSAVED_KEPT:
            self.unsaved.pop(next(iter(self.unsaved)))

    def action_cancel(self) -> None:
        self._keep()  # Esc loses nothing: reopened, the form shows it again
        self.dismiss(None)

    @on(Select.Changed)
    def _show(self) -> None:
        if not self.query("#kind"):
            return  # a change that arrived after the form was closed
        kind = AppealKind(str(self.query_one("#kind", Select).value))
        self.query_one("#agency", Static).update(
            f"Ведомство: {escape(self.ref.agency_name(self.agency_code)) or '— (Ctrl+G)'}"
        )
        terms = self.ref.deadlines(kind, self.topic_code)
        if terms is None:
            text = "Сроки: не установлены"
        else:
            parts = [
                f"{label} до {fmt_dt(value)}"
                for label, value in (
                    ("регистрация", terms.register_due),
                    ("направление", terms.forward_due),
                    ("ответ", terms.answer_due),
                )
                if value
            ]
            text = "Сроки (59-ФЗ): " + ("; ".join(parts) or "нет")
        self.query_one("#deadlines", Static).update(text)

    def action_agency(self) -> None:
        def chosen(code: object) -> None:
            if isinstance(code, str):
                self.agency_code = code
                self._show()

        self.app.push_screen(
            PickerScreen("Ведомство", agency_items(self.ref), first=self.agency_code), chosen
        )

    @on(Input.Submitted)
    def action_ok(self) -> None:
        draft = self.typed()
        if not draft.summary:
            self.query_one("#appeal-error", Static).update("Укажите суть обращения")
            self.query_one("#summary", Input).focus()
            return
        if not self._has_citizen:
            self._keep()
            self.query_one("#appeal-error", Static).update(NEEDS_CITIZEN)
            return
        if self._card_key is not None:
            self.unsaved.pop(self._card_key, None)
        self.dismiss(draft)


NEEDS_CITIZEN = (
    "Для обращения нужен гражданин: Esc, затем Ctrl+G — найти или добавить. Набранное сохранится"
)


_WHEN = re.compile(r"^\s*(?:(\d{1,2})\.(\d{1,2})\s+)?(\d{1,2})[:.](\d{2})\s*$")


def parse_due(text: str, now: datetime) -> datetime | None:
    """ "+2" (hours), "+30м", "15:30" (today, or tomorrow if past), "29.11 10:00"."""
    text = text.strip().lower()
    plus = re.fullmatch(r"\+\s*(\d+)\s*(ч|м|д)?", text)
    if plus:
        n, unit = int(plus.group(1)), plus.group(2) or "ч"
        return (
            now + {"ч": timedelta(hours=n), "м": timedelta(minutes=n), "д": timedelta(days=n)}[unit]
        )
    m = _WHEN.match(text)
    if not m:
        return None
    day, month, hour, minute = m.groups()
    try:
        due = now.replace(
            day=int(day) if day else now.day,
            month=int(month) if month else now.month,
            hour=int(hour),
            minute=int(minute),
            second=0,
            microsecond=0,
        )
    except ValueError:
        return None
    if due < now and not day:
        due += timedelta(days=1)
    return due


class CallbackFormScreen(Dialog):
    """When to call back and why."""

    def __init__(
        self, reason: str = "", *, draft: CallbackDraft | None = None, error: str = ""
    ) -> None:
        super().__init__()
        self._reason = draft.reason if draft else reason
        self._due = draft.due_at.astimezone().strftime("%d.%m %H:%M") if draft else "+2"
        self._error = error

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("[b]Запланировать перезвон[/b]", classes="title")
            yield Label("Когда: «+2» (через 2 часа), «+30м», «15:30», «29.11 10:00»")
            yield Input(self._due, id="due")
            yield Label("Причина")
            yield Input(self._reason, placeholder="Что сообщить гражданину", id="reason")
            yield Static(escape(self._error), classes="error", id="cb-error")
            yield Static("Enter — готово, Esc — отмена", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#due", Input).focus()

    @on(Input.Submitted)
    def _ok(self, event: Input.Submitted) -> None:
        if event.input.id == "due":
            self.query_one("#reason", Input).focus()
            return
        now = datetime.now().astimezone()
        due = parse_due(self.query_one("#due", Input).value, now)
        if due is None or due < now:
            self.query_one("#cb-error", Static).update("Не понял время перезвона")
            self.query_one("#due", Input).focus()
            return
        reason = self.query_one("#reason", Input).value.strip() or "Перезвонить гражданину"
        self.dismiss(CallbackDraft(due_at=due, reason=reason))


# --- a card opened by hand ---------------------------------------------------------------


@dataclass
class ManualRequest:
    channel: Channel
    line: Line | None
    text: str


class ManualCardScreen(Dialog):
    """A call that came without the telephony link: channel and the phone or name."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("[b]Карточка вручную[/b]", classes="title")
            yield Select(
                [(label, value) for value, label in CHANNEL_CHOICES],
                value=CHANNEL_CHOICES[0][0],
                allow_blank=False,
                id="channel",
            )
            yield Input(placeholder="Телефон или ФИО гражданина", id="who")
            yield Static("Enter — найти, Esc — отмена", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#who", Input).focus()

    @on(Input.Submitted)
    def _ok(self) -> None:
        choice = str(self.query_one("#channel", Select).value)
        channel, _, line = choice.partition(":")
        self.dismiss(
            ManualRequest(
                Channel(channel), Line(line) if line else None, self.query_one("#who", Input).value
            )
        )
