"""End-to-end (issue #20): the county forms a mobile Party branch at its outpost in 深圳 from
the dashboard's "can form a group"; the outpost secretary records a meeting with members from
three home branches, and each home branch sees the attendance on the member's page.

Drives the Debian Chromium (/usr/bin/chromium) through Playwright against pytest-django's
live server. Skipped on a machine without Chromium, a failure when REQUIRE_SERVICES=1.
Elements are found by URL, name and id, not by their (Chinese) text.
"""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from activities.models import Activity, Attendance
from members.models import Organisation, StaffAssignment
from transfers.models import MobilityEpisode

from .browser import ARTIFACTS, log_in

pytestmark = [pytest.mark.browser, pytest.mark.services]
Status = Attendance.Status


def present_label() -> str:
    with translation.override("zh-hans"):
        return str(Status.PRESENT.label)


def away_in_shenzhen(county):
    """Three members of three home branches, away in 深圳: (their branches, the members)."""
    branches = [county.branch_a, county.branch_a2, county.branch_b]
    members = [
        county.member(branch, name=f"深圳{n}") for n, branch in zip("甲乙丙", branches, strict=True)
    ]
    for member in members:
        MobilityEpisode.objects.create(
            member=member,
            mobility_type=MobilityEpisode.Type.WORK,
            left_on=timezone.localdate() - timedelta(days=150),
            destination_province="广东省",
            destination_city="深圳市",
        )
    return branches, members


def test_outpost_secretary_records_a_meeting_that_each_home_branch_sees(
    live_server, county, browser_page
):
    page = browser_page
    base = live_server.url
    today = timezone.localdate()
    branches, members = away_in_shenzhen(county)
    county.member(county.branch_a, name="在家党员")  # not on the outpost's roster
    county.reviewer(county.county, "county_rev")
    for branch in branches:
        county.secretary(branch, f"sec_{branch.pk}")

    # The county reviewer: the dashboard's button, the proposal with exactly those members.
    log_in(page, base, "county_rev")
    page.goto(f"{base}{reverse('reports:dashboard')}?org={county.county.pk}")
    propose = page.locator("table.destinations a.propose-group")
    assert propose.count() == 1
    with page.expect_navigation():
        propose.click()
    assert page.url.startswith(f"{base}{reverse('transfers:outpost_propose')}")
    boxes = page.locator("form.proposal input[name=members]")
    assert sorted(int(v) for v in boxes.evaluate_all("els => els.map(e => e.value)")) == sorted(
        m.pk for m in members
    )
    assert all(box.is_checked() for box in boxes.all())
    assert "在家党员" not in page.content()
    with page.expect_navigation():
        page.click("form.proposal button[type=submit].primary")
    unit = Organisation.objects.get(hosts_only=True)
    outpost = Organisation.objects.get_parent(unit)
    assert outpost.kind == Organisation.Kind.OUTPOST and unit.kind == Organisation.Kind.BRANCH
    assert page.url == f"{base}{reverse('transfers:outpost_detail', args=[outpost.pk])}"
    page.context.clear_cookies()

    # The outpost's secretary records a Party members' meeting at the mobile branch.
    StaffAssignment.objects.create(
        user=county.user("outpost_sec", None, ""),
        organisation=outpost,
        role=StaffAssignment.Role.SECRETARY,
    )
    log_in(page, base, "outpost_sec")
    page.goto(f"{base}{reverse('transfers:outpost_detail', args=[outpost.pk])}")
    for member in members:
        assert (
            page.locator(
                f"table.served a[href='{reverse('members:detail', args=[member.pk])}']"
            ).count()
            == 1
        )
    with page.expect_navigation():
        page.click(f"a[href='{reverse('activities:activity_list')}?branch={unit.pk}']")
    create_href = f"{reverse('activities:activity_create')}?branch={unit.pk}"
    with page.expect_navigation():
        page.click(f"main a[href='{create_href}']")
    form = page.locator("form[method=post]", has=page.locator("#id_kind"))
    assert form.locator("select[name$='-status']").count() == 3
    form.locator("#id_kind").select_option(Activity.Kind.GENERAL_MEETING.value)
    form.locator("#id_held_on").fill(today.isoformat())
    form.locator("#id_title").fill("驻深圳党员大会")
    form.locator("#id_place").fill("南山区党群服务中心")
    for member in members:
        form.locator(f"#id_{member.pk}-status").select_option(Status.PRESENT.value)
    with page.expect_navigation():
        form.locator("button[type=submit].primary").click()
    activity = Activity.objects.get()
    assert page.url == f"{base}{reverse('activities:activity_detail', args=[activity.pk])}"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "outpost-meeting.png"), full_page=True)
    page.context.clear_cookies()

    # Each home branch's secretary sees the attendance on the member's page.
    for member, branch in zip(members, branches, strict=True):
        log_in(page, base, f"sec_{branch.pk}")
        page.goto(f"{base}{reverse('members:detail', args=[member.pk])}")
        row = page.locator("#life table.data tbody tr", has_text="驻深圳党员大会")
        assert row.count() == 1
        cells = row.locator("td")
        assert cells.nth(0).inner_text().strip() == today.isoformat()
        assert cells.nth(2).inner_text().strip() == unit.name
        assert cells.nth(3).inner_text().strip() == f"✓ {present_label()}"
        last_life = page.locator("#life dl.facts").first.locator("dd strong")
        assert last_life.inner_text().strip() == today.isoformat()
        # The outpost's activity is not the home branch's to open.
        assert row.locator("a").count() == 0
        page.context.clear_cookies()

    assert {a.member_id: a.status for a in Attendance.objects.all()} == {
        m.pk: Status.PRESENT for m in members
    }
    assert activity.branch == unit


