"""Issue #20: the national format — members and mobile members in the columns of the national
Party member information system's sheet, exported per scope and reconciled on upload."""

import io
import os
from datetime import date
from pathlib import Path

import pytest
from django.urls import reverse
from python_calamine import CalamineWorkbook

from infrastructure.xlsx import write_table_xlsx
from ledgers.models import LedgerExport
from ledgers.national import export, reconcile
from ledgers.national.columns import COLUMNS, HEADERS
from members import national_id
from members.models import ExternalOrganisation, Member, SensitiveAccess
from transfers.models import ActivityCertificate, MobilityEpisode

SAMPLE = Path(__file__).resolve().parent.parent / "docs" / "sample" / "national-sample.xlsx"


def _sheet(content: bytes) -> list[list]:
    """The first sheet as values, the title and date rows included."""
    book = CalamineWorkbook.from_filelike(io.BytesIO(content))
    return book.get_sheet_by_index(0).to_python()


def _table(content: bytes) -> tuple[list, list[dict]]:
    rows = _sheet(content)
    header = rows.index(next(row for row in rows if row[:2] == ["序号", "姓名"]))
    return rows[:header], [dict(zip(rows[header], row, strict=True)) for row in rows[header + 1 :]]


def _other_id(number: str) -> str:
    """The same number with another (wrong) check digit."""
    wrong = next(c for c in "0123456789X" if c != number[17])
    return number[:17] + wrong


@pytest.fixture
def small(county):
    """Branch A: a mobile member (episode to 深圳, a certificate) and one at home; branch B: a
    member who works in 深圳 and is hosted by branch A (the inflow side); branch A2: one."""
    shenzhen = ExternalOrganisation.objects.create(
        name="深圳市南山区科技园流动党员党支部", region="广东省深圳市"
    )
    mobile = county.member(county.branch_a, name="李流动", birth_date=date(1990, 5, 6))
    episode = MobilityEpisode.objects.create(
        member=mobile,
        mobility_type=MobilityEpisode.Type.WORK,
        left_on=date(2024, 3, 1),
        destination_province="广东省",
        destination_city="深圳市",
        destination_county="南山区",
        occupation="电子厂工人",
        inflow_external=shenzhen,
    )
    certificate = ActivityCertificate.objects.create(
        number="测证〔2024〕001号",
        member=mobile,
        episode=episode,
        issuing_branch=county.branch_a,
        stamping_committee=county.township_a,
        issued_on=date(2024, 3, 2),
        reason="务工",
        destination="广东省深圳市",
        inflow_external=shenzhen,
    )
    home = county.member(
        county.branch_a,
        name="王在家",
        gender=Member.Gender.FEMALE,
        category=Member.Category.PROBATIONARY,
        confirmed_on=None,
        joined_on=date(2024, 1, 5),
    )
    hosted = county.member(county.branch_b, name="赵外县", birth_date=date(1988, 1, 2))
    MobilityEpisode.objects.create(
        member=hosted,
        mobility_type=MobilityEpisode.Type.WORK,
        left_on=date(2023, 9, 1),
        destination_province="广东省",
        destination_city="深圳市",
        inflow_organisation=county.branch_a,
    )
    other = county.member(county.branch_a2, name="钱乙村")
    removed = county.member(county.branch_a, name="孙已除名", status=Member.Status.REMOVED)
    return {
        "mobile": mobile,
        "certificate": certificate,
        "home": home,
        "hosted": hosted,
        "other": other,
        "removed": removed,
    }


# --- export --------------------------------------------------------------------------------


def test_every_column_says_its_source_and_whether_it_is_public():
    assert HEADERS[:4] == ["序号", "姓名", "性别", "公民身份号码"]
    for column in COLUMNS:
        assert column.source and column.basis in ("public", "assumption")
    assert "学历" not in HEADERS  # Liudong does not hold it: left out, not exported empty


