"""The import's results: a plan row by row, and the issues found."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

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
class ValueMapping:
    """Free text in a cell read as one of a few fixed values (思想动态, 流动类型)."""

    column: str  # the header as written in the file
    text: str  # the cell, as read
    value: str  # what it becomes, in Chinese
    rows: list[int] = field(default_factory=list)  # the first ROWS_NAMED rows it is on
    count: int = 0  # all the rows it is on

    ROWS_NAMED = 10

    @property
    def message(self) -> str:
        """“学习认真” → 不清（第3、5行）"""
        rows = "、".join(str(row) for row in self.rows)
        more = f"等，共{self.count}行" if self.count > len(self.rows) else ""
        return f"“{self.text}” → {self.value}（第{rows}行{more}）"


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
    # What the user should know before confirming: the columns not read ("未读取的列：…"),
    # and each free text read as a fixed value, in the order of the columns.
    unread_columns: list[str] = field(default_factory=list)
    mappings: list[ValueMapping] = field(default_factory=list)
    applied: bool = False  # apply_import wrote the rows without errors (all of them, by default)

    @property
    def ok(self) -> bool:
        return not self.file_issues and all(row.action != "error" for row in self.rows)

    @property
    def importable(self) -> int:
        """Rows without errors: what an import of the rows without errors takes in."""
        return 0 if self.file_issues else sum(row.action != "error" for row in self.rows)

    @property
    def partial_possible(self) -> bool:
        """Some rows are broken, some are not: the rows without errors may go in alone."""
        return 0 < self.importable < len(self.rows)

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
