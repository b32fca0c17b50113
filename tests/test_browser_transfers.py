"""End-to-end: a member leaves, gets an activity certificate, and is transferred to another branch.

Secretary of 甲村党支部 records the departure, issues and prints the certificate, and asks for
the transfer (one form, submitted at once); the township reviewer approves it and issues the
introduction letter; the secretary of 乙村党支部 accepts the member. A second test asks for a
transfer to an organisation that is not listed yet, typed into the same form. Every step goes through the real pages in the
Debian Chromium (/usr/bin/chromium) driven by Playwright against pytest-django's live server.
Skipped on a machine without Chromium, a failure when REQUIRE_SERVICES=1.
"""

import re
from decimal import Decimal

import pytest
from dateutil.relativedelta import relativedelta
from django.utils import timezone

from activities.models import DuesPayment
from members.models import ExternalOrganisation
from transfers.models import ActivityCertificate, MobilityEpisode, RelationshipTransfer

from .browser import ARTIFACTS, log_in

pytestmark = [pytest.mark.browser, pytest.mark.services]


def log_out(page) -> None:
    with page.expect_navigation():
        page.locator(".user-tools").get_by_role("button", name="退出").click()
    assert "/accounts/login/" in page.url
    assert page.locator(".user-tools .who").count() == 0


def click_and_wait(page, locator) -> None:
    with page.expect_navigation():
        locator.click()


def confirm(page) -> None:
    """Press 确认 on an action form and check it was accepted."""
    form = page.locator("main form[method=post]")
    click_and_wait(page, form.get_by_role("button", name="确认", exact=True))
    assert page.locator("main [role=alert]").count() == 0, page.locator("main").inner_text()


def message(page) -> str:
    return page.locator(".messages").inner_text().strip()