def test_export_has_the_national_columns_and_values_for_the_home_branch(small, county):
    secretary = county.secretary(county.branch_a)
    above, rows = _table(export.export_xlsx(user=secretary, today=date(2025, 1, 15)))
    assert above[0][0] == "甲村党支部 党员信息（全国党员管理信息系统格式）"
    assert above[1][0] == "导出日期：2025-01-15"
    by_name = {row["姓名"]: row for row in rows}
    # Branch A's own two, and the member it hosts; not A2's, not the removed one.
    assert set(by_name) == {"李流动", "王在家", "赵外县"}
    mobile = by_name["李流动"]
    assert mobile["公民身份号码"] == small["mobile"].national_id  # the home side: full
    assert mobile["出生日期"] == date(1990, 5, 6)
    assert mobile["性别"] == "男"
    assert mobile["人员类别"] == "正式党员"
    assert mobile["入党日期"] == date(2010, 7, 1)
    assert mobile["转为正式党员日期"] == date(2011, 7, 1)
    assert mobile["所在党支部"] == "甲村党支部"
    assert mobile["党籍状态"] == "正常"
    assert mobile["是否流动党员"] == "是"
    assert mobile["外出日期"] == date(2024, 3, 1)
    assert mobile["外出流向"] == "广东省深圳市"
    assert mobile["流入地党组织"] == "深圳市南山区科技园流动党员党支部"
    assert mobile["流出地党组织"] == "甲村党支部"
    assert mobile["流动党员活动证号"] == "测证〔2024〕001号"
    assert mobile["工作岗位"] == "电子厂工人"
    at_home = by_name["王在家"]
    assert (at_home["性别"], at_home["人员类别"], at_home["是否流动党员"]) == (
        "女",
        "预备党员",
        "否",
    )
    assert at_home["外出流向"] == "" and at_home["流动党员活动证号"] == ""
    # The hosting side: the last four characters only, and no birth date.
    hosted = by_name["赵外县"]
    assert hosted["公民身份号码"] == "*" * 14 + small["hosted"].national_id[-4:]
    assert hosted["出生日期"] == ""
    assert hosted["流入地党组织"] == "甲村党支部"


def test_the_export_view_logs_the_export_before_the_file_leaves(small, county, client):
    reviewer = county.reviewer(county.county)
    client.force_login(reviewer)
    response = client.get(reverse("ledgers:national_export"))
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith('.xlsx"')
    logged = SensitiveAccess.objects.get(user=reviewer)
    assert logged.action == SensitiveAccess.Action.EXPORT_LEDGER
    assert "全国党员信息系统格式" in logged.detail
    _above, rows = _table(response.content)
    assert {row["姓名"] for row in rows} == {"李流动", "王在家", "赵外县", "钱乙村"}


