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


def format_phone(e164: str) -> str:
    """Human form of an E.164 number for the full (unmasked) view."""
    try:
        parsed = phonenumbers.parse(e164, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
