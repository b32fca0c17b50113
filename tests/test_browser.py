"""End-to-end: a secretary finds a member, edits the phone number and sees it in the history.

Drives the Debian Chromium (/usr/bin/chromium) through Playwright against pytest-django's
live server. Skipped on a machine without Chromium, a failure when REQUIRE_SERVICES=1.
"""

import os
from pathlib import Path

import pytest
from django.db import connections

from .conftest import require_service

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
PASSWORD = "correct-horse-battery"

pytestmark = [pytest.mark.browser, pytest.mark.services]


@pytest.fixture
def browser_page(monkeypatch):
    require_service("Chromium", os.path.exists(CHROMIUM), f"{CHROMIUM} not found")
    # Playwright's sync API runs an event loop in this thread, so Django would refuse the
    # test's ordinary ORM calls. Allow them for this test only: set for the whole session,
    # the variable leaks into `manage.py check --deploy` subprocesses (async.E001).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        # An English-language browser: the interface must still default to Chinese.
        context = browser.new_context(locale="en-US")
        page = context.new_page()
        page.set_default_timeout(10_000)
        try:
            yield page
        finally:
            context.close()
            browser.close()
            # Inside sync_playwright() Django's connection handler sees another context and
            # opens its own connections; close them here or PostgreSQL cannot drop the
            # test database at the end of the session.
            connections.close_all()


def log_in(page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    submit = page.locator("form button[type=submit].primary")
    assert submit.inner_text().strip() == "登录"
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        submit.click()
    assert "/accounts/login/" not in page.url, "login failed"


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