def test_a_large_export_goes_to_the_ledgers_background_job(
    small, county, client, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.EXPORT_BACKGROUND_ROWS = 1
    sent = []
    monkeypatch.setattr("ledgers.tasks.enqueue", lambda task, *args: sent.append(args) or True)
    reviewer = county.reviewer(county.county)
    client.force_login(reviewer)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(reverse("ledgers:national_export"))
    assert response.status_code == 302 and response.url == reverse("ledgers:jobs")
    job = LedgerExport.objects.get(user=reviewer)
    assert job.filters == {"layout": export.LAYOUT} and job.rows_total == 4
    assert sent == [(job.pk,)]
    assert SensitiveAccess.objects.filter(
        user=reviewer, action=SensitiveAccess.Action.EXPORT_LEDGER
    ).exists()
    # What the worker makes of it.
    _above, rows = _table(export.run_export_job(job=job))
    assert len(rows) == 4 and list(rows[0]) == HEADERS


def test_the_worker_writes_the_national_layout_for_a_national_job(small, county):
    from ledgers import jobs, staging

    reviewer = county.reviewer(county.county)
    job = LedgerExport.objects.create(
        user=reviewer,
        file_format="xlsx",
        filters={"layout": export.LAYOUT},
        status=LedgerExport.Status.RUNNING,
        rows_total=4,
    )
    assert jobs.run_export(job_id=job.pk) == LedgerExport.Status.READY
    _above, rows = _table(staging.fetch(f"export-{job.pk}"))
    assert list(rows[0]) == HEADERS


# --- reconciliation ------------------------------------------------------------------------


def _reconcile(user, content: bytes, name: str = "national.xlsx"):
    return reconcile.reconcile(user=user, content=content, file_name=name)


def test_our_own_export_reconciles_as_all_identical(small, county, client):
    reviewer = county.reviewer(county.county)
    content = export.export_xlsx(user=reviewer)
    outcome = _reconcile(reviewer, content)
    assert (outcome.rows, outcome.identical) == (4, 4)
    assert outcome.differences == [] and outcome.broken == []
    assert outcome.only_in_file == [] and outcome.only_in_liudong == []
    # The page says the same.
    client.force_login(reviewer)
    upload = io.BytesIO(content)
    upload.name = "national.xlsx"
    page = client.post(reverse("ledgers:national_reconcile"), {"file": upload})
    assert page.status_code == 200
    assert b'<td class="identical">4</td>' in page.content


def test_a_changed_name_and_a_missing_member_show_as_difference_and_only_in(small, county, client):
    reviewer = county.reviewer(county.county)
    _above, rows = _table(export.export_xlsx(user=reviewer))
    for row in rows:
        if row["姓名"] == "李流动":
            row["姓名"] = "李留动"
            row["外出流向"] = "浙江省杭州市"
    rows = [row for row in rows if row["姓名"] != "王在家"]
    stranger = national_id.normalise("11010519491231002X")
    rows.append({**rows[0], "姓名": "周外人", "公民身份号码": stranger, "所在党支部": "某支部"})
    sheet = write_table_xlsx(HEADERS, [list(row.values()) for row in rows], title="党员")
    outcome = _reconcile(reviewer, sheet)
    (difference,) = outcome.differences
    assert difference.member_id == small["mobile"].pk
    assert difference.columns == [
        ("姓名", "李留动", "李流动"),
        ("外出流向", "浙江省杭州市", "广东省深圳市"),
    ]
    assert [item.member_id for item in outcome.only_in_liudong] == [small["home"].pk]
    assert [(item.name, item.branch) for item in outcome.only_in_file] == [("周外人", "某支部")]
    assert outcome.identical == 2
    # The page lists them, showing the masked number, never the full one.
    client.force_login(reviewer)
    upload = io.BytesIO(sheet)
    upload.name = "changed.xlsx"
    page = client.post(reverse("ledgers:national_reconcile"), {"file": upload}).content.decode()
    assert '<td class="column">姓名</td><td>李留动</td><td>李流动</td>' in page
    assert small["home"].national_id_masked in page and small["home"].national_id not in page
    # The download has the same three lists.
    book = CalamineWorkbook.from_filelike(io.BytesIO(reconcile.result_xlsx(outcome)))
    assert book.sheet_names == ["差异", "仅在全国系统", "仅在本系统", "问题行"]
    assert book.get_sheet_by_name("差异").to_python()[1][3:] == ["姓名", "李留动", "李流动"]
    assert book.get_sheet_by_name("仅在本系统").to_python()[1] == [
        "王在家",
        small["home"].national_id,
        "甲村党支部",
    ]


def test_a_broken_row_gives_its_row_column_and_reason(small, county):
    reviewer = county.reviewer(county.county)
    good = small["home"].national_id
    sheet = write_table_xlsx(
        ["序号", "姓名", "公民身份号码", "入党日期"],
        [
            [1, "王在家", good, date(2024, 1, 5)],
            [2, "错号码", _other_id(small["other"].national_id), date(2010, 7, 1)],
            [3, "坏日期", small["other"].national_id, "2010年13月1日"],
            [4, "重复", good, date(2024, 1, 5)],
        ],
        title="党员",
        heading="某县 党员信息",
    )
    outcome = _reconcile(reviewer, sheet)
    assert [(b.row, b.column) for b in outcome.broken] == [
        (4, "公民身份号码"),
        (5, "入党日期"),
        (6, "公民身份号码"),
    ]
    assert "校验码不正确" in outcome.broken[0].reason
    assert "日期无效" in outcome.broken[1].reason
    assert "与第3行的公民身份号码重复" in outcome.broken[2].reason
    # The row with the bad date is still matched: its member is not "only in Liudong".
    assert small["other"].pk not in {item.member_id for item in outcome.only_in_liudong}


def test_scope_keeps_other_branches_out_of_only_in_liudong(small, county):
    secretary = county.secretary(county.branch_a)
    sheet = write_table_xlsx(
        ["序号", "姓名", "公民身份号码"],
        [[1, "钱乙村", small["other"].national_id]],
        title="党员",
    )
    outcome = _reconcile(secretary, sheet)
    listed = {item.member_id for item in outcome.only_in_liudong}
    assert listed == {small["mobile"].pk, small["home"].pk}  # branch A's own roll, no more
    assert small["other"].pk not in listed and small["hosted"].pk not in listed
    # Another branch's member in the sheet is not matched (not in scope): only in the sheet.
    assert [item.name for item in outcome.only_in_file] == ["钱乙村"]
    assert outcome.differences == [] and outcome.identical == 0


def test_a_hosted_member_is_compared_without_the_home_sides_columns(small, county):
    secretary = county.secretary(county.branch_a)
    hosted = small["hosted"]
    sheet = write_table_xlsx(
        ["序号", "姓名", "公民身份号码", "出生日期", "所在党支部"],
        [[1, "赵外县", hosted.national_id, date(1950, 1, 1), "丙村党支部"]],
        title="党员",
    )
    outcome = _reconcile(secretary, sheet)
    assert outcome.identical == 1 and outcome.differences == []  # the birth date is not shown


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"\xe5\xa7\x93\xe5\x90\x8d,x\n", "n.csv", reconcile.NOT_A_WORKBOOK),
        (b"", "n.xlsx", reconcile.EMPTY),
        (b"PK\x03\x04broken", "n.xlsx", "无法读取这个 Excel 文件"),
    ],
)
def test_input_that_is_not_a_workbook_gets_a_chinese_message(county, content, name, message):
    reviewer = county.reviewer(county.county)
    with pytest.raises(reconcile.NotReconcilable, match=message):
        _reconcile(reviewer, content, name)


