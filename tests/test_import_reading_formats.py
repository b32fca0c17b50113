"""The sheet reader (python-calamine): .xlsx, .ods and .xls give the same rows, with the values
the old streaming .xlsx reader gave; broken, oversized and bomb-like files are refused."""

import io
import re
import subprocess
import zipfile
from datetime import date, datetime, time
from xml.sax.saxutils import escape

import pytest
import xlsxwriter
import xlwt
from openpyxl import Workbook

from ledgers import imports as importing
from ledgers.imports import reading, sandbox
from ledgers.imports.rows import _parse_row
from members.models import Member
from transfers.models import MobilityEpisode

from .test_ledger_import import HEADERS, _rewrite_zip, apply, ident, person, plan, xlsx

PHONE = 13800138000  # typed as a number: Excel keeps it as the float 13800138000.0


def ledger() -> list[dict]:
    """Three members, with date cells and a phone number typed as a number."""
    return [
        person(ident(seq=1), 姓名="张一", 手机号码=PHONE, 入党日期=date(2010, 7, 1)),
        person(ident(seq=2), 姓名="张二", 流出时间=datetime(2024, 5, 1), 转正日期="2011-07-01"),
        person(ident(seq=3), 姓名="张三", 手机号码=PHONE + 1, 流出时间=date(2024, 6, 2)),
    ]


def table_of(rows: list[dict]) -> list[list]:
    """The header row and the data rows as written by xlsx(): 序号 is a number."""
    return [HEADERS] + [
        [number if h == "序号" else row.get(h) for h in HEADERS]
        for number, row in enumerate(rows, start=1)
    ]


def xls(rows: list[list]) -> bytes:
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("台账")
    day = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    for r, values in enumerate(rows):
        for c, value in enumerate(values):
            if isinstance(value, date):
                sheet.write(r, c, value, day)
            elif value is not None:
                sheet.write(r, c, value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


ODS_NAMESPACES = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
)


def _ods_cell(value) -> str:
    if value is None:
        return "<table:table-cell/>"
    if isinstance(value, date):
        kind, attribute = "date", f'office:date-value="{value:%Y-%m-%d}"'
        shown = f"{value:%Y-%m-%d}"
    elif isinstance(value, int | float):
        kind, attribute, shown = "float", f'office:value="{value}"', str(value)
    else:
        kind, attribute, shown = "string", "", str(value)
    return (
        f'<table:table-cell office:value-type="{kind}" {attribute}>'
        f"<text:p>{escape(shown)}</text:p></table:table-cell>"
    )


def ods(rows: list[list], active: str = "") -> bytes:
    """A minimal OpenDocument spreadsheet (what LibreOffice and WPS write, less the styles)."""
    body = "".join(
        "<table:table-row>" + "".join(_ods_cell(v) for v in values) + "</table:table-row>"
        for values in rows
    )
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ODS_NAMESPACES} '
        'office:version="1.2"><office:body><office:spreadsheet>'
        f'<table:table table:name="台账">{body}</table:table>'
        "</office:spreadsheet></office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest='
        '"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/" manifest:media-type='
        '"application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        # ODF: "mimetype" first and stored, so the kind shows in the first bytes.
        archive.writestr(
            zipfile.ZipInfo("mimetype"),
            "application/vnd.oasis.opendocument.spreadsheet",
            compress_type=zipfile.ZIP_STORED,
        )
        archive.writestr("META-INF/manifest.xml", manifest)
        archive.writestr("content.xml", content)
    return buffer.getvalue()


def files(rows: list[dict]) -> dict[str, bytes]:
    return {"xlsx": xlsx(rows), "ods": ods(table_of(rows)), "xls": xls(table_of(rows))}


def parsed(content: bytes, name: str) -> list:
    table = reading._open_table(content, name)
    today = date(2025, 1, 1)
    return [
        (number, values, _parse_row(number, values, table, today, from_xlsx=True))
        for number, values in reading._data_rows(table)
    ]


# --- the same ledger in every format -----------------------------------------------------------


