"""Phone numbers: E.164 normalisation (region RU), clear errors, masking for lists."""

from __future__ import annotations

import pytest

from ekc_core.phones import (
    InvalidPhoneError,
    format_phone,
    mask_phone,
    normalize_phone,
    try_normalize_phone,
)


@pytest.mark.parametrize(
    "raw",
    [
        "8 (3952) 12-34-56",
        "+7 3952 123456",
        "83952123456",
        "8-3952-12-34-56",
        "  +7 (3952) 123-456  ",
        "3952123456",
    ],
)
def test_irkutsk_landline_written_any_way_is_one_number(raw: str) -> None:
    assert normalize_phone(raw) == "+73952123456"


@pytest.mark.parametrize(
    "raw", ["8-914-000-12-34", "+7 914 000 12 34", "89140001234", "9140001234", "+7(914)0001234"]
)
def test_mobile_numbers(raw: str) -> None:
    assert normalize_phone(raw) == "+79140001234"


def test_foreign_number_keeps_its_country_code() -> None:
    assert normalize_phone("+1 202 555 0100") == "+12025550100"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("12345", "слишком мало цифр"),
        ("abc", "в номере нет цифр"),
        ("", "пустой номер"),
        ("   ", "пустой номер"),
        ("+7 3952 1234567890", "слишком много цифр"),
        ("+999 123", "неизвестный код страны"),
        ("8 (000) 000-00-00", "неверный код"),
    ],
)
def test_bad_number_error_names_the_input_and_the_reason(raw: str, reason: str) -> None:
    with pytest.raises(InvalidPhoneError) as info:
        normalize_phone(raw)
    err = info.value
    assert err.raw == raw
    assert reason in err.reason
    message = str(err)
    assert f"«{raw}»" in message
    assert err.reason in message
    assert isinstance(err, ValueError)  # pydantic turns it into a 422 with this message


def test_try_normalize_returns_none_for_a_name() -> None:
    assert try_normalize_phone("Иванов") is None
    assert try_normalize_phone("8 (3952) 12-34-56") == "+73952123456"


@pytest.mark.parametrize(
    ("e164", "masked", "hidden"),
    [
        ("+73952123456", "+7 395 ***-**-56", "21234"),
        ("+79140001234", "+7 914 ***-**-34", "00012"),
    ],
)
def test_mask_phone_hides_the_middle_digits(e164: str, masked: str, hidden: str) -> None:
    result = mask_phone(e164)
    assert result == masked
    assert hidden not in result.replace(" ", "").replace("-", "")
    assert result.endswith(e164[-2:])


def test_mask_phone_of_a_short_value_hides_everything() -> None:
    assert mask_phone("+7123") == "***"


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("8 (3952) 99-12-34", "+7 3952 99-12-34"),  # Irkutsk: 4-digit code, 6-digit number
        ("8 (3953) 41-23-45", "+7 3953 41-23-45"),  # Bratsk
        ("8 (39535) 5-12-34", "+7 39535 5-12-34"),  # Ust-Ilimsk inside Bratsk's block
        ("8 (3955) 52-12-34", "+7 3955 52-12-34"),  # Angarsk
        ("8 (39561) 2-34-56", "+7 39561 2-34-56"),  # Bodaibo: 5-digit district code
        ("8 (39569) 2-11-22", "+7 39569 2-11-22"),  # Mama
        ("8 (495) 123-45-67", "+7 495 123-45-67"),  # Moscow: 3-digit code, 7 digits
        ("8 914 000-12-34", "+7 914 000-12-34"),  # mobile
        ("+1 202 555 0100", "+1 202-555-0100"),
    ],
)
def test_format_phone_splits_the_area_code_as_written_locally(raw: str, shown: str) -> None:
    assert format_phone(normalize_phone(raw)) == shown
    assert normalize_phone(shown) == normalize_phone(raw)  # what is shown reads back the same


def test_format_phone_keeps_what_it_cannot_read() -> None:
    assert format_phone("anonymous") == "anonymous"