def test_member_leaves_gets_certificate_and_is_transferred(live_server, county, browser_page):
    page = browser_page
    base = live_server.url
    today = timezone.localdate()
    county.county.code = "511925"
    county.county.save()
    county.secretary(county.branch_a, "sec_a")
    county.secretary(county.branch_a2, "sec_a2")
    county.reviewer(county.township_a, "rev_a")
    member = county.member(county.branch_a, name="刘流动")
    member_url = f"{base}/members/{member.pk}/"

    # 1. The secretary of 甲村党支部 records that the member left for Shenzhen.
    log_in(page, base, "sec_a")
    page.goto(member_url)
    mobility = page.locator("#mobility")
    assert "暂无流动记录。" in mobility.inner_text()
    click_and_wait(page, mobility.get_by_role("link", name="登记外出", exact=True))
    assert page.url.endswith(f"/members/{member.pk}/left/")
    left_on = today - relativedelta(months=8)
    page.select_option("#id_mobility_type", value="work")
    page.fill("#id_left_on", left_on.isoformat())
    page.select_option("#id_destination_province", value="广东省")
    page.fill("#id_destination_city", "深圳市")
    page.check("#id_is_fixed_place")
    confirm(page)

    assert page.url.split("#")[0] == member_url
    assert message(page) == "外出已登记。"
    mobility = page.locator("#mobility")
    current = mobility.locator("table.data tbody tr.current")
    assert current.count() == 1
    assert "广东省 深圳市" in current.inner_text()
    assert "就业流动" in current.inner_text()
    assert left_on.isoformat() in current.inner_text()
    arrangement = mobility.locator(".classification")
    assert "应转接组织关系" in arrangement.inner_text()
    assert "第二十五条" in arrangement.inner_text()

    # 2. Issue the activity certificate; the form is prefilled from the episode.
    click_and_wait(page, mobility.get_by_role("link", name="发放流动党员活动证", exact=True))
    assert page.url.endswith(f"/members/{member.pk}/certificate/")
    assert page.locator("#id_issued_on").input_value() == today.isoformat()
    assert page.locator("#id_destination").input_value() == "广东省 深圳市"
    assert page.locator("#id_reason").input_value() == "就业流动"
    confirm(page)

    certificate = ActivityCertificate.objects.get(member=member)
    assert page.url == f"{base}/certificates/{certificate.pk}/"
    assert message(page) == "活动证已发放，请打印后交党委盖章。"
    number = page.locator("main h1 .mono").inner_text().strip()
    assert number == certificate.number
    assert number.startswith(f"511925{today.year}")
    assert re.fullmatch(rf"511925{today.year}\d{{4}}", number)

    pdf_link = page.get_by_role("link", name="打印（PDF）", exact=True)
    pdf_url = pdf_link.get_attribute("href")
    assert pdf_url == f"/certificates/{certificate.pk}/pdf/"
    response = page.request.get(f"{base}{pdf_url}")  # shares the browser's session cookie
    assert response.ok
    assert response.headers["content-type"] == "application/pdf"
    assert response.body().startswith(b"%PDF")
    # The link opens the PDF inline (Content-Disposition: inline), not as a download.
    with page.expect_response(f"{base}{pdf_url}") as opened:
        pdf_link.click()
    assert opened.value.ok
    assert opened.value.headers["content-type"] == "application/pdf"
    assert f'filename="certificate-{number}.pdf"' in opened.value.headers["content-disposition"]
    page.goto(f"{base}/certificates/{certificate.pk}/")

    # 3. Back to the member page: ask for the transfer to 乙村党支部, submitted in one step.
    click_and_wait(page, page.locator("main dl.facts").get_by_role("link", name="刘流动"))
    assert page.url == member_url
    mobility = page.locator("#mobility")
    assert number in mobility.inner_text()
    click_and_wait(page, mobility.get_by_role("link", name="转接组织关系", exact=True))
    assert page.url.endswith(f"/members/{member.pk}/transfer/")
    page.select_option("#id_to_organisation", value=str(county.branch_a2.pk))
    page.fill("#id_reason", "在深圳长期就业，就近转入")
    confirm(page)

    transfer = RelationshipTransfer.objects.get(member=member)
    transfer_url = f"{base}/transfers/{transfer.pk}/"
    assert page.url == transfer_url
    assert message(page) == "已提交审核人审批。"
    facts = page.locator("main dl.facts").first
    assert "甲村党支部" in facts.inner_text() and "乙村党支部" in facts.inner_text()
    assert "待审批" in page.locator("main h1 .status").inner_text()
    assert page.get_by_role("link", name="提交审批", exact=True).count() == 0

    # 4. The township reviewer approves and issues the introduction letter.
    log_out(page)
    log_in(page, base, "rev_a")
    page.goto(f"{base}/transfers/")
    waiting = page.locator("section.card", has=page.get_by_role("heading", name="待您审批"))
    assert waiting.count() == 1
    assert "在深圳长期就业" in waiting.inner_text()
    click_and_wait(page, waiting.get_by_role("link", name="刘流动", exact=True))
    assert page.url == transfer_url
    click_and_wait(page, page.get_by_role("link", name="审批同意", exact=True))
    assert page.url.endswith(f"/transfers/{transfer.pk}/approve/")
    page.fill("#id_valid_days", "30")
    page.fill("#id_dues_paid_until", "2026-10")
    confirm(page)

    assert page.url == transfer_url
    assert message(page) == "已审批同意，请打印介绍信。"
    transfer.refresh_from_db()
    letter = transfer.current_letter
    assert transfer.state == RelationshipTransfer.State.APPROVED
    assert re.fullmatch(rf"511925-{today.year}-J\d{{4}}", letter.number)
    letter_facts = page.locator("main dl.facts dd", has=page.locator(".mono", has_text="-J"))
    assert letter_facts.locator(".mono").inner_text().strip() == letter.number
    assert (today + relativedelta(days=30)).isoformat() in letter_facts.inner_text()
    assert "2026-10" in letter_facts.inner_text()
    assert page.get_by_role("link", name="审批同意", exact=True).count() == 0

    # 5. The secretary of 乙村党支部 accepts the member on arrival.
    log_out(page)
    log_in(page, base, "sec_a2")
    page.goto(f"{base}/transfers/")
    coming = page.locator(
        "section.card", has=page.get_by_role("heading", name="转入本组织：党员报到后接收")
    )
    assert coming.count() == 1
    click_and_wait(page, coming.get_by_role("link", name="刘流动", exact=True))
    assert page.url == transfer_url
    click_and_wait(page, page.get_by_role("link", name="接收党员", exact=True))
    assert page.url.endswith(f"/transfers/{transfer.pk}/accept/")
    confirm(page)

    assert page.url == transfer_url
    assert message(page) == "已接收，该党员的组织关系已转入本党支部。"
    assert "已完成" in page.locator("main h1 .status").inner_text()
    click_and_wait(page, page.locator("main dl.facts").get_by_role("link", name="刘流动"))
    assert page.url == member_url
    basic = page.locator("#basic dl.facts")
    home = basic.locator("dt", has_text="所在党支部").locator("xpath=following-sibling::dd[1]")
    assert home.inner_text().strip() == "乙村党支部"

    member.refresh_from_db()
    transfer.refresh_from_db()
    certificate.refresh_from_db()
    assert member.home_branch == county.branch_a2
    assert transfer.state == RelationshipTransfer.State.COMPLETED == "completed"
    assert certificate.status == ActivityCertificate.Status.CANCELLED

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "member-transferred.png"), full_page=True)


