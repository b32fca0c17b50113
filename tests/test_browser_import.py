"""End-to-end: a secretary imports a ledger sheet, fixes a broken row and sees the members.

Drives the Debian Chromium (/usr/bin/chromium) through Playwright against pytest-django's
live server. Skipped on a machine without Chromium, a failure when REQUIRE_SERVICES=1.
"""

import re
from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from ledgers.models import LedgerImport
from members import national_id
from members.models import Member
from transfers.models import MobilityEpisode

from .browser import ARTIFACTS, log_in

HEADERS = [
    "姓名",
    "性别",
    "出生日期",
    "公民身份号码",
    "手机号码",
    "所在党支部",
    "入党日期",
    "流出时间",
    "去向",
    "职业",
]
NAMES = ["赵一鸣", "钱二宝", "孙三妹"]

pytestmark = [pytest.mark.browser, pytest.mark.services]


def ident(seq: int) -> str:
    first17 = f"110105{date(1985, 3, 14):%Y%m%d}{seq:03d}"
    return first17 + national_id.check_char(first17)


def data_row(seq: int, name: str, **changes) -> list:
    values = {
        "姓名": name,
        "性别": "男",
        "出生日期": "1985-03-14",
        "公民身份号码": ident(seq),
        "手机号码": f"139001390{seq:02d}",
        "所在党支部": "甲村党支部",
        "入党日期": "2010-07-01",
        "流出时间": "2024年5月",
        "去向": "广东省深圳市南山区",
        "职业": "快递员",
    }
    values.update(changes)
    return [values[h] for h in HEADERS]


def write_sheet(path: Path, rows: list[list]) -> Path:
    workbook = Workbook()
    worksheet = workbook.active
    worksheet.append(["甲村党支部流动党员五清台账"])  # a title row above the header
    worksheet.append(HEADERS)
    for values in rows:
        worksheet.append(values)
    workbook.save(path)
    return path


def upload(page, base_url: str, path: Path) -> None:
    page.goto(f"{base_url}/ledger/import/")
    assert page.locator("main h1").inner_text().strip() == "导入电子表格"
    page.set_input_files("input[type=file]", str(path))
    submit = page.locator("form[enctype='multipart/form-data'] button[type=submit]")
    assert submit.inner_text().strip() == "检查文件"
    with page.expect_navigation():
        submit.click()
    assert page.locator("main h1").inner_text().strip().startswith("导入预览")


def test_secretary_fixes_a_broken_row_and_imports_the_sheet(
    live_server, county, browser_page, tmp_path
):
    page = browser_page
    county.secretary(county.branch_a, "sec_a")
    log_in(page, live_server.url, "sec_a")
    sheet = tmp_path / "甲村党支部台账.xlsx"

    # The first attempt: the second data row has a phone number that is too short.
    write_sheet(
        sheet,
        [
            data_row(1, NAMES[0]),
            data_row(2, NAMES[1], 手机号码="12345"),
            data_row(3, NAMES[2]),
        ],
    )
    upload(page, live_server.url, sheet)

    # Two ways out: fix the file and upload it again (taken here), or import the rest now.
    assert page.locator("ol.import-choice > li").count() == 2
    issues = page.locator("table.issues tbody tr")
    assert issues.count() == 1
    cells = issues.first.locator("td")
    assert cells.nth(0).inner_text().strip() == "4"  # title row, header row, 2nd data row
    assert cells.nth(1).inner_text().strip() == "手机号码"
    problem = cells.nth(2).inner_text()
    assert "12345" in problem
    assert "格式不对" in problem and "请输入11位大陆手机号码" in problem
    assert "将新增2条" in page.locator(".result-count").inner_text()
    assert "1条有错误" in page.locator(".result-count").inner_text()
    # No way to import the whole file: the only form is the choice to leave the broken row out.
    assert page.locator("form[action$='/apply/']").count() == 1
    assert page.locator("form[action$='/apply/'] button[name=skip_broken]").count() == 1
    assert page.get_by_role("button", name="立即导入").count() == 0
    assert page.get_by_role("link", name="上传更正后的文件").count() == 1
    assert not Member.objects.exists()
    assert not MobilityEpisode.objects.exists()

    # The corrected sheet.
    write_sheet(sheet, [data_row(seq, name) for seq, name in enumerate(NAMES, start=1)])
    upload(page, live_server.url, sheet)

    assert page.locator("table.issues").count() == 0
    assert page.locator(".result-count").inner_text().strip() == (
        "将新增3条，更新0条，0条无变化，0条有错误。"
    )
    assert page.locator("tr.action-create").count() == 3
    assert not Member.objects.exists()  # the preview writes nothing
    apply_form = page.locator("form[action$='/apply/']")
    assert apply_form.count() == 1
    button = apply_form.locator("button[type=submit]")
    assert button.inner_text().strip() == "立即导入"
    with page.expect_navigation():
        button.click()

    # The result page of this import.
    applied = LedgerImport.objects.get(status=LedgerImport.Status.APPLIED)
    assert re.search(rf"/ledger/import/{applied.pk}/$", page.url)
    result = page.locator("main").inner_text()
    assert "已导入" in result
    assert "新增3条，更新0条，0条无变化。" in result

    # The members are in the ledger.
    page.goto(f"{live_server.url}/ledger/")
    ledger = page.locator("table.ledger tbody")
    for name in NAMES:
        assert ledger.get_by_role("link", name=name, exact=True).count() == 1
    assert ledger.inner_text().count("广东省 深圳市 南山区") == 3
    assert ident(2) not in page.content()

    members = Member.objects.filter(home_branch=county.branch_a)
    assert sorted(members.values_list("name", flat=True)) == sorted(NAMES)
    assert Member.objects.count() == 3
    assert members.get(name=NAMES[1]).phone == "13900139002"
    current = MobilityEpisode.objects.filter(member__in=members, ended_on__isnull=True)
    assert sorted(current.values_list("member__name", flat=True)) == sorted(NAMES)
    assert all(episode.left_on == date(2024, 5, 1) for episode in current)

    jobs = LedgerImport.objects.order_by("started_at", "pk")
    assert [job.status for job in jobs] == [
        LedgerImport.Status.PREVIEWED,
        LedgerImport.Status.APPLIED,
    ]
    broken, done = jobs
    assert broken.file_name == done.file_name == "甲村党支部台账.xlsx"
    assert broken.rows_total == 3 and broken.finished_at is None
    assert [(e["row"], e["column"]) for e in broken.errors] == [(4, "手机号码")]
    assert broken.file_sha256 != done.file_sha256
    assert (done.created, done.updated, done.unchanged, done.errors) == (3, 0, 0, [])
    assert done.rows_total == done.rows_done == 3 and done.finished_at is not None

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ledger-imported.png"), full_page=True)


