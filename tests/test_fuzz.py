"""Property-based fuzzing of bad input: the ID validator, dates, header detection, whole imports.

No unhandled exception, no 500, no partial write; every rejected file says why in Chinese.
Each test adds its examples to RUN; the last test prints the total ("fuzz cases run").
"""

import codecs
import csv
import html
import io
import random
import re
import tracemalloc
import zipfile
from collections import Counter
from datetime import date, datetime
from functools import cache
from xml.sax.saxutils import escape

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.urls import reverse
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from ledgers import imports as importing
from ledgers.imports import BadValue, apply_import, parse_date, plan_import
from ledgers.models import ContactAttempt, LedgerImport, LedgerRecord
from members import national_id
from members.models import ExternalOrganisation, Member
from transfers.models import MobilityEpisode

from .test_ledger_import import HEADERS, ident, person

RUN: Counter = Counter()  # examples run per test, reported by the last test
OUTCOMES: Counter = Counter()  # imports written or refused: both sides of the property ran
CJK = re.compile(r"[\u3400-\u9fff]")
DB_SETTINGS = settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


def _count(name: str) -> None:
    RUN[name] += 1


# --- 1. the ID validator -----------------------------------------------------------------------

ID_ALPHABET = st.sampled_from(
    list("0123456789xX ")
    + list("０１２３４５６７８９Ｘｘ")
    + ["²", "①", "٣", "\u3000", "\xa0", "Ⅻ"]
)


def valid_ids():
    return st.builds(
        lambda region, born, seq: (
            (first17 := f"{region}{born:%Y%m%d}{seq:03d}") + national_id.check_char(first17)
        ),
        st.integers(min_value=100000, max_value=899999),
        st.dates(min_value=date(1900, 1, 1), max_value=date.today()),
        st.integers(min_value=0, max_value=999),
    )


@settings(max_examples=300, deadline=None)
@given(value=st.one_of(st.text(), st.text(ID_ALPHABET, min_size=15, max_size=21)))
@example(value="1101051949123100፩X")  # int("፩") raised ValueError in the check digit sum
@example(value="1101051949123100٣X")  # an Arabic-Indic digit was accepted and stored
@example(value="１１０１０５１９４９１２３１００２Ｘ")  # full-width, as a Chinese IME types it
def test_any_text_is_a_valid_id_or_a_validation_error(value):
    _count("id_text")
    try:
        number = national_id.validate(value)
    except ValidationError as error:
        assert error.code in {"length", "characters", "region", "birth_date", "check_digit"}
        return
    assert re.fullmatch(r"[1-8]\d{16}[\dX]", number), number  # ASCII only, ready to store
    assert national_id.check_char(number[:17]) == number[17]
    assert national_id.validate(number) == number


@settings(max_examples=200, deadline=None)
@given(number=valid_ids(), style=st.sampled_from(["plain", "lower", "spaced", "full-width"]))
def test_every_valid_id_passes_however_it_is_typed(number, style):
    _count("id_valid")
    typed = {
        "plain": number,
        "lower": number.lower(),
        "spaced": f" {number[:6]} {number[6:14]} {number[14:]} ",
        "full-width": number.translate(FULL_WIDTH),
    }[style]
    assert national_id.validate(typed) == number
    assert national_id.birth_date_of(number) is not None


@settings(max_examples=300, deadline=None)
@given(
    number=valid_ids(),
    position=st.integers(min_value=0, max_value=17),
    replacement=st.sampled_from("0123456789X"),
    swap=st.booleans(),
)
def test_a_single_typing_mistake_is_always_caught(number, position, replacement, swap):
    """GB 11643's MOD 11-2 check catches every single substitution and adjacent swap."""
    _count("id_typo")
    if swap:
        position = min(position, 16)
        typo = number[:position] + number[position + 1] + number[position] + number[position + 2 :]
    else:
        typo = number[:position] + replacement + number[position + 1 :]
    if typo == number:
        return
    with pytest.raises(ValidationError) as raised:
        national_id.validate(typo)
    assert raised.value.code in {"characters", "region", "birth_date", "check_digit"}


