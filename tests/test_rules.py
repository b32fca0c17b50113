"""Issue #14: every rule counted as the regulations count it.

Boundaries go through both sides: the Python period helper and the rule's SQL, with the same
cases (month ends, 29 February). Each serious rule has a member who must not be flagged.
"""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from dateutil.relativedelta import relativedelta
from django.urls import reverse
from django.utils import timezone

from activities import dues
from activities import rules as activity_rules
from activities import services as activity_services
from activities.models import Activity, Attendance, DuesPayment, GoodReason
from alerts import scanning
from alerts import services as alert_services
from alerts.models import Alert
from alerts.registry import registered_rules
from infrastructure.steps import StepRefused
from ledgers import rules as ledger_rules
from ledgers import services as ledger_services
from ledgers.evidence import signs_of_life
from ledgers.models import ContactAttempt
from members import periods
from members import services as member_services
from members.models import CorrectionTerm, EvidenceBaseline, Member, MembershipDecision
from transfers.models import MobilityEpisode

TODAY = timezone.localdate()

# (start, months, last day of the period) — Civil Code arts. 200-203.
PERIODS = [
    (date(2024, 8, 31), 6, date(2025, 2, 28)),  # no 31 February: the month's last day
    (date(2023, 8, 31), 6, date(2024, 2, 29)),  # a leap year's last day
    (date(2024, 2, 29), 12, date(2025, 2, 28)),
    (date(2024, 1, 31), 1, date(2024, 2, 29)),
    (date(2024, 3, 31), 6, date(2024, 9, 30)),
    (date(2024, 9, 30), 6, date(2025, 3, 30)),  # the corresponding day, not the month's end
    (date(2024, 6, 15), 3, date(2024, 9, 15)),
]


@pytest.mark.parametrize(("start", "months", "end"), PERIODS)
def test_a_period_ends_on_the_corresponding_day_and_holds_from_the_day_after(start, months, end):
    assert periods.months_after(start, months) == end
    assert not periods.period_over(start, months, today=end)
    assert periods.period_over(start, months, today=end + timedelta(days=1))
    # The cut-off the SQL uses answers the same on both days.
    assert not start < periods.period_cutoff(months, today=end)
    assert start < periods.period_cutoff(months, today=end + timedelta(days=1))


def test_the_cutoff_agrees_with_the_period_for_every_day_of_four_years():
    for offset in range(0, 4 * 366, 3):
        today = date(2023, 1, 1) + timedelta(days=offset)
        for months in (1, 3, 6, 24):
            cutoff = periods.period_cutoff(months, today=today)
            for shift in range(-6, 6):
                start = today - relativedelta(months=months) + timedelta(days=shift)
                assert periods.period_over(start, months, today=today) == (start < cutoff)


@pytest.fixture
def away(county):
    """A member away for work since long ago, nothing else known; the branch's secretary."""
    county.sec = county.secretary(county.branch_a, "sec")
    county.member_away = county.member(county.branch_a, name="外出甲")
    county.episode = MobilityEpisode.objects.create(
        member=county.member_away,
        mobility_type="work",
        left_on=date(2020, 1, 1),
        destination_province="广东省",
    )
    return county


def _contact(county, on: date, reached: bool = True) -> None:
    ContactAttempt.objects.create(
        member=county.member_away, on=on, channel="phone", reached=reached, recorded_by=county.sec
    )


@pytest.mark.parametrize(("start", "months", "end"), [p for p in PERIODS if p[1] == 6])
def test_lost_contact_sql_has_the_same_boundary_as_python(away, start, months, end):
    _contact(away, start)
    assert away.member_away not in ledger_rules.lost_contact(end)
    assert away.member_away in ledger_rules.lost_contact(end + timedelta(days=1))


@pytest.mark.parametrize(("start", "months", "end"), [p for p in PERIODS if p[1] == 3])
def test_the_three_month_warning_has_the_same_boundary(away, start, months, end):
    _contact(away, start)
    assert away.member_away not in ledger_rules.contact_overdue(end)
    assert away.member_away in ledger_rules.contact_overdue(end + timedelta(days=1))


def test_thresholds_are_read_when_the_rule_runs(away, settings):
    _contact(away, TODAY - relativedelta(months=5))
    assert away.member_away not in ledger_rules.lost_contact(TODAY)
    settings.LOST_CONTACT_MONTHS = 4
    assert away.member_away in ledger_rules.lost_contact(TODAY)


