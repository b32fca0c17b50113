"""The rhythm grid of a branch's year (三会一课 and the rest, Reg. art. 16-18).

Each kind is counted against its own period: a monthly kind per month, a quarterly kind per
quarter (one cell across its three months), a yearly kind once for the year. A period is met
when at least one was held in it; it is missed when it is over and none was. "Held / due" in
the footer counts periods: due are the periods that are over, and the current one once it is
met (it cannot be missed before it ends).
"""

from datetime import date

from dateutil.relativedelta import relativedelta

from .models import Activity

Kind = Activity.Kind

# How many months make one period of each kind; kinds held as needed are not listed.
PERIOD_MONTHS = {
    Kind.GENERAL_MEETING: 3,  # 支部党员大会: quarterly
    Kind.COMMITTEE_MEETING: 1,  # 支委会: monthly
    Kind.GROUP_MEETING: 1,  # 党小组会: monthly
    Kind.PARTY_LECTURE: 3,  # 党课: quarterly
    Kind.THEME_DAY: 1,  # 主题党日: monthly
    Kind.LIFE_MEETING: 12,  # 组织生活会: yearly
    Kind.EVALUATION_MEETING: 12,  # 民主评议党员: yearly
}
EXPECTED_PER_YEAR = {kind: 12 // months for kind, months in PERIOD_MONTHS.items()}
CADENCE = {1: "monthly", 3: "quarterly", 12: "yearly"}


def period_months(kind: str, *, has_groups: bool) -> int | None:
    """The months of one period of `kind` for this branch, None when held as needed."""
    if kind == Kind.GROUP_MEETING and not has_groups:
        return None  # a branch without Party groups holds no group meetings
    return PERIOD_MONTHS.get(kind)


def _column(kind: str, label, held: dict, *, year: int, today: date, span: int | None):
    """One kind's cells (keyed by the month each starts in) and its footer."""
    this_month = date(today.year, today.month, 1)
    step = span or 1
    cells, met, due, count = {}, 0, 0, 0
    for start in range(1, 13, step):
        first = date(year, start, 1)
        held_here = sum(held[month][kind] for month in range(start, start + step))
        count += held_here
        over = first + relativedelta(months=step) <= this_month
        missing = span is not None and over and held_here == 0
        if span is not None and (over or (first <= today and held_here)):
            due += 1
            met += held_here > 0
        cells[start] = {
            "kind": kind,
            "count": held_here,
            "span": step,
            "missing": missing,
            "future": first > today,
            "last_month": start + step - 1,
        }
    column = {
        "kind": kind,
        "label": label,
        "words": str(label).split(),  # one word a line keeps the columns narrow
        "expected": 12 // span if span else 0,
        "cadence": CADENCE.get(span, ""),
        "held": met if span else count,
        "due": due,
        "count": count,
        "short": met < due,
    }
    return column, cells


def rhythm_grid(rows: list[dict], *, year: int, today: date, has_groups: bool) -> dict:
    """The grid from `selectors.branch_rhythm`: columns (one per kind, with held / due) and
    twelve month rows whose cells are the periods starting in that month (a quarterly kind has
    a cell, spanning three rows, in January, April, July and October only)."""
    held = {row["month"]: row["held"] for row in rows}
    columns, by_month = [], {month: [] for month in range(1, 13)}
    for kind, label in Kind.choices:
        span = period_months(kind, has_groups=has_groups)
        column, cells = _column(kind, label, held, year=year, today=today, span=span)
        columns.append(column)
        for start, cell in cells.items():
            by_month[start].append(cell)
    now = (today.year, today.month)
    months = [
        {
            "month": date(year, month, 1),
            "cells": by_month[month],
            "future": (year, month) > now,
            "short": any(cell["missing"] for cell in by_month[month]),
        }
        for month in range(1, 13)
    ]
    return {"columns": columns, "months": months}
