"""Importing a branch's five-clears ledger (五清台账) from a real spreadsheet.

The pipeline reads .xlsx (streaming; a lean ElementTree reader, openpyxl read-only as the
fallback) or .csv (UTF-8 or GB18030), finds
the header row under one or two title rows, maps the header spellings seen in the wild to
fields, validates every row (all problems, each with its row, column and a Chinese message),
matches members by the keyed digest of their ID number (one query per thousand rows) and
plans, for each row, whether it creates a member, updates one, or changes nothing.

`plan_import` only reads. `apply_import` plans again and, if the plan is clean, writes
everything in one transaction with bulk statements (and bulk history rows, so every member's
history shows the import and who did it). Re-importing the same sheet changes nothing.

Rows hold clear ID numbers only in memory; the plan shows them masked.

What the sheet says of a member's life before the import (最近联系时间, 最近参加组织生活,
党费交至) becomes an `EvidenceBaseline` for every member the import creates, with `since` the
import day: a rule's clock with no evidence starts there, not years before anyone knew the
member. An existing member's baseline only moves forward; one without a baseline (their records
were already kept here) gets none.
"""

from __future__ import annotations

import csv
import io
import re
import sys
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache, lru_cache
from itertools import islice

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone, translation

from infrastructure.bulk_copy import copy_create
from infrastructure.bulk_history import record_history
from members import crypto, national_id, phone
from members.models import EvidenceBaseline, ExternalOrganisation, Member, Organisation
from members.selectors import members_editable_by, organisations_visible_to
from transfers import divisions
from transfers.models import MobilityEpisode

from .models import ContactAttempt, LedgerRecord

# --- the API --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowIssue:
    row: int  # 1-based row number as Excel shows it; 0 for problems with the whole file
    column: str  # the header as written in the file ("" if not about one column)
    message: str  # Chinese: what is wrong and what is expected


@dataclass
class RowPlan:
    row: int
    action: str  # "create" | "update" | "unchanged" | "error"
    name: str
    masked_id: str
    changes: list[str] = field(default_factory=list)
    issues: list[RowIssue] = field(default_factory=list)
    # The sheet's evidence of life before the import (None: the cell is empty).
    last_contact_on: date | None = None
    last_life_on: date | None = None
    dues_paid_to: date | None = None  # the first day of the month
    evidence_unused: bool = False  # an existing member without a baseline: not taken


@dataclass
class ImportPlan:
    rows: list[RowPlan]
    file_issues: list[RowIssue]
    today: date | None = None  # the import day: clocks without evidence start there
    evidence_columns: list[str] = field(default_factory=list)  # EVIDENCE_FIELDS in the sheet
    evidence_missing: int = 0  # new members with none of the three dates in the sheet
    evidence_partial: int = 0  # new members with some of them
    # (member id, name in the sheet) of numbers held outside the user's scope: the user is told
    # only that the row cannot be imported; the view records a case for the reviewers.
    held_elsewhere: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.file_issues and all(row.action != "error" for row in self.rows)

    @property
    def counts(self) -> dict[str, int]:
        counts = {"create": 0, "update": 0, "unchanged": 0, "error": 0}
        for row in self.rows:
            counts[row.action] += 1
        return counts

    @property
    def issues(self) -> list[RowIssue]:
        issues = list(self.file_issues)
        for row in sorted(self.rows, key=lambda r: r.row):
            issues.extend(row.issues)
        return issues


# --- headers ---------------------------------------------------------------------------------

# field -> the header spellings seen in real ledgers (DESIGN.md), the first is the standard one.
ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("姓名",),
    "gender": ("性别",),
    "ethnicity": ("民族",),
    "birth_date": ("出生日期", "出生年月"),
    "national_id": ("公民身份号码", "身份证号", "身份证号码", "公民身份证号码", "身份证"),
    "phone": ("手机号码", "联系电话", "联系方式", "手机号", "手机"),
    "branch": ("所在党支部", "所在支部", "所在党组织"),
    "joined_on": ("入党日期", "入党时间"),
    "confirmed_on": ("转正日期", "转正时间"),
    "category": ("人员类别", "党员类别"),
    "left_on": ("流出时间", "流出日期", "外出时间"),
    "destination": ("去向", "外出地点", "流入地", "现居住地"),
    "mobility_type": ("流动类型", "流动原因", "外出原因"),
    "occupation": ("职业", "工作岗位", "原职业"),
    "inflow": ("流入党组织", "流入党支部"),
    "inflow_contact": ("流入地联系人", "流入党支部联系方式"),
    "certificate": ("流动证号", "活动证编号"),
    "conduct": ("思想动态", "表现情况"),
    "is_mobile": ("是否流动党员",),
    "is_lost": ("是否失联党员",),
    "lost_on": ("失联时间",),
    "last_contact": ("最近联系时间", "最近联系日期", "上次联系时间", "最后联系时间"),
    "last_life": (
        "最近参加组织生活",
        "最近参加组织生活时间",
        "最后一次参加组织生活",
        "最近一次组织生活",
    ),
    "dues_paid_to": ("党费交至", "党费缴至", "党费交纳至", "党费已交至"),
}
HEADER_FIELDS = {alias: name for name, aliases in ALIASES.items() for alias in aliases}
LABEL = {name: aliases[0] for name, aliases in ALIASES.items()}
HEADER_SEARCH_ROWS = 10
MIN_KNOWN_HEADERS = 3
REQUIRED_COLUMNS = ("name", "national_id")

# the sheet's evidence of life before the import -> the EvidenceBaseline field it fills
EVIDENCE_FIELDS = {
    "last_contact": "last_contact_on",
    "last_life": "last_life_on",
    "dues_paid_to": "dues_paid_to",
}
DUES_PREPAID_MONTHS = 12  # 党费交至 may be this many months after the import day, no more
IMPORT_SOURCE = "台账导入 {file_name}"
CANNOT_IMPORT_HERE = "该公民身份号码不能在此导入；已通知县委组织部核实，会与您联系"

CHUNK = 500  # rows written (and progress reported) per step
QUERY_CHUNK = 1000  # digests per `IN (...)` query

IMPORT_LOST_NOTE = "导入：台账标记为失联"
YES = {"是", "Y", "YES", "1", "TRUE", "√", "✓", "对"}
NO = {"否", "N", "NO", "0", "FALSE", "×", "无", "不是"}

MEMBER_LABELS = {
    "name": "姓名",
    "gender": "性别",
    "ethnicity": "民族",
    "birth_date": "出生日期",
    "phone": "手机号码",
    "category": "人员类别",
    "joined_on": "入党日期",
    "confirmed_on": "转正日期",
    "home_branch_id": "所在党支部",
}
EPISODE_LABELS = {
    "left_on": "流出时间",
    "mobility_type": "流动类型",
    "destination": "去向",
    "occupation": "职业",
    "inflow": "流入党组织",
}
ITEM_LABELS = {
    "left": "流出时间",
    "where": "去向",
    "occupation": "职业",
    "contact": "联系方式",
    "conduct": "思想动态",
}
CONFIRMATION_FIELDS = {
    item: (f"{item}_confirmed_on", f"{item}_confirmed_by_id") for item in ITEM_LABELS
}
DESTINATION_FIELDS = (
    "destination_province",
    "destination_city",
    "destination_county",
    "destination_country",
    "address",
)

MOBILITY_KEYWORDS = (  # first match wins: "出国务工" is abroad, not work
    (MobilityEpisode.Type.ABROAD, ("出国", "出境", "国外", "境外")),
    (MobilityEpisode.Type.STUDY, ("学习", "上学", "读书", "求学", "毕业", "升学")),
    (MobilityEpisode.Type.SETTLED, ("定居", "随子女", "投亲", "随迁")),
    (MobilityEpisode.Type.TEMPORARY, ("临时", "季节", "短期")),
    (MobilityEpisode.Type.WORK, ("务工", "就业", "打工", "经商", "工作")),
)
ASSESSMENT_LABELS = {  # the exporter writes "良好：note"; read the label back
    "良好": LedgerRecord.Assessment.GOOD,
    "一般": LedgerRecord.Assessment.FAIR,
    "需关注": LedgerRecord.Assessment.CONCERN,
}
ASSESSMENT_KEYWORDS = (  # first match wins: "较好" is fair although it contains "好"
    (LedgerRecord.Assessment.CONCERN, ("不积极", "差", "消极", "关注", "不稳定", "异常")),
    (LedgerRecord.Assessment.FAIR, ("一般", "较好", "尚可")),
    (LedgerRecord.Assessment.GOOD, ("好", "优秀", "良好", "积极", "正常", "稳定", "端正")),
)
PHONE_IN_TEXT = re.compile(r"(?:\+?86)?1[3-9]\d{9}|0\d{2,3}-?\d{7,8}(?:-\d{1,6})?")