# --- 2. dates ------------------------------------------------------------------------------------

ANY_CELL = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**6), max_value=10**9),
    st.floats(),
    st.floats(min_value=1800, max_value=2200),
    st.datetimes(),
    st.dates(),
    st.text(),
    st.text(st.sampled_from("0123456789０１２３-/.年月日号 :T")),
)


@settings(max_examples=400, deadline=None)
@given(value=ANY_CELL, from_xlsx=st.booleans())
@example(value=float("nan"), from_xlsx=True)
@example(value=99999.99, from_xlsx=True)
def test_parse_date_returns_a_date_or_explains(value, from_xlsx):
    _count("date_any")
    try:
        parsed, precise = parse_date(value, from_xlsx=from_xlsx)
    except BadValue as error:
        assert CJK.search(str(error)), error
        return
    assert isinstance(parsed, date) and isinstance(precise, bool)
    if not isinstance(value, date):  # typed dates are the user's; parsed ones are 1900 or later
        assert parsed.year >= 1900


FULL_FORMATS = (
    "{d:%Y-%m-%d}",
    "{d.year}/{d.month}/{d.day}",
    "{d:%Y.%m.%d}",
    "{d.year}年{d.month}月{d.day}日",
    "{d.year}年{d.month}月{d.day}号",
    "{d:%Y%m%d}",
    "{d:%Y-%m-%d} 08:30",
    "{d:%Y-%m-%d}T08:30:15.5",
)
MONTH_FORMATS = (
    "{d:%Y-%m}",
    "{d.year}/{d.month}",
    "{d:%Y.%m}",
    "{d.year}年{d.month}月",
    "{d:%Y%m}",
)


@settings(max_examples=300, deadline=None)
@given(
    day=st.dates(min_value=date(1900, 1, 1), max_value=date(9999, 12, 31)),
    fmt=st.sampled_from(FULL_FORMATS + MONTH_FORMATS + ("float", "serial", "datetime")),
    full_width=st.booleans(),
)
def test_every_documented_date_format_round_trips(day, fmt, full_width):
    _count("date_format")
    if fmt == "datetime":
        assert parse_date(datetime.combine(day, datetime.min.time())) == (day, True)
        return
    if fmt == "serial":  # a date cell that lost its format: Excel's serial day number
        serial = (day - date(1899, 12, 30)).days
        if 10000 <= serial < 100000:
            assert parse_date(serial, from_xlsx=True) == (day, True)
        return
    if fmt == "float":  # Excel turned a typed 2024.05 into a number
        value = float(f"{day:%Y.%m}")
        if day.month == 10:  # 2024.1: January or October? Asked, not guessed.
            with pytest.raises(BadValue, match="10"):
                parse_date(value, from_xlsx=True)
        else:
            assert parse_date(value, from_xlsx=True) == (day.replace(day=1), False)
        return
    text = fmt.format(d=day)
    if full_width:
        text = text.translate(FULL_WIDTH)
    expected = (day, True) if fmt in FULL_FORMATS else (day.replace(day=1), False)
    assert parse_date(text) == expected, text


# --- 3. header detection -------------------------------------------------------------------------

JUNK = st.one_of(
    st.none(),
    st.integers(),
    st.text(max_size=30),
    st.sampled_from(["某村党支部流动党员五清台账", "填报单位：", "2024年", "序号", "备注", "合计"]),
).filter(lambda cell: importing.field_of_header(cell) is None)


@st.composite
def header_rows(draw):
    """(header cells, {field: index}) with aliases, decorations, shuffled and junk columns."""
    optional = [name for name in importing.ALIASES if name not in ("name", "national_id")]
    fields = ["name", "national_id"] + draw(
        st.lists(st.sampled_from(optional), min_size=1, max_size=8, unique=True)
    )
    cells = []
    for name in fields:
        alias = draw(st.sampled_from(importing.ALIASES[name]))
        decorated = draw(
            st.sampled_from(["{}", " {} ", "*{}", "{}*", "{}:", "{}（必填）", "{}(如2024-05-01)"])
        )
        if draw(st.booleans()):
            alias = " ".join(alias)  # 姓 名: spaced out to fit the column
        cells.append((name, decorated.format(alias)))
    cells += [(None, junk) for junk in draw(st.lists(JUNK, max_size=4))]
    cells = draw(st.permutations(cells))
    return [cell for _name, cell in cells], {
        name: index for index, (name, _cell) in enumerate(cells) if name
    }


