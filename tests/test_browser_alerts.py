"""End-to-end: an alert closed by acting on it, and a member's self-report accepted into the ledger.

1. The scan opens a 失联 (lost contact) alert; the secretary of 甲村党支部 finds it in the inbox,
   reads why (第二十四条), opens the member and presses "reached today by phone"; the next scan
   closes the alert.
2. A member away from home opens the signed self-report link in a fresh browser (no login) and
   sends where they are, what they do and a new phone number; the secretary accepts it from the
   member page.

Drives the Debian Chromium (/usr/bin/chromium) through Playwright against pytest-django's live
server. Skipped on a machine without Chromium, a failure when REQUIRE_SERVICES=1. Elements are
picked by URL, form action and input name where possible: the Chinese wording may change.
"""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from alerts import scanning
from alerts.models import Alert
from ledgers import selfreport
from ledgers.models import ContactAttempt, SelfReport
from transfers.models import MobilityEpisode

from .browser import ARTIFACTS, log_in

NEW_PHONE = "13911112222"

pytestmark = [pytest.mark.browser, pytest.mark.services]


def click_and_wait(page, locator) -> None:
    with page.expect_navigation():
        locator.click()


def away_member(county, **fields):
    """A member of 甲村党支部 who left a year ago and has never been reached since."""
    member = county.member(county.branch_a, **fields)
    MobilityEpisode.objects.create(
        member=member,
        mobility_type="temporary",
        left_on=timezone.localdate() - timedelta(days=365),
        destination_province="广东省",
    )
    return member


def test_lost_contact_alert_closes_after_the_secretary_reaches_the_member(
    live_server, county, browser_page
):
    page = browser_page
    base = live_server.url
    today = timezone.localdate()
    county.secretary(county.branch_a, "sec_a")
    member = away_member(county, name="失联甲")
    scanning.scan()
    alert = Alert.objects.get(member=member, kind="lost_contact", closed_at__isnull=True)
    alert_path = f"/alerts/{alert.pk}/"
    member_path = f"/members/{member.pk}/"
    reached_action = f"/members/{member.pk}/reached/"

    # The inbox lists the alert; open it.
    log_in(page, base, "sec_a")
    page.goto(f"{base}/alerts/")
    link = page.locator(f'table.data tbody a[href="{alert_path}"]')
    assert link.count() == 1
    assert link.inner_text().strip() == "失联甲"
    row = page.locator("table.data tbody tr", has=page.locator(f'a[href="{alert_path}"]'))
    assert "失联" in row.inner_text()
    click_and_wait(page, link)

    # The alert page explains why, cites Article 24 and offers the actions.
    assert page.url == f"{base}{alert_path}"
    why = page.locator("main section.classification")
    assert "第二十四条" in why.inner_text()
    assert page.locator(f'a[href="/alerts/{alert.pk}/resolve/"]').count() == 1
    assert page.locator(f'a[href="/members/{member.pk}/contacts/new/"]').count() >= 1
    assert member.national_id not in page.content()

    # Go to the member page and record the call in the ledger section.
    click_and_wait(page, page.locator(f'main h1 a[href="{member_path}"]'))
    assert page.url == f"{base}{member_path}"
    ledger = page.locator("section#ledger")
    button = ledger.locator(f'form[action="{reached_action}"] button[type=submit]')
    assert button.count() == 1
    click_and_wait(page, button)

    assert page.url.split("#")[0] == f"{base}{member_path}"
    assert "失联甲" in page.locator(".messages").inner_text()
    ledger = page.locator("section#ledger")
    assert today.isoformat() in ledger.locator("p strong").first.inner_text()
    contact = ContactAttempt.objects.get(member=member)
    assert (contact.on, contact.channel, contact.reached) == (today, "phone", True)
    assert contact.recorded_by.username == "sec_a"

    # The contact closes the alert: at once where the re-evaluation runs in process, else on
    # the worker or at the latest in the next scan (tests/test_browser_rules.py waits for the
    # worker).
    scanning.scan()
    alert.refresh_from_db()
    assert alert.closed_at is not None
    assert (alert.state, alert.close_reason) == ("closed", "condition_cleared")
    assert not Alert.objects.filter(
        member=member, kind="lost_contact", closed_at__isnull=True
    ).exists()

    page.goto(f"{base}{alert_path}")
    assert page.locator(f'a[href="/alerts/{alert.pk}/resolve/"]').count() == 0
    assert page.locator(f'a[href="/alerts/{alert.pk}/acknowledge/"]').count() == 0
    assert (
        alert.closed_at.astimezone(timezone.get_current_timezone()).strftime("%Y-%m-%d %H:%M")
        in page.locator("main section.classification").inner_text()
    )

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "alert-closed.png"), full_page=True)

    page.goto(f"{base}/alerts/")
    assert page.locator(f'a[href="{alert_path}"]').count() == 0


