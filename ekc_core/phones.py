"""Phone numbers: E.164 normalisation (region RU) and masking for lists."""

from __future__ import annotations

import phonenumbers

DEFAULT_REGION = "RU"
RU_COUNTRY_CODE = 7
RU_NATIONAL_DIGITS = 10


class InvalidPhoneError(ValueError):
    """A phone number that cannot be understood; the message says which and why."""

    def __init__(self, raw: str, reason: str) -> None:
        self.raw = raw
        self.reason = reason
        super().__init__(f"номер «{raw}»: {reason}")


def normalize_phone(raw: str, region: str = DEFAULT_REGION) -> str:
    """Return `raw` in E.164 (`+73952123456`) or raise InvalidPhoneError.

    "8 (3952) 12-34-56", "+7 3952 123456" and "83952123456" are one number.
    """
    text = raw.strip()
    if not text:
        raise InvalidPhoneError(raw, "пустой номер")
    if not any(ch.isdigit() for ch in text):
        raise InvalidPhoneError(raw, "в номере нет цифр")
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneError(raw, _parse_reason(exc)) from exc
    if not phonenumbers.is_possible_number(parsed):
        reason = {
            phonenumbers.ValidationResult.TOO_SHORT: "слишком мало цифр",
            phonenumbers.ValidationResult.TOO_LONG: "слишком много цифр",
            phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: "неизвестный код страны",
        }.get(phonenumbers.is_possible_number_with_reason(parsed), "невозможная длина номера")
        raise InvalidPhoneError(raw, reason)
    if parsed.country_code == RU_COUNTRY_CODE:
        # every Russian number has ten digits after +7 / 8; say so rather than "no such code"
        digits = len(phonenumbers.national_significant_number(parsed))
        if digits > RU_NATIONAL_DIGITS:
            raise InvalidPhoneError(raw, f"слишком много цифр ({digits} после +7, нужно 10)")
        if digits < RU_NATIONAL_DIGITS:
            raise InvalidPhoneError(raw, f"слишком мало цифр ({digits} после +7, нужно 10)")
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidPhoneError(
            raw, "такого номера не существует (неверный код города или оператора)"
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _parse_reason(exc: phonenumbers.NumberParseException) -> str:
    kind = exc.error_type
    if kind == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
        return "неизвестный код страны"
    if kind in (
        phonenumbers.NumberParseException.TOO_SHORT_NSN,
        phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD,
    ):
        return "слишком мало цифр"
    if kind == phonenumbers.NumberParseException.TOO_LONG:
        return "слишком много цифр"
    return "это не телефонный номер"


def try_normalize_phone(raw: str, region: str = DEFAULT_REGION) -> str | None:
    """E.164 form of `raw`, or None when it is not a phone number (e.g. a name)."""
    try:
        return normalize_phone(raw, region)
    except InvalidPhoneError:
        return None


def mask_phone(e164: str) -> str:
    """Mask a number for lists (152-FZ): `+73952123456` → `+7 395 ***-**-56`."""
    digits = e164.lstrip("+")
    if len(digits) < 6:
        return "***"
    return f"+{digits[0]} {digits[1:4]} ***-**-{digits[-2:]}"


#: Russian geographic area codes longer than the 3-digit ABC zone, with the digits that
#: follow them being the local number (10 digits in all). The longest listed prefix wins.
#: Irkutsk region (zone 395): the three cities with 6-digit local numbers, the district
#: centres inside their blocks, and every other 395x as a 5-digit district code (Bodaibo
#: 39561, Kirensk 39568, Mama 39569, Erbogachen 39560, Ust-Kut 39565, ...); a few
#: neighbouring regional centres. Zones not listed keep the 3-digit split with a 7-digit
#: local number (Moscow 495/499, St Petersburg 812, Krasnoyarsk 391, Novosibirsk 383),
#: which is also the split of every mobile (DEF) code.
AREA_CODE_DIGITS: dict[str, int] = {
    "395": 5,
    "3952": 4,  # Irkutsk
    "3953": 4,  # Bratsk
    "39530": 5,  # Tulun
    "39535": 5,  # Ust-Ilimsk
    "3955": 4,  # Angarsk
    "39550": 5,  # Shelekhov
    "39553": 5,  # Sayansk
    "39554": 5,  # Zima
    "3012": 4,  # Ulan-Ude
    "3022": 4,  # Chita
    "3902": 4,  # Abakan
    "3942": 4,  # Kyzyl
    "4112": 4,  # Yakutsk
}
_LONGEST_PREFIX = max(len(p) for p in AREA_CODE_DIGITS)


def ru_area_code(national: str) -> str:
    """The area (or mobile operator) code of a 10-digit Russian national number."""
    for size in range(_LONGEST_PREFIX, 2, -1):
        digits = AREA_CODE_DIGITS.get(national[:size])
        if digits is not None:
            return national[:digits]
    return national[:3]


def _group_local(local: str) -> str:
    """A local number as Russians write it: 123-45-67, 12-34-56, 1-23-45."""
    head = local[: len(local) - 4]
    return f"{head}-{local[-4:-2]}-{local[-2:]}" if head else f"{local[-4:-2]}-{local[-2:]}"


def format_phone(e164: str) -> str:
    """Human form of an E.164 number for the full (unmasked) view: the Russian area code
    split as written locally (`+73952991234` → `+7 3952 99-12-34`, a mobile `+7 914
    000-12-34`, Bodaibo `+7 39561 2-34-56`); other countries in the international form."""
    digits = e164[1:] if e164.startswith("+") else ""
    if digits.isdigit() and len(digits) == 1 + RU_NATIONAL_DIGITS and digits[0] == "7":
        national = digits[1:]
        code = ru_area_code(national)
        return f"+7 {code} {_group_local(national[len(code) :])}"
    try:
        parsed = phonenumbers.parse(e164, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