@settings(max_examples=300, deadline=None)
@given(
    header=header_rows(),
    titles=st.lists(st.lists(JUNK, max_size=6), max_size=12),
    after=st.lists(st.lists(JUNK, max_size=8), max_size=5),
)
def test_the_header_is_found_under_titles_or_not_at_all(header, titles, after):
    _count("header")
    cells, positions = header
    rows = [*titles, cells, *after]
    table = importing.reading._find_header(iter(enumerate((tuple(row) for row in rows), start=1)))
    if len(titles) >= importing.HEADER_SEARCH_ROWS:
        assert table is None
        return
    assert table is not None and table.header_row == len(titles) + 1
    assert {name: columns[0][0] for name, columns in table.columns.items()} == positions
    assert list(table.rows) == list(enumerate(map(tuple, after), start=len(titles) + 2))


NO_HEADER = "找不到表头"


@settings(DB_SETTINGS, max_examples=30)
@given(
    header=header_rows(),
    # Rows with a cell: an .xlsx does not hold empty rows, so they do not count towards ten.
    titles=st.lists(
        st.lists(JUNK.filter(lambda cell: cell is not None and str(cell)), min_size=1, max_size=4),
        max_size=12,
    ),
    kind=st.sampled_from(["xlsx", "csv"]),
)
def test_a_whole_file_finds_its_header_or_says_it_has_none(county, header, titles, kind):
    _count("header_file")
    cells, _positions = header
    rows = [*titles, cells, ["李四", ident()]]
    if kind == "xlsx":
        content = xlsx_of(
            [[ILLEGAL_CHARACTERS_RE.sub("", str(cell)) for cell in row] for row in rows]
        )
    else:
        buffer = io.StringIO()
        csv.writer(buffer).writerows(rows)
        content = buffer.getvalue().encode()
    user = county.secretary(county.branch_a, "header-fuzz")
    result = plan_import(content=content, file_name=f"台账.{kind}", user=user)
    said = [issue.message for issue in result.file_issues]
    user.delete()
    if len(titles) >= importing.HEADER_SEARCH_ROWS:
        assert len(said) == 1 and said[0].startswith(NO_HEADER)
    else:
        assert not any(NO_HEADER in message for message in said), said


# --- 4. whole imports ------------------------------------------------------------------------------


def _totals() -> dict[str, int]:
    models = (Member, MobilityEpisode, LedgerRecord, ExternalOrganisation)
    totals = {model.__name__: model.objects.count() for model in models}
    totals |= {f"history of {m.__name__}": m.history.count() for m in models}
    totals["ContactAttempt"] = ContactAttempt.objects.count()
    return totals


def check_import(content: bytes, file_name: str, user) -> importing.ImportPlan:
    """Plan and apply in a savepoint that is rolled back; assert the properties of issue #9."""
    with transaction.atomic():
        before = _totals()
        preview = plan_import(content=content, file_name=file_name, user=user)
        assert _totals() == before, "the preview wrote"
        result = apply_import(content=content, file_name=file_name, user=user)
        after = _totals()
        assert (result.ok, result.counts) == (preview.ok, preview.counts)
        for issue in result.issues:
            assert CJK.search(issue.message), issue
            issue.message.encode("utf-8")  # no lone surrogate: the page can show it
            issue.column.encode("utf-8")
            assert "\x00" not in issue.message + issue.column  # PostgreSQL refuses NUL
            if issue.row:
                assert issue.column, issue
        for plan_row in result.rows:
            assert plan_row.row >= 1
            plan_row.name.encode("utf-8")
            assert "\x00" not in plan_row.name
            assert (plan_row.action == "error") == bool(plan_row.issues)
        if not result.ok:
            assert result.issues
            assert after == before, "a refused file wrote"
        else:
            assert after["Member"] - before["Member"] == result.counts["create"]
            if not result.counts["create"] + result.counts["update"]:
                assert after == before, "an unchanged file wrote"
        transaction.set_rollback(True)
    RUN["import"] += 1
    OUTCOMES["written" if result.ok else "refused"] += 1
    return result


