from datetime import date

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from members import national_id, phone

VALID = "11010519491231002X"  # the GB 11643 standard's own example


def test_standard_example_is_valid():
    assert national_id.validate(VALID) == VALID


def test_lower_case_x_and_spaces_are_normalised():
    assert national_id.validate(" 11010519491231002x ") == VALID


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("11010519491231002", "length"),
        ("1101051949123100XX", "characters"),
        ("910105194912310021", "region"),
        ("110105194902300028", "birth_date"),  # 30 February
        ("110105203001010026", "birth_date"),  # in the future
        ("110105194912310021", "check_digit"),
    ],
)
def test_invalid_numbers_say_why(number, code):
    with pytest.raises(ValidationError) as raised:
        national_id.validate(number)
    assert raised.value.code == code


def test_messages_are_chinese(settings):
    from django.utils import translation

    with translation.override("zh-hans"), pytest.raises(ValidationError) as raised:
        national_id.validate("110105194912310021")
    assert "校验码" in str(raised.value.messages[0])


def test_mask_keeps_region_and_last_two():
    assert national_id.mask(VALID) == "110105**********2X"
    assert national_id.mask("") == ""


def test_birth_date_is_read_from_the_number():
    assert national_id.birth_date_of(VALID) == date(1949, 12, 31)


@given(
    region=st.sampled_from(["110105", "330102", "511921", "440305"]),
    born=st.dates(min_value=date(1920, 1, 1), max_value=date(2008, 12, 31)),
    sequence=st.integers(min_value=0, max_value=999),
)
def test_any_number_with_its_check_digit_is_valid(region, born, sequence):
    first17 = f"{region}{born:%Y%m%d}{sequence:03d}"
    number = first17 + national_id.check_char(first17)
    assert national_id.validate(number) == number
    assert national_id.birth_date_of(number) == born


@given(
    born=st.dates(min_value=date(1920, 1, 1), max_value=date(2008, 12, 31)),
    position=st.integers(min_value=14, max_value=16),
    delta=st.integers(min_value=1, max_value=9),
)
def test_a_single_mistyped_sequence_digit_is_caught(born, position, delta):
    first17 = f"330102{born:%Y%m%d}123"
    number = first17 + national_id.check_char(first17)
    typo = number[:position] + str((int(number[position]) + delta) % 10) + number[position + 1 :]
    with pytest.raises(ValidationError):
        national_id.validate(typo)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13812345678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("0571-87654321", "0571-87654321"),
        ("057187654321", "0571-87654321"),
        ("010-12345678", "010-12345678"),
        ("0818-2212345", "0818-2212345"),
    ],
)
def test_valid_phone_numbers_are_normalised(raw, expected):
    assert phone.validate(raw) == expected


@pytest.mark.parametrize("raw", ["12812345678", "1381234567", "87654321", "abc", ""])
def test_invalid_phone_numbers_are_refused(raw):
    with pytest.raises(ValidationError):
        phone.validate(raw)
