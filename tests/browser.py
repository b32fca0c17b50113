"""Shared pieces of the browser tests: Debian's Chromium driven by Playwright.

Browser downloads (`playwright install`) do not work here, so Playwright launches
/usr/bin/chromium. The `browser_page` fixture lives in conftest.py.
"""

from pathlib import Path

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


def log_in(page, base_url: str, username: str) -> None:
    """Log in through the real form; the page must be Chinese whatever the browser's language."""
    page.goto(f"{base_url}/accounts/login/")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    submit = page.locator("form button[type=submit].primary")
    assert submit.inner_text().strip() == "登录"
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        submit.click()
    assert "/accounts/login/" not in page.url, "login failed"
    assert username in page.locator(".user-tools .who").inner_text()