def test_outpost_secretary_keeps_the_inflow_side_of_the_ledger_the_home_branch_sees_it(
    live_server, county, browser_page
):
    """The outpost confirms the four items it sees from its inflow ledger and changes what a
    member does; when they left and the phone number stay the home branch's."""
    from ledgers.models import LedgerRecord
    from transfers import outposts

    page = browser_page
    base = live_server.url
    today = timezone.localdate()
    branches, members = away_in_shenzhen(county)
    unit = outposts.group_proposal_confirm(
        actor=county.reviewer(county.county, "county_rev"),
        root=county.county,
        province="广东省",
        city="深圳市",
        member_ids={m.pk for m in members},
        kind=Organisation.Kind.BRANCH,
        name="测试县驻深圳流动党员党支部",
    )
    county.secretary(Organisation.objects.get_parent(unit), "outpost_sec")
    county.secretary(county.branch_a, "home_sec")
    first = members[0]

    log_in(page, base, "outpost_sec")
    page.goto(f"{base}{reverse('ledgers:ledger')}?side=inflow")
    confirm = page.locator(f"form[action='{reverse('ledgers:confirm', args=[first.pk])}']")
    with page.expect_navigation():
        confirm.locator("button[type=submit]").click()
    record = LedgerRecord.objects.get(member=first)
    assert record.where_confirmed_on == record.conduct_confirmed_on == today
    assert record.left_confirmed_on is None

    page.goto(f"{base}{reverse('members:detail', args=[first.pk])}")
    ledger = page.locator("#ledger")
    assert (
        ledger.locator(
            f"a[href^='{reverse('ledgers:item_edit', args=[first.pk, 'left'])}']"
        ).count()
        == 0
    )
    assert (
        ledger.locator(
            f"a[href^='{reverse('ledgers:item_edit', args=[first.pk, 'contact'])}']"
        ).count()
        == 0
    )
    with page.expect_navigation():
        ledger.locator(
            f"a[href^='{reverse('ledgers:item_edit', args=[first.pk, 'occupation'])}']"
        ).click()
    page.fill("#id_occupation", "快递站点负责人")
    page.fill("#id_employer", "深圳某快递站")
    with page.expect_navigation():
        page.locator("main form[method=post] button[type=submit].primary").click()
    episode = first.mobility_episodes.current().get()
    assert (episode.occupation, episode.employer) == ("快递站点负责人", "深圳某快递站")
    page.context.clear_cookies()

    log_in(page, base, "home_sec")
    page.goto(f"{base}{reverse('members:detail', args=[first.pk])}")
    rows = page.locator("#ledger table.five-clears tbody tr")
    occupation = rows.filter(has_text="快递站点负责人")
    assert occupation.count() == 1
    assert f"{today:%Y-%m-%d} · outpost_sec" in occupation.inner_text()
    assert (
        page.locator(
            f"#ledger a[href^='{reverse('ledgers:item_edit', args=[first.pk, 'left'])}']"
        ).count()
        == 1
    )