def test_secretary_imports_the_rows_without_errors_and_keeps_the_broken_one(
    live_server, county, browser_page, tmp_path
):
    """Issue #17: 3 good rows and 1 broken; the secretary imports the 3 now and downloads the
    broken one in the sheet's own layout, with 错误原因, to fix and upload later."""
    page = browser_page
    county.secretary(county.branch_a, "sec_a")
    log_in(page, live_server.url, "sec_a")
    sheet = write_sheet(
        tmp_path / "甲村党支部台账.xlsx",
        [
            data_row(1, NAMES[0]),
            data_row(2, "周四海", 手机号码="12345"),
            data_row(3, NAMES[1]),
            data_row(4, NAMES[2]),
        ],
    )
    upload(page, live_server.url, sheet)

    # The preview: the problem, and the explicit choice between the two ways.
    assert page.locator("table.issues tbody tr").count() == 1
    choices = page.locator("ol.import-choice > li")
    assert choices.count() == 2
    assert choices.nth(0).get_by_role("link", name="上传更正后的文件").count() == 1
    button = choices.nth(1).locator("form[action$='/apply/'] button[name=skip_broken]")
    label = button.inner_text()  # "导入没有错误的3行…": no \b between a character and a digit
    assert re.search(r"(?<!\d)3(?!\d)", label) and re.search(r"(?<!\d)1(?!\d)", label)
    assert not Member.objects.exists()  # nothing yet
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ledger-import-choice.png"), full_page=True)
    with page.expect_navigation():
        button.click()

    # The result: three imported, one left out, and the way to the broken row.
    job = LedgerImport.objects.get()
    assert re.search(rf"/ledger/import/{job.pk}/$", page.url)
    result = page.locator("main")
    assert "已导入" in result.inner_text()
    assert "新增3条，更新0条，0条无变化。" in result.inner_text()
    assert page.locator(".import-outcome .rows-imported").inner_text().strip() == "3"
    assert page.locator(".import-outcome .rows-left-out").inner_text().strip() == "1"
    assert sorted(Member.objects.values_list("name", flat=True)) == sorted(NAMES)
    assert (job.status, job.skip_broken, job.rows_imported, job.rows_left_out) == (
        LedgerImport.Status.APPLIED,
        True,
        3,
        1,
    )

    # The broken row, in the layout of the sheet uploaded, with what is wrong at the end.
    with page.expect_download() as download_info:
        page.locator("main a[href$='?layout=sheet']").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".xlsx")
    saved = tmp_path / "待更正.xlsx"
    download.save_as(saved)
    rows = list(load_workbook(saved).active.iter_rows(values_only=True))
    assert rows[0][0] == "甲村党支部流动党员五清台账"  # the title row, as uploaded
    assert list(rows[1]) == [*HEADERS, "错误原因"]
    assert len(rows) == 3
    broken = dict(zip(rows[1], rows[2], strict=True))
    assert broken["姓名"] == "周四海" and broken["手机号码"] == "12345"
    assert broken["公民身份号码"] == ident(2)
    assert broken["错误原因"].startswith("手机号码：") and "12345" in broken["错误原因"]

    page.screenshot(path=str(ARTIFACTS / "ledger-imported-partly.png"), full_page=True)
