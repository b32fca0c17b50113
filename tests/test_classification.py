"""The six-month rule and the other arrangements, at their edges (Hypothesis)."""

from datetime import date, timedelta

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from members.models import Member
from transfers.classification import (
    Arrangement,
    EpisodeFacts,
    Thresholds,
    classify,
    first_day_passed,
    months_passed,
)
from transfers.models import MobilityEpisode
from transfers.selectors import arrangement_expression

T = Thresholds()
dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 12, 31))


def facts(left_on, fixed=True, kind="work", graduated_on=None, purpose=""):
    return EpisodeFacts(
        mobility_type=kind,
        left_on=left_on,
        is_fixed_place=fixed,
        graduated_on=graduated_on,
        abroad_purpose=purpose,
    )


def arrangement(left_on, today, **kw):
    return classify(episode=facts(left_on, **kw), member_active=True, today=today, thresholds=T)


def test_six_months_at_a_fixed_place_require_a_transfer_from_the_day_after_they_end():
    # Civil Code: left 15 January, the six months run from 16 January to 15 July.
    result = arrangement(date(2026, 1, 15), date(2026, 7, 16))
    assert result.arrangement == Arrangement.TRANSFER_REQUIRED
    assert result.due_on == date(2026, 7, 16)
    assert "第二十五条" in result.explanation
    assert arrangement(date(2026, 1, 15), date(2026, 7, 15)).arrangement == Arrangement.CERTIFICATE


def test_month_end_counts_six_full_months():
    # 31 August + 6 months: 28 February is not yet six full months; 1 March is.
    assert arrangement(date(2025, 8, 31), date(2026, 2, 28)).arrangement == Arrangement.CERTIFICATE
    assert (
        arrangement(date(2025, 8, 31), date(2026, 3, 1)).arrangement
        == Arrangement.TRANSFER_REQUIRED
    )


def test_29_february():
    # The period ends on the corresponding day, or the month's last day; over the day after.
    assert first_day_passed(date(2024, 2, 29), 6) == date(2024, 8, 30)
    assert first_day_passed(date(2023, 8, 29), 6) == date(2024, 3, 1)
    assert first_day_passed(date(2023, 8, 30), 6) == date(2024, 3, 1)
    assert first_day_passed(date(2023, 8, 28), 6) == date(2024, 2, 29)


def test_no_fixed_place_means_a_certificate_whatever_the_time():
    result = arrangement(date(2020, 1, 1), date(2026, 1, 1), fixed=False)
    assert result.arrangement == Arrangement.CERTIFICATE
    assert "第三十二条" in result.explanation


def test_abroad_is_retained_with_half_yearly_contact_and_five_years_flags_suspension():
    result = arrangement(date(2024, 1, 10), date(2024, 5, 1), kind="abroad")
    assert (result.arrangement, result.due_on, result.suspension_due) == (
        Arrangement.OVERSEAS,
        date(2024, 7, 10),
        False,
    )
    # Study or research: suspension only after the five years, not on the anniversary.
    study = {"kind": "abroad", "purpose": "study"}
    assert not arrangement(date(2020, 1, 10), date(2025, 1, 10), **study).suspension_due
    with translation.override("en"):
        late = arrangement(date(2020, 1, 10), date(2025, 1, 11), **study)
    assert late.suspension_due and "Article 24" in late.explanation
    assert late.due_on == date(2025, 1, 11)
    # Work abroad is not covered by Article 24, however long.
    work = arrangement(date(2010, 1, 10), date(2025, 1, 11), kind="abroad", purpose="work")
    assert not work.suspension_due


def test_a_graduate_is_retained_for_two_years():
    result = arrangement(
        date(2025, 9, 1), date(2026, 1, 1), kind="study", graduated_on=date(2025, 7, 1)
    )
    assert (result.arrangement, result.due_on) == (Arrangement.GRADUATE, date(2027, 7, 1))
    assert "第三十四条" in result.explanation


def test_no_episode_or_not_active_needs_nothing():
    assert classify(episode=None, member_active=True, today=date(2026, 1, 1)).arrangement == (
        Arrangement.NONE
    )
    inactive = classify(
        episode=facts(date(2020, 1, 1)), member_active=False, today=date(2026, 1, 1)
    )
    assert inactive.arrangement == Arrangement.NONE


@given(left=dates, days=st.integers(min_value=0, max_value=800), months=st.integers(1, 24))
def test_first_day_passed_is_the_exact_threshold(left, days, months):
    first = first_day_passed(left, months)
    assert months_passed(left, first, months)
    assert not months_passed(left, first - timedelta(days=1), months)
    today = left + timedelta(days=days)
    assert months_passed(left, today, months) == (today >= first)


@given(left=dates, days=st.integers(min_value=0, max_value=400))
def test_fixed_place_flips_to_transfer_exactly_once(left, days):
    today = left + timedelta(days=days)
    result = arrangement(left, today)
    threshold = first_day_passed(left, 6)
    expected = Arrangement.TRANSFER_REQUIRED if today >= threshold else Arrangement.CERTIFICATE
    assert result.arrangement == expected
    assert result.due_on == threshold


@given(left=dates, days=st.integers(min_value=0, max_value=400))
def test_changing_to_not_fixed_never_requires_a_transfer(left, days):
    today = left + timedelta(days=days)
    assert arrangement(left, today, fixed=False).arrangement == Arrangement.CERTIFICATE


@given(left=dates, away_days=st.integers(min_value=0, max_value=181))
def test_a_return_before_the_threshold_never_required_a_transfer(left, away_days):
    returned = left + timedelta(days=away_days)
    if returned < first_day_passed(left, 6):
        assert arrangement(left, returned).arrangement == Arrangement.CERTIFICATE


@pytest.mark.parametrize(
    ("left_on", "today"),
    [
        (date(2025, 8, 31), date(2026, 2, 28)),
        (date(2025, 8, 31), date(2026, 3, 1)),
        (date(2024, 2, 29), date(2024, 8, 29)),
        (date(2024, 2, 29), date(2024, 8, 30)),
        (date(2023, 8, 31), date(2024, 2, 29)),
        (date(2023, 8, 31), date(2024, 3, 1)),
        (date(2026, 1, 15), date(2026, 7, 15)),
        (date(2026, 1, 15), date(2026, 7, 16)),
    ],
)
def test_the_database_filter_agrees_with_the_function(county, left_on, today):
    member = county.member(county.branch_a)
    episode = MobilityEpisode.objects.create(
        member=member, mobility_type="work", left_on=left_on, is_fixed_place=True
    )
    in_sql = (
        MobilityEpisode.objects.annotate(
            arrangement=arrangement_expression(today=today, thresholds=T)
        )
        .get(pk=episode.pk)
        .arrangement
    )
    assert in_sql == arrangement(left_on, today).arrangement
    member.status = Member.Status.SUSPENDED
    member.save()
    suspended = MobilityEpisode.objects.annotate(
        arrangement=arrangement_expression(today=today, thresholds=T)
    ).get(pk=episode.pk)
    assert suspended.arrangement == Arrangement.NONE
