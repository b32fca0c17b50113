"""Screenshots for the README, from a running demo (`make run`, or any server with the demo):

    .venv/bin/python docs/screenshots/capture.py http://127.0.0.1:8000

The home page of the demo secretary, the printed report (first page, rendered to PDF by
Chromium as a reviewer prints it) and the self-report page at phone size. Needs Playwright and
/usr/bin/chromium (the test extra installs Playwright; CI installs Chromium).
"""

import io
import re
import sys
from pathlib import Path

import pypdfium2
from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent
PASSWORD = "liudong-demo"  # noqa: S105 - the demo password the README prints


def log_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("form button[type=submit].primary")


def main(base: str) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox"]
        )
        laptop = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        log_in(laptop, base, "secretary")
        laptop.goto(f"{base}/")
        laptop.screenshot(path=HERE / "home.png", full_page=False)

        # The self-report link of a member away who has not reported this month.
        reported = laptop.locator("a[href*='#ledger']").first.get_attribute("href")
        laptop.goto(f"{base}/mobile/")
        links = laptop.locator("table a[href^='/members/']").evaluate_all(
            "links => links.map(link => link.getAttribute('href'))"
        )
        for member in (href for href in links if not reported.startswith(href)):
            laptop.goto(f"{base}{member}")
            if laptop.locator("#self-report-link").count():  # ours, not one we host
                break
        link = laptop.locator("#self-report-link").input_value()
        phone = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
        phone.goto(re.sub(r"^https?://[^/]+", base, link))
        phone.screenshot(path=HERE / "self-report-phone.png", full_page=True)

        reviewer = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        log_in(reviewer, base, "reviewer")
        reviewer.goto(f"{base}/dashboard/")
        reviewer.goto(reviewer.url.replace("/dashboard/", "/dashboard/print/"))
        pdf = reviewer.pdf(format="A4", print_background=True, prefer_css_page_size=True)
        first = pypdfium2.PdfDocument(io.BytesIO(pdf))[0]
        first.render(scale=1.5).to_pil().save(HERE / "report-print.png")
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1].rstrip("/") if len(sys.argv) > 1 else "http://127.0.0.1:8000")
