"""Party dues (2008 rules): the monthly amount from after-tax income, and which months are owed.

Pure functions, no database: the bands and fixed amounts are the ones in DESIGN.md.
"""

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from dateutil.relativedelta import relativedelta

# Months are counted one way for dues and for the rules (members/periods.py).
from members.periods import countable_months as months_between  # noqa: F401
from members.periods import first_of_month

# (upper bound of monthly after-tax income, inclusive; rate)
BANDS = [
    (Decimal("3000"), Decimal("0.005")),
    (Decimal("5000"), Decimal("0.01")),
    (Decimal("10000"), Decimal("0.015")),
    (None, Decimal("0.02")),
]
# Retirees, on the monthly pension (2008 rules): up to 5,000 yuan 0.5%, above 1%.
RETIREE_BANDS = [
    (Decimal("5000"), Decimal("0.005")),
    (None, Decimal("0.01")),
]
FIXED = Decimal("0.20")  # students, the unemployed, those on minimum living allowance, farmers
CENT = Decimal("0.01")


def monthly_dues(*, basis: str, monthly_income: Decimal | None) -> tuple[Decimal, str]:
    """The monthly amount and how it was computed, in words for the member page.

    `monthly_income` is the after-tax income, or for a retiree the monthly pension.
    """
    if basis not in ("income", "retiree"):
        return FIXED, f"固定标准每月{FIXED}元"
    if monthly_income is None or monthly_income < 0:
        raise ValueError("monthly income is required for the income and retiree bases")
    bands, what = (BANDS, "月税后收入") if basis == "income" else (RETIREE_BANDS, "月养老金")
    for upper, rate in bands:
        if upper is None or monthly_income <= upper:
            amount = (monthly_income * rate).quantize(CENT, rounding=ROUND_HALF_UP)
            percent = (rate * 100).normalize()
            return amount, f"{what}{monthly_income}元 × {percent}% = {amount}元"
    raise AssertionError("unreachable")


def earliest_back_payment(paid_on: date, limit_months: int) -> date:
    """The oldest month a payment made on `paid_on` may still cover."""
    return first_of_month(paid_on) - relativedelta(months=limit_months)
