"""End-to-end: a secretary records a theme Party day with attendance, records a dues payment,
and sees the member's arrears drop.

Drives the Debian Chromium (/usr/bin/chromium) through Playwright against pytest-django's
live server. Skipped on a machine without Chromium, a failure when REQUIRE_SERVICES=1.
Elements are found by URL, name and id, not by their (Chinese) text: the translation changes.
"""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from dateutil.relativedelta import relativedelta
from django.urls import reverse
from django.utils import timezone, translation

from activities import selectors, services
from activities.dues import first_of_month
from activities.models import Activity, Attendance, DuesPayment
from transfers.models import MobilityEpisode

from .browser import ARTIFACTS, log_in

MONTHS_OWED = 6
Status = Attendance.Status

pytestmark = [pytest.mark.browser, pytest.mark.services]


def shown_arrears(page) -> tuple[list[str], Decimal]:
    """The months owed (YYYY-MM) and the amount the member page shows under #arrears."""
    arrears = page.locator("#life #arrears")
    if arrears.locator("span.unclear").count() == 0:
        assert arrears.locator("span.clear").count() == 1
        return [], Decimal("0")
    months = re.findall(r"\d{4}-\d{2}", arrears.locator("small").inner_text())
    amounts = re.findall(r"\d+\.\d{2}", arrears.locator("span.unclear").inner_text())
    assert len(amounts) == 1, arrears.inner_text()
    return months, Decimal(amounts[0])


def status_label(status: str) -> str:
    with translation.override("zh-hans"):
        return str(Status(status).label)


