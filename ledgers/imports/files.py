"""The broken rows of an upload, sent back in the uploaded sheet's own layout to be fixed.

The rows above the header (titles), the header row and every column stay as they were; each
row with an error keeps its cells as the file had them (text as text, so an ID number stays
exact; a date as a date), and one column is added at the end, 错误原因, with each problem and
its column. Fixed and uploaded again, the file reads like the original (the preview names
错误原因 among the columns it does not read).
"""

from __future__ import annotations

import math
from datetime import datetime

from infrastructure.xlsx import FORMULA_PREFIXES, XlsxBook

from .api import ImportPlan, RowIssue
from .headers import REASONS_HEADER
from .reading import Unreadable, _open_table

SHEET_TITLE = "待更正的行"
EPOCH = datetime(1899, 12, 30)  # the reader gives a time of day on this day


def reasons_of(issues: list[RowIssue]) -> str:
    """“手机号码：电话号码“123”格式不对…；公民身份号码：…”"""
    return "；".join(
        f"{issue.column}：{issue.message}" if issue.column else issue.message for issue in issues
    )


class _Writer:
    """Cells written as the reader gave them: text, numbers, yes/no, dates and times."""

    def __init__(self, book: XlsxBook):
        workbook = book.workbook
        self.sheet = workbook.add_worksheet(SHEET_TITLE)
        # Text that starts like a formula stays text, even once the cell is edited: the quote
        # prefix is a format, not a character, so the value reads back as it was.
        self.as_text = workbook.add_format({"quote_prefix": True})
        self.day = workbook.add_format({"num_format": "yyyy-mm-dd"})
        self.moment = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        self.time = workbook.add_format({"num_format": "hh:mm:ss"})
        self.bold = workbook.add_format({"bold": True})

    def row(self, number: int, values, cell_format=None) -> None:
        for column, value in enumerate(values):
            self.cell(number, column, value, cell_format)

    def cell(self, row: int, column: int, value, cell_format=None) -> None:
        sheet = self.sheet
        if value is None:
            return
        if isinstance(value, bool):
            sheet.write_boolean(row, column, value, cell_format)
        elif isinstance(value, int | float):
            if isinstance(value, float) and not math.isfinite(value):
                sheet.write_string(row, column, repr(value), cell_format)
            else:
                sheet.write_number(row, column, value, cell_format)
        elif isinstance(value, datetime):
            if value.date() == EPOCH.date():
                fraction = (value - EPOCH).total_seconds() / 86400
                sheet.write_number(row, column, fraction, cell_format or self.time)
            elif value.year < 1900:
                sheet.write_string(row, column, value.isoformat(sep=" "), cell_format)
            else:
                whole_day = value == datetime(value.year, value.month, value.day)
                shown = cell_format or (self.day if whole_day else self.moment)
                sheet.write_datetime(row, column, value, shown)
        else:
            text = str(value)
            if text.startswith(FORMULA_PREFIXES):
                cell_format = cell_format or self.as_text
            sheet.write_string(row, column, text, cell_format)


def broken_rows_xlsx(*, content: bytes, file_name: str, plan: ImportPlan) -> bytes | None:
    """The rows of `plan` with errors, in the layout of the uploaded file; None without any."""
    reasons = {row.row: reasons_of(row.issues) for row in plan.rows if row.action == "error"}
    if not reasons:
        return None
    try:
        table = _open_table(content, file_name)
    except Unreadable:
        return None
    if table is None:
        return None
    picked: list[tuple[int, tuple]] = []
    for number, values in table.rows:
        if number in reasons:
            picked.append((number, values))
            if len(picked) == len(reasons):
                break
    width = max([len(table.header_values)] + [len(values) for _number, values in picked])

    book = XlsxBook()
    writer = _Writer(book)
    for number, values in enumerate(table.titles):
        writer.row(number, values)
    header_at = len(table.titles)
    writer.row(header_at, table.header_values, writer.bold)
    writer.cell(header_at, width, REASONS_HEADER, writer.bold)
    text = book.workbook.add_format({"num_format": "@"})  # typed ID numbers stay text
    for index, _header in table.columns.get("national_id", []):
        writer.sheet.set_column(index, index, 20, text)
    writer.sheet.set_column(width, width, 60)
    for offset, (number, values) in enumerate(picked, start=header_at + 1):
        writer.row(offset, values)
        writer.cell(offset, width, reasons[number])
    writer.sheet.freeze_panes(header_at + 1, 0)
    return book.to_bytes()