def test_every_format_gives_the_same_rows_and_values():
    made = files(ledger())
    assert {kind: reading._kind_of(content, "台账") for kind, content in made.items()} == {
        "xlsx": "xlsx",
        "ods": "ods",
        "xls": "xls",
    }
    expected = parsed(made["xlsx"], "台账.xlsx")
    assert [number for number, _, _ in expected] == [2, 3, 4]  # the rows Excel shows
    _, values, row = expected[0]
    assert values[HEADERS.index("手机号码")] == PHONE and type(values[6]) is int
    assert values[HEADERS.index("入党日期")] == datetime(2010, 7, 1)  # a date cell: a datetime
    assert (row.phone, row.joined_on, row.left_on) == (
        "13800138000",
        date(2010, 7, 1),
        date(2024, 5, 1),
    )
    assert expected[2][2].left_on == date(2024, 6, 2)
    for kind in ("ods", "xls"):
        assert parsed(made[kind], f"台账.{kind}") == expected, kind


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["xlsx", "ods", "xls"])
def test_every_format_plans_and_imports_the_same(county, county_secretary, kind):
    content = files(ledger())[kind]
    preview = plan(content, county_secretary, name=f"台账.{kind}")
    assert preview.ok, preview.issues
    assert [(r.row, r.action, r.name) for r in preview.rows] == [
        (2, "create", "张一"),
        (3, "create", "张二"),
        (4, "create", "张三"),
    ]
    assert apply(content, county_secretary, name=f"台账.{kind}").ok
    first = Member.objects.get(name="张一")
    assert (first.phone, first.joined_on) == ("13800138000", date(2010, 7, 1))
    left = {e.member.name: e.left_on for e in MobilityEpisode.objects.select_related("member")}
    assert left == {"张一": date(2024, 5, 1), "张二": date(2024, 5, 1), "张三": date(2024, 6, 2)}


@pytest.fixture
def county_secretary(county):
    return county.secretary(county.branch_a)


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["xlsx", "ods", "xls"])
def test_a_bad_cell_is_reported_on_the_row_the_user_sees(county, county_secretary, kind):
    rows = ledger()
    rows[1]["手机号码"] = 12345
    content = files(rows)[kind]
    issues = plan(content, county_secretary, name=f"台账.{kind}").issues
    assert [(i.row, i.column) for i in issues] == [(3, "手机号码")]


# --- values as the old streaming reader gave them ---------------------------------------------


def test_cell_values_keep_the_old_readers_types():
    book = Workbook()
    sheet = book.active
    sheet.append(["标题"])
    sheet.append([])
    sheet.append(["姓名", "数字", "小数", "身份证", "日期", "时间", "真假", "空", "零"])
    sheet.append(["李四", PHONE, 2024.05, 1.1010519850314e17, datetime(2024, 5, 1, 8, 30)])
    sheet["F4"], sheet["G4"], sheet["I4"] = time(12, 0), True, 0
    sheet["F4"].number_format = "h:mm"
    buffer = io.BytesIO()
    book.save(buffer)
    rows = list(next(reading._workbook_sheets(buffer.getvalue(), "xlsx")))
    assert rows == [
        (1, ("标题",)),  # the empty row 2 is skipped; numbers stay those the user sees
        (3, ("姓名", "数字", "小数", "身份证", "日期", "时间", "真假", "空", "零")),
        (
            4,
            (
                "李四",
                PHONE,  # a whole number: an int, as the old reader read "13800138000"
                2024.05,
                1.1010519850314e17,  # past 15 digits: a float, so the ID is explained
                datetime(2024, 5, 1, 8, 30),
                datetime(1899, 12, 30, 12, 0),  # a time cell, from Excel's day zero
                True,
                None,
                0,
            ),
        ),
    ]
    assert [type(v) for v in rows[2][1][1:4]] == [int, float, float]


def test_chinese_builtin_date_formats_are_dates():
    """Chinese Excel stores 2024年5月1日 as number format 31, which openpyxl does not know."""
    book = Workbook()
    sheet = book.active
    sheet.append(["姓名", "入党日期"])
    sheet.append(["张三", datetime(2010, 7, 1)])
    sheet["B2"].number_format = "yyyy/m/d"
    buffer = io.BytesIO()
    book.save(buffer)

    def builtin_31(name, data):
        if name == "xl/styles.xml":
            text = re.sub(r"<numFmts.*?</numFmts>", "", data.decode(), flags=re.S)
            return re.sub(r'numFmtId="16\d"', 'numFmtId="31"', text).encode()
        return data

    content = _rewrite_zip(buffer.getvalue(), builtin_31)
    rows = list(next(reading._workbook_sheets(content, "xlsx")))
    assert rows[1] == (2, ("张三", datetime(2010, 7, 1)))


def test_the_sheet_the_file_was_saved_on_is_read_first():
    book = Workbook()
    first = book.active
    first.append(HEADERS)
    first.append([1, "张一"])
    second = book.create_sheet("第二页")
    second.append(HEADERS)
    second.append([1, "李二"])
    book.active = 1
    buffer = io.BytesIO()
    book.save(buffer)
    table = reading._open_table(buffer.getvalue(), "台账.xlsx")
    assert next(table.rows)[1][1] == "李二"


