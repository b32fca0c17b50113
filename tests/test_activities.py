"""Organisational life, dues and evaluations: the services, the selectors and the scan rules."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from dateutil.relativedelta import relativedelta
from django.utils import timezone

from activities import rules, selectors, services
from activities.dues import first_of_month
from activities.models import (
    Activity,
    AssignedWork,
    Attendance,
    DuesAmount,
    DuesPayment,
    Evaluation,
    ExternalParticipation,
    Side,
)
from infrastructure.steps import StepRefused
from members.models import ExternalOrganisation, Member
from transfers.models import MobilityEpisode

TODAY = timezone.localdate()
THIS_MONTH = first_of_month(TODAY)
Status = Attendance.Status
Kind = Activity.Kind


@pytest.fixture
def life(county):
    """Branch A: a resident member, one away at an external organisation, one it hosts
    (home branch B). Branch A2 has a member of its own, and a secretary unrelated to the rest."""
    county.sec_a = county.secretary(county.branch_a, "sec_a")
    county.sec_a2 = county.secretary(county.branch_a2, "sec_a2")
    county.sec_b = county.secretary(county.branch_b, "sec_b")
    county.rev = county.reviewer(county.county, "rev")
    county.shenzhen = ExternalOrganisation.objects.create(
        name="深圳市南山区科技园流动党员党支部", region="广东省深圳市"
    )
    county.resident = county.member(county.branch_a, name="在家甲")
    county.away = county.member(county.branch_a, name="外出甲")
    MobilityEpisode.objects.create(
        member=county.away,
        mobility_type="work",
        left_on=TODAY - timedelta(days=400),
        destination_province="广东省",
        destination_city="深圳市",
        inflow_external=county.shenzhen,
    )
    county.hosted = county.member(county.branch_b, name="流入丙")
    MobilityEpisode.objects.create(
        member=county.hosted,
        mobility_type="work",
        left_on=TODAY - timedelta(days=200),
        destination_province="四川省",
        inflow_organisation=county.branch_a,
    )
    county.other = county.member(county.branch_a2, name="乙村党员")
    return county


def names(queryset):
    return set(queryset.values_list("name", flat=True))


def hold(life, on, attendance, *, kind=Kind.THEME_DAY, branch=None, actor=None):
    return services.activity_record(
        actor=actor or life.sec_a,
        branch=branch or life.branch_a,
        kind=kind,
        held_on=on,
        title="主题党日",
        attendance=attendance,
    )


def present(*members, makeup=False):
    return {m.pk: (Status.PRESENT, "", makeup) for m in members}


# --- roster and attendance ----------------------------------------------------------------


def test_roster_is_own_active_members_and_those_hosted(life):
    returned = life.member(life.branch_a2, name="回乡乙")
    MobilityEpisode.objects.create(
        member=returned,
        mobility_type="temporary",
        left_on=TODAY - timedelta(days=300),
        ended_on=TODAY - timedelta(days=100),
        inflow_organisation=life.branch_a,
    )
    life.member(life.branch_a, name="已故甲", status=Member.Status.DECEASED)
    assert names(selectors.roster(life.branch_a)) == {"在家甲", "外出甲", "流入丙"}
    assert names(selectors.roster(life.branch_b)) == {"流入丙"}  # still its own member too
    assert names(selectors.roster(life.branch_a2)) == {"乙村党员", "回乡乙"}


def test_activity_recorded_with_its_attendance(life):
    activity = hold(
        life,
        TODAY - timedelta(days=5),
        {
            life.resident.pk: (Status.PRESENT, "", False),
            life.away.pk: (Status.ONLINE, "", False),
            life.hosted.pk: (Status.EXCUSED, "  外出务工  ", False),
        },
    )
    assert activity.recorded_by == life.sec_a and activity.branch == life.branch_a
    rows = {a.member.name: (a.status, a.reason) for a in activity.attendance.all()}
    assert rows == {
        "在家甲": ("present", ""),
        "外出甲": ("online", ""),
        "流入丙": ("excused", "外出务工"),
    }
    # Recording again corrects the row rather than adding one.
    services.attendance_record(
        actor=life.sec_a, activity=activity, attendance={life.hosted.pk: (Status.PRESENT, "", True)}
    )
    assert activity.attendance.count() == 3
    assert activity.attendance.get(member=life.hosted).makeup


def test_excused_without_a_reason_is_refused_and_nothing_is_written(life):
    with pytest.raises(StepRefused):
        hold(life, TODAY, {life.resident.pk: (Status.EXCUSED, "   ", False)})
    assert not Activity.objects.exists() and not Attendance.objects.exists()


def test_a_member_not_on_the_roster_cannot_be_marked(life):
    with pytest.raises(StepRefused):
        hold(life, TODAY, present(life.resident, life.other))
    assert not Activity.objects.exists()


def test_only_the_branch_and_those_above_record_its_activities(life):
    with pytest.raises(StepRefused):
        hold(life, TODAY, present(life.resident), actor=life.sec_a2)
    assert hold(life, TODAY, present(life.resident), actor=life.rev).recorded_by == life.rev


def test_make_up_session_counts_as_organisational_life(life):
    spring = TODAY - timedelta(days=20)
    hold(life, TODAY - timedelta(days=90), present(life.resident))
    assert selectors.last_life_of(life.away) is None
    hold(life, spring, {**present(life.away, makeup=True), **present(life.resident)})
    assert selectors.last_life_of(life.away) == spring
    # Being marked absent later does not count.
    hold(life, TODAY - timedelta(days=2), {life.away.pk: (Status.ABSENT, "", False)})
    assert selectors.last_life_of(life.away) == spring


def test_participation_elsewhere_counts_as_organisational_life(life):
    hold(life, TODAY - timedelta(days=60), present(life.away))
    participation = services.external_participation_record(
        actor=life.sec_a,
        member=life.away,
        on=TODAY - timedelta(days=10),
        organisation=life.shenzhen.name,
        kind=Kind.THEME_DAY,
    )
    assert participation.recorded_by == life.sec_a
    assert selectors.last_life_of(life.away) == TODAY - timedelta(days=10)
    with pytest.raises(StepRefused):  # only the home side reports it
        services.external_participation_record(
            actor=life.sec_a2,
            member=life.away,
            on=TODAY,
            organisation=life.shenzhen.name,
            kind=Kind.THEME_DAY,
        )


def test_with_last_life_annotates_both_dates(life):
    hold(life, TODAY - timedelta(days=40), present(life.resident, life.away))
    hold(life, TODAY - timedelta(days=8), {life.away.pk: (Status.ABSENT, "", False)})
    hold(life, TODAY - timedelta(days=9), {life.resident.pk: (Status.ONLINE, "", False)})
    ExternalParticipation.objects.create(
        member=life.away,
        on=TODAY - timedelta(days=15),
        organisation=life.shenzhen.name,
        kind=Kind.LIFE_MEETING,
        recorded_by=life.sec_a,
    )
    rows = {
        m.name: (m.last_attended, m.last_external)
        for m in selectors.with_last_life(Member.objects.all())
    }
    assert rows == {
        "在家甲": (TODAY - timedelta(days=9), None),
        "外出甲": (TODAY - timedelta(days=40), TODAY - timedelta(days=15)),
        "流入丙": (None, None),
        "乙村党员": (None, None),
    }


# --- dues -----------------------------------------------------------------------------------


def test_dues_amount_from_income_and_fixed(life):
    amount = services.dues_amount_set(
        actor=life.sec_a,
        member=life.away,
        year=TODAY.year,
        basis=DuesAmount.Basis.INCOME,
        monthly_income=Decimal("4500"),
    )
    assert (amount.monthly_amount, amount.set_by) == (Decimal("45.00"), life.sec_a)
    # Setting it again replaces the year's amount.
    services.dues_amount_set(
        actor=life.sec_a, member=life.away, year=TODAY.year, basis=DuesAmount.Basis.STUDENT
    )
    assert selectors.dues_amount_for(life.away, TODAY.year).monthly_amount == Decimal("0.20")
    assert DuesAmount.objects.count() == 1
    with pytest.raises(StepRefused):
        services.dues_amount_set(
            actor=life.sec_a, member=life.away, year=TODAY.year, basis=DuesAmount.Basis.INCOME
        )


def test_dues_amount_by_hand_needs_a_reason(life):
    with pytest.raises(StepRefused):
        services.dues_amount_set(
            actor=life.sec_a,
            member=life.resident,
            year=TODAY.year,
            basis=DuesAmount.Basis.MANUAL,
            monthly_amount=Decimal("100"),
            reason="  ",
        )
    amount = services.dues_amount_set(
        actor=life.sec_a,
        member=life.resident,
        year=TODAY.year,
        basis=DuesAmount.Basis.MANUAL,
        monthly_amount=Decimal("100"),
        reason="自愿多交",
    )
    assert (amount.monthly_amount, amount.reason) == (Decimal("100"), "自愿多交")


def test_inflow_secretary_records_dues_paid_to_them_but_does_not_set_the_amount(life):
    with pytest.raises(StepRefused):
        services.dues_amount_set(
            actor=life.sec_a,
            member=life.hosted,
            year=TODAY.year,
            basis=DuesAmount.Basis.INCOME,
            monthly_income=Decimal("6000"),
        )
    payment = services.dues_payment_record(
        actor=life.sec_a,
        member=life.hosted,
        from_month=THIS_MONTH,
        to_month=THIS_MONTH,
        amount=Decimal("90"),
        paid_on=TODAY,
        method=DuesPayment.Method.WECHAT,
        paid_to=life.branch_a,
    )
    assert (payment.paid_to, payment.recorded_by) == (life.branch_a, life.sec_a)
    with pytest.raises(StepRefused):  # paid to the home branch: the home branch records it
        services.dues_payment_record(
            actor=life.sec_a,
            member=life.hosted,
            from_month=THIS_MONTH + relativedelta(months=1),
            to_month=THIS_MONTH + relativedelta(months=1),
            amount=Decimal("90"),
            paid_on=TODAY,
            method=DuesPayment.Method.CASH,
        )
    with pytest.raises(StepRefused):  # an unrelated branch, even naming itself
        services.dues_payment_record(
            actor=life.sec_a2,
            member=life.hosted,
            from_month=THIS_MONTH + relativedelta(months=1),
            to_month=THIS_MONTH + relativedelta(months=1),
            amount=Decimal("90"),
            paid_on=TODAY,
            method=DuesPayment.Method.CASH,
            paid_to=life.branch_a2,
        )


def pay(life, member, start, end, *, paid_on=TODAY, actor=None):
    return services.dues_payment_record(
        actor=actor or life.sec_a,
        member=member,
        from_month=start,
        to_month=end,
        amount=Decimal("10"),
        paid_on=paid_on,
        method=DuesPayment.Method.CASH,
    )


def test_back_payment_is_limited_to_six_months(life, settings):
    assert settings.DUES_BACK_PAYMENT_MONTHS == 6
    earliest = THIS_MONTH - relativedelta(months=6)
    with pytest.raises(StepRefused) as refused:
        pay(life, life.resident, earliest - relativedelta(months=1), THIS_MONTH)
    assert f"{earliest:%Y-%m}" in refused.value.messages[0]
    payment = pay(life, life.resident, earliest + timedelta(days=9), THIS_MONTH + timedelta(days=3))
    assert (payment.from_month, payment.to_month, payment.paid_to) == (
        earliest,
        THIS_MONTH,
        life.branch_a,
    )


def test_paying_ahead_is_accepted_and_overlaps_are_refused(life):
    pay(life, life.resident, THIS_MONTH, THIS_MONTH + relativedelta(months=5))
    ahead = pay(
        life,
        life.resident,
        THIS_MONTH + relativedelta(months=6),
        THIS_MONTH + relativedelta(months=17),
    )
    assert ahead.to_month == THIS_MONTH + relativedelta(months=17)
    for start, end in [
        (THIS_MONTH + relativedelta(months=17), THIS_MONTH + relativedelta(months=18)),
        (THIS_MONTH - relativedelta(months=1), THIS_MONTH),
        (THIS_MONTH + relativedelta(months=2), THIS_MONTH + relativedelta(months=3)),
    ]:
        with pytest.raises(StepRefused):
            pay(life, life.resident, start, end)
    with pytest.raises(StepRefused):  # months in the wrong order
        pay(life, life.away, THIS_MONTH, THIS_MONTH - relativedelta(months=1))
    assert DuesPayment.objects.count() == 2


def test_arrears_drop_after_a_payment(life, settings):
    start = THIS_MONTH - relativedelta(months=4)
    settings.DUES_TRACKING_START = start.isoformat()
    for year in {start.year, TODAY.year}:
        DuesAmount.objects.create(
            member=life.away,
            year=year,
            basis=DuesAmount.Basis.INCOME,
            monthly_income=Decimal("3000"),
            monthly_amount=Decimal("15.00"),
            set_by=life.sec_a,
        )
    owed, total = selectors.arrears(member=life.away, today=TODAY)
    assert owed == [start + relativedelta(months=n) for n in range(4)]
    assert total == Decimal("60.00")
    pay(life, life.away, start, start + relativedelta(months=1))
    owed, total = selectors.arrears(member=life.away, today=TODAY)
    assert owed == [start + relativedelta(months=2), start + relativedelta(months=3)]
    assert total == Decimal("30.00")
    pay(life, life.away, start + relativedelta(months=2), THIS_MONTH)
    assert selectors.arrears(member=life.away, today=TODAY) == ([], Decimal("0"))


def test_arrears_start_when_the_member_joined(life, settings):
    settings.DUES_TRACKING_START = "2000-01-01"
    newcomer = life.member(life.branch_a, name="新党员", joined_on=THIS_MONTH - timedelta(days=1))
    owed, total = selectors.arrears(member=newcomer, today=TODAY)
    assert owed == [THIS_MONTH - relativedelta(months=1)]
    assert total == Decimal("0.20")  # no amount set: the fixed minimum


# --- two-way evaluations ------------------------------------------------------------------


def evaluate(actor, member, side, *, year=None, grade=Evaluation.Grade.QUALIFIED, by="甲村党支部"):
    return services.evaluation_record(
        actor=actor,
        member=member,
        year=year or TODAY.year - 1,
        side=side,
        grade=grade,
        evaluator=by,
    )


def test_each_side_evaluates_who_it_may(life):
    # The home branch: its own side, and the external inflow side's grade it was sent.
    evaluate(life.sec_a, life.away, Side.HOME, grade=Evaluation.Grade.EXCELLENT)
    evaluate(life.sec_a, life.away, Side.INFLOW, by=life.shenzhen.name)
    # An internal inflow branch records its own side; the home branch its own.
    evaluate(life.sec_a, life.hosted, Side.INFLOW)
    evaluate(life.sec_b, life.hosted, Side.HOME, by="丙村党支部")
    with pytest.raises(StepRefused):  # the inflow side does not give the home side's grade
        evaluate(life.sec_a, life.hosted, Side.HOME)
    for side in (Side.HOME, Side.INFLOW):
        with pytest.raises(StepRefused):  # an unrelated branch
            evaluate(life.sec_a2, life.away, side)
    assert Evaluation.objects.count() == 4
    # Recording a side again corrects it.
    evaluate(life.sec_a, life.away, Side.HOME, grade=Evaluation.Grade.BASIC)
    assert Evaluation.objects.get(member=life.away, side=Side.HOME).grade == "basic"


def test_evaluations_by_year_shows_both_sides(life):
    home = evaluate(life.sec_a, life.away, Side.HOME)
    inflow = evaluate(life.sec_a, life.away, Side.INFLOW, by=life.shenzhen.name)
    earlier = evaluate(life.sec_a, life.away, Side.HOME, year=TODAY.year - 2)
    rows = selectors.evaluations_by_year(life.away)
    assert rows == [
        {"year": TODAY.year - 1, "home": home, "inflow": inflow},
        {"year": TODAY.year - 2, "home": earlier},
    ]


# --- scan rules -----------------------------------------------------------------------------


@pytest.fixture
def tracked(settings):
    settings.ACTIVITIES_TRACKING_START = "2000-01-01"
    settings.DUES_TRACKING_START = "2000-01-01"


def attended(life, member, on, status=Status.PRESENT):
    activity = Activity.objects.create(
        branch=member.home_branch,
        kind=Kind.THEME_DAY,
        held_on=on,
        title="主题党日",
        recorded_by=life.sec_a,
    )
    reason = "外出务工" if status == Status.EXCUSED else ""
    Attendance.objects.create(activity=activity, member=member, status=status, reason=reason)


def test_no_life_3_and_6_months(life, tracked):
    """Whole calendar months since the last month with life; excused months are skipped."""
    m = life.member

    def month(n, day=1):  # a day of the month n months before this one
        return (THIS_MONTH - relativedelta(months=n)).replace(day=day)

    attended(life, m(life.branch_a, name="上月"), month(1))
    attended(life, m(life.branch_a, name="两整月"), month(3))  # months -2 and -1 count: 2
    attended(life, m(life.branch_a, name="三整月"), month(4, 28))  # -3..-1: 3
    attended(life, m(life.branch_a, name="五整月"), month(6))
    attended(life, m(life.branch_a, name="六整月"), month(7, 28))
    abroad = m(life.branch_a, name="外地参加")
    ExternalParticipation.objects.create(
        member=abroad, on=month(4), organisation="外地", kind=Kind.THEME_DAY, recorded_by=life.sec_a
    )
    skipped = m(life.branch_a, name="缺席")  # absent in -1, excused in -2: -7..-1 less -2 is 6
    attended(life, skipped, month(8))
    attended(life, skipped, month(1), Status.ABSENT)
    attended(life, skipped, month(2), Status.EXCUSED)
    excused = m(life.branch_a, name="每次请假")  # every absence since -7 excused: nothing counts
    attended(life, excused, month(7))
    for n in range(1, 7):
        attended(life, excused, month(n), Status.EXCUSED)
    m(life.branch_a, name="新党员", joined_on=month(2))
    m(life.branch_a, name="停止党籍", status=Member.Status.SUSPENDED)
    never = {"在家甲", "外出甲", "流入丙", "乙村党员"}  # the fixture's, never seen at all

    assert names(rules.no_life_3_months(TODAY)) == {"三整月", "五整月", "外地参加"}
    assert names(rules.no_life_6_months(TODAY)) == {"六整月", "缺席"} | never


def test_no_life_rules_wait_for_tracking_to_cover_the_period(life, settings):
    settings.ACTIVITIES_TRACKING_START = (TODAY - relativedelta(months=2)).isoformat()
    assert names(rules.no_life_6_months(TODAY)) == set()
    assert names(rules.no_life_3_months(TODAY)) == set()
    settings.ACTIVITIES_TRACKING_START = (TODAY - relativedelta(months=7)).isoformat()
    assert "在家甲" in names(rules.no_life_6_months(TODAY))


def test_no_life_3_months_flags_a_member_who_never_attended_since_joining(life, tracked):
    life.member(life.branch_a, name="四月前入党", joined_on=TODAY - relativedelta(months=4))
    assert "四月前入党" in names(rules.no_life_3_months(TODAY))


def paid_until(life, member, month):
    DuesPayment.objects.create(
        member=member,
        from_month=month - relativedelta(months=11),
        to_month=month,
        amount=Decimal("12"),
        paid_on=month,
        method="cash",
        recorded_by=life.sec_a,
    )


def test_dues_unpaid_3_and_6_months(life, tracked):
    m = life.member
    paid_until(life, m(life.branch_a, name="交至上月"), THIS_MONTH - relativedelta(months=1))
    paid_until(life, m(life.branch_a, name="欠两月"), THIS_MONTH - relativedelta(months=3))
    paid_until(life, m(life.branch_a, name="欠三月"), THIS_MONTH - relativedelta(months=4))
    paid_until(life, m(life.branch_a, name="欠五月"), THIS_MONTH - relativedelta(months=6))
    paid_until(life, m(life.branch_a, name="欠六月"), THIS_MONTH - relativedelta(months=7))
    paid_until(life, m(life.branch_a, name="预交"), THIS_MONTH + relativedelta(months=11))
    m(life.branch_a, name="新党员", joined_on=TODAY - relativedelta(months=2))
    m(life.branch_a, name="已故", status=Member.Status.DECEASED)
    never = {"在家甲", "外出甲", "流入丙", "乙村党员"}

    assert names(rules.dues_unpaid_3_months(TODAY)) == {"欠三月", "欠五月"}
    assert names(rules.dues_unpaid_6_months(TODAY)) == {"欠六月"} | never


def test_dues_rules_wait_for_tracking_to_cover_the_period(life, settings):
    settings.DUES_TRACKING_START = (THIS_MONTH - relativedelta(months=2)).isoformat()
    assert not rules.dues_unpaid_3_months(TODAY).exists()
    assert not rules.dues_unpaid_6_months(TODAY).exists()


def test_dues_unpaid_3_months_flags_a_member_who_never_paid_since_joining(life, tracked):
    life.member(life.branch_a, name="四月前入党", joined_on=TODAY - relativedelta(months=4))
    assert "四月前入党" in names(rules.dues_unpaid_3_months(TODAY))


def test_assigned_work_undone_for_six_months(life):
    six = TODAY - relativedelta(months=6)

    def work(member, due_on, side=Side.HOME, actor=None):
        return services.assigned_work_record(
            actor=actor or life.sec_a,
            member=member,
            side=side,
            title="联系一户困难群众",
            assigned_on=due_on - timedelta(days=30),
            due_on=due_on,
        )

    work(life.resident, six)
    late = work(life.away, six - timedelta(days=40))
    services.assigned_work_close(actor=life.sec_a, work=late, done=False, note="未完成")
    done = work(life.other, six - timedelta(days=40), actor=life.sec_a2)
    services.assigned_work_close(actor=life.sec_a2, work=done, done=True)
    # The host gives work too; due in the month after: five whole months, not six.
    work(life.hosted, first_of_month(six) + relativedelta(months=1), side=Side.INFLOW)
    assert AssignedWork.objects.get(member=life.hosted).recorded_by == life.sec_a
    assert names(rules.assigned_work_undone(TODAY)) == {"在家甲", "外出甲"}
    with pytest.raises(StepRefused):
        services.assigned_work_close(actor=life.sec_a2, work=done, done=False)  # closed already
    with pytest.raises(StepRefused):
        work(life.hosted, TODAY, side=Side.HOME)  # the host does not give home-side work
    with pytest.raises(StepRefused):
        work(life.other, TODAY)  # not in sec_a's scope
    with pytest.raises(StepRefused):
        services.assigned_work_record(
            actor=life.sec_a,
            member=life.resident,
            side=Side.HOME,
            title="x",
            assigned_on=TODAY,
            due_on=TODAY - timedelta(days=1),
        )


def test_evaluation_missing_only_after_the_season_end(life, settings):
    assert settings.EVALUATION_SEASON_END == "01-31"
    year = TODAY.year
    last = year - 1
    returned = life.member(life.branch_a, name="年中返乡")
    MobilityEpisode.objects.create(
        member=returned,
        mobility_type="temporary",
        left_on=date(last - 1, 3, 1),
        ended_on=date(last, 6, 30),
    )
    left_late = life.member(life.branch_a, name="今年外出")
    MobilityEpisode.objects.create(
        member=left_late, mobility_type="work", left_on=date(year, 1, 10)
    )
    evaluate(life.sec_a, life.hosted, Side.INFLOW)  # one side is enough
    evaluate(life.sec_a, life.away, Side.HOME, year=last - 1)  # an older year is not

    assert names(rules.evaluation_missing_rule(date(year, 2, 10))) == {"外出甲"}
    assert names(rules.evaluation_missing_rule(date(year, 2, 1))) == {"外出甲"}
    assert not rules.evaluation_missing_rule(date(year, 1, 31)).exists()
    assert not rules.evaluation_missing_rule(date(year, 1, 20)).exists()
    evaluate(life.sec_a, life.away, Side.HOME, year=last)
    assert not rules.evaluation_missing_rule(date(year, 2, 10)).exists()


def test_a_planned_activity_takes_no_attendance_marks_yet(life):
    from datetime import timedelta

    from activities import services as activity_services
    from infrastructure.steps import StepRefused

    planned = activity_services.activity_record(
        actor=life.sec_a,
        branch=life.branch_a,
        kind="theme_day",
        held_on=TODAY + timedelta(days=7),
        title="计划中的主题党日",
        attendance={},
    )
    with pytest.raises(StepRefused):
        activity_services.attendance_record(
            actor=life.sec_a, activity=planned, attendance={life.away.pk: ("present", "", False)}
        )
