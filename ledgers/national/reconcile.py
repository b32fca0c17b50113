"""Reconciling a sheet in the national format against Liudong. Reads only; writes nothing.

The workbook is read by calamine in the limited child process of the ledger import
(`imports.sandbox`, with its memory and CPU limits and its messages). Rows are matched to
members in the user's scope by the keyed digest of the ID number (every key's digest, so rows
a key rotation has not reached are still found), a thousand per query. Each matched row is
compared with the row our export would write for that member, column by column, after
normalising both (full-width characters, date spellings, 是/否); a column the sheet lacks is
not compared, nor are the home side's columns (birth date) for a member the user only hosts.

"Only in Liudong" lists the members the user holds (home side) on the roll and not in the
sheet; hosted members belong to their home county's roll, so they are matched when present
but never listed as missing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import islice

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import translation

from infrastructure.xlsx import XlsxBook
from members import crypto, national_id
from members.models import Member
from members.selectors import home_side_ids, members_editable_by, members_visible_to

from ..imports import reading, sandbox
from ..imports.headers import HEADER_SEARCH_ROWS, normalise_text
from ..imports.values import BadValue, parse_date, parse_yes_no
from . import export
from .columns import (
    COMPARED,
    DATE_COLUMNS,
    EXPORTED_STATUSES,
    HEADER_OF,
    HEADERS,
    HOME_ONLY,
    REQUIRED,
)

QUERY_CHUNK = 1000
MIN_KNOWN_HEADERS = 3
SHOWN = 200  # rows of each list on the page; the download has them all

NOT_A_WORKBOOK = (
    "这不是 Excel 工作簿：请上传从全国党员管理信息系统导出的 .xlsx 文件（也可以是 .xls、.ods）。"
)
NO_HEADER = "在前{rows}行中没有找到表头（应有“姓名”“公民身份号码”等列）：请上传全国党员管理信息系统格式的表格。"
MISSING_COLUMNS = "缺少必需的列：{names}。请在表头中加上这些列后重新上传。"
TOO_MANY_ROWS = "文件超过{limit}行党员数据：请按乡镇（党委）或党支部分成几个文件分别核对。"
EMPTY = "文件是空的，没有任何数据。"


class NotReconcilable(Exception):
    """The upload cannot be reconciled; the message says why, in Chinese."""


def max_rows() -> int:
    return getattr(settings, "NATIONAL_RECONCILE_MAX_ROWS", 50000)


@dataclass
class Difference:
    row: int
    member_id: int
    name: str
    id_shown: str
    national_id: str  # as in the sheet (the user's own file), for the download only
    columns: list[tuple[str, str, str]]  # (column, in the sheet, in Liudong)


@dataclass
class FileOnly:
    row: int
    name: str
    id_shown: str
    national_id: str
    branch: str


@dataclass
class LiudongOnly:
    member_id: int
    name: str
    id_shown: str
    national_id: str
    branch: str


@dataclass
class Broken:
    row: int
    column: str
    reason: str


@dataclass
class Reconciliation:
    rows: int = 0
    identical: int = 0
    differences: list[Difference] = field(default_factory=list)
    only_in_file: list[FileOnly] = field(default_factory=list)
    only_in_liudong: list[LiudongOnly] = field(default_factory=list)
    broken: list[Broken] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)  # the national columns the sheet has


# --- reading --------------------------------------------------------------------------------


def _sheets(content: bytes, file_name: str) -> list[list[tuple[int, tuple]]]:
    if not content:
        raise NotReconcilable(EMPTY)
    try:
        kind = reading._kind_of(content, file_name)  # noqa: SLF001 - the import's own sniffing
    except reading.Unreadable as error:
        raise NotReconcilable(str(error)) from error
    if kind == "csv":
        raise NotReconcilable(NOT_A_WORKBOOK)
    try:
        return sandbox.read_sheets(
            content,
            kind=kind,
            row_cap=max_rows() + HEADER_SEARCH_ROWS + 1,
            memory_mb=settings.IMPORT_READER_MEMORY_MB,
            seconds=settings.IMPORT_READER_SECONDS,
        )
    except sandbox.SandboxFailed as failed:
        message = {sandbox.PROTECTED: reading.PROTECTED, sandbox.BROKEN: reading.CORRUPT_XLSX}
        raise NotReconcilable(message.get(failed.reason, reading.TOO_BIG)) from failed


def _header(values: tuple) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, value in enumerate(values):
        header = HEADER_OF.get(normalise_text(value).replace(" ", ""))
        if header is not None:
            found.setdefault(header, index)
    return found


def read_table(content: bytes, file_name: str) -> tuple[dict[str, int], list[tuple[int, tuple]]]:
    """(national column -> index, the member rows after the header). Raises NotReconcilable."""
    for rows in _sheets(content, file_name):
        for position, (_number, values) in enumerate(islice(rows, HEADER_SEARCH_ROWS)):
            columns = _header(values)
            if len(columns) < MIN_KNOWN_HEADERS:
                continue
            missing = [name for name in REQUIRED if name not in columns]
            if missing:
                raise NotReconcilable(MISSING_COLUMNS.format(names="、".join(missing)))
            data = [
                (number, row)
                for number, row in rows[position + 1 :]
                if _filled(row, columns["姓名"]) or _filled(row, columns["公民身份号码"])
            ]
            if len(data) > max_rows():
                raise NotReconcilable(TOO_MANY_ROWS.format(limit=max_rows()))
            return columns, data
    raise NotReconcilable(NO_HEADER.format(rows=HEADER_SEARCH_ROWS))


def _filled(values: tuple, index: int) -> bool:
    return index < len(values) and normalise_text(values[index]) != ""


# --- one cell, either side -----------------------------------------------------------------

SEPARATORS = re.compile(r"[\s/／\-—、,，·]")
CATEGORY_WORDS = {"正式": "正式党员", "预备": "预备党员"}
GENDER_WORDS = {"男性": "男", "女性": "女"}


def canonical(column: str, value) -> str:
    """A cell as compared: dates as yyyy-mm-dd, words in one spelling. Raises BadValue."""
    if column in DATE_COLUMNS:
        if normalise_text(value) == "":
            return ""
        return parse_date(value, from_xlsx=True)[0].isoformat()
    text = normalise_text(value)
    if column == "是否流动党员":
        return "" if text == "" else ("是" if parse_yes_no(text) else "否")
    if column == "人员类别":
        return CATEGORY_WORDS.get(text, text)
    if column == "性别":
        return GENDER_WORDS.get(text, text)
    if column in ("外出流向", "联系电话", "所在党支部", "流入地党组织"):
        return SEPARATORS.sub("", text)
    return text


def _zh(error: ValidationError) -> str:
    with translation.override("zh-hans"):
        return str(error.messages[0])


def _number_of(value) -> str:
    """The sheet's ID number, normalised and valid. Raises BadValue with the reason."""
    if isinstance(value, float):
        raise BadValue(
            "公民身份号码被 Excel 存成了数字，后几位已丢失：请把该列设为文本后重新导出。"
        )
    text = normalise_text(value)
    if text == "":
        raise BadValue("公民身份号码为空，无法与本系统核对。")
    if "*" in text:
        raise BadValue("公民身份号码被遮挡（如流入地导出的表），无法核对：请使用完整号码的表格。")
    try:
        return national_id.validate(text)
    except ValidationError as error:
        raise BadValue(_zh(error)) from error


