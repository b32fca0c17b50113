"""Issue #17: imports people can finish. A file with broken rows is either fixed and uploaded
again, or its rows without errors are imported now (each row in or out whole) and the broken
rows come back in the uploaded sheet's own layout, with a 错误原因 column, to fix later."""

import io
from datetime import datetime

import pytest
from django.db import transaction
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from ledgers import staging
from ledgers.imports import apply_import, broken_rows_xlsx, plan_import
from ledgers.models import LedgerImport
from members import crypto
from members.models import ExternalOrganisation, Member, SensitiveAccess
from transfers.models import MobilityEpisode

from .test_ledger_import import HEADERS, ident, person, xlsx
from .test_ledger_import_views import row, upload

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def secretary(county):
    return county.secretary(county.branch_a)


def apply(content, user, **kwargs):
    return apply_import(content=content, file_name="台账.xlsx", user=user, **kwargs)


def three_and_one() -> list[dict]:
    """Three good rows and, second, one with a phone number that is too short."""
    return [
        person(ident(seq=1), 姓名="赵一"),
        person(ident(seq=2), 姓名="钱二", 手机号码="110", 流入党组织="坏行里的流入党组织"),
        person(ident(seq=3), 姓名="孙三"),
        person(ident(seq=4), 姓名="李四"),
    ]


# --- the pipeline -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_all_or_nothing_stays_the_default(county, secretary):
    result = apply(xlsx(three_and_one()), secretary)
    assert not result.applied and not result.ok
    assert not Member.objects.exists() and not ExternalOrganisation.objects.exists()


@pytest.mark.django_db
def test_the_partial_mode_writes_exactly_the_rows_without_errors(county, secretary):
    result = apply(xlsx(three_and_one()), secretary, skip_broken=True)
    assert result.applied
    assert result.counts == {"create": 3, "update": 0, "unchanged": 0, "error": 1}
    assert [(r.row, r.action) for r in result.rows] == [
        (2, "create"),
        (3, "error"),
        (4, "create"),
        (5, "create"),
    ]
    assert [issue.row for issue in result.issues] == [3]
    assert sorted(Member.objects.values_list("name", flat=True)) == ["孙三", "李四", "赵一"]
    assert MobilityEpisode.objects.count() == 3
    # Nothing of the broken row: not its inflow organisation either.
    assert not ExternalOrganisation.objects.filter(name="坏行里的流入党组织").exists()
    assert not Member.history.filter(name="钱二").exists()


@pytest.mark.django_db
def test_a_row_is_in_or_out_whole_even_what_it_shares_with_others(county, secretary):
    """A new external organisation named first by a broken row takes its region from the
    first row that is imported, not from the row left out."""
    rows = [
        person(ident(seq=1), 手机号码="110", 流入党组织="新建流入党委", 去向="四川省成都市武侯区"),
        person(ident(seq=2), 流入党组织="新建流入党委", 去向="广东省深圳市南山区"),
    ]
    result = apply(xlsx(rows), secretary, skip_broken=True)
    assert result.applied and result.counts["create"] == 1
    organisation = ExternalOrganisation.objects.get(name="新建流入党委")
    assert "四川" not in organisation.region and "广东" in organisation.region


@pytest.mark.django_db
def test_a_duplicate_id_breaks_both_rows(county, secretary):
    rows = [person(ident(seq=1)), person(ident(seq=2)), person(ident(seq=1).lower())]
    preview = plan_import(content=xlsx(rows), file_name="台账.xlsx", user=secretary)
    broken = {r.row: r.issues[0].message for r in preview.rows if r.action == "error"}
    assert set(broken) == {2, 4}
    assert "第4行" in broken[2] and "第2行" in broken[4]
    result = apply(xlsx(rows), secretary, skip_broken=True)
    assert result.applied and result.counts["create"] == 1 and result.counts["error"] == 2
    assert Member.objects.get().national_id == ident(seq=2)


@pytest.mark.django_db
def test_nothing_to_import_when_every_row_is_broken(county, secretary):
    rows = [person(ident(seq=1), 手机号码="110"), person("123")]
    result = apply(xlsx(rows), secretary, skip_broken=True)
    assert not result.applied and result.counts["error"] == 2
    assert not Member.objects.exists()


