"""The .xlsx exports on paper and on screen (issue #17): every sheet of the dashboard, yearly and
ledger workbooks opens with a title row (whose figures, as of when) and the date, the header
row below them is frozen, the columns are as wide as their content (a CJK character counts
double, capped), and the ledger still imports back unchanged. Members abroad are a row of their
own, never "未填写" (not given)."""

import io
from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from infrastructure.xlsx import MAX_WIDTH, XlsxBook, display_width
from ledgers import exporting, selectors
from members.models import Member
from transfers.models import MobilityEpisode

from .test_ledger_import import apply, ident, person, plan, xlsx

TODAY = timezone.localdate()


def away(member, *, days=30, province="广东省", city="深圳市", kind="work", country="", **fields):
    return MobilityEpisode.objects.create(
        member=member,
        mobility_type=kind,
        left_on=TODAY - timedelta(days=days),
        destination_country=country,
        destination_province=province,
        destination_city=city,
        occupation="工人",
        **fields,
    )


@pytest.fixture
def scene(county):
    c = county
    c.rev_a = c.reviewer(c.township_a, "rev_a")
    c.sec_a = c.secretary(c.branch_a, "sec_a")
    away(c.member(c.branch_a, name="甲一"), days=40)
    away(c.member(c.branch_a, name="甲二"), days=90, province="浙江省", city="杭州市")
    away(
        c.member(c.branch_a2, name="乙一"), days=100, kind="abroad", province="", city="",
        country="日本",
    )  # fmt: skip
    c.member(c.branch_a, name="甲三")  # at home
    return c


def widths(sheet) -> dict[str, int]:
    """Column letter -> the width the workbook sets, in characters. openpyxl reads <cols> as
    written: neighbouring columns of one width share an element, and XlsxWriter adds the
    padding Excel adds (50 is written 50.71)."""
    found = {}
    for dim in sheet.column_dimensions.values():
        if dim.width:
            for index in range(dim.min, dim.max + 1):
                found[get_column_letter(index)] = int(dim.width)
    return found


def header_row(sheet, first: str) -> int:
    for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
        if row and row[0] == first:
            return number
    raise AssertionError(f"no header starting {first!r} in {sheet.title}")


def get(client, name, **params):
    response = client.get(reverse(name), params)
    assert response.status_code == 200
    return load_workbook(io.BytesIO(response.content))


# --- the writer ------------------------------------------------------------------------------


def test_display_width_counts_cjk_double():
    assert display_width("abc") == 3
    assert display_width("流动党员") == 8
    assert display_width("出国（境）") == 10  # full-width brackets are wide too
    assert display_width("6个月") == 5
    assert display_width(date(2026, 12, 7)) == 10
    assert display_width(12345) == 5
    assert display_width(None) == 0
    assert display_width("第一行\n较长的第二行") == 12


def test_a_sheet_has_title_date_frozen_header_and_widths_by_content():
    book = XlsxBook()
    long_text = "很长的说明" * 30  # 300 columns wide: capped
    rows = ([n, "张三", "广东省深圳市南山区"] for n in range(1, 3001))

    def streamed():
        yield from rows
        yield [3001, "Alexander Hamilton-Smith", long_text]  # the last row still counts

    book.add_sheet(
        "表",
        ["序号", "姓名", "去向"],
        streamed(),
        title="甲镇党委 测试",
        subtitle="导出日期：2026-12-07",
    )
    sheet = load_workbook(io.BytesIO(book.to_bytes()))["表"]
    assert sheet["A1"].value == "甲镇党委 测试" and sheet["A1"].font.b
    assert sheet["A2"].value == "导出日期：2026-12-07"
    assert [c.value for c in sheet[3]] == ["序号", "姓名", "去向"] and sheet["A3"].font.b
    assert sheet.freeze_panes == "A4"  # the title, the date and the header stay in view
    assert sheet.max_row == 3 + 3001
    w = widths(sheet)
    assert 6 <= w["A"] < 10  # "序号" (4) and numbers: a narrow column
    assert w["B"] >= len("Alexander Hamilton-Smith")  # the longest name, from the last row
    assert w["C"] == MAX_WIDTH  # capped
    assert sheet.print_title_rows == "$1:$3"  # title, date and header on every printed page
    assert sheet.page_setup.paperSize == 9  # A4
    # All columns on one page width (fitToWidth 1 is the default, so not written), any length.
    assert sheet.sheet_properties.pageSetUpPr.fitToPage and sheet.page_setup.fitToHeight == 0


