"""Russian messages for validation errors (pydantic and the web framework speak English).

One translator for the backend's 422 answers and for what the CLIs check locally before
sending; each text says what is wrong with the field (the field itself is the error's `loc`).
Only our own validators' texts (`value_error`, already Russian) pass through; every other
error gets a Russian template, and an unknown kind a generic Russian text, never English.
"""

from __future__ import annotations

from typing import Any

_DATE_FORMAT = "нужен формат ГГГГ-ММ-ДД, например 2026-11-28"
_DATETIME_FORMAT = "нужен ISO 8601 с часовым поясом, например 2026-11-28T10:00:00+08:00"

_MESSAGES: dict[str, str] = {
    "missing": "поле обязательно",
    "extra_forbidden": "неизвестное поле",
    "string_type": "ожидается строка",
    "string_too_short": "слишком короткое значение (минимум {min_length} зн.)",
    "string_too_long": "слишком длинное значение (максимум {max_length} зн.)",
    "string_pattern_mismatch": "недопустимые символы (формат {pattern})",
    "string_unicode": "строка должна быть в кодировке UTF-8",
    "int_type": "ожидается целое число",
    "int_parsing": "ожидается целое число",
    "int_parsing_size": "слишком большое число",
    "int_from_float": "ожидается целое число, без дробной части",
    "float_type": "ожидается число",
    "float_parsing": "ожидается число",
    "finite_number": "ожидается конечное число",
    "bool_type": "ожидается true или false",
    "bool_parsing": "ожидается true или false",
    "greater_than_equal": "должно быть не меньше {ge}",
    "greater_than": "должно быть больше {gt}",
    "less_than_equal": "должно быть не больше {le}",
    "less_than": "должно быть меньше {lt}",
    "multiple_of": "должно быть кратно {multiple_of}",
    "too_long": "слишком много элементов (максимум {max_length})",
    "too_short": "слишком мало элементов (минимум {min_length})",
    "list_type": "ожидается список",
    "tuple_type": "ожидается список",
    "set_type": "ожидается список",
    "dict_type": "ожидается объект",
    "model_type": "ожидается объект",
    "model_attributes_type": "ожидается объект",
    "dataclass_type": "ожидается объект",
    "none_required": "ожидается null",
    "datetime_parsing": f"неверная дата и время ({_DATETIME_FORMAT})",
    "datetime_type": f"ожидается дата и время ({_DATETIME_FORMAT})",
    "datetime_from_date_parsing": f"неверная дата и время ({_DATETIME_FORMAT})",
    "datetime_object_invalid": f"неверная дата и время ({_DATETIME_FORMAT})",
    "timezone_aware": "укажите часовой пояс (например +08:00)",
    "timezone_naive": "время без часового пояса",
    "date_parsing": f"неверная дата ({_DATE_FORMAT})",
    "date_type": f"ожидается дата ({_DATE_FORMAT})",
    "date_from_datetime_parsing": f"неверная дата ({_DATE_FORMAT})",
    "date_from_datetime_inexact": f"ожидается дата без времени ({_DATE_FORMAT})",
    "time_parsing": "неверное время (нужен формат ЧЧ:ММ)",
    "time_type": "ожидается время (ЧЧ:ММ)",
    "json_invalid": "неверный JSON",
    "json_type": "ожидается JSON",
    "literal_error": "допустимые значения: {expected}",
    "enum": "допустимые значения: {expected}",
    "union_tag_invalid": "недопустимый вид значения",
    "union_tag_not_found": "не указан вид значения",
    "url_parsing": "неверный адрес",
    "url_type": "ожидается адрес",
    "uuid_parsing": "неверный идентификатор UUID",
    "bytes_type": "ожидается строка",
    "is_instance_of": "недопустимое значение",
}

#: a string whose length is out of bounds reports `too_long` in some parameter kinds
_STRING_LENGTH = {"too_long": "string_too_long", "too_short": "string_too_short"}

_GENERIC = "недопустимое значение"


def russian_message(error: dict[str, Any]) -> str:
    """The Russian text of one pydantic error; our own ValueErrors pass through as they are."""
    ctx = dict(error.get("ctx") or {})
    kind = str(error.get("type", ""))
    if str(error.get("msg", "")).startswith("value is not a valid email address"):
        return "неверный адрес электронной почты (нужен вид имя@домен.ru)"
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        # a ValueError we raised (a bad phone, a date out of range, …) already speaks Russian
        return str(ctx["error"])
    if kind in _STRING_LENGTH and isinstance(error.get("input"), str):
        kind = _STRING_LENGTH[kind]
    template = _MESSAGES.get(kind)
    if template is None:
        return _GENERIC
    if "expected" in ctx:
        ctx["expected"] = str(ctx["expected"]).replace(" or ", " или ")
    try:
        return template.format(**ctx)
    except (KeyError, IndexError):
        return template.split(" (")[0]


#: Russian texts for the HTTP errors the framework raises itself (unknown route, wrong method,
#: an unreadable body); the others get the generic text of their class
_HTTP_MESSAGES: dict[int, str] = {
    400: "неверный запрос: тело не удалось разобрать (нужен JSON в кодировке UTF-8)",
    401: "требуется вход",
    403: "недостаточно прав",
    404: "адрес не найден: проверьте путь запроса (API находится под /api/v1)",
    405: "метод не поддерживается по этому адресу",
    406: "недопустимый формат ответа",
    408: "истекло время ожидания запроса",
    409: "конфликт с текущим состоянием",
    411: "не указана длина тела запроса",
    413: "тело запроса слишком велико",
    414: "адрес запроса слишком длинный",
    415: "неподдерживаемый тип содержимого (нужен application/json)",
    422: "запрос не прошёл проверку",
    429: "слишком много запросов, повторите позже",
    500: "внутренняя ошибка сервера; повторите позже",
    503: "сервер перегружен, повторите позже",
}


def russian_http_message(status_code: int) -> str:
    """The Russian text of an HTTP error the framework raised (its own text is English)."""
    if status_code in _HTTP_MESSAGES:
        return _HTTP_MESSAGES[status_code]
    return "ошибка в запросе" if status_code < 500 else "ошибка сервера; повторите позже"