def test_the_kind_comes_from_the_bytes():
    assert reading._kind_of(_rewrite_zip(xlsx([]), lambda n, d: d), "a.csv") == "xlsx"
    xlsb = io.BytesIO()
    with zipfile.ZipFile(xlsb, "w") as archive:
        archive.writestr("xl/workbook.bin", b"\x83\x01\x00")
    assert reading._kind_of(xlsb.getvalue(), "a.xlsx") == "xlsb"
    assert reading._kind_of(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "a.xlsx") == "xls"
    assert reading._kind_of("姓名,性别\n".encode(), "a.xls") == "csv"  # WPS's text ".xls"
    with pytest.raises(reading.Unreadable):
        reading._kind_of(b"not a zip", "a.ods")


# --- refused files ----------------------------------------------------------------------------


def _zip_of(**parts: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "content, name",
    [
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "台账.xlsx"),  # a picture named .xlsx
        (_zip_of(**{"readme.txt": b"hello"}), "台账.xlsx"),  # a zip, not a workbook
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "台账.xls"),  # a broken .xls
        (b"%PDF-1.4 not a sheet", "台账.ods"),
        (ods([["姓名"]])[:200], "台账.ods"),  # cut short
    ],
)
def test_a_file_that_is_not_a_spreadsheet_is_unreadable(county, county_secretary, content, name):
    result = plan(content, county_secretary, name=name)
    assert [i.message for i in result.issues] == [importing.CORRUPT_XLSX]
    assert result.rows == []
    assert importing.count_rows(content=content, file_name=name) == 0


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["xlsx", "ods", "xls"])
def test_the_row_limit_still_refuses_an_oversized_sheet(county, county_secretary, kind, settings):
    settings.IMPORT_MAX_ROWS = 5
    rows = [person(ident(seq=n), 姓名=f"张{n}") for n in range(1, 7)]
    result = plan(files(rows)[kind], county_secretary, name=f"台账.{kind}")
    assert result.rows == [] and len(result.issues) == 1
    assert "超过5行" in result.issues[0].message


@pytest.mark.django_db
def test_far_more_rows_than_the_limit_are_refused_before_calamine_reads_them(
    county, county_secretary, settings
):
    settings.IMPORT_MAX_ROWS = 5
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer)
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, HEADERS)
    for number in range(1, 3 * 5 + 1000 + 2):
        sheet.write_row(number, 0, [number, f"张{number}"])
    book.close()
    result = plan(buffer.getvalue(), county_secretary)
    assert [i.message for i in result.issues] == [reading.OVER_LIMIT.format(limit=5)]


def _sparse(*cells: str) -> bytes:
    book = Workbook()
    for reference in cells:
        book.active[reference] = "姓名"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "content",
    [
        _sparse("A1", "XFD1048576"),  # Excel's first and last cells: a 550 GB grid
        _sparse("A1", "IV65536"),  # an .xls-sized grid, 1 GB in calamine
    ],
)
def test_a_few_cells_far_apart_are_refused_without_harm(content, settings):
    """calamine allocates the whole grid between two cells; in the reader's child process
    that fails within its memory limit, and the upload is refused with a message."""
    settings.IMPORT_READER_MEMORY_MB = 512
    with pytest.raises(reading.Unreadable, match="表格过大"):
        reading._open_table(content, "台账.xlsx")


def test_a_shared_string_copied_into_many_cells_is_refused(settings):
    settings.IMPORT_READER_MEMORY_MB = 200
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer)
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, ["姓名", "公民身份号码", "手机号码"])
    for number in range(1, 20_001):
        sheet.write_string(number, 0, "长" * 5000)  # one string, 20,000 copies: 300 MB
    book.close()
    with pytest.raises(reading.Unreadable, match="表格过大"):
        reading._open_table(buffer.getvalue(), "台账.xlsx")


def test_a_reader_that_does_not_finish_in_time_is_stopped(settings, monkeypatch):
    """A sleeping child stands in for a parser that loops (the child's CPU limit stops a real
    one; the parent's timeout stops one that waits)."""
    settings.IMPORT_READER_SECONDS = 1

    run = subprocess.run

    def sleeper(*args, **kwargs):
        return run(["/bin/sleep", "5"], **kwargs)

    monkeypatch.setattr(sandbox.subprocess, "run", sleeper)
    with pytest.raises(reading.Unreadable, match="表格过大"):
        reading._open_table(xlsx(ledger()), "台账.xlsx")