def test_secretary_transfers_to_a_new_organisation_the_reviewer_sees_it(
    live_server, county, browser_page
):
    """Issue #17: the receiving organisation is not listed; the secretary types it into the
    transfer form, which submits at once; the reviewer finds the request with that
    organisation, the member's time away and dues, and the letter's month already filled."""
    page = browser_page
    base = live_server.url
    today = timezone.localdate()
    secretary = county.secretary(county.branch_a, "sec_a")
    county.reviewer(county.township_a, "rev_a")
    member = county.member(county.branch_a, name="陈新转")
    MobilityEpisode.objects.create(
        member=member,
        mobility_type="work",
        left_on=today - relativedelta(years=2, months=1),
        destination_province="广东省",
        destination_city="深圳市",
        is_fixed_place=True,
    )
    last_month = (today - relativedelta(months=1)).replace(day=1)
    DuesPayment.objects.create(
        member=member,
        from_month=last_month,
        to_month=last_month,
        amount=Decimal("10.00"),
        paid_to=county.branch_a,
        paid_on=today,
        method="cash",
        recorded_by=secretary,
    )
    assert not ExternalOrganisation.objects.exists()

    # 1. The secretary asks for the transfer to an organisation not in either list.
    log_in(page, base, "sec_a")
    page.goto(f"{base}/members/{member.pk}/")
    mobility = page.locator("#mobility")
    click_and_wait(page, mobility.get_by_role("link", name="转接组织关系", exact=True))
    assert page.url.endswith(f"/members/{member.pk}/transfer/")
    page.fill("#id_new_external_name", "前海社区党委")
    page.fill("#id_new_external_region", "广东省深圳市")
    page.fill("#id_new_external_contact_person", "黄书记")
    page.fill("#id_new_external_phone", "0755-26881234")
    page.fill("#id_reason", "在深圳落户，转入居住地党组织")
    confirm(page)

    transfer = RelationshipTransfer.objects.get(member=member)
    transfer_url = f"{base}/transfers/{transfer.pk}/"
    assert page.url == transfer_url
    assert message(page) == "已提交审核人审批。"
    assert "待审批" in page.locator("main h1 .status").inner_text()
    organisation = ExternalOrganisation.objects.get()
    assert transfer.to_external == organisation
    assert (organisation.name, organisation.region, organisation.phone) == (
        "前海社区党委",
        "广东省深圳市",
        "0755-26881234",
    )

    # 2. The township reviewer finds it waiting, with the new organisation's name.
    log_out(page)
    log_in(page, base, "rev_a")
    page.goto(f"{base}/transfers/")
    waiting = page.locator("section.card", has=page.get_by_role("heading", name="待您审批"))
    assert "前海社区党委（广东省深圳市）" in waiting.inner_text()
    click_and_wait(page, waiting.get_by_role("link", name="陈新转", exact=True))
    assert page.url == transfer_url
    to = page.locator("main dl.facts").first.locator("dd").nth(2)
    assert "前海社区党委（广东省深圳市）" in to.inner_text()
    assert "黄书记" in to.inner_text() and "0755-26881234" in to.inner_text()
    facts = page.locator("#review-facts")
    assert (today - relativedelta(years=2, months=1)).isoformat() in facts.inner_text()
    assert f"{last_month:%Y-%m}" in facts.inner_text() and "甲村党支部" in facts.inner_text()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "transfer-to-new-organisation.png"), full_page=True)

    # 3. Approving: 党费交至 is already the last month paid.
    click_and_wait(page, page.get_by_role("link", name="审批同意", exact=True))
    assert page.locator("#id_dues_paid_until").input_value() == f"{last_month:%Y-%m}"
    confirm(page)
    assert message(page) == "已审批同意，请打印介绍信。"
    transfer.refresh_from_db()
    assert transfer.current_letter.dues_paid_until == last_month