def xlsx_of(rows: list[list], titles: tuple = ()) -> bytes:
    book = Workbook()
    sheet = book.active
    for title in titles:
        sheet.append([title])
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def good_row(seq: int) -> list:
    cells = person(ident(seq=seq), 姓名=f"李{'一二三四五六七八九十'[seq % 10]}")
    return [seq if h == "序号" else cells.get(h) for h in HEADERS]


XLSX_CELL = st.one_of(
    st.none(),
    st.integers(min_value=-(10**15), max_value=10**15),
    st.floats(allow_nan=False, allow_infinity=False),
    st.dates(min_value=date(1900, 3, 1)),
    st.booleans(),
    st.text(st.characters(exclude_categories=["Cc", "Cs"]), max_size=40),
    st.sampled_from(["是", "否", "男", "女", "2024-05", "2024年5月", "预备党员", "甲村党支部"]),
)


@st.composite
def sheet_rows(draw, cell=XLSX_CELL):
    """Good rows with some cells replaced by random values."""
    rows = []
    for seq in range(1, draw(st.integers(min_value=1, max_value=6)) + 1):
        row = good_row(seq)
        for index in draw(st.lists(st.integers(0, len(HEADERS) - 1), max_size=4, unique=True)):
            row[index] = draw(cell)
        rows.append(row)
    return rows


@pytest.fixture
def secretary(county):
    return county.secretary(county.branch_a)


@DB_SETTINGS
@given(rows=sheet_rows())
def test_an_xlsx_with_random_cells_is_imported_or_refused_whole(secretary, rows):
    check_import(xlsx_of([HEADERS, *rows]), "台账.xlsx", secretary)


@pytest.mark.django_db
def test_a_good_sheet_passes_the_same_checks(secretary):
    """The properties hold for a clean file too (and check_import can see writes)."""
    result = check_import(xlsx_of([HEADERS, good_row(1), good_row(2)]), "台账.xlsx", secretary)
    assert result.ok and result.counts["create"] == 2
    shared = base_xlsx()  # what the corruptions start from: Excel's shared strings, all good
    assert b"sharedStrings" in shared and b"inlineStr" not in zipfile.ZipFile(
        io.BytesIO(shared)
    ).read("xl/worksheets/sheet1.xml")
    assert "李二".encode() in zipfile.ZipFile(io.BytesIO(shared)).read("xl/sharedStrings.xml")
    result = check_import(shared, "台账.xlsx", secretary)
    assert result.ok and [row.name for row in result.rows] == ["李二", "李三", "李四"]


def _rezip(content: bytes, change) -> bytes:
    """Rewrite each member of a zip through change(name, data) (None drops the member)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            data = change(info.filename, source.read(info))
            if data is not None:
                target.writestr(info, data)
    return out.getvalue()


# _xHHHH_ escapes give any code point, NUL and lone surrogates included.
ESCAPES = st.sampled_from(["_x0000_", "_xD800_", "_xDFFF_", "_x0001_", "_x001F_", "_xFFFE_"])


@st.composite
def escaped_text(draw):
    parts = draw(st.lists(st.one_of(ESCAPES, st.sampled_from(["李", "1", "是", " "])), max_size=6))
    return "".join(parts) or "_x0000_"


INLINE = re.compile(rb'<c r="([A-Z]+[0-9]+)"([^>]*) t="inlineStr"><is><t>([^<]*)</t></is></c>')


def with_shared_strings(content: bytes) -> bytes:
    """openpyxl writes inline strings; Excel writes a shared string table. Make it Excel's."""
    strings: list[bytes] = []

    def share(match):  # as plain UTF-8 (openpyxl may write &#26576; or 某), so tests can edit
        strings.append(escape(html.unescape(match.group(3).decode())).encode())
        return b'<c r="%s"%s t="s"><v>%d</v></c>' % (match[1], match[2], len(strings) - 1)

    def change(name, data):
        if name == "xl/worksheets/sheet1.xml":
            return INLINE.sub(share, data)
        if name == "xl/_rels/workbook.xml.rels":
            return data.replace(
                b"</Relationships>",
                b'<Relationship Id="rIdS" Target="sharedStrings.xml" Type="http://schemas.'
                b'openxmlformats.org/officeDocument/2006/relationships/sharedStrings"/>'
                b"</Relationships>",
            )
        if name == "[Content_Types].xml":
            return data.replace(
                b"</Types>",
                b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.'
                b'openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
            )
        return data

    out = _rezip(content, change)
    table = b"".join(b"<si><t>%s</t></si>" % text for text in strings)
    buffer = io.BytesIO(out)
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.writestr(
            "xl/sharedStrings.xml",
            b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            + table
            + b"</sst>",
        )
    return buffer.getvalue()


