"""Resident identity numbers (公民身份号码), GB 11643-1999."""

import unicodedata
from datetime import date

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"


def normalise(value: str) -> str:
    # NFKC: full-width digits and Ｘ, as Chinese input methods type them, become ASCII.
    return unicodedata.normalize("NFKC", value or "").strip().replace(" ", "").upper()


def check_char(first17: str) -> str:
    return CHECK_CHARS[sum(int(c) * w for c, w in zip(first17, WEIGHTS, strict=True)) % 11]


def birth_date_of(number: str) -> date | None:
    try:
        return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


def validate(value: str) -> str:
    """Return the normalised number or raise ValidationError saying what is wrong."""
    number = normalise(value)
    if len(number) != 18:
        raise ValidationError(
            _("An ID number has 18 characters; this one has %(n)d."),
            code="length",
            params={"n": len(number)},
        )
    if not number.isascii() or not number[:17].isdigit() or number[17] not in "0123456789X":
        raise ValidationError(
            _("The first 17 characters must be digits and the last a digit or X."),
            code="characters",
        )
    if number[0] not in "12345678":
        raise ValidationError(_("The region code at the start is not valid."), code="region")
    born = birth_date_of(number)
    if born is None or born.year < 1900 or born > date.today():
        raise ValidationError(
            _("Characters 7–14 are not a valid birth date (%(digits)s)."),
            code="birth_date",
            params={"digits": number[6:14]},
        )
    if check_char(number[:17]) != number[17]:
        raise ValidationError(
            _("The check digit is wrong: please check the number for a typing mistake."),
            code="check_digit",
        )
    return number


def mask_tail(number: str) -> str:
    """330102199001011234 -> **************1234: what a hosting side sees. With neither region
    nor birth date, no list of candidates can be drawn up to try in a search."""
    if not number:
        return ""
    return "*" * (len(number) - 4) + number[-4:]


def mask(number: str) -> str:
    """330102199001011234 -> 330102**********34 (region and last two characters only)."""
    if not number:
        return ""
    return number[:6] + "*" * (len(number) - 8) + number[-2:]
