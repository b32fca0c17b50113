"""Importing a branch's five-clears ledger (五清台账) from a real spreadsheet.

The package, module by module: `reading` (the sheet), `headers` (the spellings seen in the
wild), `values` (one cell), `rows` (one row, on its own), `matching` (what rows are checked
against), `planning` (what each row changes; `plan_import`), `notices` (what the preview
warns of), `writing` (`apply_import`), `files` (the broken rows sent back), and `api` (the
plan and its issues).

The pipeline reads .xlsx, .xls, .xlsb and .ods through python-calamine in a child process with
a memory and CPU limit (`sandbox`), or .csv (UTF-8 or GB18030), finds
the header row under one or two title rows, maps the header spellings seen in the wild to
fields, validates every row (all problems, each with its row, column and a Chinese message),
matches members by the keyed digest of their ID number (one query per thousand rows) and
plans, for each row, whether it creates a member, updates one, or changes nothing. An ID
number on two rows breaks both.

Before the user confirms, the plan also says what the file holds that will not go in
(`notices`): every column not read ("未读取的列：流动证号（本系统不导入此列）"), and each free
text read as a fixed value, once, with its rows ("“学习认真” → 不清（第3、5行）").

`plan_import` only reads. `apply_import` plans again and, if the plan is clean, writes
everything in one transaction with bulk statements (and bulk history rows, so every member's
history shows the import and who did it). Re-importing the same sheet changes nothing.
All rows or none by default (the management command); with `skip_broken=True` (the web
import, when the user chooses it) the rows without errors are planned again on their own and
written, each row whole, and the broken ones left out. `broken_rows_xlsx` (`files`) gives the
broken rows back in the uploaded sheet's own layout, with a 错误原因 column, to fix and upload.

Rows hold clear ID numbers only in memory; the plan shows them masked.

What the sheet says of a member's life before the import (最近联系时间, 最近参加组织生活,
党费交至) becomes an `EvidenceBaseline` for every member the import creates, with `since` the
import day: a rule's clock with no evidence starts there, not years before anyone knew the
member. An existing member's baseline only moves forward; one without a baseline (their records
were already kept here) gets none.
"""

from transfers.places import parse_destination

from .api import ImportPlan, RowIssue, RowPlan, ValueMapping
from .files import broken_rows_xlsx
from .headers import ALIASES, HEADER_SEARCH_ROWS, field_of_header
from .planning import errors_kept, errors_xlsx, plan_import
from .reading import CORRUPT_CSV, CORRUPT_XLSX, UNKNOWN_ENCODING, Unreadable, count_rows
from .values import BadValue, conduct_of, parse_date
from .writing import apply_import

__all__ = [
    "ALIASES",
    "CORRUPT_CSV",
    "CORRUPT_XLSX",
    "HEADER_SEARCH_ROWS",
    "UNKNOWN_ENCODING",
    "BadValue",
    "ImportPlan",
    "RowIssue",
    "RowPlan",
    "Unreadable",
    "ValueMapping",
    "apply_import",
    "broken_rows_xlsx",
    "conduct_of",
    "count_rows",
    "errors_kept",
    "errors_xlsx",
    "field_of_header",
    "parse_date",
    "parse_destination",
    "plan_import",
]