BAD_CELLS = {
    "手机号码": "110",
    "入党日期": "2010-13-01",
    "公民身份号码": "123",
    "人员类别": "党员",
    "流出时间": "明年",
    "思想动态": None,  # no problem at all
}


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rows=st.lists(
        st.tuples(st.integers(min_value=1, max_value=6), st.sampled_from(sorted(BAD_CELLS))),
        min_size=1,
        max_size=8,
    )
)
@pytest.mark.django_db
def test_exactly_the_rows_without_errors_go_in_each_whole(county, secretary, rows):
    """Random sheets of good and broken rows (an ID number on two rows among them): the rows
    written are exactly those the preview shows without errors, with nothing of the others."""
    sheet_rows = [
        person(ident(seq=seq), 姓名=f"李{index}", 流入党组织=f"第{index}行的流入党组织")
        | ({column: BAD_CELLS[column]} if BAD_CELLS[column] else {})
        for index, (seq, column) in enumerate(rows)
    ]
    content = xlsx(sheet_rows)
    with transaction.atomic():
        preview = plan_import(content=content, file_name="台账.xlsx", user=secretary)
        good = [index for index, row in enumerate(preview.rows) if row.action != "error"]
        result = apply(content, secretary, skip_broken=True)
        assert [r.action for r in result.rows] == [r.action for r in preview.rows]
        assert result.applied == bool(good)
        assert sorted(Member.objects.values_list("name", flat=True)) == sorted(
            f"李{index}" for index in good
        )
        digests = {crypto.digest(sheet_rows[index]["公民身份号码"]) for index in good}
        assert set(Member.objects.values_list("national_id_digest", flat=True)) == digests
        assert set(ExternalOrganisation.objects.values_list("name", flat=True)) == {
            f"第{index}行的流入党组织" for index in good
        }
        assert Member.history.count() == len(good)
        transaction.set_rollback(True)


# --- the broken rows in the sheet's own layout -----------------------------------------------


@pytest.mark.django_db
def test_the_broken_rows_come_back_in_the_uploaded_layout(county, secretary):
    rows = three_and_one()
    rows[2] = person(ident(seq=3), 姓名="孙三", 入党日期=datetime(2010, 7, 1), 人员类别="党员")
    content = xlsx(rows, titles=("甲村党支部流动党员五清台账",))
    preview = plan_import(content=content, file_name="台账.xlsx", user=secretary)
    made = broken_rows_xlsx(content=content, file_name="台账.xlsx", plan=preview)
    got = list(load_workbook(io.BytesIO(made)).active.iter_rows(values_only=True))
    assert got[0][0] == "甲村党支部流动党员五清台账"  # the title row stays above the header
    assert list(got[1]) == [*HEADERS, "错误原因"]
    assert [r[HEADERS.index("姓名")] for r in got[2:]] == ["钱二", "孙三"]
    broken = dict(zip(HEADERS, got[2], strict=False))
    assert broken["手机号码"] == "110" and broken["序号"] == 2  # the original cells
    assert broken["公民身份号码"] == ident(seq=2)  # text, not a number
    assert got[2][-1].startswith("手机号码：") and "110" in got[2][-1]
    second = dict(zip(HEADERS, got[3], strict=False))
    assert second["入党日期"] == datetime(2010, 7, 1)  # a date cell stays a date
    assert got[3][-1].startswith("人员类别：")

    # Fixed and uploaded again: the rows read as before, the reasons are not imported.
    book = load_workbook(io.BytesIO(made))
    book.active.cell(row=3, column=HEADERS.index("手机号码") + 1, value="13900139002")
    book.active.cell(row=4, column=HEADERS.index("人员类别") + 1, value="正式党员")
    fixed = io.BytesIO()
    book.save(fixed)
    again = plan_import(content=fixed.getvalue(), file_name="台账.xlsx", user=secretary)
    assert again.ok and again.counts["create"] == 2
    assert any(text.startswith("未读取的列：错误原因") for text in again.unread_columns)


@pytest.mark.django_db
def test_a_csv_comes_back_as_xlsx_with_its_header(county, secretary):
    text = "姓名,公民身份号码,手机号码,所在党支部,入党日期\n"
    text += f"张一,{ident(seq=1)},13900139000,甲村党支部,2010-07-01\n"
    text += f"张二,{ident(seq=2)},=1+1,甲村党支部,2010-07-01\n"
    content = text.encode("utf-8-sig")
    preview = plan_import(content=content, file_name="台账.csv", user=secretary)
    made = broken_rows_xlsx(content=content, file_name="台账.csv", plan=preview)
    got = list(load_workbook(io.BytesIO(made)).active.iter_rows(values_only=True))
    assert got[0] == ("姓名", "公民身份号码", "手机号码", "所在党支部", "入党日期", "错误原因")
    assert got[1][:3] == ("张二", ident(seq=2), "=1+1")  # the text as it was, never a formula
    assert len(got) == 2


@pytest.mark.django_db
def test_no_broken_rows_file_for_a_clean_file(county, secretary):
    content = xlsx([person(ident(seq=1))])
    preview = plan_import(content=content, file_name="台账.xlsx", user=secretary)
    assert broken_rows_xlsx(content=content, file_name="台账.xlsx", plan=preview) is None


# --- through the pages ------------------------------------------------------------------------


@pytest.fixture
def secretary_client(client, county):
    client.force_login(county.secretary(county.branch_a, "sec_a"))
    return client


def four_rows() -> list[list]:
    return [row(1, "张一"), row(2, "张二", 手机号码="12345"), row(3, "张三"), row(4, "张四")]


