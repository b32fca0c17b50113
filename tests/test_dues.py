"""The dues table of the 2008 rules and the month arithmetic (activities/dues.py): no database."""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from activities import dues

D = Decimal


@pytest.mark.parametrize(
    ("income", "amount", "percent"),
    [
        ("0", "0.00", "0.5"),
        ("2999.99", "15.00", "0.5"),  # 14.99995 rounds half up to the cent
        ("3000", "15.00", "0.5"),  # the upper bound is inclusive
        ("3000.01", "30.00", "1"),
        ("4321.50", "43.22", "1"),  # 43.215 rounds half up
        ("5000", "50.00", "1"),
        ("5000.01", "75.00", "1.5"),
        ("10000", "150.00", "1.5"),
        ("10000.01", "200.00", "2"),
        ("123456.78", "2469.14", "2"),
    ],
)
def test_income_bands_at_every_edge(income, amount, percent):
    result, how = dues.monthly_dues(basis="income", monthly_income=D(income))
    assert result == D(amount)
    assert result.as_tuple().exponent == -2  # always to the cent
    assert how == f"月税后收入{income}元 × {percent}% = {amount}元"


@pytest.mark.parametrize(
    ("income", "amount"),
    [("1000.10", "5.00"), ("1001", "5.01"), ("3333.33", "33.33"), ("7777.77", "116.67")],
)
def test_rounding_to_the_cent_half_up(income, amount):
    assert dues.monthly_dues(basis="income", monthly_income=D(income))[0] == D(amount)


@pytest.mark.parametrize("basis", ["student", "unemployed", "allowance", "farmer"])
def test_fixed_amounts_whatever_the_income(basis):
    for income in (None, D("0"), D("20000")):
        amount, how = dues.monthly_dues(basis=basis, monthly_income=income)
        assert amount == D("0.20")
        assert how == "固定标准每月0.20元"


@pytest.mark.parametrize("income", [None, D("-0.01")])
def test_income_basis_needs_an_income(income):
    with pytest.raises(ValueError, match="monthly income"):
        dues.monthly_dues(basis="income", monthly_income=income)


def test_bands_are_in_order_and_end_open():
    uppers = [upper for upper, _rate in dues.BANDS]
    assert uppers[-1] is None
    assert uppers[:-1] == sorted(uppers[:-1])
    assert [rate for _upper, rate in dues.BANDS] == [D("0.005"), D("0.01"), D("0.015"), D("0.02")]


def band_rate(income: Decimal) -> Decimal:
    for upper, rate in dues.BANDS:
        if upper is None or income <= upper:
            return rate
    raise AssertionError


incomes = st.decimals(min_value=0, max_value=10**6, places=2, allow_nan=False)


@given(incomes, incomes)
def test_amount_never_falls_as_income_rises(a, b):
    low, high = sorted((a, b))
    amount_low = dues.monthly_dues(basis="income", monthly_income=low)[0]
    amount_high = dues.monthly_dues(basis="income", monthly_income=high)[0]
    assert amount_low <= amount_high


@given(incomes)
def test_amount_is_the_band_rate_within_half_a_cent(income):
    amount = dues.monthly_dues(basis="income", monthly_income=income)[0]
    assert abs(amount - income * band_rate(income)) <= D("0.005")
    if income >= 1:
        rates = [rate for _upper, rate in dues.BANDS]
        assert min(rates) - D("0.005") <= amount / income <= max(rates) + D("0.005")


def test_first_of_month():
    assert dues.first_of_month(date(2026, 2, 28)) == date(2026, 2, 1)


def test_months_between_across_a_year_end():
    assert dues.months_between(date(2025, 11, 15), date(2026, 2, 3)) == [
        date(2025, 11, 1),
        date(2025, 12, 1),
        date(2026, 1, 1),
        date(2026, 2, 1),
    ]


def test_months_between_one_month_and_none():
    assert dues.months_between(date(2026, 3, 31), date(2026, 3, 1)) == [date(2026, 3, 1)]
    assert dues.months_between(date(2026, 4, 1), date(2026, 3, 31)) == []
    assert len(dues.months_between(date(2024, 1, 1), date(2026, 12, 31))) == 36


def test_earliest_back_payment():
    assert dues.earliest_back_payment(date(2026, 11, 25), 6) == date(2026, 5, 1)
    assert dues.earliest_back_payment(date(2026, 3, 1), 6) == date(2025, 9, 1)  # across a year
    assert dues.earliest_back_payment(date(2026, 1, 31), 12) == date(2025, 1, 1)
    assert dues.earliest_back_payment(date(2026, 8, 15), 0) == date(2026, 8, 1)


@pytest.mark.parametrize(
    ("pension", "amount"),
    [
        ("4999.99", "25.00"),
        ("5000", "25.00"),  # 5,000 yuan and below: 0.5%
        ("5000.01", "50.00"),  # above 5,000: 1%
        ("8000", "80.00"),
        ("0", "0.00"),
    ],
)
def test_retirees_pay_on_the_pension_band(pension, amount):
    """2008 dues rules: a retiree pays 0.5% of a pension up to 5,000 yuan, 1% above."""
    result, how = dues.monthly_dues(basis="retiree", monthly_income=D(pension))
    assert result == D(amount)
    assert "月养老金" in how


def test_a_retiree_basis_needs_the_pension():
    with pytest.raises(ValueError):
        dues.monthly_dues(basis="retiree", monthly_income=None)