@cache
def base_xlsx() -> bytes:
    """Three good rows under a title, strings shared as Excel writes them; made once (openpyxl
    stamps the time into each file, and Hypothesis needs the same bytes every time)."""
    rows = [HEADERS, *[good_row(seq) for seq in range(1, 4)]]
    return with_shared_strings(xlsx_of(rows, titles=("某村台账",)))


@st.composite
def corrupted_xlsx(draw):
    base = base_xlsx()
    how = draw(
        st.sampled_from(
            ["truncate", "flip", "drop", "garbage", "wrong-xml", "strings", "escapes", "refs"]
        )
    )
    if how == "truncate":
        return base[: draw(st.integers(min_value=0, max_value=len(base) - 1))]
    if how == "flip":
        data = bytearray(base)
        for _ in range(draw(st.integers(min_value=1, max_value=8))):
            position = draw(st.integers(min_value=0, max_value=len(data) - 1))
            data[position] ^= 1 << draw(st.integers(min_value=0, max_value=7))
        return bytes(data)
    names = zipfile.ZipFile(io.BytesIO(base)).namelist()
    victim = draw(st.sampled_from(names))
    if how == "drop":
        return _rezip(base, lambda name, data: None if name == victim else data)
    if how == "garbage":
        junk = draw(st.binary(max_size=200))
        return _rezip(base, lambda name, data: junk if name == victim else data)
    if how == "wrong-xml":
        junk = draw(
            st.sampled_from(
                [
                    b"<html><body>not a sheet</body></html>",
                    b"<?xml version='1.0'?><worksheet><sheetData><row><c r='A1' t='s'>",
                    b"<a>&undefined;</a>",
                    b"<x><![CDATA[",
                    b'<?xml version="1.0" encoding="gbk"?><x>\xc0\xee</x>',
                ]
            )
        )
        return _rezip(base, lambda name, data: junk if name == victim else data)
    if how == "strings":  # shared strings cut short, or an index beyond them
        keep = draw(st.integers(min_value=0, max_value=30))

        def cut(name, data):
            if name == "xl/sharedStrings.xml":
                items = data.split(b"<si>")
                return b"<si>".join(items[: keep + 1]) + (b"" if keep + 1 >= len(items) else b"")
            if name == "xl/worksheets/sheet1.xml":
                return data.replace(b"<v>0</v>", b"<v>99999</v>", 1)
            return data

        return _rezip(base, cut)
    if how == "escapes":  # NUL and lone surrogates through Excel's own escape
        texts = [draw(escaped_text()) for _ in range(3)]

        def inject(name, data):
            if name.endswith(".xml"):
                for target, text in zip(["李二", "李三", "甲村党支部"], texts, strict=True):
                    data = data.replace(target.encode(), text.encode())
            return data

        return _rezip(base, inject)
    # refs: cell references and values no spreadsheet program writes
    ref = draw(st.sampled_from(['r="A0"', 'r="1"', 'r="XFDXFDXFD2"', 'r="a2"', 'r="ZZZZZZ2"']))
    value = draw(st.sampled_from(["<v>1e400</v>", "<v>x</v>", "<v>-1</v>", "<v></v>"]))

    def refs(name, data):
        if name == "xl/worksheets/sheet1.xml":
            data = data.replace(b'r="B3"', ref.encode(), 1)
            data = re.sub(rb'(<c r="E3"[^>]*>)<v>[^<]*</v>', rb"\1" + value.encode(), data)
        return data

    return _rezip(base, refs)


