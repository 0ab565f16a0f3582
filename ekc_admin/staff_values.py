"""Staff fields as people write them (in options and in CSV files): roles, rates, hours,
yes/no, skills; the CSV column names; Russian reasons for a staff field's problem."""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

from ekc_core.enums import Role
from ekc_core.validation import russian_message

ROLE_NAMES = {
    Role.operator: "оператор",
    Role.shift_lead: "старший смены",
    Role.admin: "администратор",
    Role.gateway: "шлюз",
}
ROLE_SHORT = {
    Role.operator: "опер.",
    Role.shift_lead: "ст.см.",
    Role.admin: "админ",
    Role.gateway: "шлюз",
}
_ROLE_WORDS = {
    **{r.value: r for r in Role},
    **{name: r for r, name in ROLE_NAMES.items()},
    "старший": Role.shift_lead,
    "lead": Role.shift_lead,
    "админ": Role.admin,
}
_YES = {"да", "д", "yes", "y", "1", "true", "+", "истина"}
_NO = {"нет", "н", "no", "n", "0", "false", "-", "ложь"}

#: CSV column names (lower case, ё→е; the first one is shown in messages) by field
COLUMN_NAMES = {
    "username": ("логин", "username", "login", "учетная запись", "пользователь"),
    "full_name": ("фио", "full_name", "full name", "name", "имя", "сотрудник"),
    "role": ("роль", "role", "должность"),
    "office_code": ("офис", "office", "office_code", "код офиса"),
    "skills": ("навыки", "skills", "группы", "тематики"),
    "employment_rate": ("ставка", "rate", "employment_rate"),
    "night_work": ("ночь", "night_work", "night", "ночные", "ночные смены"),
    "week_hours": ("часов в неделю", "week_hours", "часы в неделю", "неделя"),
    "phone": ("телефон", "phone", "рабочий телефон"),
    "email": ("email", "e-mail", "почта", "эл. почта", "электронная почта"),
}
COLUMNS = {alias: name for name, aliases in COLUMN_NAMES.items() for alias in aliases}


# --- values as people write them ------------------------------------------------------------


def parse_role(text: str) -> Role:
    role = _ROLE_WORDS.get(re.sub(r"\s+", " ", text.strip().lower().replace("ё", "е")))
    if role is None:
        raise ValueError(
            f"«{text}»: неизвестная роль (оператор, старший смены, администратор "
            f"или operator, shift_lead, admin)"
        )
    return role


def parse_rate(text: str) -> float:
    """`"0,5"`, `"0.75"`, `"1"`, `"50%"` → a share of a full-time post."""
    clean = text.strip().replace(",", ".").replace(" ", "")
    percent = clean.endswith("%")
    try:
        value = float(clean.rstrip("%"))
    except ValueError:
        raise ValueError(f"«{text}»: ожидается число, например 1 или 0,5") from None
    if percent:
        value /= 100
    if not 0 < value <= 1:
        raise ValueError(f"«{text}»: ставка больше 0 и не больше 1 (например 0,5)")
    return value


def parse_hours(text: str) -> float:
    try:
        value = float(text.strip().replace(",", "."))
    except ValueError:
        raise ValueError(f"«{text}»: ожидается число часов, например 40 или 36") from None
    if not 0 < value <= 40:
        raise ValueError(f"«{text}»: больше 0 и не больше 40 часов")
    return value


def parse_yes_no(text: str) -> bool:
    key = text.strip().lower()
    if key in _YES:
        return True
    if key in _NO:
        return False
    raise ValueError(f"«{text}»: ожидается да или нет")


def split_skills(text: str) -> list[str]:
    return list(dict.fromkeys(s.strip() for s in re.split(r"[,|;]", text) if s.strip()))


def reason(name: str, error: Any) -> str:
    """A Russian reason for one pydantic error of a staff field."""
    if "error" in (error.get("ctx") or {}):  # our own validators already speak Russian
        return russian_message(error)
    if name == "username" and error.get("type") != "missing":
        return "только латинские буквы, цифры, «.», «_», «-» (до 60 знаков)"
    return russian_message(error)


def problems_of(exc: ValidationError) -> list[tuple[str, str]]:
    """(field, Russian reason) for each problem of a staff model."""
    found = []
    for e in exc.errors():
        name = str(e["loc"][0]) if e["loc"] else ""
        found.append((name, reason(name, e)))
    return found