def test_the_preview_offers_both_ways_out(secretary_client, county):
    response = upload(secretary_client, four_rows())
    assert response.context["token"] == ""  # not the whole file
    token = response.context["partial_token"]
    assert token and staging.fetch(token) is not None
    html = response.content.decode()
    job = response.context["job"]
    assert reverse("ledgers:import_upload") in html  # (a) fix the file and upload it again
    assert reverse("ledgers:import_apply", args=[job.pk]) in html  # (b) import the rest now
    button = html[html.index('name="skip_broken"') :]
    button = button[: button.index("</button>")]
    assert "3" in button and "1" in button  # how many go in, how many are left out
    assert f"{reverse('ledgers:import_errors', args=[job.pk])}?layout=sheet" in html
    assert not Member.objects.exists()


def test_a_file_with_only_broken_rows_offers_no_partial_import(secretary_client, county):
    response = upload(secretary_client, [row(1, "张一", 手机号码="1")])
    assert response.context["token"] == response.context["partial_token"] == ""
    assert 'name="skip_broken"' not in response.content.decode()


def test_importing_the_rows_without_errors_records_what_was_left_out(secretary_client, county):
    response = upload(secretary_client, four_rows())
    job = response.context["job"]
    applied = secretary_client.post(
        reverse("ledgers:import_apply", args=[job.pk]),
        {"token": response.context["partial_token"], "skip_broken": "1"},
    )
    assert applied.url == reverse("ledgers:import_detail", args=[job.pk])
    job.refresh_from_db()
    assert (job.status, job.skip_broken, job.rows_imported, job.rows_left_out) == (
        "applied",
        True,
        3,
        1,
    )
    assert (job.created, job.rows_total) == (3, 4)
    assert [e["row"] for e in job.errors] == [4]
    assert sorted(Member.objects.values_list("name", flat=True)) == ["张一", "张三", "张四"]
    detail = secretary_client.get(applied.url).content.decode()
    assert 'class="rows-imported">3<' in detail and 'class="rows-left-out">1<' in detail
    assert "?layout=sheet" in detail

    download = secretary_client.get(
        reverse("ledgers:import_errors", args=[job.pk]), {"layout": "sheet"}
    )
    assert download["Content-Type"] == XLSX
    got = list(load_workbook(io.BytesIO(download.content)).active.iter_rows(values_only=True))
    assert got[1][-1] == "错误原因" and got[2][0] == "张二" and "12345" in got[2][-1]


def test_the_plain_confirm_of_a_broken_file_still_refuses_it_whole(secretary_client, county):
    response = upload(secretary_client, four_rows())
    job = response.context["job"]
    secretary_client.post(
        reverse("ledgers:import_apply", args=[job.pk]),
        {"token": response.context["partial_token"]},
    )
    job.refresh_from_db()
    assert (job.status, job.rows_imported, job.rows_left_out) == ("failed", 0, 4)
    assert not Member.objects.exists()


def test_a_background_import_honours_the_choice(
    secretary_client, county, settings, eager_celery, django_capture_on_commit_callbacks
):
    settings.IMPORT_BACKGROUND_ROWS = 1
    response = upload(secretary_client, four_rows())
    job = response.context["job"]
    with django_capture_on_commit_callbacks(execute=True):  # the task goes out on commit
        secretary_client.post(
            reverse("ledgers:import_apply", args=[job.pk]),
            {"token": response.context["partial_token"], "skip_broken": "1"},
        )
    job.refresh_from_db()
    assert (job.status, job.rows_imported, job.rows_left_out, job.rows_done) == (
        "applied",
        3,
        1,
        3,
    )
    assert Member.objects.count() == 3
    assert staging.fetch(f"import-broken-{job.pk}") is not None


def test_the_broken_rows_file_is_the_owners_only(secretary_client, county, client):
    response = upload(secretary_client, four_rows())
    job = response.context["job"]
    url = reverse("ledgers:import_errors", args=[job.pk])
    assert secretary_client.get(url, {"layout": "sheet"}).status_code == 200
    # It holds full ID numbers: logged like an export of the ledger.
    assert SensitiveAccess.objects.filter(action=SensitiveAccess.Action.EXPORT_LEDGER).count() == 1
    client.force_login(county.secretary(county.branch_b, "sec_b"))
    assert client.get(url, {"layout": "sheet"}).status_code == 404
    staging.drop(f"import-broken-{job.pk}")
    assert secretary_client.get(url, {"layout": "sheet"}).status_code == 404


def test_the_problem_list_download_is_unchanged(secretary_client, county):
    response = upload(secretary_client, four_rows())
    download = secretary_client.get(
        reverse("ledgers:import_errors", args=[response.context["job"].pk])
    )
    got = list(load_workbook(io.BytesIO(download.content)).active.iter_rows(values_only=True))
    assert got == [("行", "列", "问题"), (4, "手机号码", got[1][2])]
    assert LedgerImport.objects.get().rows_left_out == 0  # a preview: nothing decided yet