def test_secretary_records_theme_day_and_dues_payment_and_arrears_drop(
    live_server, county, browser_page, settings
):
    page = browser_page
    base = live_server.url
    today = timezone.localdate()
    this_month = first_of_month(today)
    settings.DUES_TRACKING_START = (this_month - relativedelta(months=MONTHS_OWED)).isoformat()

    secretary = county.secretary(county.branch_a, "sec_a")
    resident = county.member(county.branch_a, name="在家甲")
    mobile = county.member(county.branch_a, name="外出甲")
    MobilityEpisode.objects.create(
        member=mobile,
        mobility_type=MobilityEpisode.Type.WORK,
        left_on=today - timedelta(days=300),
        destination_province="广东省",
        destination_city="深圳市",
    )
    hosted = county.member(county.branch_b, name="流入丙")
    MobilityEpisode.objects.create(
        member=hosted,
        mobility_type=MobilityEpisode.Type.WORK,
        left_on=today - timedelta(days=200),
        destination_province="四川省",
        inflow_organisation=county.branch_a,
    )
    county.member(county.branch_b, name="丙村党员")  # not on branch A's roster
    services.dues_amount_set(
        actor=secretary,
        member=mobile,
        year=today.year,
        basis="income",
        monthly_income=Decimal("4000"),
    )
    owed_before, total_before = selectors.arrears(member=mobile, today=today)
    assert len(owed_before) == MONTHS_OWED

    log_in(page, base, "sec_a")

    # The activity list, and its link to record an activity.
    list_url = reverse("activities:activity_list")
    with page.expect_navigation():
        page.click(f"nav.main-nav a[href='{list_url}']")
    create_href = f"{reverse('activities:activity_create')}?branch={county.branch_a.pk}"
    with page.expect_navigation():
        page.click(f"main a[href='{create_href}']")
    assert page.url == f"{base}{create_href}"

    # The roster: the branch's two members and the member it hosts, nobody else.
    form = page.locator("form[method=post]", has=page.locator("#id_kind"))
    assert form.locator("select[name$='-status']").count() == 3
    for member in (resident, mobile, hosted):
        assert form.locator(f"select[name='{member.pk}-status']").count() == 1
    hosted_row = form.locator("table.roster tbody tr", has=page.locator(f"#id_{hosted.pk}-status"))
    assert "流入丙" in hosted_row.inner_text()
    assert hosted_row.locator("small.status").count() == 1
    assert county.branch_b.name in hosted_row.inner_text()
    assert "丙村党员" not in page.content()

    form.locator("#id_kind").select_option(Activity.Kind.THEME_DAY.value)
    assert form.locator("#id_held_on").input_value() == today.isoformat()
    form.locator("#id_held_on").fill(today.isoformat())
    form.locator("#id_title").fill("主题党日：学习党章")
    form.locator("#id_place").fill("村委会会议室")
    form.locator(f"#id_{resident.pk}-status").select_option(Status.PRESENT.value)
    form.locator(f"#id_{mobile.pk}-status").select_option(Status.ONLINE.value)
    form.locator(f"#id_{hosted.pk}-status").select_option(Status.ABSENT.value)
    with page.expect_navigation():
        form.locator("button[type=submit].primary").click()

    # The activity detail with the marks.
    activity = Activity.objects.get()
    assert page.url == f"{base}{reverse('activities:activity_detail', args=[activity.pk])}"
    assert page.locator("main h1").inner_text().strip() == "主题党日：学习党章"
    marks = {}
    for member in (resident, mobile, hosted):
        row = page.locator(
            "table.data tbody tr",
            has=page.locator(f"a[href='{reverse('members:detail', args=[member.pk])}#life']"),
        )
        assert row.count() == 1
        status_cell = row.locator("td").nth(2)
        attended = status_cell.locator("span.clear").count() == 1
        assert attended != (status_cell.locator("span.unclear").count() == 1)
        marks[member.pk] = (attended, status_cell.inner_text().strip())
    assert marks[resident.pk] == (True, f"✓ {status_label(Status.PRESENT)}")
    assert marks[mobile.pk] == (True, f"✓ {status_label(Status.ONLINE)}")
    assert marks[hosted.pk] == (False, f"✗ {status_label(Status.ABSENT)}")
    hosted_detail_row = page.locator(
        "table.data tbody tr",
        has=page.locator(f"a[href='{reverse('members:detail', args=[hosted.pk])}#life']"),
    )
    assert hosted_detail_row.locator("small.status").count() == 1

    # The mobile member's page: the arrears before paying.
    member_url = reverse("members:detail", args=[mobile.pk])
    page.goto(f"{base}{member_url}")
    months, total = shown_arrears(page)
    assert months == [f"{month:%Y-%m}" for month in owed_before]
    assert total == total_before
    assert total > 0

    # Record a payment for the months owed.
    payment_url = reverse("activities:dues_payment_new", args=[mobile.pk])
    with page.expect_navigation():
        page.click(f"#life a[href='{payment_url}']")
    assert page.url == f"{base}{payment_url}"
    payment_form = page.locator("form[method=post]", has=page.locator("#id_from_month"))
    assert payment_form.locator("#id_from_month").get_attribute("type") == "month"
    payment_form.locator("#id_from_month").fill(f"{owed_before[0]:%Y-%m}")
    payment_form.locator("#id_to_month").fill(f"{owed_before[-1]:%Y-%m}")
    payment_form.locator("#id_amount").fill(str(total_before))
    payment_form.locator("#id_paid_on").fill(today.isoformat())
    payment_form.locator("#id_method").select_option(DuesPayment.Method.WECHAT.value)
    assert payment_form.locator("#id_paid_to").input_value() == str(county.branch_a.pk)
    with page.expect_navigation():
        payment_form.locator("button[type=submit].primary").click()

    # Back on the member page: no arrears left, and today's theme day as the last life.
    assert page.url == f"{base}{member_url}#life"
    assert page.locator(".messages").count() == 1
    assert shown_arrears(page) == ([], Decimal("0"))
    last_life = page.locator("#life dl.facts").first.locator("dd strong")
    assert last_life.inner_text().strip() == today.isoformat()
    assert last_life.get_attribute("class") is None  # not flagged as overdue
    payments = page.locator("#life table.data", has=page.locator("td.num")).first
    assert f"{owed_before[0]:%Y-%m} – {owed_before[-1]:%Y-%m}" in payments.inner_text()

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "activity-and-dues.png"), full_page=True)

    # The database.
    assert activity.kind == Activity.Kind.THEME_DAY and activity.held_on == today
    assert activity.branch == county.branch_a and activity.recorded_by == secretary
    assert {a.member_id: a.status for a in Attendance.objects.all()} == {
        resident.pk: Status.PRESENT,
        mobile.pk: Status.ONLINE,
        hosted.pk: Status.ABSENT,
    }
    payment = DuesPayment.objects.get()
    assert payment.member == mobile and payment.recorded_by == secretary
    assert (payment.from_month, payment.to_month) == (owed_before[0], owed_before[-1])
    assert payment.amount == total_before and payment.paid_on == today
    assert payment.method == DuesPayment.Method.WECHAT and payment.paid_to == county.branch_a
    assert selectors.arrears(member=mobile, today=today) == ([], Decimal("0"))
    assert selectors.last_life_of(mobile) == today