def test_a_member_active_through_dues_only_is_not_lost(away, settings):
    """Reg. art. 24 counts 失联 from the last organisational life *or dues payment*."""
    settings.DUES_TRACKING_START = "2000-01-01"
    assert away.member_away in ledger_rules.lost_contact(TODAY)
    month = dues.first_of_month(TODAY) - relativedelta(months=1)
    activity_services.dues_payment_record(
        actor=away.sec,
        member=away.member_away,
        from_month=month,
        to_month=month,
        amount=Decimal("10"),
        paid_on=TODAY - timedelta(days=7),
        method="wechat",
    )
    assert away.member_away not in ledger_rules.lost_contact(TODAY)
    assert away.member_away not in ledger_rules.contact_overdue(TODAY)
    assert away.member_away not in activity_rules.dues_unpaid_6_months(TODAY)
    assert away.member_away not in activity_rules.dues_unpaid_3_months(TODAY)


def test_organisational_life_attended_is_a_sign_of_life(away):
    activity = Activity.objects.create(
        branch=away.branch_a,
        kind="theme_day",
        held_on=TODAY - relativedelta(months=1),
        title="主题党日",
        recorded_by=away.sec,
    )
    Attendance.objects.create(activity=activity, member=away.member_away, status="online")
    assert away.member_away not in ledger_rules.lost_contact(TODAY)
    assert signs_of_life(away.member_away)[0].on == activity.held_on


def test_abroad_lost_contact_waits_for_the_half_yearly_duty_and_a_failed_search(away):
    """Art. 34: the former unit contacts a member abroad every half year; only a search that
    fails after six silent months makes them 失联."""
    away.episode.mobility_type = "abroad"
    away.episode.destination_country = "德国"
    away.episode.save()
    _contact(away, TODAY - relativedelta(months=7))
    assert away.member_away in ledger_rules.overseas_not_contacted(TODAY)
    assert away.member_away not in ledger_rules.lost_contact(TODAY)
    assert away.member_away not in ledger_rules.contact_overdue(TODAY)  # the duty is six-monthly
    _contact(away, TODAY - timedelta(days=3), reached=False)
    assert away.member_away in ledger_rules.lost_contact(TODAY)


def test_abroad_with_life_paused_is_not_treated_as_self_withdrawal(away, settings):
    settings.ACTIVITIES_TRACKING_START = settings.DUES_TRACKING_START = "2000-01-01"
    member = away.member_away
    left = dues.first_of_month(TODAY) - relativedelta(years=2)
    activity = Activity.objects.create(
        branch=away.branch_a,
        kind="theme_day",
        held_on=left - timedelta(days=10),
        title="出国前最后一次主题党日",
        recorded_by=away.sec,
    )
    Attendance.objects.create(activity=activity, member=member, status="present")
    DuesPayment.objects.create(
        member=member,
        from_month=dues.first_of_month(left) - relativedelta(months=1),
        to_month=dues.first_of_month(left) - relativedelta(months=1),
        amount=Decimal("5"),
        paid_on=left - timedelta(days=10),
        method="cash",
        recorded_by=away.sec,
    )
    assert member in activity_rules.no_life_6_months(TODAY)
    assert member in activity_rules.dues_unpaid_6_months(TODAY)
    activity_services.good_reason_record(
        actor=away.sec,
        member=member,
        kind=GoodReason.Kind.ABROAD_PAUSED,
        starts_on=left,
        ends_on=TODAY + relativedelta(years=1),
        note="赴德国攻读博士学位，组织生活暂停",
        approved_by="支部委员会",
    )
    for rule in (
        activity_rules.no_life_6_months,
        activity_rules.no_life_3_months,
        activity_rules.dues_unpaid_6_months,
    ):
        assert member not in rule(TODAY)


def test_an_excused_absence_excuses_life_but_not_dues(away, settings):
    settings.ACTIVITIES_TRACKING_START = settings.DUES_TRACKING_START = "2000-01-01"
    member = away.member_away
    this_month = dues.first_of_month(TODAY)
    for n in range(1, 7):
        activity_services.good_reason_record(
            actor=away.sec,
            member=member,
            kind=GoodReason.Kind.EXCUSED_ABSENCE,
            starts_on=this_month - relativedelta(months=n),
            ends_on=this_month - relativedelta(months=n),
            note="请假",
            approved_by="书记",
        )
    # Six excused months: the run of counted months goes back before them.
    count = activity_rules.withdrawal.count(member, "life", TODAY)
    assert len(count.excused) == 6 and len(count.counted) >= 6
    activity = Activity.objects.create(
        branch=away.branch_a,
        kind="theme_day",
        held_on=this_month - relativedelta(months=7),
        title="主题党日",
        recorded_by=away.sec,
    )
    Attendance.objects.create(activity=activity, member=member, status="present")
    assert member not in activity_rules.no_life_6_months(TODAY)
    assert member not in activity_rules.no_life_3_months(TODAY)
    assert member in activity_rules.dues_unpaid_6_months(TODAY)