def normalise_text(value) -> str:
    """Full-width digits and letters to ASCII, no-break and ideographic spaces collapsed."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = unicodedata.normalize("NFKC", str(value))
    return " ".join(text.split())  # all Unicode spaces, collapsed and stripped


def _header_key(value) -> str:
    return re.sub(r"[\s*:]", "", unicodedata.normalize("NFKC", str(value)))


def field_of_header(value) -> str | None:
    """The field a header cell names, or None. Ignores spaces, '*' and a hint in brackets."""
    if value is None:
        return None
    key = _header_key(value)
    if key in HEADER_FIELDS:
        return HEADER_FIELDS[key]
    base = re.sub(r"\(.*\)$", "", key)
    return HEADER_FIELDS.get(base)


# --- reading ---------------------------------------------------------------------------------


class Unreadable(Exception):
    """The file cannot be read as a spreadsheet; the message says why, in Chinese."""


def _kind_of(content: bytes, file_name: str) -> str:
    if content[:4] == b"PK\x03\x04":
        return "xlsx"
    if content[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise Unreadable("这是旧版 Excel（.xls）文件：请在 Excel 中“另存为” .xlsx 格式后再上传。")
    if file_name.lower().endswith((".xlsx", ".xlsm")):
        raise Unreadable("无法读取这个 Excel 文件：文件可能已损坏，请重新保存为 .xlsx 后再上传。")
    return "csv"


CORRUPT_XLSX = "无法读取这个 Excel 文件：文件可能已损坏，请重新保存为 .xlsx 后再上传。"
CORRUPT_CSV = (  # csv.Error: a cell over the field size limit, mostly from an unclosed quote
    "无法读取这个 CSV 文件：有一个单元格过长，可能是引号没有成对。"
    "请在 Excel 中打开检查后另存为 .xlsx 再上传。"
)
MAIN_NAMESPACES = (
    "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "http://purl.oclc.org/ooxml/spreadsheetml/main",
)
RELATIONSHIP_NAMESPACES = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "http://purl.oclc.org/ooxml/officeDocument/relationships",
)
PACKAGE_RELATIONSHIPS = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
# Built-in number formats that show dates: 14-22 and 45-47 everywhere, 27-36 and 50-58 in
# Chinese, Japanese and Korean Excel (e.g. 31 = yyyy"年"m"月"d"日"), which openpyxl misses.
DATE_FORMAT_IDS = {*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)}
MAX_COLUMNS = 16384  # Excel's last column, XFD
ESCAPED_CHARACTER = re.compile(r"_x([0-9A-Fa-f]{4})_")


def _tags(name: str) -> frozenset[str]:
    return frozenset(f"{{{namespace}}}{name}" for namespace in MAIN_NAMESPACES)


C_TAGS, ROW_TAGS, SI_TAGS = _tags("c"), _tags("row"), _tags("si")


def _unescape(text: str) -> str:
    if "_x" not in text:
        return text
    text = ESCAPED_CHARACTER.sub(lambda m: chr(int(m.group(1), 16)), text).replace("\x00", "")
    # _x0000_ and a lone _xD800_ can be neither stored (PostgreSQL) nor shown (UTF-8): dropped;
    # an escaped surrogate pair becomes its character.
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "ignore")


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _text_of(element) -> str:
    """The text of a shared or inline string: plain <t>, or rich-text runs; not phonetics."""
    parts = []
    for child in element:
        name = _local(child.tag)
        if name == "t":
            parts.append(child.text or "")
        elif name == "r":
            parts.extend(t.text or "" for t in child if _local(t.tag) == "t")
    return _unescape("".join(parts))


class _FastXlsx:
    """A lean streaming reader of .xlsx cell values (what openpyxl's read-only mode gives).

    openpyxl spends ~12 µs on each cell; this reads the same XML with ElementTree's C
    parser and keeps only values, at a fraction of the cost. Anything it does not expect
    raises, and the caller falls back to openpyxl.
    """

    def __init__(self, archive: zipfile.ZipFile):
        from xml.etree import ElementTree

        self.archive, self.parse = archive, ElementTree.fromstring
        self.iterparse = ElementTree.iterparse
        root_rels = self._relationships("_rels/.rels", "")
        workbook_path = next(
            target for kind, target in root_rels.values() if kind.endswith("/officeDocument")
        )
        workbook = self.parse(archive.read(workbook_path))
        folder = workbook_path.rpartition("/")[0]
        rels = self._relationships(
            f"{folder}/_rels/{workbook_path.rpartition('/')[2]}.rels", folder
        )
        self.epoch = datetime(1899, 12, 30)
        active, sheets = 0, []
        for element in workbook.iter():
            name = _local(element.tag)
            if name == "workbookPr" and element.get("date1904") in ("1", "true"):
                self.epoch = datetime(1904, 1, 1)
            elif name == "workbookView":
                active = int(element.get("activeTab") or 0)
            elif name == "sheet":
                rid = next(
                    element.get(f"{{{namespace}}}id")
                    for namespace in RELATIONSHIP_NAMESPACES
                    if element.get(f"{{{namespace}}}id")
                )
                kind, target = rels[rid]
                if kind.endswith("/worksheet"):
                    sheets.append(target)
        if not sheets:
            raise ValueError("no worksheets")
        active = min(active, len(sheets) - 1)
        self.sheets = [sheets[active]] + sheets[:active] + sheets[active + 1 :]
        by_kind = {kind.rpartition("/")[2]: target for kind, target in rels.values()}
        self.strings = self._shared_strings(by_kind.get("sharedStrings"))
        self.date_styles = self._date_styles(by_kind.get("styles"))

    def _relationships(self, path: str, folder: str) -> dict[str, tuple[str, str]]:
        import posixpath

        found = {}
        for element in self.parse(self.archive.read(path)).iter(PACKAGE_RELATIONSHIPS):
            target = element.get("Target", "")
            if element.get("TargetMode") == "External":
                continue
            target = (
                target.lstrip("/")
                if target.startswith("/")
                else posixpath.normpath(posixpath.join(folder, target))
            )
            found[element.get("Id")] = (element.get("Type", ""), target)
        return found

    def _shared_strings(self, path: str | None) -> list[str]:
        if path is None:
            return []
        strings = []
        with self.archive.open(path) as source:
            for _event, element in self.iterparse(source):
                if element.tag in SI_TAGS:
                    strings.append(_text_of(element))
                    element.clear()
        return strings

    def _date_styles(self, path: str | None) -> frozenset[int]:
        from openpyxl.styles.numbers import is_date_format

        if path is None:
            return frozenset()
        styles = self.parse(self.archive.read(path))
        custom = {}
        cell_formats: list[int] = []
        for element in styles:
            name = _local(element.tag)
            if name == "numFmts":
                for fmt in element:
                    custom[int(fmt.get("numFmtId"))] = fmt.get("formatCode", "")
            elif name == "cellXfs":
                cell_formats = [int(xf.get("numFmtId") or 0) for xf in element]
        return frozenset(
            index
            for index, fmt in enumerate(cell_formats)
            if (is_date_format(custom[fmt]) if fmt in custom else fmt in DATE_FORMAT_IDS)
        )

    def rows(self, path: str) -> Iterator[tuple[int, tuple]]:
        """(row number, values) for each row present in the sheet, in order."""
        strings, date_styles, epoch = self.strings, self.date_styles, self.epoch
        columns: dict[str, int] = {}
        number = 0
        cells: list[tuple[int, object]] = []
        column = -1
        with self.archive.open(path) as source:
            for _event, element in self.iterparse(source):
                tag = element.tag
                if tag in C_TAGS:
                    ref = element.get("r")
                    if ref is None:
                        column += 1
                    else:
                        letters = ref.rstrip("0123456789")
                        column = columns.get(letters, -1)
                        if column < 0:
                            column = 0
                            for letter in letters:
                                column = column * 26 + ord(letter) - 64
                            column -= 1
                            if not 0 <= column < MAX_COLUMNS:  # or a row of a billion cells
                                raise ValueError(f"cell reference {ref}")
                            columns[letters] = column
                    kind = element.get("t")
                    if kind == "inlineStr":
                        value = None
                        for child in element:  # <is><t>text</t></is>, or rich-text runs
                            if len(child) == 1 and child[0].tag.endswith("}t"):
                                value = _unescape(child[0].text or "")
                            elif child.tag.endswith("}is"):
                                value = _text_of(child)
                        cells.append((column, value))
                        continue
                    text = None
                    for child in element:
                        if child.tag.endswith("}v"):
                            text = child.text
                    if text is None:
                        continue
                    if kind is None or kind == "n":
                        value = (
                            float(text)
                            if ("." in text or "E" in text or "e" in text)
                            else int(text)
                        )
                        style = element.get("s")
                        if style is not None and int(style) in date_styles:
                            value = epoch + timedelta(days=value)
                    elif kind == "s":
                        value = strings[int(text)]
                    elif kind == "b":
                        value = text.strip() in ("1", "true")
                    elif kind == "d":
                        value = datetime.fromisoformat(text.rstrip("Z"))
                    else:  # "str" (a formula's text) and "e" (#N/A...), as text
                        value = _unescape(text)
                    cells.append((column, value))
                elif tag in ROW_TAGS:
                    ref = element.get("r")
                    number = int(ref) if ref else number + 1
                    values = [None] * (cells[-1][0] + 1 if cells else 0)
                    for index, value in cells:
                        if index >= len(values):
                            values.extend([None] * (index + 1 - len(values)))
                        values[index] = value
                    yield number, tuple(values)
                    cells, column = [], -1
                    element.clear()


def _xlsx_sheets(content: bytes) -> Iterator[Iterator[tuple[int, tuple]]]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except Exception as error:  # BadZipFile, but a flipped bit can give NotImplementedError too
        raise Unreadable(CORRUPT_XLSX) from error
    try:
        fast = _FastXlsx(archive)
    except Exception:  # anything unusual: let openpyxl read it
        fast = None
    if fast is not None:
        for path in fast.sheets:
            yield _guarded(fast.rows(path))
        return
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as error:
        raise Unreadable(CORRUPT_XLSX) from error
    sheets = [book.active] + [sheet for sheet in book.worksheets if sheet is not book.active]
    for sheet in sheets:
        if sheet is None or not hasattr(sheet, "iter_rows"):
            continue
        # Some programs write a wrong <dimension>; read what is really there.
        sheet.reset_dimensions()
        yield _guarded(enumerate(sheet.iter_rows(values_only=True), start=1))


def _guarded(
    rows: Iterator[tuple[int, tuple]], message: str = CORRUPT_XLSX
) -> Iterator[tuple[int, tuple]]:
    """A sheet that turns out broken half-way is unreadable, not a crash."""
    try:
        yield from rows
    except Exception as error:
        raise Unreadable(message) from error


UNKNOWN_ENCODING = "无法识别文件的文字编码：请把 CSV 另存为 UTF-8 编码，或直接上传 .xlsx 文件。"


def _csv_rows(content: bytes) -> Iterator[tuple]:
    if content[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16 ("Unicode text"): GB18030 decodes it
        raise Unreadable(UNKNOWN_ENCODING)
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise Unreadable(UNKNOWN_ENCODING)
    if "\x00" in text:
        raise Unreadable("无法读取文件：请上传 Excel（.xlsx）或 CSV 格式的台账。")
    sample = "\n".join(text.splitlines()[:HEADER_SEARCH_ROWS])
    delimiter = max(",\t;", key=sample.count) if sample else ","
    if sample.count(delimiter) == 0:
        delimiter = ","
    return (tuple(row) for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


@dataclass
class _Table:
    header_row: int
    columns: dict[str, list[tuple[int, str]]]  # field -> [(index, header as written)]
    rows: Iterator[tuple[int, tuple]]  # (row number, values) after the header

    @property
    def headers(self) -> dict[str, str]:
        """field -> the header of its first column (the one named in messages)."""
        if not hasattr(self, "_headers"):
            self._headers = {name: columns[0][1] for name, columns in self.columns.items()}
        return self._headers


def _find_header(numbered: Iterator[tuple[int, tuple]]) -> _Table | None:
    for number, values in islice(numbered, HEADER_SEARCH_ROWS):
        columns: dict[str, list[tuple[int, str]]] = {}
        for index, value in enumerate(values):
            name = field_of_header(value)
            if name is not None:
                columns.setdefault(name, []).append((index, str(value).strip()))
        if "name" in columns and len(columns) >= MIN_KNOWN_HEADERS:
            return _Table(number, columns, numbered)
    return None


def _open_table(content: bytes, file_name: str) -> _Table | None:
    """The first sheet with a header row; None if there is none. Raises Unreadable."""
    if not content:
        raise Unreadable("文件是空的，没有任何数据。")
    if _kind_of(content, file_name) == "xlsx":
        for rows in _xlsx_sheets(content):
            table = _find_header(rows)
            if table is not None:
                return table
        return None
    return _find_header(_guarded(enumerate(_csv_rows(content), start=1), CORRUPT_CSV))


def _is_blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _cell(values: tuple, columns: list[tuple[int, str]] | None, name: str):
    """The first filled cell among the columns for a field, and the header it came from."""
    if not columns:
        return None, LABEL[name]
    for index, header in columns:
        if index < len(values) and not _is_blank(values[index]):
            return values[index], header
    return None, columns[0][1]


def _data_rows(table: _Table) -> Iterator[tuple[int, tuple]]:
    """Rows that hold a member: at least a name or an ID number, and not a repeated header."""
    name_cols, id_cols = table.columns["name"], table.columns.get("national_id")
    for number, values in table.rows:
        name, _ = _cell(values, name_cols, "name")
        number_value, _ = _cell(values, id_cols, "national_id")
        if name is None and number_value is None:
            continue
        if isinstance(name, str) and len(name) < 8 and field_of_header(name) == "name":
            continue
        yield number, values


def count_rows(*, content: bytes, file_name: str) -> int:
    """How many member rows the file holds (0 if it cannot be read)."""
    try:
        table = _open_table(content, file_name)
        return 0 if table is None else sum(1 for _ in _data_rows(table))
    except Unreadable:
        return 0


# --- values ----------------------------------------------------------------------------------

_FULL_DATE = (
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})[日号]?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)
_MONTH_DATE = (
    re.compile(r"^(\d{4})[-/.](\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月?$"),
    re.compile(r"^(\d{4})(\d{2})$"),
)
_TIME_SUFFIX = re.compile(r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)$")
DATE_FORMATS_HINT = "请写成 2024-05-01、2024/5/1、2024.05、2024年5月1日 或 20240501"


class BadValue(Exception):
    pass


def parse_date(value, *, from_xlsx: bool = False) -> tuple[date, bool]:
    """(date, precise). Month-only dates give the 1st and precise=False. Raises BadValue."""
    if isinstance(value, datetime):
        return value.date(), True
    if isinstance(value, date):
        return value, True
    if isinstance(value, int | float) and not isinstance(value, bool):
        if from_xlsx and 10000 <= value < 100000:
            # A date cell that lost its format: an Excel serial day number (1927-2173).
            return date(1899, 12, 30) + timedelta(days=int(value)), True
        # Excel turns a typed 2024.05 into the number 2024.05, and 2024.10 into 2024.1.
        text = repr(value)
        if isinstance(value, float) and re.fullmatch(r"\d{4}\.1", text):
            raise BadValue(f"“{text}”可能是1月也可能是10月：请写成 {text[:4]}-01 或 {text[:4]}-10")
    text = normalise_text(value)
    text = _TIME_SUFFIX.sub("", text).replace(" ", "")
    for pattern, precise in [(p, True) for p in _FULL_DATE] + [(p, False) for p in _MONTH_DATE]:
        match = pattern.match(text)
        if match:
            parts = [int(part) for part in match.groups()] + ([] if precise else [1])
            try:
                parsed = date(*parts)
            except ValueError:
                raise BadValue(f"日期无效：“{text}”不是真实存在的日期") from None
            if parsed.year < 1900:
                raise BadValue(f"日期无效：“{text}”早于1900年")
            return parsed, precise
    raise BadValue(f"无法识别的日期“{text}”：{DATE_FORMATS_HINT}")


def parse_yes_no(value) -> bool:
    text = normalise_text(value).upper()
    if text in YES:
        return True
    if text in NO:
        return False
    raise BadValue(f"应填写“是”或“否”，而不是“{normalise_text(value)}”")


@lru_cache(maxsize=4096)
def mobility_type_of(text: str) -> str:
    for kind, words in MOBILITY_KEYWORDS:
        if any(word in text for word in words):
            return kind
    return MobilityEpisode.Type.WORK


@lru_cache(maxsize=4096)
def conduct_of(text: str) -> tuple[str, str]:
    """(assessment, note) from a 思想动态 cell; "良好：…" as the exporter writes it."""
    for label, assessment in ASSESSMENT_LABELS.items():
        if text == label:
            return assessment, ""
        if text.startswith(label) and text[len(label) : len(label) + 1] in ("：", ":"):
            return assessment, text[len(label) + 1 :].strip()
    for assessment, words in ASSESSMENT_KEYWORDS:
        if any(word in text for word in words):
            return assessment, text
    return "", text


def _zh(error: ValidationError) -> str:
    with translation.override("zh-hans"):
        return str(error.messages[0])


# --- destinations ----------------------------------------------------------------------------

PSEUDO_CITIES = {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"}
MUNICIPALITIES = ("北京市", "天津市", "上海市", "重庆市")
PROVINCE_SUFFIXES = ("维吾尔自治区", "壮族自治区", "回族自治区", "特别行政区", "自治区", "省", "市")


@dataclass(frozen=True)
class Destination:
    province: str = ""
    city: str = ""
    county: str = ""
    country: str = ""
    address: str = ""

    def as_fields(self) -> dict[str, str]:
        parts = (self.province, self.city, self.county, self.country, self.address)
        return dict(zip(DESTINATION_FIELDS, parts, strict=True))

    @property
    def region(self) -> str:
        city = "" if self.city in PSEUDO_CITIES else self.city
        return self.province + city


def _short_city_names(city: str) -> list[str]:
    names = [city]
    for suffix in ("市", "地区", "盟"):
        if city.endswith(suffix) and len(city) - len(suffix) >= 2:
            names.append(city[: -len(suffix)])
    if city.endswith("自治州"):
        names += [city[:2] + "州", city[:2]]
    return names


@cache
def _division_index():
    provinces: dict[str, str] = {}
    cities: dict[str, dict[str, str]] = {}
    national_cities: dict[str, tuple[str, str] | None] = {}
    for province in divisions.provinces():
        provinces[province] = province
        for suffix in PROVINCE_SUFFIXES:
            if province.endswith(suffix) and len(province) > len(suffix):
                provinces.setdefault(province[: -len(suffix)], province)
                break
        by_name: dict[str, str] = {}
        for city in divisions.cities(province):
            names = [city] if city in PSEUDO_CITIES else _short_city_names(city)
            for name in names:
                by_name.setdefault(name, city)
                if city not in PSEUDO_CITIES:
                    key = (province, city)
                    national_cities[name] = key if national_cities.get(name, key) == key else None
        cities[province] = by_name
    national = {name: key for name, key in national_cities.items() if key is not None}
    return provinces, cities, national


def _longest_prefix(text: str, names: dict[str, object], longest: int = 12):
    for length in range(min(len(text), longest), 1, -1):
        if text[:length] in names:
            return text[:length]
    return None


def _county_prefix(text: str, province: str, city: str) -> str | None:
    counties = divisions.counties(province, city)
    for length in range(min(len(text), 12), 1, -1):
        if text[:length] in counties:
            return text[:length]
    return None


def _after_province(province: str, text: str) -> tuple[str, str, str] | None:
    """(city, county, rest) for text that follows a province name, or None."""
    _provinces, cities, _national = _division_index()
    alias = _longest_prefix(text, cities[province])
    if alias is not None:
        city = cities[province][alias]
        rest = text[len(alias) :]
        county = _county_prefix(rest, province, city)
        if county is not None:
            return city, county, rest[len(county) :]
        if city not in PSEUDO_CITIES:
            return city, "", rest
    for city in divisions.cities(province):  # municipalities and county-level cities
        county = _county_prefix(text, province, city)
        if county is not None:
            return city, county, text[len(county) :]
    return None


@lru_cache(maxsize=4096)
def parse_destination(text: str, *, abroad: bool = False) -> Destination:
    """广东省深圳市南山区科技园 -> 广东省 / 深圳市 / 南山区 / 科技园 (short forms too)."""
    text = text.replace(" ", "")
    provinces, _cities, national = _division_index()
    alias = _longest_prefix(text, provinces)
    if alias is not None:
        province = provinces[alias]
        rest = text[len(alias) :]
        found = _after_province(province, rest)
        if found is None and alias != province:
            found = _after_province(province, text)  # 吉林市… : "吉林" was the city
            if found is not None:
                rest = text
        if found is None and rest.startswith(province):  # 上海市上海市…: named twice
            rest = rest[len(province) :]
            found = _after_province(province, rest)
        if found is not None:
            city, county, address = found
            return Destination(province, city, county, "", address)
        city = "市辖区" if province in MUNICIPALITIES else ""  # as the episode form stores it
        return Destination(province, city, "", "", rest)
    alias = _longest_prefix(text, national)
    if alias is not None:
        province, city = national[alias]
        rest = text[len(alias) :]
        county = _county_prefix(rest, province, city) or ""
        return Destination(province, city, county, "", rest[len(county) :])
    if abroad and len(text) <= 50:
        return Destination(country=text)
    return Destination(address=text)


# --- parsing rows ----------------------------------------------------------------------------


@dataclass(slots=True)
class _Row:
    """One data row, parsed. Values are None when the cell is empty."""

    row: int
    issues: list[RowIssue] | None  # None until there is one (100,000 rows: no spare lists)
    headers: dict[str, str]
    name: str = ""
    number: str = ""
    digest: str = ""
    number_valid: bool = False
    gender: str | None = None
    ethnicity: str | None = None
    birth_date: date | None = None
    birth_precise: bool = True
    phone: str | None = None
    branch: str = ""
    joined_on: date | None = None
    confirmed_on: date | None = None
    category: str | None = None
    mobile: bool = False
    left_on: date | None = None
    destination_text: str = ""
    mobility_text: str = ""
    occupation: str | None = None
    inflow: str = ""
    inflow_contact: str = ""
    conduct: tuple[str, str] | None = None
    lost: bool = False
    lost_on: date | None = None
    last_contact_on: date | None = None
    last_life_on: date | None = None
    dues_paid_to: date | None = None  # the first day of the month paid
    month_only: frozenset[str] = frozenset()  # evidence fields given as a month (2024年5月)

    @property
    def has_evidence(self) -> int:
        """How many of the three evidence dates the row gives (0 to 3)."""
        return (
            (self.last_contact_on is not None)
            + (self.last_life_on is not None)
            + (self.dues_paid_to is not None)
        )

    def error(self, name: str, message: str) -> None:
        if self.issues is None:
            self.issues = []
        self.issues.append(RowIssue(self.row, self.headers.get(name, LABEL[name]), message))

    def has_issue(self, name: str) -> bool:
        column = self.headers.get(name)
        return bool(self.issues) and any(issue.column == column for issue in self.issues)


def _parse_row(number: int, values: tuple, table: _Table, today: date, from_xlsx: bool) -> _Row:
    headers = table.headers  # shared by all rows, copied only when a row differs
    raw: dict[str, object] = {}
    for name, columns in table.columns.items():
        value, header = _cell(values, columns, name)
        if value is not None:
            raw[name] = value
            if header != headers[name]:
                headers = {**headers, name: header}
    row = _Row(number, None, headers)

    def text(name: str, limit: int | None = None, repeated: bool = False) -> str:
        value = normalise_text(raw.get(name))
        if repeated:  # the same few texts on thousands of rows: keep one copy
            value = sys.intern(value)
        if limit is not None and len(value) > limit:
            row.error(name, f"{LABEL[name]}过长：最多{limit}个字，现在是{len(value)}个字")
        return value

    def a_date(name: str) -> date | None:
        if name not in raw:
            return None
        try:
            parsed, precise = parse_date(raw[name], from_xlsx=from_xlsx)
        except BadValue as error:
            row.error(name, str(error))
            return None
        if parsed > today:
            row.error(name, f"{LABEL[name]}“{parsed.isoformat()}”晚于今天，请检查")
            return None
        if name == "birth_date":
            row.birth_precise = precise
        elif not precise and name in EVIDENCE_FIELDS:
            row.month_only = row.month_only | {name}
        return parsed

    row.name = text("name", 50).replace(" ", "")
    if not row.name:
        row.error("name", "姓名未填写")

    number_value = raw.get("national_id")
    row.number = normalise_text(number_value).replace(" ", "").upper()
    if not row.number:
        row.error("national_id", "公民身份号码未填写")
    elif isinstance(number_value, float):
        row.error(
            "national_id",
            "公民身份号码被 Excel 存成了数字，后几位已经丢失：请把这一列设为“文本”格式后重新填写",
        )
    else:
        try:
            national_id.validate(row.number)
            row.number_valid = True
            row.digest = crypto.digest(row.number)
        except ValidationError as error:
            row.error("national_id", _zh(error))

    if "gender" in raw:
        value = text("gender")
        if value in ("男", "男性", "M", "m", "男士"):
            row.gender = Member.Gender.MALE
        elif value in ("女", "女性", "F", "f", "女士"):
            row.gender = Member.Gender.FEMALE
        else:
            row.error("gender", f"性别应填写“男”或“女”，而不是“{value}”")
    if "ethnicity" in raw:
        value = text("ethnicity").replace(" ", "")
        if not value.endswith(("族", "人")) and len(value) <= 4:
            value += "族"
        if len(value) > 20:
            row.error("ethnicity", "民族过长：最多20个字")
        row.ethnicity = value

    row.birth_date = a_date("birth_date")
    if row.birth_date and row.number_valid:
        born = national_id.birth_date_of(row.number)
        same = (
            born == row.birth_date
            if row.birth_precise
            else (born.year, born.month) == (row.birth_date.year, row.birth_date.month)
        )
        if not same:
            row.error(
                "birth_date",
                f"出生日期与公民身份号码不一致：身份证号中的出生日期是 {born.isoformat()}",
            )
        row.birth_date = born  # month-only dates take the day from the ID

    if "phone" in raw:
        value = text("phone")
        try:
            row.phone = phone.validate(value)
        except ValidationError as error:
            row.error("phone", f"电话号码“{value}”格式不对：{_zh(error)}")

    row.branch = text("branch", repeated=True)
    row.joined_on = a_date("joined_on")
    row.confirmed_on = a_date("confirmed_on")
    if "category" in raw:
        value = text("category")
        if "预备" in value:
            row.category = Member.Category.PROBATIONARY
        elif "正式" in value:
            row.category = Member.Category.FULL
        else:
            row.error("category", f"人员类别应填写“正式党员”或“预备党员”，而不是“{value}”")

    flagged = None
    if "is_mobile" in raw:
        try:
            flagged = parse_yes_no(raw["is_mobile"])
        except BadValue as error:
            row.error("is_mobile", str(error))
    row.left_on = a_date("left_on")
    row.mobile = bool(flagged) or "left_on" in raw
    if row.mobile:
        row.destination_text = text("destination", repeated=True)
        if len(row.destination_text.replace(" ", "")) > 200:
            row.error("destination", "去向过长：最多200个字")
        row.mobility_text = text("mobility_type", repeated=True)
        if "occupation" in raw:
            row.occupation = text("occupation", 50, repeated=True)
        row.inflow = text("inflow", repeated=True)
        row.inflow_contact = text("inflow_contact", repeated=True)
        if "conduct" in raw:
            row.conduct = conduct_of(text("conduct", repeated=True))

    lost_flag = None
    if "is_lost" in raw:
        try:
            lost_flag = parse_yes_no(raw["is_lost"])
        except BadValue as error:
            row.error("is_lost", str(error))
    row.lost_on = a_date("lost_on")
    row.lost = bool(lost_flag) or (lost_flag is None and "lost_on" in raw)

    row.last_contact_on = a_date("last_contact")
    row.last_life_on = a_date("last_life")
    if "dues_paid_to" in raw:
        row.dues_paid_to = _dues_month(row, raw["dues_paid_to"], today, from_xlsx)
    return row


def _months_between(first: date, second: date) -> int:
    """Calendar months from first's month to second's (2024-05-31 to 2024-06-01: 1)."""
    return (second.year - first.year) * 12 + second.month - first.month


def _dues_month(row: _Row, value, today: date, from_xlsx: bool) -> date | None:
    """党费交至: a month (its first day); up to DUES_PREPAID_MONTHS after the import day."""
    try:
        parsed, _precise = parse_date(value, from_xlsx=from_xlsx)
    except BadValue as error:
        row.error("dues_paid_to", str(error))
        return None
    month = parsed.replace(day=1)
    if _months_between(today, month) > DUES_PREPAID_MONTHS:
        row.error(
            "dues_paid_to",
            f"党费交至“{month:%Y-%m}”晚于导入之日（{today.isoformat()}）"
            f"{DUES_PREPAID_MONTHS}个月以上：党费最多预交{DUES_PREPAID_MONTHS}个月，请检查",
        )
        return None
    return month


def _check_evidence_after_joining(row: _Row, joined: date | None) -> None:
    """A sign of life as a Party member before joining the Party is a mistake in the sheet."""
    if joined is None or not row.has_evidence:
        return
    for name, on in (
        ("last_contact", row.last_contact_on),
        ("last_life", row.last_life_on),
        ("dues_paid_to", row.dues_paid_to),
    ):
        if on is None:
            continue
        by_month = name == "dues_paid_to" or name in row.month_only
        before = _months_between(joined, on) < 0 if by_month else on < joined
        if before:
            shown = f"{on:%Y-%m}" if by_month else on.isoformat()
            row.error(
                name,
                f"{LABEL[name]}“{shown}”早于入党日期（{joined.isoformat()}），请检查这两个日期",
            )


# --- planning --------------------------------------------------------------------------------


@dataclass(slots=True)
class _Work:
    """What apply does for one row. Instances are built here only for existing objects."""

    parsed: _Row
    member: Member | None = None  # existing member (None: create one)
    member_values: dict | None = None  # for a new member
    member_fields: list[str] | tuple = ()
    episode: MobilityEpisode | None = None  # existing episode (changed in place)
    episode_values: dict | None = None  # for a new episode
    episode_new: bool = False
    episode_fields: list[str] | tuple = ()
    external_key: tuple[str, str] | None = None  # an external organisation to create
    record: LedgerRecord | None = None  # existing record (changed in place)
    record_values: dict | None = None  # for a new record
    record_new: bool = False
    record_fields: list[str] | tuple = ()
    contact_on: date | None = None
    baseline: EvidenceBaseline | None = None  # existing baseline (moved forward in place)
    baseline_fields: list[str] | tuple = ()
    labels: list[str] | tuple = ()

    @property
    def writes(self) -> bool:
        return bool(
            self.member is None
            or self.member_fields
            or self.episode_new
            or self.episode_fields
            or self.record_new
            or self.record_fields
            or self.contact_on
            or self.baseline_fields
        )


@dataclass
class _Externals:
    by_name: dict[str, list[ExternalOrganisation]]
    by_key: dict[tuple[str, str], ExternalOrganisation]
    new: dict[tuple[str, str], dict]  # key -> fields for the organisation to create
    new_by_name: dict[str, tuple[str, str]] = field(default_factory=dict)


class _Context:
    """Everything the rows are checked against, loaded with a handful of queries."""

    def __init__(self, *, user, default_branch, today: date):
        self.user = user
        self.today = today
        self.default_branch = default_branch
        self.held_elsewhere: list[tuple[int, str]] = []
        visible = list(organisations_visible_to(user).values_list("pk", "name", "code", "kind"))
        self.branch_ids = {pk for pk, _n, _c, kind in visible if kind in Organisation.MEMBER_KINDS}
        self.visible_by_name: dict[str, list[tuple[int, str]]] = {}
        self.by_code: dict[str, int] = {}
        for pk, name, code, kind in visible:
            self.visible_by_name.setdefault(normalise_text(name), []).append((pk, kind))
            if code and kind in Organisation.MEMBER_KINDS:
                self.by_code[normalise_text(code)] = pk
        self.internal_by_name: dict[str, list[int]] = {}
        for pk, name in Organisation.objects.values_list("pk", "name"):
            self.internal_by_name.setdefault(normalise_text(name), []).append(pk)
        self.externals = _Externals({}, {}, {})
        for organisation in ExternalOrganisation.objects.all():
            key = (normalise_text(organisation.name), normalise_text(organisation.region))
            self.externals.by_key[key] = organisation
            self.externals.by_name.setdefault(key[0], []).append(organisation)
        self.kind_labels = dict(Organisation.Kind.choices)

    def branch_of(self, text: str) -> tuple[int | None, str | None]:
        """(organisation id, None) or (None, Chinese error)."""
        key = normalise_text(text)
        if key in self.by_code:
            return self.by_code[key], None
        matches = self.visible_by_name.get(key, [])
        holding = [pk for pk, kind in matches if kind in Organisation.MEMBER_KINDS]
        if len(holding) == 1:
            return holding[0], None
        if len(holding) > 1:
            return None, f"有{len(holding)}个党组织都叫“{text}”：请改填组织编码"
        if matches:
            with translation.override("zh-hans"):
                kind = str(self.kind_labels.get(matches[0][1], ""))
            return None, (
                f"“{text}”是{kind}，不能直接管理党员组织关系：请填写党支部、党总支或党小组"
            )
        return None, f"找不到党组织“{text}”，或它不在您的管理范围内：请填写党支部的全称或编码"


def _file_issue(message: str, column: str = "") -> RowIssue:
    return RowIssue(0, column, message)


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass
class _Existing:
    digests: dict[str, int] = field(default_factory=dict)  # digest -> member, anywhere
    editable: dict[str, Member] = field(default_factory=dict)  # digest -> member (ours)
    episodes: dict[int, MobilityEpisode] = field(default_factory=dict)  # current, by member
    records: dict[int, LedgerRecord] = field(default_factory=dict)
    lost: dict[int, set[date]] = field(default_factory=dict)  # imported "lost" attempts
    baselines: dict[int, EvidenceBaseline] = field(default_factory=dict)  # by member
    last_reached: dict[int, date] = field(default_factory=dict)  # members with a baseline


def _lookup_existing(ctx: _Context, digests: list[str]) -> _Existing:
    """The members the file names, with their current episode and ledger record.

    A few queries per thousand rows; the clear ID number is not decrypted (not needed).
    """
    found = _Existing()
    existing, editable, episodes = found.digests, found.editable, found.episodes
    records, lost, baselines = found.records, found.lost, found.baselines
    for chunk in _chunks(digests, QUERY_CHUNK):
        existing.update(
            Member.objects.filter(national_id_digest__in=chunk).values_list(
                "national_id_digest", "pk"
            )
        )
        members = list(
            members_editable_by(ctx.user).filter(national_id_digest__in=chunk).defer("national_id")
        )
        ids = [member.pk for member in members]
        for member in members:
            editable[member.national_id_digest] = member
        if not ids:
            continue
        for episode in MobilityEpisode.objects.current().filter(member_id__in=ids):
            episodes[episode.member_id] = episode
        for record in LedgerRecord.objects.filter(member_id__in=ids):
            records[record.member_id] = record
        for member_id, on in ContactAttempt.objects.filter(
            member_id__in=ids, reached=False, note=IMPORT_LOST_NOTE
        ).values_list("member_id", "on"):
            lost.setdefault(member_id, set()).add(on)
        with_baseline = []
        for baseline in EvidenceBaseline.objects.filter(member_id__in=ids):
            baselines[baseline.member_id] = baseline
            with_baseline.append(baseline.member_id)
        if with_baseline:  # a contact recorded here is known: the sheet need not repeat it
            found.last_reached.update(
                ContactAttempt.objects.filter(member_id__in=with_baseline, reached=True)
                .values("member_id")
                .annotate(last=Max("on"))
                .values_list("member_id", "last")
            )
    return found


def _under_18(born: date, joined: date) -> bool:
    return joined.year - born.year - ((joined.month, joined.day) < (born.month, born.day)) < 18


def _plan_member(row: _Row, member: Member | None, branch_id: int | None):
    """(values, changed fields): all values for a new member; the filled ones for an existing."""
    values = {
        "name": row.name or None,
        "gender": row.gender,
        "ethnicity": row.ethnicity,
        "birth_date": row.birth_date,
        "phone": row.phone,
        "category": row.category,
        "joined_on": row.joined_on,
        "confirmed_on": row.confirmed_on,
        "home_branch_id": branch_id,
    }
    if member is None:
        if row.number_valid:
            if values["gender"] is None:
                values["gender"] = (
                    Member.Gender.MALE if int(row.number[16]) % 2 else Member.Gender.FEMALE
                )
            if values["birth_date"] is None:
                values["birth_date"] = national_id.birth_date_of(row.number)
        values["ethnicity"] = values["ethnicity"] or "汉族"
        values["category"] = values["category"] or Member.Category.FULL
        for name in ("phone", "joined_on"):
            if values[name] is None and not row.has_issue(name):
                absent = "" if name in row.headers else "（文件中没有这一列）"
                row.error(name, f"新党员须填写{LABEL[name]}{absent}")
        final = values
    else:
        final = {
            name: (value if value is not None else getattr(member, name))
            for name, value in values.items()
        }
    born, joined, confirmed = final["birth_date"], final["joined_on"], final["confirmed_on"]
    touched = row.birth_date or row.joined_on
    if born and joined and touched and _under_18(born, joined):
        row.error(
            "joined_on",
            f"入党时未满18周岁（出生日期 {born.isoformat()}，入党日期 {joined.isoformat()}）：请检查这两个日期",
        )
    if confirmed and joined and (row.confirmed_on or row.joined_on) and confirmed <= joined:
        row.error("confirmed_on", "转正日期应晚于入党日期")
    if final["category"] == Member.Category.PROBATIONARY and confirmed:
        if row.confirmed_on:
            row.error(
                "confirmed_on", "预备党员还没有转正日期：人员类别为“预备党员”时请不要填写转正日期"
            )
        else:
            row.error("category", "该党员已有转正日期，不能改为预备党员")
    if member is None:
        return values, []
    changed = [
        name
        for name, value in values.items()
        if value is not None and getattr(member, name) != value
    ]
    return values, changed


def _inflow_of(row: _Row, ctx: _Context, destination: Destination | None):
    """("org", id) | ("ext", ExternalOrganisation) | ("new", key) for the 流入党组织 cell.

    An internal organisation by exact name; else an external one by name, or by
    "name（region）" as the exporter writes it; else a new external organisation, one per
    name in the file (its region is where the first row naming it is).
    """
    text = row.inflow
    internal = ctx.internal_by_name.get(text, [])
    if len(internal) == 1:
        return "org", internal[0]
    externals = ctx.externals
    name, region = text, ""
    match = re.fullmatch(r"(.+?)\s*\(([^()]*)\)", text)
    if match and text not in externals.by_name and text not in externals.new_by_name:
        name, region = match.group(1).strip(), match.group(2).strip()
        internal = ctx.internal_by_name.get(name, [])
        if len(internal) == 1:
            return "org", internal[0]
    where = (destination.region if destination else "") or row.destination_text or "未知"
    if region:
        if (name, region) in externals.by_key:
            return "ext", externals.by_key[(name, region)]
    else:
        same_name = externals.by_name.get(name, [])
        if same_name:
            chosen = next((o for o in same_name if normalise_text(o.region) == where), None)
            return "ext", chosen or same_name[0]
        if name in externals.new_by_name:
            return "new", externals.new_by_name[name]
    if len(name) > 100:
        row.error("inflow", "流入党组织名称过长：最多100个字")
        return None
    key = (name, (region or where)[:100])
    if key not in externals.new:
        person, number = _contact_of(row.inflow_contact)
        externals.new[key] = {
            "name": name,
            "region": key[1],
            "contact_person": person,
            "phone": number,
        }
        if not region:
            externals.new_by_name[name] = key
    return "new", key


def _contact_of(text: str) -> tuple[str, str]:
    """陈立新 0755-86012345 -> ("陈立新", "0755-86012345"); an unusable number is dropped."""
    if not text:
        return "", ""
    number = ""
    match = PHONE_IN_TEXT.search(text.replace(" ", ""))
    if match:
        try:
            number = phone.validate(match.group(0))
        except ValidationError:
            number = ""
        person = text.replace(match.group(0), "")
        if match.group(0) not in text:  # the number had spaces in it
            person = PHONE_IN_TEXT.sub("", text.replace(" ", ""))
    else:
        person = text
    person = re.sub(r"[\s:：,，;；/、()（）]+", " ", person).strip()
    return person[:50], number


def _plan_episode(row: _Row, work: _Work, ctx: _Context, current: MobilityEpisode | None):
    """Set work.episode/episode_fields; returns (changed items, episode labels)."""
    if not row.mobile:
        return set(), []
    if current is None and row.left_on is None:
        if not row.has_issue("left_on"):
            row.error(
                "left_on" if "left_on" in row.headers else "is_mobile",
                "流动党员须填写流出时间（如 2024-05-01）",
            )
        return set(), []
    mobility_type = mobility_type_of(row.mobility_text) if row.mobility_text else None
    values: dict[str, object] = {}
    if row.left_on is not None:
        values["left_on"] = row.left_on
    if mobility_type is not None:
        values["mobility_type"] = mobility_type
    destination = None
    if row.destination_text:
        kind = mobility_type or (current.mobility_type if current else "")
        destination = parse_destination(
            row.destination_text, abroad=kind == MobilityEpisode.Type.ABROAD
        )
        values.update(destination.as_fields())
    if row.occupation is not None:
        values["occupation"] = row.occupation
    inflow = _inflow_of(row, ctx, destination) if row.inflow else None
    if inflow is not None:
        how, target = inflow
        if how == "org":
            values["inflow_organisation_id"], values["inflow_external_id"] = target, None
        elif how == "ext":
            values["inflow_organisation_id"], values["inflow_external_id"] = None, target.pk
        else:
            values["inflow_organisation_id"] = values["inflow_external_id"] = None
            work.external_key = target
    if current is None:
        values.setdefault("mobility_type", MobilityEpisode.Type.WORK)
        work.episode_values = values
        work.episode_new = True
        changed_items = {"left", "where", "occupation"}
        return changed_items, ["新增流动记录"]
    changed = [name for name, value in values.items() if getattr(current, name) != value]
    if work.external_key is not None and "inflow_external_id" not in changed:
        changed.append("inflow_external_id")
    for name in changed:
        setattr(current, name, values[name])
    work.episode = current
    work.episode_fields = changed
    items, labels = set(), []
    if "left_on" in changed:
        items.add("left")
        labels.append(EPISODE_LABELS["left_on"])
    if "mobility_type" in changed:
        labels.append(EPISODE_LABELS["mobility_type"])
    if set(changed) & set(DESTINATION_FIELDS):
        items.add("where")
        labels.append(EPISODE_LABELS["destination"])
    if "occupation" in changed:
        items.add("occupation")
        labels.append(EPISODE_LABELS["occupation"])
    if {"inflow_organisation_id", "inflow_external_id"} & set(changed):
        labels.append(EPISODE_LABELS["inflow"])
    return items, labels


def _plan_record(row: _Row, work: _Work, record: LedgerRecord | None, changed_items: set, ctx):
    """Conduct and the five-clears confirmations the sheet vouches for."""
    filled = {
        "left": row.left_on is not None,
        "where": bool(row.destination_text),
        "occupation": bool(row.occupation),
        "contact": row.phone is not None,
        "conduct": row.conduct is not None,
    }
    values: dict[str, object] = {}
    if row.conduct is not None:
        assessment, note = row.conduct
        if record is None or (record.conduct_assessment, record.conduct_note) != (assessment, note):
            values["conduct_assessment"], values["conduct_note"] = assessment, note
            changed_items = changed_items | {"conduct"}
    confirmed = []
    for item, is_filled in filled.items():
        if not is_filled:
            continue
        never = record is None or getattr(record, CONFIRMATION_FIELDS[item][0]) is None
        if never or item in changed_items:
            on, by = CONFIRMATION_FIELDS[item]
            values[on], values[by] = ctx.today, ctx.user.pk
            confirmed.append(ITEM_LABELS[item])
    labels = ["思想动态"] if "conduct_note" in values else []
    if confirmed:
        labels.append("确认五清：" + "、".join(confirmed))
    if record is None:
        if values:
            work.record_values = values
            work.record_new = True
        return labels
    changed = [name for name, value in values.items() if getattr(record, name) != value]
    for name in changed:
        setattr(record, name, values[name])
    if changed:
        work.record, work.record_fields = record, changed
    return labels if changed else []


@dataclass
class _Prepared:
    plan: ImportPlan
    works: list[_Work] = field(default_factory=list)
    externals: _Externals | None = None


def _prepare(
    *, content: bytes, file_name: str, user, default_branch, for_writing: bool = False
) -> _Prepared:
    plan = ImportPlan(rows=[], file_issues=[])
    prepared = _Prepared(plan)
    try:
        table = _open_table(content, file_name)
    except Unreadable as error:
        plan.file_issues.append(_file_issue(str(error)))
        return prepared
    if table is None:
        plan.file_issues.append(
            _file_issue(
                f"找不到表头：前{HEADER_SEARCH_ROWS}行中没有一行同时包含“姓名”和至少"
                f"{MIN_KNOWN_HEADERS}个台账列名（如“公民身份号码”“手机号码”“流出时间”）"
            )
        )
        return prepared
    for name in REQUIRED_COLUMNS:
        if name not in table.columns:
            others = "、".join(f"“{alias}”" for alias in ALIASES[name][1:3])
            also = f"（也可写作{others}）" if others else ""
            plan.file_issues.append(_file_issue(f"缺少“{LABEL[name]}”列{also}", LABEL[name]))
    today = timezone.localdate()
    plan.today = today
    plan.evidence_columns = [name for name in EVIDENCE_FIELDS if name in table.columns]
    ctx = _Context(user=user, default_branch=default_branch, today=today)
    if default_branch is not None and default_branch.pk not in ctx.branch_ids:
        plan.file_issues.append(
            _file_issue(f"所选的党组织“{default_branch.name}”不在您的管理范围内，或不是党支部")
        )
    elif default_branch is None and "branch" not in table.columns:
        plan.file_issues.append(
            _file_issue("文件中没有“所在党支部”列：请选择这些党员所在的党支部后再导入")
        )
    if plan.file_issues:
        return prepared

    from_xlsx = _kind_of(content, file_name) == "xlsx"
    limit = settings.IMPORT_MAX_ROWS
    try:
        # Read one row past the limit and stop: a huge file costs no more than that.
        rows = [
            _parse_row(number, values, table, today, from_xlsx)
            for number, values in islice(_data_rows(table), limit + 1)
        ]
    except Unreadable as error:
        plan.file_issues.append(_file_issue(str(error)))
        return prepared
    if len(rows) > limit:
        plan.file_issues.append(
            _file_issue(
                f"文件超过{limit}行党员数据：请按党支部分成几个文件分别导入"
                f"（一个党支部的台账通常不过几千行）"
            )
        )
        return prepared
    if not rows:
        plan.file_issues.append(_file_issue("表头下面没有党员数据"))
        return prepared

    first_seen: dict[str, int] = {}
    for row in rows:
        if not row.digest:
            continue
        if row.digest in first_seen:
            row.error(
                "national_id",
                f"与第{first_seen[row.digest]}行的公民身份号码重复：同一党员只能出现一次",
            )
            row.digest = ""
        else:
            first_seen[row.digest] = row.row
    del first_seen

    works: list[_Work] = []
    for start in range(0, len(rows), QUERY_CHUNK):  # a few queries per thousand rows
        chunk = rows[start : start + QUERY_CHUNK]
        existing = _lookup_existing(ctx, [row.digest for row in chunk if row.digest])
        for row in chunk:
            work = _plan_row(row, ctx, existing)
            masked = national_id.mask(row.number) if len(row.number) >= 8 else ""
            if row.issues:
                plan.rows.append(RowPlan(row.row, "error", row.name, masked, [], row.issues))
            elif work.member is None:
                plan.rows.append(RowPlan(row.row, "create", row.name, masked, [], []))
                works.append(work)
            elif work.writes:
                plan.rows.append(RowPlan(row.row, "update", row.name, masked, work.labels, []))
                works.append(work)
            else:
                plan.rows.append(RowPlan(row.row, "unchanged", row.name, masked, [], []))
            _plan_evidence(plan, row, work, existing)
            if not for_writing or plan.rows[-1].action == "error":
                works.clear()  # a preview, or a file that will not be written: keep nothing
                for_writing = False
        rows[start : start + QUERY_CHUNK] = [None] * len(chunk)
    plan.held_elsewhere = ctx.held_elsewhere
    if plan.ok:
        prepared.works, prepared.externals = works, ctx.externals
    return prepared


def _plan_evidence(plan: ImportPlan, row: _Row, work: _Work, existing: _Existing) -> None:
    """The row's evidence on its RowPlan, and the count of new members without it."""
    plan_row = plan.rows[-1]
    given = row.has_evidence
    if plan_row.action == "create":
        if not given:
            plan.evidence_missing += 1
        elif given < len(EVIDENCE_FIELDS):
            plan.evidence_partial += 1
    if not given:
        return
    plan_row.last_contact_on = row.last_contact_on
    plan_row.last_life_on = row.last_life_on
    plan_row.dues_paid_to = row.dues_paid_to
    member = work.member
    plan_row.evidence_unused = member is not None and member.pk not in existing.baselines


def _plan_row(row: _Row, ctx: _Context, existing: _Existing) -> _Work:
    """Check one row against the database and work out what it changes."""
    member = existing.editable.get(row.digest) if row.digest else None
    if row.digest and member is None and row.digest in existing.digests:
        # Held outside the user's scope: no more than that it cannot be imported here.
        row.error("national_id", CANNOT_IMPORT_HERE)
        ctx.held_elsewhere.append((existing.digests[row.digest], row.name))
    branch_id = None
    if row.branch:
        branch_id, problem = ctx.branch_of(row.branch)
        if problem:
            row.error("branch", problem)
    elif member is None and row.digest not in existing.digests:
        if ctx.default_branch is not None:
            branch_id = ctx.default_branch.pk
        else:
            row.error("branch", "所在党支部未填写，导入时也没有选择党支部")
    work = _Work(parsed=row)
    values, member_changes = _plan_member(row, member, branch_id)
    current = existing.episodes.get(member.pk) if member is not None else None
    changed_items, episode_labels = _plan_episode(row, work, ctx, current)
    if row.phone is not None and (member is None or "phone" in member_changes):
        changed_items.add("contact")
    record_labels = []
    if row.mobile and (current is not None or work.episode_new):
        record = existing.records.get(member.pk) if member is not None else None
        record_labels = _plan_record(row, work, record, changed_items, ctx)
    _check_evidence_after_joining(
        row, row.joined_on or (member.joined_on if member is not None else None)
    )
    contact_labels = []
    if row.lost:
        on = row.lost_on or ctx.today
        seen = existing.lost.get(member.pk, set()) if member is not None else set()
        already = (on in seen) if row.lost_on else bool(seen)
        if not already:
            work.contact_on = on
            contact_labels = ["失联记录"]
    if member is None:
        work.member_values = values
        return work
    for name in member_changes:
        setattr(member, name, values[name])
    work.member, work.member_fields = member, member_changes
    baseline_labels = _plan_baseline(
        row, work, existing.baselines.get(member.pk), existing.last_reached.get(member.pk)
    )
    work.labels = [MEMBER_LABELS[name] for name in member_changes]
    work.labels += episode_labels + record_labels + contact_labels + baseline_labels
    return work


def _plan_baseline(
    row: _Row, work: _Work, baseline: EvidenceBaseline | None, last_reached: date | None
) -> list[str]:
    """An existing member's baseline takes each of the sheet's dates that is later; a member
    without one keeps none (Liudong already held their records).

    最近联系时间 counts as later only if it is also later than the last successful contact
    recorded here: the exported ledger carries that date, and re-imports unchanged.
    """
    if baseline is None or not row.has_evidence:
        return []
    changed, labels = [], []
    for name, attname in EVIDENCE_FIELDS.items():
        on = getattr(row, attname)
        current = getattr(baseline, attname)
        if name == "last_contact" and last_reached is not None:
            current = max(current or last_reached, last_reached)
        if on is not None and (current is None or on > current):
            setattr(baseline, attname, on)
            changed.append(attname)
            labels.append(LABEL[name])
    if changed:
        work.baseline, work.baseline_fields = baseline, changed
    return labels


def errors_kept(issues: list[RowIssue], limit: int) -> list[dict]:
    """The problems stored with an import job: the first `limit`, then how many more."""
    kept = [issue.__dict__ for issue in issues[:limit]]
    if len(issues) > limit:
        more = len(issues) - limit
        kept.append({"row": None, "column": "", "message": f"另有{more}个问题，见预览中的问题清单"})
    return kept


def errors_xlsx(issues: list[RowIssue]) -> bytes:
    """Every problem of a file, to fix it row by row."""
    from .exporting import write_table_xlsx

    rows = ([issue.row or "", issue.column, issue.message] for issue in issues)
    return write_table_xlsx(["行", "列", "问题"], rows, title="导入问题清单")


def plan_import(*, content: bytes, file_name: str, user, default_branch=None) -> ImportPlan:
    """Read, check and match the file. Writes nothing."""
    return _prepare(
        content=content, file_name=file_name, user=user, default_branch=default_branch
    ).plan


# --- writing ---------------------------------------------------------------------------------


def _create_externals(new: dict[tuple[str, str], dict], user) -> dict[tuple[str, str], int]:
    created: dict[tuple[str, str], int] = {}
    for key, values in new.items():
        organisation = ExternalOrganisation.objects.filter(
            name=values["name"], region=values["region"]
        ).first()
        if organisation is None:
            organisation = ExternalOrganisation(**values)
            organisation._history_user = user
            organisation.save()
        created[key] = organisation.pk
    return created


def _create(objs: list, model, user, when) -> None:
    if objs:
        copy_create(model, objs, batch_size=CHUNK)
        record_history(model, [obj.pk for obj in objs], user=user, when=when, history_type="+")


def _update(objs: list, model, user, when, extra=()) -> None:
    """bulk_update grouped by the set of changed fields (smaller CASE lists), then history."""
    groups: dict[tuple[str, ...], list] = {}
    for obj, fields in objs:
        groups.setdefault(tuple(sorted(fields)), []).append(obj)
    for fields, group in groups.items():
        model.objects.bulk_update(group, [*fields, *extra], batch_size=CHUNK)
    if objs:
        ids = [obj.pk for obj, _ in objs]
        record_history(model, ids, user=user, when=when, history_type="~")


def _write(
    works: list[_Work],
    externals: _Externals,
    *,
    user,
    progress,
    total: int,
    today: date,
    source: str,
) -> None:
    """Write the planned rows, CHUNK at a time; instances live only while their chunk is written."""
    now = timezone.now()
    external_ids = _create_externals(externals.new, user)
    count = len(works)
    for start in range(0, count, CHUNK):
        chunk = works[start : start + CHUNK]
        new_members, changed_members, created = [], [], []
        for work in chunk:
            if work.member is None:
                row = work.parsed
                work.member = Member(
                    national_id=row.number, national_id_digest=row.digest, **work.member_values
                )
                new_members.append(work.member)
                created.append(work)
            elif work.member_fields:
                work.member.updated_at = now
                changed_members.append((work.member, work.member_fields))
        _create(new_members, Member, user, now)
        _update(changed_members, Member, user, now, extra=("updated_at",))

        new_episodes, changed_episodes, new_records, changed_records, contacts = [], [], [], [], []
        # every member the import creates: the day their records start, and the sheet's evidence
        new_baselines = [
            EvidenceBaseline(
                member=work.member,
                since=today,
                last_contact_on=work.parsed.last_contact_on,
                last_life_on=work.parsed.last_life_on,
                dues_paid_to=work.parsed.dues_paid_to,
                source=source,
            )
            for work in created
        ]
        changed_baselines: dict[tuple[str, ...], list[EvidenceBaseline]] = {}
        for work in chunk:
            if work.episode_new:
                episode = MobilityEpisode(member=work.member, **work.episode_values)
                new_episodes.append(episode)
            elif work.episode_fields:
                episode = work.episode
                changed_episodes.append((episode, work.episode_fields))
            if work.external_key is not None:
                episode.inflow_external_id = external_ids[work.external_key]
            if work.record_new:
                new_records.append(LedgerRecord(member=work.member, **work.record_values))
            elif work.record_fields:
                changed_records.append((work.record, work.record_fields))
            if work.baseline_fields:
                changed_baselines.setdefault(tuple(work.baseline_fields), []).append(work.baseline)
            if work.contact_on:
                contacts.append(
                    ContactAttempt(
                        member=work.member,
                        on=work.contact_on,
                        channel=ContactAttempt.Channel.PHONE,
                        reached=False,
                        note=IMPORT_LOST_NOTE,
                        recorded_by=user,
                    )
                )
        _create(new_episodes, MobilityEpisode, user, now)
        _update(changed_episodes, MobilityEpisode, user, now)
        _create(new_records, LedgerRecord, user, now)
        _update(changed_records, LedgerRecord, user, now)
        if contacts:
            ContactAttempt.objects.bulk_create(contacts, batch_size=CHUNK)
        copy_create(EvidenceBaseline, new_baselines, batch_size=CHUNK)
        for fields, baselines in changed_baselines.items():  # the model keeps no history
            EvidenceBaseline.objects.bulk_update(baselines, list(fields), batch_size=CHUNK)
        works[start : start + CHUNK] = [None] * len(chunk)  # let the chunk's objects go
        if progress is not None:  # unchanged rows need no writes: count them along the way
            progress(round(total * min(start + CHUNK, count) / count), total)
    if progress is not None and not count:
        progress(total, total)


def apply_import(
    *,
    content: bytes,
    file_name: str,
    user,
    default_branch=None,
    progress: Callable[[int, int], None] | None = None,
) -> ImportPlan:
    """Plan again; if the plan is clean, write every row in one transaction, else nothing."""
    prepared = _prepare(
        content=content,
        file_name=file_name,
        user=user,
        default_branch=default_branch,
        for_writing=True,
    )
    plan = prepared.plan
    if not plan.ok:
        return plan
    try:
        with transaction.atomic():
            _write(
                prepared.works,
                prepared.externals,
                user=user,
                progress=progress,
                total=len(plan.rows),
                today=plan.today,
                source=IMPORT_SOURCE.format(file_name=file_name)[:200],
            )
    except IntegrityError:
        plan.file_issues.append(
            _file_issue(
                "写入时与其他人同时进行的修改冲突（例如同一党员刚被录入），"
                "没有导入任何数据：请重新导入"
            )
        )
    return plan
