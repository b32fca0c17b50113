"""One sheet row parsed and checked on its own (no database): every problem named."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import date

from django.core.exceptions import ValidationError

from members import crypto, national_id, phone
from members.models import Member

from .api import (
    RowIssue,
)
from .headers import (
    DUES_PREPAID_MONTHS,
    EVIDENCE_FIELDS,
    LABEL,
    normalise_text,
)
from .reading import (
    _cell,
    _Table,
)
from .values import (
    BadValue,
    _zh,
    conduct_of,
    parse_date,
    parse_yes_no,
)

# --- parsing rows ----------------------------------------------------------------------------

REPEATED_TEXTS_KEPT = 4096  # distinct cells of the repeated columns remembered, normalised


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
    conduct_text: str = ""  # the 思想动态 cell as read
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
    width = len(values)
    for name, index in table.single_columns:  # as _cell, for a field with one column
        if index < width:
            value = values[index]
            if value is not None and not (isinstance(value, str) and not value.strip()):
                raw[name] = value
    for name, columns in table.multiple_columns:
        value, header = _cell(values, columns, name)
        if value is not None:
            raw[name] = value
            if header != headers[name]:
                headers = {**headers, name: header}
    row = _Row(number, None, headers)
    seen = table.texts

    def text(name: str, limit: int | None = None, repeated: bool = False) -> str:
        cell = raw.get(name)
        if repeated and type(cell) is str:  # the same few texts on thousands of rows
            value = seen.get(cell)
            if value is None:  # normalised once, and one copy kept
                value = sys.intern(normalise_text(cell))
                if len(seen) < REPEATED_TEXTS_KEPT:
                    seen[cell] = value
        else:
            value = normalise_text(cell)
            if repeated:
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
            row.conduct_text = text("conduct", repeated=True)
            row.conduct = conduct_of(row.conduct_text)

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
