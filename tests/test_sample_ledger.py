"""The sample ledger shipped for the README's walk-through imports into the demo secretary's
branch: nine rows, and one whose ID number has a typo, to show how an error is explained."""

from pathlib import Path

from ledgers.imports import plan_import
from members.demo import SECRETARY_BRANCH
from members.models import Organisation

SAMPLE = Path(__file__).resolve().parent.parent / "docs" / "sample" / "sample-ledger.xlsx"


def test_the_sample_ledger_reads_with_one_explained_error(county):
    branch = Organisation.objects.get(pk=county.branch_a.pk)
    branch.name = SECRETARY_BRANCH
    branch.save()
    plan = plan_import(
        content=SAMPLE.read_bytes(),
        file_name=SAMPLE.name,
        user=county.secretary(branch, "sample"),
    )
    assert len(plan.rows) == 10
    broken = [row for row in plan.rows if row.issues]
    assert [row.row for row in broken] == [9]  # the 7th member, under the title and header
    assert "公民身份号码" in broken[0].issues[0].column
    assert all(row.action == "create" for row in plan.rows if not row.issues)
