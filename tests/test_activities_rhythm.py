"""The rhythm grid (三会一课): each kind against its own period, held / due in periods."""

from datetime import date

import pytest
from django.urls import reverse
from django.utils import timezone

from activities import rhythm
from activities.models import Activity

Kind = Activity.Kind


def rows(year_held: dict[str, list[int]]) -> list[dict]:
    """branch_rhythm's rows from {kind: [month of each one held]}."""
    grid = {month: dict.fromkeys(Kind.values, 0) for month in range(1, 13)}
    for kind, months in year_held.items():
        for month in months:
            grid[month][kind] += 1
    return [{"month": month, "held": grid[month]} for month in range(1, 13)]


def column(grid, kind) -> dict:
    return next(c for c in grid["columns"] if c["kind"] == kind)


def cells(grid, kind) -> dict[int, dict]:
    """The cells of `kind`, by the month they start in (the row they sit in)."""
    return {
        row["month"].month: cell
        for row in grid["months"]
        for cell in row["cells"]
        if cell["kind"] == kind
    }


def starting(grid, month: int) -> list[str]:
    """The kinds whose period starts in `month`, in column order."""
    steps = {"monthly": 1, "quarterly": 3, "yearly": 12}
    return [c["kind"] for c in grid["columns"] if (month - 1) % steps.get(c["cadence"], 1) == 0]


def test_the_party_lecture_is_quarterly_and_counted_per_quarter():
    held = {Kind.PARTY_LECTURE: [2, 2, 8], Kind.COMMITTEE_MEETING: list(range(1, 13))}
    grid = rhythm.rhythm_grid(rows(held), year=2024, today=date(2025, 3, 1), has_groups=True)
    lecture = column(grid, Kind.PARTY_LECTURE)
    assert (lecture["cadence"], lecture["expected"]) == ("quarterly", 4)
    # Two lectures in one quarter are one quarter held, not two of four.
    assert (lecture["held"], lecture["due"], lecture["count"], lecture["short"]) == (2, 4, 3, True)
    quarters = cells(grid, Kind.PARTY_LECTURE)
    assert set(quarters) == {1, 4, 7, 10}
    assert [(q["count"], q["span"], q["missing"]) for q in quarters.values()] == [
        (2, 3, False),
        (0, 3, True),
        (1, 3, False),
        (0, 3, True),
    ]
    committee = column(grid, Kind.COMMITTEE_MEETING)
    assert (committee["cadence"], committee["held"], committee["due"]) == ("monthly", 12, 12)
    assert not committee["short"]
    general = column(grid, Kind.GENERAL_MEETING)
    assert (general["cadence"], general["held"], general["due"], general["short"]) == (
        "quarterly",
        0,
        4,
        True,
    )
    life = column(grid, Kind.LIFE_MEETING)
    assert (life["cadence"], life["due"]) == ("yearly", 1)
    assert [(c["span"], c["missing"]) for c in cells(grid, Kind.LIFE_MEETING).values()] == [
        (12, True)
    ]
    # Each row holds the cells of the kinds whose period starts in it, in column order.
    for row in grid["months"]:
        assert [c["kind"] for c in row["cells"]] == starting(grid, row["month"].month)


def test_a_quarter_under_way_is_not_due_until_it_is_over_or_held():
    today = date(2025, 5, 10)
    grid = rhythm.rhythm_grid(
        rows({Kind.PARTY_LECTURE: [1]}), year=2025, today=today, has_groups=False
    )
    lecture = column(grid, Kind.PARTY_LECTURE)
    assert (lecture["held"], lecture["due"], lecture["short"]) == (1, 1, False)
    quarters = cells(grid, Kind.PARTY_LECTURE)
    assert [(q["missing"], q["future"]) for q in quarters.values()] == [
        (False, False),
        (False, False),  # the second quarter runs to June: not missed yet
        (False, True),
        (False, True),
    ]
    grid = rhythm.rhythm_grid(
        rows({Kind.PARTY_LECTURE: [1, 5]}), year=2025, today=today, has_groups=False
    )
    assert column(grid, Kind.PARTY_LECTURE)["held"] == column(grid, Kind.PARTY_LECTURE)["due"] == 2
    # No Party groups: group meetings are held as needed, never missed.
    groups = column(grid, Kind.GROUP_MEETING)
    assert (groups["cadence"], groups["expected"], groups["short"]) == ("", 0, False)
    # A month under way is not missed; the months over are.
    theme = cells(grid, Kind.THEME_DAY)
    assert [theme[m]["missing"] for m in (4, 5, 6)] == [True, False, False]


@pytest.fixture
def secretary(county):
    return county.secretary(county.branch_a, "sec_a")


def test_the_activity_list_shows_the_lecture_a_quarter_at_a_time(client, county, secretary):
    year = timezone.localdate().year - 1
    for month in (2, 3, 8):
        Activity.objects.create(
            branch=county.branch_a,
            kind=Kind.PARTY_LECTURE,
            held_on=date(year, month, 15),
            title="党课",
            recorded_by=secretary,
        )
    client.force_login(secretary)
    response = client.get(
        reverse("activities:activity_list") + f"?branch={county.branch_a.pk}&year={year}"
    )
    assert response.status_code == 200
    lecture = column(response.context["rhythm"], Kind.PARTY_LECTURE)
    assert (lecture["held"], lecture["due"], lecture["count"]) == (2, 4, 3)
    html = response.content.decode()
    # Quarterly kinds (general meeting, lecture) have four cells of three rows; yearly two of 12.
    assert html.count('rowspan="3"') == 2 * 4
    assert html.count('rowspan="12"') == 2
    assert "2 / 4" in html
