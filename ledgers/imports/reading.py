"""Reading a sheet: .xlsx, .xlsm, .xlsb, .xls and .ods through python-calamine (Rust), or .csv;
then finding the header row under the titles."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice

from django.conf import settings

from . import sandbox
from .headers import HEADER_SEARCH_ROWS, LABEL, MIN_KNOWN_HEADERS, field_of_header

# --- reading ---------------------------------------------------------------------------------


class Unreadable(Exception):
    """The file cannot be read as a spreadsheet; the message says why, in Chinese."""


CORRUPT_XLSX = "无法读取这个 Excel 文件：文件可能已损坏，请重新保存为 .xlsx 后再上传。"
CORRUPT_CSV = (  # csv.Error: a cell over the field size limit, mostly from an unclosed quote
    "无法读取这个 CSV 文件：有一个单元格过长，可能是引号没有成对。"
    "请在 Excel 中打开检查后另存为 .xlsx 再上传。"
)
UNKNOWN_ENCODING = "无法识别文件的文字编码：请把 CSV 另存为 UTF-8 编码，或直接上传 .xlsx 文件。"
PROTECTED = "这个文件设置了打开密码：请在 Excel 中取消密码后另存为 .xlsx 再上传。"
TOO_BIG = (
    "文件中的表格过大（行列太多，或有内容的单元格远在右侧、下方）："
    "请只保留台账所在的行列，或按党支部分成几个文件分别导入。"
)
OVER_LIMIT = (  # as planning says it when it counts the member rows
    "文件超过{limit}行党员数据：请按党支部分成几个文件分别导入（一个党支部的台账通常不过几千行）"
)

OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls (and WPS's .et/.xls)
ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"


def _kind_of(content: bytes, file_name: str) -> str:
    """What the bytes are, whatever the name says: xlsx (or xlsm), xlsb, ods, xls or csv."""
    if content[:4] == b"PK\x03\x04":
        try:
            archive = zipfile.ZipFile(io.BytesIO(content))
            names = set(archive.namelist())
            if "mimetype" in names and archive.read("mimetype").strip() == ODS_MIMETYPE:
                return "ods"
        except Exception:  # a broken zip: the reader will say so
            return "xlsx"
        return "xlsb" if "xl/workbook.bin" in names else "xlsx"
    if content[:8] == OLE2:
        return "xls"
    if file_name.lower().endswith((".xlsx", ".xlsm", ".xlsb", ".ods")):
        raise Unreadable(CORRUPT_XLSX)
    return "csv"  # anything else is text: WPS and old systems save CSV or TSV as ".xls" too


def _caps() -> tuple[int, int]:
    """The row limit, and the rows of a sheet no ledger under it comes near."""
    limit = settings.IMPORT_MAX_ROWS
    return limit, 3 * limit + 1000


def _workbook_sheets(content: bytes, kind: str) -> Iterator[Iterator[tuple[int, tuple]]]:
    """Each worksheet's rows, the saved sheet first, read by calamine in a limited child."""
    _limit, row_cap = _caps()
    try:
        sheets = sandbox.read_sheets(
            content,
            kind=kind,
            row_cap=row_cap,
            memory_mb=settings.IMPORT_READER_MEMORY_MB,
            seconds=settings.IMPORT_READER_SECONDS,
        )
    except sandbox.SandboxFailed as failed:
        message = {sandbox.PROTECTED: PROTECTED, sandbox.BROKEN: CORRUPT_XLSX}
        raise Unreadable(message.get(failed.reason, TOO_BIG)) from failed
    for rows in sheets:
        yield iter(rows)


def _guarded(
    rows: Iterator[tuple[int, tuple]], message: str = CORRUPT_XLSX
) -> Iterator[tuple[int, tuple]]:
    """A sheet that turns out broken half-way is unreadable, not a crash."""
    try:
        yield from rows
    except Unreadable:
        raise
    except BaseException as error:
        if not _failed(error):
            raise
        raise Unreadable(message) from error


def _failed(error: BaseException) -> bool:
    """An Exception, or a panic in calamine's Rust (pyo3's PanicException: a BaseException)."""
    return isinstance(error, Exception) or type(error).__name__ == "PanicException"


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
    header_values: tuple = ()  # the header row as written
    titles: list[tuple] = field(default_factory=list)  # the rows above it, as written
    texts: dict[str, str] = field(default_factory=dict)  # repeated cells, normalised (rows)

    @property
    def headers(self) -> dict[str, str]:
        """field -> the header of its first column (the one named in messages)."""
        if not hasattr(self, "_headers"):
            self._headers = {name: columns[0][1] for name, columns in self.columns.items()}
        return self._headers

    @property
    def single_columns(self) -> list[tuple[str, int]]:
        """(field, index) of the fields read from one column: most of them, read directly."""
        if not hasattr(self, "_single"):
            self._single = [
                (name, columns[0][0]) for name, columns in self.columns.items() if len(columns) == 1
            ]
            self._multiple = [
                (name, columns) for name, columns in self.columns.items() if len(columns) > 1
            ]
        return self._single

    @property
    def multiple_columns(self) -> list[tuple[str, list[tuple[int, str]]]]:
        """(field, its columns) of the fields with more than one column (first filled wins)."""
        self.single_columns  # noqa: B018 - computes both
        return self._multiple


def _find_header(numbered: Iterator[tuple[int, tuple]]) -> _Table | None:
    titles: list[tuple] = []
    for number, values in islice(numbered, HEADER_SEARCH_ROWS):
        columns: dict[str, list[tuple[int, str]]] = {}
        for index, value in enumerate(values):
            name = field_of_header(value)
            if name is not None:
                columns.setdefault(name, []).append((index, str(value).strip()))
        if "name" in columns and len(columns) >= MIN_KNOWN_HEADERS:
            return _Table(number, columns, numbered, tuple(values), titles)
        titles.append(tuple(values))
    return None


def _open_table(content: bytes, file_name: str) -> _Table | None:
    """The first sheet with a header row; None if there is none. Raises Unreadable."""
    if not content:
        raise Unreadable("文件是空的，没有任何数据。")
    kind = _kind_of(content, file_name)
    if kind == "csv":
        return _find_header(_guarded(enumerate(_csv_rows(content), start=1), CORRUPT_CSV))
    for rows in _workbook_sheets(content, kind):
        table = _find_header(rows)
        if table is not None:
            return table
    return None


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
        # A repeated header row. (Only 姓 itself becomes 姓 under NFKC: no name without it
        # can be the header, and field_of_header need not be asked.)
        if (
            isinstance(name, str)
            and len(name) < 8
            and "姓" in name
            and field_of_header(name) == "name"
        ):
            continue
        yield number, values


def count_rows(*, content: bytes, file_name: str) -> int:
    """How many member rows the file holds (0 if it cannot be read)."""
    try:
        table = _open_table(content, file_name)
        return 0 if table is None else sum(1 for _ in _data_rows(table))
    except Unreadable:
        return 0