def test_cjk_headers_get_twice_their_length():
    book = XlsxBook()
    book.add_sheet("表", ["6个月以上未参加组织生活", "数"], [["甲村党支部", 1]])
    sheet = load_workbook(io.BytesIO(book.to_bytes())).active
    w = widths(sheet)
    assert w["A"] >= display_width("6个月以上未参加组织生活") == 23
    assert sheet.freeze_panes == "A2" and sheet["A1"].value == "6个月以上未参加组织生活"


def test_a_title_wider_than_the_table_widens_its_columns_to_print_whole():
    book = XlsxBook()
    title = "新疆维吾尔自治区乌鲁木齐市天山区委组织部 流动党员统计（截至2026-12-07）"
    book.add_sheet("表", ["类型", "人数"], [["就业", 1]], title=title, subtitle="导出日期")
    sheet = load_workbook(io.BytesIO(book.to_bytes())).active
    assert sum(widths(sheet).values()) >= display_width(title)


# --- the dashboard and yearly workbooks --------------------------------------------------------


def test_every_dashboard_sheet_has_its_title_date_and_frozen_header(scene, client):
    client.force_login(scene.rev_a)
    workbook = get(client, "reports:dashboard_export", org=scene.township_a.pk)
    title = f"甲镇党委 流动党员统计（截至{TODAY.isoformat()}）"
    for sheet in workbook:
        rows = list(sheet.iter_rows(values_only=True))
        assert rows[0][0] == title, sheet.title
        assert rows[1][0] == f"导出日期：{TODAY.isoformat()}", sheet.title
        assert sheet.freeze_panes == "A4", sheet.title
        assert all(w <= MAX_WIDTH for w in widths(sheet).values())
    units = workbook["下级单位"]
    assert header_row(units, "单位") == 3
    names = [row[0] for row in units.iter_rows(min_row=4, values_only=True)]
    assert set(names) == {"甲村党支部", "乙村党支部"}
    w = widths(units)
    assert w["A"] >= display_width("甲村党支部")
    # "6个月未参加组织生活" (19 characters wide) is not squeezed into a default column.
    column = get_column_letter([c.value for c in units[3]].index("6个月未参加组织生活") + 1)
    assert w[column] >= 19
    overview = {row[0]: row[1] for row in workbook["概况"].iter_rows(min_row=4, values_only=True)}
    assert overview["党组织"] == "甲镇党委" and overview["统计日期"] == TODAY.isoformat()


def test_the_dashboard_workbook_says_which_day_its_figures_are_from(
    scene, client, settings, monkeypatch
):
    from reports import live

    settings.DASHBOARD_LIVE_MAX_MEMBERS = 0  # every subtree reads the kept figures
    yesterday = TODAY - timedelta(days=1)
    live.refresh_all(today=yesterday)
    monkeypatch.setattr(live, "INLINE_REFRESH_MAX", 0)  # shown as they are, recounted later
    client.force_login(scene.rev_a)
    workbook = get(client, "reports:dashboard_export", org=scene.township_a.pk)
    sheet = workbook["概况"]
    assert sheet["A1"].value == f"甲镇党委 流动党员统计（截至{yesterday.isoformat()}）"
    assert f"数据统计于{yesterday.isoformat()}，正在重新统计" in sheet["A2"].value
    assert TODAY.isoformat() in sheet["A2"].value  # the day it was exported


def test_the_yearly_workbook_has_title_date_and_frozen_header(scene, client):
    client.force_login(scene.rev_a)
    workbook = get(client, "reports:dashboard_yearly_export", org=scene.township_a.pk)
    for sheet in workbook:
        assert (
            sheet["A1"].value == f"甲镇党委 {TODAY.year}年度流动党员统计（截至{TODAY.isoformat()}）"
        )
        assert sheet["A2"].value == f"导出日期：{TODAY.isoformat()}"
        assert sheet.freeze_panes == "A4"
    assert [c.value for c in workbook["年度统计"][3]] == ["指标", "数值"]


