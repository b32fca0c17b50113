"""Mainland China phone numbers: mobile (11 digits starting 1[3-9]) or landline with area code."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

MOBILE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE = re.compile(r"^0\d{2,3}-\d{7,8}(-\d{1,6})?$")


def masked(number: str) -> str:
    """13912345678 -> 139****5678: enough for the member to recognise, not to dial."""
    return f"{number[:3]}****{number[-4:]}" if len(number) >= 8 else ""


def masked_email(address: str) -> str:
    name, _at, domain = address.partition("@")
    return f"{name[:1]}***@{domain}"


def normalise(value: str) -> str:
    number = re.sub(r"[\s()（）]", "", value or "")
    if number.startswith("+86"):
        number = number[3:]
    elif number.startswith("0086"):
        number = number[4:]
    # A landline typed without its hyphen: 01012345678 / 057112345678.
    if re.fullmatch(r"0\d{9,11}", number):
        area = 3 if number[1] in "12" else 4
        number = f"{number[:area]}-{number[area:]}"
    return number


def validate(value: str) -> str:
    number = normalise(value)
    if MOBILE.match(number) or LANDLINE.match(number):
        return number
    raise ValidationError(
        _(
            "Enter a mainland mobile number (11 digits, e.g. 13812345678) "
            "or a landline with area code (e.g. 0571-87654321)."
        ),
        code="phone",
    )
