"""Russian names of codes and the console's date/time formats."""

from __future__ import annotations

import re
from datetime import datetime

from rich.markup import escape

from ekc_core.enums import AppealKind, CallbackResult, ContactOutcome

CHANNELS = {
    "phone": "Телефон",
    "social": "Соцсети",
    "pos": "ПОС",
    "governor_chat": "Чат губернатора",
    "web_chat": "Чат сайта",
    "email": "E-mail",
    "video": "Видео",
}

CHANNEL_CHOICES = [
    ("phone:122", "Телефон, линия 122"),
    ("phone:117", "Телефон, линия 117"),
    ("social", "Соцсети"),
    ("pos", "ПОС"),
    ("governor_chat", "Чат губернатора"),
    ("web_chat", "Чат сайта"),
    ("email", "E-mail"),
    ("video", "Видео (СПС)"),
]

OUTCOMES: dict[ContactOutcome, str] = {
    ContactOutcome.consultation: "Консультация дана",
    ContactOutcome.appeal_registered: "Зарегистрировано обращение",
    ContactOutcome.forwarded: "Передано в ведомство",
    ContactOutcome.transferred: "Переведено в ведомство",
    ContactOutcome.callback_needed: "Нужен перезвон",
    ContactOutcome.no_answer: "Не дозвонились",
}

CALLBACK_RESULTS: dict[CallbackResult, str] = {
    CallbackResult.reached: "Дозвонились",
    CallbackResult.no_answer: "Не отвечает",
    CallbackResult.busy: "Занято",
    CallbackResult.wrong_number: "Неверный номер",
    CallbackResult.declined: "Отказался от разговора",
}

APPEAL_KINDS: dict[AppealKind, str] = {
    AppealKind.appeal_59fz: "Письменное обращение (59-ФЗ)",
    AppealKind.consultation: "Консультация",
    AppealKind.pos_message: "Сообщение ПОС",
    AppealKind.complaint: "Жалоба",
    AppealKind.psych_help: "Психологическая помощь",
    AppealKind.emergency: "Экстренное",
}

STATUS_NAMES = {
    "registered": "зарегистрировано",
    "forwarded": "направлено",
    "in_progress": "в работе",
    "resolved": "решено",
    "closed": "закрыто",
    "cancelled": "отменено",
    "queued": "в очереди",
    "active": "идёт",
    "wrapup": "постобработка",
    "done": "завершён",
    "abandoned": "пропущен",
}

EVENT_TYPES = {
    "created": "создано",
    "comment": "комментарий",
    "forwarded": "направлено",
    "agency_reply": "ответ ведомства",
    "extended": "срок продлён",
    "status_change": "смена статуса",
    "callback_made": "перезвон",
    "resolved": "решено",
    "closed": "закрыто",
    "cancelled": "отменено",
}


def fmt_dt(value: datetime | None) -> str:
    return value.astimezone().strftime("%d.%m.%y %H:%M") if value else ""


def fmt_clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


_MARK = "**"


def highlight(fragment: str, limit: int | None = None) -> str:
    """`**word**` from kb_index -> Rich markup with the word highlighted (rest escaped).

    `limit` cuts the visible text (marks not counted) to that many characters. A fragment
    cut before it got here (a mark split in half at its end, "…пункт **отбора*") still
    shows no asterisks: the cut mark is dropped and an open one runs to the end.
    """
    text = re.sub(r"\s+", " ", fragment).strip()
    if text.endswith("*") and not text.endswith(_MARK):
        text = text[:-1]  # half of a mark cut off at the end
    parts = text.split(_MARK)  # even indexes plain, odd ones marked
    out: list[str] = []
    left = limit if limit is not None else len(text)
    for i, part in enumerate(parts):
        if left <= 0:
            break
        piece, left = part[:left], left - len(part)
        if not piece:
            continue
        out.append(f"[b reverse]{escape(piece)}[/]" if i % 2 else escape(piece))
    return "".join(out)
