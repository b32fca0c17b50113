"""In Chromium (#17): the secretary's first screen and a destination typed as people write it.

The home page opens with what to do today; its first serious alert's action leads to the
contact form, and a reached contact closes the alert the same day. A departure typed as
"广东深圳", with no province chosen, is recorded as 广东省 深圳市.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts import scanning
from alerts.models import Alert
from transfers.models import MobilityEpisode

from .browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.services]


def test_the_first_screen_leads_to_the_action_that_settles_it(
    live_server, county, browser_page, eager_celery
):
    page, base = browser_page, live_server.url
    today = timezone.localdate()
    county.secretary(county.branch_a, "sec_a")
    silent = county.member(county.branch_a, name="失联甲")
    MobilityEpisode.objects.create(
        member=silent,
        mobility_type="temporary",
        left_on=today - timedelta(days=400),
        destination_province="广东省",
    )
    scanning.scan()
    log_in(page, base, "sec_a")
    page.goto(f"{base}/")
    today_list = page.locator("section.today")
    serious = today_list.locator(".task-serious ol.tasks li")
    assert "失联甲" in serious.first.inner_text()
    first = serious.filter(has_text="失联6个月")
    # What to do comes before the figures.
    assert page.locator("h2").first.inner_text() == "今日待办"
    with page.expect_navigation():
        first.locator("a.button").click()
    assert page.url.endswith(f"/members/{silent.pk}/contacts/new/")
    page.fill("#id_on", today.isoformat())
    page.select_option("#id_channel", value="phone")
    page.check("#id_reached")
    with page.expect_navigation():
        page.locator("main form[method=post] button[type=submit]").first.click()
    alert = Alert.objects.get(member=silent, kind="lost_contact")
    assert alert.closed_at is not None  # the same day, not after the night's scan
    page.goto(f"{base}/")
    closed = page.locator("section.today .task-serious li").filter(has_text="失联6个月")
    assert closed.count() == 0


def test_a_destination_typed_as_people_write_it(live_server, county, browser_page):
    page, base = browser_page, live_server.url
    county.secretary(county.branch_a, "sec_a")
    member = county.member(county.branch_a, name="出门乙")
    log_in(page, base, "sec_a")
    page.goto(f"{base}/members/{member.pk}/left/")
    page.select_option("#id_mobility_type", value="work")
    page.fill("#id_left_on", (timezone.localdate() - timedelta(days=30)).isoformat())
    page.fill("#id_destination_city", "广东深圳")
    with page.expect_navigation():
        page.locator("main form[method=post]").get_by_role(
            "button", name="确认", exact=True
        ).click()
    episode = MobilityEpisode.objects.get(member=member)
    assert (episode.destination_province, episode.destination_city) == ("广东省", "深圳市")