def test_member_self_reports_and_the_secretary_accepts(live_server, county, browser_page, settings):
    settings.SITE_URL = live_server.url
    page = browser_page
    base = live_server.url
    today = timezone.localdate()
    county.secretary(county.branch_a, "sec_a")
    member = away_member(county, name="王小明", email="xm@example.org", phone="13800138000")
    path = reverse(
        "ledgers:self_report",
        args=[selfreport.make_token(member, selfreport.period_of(today))],
    )
    assert selfreport.link_for(member, selfreport.period_of(today)) == f"{base}{path}"

    # The member opens the link in a fresh browser: no session, no login.
    public = page.context.browser.new_context(locale="en-US")
    form_page = public.new_page()
    form_page.set_default_timeout(10_000)
    form_page.goto(f"{base}{path}")
    assert form_page.url == f"{base}{path}", "the self-report link must not need a login"
    assert form_page.locator("html").get_attribute("lang") == "zh-hans"
    content = form_page.content()
    assert "王**" in content and "王小明" not in content and "13800138000" not in content
    form = form_page.locator("main form[method=post]")
    form.locator("[name=where]").fill("广东省深圳市南山区")
    form.locator("[name=occupation]").fill("快递员")
    form.locator("[name=phone]").fill(NEW_PHONE)
    form.locator("[name=note]").fill("一切安好")
    click_and_wait(form_page, form.locator("button[type=submit]"))

    assert form_page.locator("main .verify.valid").count() == 1
    assert form_page.locator("main form[method=post]").count() == 0
    assert form_page.locator("main [role=alert], main .field-error").count() == 0
    report = SelfReport.objects.get(member=member)
    assert (report.status, report.phone, report.where) == (
        "pending",
        NEW_PHONE,
        "广东省深圳市南山区",
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    form_page.screenshot(path=str(ARTIFACTS / "self-report-sent.png"), full_page=True)
    public.close()

    # The secretary sees the report on the member page and accepts it.
    log_in(page, base, "sec_a")
    member_path = f"/members/{member.pk}/"
    page.goto(f"{base}{member_path}#ledger")
    decide = page.locator(f'section#ledger form[action="/self-reports/{report.pk}/decide/"]')
    assert decide.count() == 1
    assert NEW_PHONE in page.locator("section#ledger .notice").inner_text()
    click_and_wait(page, decide.locator('button[name="accept"][value="1"]'))

    assert page.url.split("#")[0] == f"{base}{member_path}"
    assert page.locator(".messages .error").count() == 0
    assert page.locator("#basic dl.facts dd.mono").inner_text().strip() == NEW_PHONE
    assert NEW_PHONE in page.locator("section#ledger table.five-clears").inner_text()
    assert page.locator('form[action^="/self-reports/"]').count() == 0
    assert "广东省深圳市南山区" in page.locator("section#ledger table.five-clears").inner_text()

    report.refresh_from_db()
    member.refresh_from_db()
    assert report.status == "accepted"
    assert report.decided_by.username == "sec_a"
    assert member.phone == NEW_PHONE
    contact = ContactAttempt.objects.get(member=member, channel="self_report")
    assert contact.reached

    page.screenshot(path=str(ARTIFACTS / "self-report-accepted.png"), full_page=True)