def test_missing_required_columns_are_named(county):
    reviewer = county.reviewer(county.county)
    sheet = write_table_xlsx(
        ["序号", "姓名", "性别", "民族"], [[1, "张三", "男", "汉族"]], title="x"
    )
    with pytest.raises(reconcile.NotReconcilable, match="缺少必需的列：公民身份号码"):
        _reconcile(reviewer, sheet)


def test_too_many_rows_are_refused_with_the_limit(small, county, settings, client):
    settings.NATIONAL_RECONCILE_MAX_ROWS = 3
    reviewer = county.reviewer(county.county)
    client.force_login(reviewer)
    upload = io.BytesIO(export.export_xlsx(user=reviewer))  # four rows
    upload.name = "national.xlsx"
    page = client.post(reverse("ledgers:national_reconcile"), {"file": upload})
    assert page.status_code == 200
    assert "文件超过3行党员数据" in page.content.decode()
    assert not SensitiveAccess.objects.exists()  # nothing left the system


def test_the_download_is_the_users_own_and_is_logged(small, county, client):
    reviewer = county.reviewer(county.county)
    client.force_login(reviewer)
    upload = io.BytesIO(export.export_xlsx(user=reviewer))
    upload.name = "national.xlsx"
    page = client.post(reverse("ledgers:national_reconcile"), {"file": upload})
    token = page.context["token"]
    url = reverse("ledgers:national_reconcile_download", args=[token])
    other = county.reviewer(county.county, username="another-reviewer")
    client.force_login(other)
    assert client.get(url).status_code == 404
    client.force_login(reviewer)
    response = client.get(url)
    assert response.status_code == 200
    logged = SensitiveAccess.objects.get(user=reviewer)
    assert logged.action == SensitiveAccess.Action.EXPORT_LEDGER
    assert "核对结果" in logged.detail


def test_the_sample_file_has_the_current_columns(small, county):
    """docs/sample/national-sample.xlsx is this export of the small county (a reviewer's);
    WRITE_NATIONAL_SAMPLE=1 writes it again."""
    if os.environ.get("WRITE_NATIONAL_SAMPLE") == "1":
        reviewer = county.reviewer(county.county)
        SAMPLE.write_bytes(export.export_xlsx(user=reviewer, today=date(2025, 1, 15)))
    _above, rows = _table(SAMPLE.read_bytes())
    assert list(rows[0]) == HEADERS and len(rows) == 4
