"""Issue #15, finding 3: an import stops at the row limit while reading; nothing is written and
memory stays bounded however long the file is."""

import io
import tracemalloc

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from openpyxl import Workbook

from ledgers.imports import apply_import, plan_import
from members.models import Member

from .test_ledger_import_views import HEADERS, row

LIMIT = 20


def csv_file(n: int) -> bytes:
    lines = [",".join(HEADERS)] + [",".join(map(str, row(i % 999 + 1, f"张{i}"))) for i in range(n)]
    return "\n".join(lines).encode("utf-8-sig")


def xlsx_file(n: int) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(HEADERS)
    for i in range(n):
        sheet.append(row(i % 999 + 1, f"张{i}"))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@pytest.fixture
def secretary(county, settings):
    settings.IMPORT_MAX_ROWS = LIMIT
    return county.secretary(county.branch_a, "sec")


@hypothesis_settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(n=st.integers(min_value=LIMIT - 3, max_value=LIMIT + 40))
def test_at_and_above_the_limit(secretary, county, n):
    content = csv_file(n)
    plan = plan_import(content=content, file_name="台账.csv", user=secretary)
    over = any(f"超过{LIMIT}行" in issue.message for issue in plan.file_issues)
    assert over == (n > LIMIT)
    if over:
        assert plan.rows == []  # stopped while reading: no row was checked
        applied = apply_import(content=content, file_name="台账.csv", user=secretary)
        assert not applied.ok
        assert not Member.objects.exists()  # nothing written


def _peak_mib(content: bytes, file_name: str, user) -> float:
    tracemalloc.start()
    try:
        plan_import(content=content, file_name=file_name, user=user)
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(("make", "file_name"), [(csv_file, "台账.csv"), (xlsx_file, "台账.xlsx")])
def test_a_file_far_over_the_limit_costs_what_one_at_the_limit_does(secretary, make, file_name):
    at_limit = _peak_mib(make(LIMIT), file_name, secretary)
    huge_content = make(30_000)
    huge = _peak_mib(huge_content, file_name, secretary)
    # Reading stops one row past the limit. A CSV is decoded as a whole (the text, about twice
    # the bytes); an .xlsx is read row by row.
    allowance = 3 * len(huge_content) / 2**20 if file_name.endswith(".csv") else 0
    assert huge < at_limit + allowance + 8, (at_limit, huge)
