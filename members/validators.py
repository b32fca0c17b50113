"""Limits every form holds on the server, whatever the browser lets through."""

from datetime import date
from decimal import Decimal

from django import forms
from django.core.validators import MaxLengthValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# Nothing in a member's Party life happens before the Party was founded.
PARTY_FOUNDED = date(1921, 7, 1)
# The oldest birth date a living member plausibly has.
EARLIEST_BIRTH = date(1900, 1, 1)
# How far ahead a plan (an activity, a due date, a campaign) may reach.
PLAN_AHEAD_DAYS = 2 * 366
# Free text (notes, remarks) that the model leaves unbounded.
LONG_TEXT = 2000
# A month's dues or a payment above this is a typing error, not a payment.
LARGEST_AMOUNT = Decimal("100000")


def not_in_future(value: date) -> None:
    if value and value > timezone.localdate():
        raise forms.ValidationError(_("This date is in the future."), code="future")


def not_far_ahead(value: date) -> None:
    if value and (value - timezone.localdate()).days > PLAN_AHEAD_DAYS:
        raise forms.ValidationError(
            _("This date is more than two years ahead."), code="too_far_ahead"
        )


def not_before_party(value: date) -> None:
    if value and value < PARTY_FOUNDED:
        raise forms.ValidationError(
            _("This date is before the Party was founded (1 July 1921)."), code="too_early"
        )


def plausible_birth_date(value: date) -> None:
    if value and value < EARLIEST_BIRTH:
        raise forms.ValidationError(_("This birth date is not plausible."), code="too_early")


def plausible_year(value: int) -> None:
    if value is not None and not PARTY_FOUNDED.year <= value <= timezone.localdate().year:
        raise forms.ValidationError(
            _("Give a year between %(first)d and this year.") % {"first": PARTY_FOUNDED.year},
            code="year",
        )


def positive_amount(value: Decimal) -> None:
    if value is not None and value <= 0:
        raise forms.ValidationError(_("The amount must be more than zero."), code="not_positive")


def not_absurd_amount(value: Decimal) -> None:
    if value is not None and value > LARGEST_AMOUNT:
        raise forms.ValidationError(
            _("This amount is too large; check the figure."), code="too_large"
        )


def in_member_life(form: forms.BaseForm, name: str, member) -> None:
    """Add an error to field `name` when its date is before the member was born."""
    value = form.cleaned_data.get(name)
    if value and member is not None and member.birth_date and value < member.birth_date:
        form.add_error(
            name,
            forms.ValidationError(
                _("This date is before the member was born (%(born)s).")
                % {"born": member.birth_date.isoformat()},
                code="before_birth",
            ),
        )


def in_order(form: forms.BaseForm, first: str, then: str, message) -> None:
    """Add `message` to field `then` when it comes before field `first`."""
    start, end = form.cleaned_data.get(first), form.cleaned_data.get(then)
    if start and end and end < start:
        form.add_error(then, forms.ValidationError(message, code="out_of_order"))


def limit_length(field: forms.CharField, limit: int = LONG_TEXT) -> None:
    """Bound a free-text field the model leaves unbounded (a TextField)."""
    field.max_length = limit
    field.validators.append(MaxLengthValidator(limit))
    field.widget.attrs["maxlength"] = str(limit)