# --- reconciling ---------------------------------------------------------------------------


@dataclass
class _Row:
    number: int
    national_id: str
    cells: dict[str, str]  # column -> canonical value (the columns that could be read)
    branch: str = ""  # as written, for the "only in the sheet" list


def _parse(columns: dict[str, int], rows, outcome: Reconciliation) -> list[_Row]:
    parsed: list[_Row] = []
    seen: dict[str, int] = {}
    for number, values in rows:

        def cell(column: str, values: tuple = values):
            index = columns[column]
            return values[index] if index < len(values) else None

        try:
            number_text = _number_of(cell("公民身份号码"))
        except BadValue as error:
            outcome.broken.append(Broken(number, "公民身份号码", str(error)))
            continue
        if number_text in seen:
            reason = f"与第{seen[number_text]}行的公民身份号码重复。"
            outcome.broken.append(Broken(number, "公民身份号码", reason))
            continue
        seen[number_text] = number
        cells: dict[str, str] = {}
        for column in COMPARED:
            if column not in columns:
                continue
            try:
                cells[column] = canonical(column, cell(column))
            except BadValue as error:
                outcome.broken.append(Broken(number, column, str(error)))
        if not cells.get("姓名"):
            outcome.broken.append(Broken(number, "姓名", "姓名为空。"))
        branch = normalise_text(cell("所在党支部")) if "所在党支部" in columns else ""
        parsed.append(_Row(number, number_text, cells, branch))
    return parsed


