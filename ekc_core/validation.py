"""Russian messages for validation errors (pydantic speaks English).

One translator for the backend's 422 answers and for what the CLIs check locally before
sending; each text names what is wrong with the field.
"""

from __future__ import annotations

from typing import Any

_MESSAGES: dict[str, str] = {
    "missing": "поле обязательно",
    "extra_forbidden": "неизвестное поле",
    "string_type": "ожидается строка",
    "string_too_short": "слишком короткое значение (минимум {min_length} зн.)",
    "string_too_long": "слишком длинное значение (максимум {max_length} зн.)",
    "string_pattern_mismatch": "недопустимые символы (формат {pattern})",
    "int_type": "ожидается целое число",
    "int_parsing": "ожидается целое число",
    "float_parsing": "ожидается число",
    "bool_type": "ожидается true или false",
    "bool_parsing": "ожидается true или false",
    "greater_than_equal": "должно быть не меньше {ge}",
    "greater_than": "должно быть больше {gt}",
    "less_than_equal": "должно быть не больше {le}",
    "less_than": "должно быть меньше {lt}",
    "too_long": "слишком много элементов (максимум {max_length})",
    "too_short": "слишком мало элементов (минимум {min_length})",
    "list_type": "ожидается список",
    "dict_type": "ожидается объект",
    "model_attributes_type": "ожидается объект",
    "datetime_parsing": "неверная дата и время (ISO 8601, например 2026-11-28T10:00:00+08:00)",
    "datetime_type": "ожидается дата и время",
    "datetime_from_date_parsing": "неверная дата и время (нужен ISO 8601)",
    "timezone_aware": "укажите часовой пояс (например +08:00)",
    "date_parsing": "неверная дата (нужен формат ГГГГ-ММ-ДД)",
    "json_invalid": "неверный JSON",
    "literal_error": "допустимые значения: {expected}",
    "enum": "допустимые значения: {expected}",
    "url_parsing": "неверный адрес",
}


def russian_message(error: dict[str, Any]) -> str:
    """The Russian text of one pydantic error; our own ValueErrors pass through as they are."""
    ctx = dict(error.get("ctx") or {})
    if str(error.get("msg", "")).startswith("value is not a valid email address"):
        return "неверный адрес электронной почты (нужен вид имя@домен.ru)"
    if "error" in ctx:  # a ValueError we raised (a bad phone, …) already speaks Russian
        return str(ctx["error"])
    template = _MESSAGES.get(str(error.get("type", "")))
    if template is None:
        return str(error.get("msg", ""))
    if "expected" in ctx:
        ctx["expected"] = str(ctx["expected"]).replace(" or ", " или ")
    try:
        return template.format(**ctx)
    except (KeyError, IndexError):
        return template.split(" (")[0]
