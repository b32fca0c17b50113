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
