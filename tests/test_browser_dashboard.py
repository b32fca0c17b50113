"""End-to-end: a county reviewer drills into a township, follows a figure, downloads the .xlsx.

Drives the Debian Chromium (/usr/bin/chromium) through Playwright against pytest-django's
live server. Skipped on a machine without Chromium, a failure when REQUIRE_SERVICES=1.
Elements are found by href, id and class, never by (translatable) Chinese interface text.
"""

import io
from datetime import timedelta

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from transfers.models import MobilityEpisode

from .browser import ARTIFACTS, log_in

pytestmark = [pytest.mark.browser, pytest.mark.services]

EXPORT_SHEETS = ["概况", "流动类型", "流入省份", "管理方式", "预警", "下级单位", "流动去向"]


def away(member, *, days: int, province: str = "广东省", city: str = "深圳市") -> None:
    """A current (open) mobility episode."""
    MobilityEpisode.objects.create(
        member=member,
        mobility_type="work",
        left_on=timezone.localdate() - timedelta(days=days),
        destination_province=province,
        destination_city=city,
        occupation="工人",
    )


def test_reviewer_drills_into_township_follows_figure_and_downloads_xlsx(
    live_server, county, browser_page
):
    page = browser_page
    c = county
    c.reviewer(c.county, "rev")
    a_members = [c.member(c.branch_a, name=name) for name in ("甲一", "甲二", "甲三")]
    away(a_members[0], days=40)
    away(a_members[1], days=90)
    b_members = [c.member(c.branch_b, name=name) for name in ("丙一", "丙二")]
    away(b_members[0], days=60, province="浙江省", city="杭州市")
    a, b = c.township_a, c.township_b

    log_in(page, live_server.url, "rev")

    # The county dashboard lists both townships; drill into township A.
    page.goto(f"{live_server.url}/dashboard/")
    units = page.locator("table.unit-table")
    drill_a = units.locator(f'a[href="/dashboard/?org={a.pk}"]')
    assert drill_a.count() == 1
    assert units.locator(f'a[href="/dashboard/?org={b.pk}"]').count() == 1
    with page.expect_navigation():
        drill_a.click()

    # Township A's dashboard: its name in the h1, no row (or link) for township B.
    assert page.url.endswith(f"/dashboard/?org={a.pk}")
    heading = page.locator("main h1").inner_text()
    assert a.name in heading and b.name not in heading
    assert page.locator('[data-figure="members"]').inner_text().strip() == "3"
    assert page.locator('[data-figure="mobile"]').inner_text().strip() == "2"
    units = page.locator("table.unit-table")
    units_text = units.inner_text()
    assert c.branch_a.name in units_text and c.branch_a2.name in units_text
    assert b.name not in units_text and c.branch_b.name not in units_text
    assert page.locator(f'a[href="/dashboard/?org={b.pk}"]').count() == 0
    assert b.name not in page.locator("main").inner_text()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard-township.png"), full_page=True)
    dashboard_url = page.url

    # The members figure opens the member list filtered to township A's active members.
    members_href = f"/members/?branch={a.pk}&status=active"
    figure = page.locator(f'a.figure[href="{members_href}"]')
    assert figure.count() == 1
    with page.expect_navigation():
        figure.click()
    assert page.url.endswith(members_href)
    listed = page.locator("table.data tbody")
    for member in a_members:
        assert listed.locator(f'a[href="/members/{member.pk}/"]').count() == 1
        assert member.name in listed.inner_text()
    for member in b_members:
        assert listed.locator(f'a[href="/members/{member.pk}/"]').count() == 0
        assert member.name not in page.content()
    assert listed.locator("tr").count() == len(a_members)

    # Back on township A's dashboard, download the .xlsx through the export link.
    page.go_back()
    page.wait_for_url(dashboard_url)
    export_href = f"/dashboard/export.xlsx?org={a.pk}"
    export = page.locator(f'a[href="{export_href}"]')
    assert export.count() == 1
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        with page.expect_download() as info:
            export.click()
        download = info.value
    except PlaywrightTimeout:
        download = None
    if download is not None:
        assert download.failure() is None
        assert download.suggested_filename.startswith(f"dashboard-{a.pk}-")
        assert download.suggested_filename.endswith(".xlsx")
        content = download.path().read_bytes()  # a temporary name without .xlsx
    else:
        # Chromium opened the file inline instead of downloading it: fetch it directly.
        response = page.request.get(f"{live_server.url}{export_href}")
        assert response.ok
        assert "attachment" in response.headers.get("content-disposition", "")
        content = response.body()

    workbook = load_workbook(io.BytesIO(content), read_only=True)
    assert workbook.sheetnames == EXPORT_SHEETS
    today = timezone.localdate().isoformat()
    for sheet in workbook:  # a title row (whose figures, as of when) and the date (#17)
        title, date_line = (row[0] for row in sheet.iter_rows(max_row=2, values_only=True))
        assert title == f"{a.name} 流动党员统计（截至{today}）", sheet.title
        assert today in date_line, sheet.title
    cells = [
        str(cell)
        for sheet in workbook
        for row in sheet.iter_rows(values_only=True)
        for cell in row
        if cell is not None
    ]
    workbook.close()
    assert a.name in cells
    assert c.branch_a.name in cells and c.branch_a2.name in cells
    assert not any(b.name in cell for cell in cells)
    assert not any(c.branch_b.name in cell for cell in cells)
    assert not any("杭州" in cell for cell in cells)  # B's member's destination