def test_text_that_cannot_be_stored_is_cleaned():
    book = Workbook()
    book.active.append(["姓名", "李_x0000_四", "_xD83D__xDE00_", "a_x000D_b"])
    buffer = io.BytesIO()
    book.save(buffer)
    rows = list(next(reading._workbook_sheets(buffer.getvalue(), "xlsx")))
    assert rows == [(1, ("姓名", "李四", "😀", "a\rb"))]


def test_an_ods_as_libreoffice_writes_it_is_read():
    """LibreOffice repeats empty cells and rows to the sheet's end: 16,384 by 1,048,576."""
    rows = table_of(ledger()[:1])
    content = ods(rows)
    empty_to_the_end = (
        '<table:table-cell table:number-columns-repeated="16000"/></table:table-row>'
        '<table:table-row table:number-rows-repeated="1048570">'
        '<table:table-cell table:number-columns-repeated="16384"/></table:table-row>'
    )

    def pad(name, data):
        if name == "content.xml":
            return data.replace(
                b"</table:table-row></table:table>", empty_to_the_end.encode() + b"</table:table>"
            )
        return data

    padded = _rewrite_zip(content, pad)
    assert b'number-rows-repeated="1048570"' in zipfile.ZipFile(io.BytesIO(padded)).read(
        "content.xml"
    )
    assert (
        parsed(padded, "台账.ods") == parsed(content, "台账.ods") == parsed(xlsx(ledger()[:1]), "a")
    )


def test_a_repeated_ods_cell_standing_for_a_huge_grid_is_refused():
    # 822 bytes that calamine would turn into 20 million cells (2.5 GB) without the check.
    cell = '<table:table-cell table:number-columns-repeated="1000" office:value-type="string">'
    body = f"{cell}<text:p>x</text:p></table:table-cell>"
    content = ods([["姓名"]])

    def repeat(name, data):
        if name == "content.xml":
            row = f'<table:table-row table:number-rows-repeated="20000">{body}</table:table-row>'
            return data.replace(b"</table:table>", row.encode() + b"</table:table>")
        return data

    with pytest.raises(reading.Unreadable, match="表格过大"):
        reading._open_table(_rewrite_zip(content, repeat), "台账.ods")


def test_the_reader_reads_what_openpyxl_reads():
    """What test_ledger_import checked of the old reader: the values openpyxl reads."""
    from openpyxl import load_workbook

    book = Workbook()  # the normal writer: shared strings, styles, formulas
    sheet = book.active
    sheet.append(["标题"])
    sheet.append(["姓名", "数字", "小数", "日期", "真假", "公式", "空"])
    sheet.append(["张三 & 李四 <b>", PHONE, 2024.05, datetime(2024, 5, 1), True, "=1+1", None])
    sheet.append([" 有空格 ", 0, -1.5, date(1999, 12, 31), False, None, None])
    sheet["B5"] = "隔一行"
    buffer = io.BytesIO()
    book.save(buffer)
    got = list(next(reading._workbook_sheets(buffer.getvalue(), "xlsx")))
    expected_sheet = load_workbook(buffer, read_only=True, data_only=True).active
    expected_sheet.reset_dimensions()

    def strip(values):  # openpyxl pads rows with None
        values = list(values)
        while values and values[-1] is None:
            values.pop()
        return tuple(values)

    expected = enumerate(expected_sheet.iter_rows(values_only=True), start=1)
    assert got == [(n, strip(v)) for n, v in expected if strip(v)]


def test_the_upload_form_takes_old_excel_and_ods_and_preselects_the_only_branch(client, county):
    from django.urls import reverse

    secretary = county.secretary(county.branch_a, "one_branch")
    client.force_login(secretary)
    page = client.get(reverse("ledgers:import_upload"))
    form = page.context["form"]
    assert form.fields["branch"].initial == county.branch_a.pk
    assert ".xls," in form.fields["file"].widget.attrs["accept"]
    book = xlwt.Workbook()
    sheet = book.add_sheet("台账")
    for column, header in enumerate(["姓名", "公民身份号码"]):
        sheet.write(0, column, header)
    buffer = io.BytesIO()
    book.save(buffer)
    buffer.name = "台账.xls"
    buffer.seek(0)
    response = client.post(reverse("ledgers:import_upload"), {"file": buffer})
    assert not response.context.get("form") or not response.context["form"].errors, (
        response.context["form"].errors
    )
    assert [t.name for t in response.templates][0] == "ledgers/import_preview.html"
    assert response.context["plan"].rows == []  # read: a header and no member rows