def test_life_and_dues_count_the_same_calendar_months(away, settings):
    """The same member, the same months: life in month -7, dues paid to month -7."""
    settings.ACTIVITIES_TRACKING_START = settings.DUES_TRACKING_START = "2000-01-01"
    member = away.member_away
    month = dues.first_of_month(TODAY) - relativedelta(months=7)
    activity = Activity.objects.create(
        branch=away.branch_a,
        kind="theme_day",
        held_on=month,
        title="主题党日",
        recorded_by=away.sec,
    )
    Attendance.objects.create(activity=activity, member=member, status="present")
    DuesPayment.objects.create(
        member=member,
        from_month=month,
        to_month=month,
        amount=Decimal("5"),
        paid_on=month,
        method="cash",
        recorded_by=away.sec,
    )
    for when in (TODAY, dues.first_of_month(TODAY), dues.first_of_month(TODAY) - timedelta(days=1)):
        life = member in activity_rules.no_life_6_months(when)
        paid = member in activity_rules.dues_unpaid_6_months(when)
        assert life == paid, when
    assert member in activity_rules.no_life_6_months(TODAY)
    assert member not in activity_rules.no_life_6_months(dues.first_of_month(TODAY) - timedelta(1))


def test_a_member_imported_yesterday_is_judged_by_the_sheet_or_from_the_import(away, settings):
    settings.ACTIVITIES_TRACKING_START = settings.DUES_TRACKING_START = "2000-01-01"
    member = away.member_away
    EvidenceBaseline.objects.create(member=member, since=TODAY - timedelta(days=1))
    for rule in (
        ledger_rules.lost_contact,
        ledger_rules.contact_overdue,
        activity_rules.no_life_6_months,
        activity_rules.dues_unpaid_6_months,
        activity_rules.dues_unpaid_3_months,
    ):
        assert member not in rule(TODAY), rule.__name__
    # The sheet's own evidence counts like records of the same kind.
    EvidenceBaseline.objects.filter(member=member).update(
        since=TODAY - relativedelta(years=1),
        last_contact_on=TODAY - relativedelta(months=2),
        last_life_on=TODAY - relativedelta(months=1),
        dues_paid_to=dues.first_of_month(TODAY),
    )
    for rule in (
        ledger_rules.lost_contact,
        ledger_rules.contact_overdue,
        activity_rules.no_life_6_months,
        activity_rules.dues_unpaid_6_months,
    ):
        assert member not in rule(TODAY), rule.__name__
    EvidenceBaseline.objects.filter(member=member).update(
        last_contact_on=None, last_life_on=None, dues_paid_to=None
    )
    assert member in ledger_rules.lost_contact(TODAY)
    assert member in activity_rules.no_life_6_months(TODAY)


def _decide(county, member, kind, on, ground=""):
    return member_services.decision_record(
        actor=county.sec,
        member=member,
        kind=kind,
        decided_on=on,
        deciding_organisation="甲镇党委",
        ground=ground,
        document_number="甲组〔2024〕3号",
    )


def test_suspension_removal_due_after_two_years_without_a_sign(away):
    member = away.member_away
    suspended_on = TODAY - relativedelta(years=2)
    _decide(away, member, MembershipDecision.Kind.SUSPENSION, suspended_on, "lost_contact")
    member.refresh_from_db()
    assert member.status == Member.Status.SUSPENDED
    assert member not in ledger_rules.lost_contact(TODAY)  # suspended: the next step applies
    end = periods.years_after(suspended_on, 2)
    assert member not in ledger_rules.removal_due(end)
    assert member in ledger_rules.removal_due(end + timedelta(days=1))
    _contact(away, suspended_on + timedelta(days=30))  # found since: not removal
    assert member not in ledger_rules.removal_due(end + timedelta(days=1))


def test_restoration_and_removal_are_decisions_that_close_what_they_should(away):
    member = away.member_away
    with pytest.raises(StepRefused):
        _decide(away, member, MembershipDecision.Kind.RESTORATION, TODAY)  # not suspended
    with pytest.raises(StepRefused):
        _decide(away, member, MembershipDecision.Kind.SUSPENSION, TODAY)  # no ground
    _decide(
        away,
        member,
        MembershipDecision.Kind.SUSPENSION,
        TODAY - relativedelta(years=3),
        "lost_contact",
    )
    scanning.scan(today=TODAY)
    assert Alert.objects.filter(member=member, kind="removal_due", closed_at=None).exists()
    assert not Alert.objects.filter(member=member, kind="lost_contact", closed_at=None).exists()
    _decide(away, member, MembershipDecision.Kind.REMOVAL, TODAY)
    member.refresh_from_db()
    assert member.status == Member.Status.REMOVED
    scanning.scan(today=TODAY)
    assert not Alert.objects.filter(member=member, closed_at=None).exists()
    assert [d.kind for d in member.decisions.order_by("decided_on", "id")] == [
        "suspension",
        "removal",
    ]


