"""What the preview says before the user confirms: the columns it does not read, and the free
text it reads as a fixed value (思想动态, 流动类型), each text once, with the rows it is on."""

from __future__ import annotations

from collections.abc import Iterator

from .api import ValueMapping
from .headers import (
    MOBILE_ONLY_FIELDS,
    NO_DEPARTURE,
    NOT_IMPORTED,
    NOT_IMPORTED_FIELDS,
    NOT_IMPORTED_HEADERS,
    REASONS_HEADER,
    REASONS_NOT_IMPORTED,
    UNKNOWN_HEADER,
    UNNAMED,
    UNREAD,
    _header_key,
    field_of_header,
)
from .reading import _is_blank, _Table
from .rows import _Row
from .values import conduct_mapped, mobility_mapped


def unread_columns(table: _Table) -> list[str]:
    """A line for each column of the header not read: 未读取的列：流动证号（本系统不导入此列）."""
    departs = "left_on" in table.columns or "is_mobile" in table.columns
    said = []
    for value in table.header_values:
        if _is_blank(value):
            continue
        header = " ".join(str(value).split())
        name = field_of_header(value)
        if name is None:
            key = _header_key(value)
            why = (
                REASONS_NOT_IMPORTED
                if key == REASONS_HEADER
                else NOT_IMPORTED
                if key in NOT_IMPORTED_HEADERS
                else UNKNOWN_HEADER
            )
        elif name in NOT_IMPORTED_FIELDS:
            why = NOT_IMPORTED
        elif name in MOBILE_ONLY_FIELDS and not departs:
            why = NO_DEPARTURE
        else:
            continue
        said.append(UNREAD.format(header=header, why=why))
    return said


class UnnamedColumns:
    """Columns with something in them under no header: not read either."""

    def __init__(self, table: _Table):
        self.width = len(table.header_values)
        self.blank = [i for i, value in enumerate(table.header_values) if _is_blank(value)]
        self.first_row: dict[int, int] = {}  # column index -> the first row with a value

    def watch(self, numbered: Iterator[tuple[int, tuple]]) -> Iterator[tuple[int, tuple]]:
        for number, values in numbered:
            if len(values) > self.width or self.blank:
                self._see(number, values)
            yield number, values

    def _see(self, number: int, values: tuple) -> None:
        width = len(values)
        for index in [*(i for i in self.blank if i < width), *range(self.width, width)]:
            if index not in self.first_row and not _is_blank(values[index]):
                self.first_row[index] = number

    def said(self) -> list[str]:
        return [
            UNREAD.format(
                header=f"{column_letter(index)}列", why=UNNAMED.format(row=self.first_row[index])
            )
            for index in sorted(self.first_row)
        ]


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA: the column as the spreadsheet names it."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


class Mappings:
    """The distinct (column, text) pairs read as a fixed value, with their rows."""

    FIELDS = (
        ("mobility_type", "mobility_text", mobility_mapped),
        ("conduct", "conduct_text", conduct_mapped),
    )

    def __init__(self, table: _Table):
        self.position = {name: columns[0][0] for name, columns in table.columns.items()}
        self.found: dict[tuple[str, str, str], ValueMapping] = {}

    def add(self, row: _Row) -> None:
        if not row.mobile:
            return  # these cells are read only for a mobile member
        for name, attname, mapped in self.FIELDS:
            text = getattr(row, attname)
            if not text:
                continue
            value = mapped(text)
            if value is None:
                continue
            column = row.headers.get(name, "")
            mapping = self.found.get((name, column, text))
            if mapping is None:
                mapping = self.found[(name, column, text)] = ValueMapping(column, text, value)
            mapping.count += 1
            if len(mapping.rows) < ValueMapping.ROWS_NAMED:
                mapping.rows.append(row.row)

    def result(self) -> list[ValueMapping]:
        """In the order of the columns, then of the first row each text is on."""
        ordered = sorted(
            self.found.items(),
            key=lambda item: (self.position.get(item[0][0], 0), item[0][1], item[1].rows[0]),
        )
        return [mapping for _key, mapping in ordered]