def test_secretary_uses_a_preset_on_the_roster_and_keeps_what_was_typed(
    live_server, county, browser_page
):
    """One member at home, one away: the away one is marked 流动在外 and starts as away; a
    preset fills the lines nobody changed and keeps the rest; saving records what is shown."""
    page = browser_page
    base = live_server.url
    today = timezone.localdate()
    secretary = county.secretary(county.branch_a, "sec_a")
    home = county.member(county.branch_a, name="在家甲")
    away = county.member(county.branch_a, name="外出甲")
    MobilityEpisode.objects.create(
        member=away,
        mobility_type=MobilityEpisode.Type.WORK,
        left_on=today - timedelta(days=90),
        destination_province="浙江省",
        destination_city="杭州市",
    )
    log_in(page, base, "sec_a")
    url = f"{base}{reverse('activities:activity_create')}?branch={county.branch_a.pk}"
    page.goto(url)

    form = page.locator("form[method=post]", has=page.locator("#id_kind"))
    home_status, away_status = (form.locator(f"#id_{m.pk}-status") for m in (home, away))
    away_row, home_row = (
        form.locator("table.roster tbody tr", has=page.locator(f"#id_{m.pk}-status"))
        for m in (away, home)
    )
    assert "流动在外" in away_row.locator("small.away").inner_text()
    assert home_row.locator("small.away").count() == 0
    assert away_status.input_value() == Status.AWAY.value
    assert home_status.input_value() == Status.PRESENT.value

    # The secretary types the activity and a leave of absence, then uses a preset.
    form.locator("#id_kind").select_option(Activity.Kind.PARTY_LECTURE.value)
    form.locator("#id_title").fill("党课：学习新修订的党章")
    form.locator("#id_place").fill("党员活动室")
    home_status.select_option(Status.EXCUSED.value)
    form.locator(f"#id_{home.pk}-reason").fill("在县医院陪护家人")
    with page.expect_navigation():
        form.locator("button[name=preset][value=online]").click()
    assert page.url == url  # the same page, shown again; nothing saved
    assert not Activity.objects.exists()
    assert form.locator("#id_title").input_value() == "党课：学习新修订的党章"
    assert form.locator("#id_place").input_value() == "党员活动室"
    assert form.locator("#id_kind").input_value() == Activity.Kind.PARTY_LECTURE.value
    assert home_status.input_value() == Status.EXCUSED.value  # changed by hand: kept
    assert form.locator(f"#id_{home.pk}-reason").input_value() == "在县医院陪护家人"
    assert away_status.input_value() == Status.ONLINE.value  # unchanged line: the preset
    assert "流动在外" in away_row.inner_text()

    # Back to the defaults for the line the preset filled; the typed line still stays.
    with page.expect_navigation():
        form.locator("button[name=preset][value=default]").click()
    assert away_status.input_value() == Status.AWAY.value
    assert home_status.input_value() == Status.EXCUSED.value
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "roster-preset.png"), full_page=True)

    # Save: the attendance is recorded as shown.
    with page.expect_navigation():
        form.locator("button[type=submit].primary").click()
    activity = Activity.objects.get()
    assert page.url == f"{base}{reverse('activities:activity_detail', args=[activity.pk])}"
    assert activity.title == "党课：学习新修订的党章" and activity.place == "党员活动室"
    assert activity.kind == Activity.Kind.PARTY_LECTURE and activity.held_on == today
    assert activity.recorded_by == secretary
    assert {a.member_id: (a.status, a.reason) for a in activity.attendance.all()} == {
        home.pk: (Status.EXCUSED, "在县医院陪护家人"),
        away.pk: (Status.AWAY, ""),
    }
    away_detail = page.locator(
        "table.data tbody tr",
        has=page.locator(f"a[href='{reverse('members:detail', args=[away.pk])}#life']"),
    )
    assert "流动在外" in away_detail.locator("span.unclear").inner_text()