def test_restoration_returns_the_member_to_the_scan(away):
    member = away.member_away
    _decide(away, member, MembershipDecision.Kind.SUSPENSION, TODAY - timedelta(days=10), "other")
    _decide(away, member, MembershipDecision.Kind.RESTORATION, TODAY)
    member.refresh_from_db()
    assert member.status == Member.Status.ACTIVE
    assert member in ledger_rules.lost_contact(TODAY)


def test_a_correction_term_reminds_when_it_ends_and_closes_when_the_condition_clears(
    away, settings
):
    settings.ACTIVITIES_TRACKING_START = "2000-01-01"
    member = away.member_away
    scanning.scan(today=TODAY)
    alert = Alert.objects.get(member=member, kind="no_life_6_months", closed_at=None)
    with pytest.raises(StepRefused):
        alert_services.correction_term_open(
            actor=away.sec, alert=alert, educated_on=TODAY, months=13, note="谈话"
        )
    lost = Alert.objects.get(member=member, kind="lost_contact", closed_at=None)
    with pytest.raises(StepRefused):  # not a six-month self-withdrawal rule
        alert_services.correction_term_open(
            actor=away.sec, alert=lost, educated_on=TODAY, months=6, note="谈话"
        )
    term = alert_services.correction_term_open(
        actor=away.sec, alert=alert, educated_on=TODAY, months=6, note="批评教育，限期改正"
    )
    assert term.ends_on == periods.months_after(TODAY, 6)
    assert member not in ledger_rules.correction_term_ended(term.ends_on)
    assert member in ledger_rules.correction_term_ended(term.ends_on + timedelta(days=1))
    # Life attended: the scan clears the alert and closes the term.
    activity = Activity.objects.create(
        branch=away.branch_a,
        kind="theme_day",
        held_on=TODAY,
        title="主题党日",
        recorded_by=away.sec,
    )
    Attendance.objects.create(activity=activity, member=member, status="present")
    scanning.scan(today=TODAY)
    term.refresh_from_db()
    assert term.closed_on == TODAY and term.close_reason == "condition_cleared"
    assert member not in ledger_rules.correction_term_ended(term.ends_on + timedelta(days=1))
    assert CorrectionTerm.history.filter(id=term.pk).exists()


def test_a_write_re_evaluates_the_member_after_the_commit(
    away, eager_celery, django_capture_on_commit_callbacks
):
    member = away.member_away
    scanning.scan(today=TODAY)
    alert = Alert.objects.get(member=member, kind="lost_contact", closed_at=None)
    with django_capture_on_commit_callbacks(execute=True):
        ledger_services.contact_record(
            actor=away.sec, member=member, on=TODAY, channel="phone", reached=True
        )
    alert.refresh_from_db()
    assert alert.closed_at is not None and alert.close_reason == "condition_cleared"