def _match(user, parsed: list[_Row]) -> dict[int, Member]:
    """Row number -> the member in the user's scope with that ID number."""
    by_digest: dict[str, _Row] = {}
    for row in parsed:
        for digest in crypto.digests(row.national_id):
            by_digest[digest] = row
    found: dict[int, Member] = {}
    digests = list(by_digest)
    visible = members_visible_to(user).select_related("home_branch")
    for start in range(0, len(digests), QUERY_CHUNK):
        chunk = digests[start : start + QUERY_CHUNK]
        for member in visible.filter(national_id_digest__in=chunk):
            found[by_digest[member.national_id_digest].number] = member
    return found


def reconcile(*, user, content: bytes, file_name: str) -> Reconciliation:
    """Compare the uploaded national sheet with the user's scope. Raises NotReconcilable."""
    columns, rows = read_table(content, file_name)
    outcome = Reconciliation(rows=len(rows), columns=[h for h in HEADERS if h in columns])
    parsed = _parse(columns, rows, outcome)
    found = _match(user, parsed)
    matched_rows = [row for row in parsed if row.number in found]
    members = [found[row.number] for row in matched_rows]
    held = home_side_ids(user=user, members=members)
    ours = export.rows_of(user, members)
    for row, member, our_row in zip(matched_rows, members, ours, strict=True):
        home_side = member.pk in held
        differing = []
        for column, theirs in row.cells.items():
            if column in HOME_ONLY and not home_side:
                continue  # the hosting side does not see it: nothing to compare
            mine = canonical(column, our_row[HEADERS.index(column)])
            if theirs != mine:
                differing.append((column, theirs, mine))
        if differing:
            outcome.differences.append(
                Difference(
                    row.number,
                    member.pk,
                    member.name,
                    member.national_id_masked if home_side else member.national_id_tail,
                    row.national_id,
                    differing,
                )
            )
        else:
            outcome.identical += 1
    for row in parsed:
        if row.number not in found:
            outcome.only_in_file.append(
                FileOnly(
                    row.number,
                    row.cells.get("姓名", ""),
                    national_id.mask(row.national_id),
                    row.national_id,
                    row.branch,
                )
            )
    outcome.only_in_liudong = _only_in_liudong(user, {member.pk for member in members})
    outcome.broken.sort(key=lambda broken: broken.row)
    return outcome


def _only_in_liudong(user, matched: set[int]) -> list[LiudongOnly]:
    """The user's own members on the roll whose ID number the sheet lacks."""
    held = members_editable_by(user).filter(status__in=EXPORTED_STATUSES)
    missing = [pk for pk in held.values_list("pk", flat=True) if pk not in matched]
    listed: list[LiudongOnly] = []
    for start in range(0, len(missing), QUERY_CHUNK):
        chunk = missing[start : start + QUERY_CHUNK]
        for member in held.filter(pk__in=chunk).select_related("home_branch"):
            listed.append(
                LiudongOnly(
                    member.pk,
                    member.name,
                    member.national_id_masked,
                    member.national_id,
                    member.home_branch.name,
                )
            )
    listed.sort(key=lambda item: (item.branch, item.name, item.member_id))
    return listed


# --- the download ------------------------------------------------------------------------------


def result_xlsx(outcome: Reconciliation) -> bytes:
    """The differences, the two "only in" lists and the broken rows, a sheet each. The ID
    numbers are full: the sheet's own, and the members the user holds."""
    book = XlsxBook()
    book.add_sheet(
        "差异",
        ["行号", "姓名", "公民身份号码", "列", "全国系统", "本系统"],
        (
            [difference.row, difference.name, difference.national_id, column, theirs, mine]
            for difference in outcome.differences
            for column, theirs, mine in difference.columns
        ),
    )
    book.add_sheet(
        "仅在全国系统",
        ["行号", "姓名", "公民身份号码", "所在党支部"],
        ([item.row, item.name, item.national_id, item.branch] for item in outcome.only_in_file),
    )
    book.add_sheet(
        "仅在本系统",
        ["姓名", "公民身份号码", "所在党支部"],
        ([item.name, item.national_id, item.branch] for item in outcome.only_in_liudong),
    )
    book.add_sheet(
        "问题行",
        ["行号", "列", "问题"],
        ([item.row, item.column, item.reason] for item in outcome.broken),
    )
    return book.to_bytes()