def _in_sheet(old: bytes, new: bytes) -> bytes:
    return _rezip(
        base_xlsx(), lambda name, data: data.replace(old, new, 1) if name.endswith(".xml") else data
    )


def _newer_zip_version() -> bytes:
    data = bytearray(base_xlsx())
    data[data.index(b"PK\x01\x02") + 6] = 235  # "needs zip version 23.5"
    return bytes(data)


@DB_SETTINGS
@given(content=corrupted_xlsx())
@example(content=b"PK\x03\x04")
@example(content=_newer_zip_version())  # NotImplementedError from zipfile: a 500
@example(content=_in_sheet("李二".encode(), b"_x0000_"))  # NUL: PostgreSQL refused the write
@example(content=_in_sheet("甲村党支部".encode(), b"_xD800_"))  # a lone surrogate: a 500
@example(content=_in_sheet(b'r="B3"', b'r="ZZZZZ3"'))  # a row of 12 million cells
@example(content=b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1old excel")
def test_a_corrupted_xlsx_is_refused_with_a_reason(secretary, content):
    check_import(content, "台账.xlsx", secretary)


@pytest.mark.django_db
def test_a_cell_beyond_excels_last_column_is_refused_without_filling_memory(secretary):
    content = _in_sheet(b'r="B3"', b'r="ZZZZZ3"')  # column 12,356,630; Excel stops at XFD
    tracemalloc.start()
    try:
        result = plan_import(content=content, file_name="台账.xlsx", user=secretary)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [issue.message for issue in result.issues] == [importing.reading.TOO_BIG]
    assert peak < 20 * 1024 * 1024  # the reader's child process took the blow, not this one


@pytest.mark.django_db
def test_a_zip_that_claims_a_newer_version_is_read(secretary):
    """zipfile refused it (a 500 once); calamine reads it like Excel does."""
    result = plan_import(content=_newer_zip_version(), file_name="台账.xlsx", user=secretary)
    assert result.ok


def test_escaped_characters_that_cannot_be_stored_are_dropped():
    unescape = importing.reading.sandbox._unescape
    assert unescape("李_x0000_四") == "李四"
    assert unescape("_xD800_甲_xDFFF_") == "甲"
    assert unescape("_xD83D__xDE00_") == "😀"  # an escaped pair is one character
    assert unescape("A_x000D_B") == "A\rB"


@DB_SETTINGS
@given(content=st.binary(max_size=2000), name=st.sampled_from(["台账.xlsx", "台账.csv", "x"]))
@example(content=b"", name="台账.csv")
def test_random_bytes_are_refused_with_a_reason(secretary, content, name):
    result = check_import(content, name, secretary)
    assert not result.ok or not content.startswith(b"PK")


CSV_CELL = st.one_of(
    st.text(max_size=30),
    st.text(st.sampled_from("李王是否男女0123456789-/年月,;\t\"'\r\n "), max_size=20),
)


@st.composite
def csv_files(draw):
    rows = [HEADERS] + draw(sheet_rows(cell=CSV_CELL))
    rows = [["" if cell is None else str(cell) for cell in row] for row in rows]
    if draw(st.booleans()):  # ragged: rows cut short or running on
        rows = [
            row[: draw(st.integers(0, len(row)))] + draw(st.lists(CSV_CELL, max_size=3))
            for row in rows
        ]
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=draw(st.sampled_from([",", "\t", ";"]))).writerows(rows)
    text = buffer.getvalue()
    trouble = draw(st.sampled_from(["none", "nul", "huge", "quote"]))
    if trouble == "nul":
        at = draw(st.integers(0, len(text)))
        text = text[:at] + "\x00" + text[at:]
    elif trouble == "huge":  # beyond the csv module's field size limit
        text = text.replace("李", "李" * 140_000, 1)
    elif trouble == "quote":
        text = text.replace(",", ',"', 1)
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16", "big5"]))
    return codecs.encode(text, encoding, errors="replace")