def test_a_write_does_not_wait_for_a_broker_that_is_down(
    away, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    from alerts import tasks

    def down(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.reevaluate_members, "delay", down)
    with django_capture_on_commit_callbacks(execute=True):
        attempt = ledger_services.contact_record(
            actor=away.sec, member=away.member_away, on=TODAY, channel="phone", reached=True
        )
    assert "could not enqueue" in caplog.text
    assert ContactAttempt.objects.filter(pk=attempt.pk).exists()  # the write stands


def test_the_rule_book_lists_every_rule_with_source_setting_and_value(away, client, settings):
    settings.LOST_CONTACT_MONTHS = 7
    client.force_login(away.sec)
    page = client.get(reverse("alerts:rule_book")).content.decode()
    for rule in registered_rules():
        assert f'id="{rule.code}"' in page
        assert str(rule.source) in page
        for name in rule.thresholds:
            assert name in page
    assert "LOST_CONTACT_MONTHS</span> = <strong>7</strong>" in page


def test_every_rule_cites_a_source_and_names_its_settings():
    import django.conf

    for rule in registered_rules():
        assert rule.source and rule.first_step and rule.explanation, rule.code
        for name in rule.thresholds:
            assert hasattr(django.conf.settings, name), (rule.code, name)


def test_the_alert_page_links_to_its_rule_and_offers_a_correction_term(away, client, settings):
    settings.ACTIVITIES_TRACKING_START = "2000-01-01"
    scanning.scan(today=TODAY)
    alert = Alert.objects.get(member=away.member_away, kind="no_life_6_months", closed_at=None)
    client.force_login(away.sec)
    page = client.get(reverse("alerts:detail", args=[alert.pk])).content.decode()
    assert f"{reverse('alerts:rule_book')}#no_life_6_months" in page
    assert reverse("alerts:correction_term_new", args=[alert.pk]) in page
    response = client.post(
        reverse("alerts:correction_term_new", args=[alert.pk]),
        {"educated_on": TODAY.isoformat(), "months": "6", "note": "谈心谈话"},
    )
    assert response.status_code == 302
    assert CorrectionTerm.objects.get(member=away.member_away).ends_on == periods.months_after(
        TODAY, 6
    )


def test_the_member_page_shows_the_evidence_reasons_and_decisions(away, client):
    member = away.member_away
    _contact(away, TODAY - timedelta(days=5))
    activity_services.good_reason_record(
        actor=away.sec,
        member=member,
        kind=GoodReason.Kind.ILLNESS,
        starts_on=TODAY - relativedelta(months=2),
        ends_on=TODAY,
        note="住院治疗",
        approved_by="支部委员会",
    )
    client.force_login(away.sec)
    page = client.get(reverse("members:detail", args=[member.pk])).content.decode()
    assert "住院治疗" in page and "支部委员会" in page
    assert (TODAY - timedelta(days=5)).isoformat() in page
    assert reverse("members:decision_new", args=[member.pk]) in page
    assert reverse("activities:good_reason_new", args=[member.pk]) in page


def test_the_dashboard_counts_lost_contact_as_the_rule_does(away):
    from reports.counting import Within, lost_contact_in

    away.episode.mobility_type = "abroad"
    away.episode.save()  # abroad, never searched for: not 失联 in the rule, nor on the board
    assert away.member_away not in ledger_rules.lost_contact(TODAY)
    lost = lost_contact_in(Within(path=away.county.path), TODAY)
    assert not lost.filter(member=away.member_away).exists()


@pytest.mark.parametrize(("start", "months", "end"), [p for p in PERIODS if p[1] == 6])
def test_the_half_yearly_contact_abroad_has_the_same_boundary(away, start, months, end):
    away.episode.mobility_type = "abroad"
    away.episode.save()
    _contact(away, start)
    assert away.member_away not in ledger_rules.overseas_not_contacted(end)
    assert away.member_away in ledger_rules.overseas_not_contacted(end + timedelta(days=1))


@pytest.mark.parametrize(("start", "months", "end"), [p for p in PERIODS if p[1] == 6])
def test_the_member_page_names_the_day_the_rule_starts_flagging(away, client, start, months, end):
    """The member page (Python) says from which day the member counts as 失联; the rule (SQL)
    flags from exactly that day."""
    _contact(away, start)
    client.force_login(away.sec)
    section = client.get(reverse("members:detail", args=[away.member_away.pk])).content.decode()
    first_day = end + timedelta(days=1)
    assert first_day.isoformat() in section
    assert away.member_away not in ledger_rules.lost_contact(first_day - timedelta(days=1))
    assert away.member_away in ledger_rules.lost_contact(first_day)


def test_a_rule_narrowed_to_some_members_agrees_with_the_whole_rule(county, settings):
    """A write re-evaluates only its members (`Rule.matching(among=...)`); each rule must then
    find exactly what the full rule finds among them."""
    from . import scan_data

    settings.ACTIVITIES_TRACKING_START = settings.DUES_TRACKING_START = "2000-01-01"
    scan_data.fill(county)
    members = list(Member.objects.order_by("pk"))
    secretary = county.secretary(county.branch_a, "sec-narrow")
    activity_services.good_reason_record(
        actor=secretary,
        member=next(m for m in members if m.home_branch_id == county.branch_a.pk),
        kind=GoodReason.Kind.ILLNESS,
        starts_on=TODAY - relativedelta(months=4),
        ends_on=TODAY,
        note="住院",
        approved_by="支部委员会",
    )
    some = [m.pk for m in members[::2]]
    found = 0
    for rule in registered_rules():
        whole = set(rule.members(TODAY).values_list("pk", flat=True))
        narrowed = set(rule.matching(TODAY, among=some).values_list("pk", flat=True))
        assert narrowed == whole & set(some), rule.code
        found += bool(narrowed)
    assert found >= 4  # the data makes several rules flag some of these members
