"""How every rule counts time: periods by the Civil Code, and calendar months.

Civil Code arts. 200-203: a period counted in months or years starts the day after the event
(the start day is not counted) and ends on the day of the last month that corresponds to the
start day, or on that month's last day where there is none (31 August + 6 months ends on 28
or 29 February). A period "has passed" once its end day is over: the condition holds from the
day after.

Each rule asks the same question in SQL: "is this date's period over by today?". Because
`months_after` never decreases, the dates whose period is over are exactly those before one
cut-off day, which `period_cutoff` finds from `months_after` itself. So SQL compares a column
with a literal date (an index range), and both sides answer from the same helper; the tests
put the same boundary cases through both.

The self-withdrawal rules count calendar months instead (Constitution art. 9: "连续六个月"):
`countable_months` lists the whole months from one month to another.
"""

from datetime import date, timedelta

from dateutil.relativedelta import relativedelta


def months_after(start: date, months: int) -> date:
    """The last day of a period of `months` months that starts after `start`."""
    # relativedelta clips to the month's last day where the corresponding day is missing.
    return start + relativedelta(months=months)


def years_after(start: date, years: int) -> date:
    return months_after(start, 12 * years)


def period_over(start: date, months: int, *, today: date) -> bool:
    """True from the day after the period of `months` from `start` ends."""
    return today > months_after(start, months)


def period_cutoff(months: int, *, today: date) -> date:
    """The earliest start whose `months`-month period is not yet over on `today`.

    `period_over(start, months, today=today)` is exactly `start < period_cutoff(months, today)`:
    rules filter with `date_column__lt=period_cutoff(...)`.
    """
    # months_after moves each start by at most three days from "today minus the period";
    # the first start within that window whose period reaches today is the cut-off.
    candidate = today - relativedelta(months=months) - timedelta(days=4)
    while period_over(candidate, months, today=today):
        candidate += timedelta(days=1)
    return candidate


def first_of_month(day: date) -> date:
    return day.replace(day=1)


def month_add(month: date, months: int) -> date:
    return first_of_month(month) + relativedelta(months=months)


def countable_months(first: date, last: date) -> list[date]:
    """First days of each month from `first`'s month to `last`'s month, inclusive."""
    months, month = [], first_of_month(first)
    while month <= first_of_month(last):
        months.append(month)
        month = month_add(month, 1)
    return months