def test_members_abroad_are_their_own_row_in_the_workbooks_never_not_given(scene, client):
    client.force_login(scene.rev_a)
    for name, params in (
        ("reports:dashboard_export", {}),
        ("reports:dashboard_yearly_export", {"year": TODAY.year}),
    ):
        workbook = get(client, name, org=scene.township_a.pk, **params)
        provinces = {
            row[0]: row[1] for row in workbook["流入省份"].iter_rows(min_row=4, values_only=True)
        }
        assert provinces == {"广东省": 1, "浙江省": 1, "出国（境）": 1}, name
        types = {
            row[0]: row[1] for row in workbook["流动类型"].iter_rows(min_row=4, values_only=True)
        }
        assert types["出国（境）"] == 1, name
        cells = [str(c) for s in workbook for row in s.iter_rows(values_only=True) for c in row]
        assert "未填写" not in cells, name


def test_not_given_is_only_for_a_place_really_not_given(scene, client):
    away(scene.member(scene.branch_a, name="甲四"), province="", city="")  # no destination at all
    client.force_login(scene.rev_a)
    workbook = get(client, "reports:dashboard_export", org=scene.township_a.pk)
    provinces = {
        row[0]: row[1] for row in workbook["流入省份"].iter_rows(min_row=4, values_only=True)
    }
    assert provinces["未填写"] == 1 and provinces["出国（境）"] == 1


# --- the ledger ----------------------------------------------------------------------------


def test_the_ledger_export_has_title_date_frozen_header_and_widths(scene, client):
    client.force_login(scene.sec_a)
    response = client.get(reverse("ledgers:export", args=["xlsx"]))
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0].endswith("五清台账")
    assert rows[1][0] == f"导出日期：{TODAY.isoformat()}"
    assert list(rows[2]) == exporting.HEADERS
    assert sorted(row[1] for row in rows[3:]) == ["甲一", "甲二"]
    assert sheet.freeze_panes == "A4"
    w = widths(sheet)
    id_column = get_column_letter(exporting.HEADERS.index("公民身份号码") + 1)
    assert w[id_column] >= 18  # the whole ID number shows
    inflow = get_column_letter(exporting.HEADERS.index("流入党组织") + 1)
    assert 6 <= w[inflow] <= MAX_WIDTH
    assert sheet.page_setup.orientation == "landscape"  # 22 columns


def test_the_ledger_heading_names_the_organisation_and_side():
    assert exporting.ledger_heading(organisation=None, today=date(2026, 12, 7)) == (
        "流动党员五清台账",
        "导出日期：2026-12-07",
    )

    class Branch:
        name = "甲村党支部"

    title, _ = exporting.ledger_heading(organisation=Branch(), side="inflow")
    assert title == "甲村党支部 流入党员五清台账"


@pytest.mark.django_db
def test_a_titled_ledger_export_imports_back_unchanged(county):
    secretary = county.secretary(county.branch_a)
    rows = [
        person(ident(seq=1)),
        person(ident(seq=2), 去向="日本东京都", 流动类型="出国务工", 流入党组织=None),
    ]
    assert apply(xlsx(rows), secretary).ok
    episodes = selectors.ledger_rows(user=secretary, today=TODAY)
    exported = exporting.export_ledger_xlsx(
        episodes.iterator(chunk_size=1), organisation=county.branch_a, side="outflow"
    )
    sheet = load_workbook(io.BytesIO(exported)).active
    assert sheet["A1"].value == "甲村党支部 流出党员五清台账"
    again = plan(exported, secretary)
    assert again.counts["unchanged"] == 2, again.issues + [r.changes for r in again.rows]


def test_the_ledger_export_labels_members_abroad_never_not_given(scene, client):
    client.force_login(scene.rev_a)
    response = client.get(reverse("ledgers:export", args=["xlsx"]))
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    by_name = {row[1]: row for row in rows[3:]}
    abroad = by_name["乙一"]
    assert abroad[exporting.HEADERS.index("流动类型")] == "出国（境）"
    assert abroad[exporting.HEADERS.index("去向")] == "日本"
    assert not any("未填写" in str(cell) for row in rows for cell in row if cell)
    assert Member.objects.filter(name="乙一").exists()
