"""Reading a sheet: .xlsx through a lean streaming reader (openpyxl as the fallback) or .csv,
then finding the header row under the titles."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice

from .headers import (
    HEADER_SEARCH_ROWS,
    LABEL,
    MIN_KNOWN_HEADERS,
    field_of_header,
)

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
