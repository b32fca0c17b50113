"""End-to-end (issue #14): alerts follow the evidence the same day.

A member away for a year is flagged 失联. The secretary of 甲村党支部 records, in Chromium, an
excused absence (a good reason) and a dues payment on the member page. The write re-evaluates
the member's rules after the commit — on a real Celery worker when REDIS_URL is set (as in CI),
in process otherwise — and the alert closes as "condition cleared" without waiting for the
night. The member page then shows the payment as the last sign of life and the excused month.
"""

import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from activities.models import DuesPayment, GoodReason
from alerts import scanning
from alerts.models import Alert
from transfers.models import MobilityEpisode

from .browser import ARTIFACTS, log_in
from .workers import celery_workers

pytestmark = [pytest.mark.browser, pytest.mark.services]


@pytest.fixture
def re_evaluation(tmp_path, monkeypatch):
    """Where the re-evaluation runs: a real worker on a queue of its own when Redis is
    configured, in process otherwise."""
    from alerts import tasks

    if not settings.REDIS_URL:
        assert settings.CELERY_TASK_ALWAYS_EAGER  # no broker: tasks run in process
        yield "in process"
        return
    with celery_workers("evidence", tmp_path=tmp_path) as (queue, _workers):
        monkeypatch.setattr(tasks.reevaluate_members, "_exec_options", {"queue": queue})
        yield "worker"


def click_and_wait(page, locator) -> None:
    with page.expect_navigation():
        locator.click()


def _closed(alert: Alert, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alert.refresh_from_db()
        if alert.closed_at is not None:
            return True
        time.sleep(0.2)
    return False


def test_a_lost_contact_alert_closes_the_same_day_after_a_reason_and_a_dues_payment(
    live_server, county, browser_page, re_evaluation
):
    page, base = browser_page, live_server.url
    today = timezone.localdate()
    county.secretary(county.branch_a, "sec_a")
    member = county.member(county.branch_a, name="失联丁")
    MobilityEpisode.objects.create(
        member=member,
        mobility_type="work",
        left_on=today - timedelta(days=365),
        destination_province="广东省",
    )
    scanning.scan()
    alert = Alert.objects.get(member=member, kind="lost_contact", closed_at__isnull=True)
    member_path = f"/members/{member.pk}/"

    log_in(page, base, "sec_a")
    page.goto(f"{base}/alerts/{alert.pk}/")
    assert "第二十四条" in page.locator("main section.classification").inner_text()
    assert page.locator('a[href="/rules/#lost_contact"]').count() == 1

    # An excused absence from last month's meeting, with who approved it.
    page.goto(f"{base}{member_path}")
    click_and_wait(page, page.locator(f'a[href="/members/{member.pk}/reasons/new/"]'))
    last_month = (today.replace(day=1) - timedelta(days=1)).replace(day=15)
    page.select_option("select[name=kind]", GoodReason.Kind.EXCUSED_ABSENCE)
    page.fill("input[name=starts_on]", last_month.isoformat())
    page.fill("input[name=ends_on]", last_month.isoformat())
    page.fill("input[name=note]", "在深圳加班，请假一次")
    page.fill("input[name=approved_by]", "支部书记")
    click_and_wait(page, page.locator("main form button[type=submit]").first)
    assert page.url.split("#")[0] == f"{base}{member_path}"
    assert GoodReason.objects.filter(member=member, approved_by="支部书记").exists()
    # A reason is not a sign of life: the alert stays open.
    time.sleep(1)
    alert.refresh_from_db()
    assert alert.closed_at is None

    # A dues payment made this week is one.
    page.goto(f"{base}/members/{member.pk}/dues/payment/")
    page.fill("input[name=from_month]", f"{today:%Y-%m}")
    page.fill("input[name=to_month]", f"{today:%Y-%m}")
    page.fill("input[name=amount]", "12.50")
    page.fill("input[name=paid_on]", (today - timedelta(days=2)).isoformat())
    page.select_option("select[name=method]", "wechat")
    click_and_wait(page, page.locator("main form button[type=submit]").first)
    assert DuesPayment.objects.filter(member=member).count() == 1

    assert _closed(alert), f"the alert did not close ({re_evaluation})"
    assert alert.close_reason == "condition_cleared"

    # The member page shows the evidence: the payment as the last sign of life, the excused month.
    page.goto(f"{base}{member_path}")
    standing = page.locator("section#standing").inner_text()
    assert (today - timedelta(days=2)).isoformat() in standing
    life = page.locator("section#life").inner_text()
    assert "在深圳加班，请假一次" in life and f"{last_month:%Y-%m}" in life
    page.goto(f"{base}/alerts/{alert.pk}/")
    assert page.locator(f'a[href="/alerts/{alert.pk}/resolve/"]').count() == 0
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "alert-closed-same-day.png"), full_page=True)
