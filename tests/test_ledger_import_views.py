"""Importing in the browser: upload, preview, apply inline or on the worker; big exports."""

import io
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from ledgers import staging
from ledgers.models import LedgerExport, LedgerImport
from members import national_id
from members.models import Member

HEADERS = [
    "姓名",
    "性别",
    "出生日期",
    "公民身份号码",
    "手机号码",
    "所在党支部",
    "入党日期",
    "流出时间",
    "去向",
    "职业",
]


def ident(seq: int) -> str:
    first17 = f"110105{date(1985, 3, 14):%Y%m%d}{seq:03d}"
    return first17 + national_id.check_char(first17)


def sheet(rows: list[list]) -> SimpleUploadedFile:
    workbook = Workbook()
    worksheet = workbook.active
    worksheet.append(["某村党支部流动党员五清台账"])  # a title row above the header
    worksheet.append(HEADERS)
    for row in rows:
        worksheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return SimpleUploadedFile("台账.xlsx", buffer.getvalue())


def row(seq: int, name: str, **changes) -> list:
    values = {
        "姓名": name,
        "性别": "男",
        "出生日期": "1985-03-14",
        "公民身份号码": ident(seq),
        "手机号码": "13900139000",
        "所在党支部": "甲村党支部",
        "入党日期": "2010-07-01",
        "流出时间": "2024年5月",
        "去向": "广东省深圳市南山区",
        "职业": "快递员",
    }
    values.update(changes)
    return [values[h] for h in HEADERS]


@pytest.fixture
def secretary_client(client, county):
    client.force_login(county.secretary(county.branch_a, "sec_a"))
    return client


def upload(client, rows):
    return client.post(reverse("ledgers:import_upload"), {"file": sheet(rows)})


def test_a_broken_row_is_shown_and_nothing_is_written(secretary_client, county):
    response = upload(secretary_client, [row(1, "张一"), row(2, "张二", 手机号码="12345")])
    assert response.status_code == 200
    plan = response.context["plan"]
    assert not plan.ok and response.context["token"] == ""
    issue = plan.issues[0]
    assert (issue.row, issue.column) == (4, "手机号码")  # title row, header row, 2 data rows
    assert "手机" in response.content.decode()
    assert not Member.objects.exists()


def test_preview_then_apply_creates_members_and_records_the_import(secretary_client, county):
    response = upload(secretary_client, [row(1, "张一"), row(2, "张二")])
    job = response.context["job"]
    assert response.context["plan"].counts["create"] == 2 and not Member.objects.exists()
    assert (job.status, job.created, job.updated) == ("previewed", 2, 0)
    token = response.context["token"]
    applied = secretary_client.post(
        reverse("ledgers:import_apply", args=[job.pk]), {"token": token}
    )
    assert applied.url == reverse("ledgers:import_detail", args=[job.pk])
    job.refresh_from_db()
    assert (job.status, job.created, job.file_name) == ("applied", 2, "台账.xlsx")
    assert staging.fetch(token) is None  # the upload is not kept
    ledger = secretary_client.get(reverse("ledgers:ledger"))
    assert sorted(r.member.name for r in ledger.context["page"]) == ["张一", "张二"]
    history = secretary_client.get(reverse("ledgers:jobs")).content.decode()
    assert "台账.xlsx" in history


def test_a_large_import_runs_as_a_task(
    secretary_client, county, settings, eager_celery, django_capture_on_commit_callbacks
):
    settings.IMPORT_BACKGROUND_ROWS = 1
    response = upload(secretary_client, [row(1, "张一"), row(2, "张二")])
    job = response.context["job"]
    with django_capture_on_commit_callbacks(execute=True):  # the task goes out on commit
        secretary_client.post(
            reverse("ledgers:import_apply", args=[job.pk]), {"token": response.context["token"]}
        )
    job.refresh_from_db()
    assert (job.status, job.rows_done, job.rows_total) == ("applied", 2, 2)
    assert Member.objects.count() == 2


def test_importing_into_another_branch_is_refused(client, county):
    client.force_login(county.secretary(county.branch_b, "sec_b"))
    response = upload(client, [row(1, "张一")])
    assert not response.context["plan"].ok
    assert "所在党支部" in [issue.column for issue in response.context["plan"].issues]
    assert not Member.objects.exists()


def test_an_expired_upload_asks_to_upload_again(secretary_client, county):
    response = upload(secretary_client, [row(1, "张一")])
    job = response.context["job"]
    staging.drop(response.context["token"])
    applied = secretary_client.post(
        reverse("ledgers:import_apply", args=[job.pk]), {"token": response.context["token"]}
    )
    assert applied.url == reverse("ledgers:import_upload")
    assert LedgerImport.objects.get().status == "previewed" and not Member.objects.exists()


def test_a_large_export_runs_as_a_task_and_is_downloaded_later(
    secretary_client, county, settings, eager_celery, django_capture_on_commit_callbacks
):
    upload_response = upload(secretary_client, [row(1, "张一")])
    secretary_client.post(
        reverse("ledgers:import_apply", args=[upload_response.context["job"].pk]),
        {"token": upload_response.context["token"]},
    )
    settings.EXPORT_BACKGROUND_ROWS = 0
    with django_capture_on_commit_callbacks(execute=True):  # the task goes out on commit
        response = secretary_client.get(reverse("ledgers:export", args=["xlsx"]))
    assert response.url == reverse("ledgers:jobs")
    job = LedgerExport.objects.get()
    assert job.status == "ready"
    content = secretary_client.get(reverse("ledgers:export_download", args=[job.pk])).content
    rows = list(load_workbook(io.BytesIO(content)).active.values)
    header = next(index for index, values in enumerate(rows) if "姓名" in values)
    assert rows[header + 1][rows[header].index("姓名")] == "张一"  # under any title rows
