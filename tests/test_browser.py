"""End-to-end: a secretary finds a member, edits the phone number and sees it in the history.

Drives the Debian Chromium (/usr/bin/chromium) through Playwright against pytest-django's
live server. Skipped on a machine without Chromium, a failure when REQUIRE_SERVICES=1.
"""

import pytest

from .browser import ARTIFACTS, log_in

pytestmark = [pytest.mark.browser, pytest.mark.services]


def test_secretary_finds_member_edits_phone_and_sees_history(live_server, county, browser_page):
    page = browser_page
    county.secretary(county.branch_a, "sec")
    member = county.member(county.branch_a, name="王建国", phone="13800138000")
    county.member(county.branch_a, name="王建华")
    county.member(county.branch_a, name="李四")
    county.member(county.branch_b, name="王建军")  # same name prefix, another township

    log_in(page, live_server.url, "sec")

    # Search the member list by name.
    page.goto(f"{live_server.url}/members/")
    assert page.locator("main h1").inner_text().strip() == "党员"
    page.fill("input[name=q]", "王建")
    with page.expect_navigation():
        page.click("form[role=search] button[type=submit]")
    results = page.locator("table.data tbody")
    assert results.get_by_role("link", name="王建国").count() == 1
    assert results.get_by_role("link", name="王建华").count() == 1
    assert "李四" not in results.inner_text()
    assert "王建军" not in page.content()
    assert member.national_id not in page.content()
    assert member.national_id_masked in results.inner_text()

    # Open the member from the results.
    with page.expect_navigation():
        results.get_by_role("link", name="王建国").click()
    assert page.url.endswith(f"/members/{member.pk}/")
    assert member.national_id not in page.content()
    assert page.locator("#national-id").inner_text().strip() == member.national_id_masked

    # Edit the phone number.
    with page.expect_navigation():
        page.get_by_role("link", name="编辑", exact=True).click()
    assert page.url.endswith(f"/members/{member.pk}/edit/")
    assert member.national_id not in page.content()
    assert page.locator("#id_national_id_input").input_value() == ""
    page.fill("#id_phone", "13912345678")
    with page.expect_navigation():
        page.get_by_role("button", name="保存").click()

    # Back on the member page: the new number and the history row.
    assert page.url.endswith(f"/members/{member.pk}/")
    assert page.locator(".messages").inner_text().strip() == "王建国的信息已保存。"
    history = page.locator("#history")
    row = history.locator("tbody tr", has=page.locator(".change", has_text="13912345678"))
    assert row.count() == 1
    change = row.locator(".change", has_text="13912345678")
    assert "13800138000 → 13912345678" in change.inner_text()
    assert "联系电话" in change.inner_text()
    assert row.locator("td").nth(1).inner_text().strip() == "sec"
    assert member.national_id not in page.content()
    assert member.national_id_masked in page.content()

    member.refresh_from_db()
    assert member.phone == "13912345678"

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "member-phone-edited.png"), full_page=True)


def test_invalid_phone_shows_chinese_error_and_changes_nothing(live_server, county, browser_page):
    page = browser_page
    county.secretary(county.branch_a, "sec")
    member = county.member(county.branch_a, name="王建国", phone="13800138000")

    log_in(page, live_server.url, "sec")
    page.goto(f"{live_server.url}/members/{member.pk}/edit/")
    page.fill("#id_phone", "12345")
    with page.expect_navigation():
        page.get_by_role("button", name="保存").click()

    assert page.url.endswith(f"/members/{member.pk}/edit/")
    field = page.locator(".field", has=page.locator("#id_phone"))
    error = field.locator(".field-error")
    assert error.count() == 1
    assert "请输入11位大陆手机号码" in error.inner_text()
    assert page.locator("#id_phone").input_value() == "12345"
    assert member.national_id not in page.content()

    member.refresh_from_db()
    assert member.phone == "13800138000"