@DB_SETTINGS
@given(content=csv_files())
def test_a_csv_in_any_encoding_with_any_damage_is_imported_or_refused(secretary, content):
    result = check_import(content, "台账.csv", secretary)
    assert all(issue.message != importing.CORRUPT_XLSX for issue in result.issues)


# --- through the browser: never a 500 ----------------------------------------------------------


def _corruptions() -> dict[str, tuple[bytes, str]]:
    """name -> (content, what the first issue says)."""
    base = base_xlsx()
    rng = random.Random(9)
    flipped = bytearray(base)
    for _ in range(20):
        flipped[rng.randrange(len(flipped))] ^= 0xFF
    headers = ",".join(HEADERS)
    return {
        "truncated.xlsx": (base[: len(base) // 2], importing.CORRUPT_XLSX),
        "flipped.xlsx": (bytes(flipped), importing.CORRUPT_XLSX),
        "far-column.xlsx": (_in_sheet(b'r="B3"', b'r="ZZZZZ3"'), importing.reading.TOO_BIG),
        "no-strings.xlsx": (
            _rezip(base, lambda n, d: None if n == "xl/sharedStrings.xml" else d),
            importing.CORRUPT_XLSX,
        ),
        "nul-name.xlsx": (_in_sheet("李二".encode(), b"_x0000_"), "姓名未填写"),
        "surrogate.xlsx": (_in_sheet("甲村党支部".encode(), b"_xD800_"), "党支部"),
        "random.csv": (bytes(rng.randrange(256) for _ in range(3000)), "无法"),
        "utf16.csv": (headers.encode("utf-16"), importing.UNKNOWN_ENCODING),
        "nul.csv": (headers.encode() + b"\n\x00,\x00\n", "无法读取文件"),
        "huge.csv": ((headers + "\n" + "李" * 200_000).encode(), importing.CORRUPT_CSV),
    }


@pytest.mark.parametrize("name", list(_corruptions()))
def test_the_upload_page_explains_a_corrupted_file(client, county, name):
    client.force_login(county.secretary(county.branch_a))
    content, says = _corruptions()[name]
    upload = SimpleUploadedFile(name, content)
    response = client.post(reverse("ledgers:import_upload"), {"file": upload})
    RUN["view"] += 1
    assert response.status_code == 200
    plan = response.context["plan"]
    assert not plan.ok and response.context["token"] == ""
    assert says in plan.issues[0].message and CJK.search(plan.issues[0].message)
    assert says in response.content.decode()
    assert LedgerImport.objects.get().errors  # the refusal is recorded, with its reasons
    assert Member.objects.count() == 0


@pytest.mark.parametrize("name", ["truncated.xlsx", "surrogate.xlsx", "utf16.csv", "huge.csv"])
def test_the_import_command_refuses_a_corrupted_file_with_its_reason(county, tmp_path, name):
    county.secretary(county.branch_a, "sec_cmd")
    content, says = _corruptions()[name]
    path = tmp_path / name
    path.write_bytes(content)
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_ledger", str(path), "--user", "sec_cmd", stdout=out, stderr=out)
    RUN["command"] += 1
    assert says in out.getvalue()
    assert Member.objects.count() == 0


# --- the figure for SECURITY.md --------------------------------------------------------------------


def test_zz_report_the_number_of_fuzz_cases(capsys):
    """Runs last in this file: how many cases the tests above tried (all of them pass)."""
    total = sum(RUN.values())
    cases = ", ".join(f"{name} {count}" for name, count in sorted(RUN.items()))
    with capsys.disabled():
        print(f"\nfuzz cases run: {total} ({cases})")
        print(f"imports written: {OUTCOMES['written']}, refused: {OUTCOMES['refused']}")
    if RUN:  # when run alone (-k) there is nothing to report
        assert total >= 100
