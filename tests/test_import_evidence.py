"""A ledger import takes the sheet's evidence of life and starts every other clock at the import.

Issue #14, "Freshly imported members": without this, every member of a clean import was 失联 and
six months behind with dues the day they were imported, because nothing before it was known.
"""

from datetime import date, datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ledgers import imports as importing
from ledgers.models import ContactAttempt, LedgerImport
from members import crypto
from members.models import EvidenceBaseline, Member
from tests.test_ledger_import import HEADERS, apply, csv_bytes, ident, person, plan, xlsx

CONTACT, LIFE, DUES = "最近联系时间", "最近参加组织生活", "党费交至"
EVIDENCE = [CONTACT, LIFE, DUES]
ALIASES = {
    CONTACT: ("最近联系时间", "最近联系日期", "上次联系时间", "最后联系时间"),
    LIFE: ("最近参加组织生活", "最近参加组织生活时间", "最后一次参加组织生活", "最近一次组织生活"),
    DUES: ("党费交至", "党费缴至", "党费交纳至", "党费已交至"),
}


def months_after(day: date, months: int) -> date:
    """The first day of the month `months` after day's month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@pytest.fixture
def secretary(county):
    return county.secretary(county.branch_a)


@pytest.fixture
def today():
    return timezone.localdate()


# --- reading the three columns ------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["xlsx", "csv"])
@pytest.mark.parametrize("spelling", range(4))
def test_each_spelling_of_the_three_columns_is_imported(county, secretary, today, spelling, kind):
    contact, life, dues = (ALIASES[column][spelling] for column in EVIDENCE)
    headers = HEADERS + [contact, life, dues]
    rows = [
        person(ident(seq=1), **{contact: "2025/3/5", life: "2025年2月", dues: "2025.06"}),
        person(ident(seq=2), **{contact: "2025年4月1日", life: "2025-02-15", dues: "2025年5月"}),
        person(ident(seq=3), **{dues: "2025-05-20"}),  # a day in the month: the month
    ]
    content = xlsx(rows, headers) if kind == "xlsx" else csv_bytes(rows, headers)
    name = f"甲村台账.{kind}"
    result = apply(content, secretary, name=name)
    assert result.ok and result.counts["create"] == 3, result.issues
    found = {
        b.member.national_id_digest: b for b in EvidenceBaseline.objects.select_related("member")
    }
    first, second, third = (found[crypto.digest(ident(seq=seq))] for seq in (1, 2, 3))
    assert (first.last_contact_on, first.last_life_on, first.dues_paid_to) == (
        date(2025, 3, 5),
        date(2025, 2, 1),
        date(2025, 6, 1),
    )
    assert (second.last_contact_on, second.last_life_on, second.dues_paid_to) == (
        date(2025, 4, 1),
        date(2025, 2, 15),
        date(2025, 5, 1),
    )
    assert (third.last_contact_on, third.last_life_on, third.dues_paid_to) == (
        None,
        None,
        date(2025, 5, 1),
    )
    for baseline in (first, second, third):
        assert baseline.since == today
        assert baseline.source == f"台账导入 {name}"
    assert (result.evidence_missing, result.evidence_partial) == (0, 1)


@pytest.mark.django_db
def test_excel_date_cells_and_a_prepaid_year(county, secretary, today):
    prepaid = months_after(today, 12)  # the longest a member may pay ahead
    row = person(
        ident(),
        **{
            CONTACT: datetime(2025, 7, 9),
            LIFE: date(2025, 6, 28),
            DUES: f"{prepaid:%Y-%m}",
        },
    )
    assert apply(xlsx([row], HEADERS + EVIDENCE), secretary).ok
    baseline = EvidenceBaseline.objects.get()
    assert (baseline.last_contact_on, baseline.last_life_on) == (
        date(2025, 7, 9),
        date(2025, 6, 28),
    )
    assert baseline.dues_paid_to == prepaid


@pytest.mark.django_db
def test_a_sheet_without_the_columns_starts_every_clock_at_the_import(county, secretary, today):
    rows = [person(ident(seq=1)), person(ident(seq=2), 是否流动党员="否", 流出时间=None)]
    preview = plan(xlsx(rows), secretary)
    assert (preview.today, preview.evidence_missing, preview.evidence_columns) == (today, 2, [])
    result = apply(xlsx(rows), secretary, name="旧台账.xlsx")
    assert result.ok and result.counts["create"] == 2
    baselines = EvidenceBaseline.objects.order_by("member_id")
    assert [b.member_id for b in baselines] == list(
        Member.objects.order_by("pk").values_list("pk", flat=True)
    )
    for baseline in baselines:
        assert baseline.since == today
        assert (baseline.last_contact_on, baseline.last_life_on, baseline.dues_paid_to) == (
            None,
            None,
            None,
        )
        assert baseline.source == "台账导入 旧台账.xlsx"


# --- bad dates ----------------------------------------------------------------------------------


BAD = {  # header as written, the value (some relative to today), what the message must say
    "future contact": ("最近联系时间", "tomorrow", "最近联系时间“{value}”晚于今天"),
    "contact before joining": (
        "最后联系时间",
        "2009-05-01",
        "最近联系时间“2009-05-01”早于入党日期（2010-07-01）",
    ),
    "life the month before joining": (
        "最近参加组织生活",
        "2010年6月",
        "最近参加组织生活“2010-06”早于入党日期",
    ),
    "future life": ("最近一次组织生活", "next month", "最近参加组织生活“{value}-01”晚于今天"),
    "unreadable life": ("最后一次参加组织生活", "去年春节", "无法识别的日期“去年春节”"),
    "dues 13 months ahead": ("党费交至", "13 months", "党费交至“{value}”晚于导入之日"),
    "dues before joining": ("党费缴至", "2010.06", "党费交至“2010-06”早于入党日期"),
    "dues on no real day": ("党费已交至", "2025-02-30", "“2025-02-30”不是真实存在的日期"),
}


@pytest.mark.django_db
@pytest.mark.parametrize("case", BAD)
def test_a_bad_date_names_row_column_and_why_and_nothing_is_written(county, secretary, today, case):
    header, value, why = BAD[case]
    if value == "tomorrow":
        value = date.fromordinal(today.toordinal() + 1).isoformat()
    elif value == "next month":
        value = f"{months_after(today, 1):%Y-%m}"
    elif value == "13 months":
        value = f"{months_after(today, 13):%Y-%m}"
    rows = [person(ident(seq=1), **{header: "2025-01-01"}), person(ident(seq=2), **{header: value})]
    result = apply(xlsx(rows, HEADERS + [header]), secretary)
    assert not result.ok
    assert len(result.issues) == 1, result.issues
    issue = result.issues[0]
    assert (issue.row, issue.column) == (3, header)  # header row 1, second data row
    assert why.format(value=value) in issue.message, issue.message
    assert not Member.objects.exists() and not EvidenceBaseline.objects.exists()


@pytest.mark.django_db
def test_dates_in_the_month_of_joining_are_not_before_it(county, secretary):
    row = person(
        ident(),
        入党日期="2010-07-15",
        **{CONTACT: "2010-07-15", LIFE: "2010年7月", DUES: "2010-07"},
    )
    result = apply(xlsx([row], HEADERS + EVIDENCE), secretary)
    assert result.ok, result.issues
    assert EvidenceBaseline.objects.get().last_life_on == date(2010, 7, 1)


@pytest.mark.django_db
def test_an_existing_members_joining_date_is_checked_too(county, secretary):
    county.member(
        county.branch_a,
        national_id=ident(),
        name="李四",
        joined_on=date(2015, 7, 1),
        confirmed_on=date(2016, 7, 1),
    )
    row = person(ident(), 入党日期=None, 转正日期=None, **{LIFE: "2014-12-01"})
    headers = [h for h in HEADERS if h not in ("入党日期", "转正日期")] + [LIFE]
    result = plan(xlsx([row], headers), secretary)
    assert len(result.issues) == 1, result.issues
    issue = result.issues[0]
    assert (issue.column, issue.row) == (LIFE, 2)
    assert "早于入党日期（2015-07-01）" in issue.message


# --- existing members ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_reimporting_moves_each_date_forward_only(county, secretary, today):
    headers = HEADERS + EVIDENCE
    first = person(ident(), **{CONTACT: "2025-03-01", DUES: "2025-01"})
    assert apply(xlsx([first], headers), secretary, name="一月.xlsx").ok
    EvidenceBaseline.objects.update(since=date(2025, 12, 1))  # imported some time ago
    later = person(ident(), **{CONTACT: "2025-01-01", LIFE: "2025-02-01", DUES: "2025-06"})
    preview = plan(xlsx([later], headers), secretary)
    assert preview.counts["update"] == 1, preview.issues
    assert preview.rows[0].changes == ["最近参加组织生活", "党费交至"]
    assert preview.evidence_missing == preview.evidence_partial == 0  # no new members
    assert apply(xlsx([later], headers), secretary, name="六月.xlsx").ok
    baseline = EvidenceBaseline.objects.get()
    assert baseline.last_contact_on == date(2025, 3, 1)  # the sheet's was earlier: kept
    assert baseline.last_life_on == date(2025, 2, 1)
    assert baseline.dues_paid_to == date(2025, 6, 1)
    assert baseline.since == date(2025, 12, 1)  # the records started with the first import
    assert baseline.source == "台账导入 一月.xlsx"
    again = plan(xlsx([later], headers), secretary)
    assert again.counts["unchanged"] == 1
    empty = person(ident())  # empty cells take nothing away
    assert apply(xlsx([empty], headers), secretary).counts["unchanged"] == 1
    baseline.refresh_from_db()
    assert baseline.last_contact_on == date(2025, 3, 1)


@pytest.mark.django_db
def test_a_member_already_kept_here_gets_no_baseline(county, secretary):
    county.member(county.branch_a, national_id=ident(), name="李四", phone="13900139000")
    row = person(ident(), **{CONTACT: "2025-03-01", LIFE: "2025-02-01", DUES: "2025-06"})
    preview = plan(xlsx([row], HEADERS + EVIDENCE), secretary)
    assert preview.rows[0].evidence_unused
    assert "最近联系时间" not in preview.rows[0].changes
    assert apply(xlsx([row], HEADERS + EVIDENCE), secretary).counts["update"] == 1
    assert not EvidenceBaseline.objects.exists()


@pytest.mark.django_db
def test_an_export_with_a_recorded_contact_reimports_unchanged(county, secretary, today):
    from ledgers import exporting, selectors

    assert apply(
        xlsx([person(ident(), **{CONTACT: "2025-03-01"})], HEADERS + [CONTACT]), secretary
    ).ok
    member = Member.objects.get()
    ContactAttempt.objects.create(
        member=member,
        on=date(2025, 8, 1),
        channel=ContactAttempt.Channel.PHONE,
        reached=True,
        recorded_by=secretary,
    )
    exported = exporting.export_ledger_xlsx(selectors.ledger_rows(user=secretary, today=today))
    again = plan(exported, secretary)  # its 最近联系日期 is the contact recorded here
    assert again.counts["unchanged"] == 1, again.issues + [r.changes for r in again.rows]
    later = person(ident(), **{CONTACT: "2025-09-01"})
    assert plan(xlsx([later], HEADERS + [CONTACT]), secretary).rows[0].changes == ["最近联系时间"]


# --- all or nothing, and set-based ---------------------------------------------------------------


@pytest.mark.django_db
def test_a_failed_baseline_write_writes_nothing(county, secretary, monkeypatch):
    real = importing.writing.copy_create

    def refusing(model, objs, **kwargs):
        if model is EvidenceBaseline:
            raise IntegrityError("baseline refused")
        return real(model, objs, **kwargs)

    monkeypatch.setattr(importing.writing, "copy_create", refusing)
    result = apply(xlsx([person(ident(seq=1)), person(ident(seq=2))]), secretary)
    assert not result.ok and "没有导入任何数据" in result.file_issues[0].message
    assert not Member.objects.exists() and not EvidenceBaseline.objects.exists()


def _baseline_queries(secretary, seqs: range) -> int:
    rows = [person(ident(seq=seq), **{CONTACT: "2025-03-01", DUES: "2025-06"}) for seq in seqs]
    with CaptureQueriesContext(connection) as queries:
        assert apply(xlsx(rows, HEADERS + EVIDENCE), secretary).ok
    table = EvidenceBaseline._meta.db_table
    return sum(table in query["sql"] for query in queries.captured_queries)


@pytest.mark.django_db
def test_baselines_are_written_a_batch_at_a_time(county, secretary):
    assert _baseline_queries(secretary, range(0, 3)) == 1
    assert _baseline_queries(secretary, range(100, 160)) == 1  # not a query per row
    assert EvidenceBaseline.objects.filter(dues_paid_to=date(2025, 6, 1)).count() == 63


# --- saying so -----------------------------------------------------------------------------------


def _upload(client, rows, headers):
    content = xlsx(rows, headers, titles=("某村党支部流动党员五清台账",))
    return client.post(
        reverse("ledgers:import_upload"), {"file": SimpleUploadedFile("台账.xlsx", content)}
    )


@pytest.mark.django_db
def test_the_preview_says_when_the_clocks_start(client, county, secretary, today):
    client.force_login(secretary)
    rows = [
        person(ident(seq=1)),
        person(ident(seq=2)),
        person(ident(seq=3), **{CONTACT: "2025-03-05"}),
        person(ident(seq=4), **{CONTACT: "2025-03-06", LIFE: "2025-02-01", "党费缴至": "2025-06"}),
    ]
    response = _upload(client, rows, HEADERS + [CONTACT, LIFE, "党费缴至"])
    preview = response.context["plan"]
    assert (preview.evidence_missing, preview.evidence_partial) == (2, 1)
    page = response.content.decode()
    assert page.count('class="notice evidence-notice"') == 2
    assert f"（{today:%Y-%m-%d}）" in page or f"({today:%Y-%m-%d})" in page
    assert "2025-03-05" in page and "2025-06" in page  # the columns in the rows
    assert 'class="evidence"' in page
    assert not Member.objects.exists()

    client.cookies["django_language"] = "en"
    english = _upload(client, rows, HEADERS + [CONTACT, LIFE, "党费缴至"]).content.decode()
    assert (
        "2 new members have no date of last contact, organisational life or dues in the sheet: "
        "for them, lost contact, missed organisational life and unpaid dues are counted from the "
        f"day of the import ({today:%Y-%m-%d})."
    ) in english
    assert "Dues paid up to" in english


@pytest.mark.django_db
def test_the_preview_of_a_sheet_with_every_date_has_no_notice(client, county, secretary):
    client.force_login(secretary)
    rows = [person(ident(), **{CONTACT: "2025-03-05", LIFE: "2025-02-01", DUES: "2025-06"})]
    page = _upload(client, rows, HEADERS + EVIDENCE).content.decode()
    assert "evidence-notice" not in page and "2025-02-01" in page


@pytest.mark.django_db
def test_the_result_page_says_so_too(client, county, secretary, today):
    client.force_login(secretary)
    response = _upload(client, [person(ident())], HEADERS)
    job = response.context["job"]
    client.post(
        reverse("ledgers:import_apply", args=[job.pk]), {"token": response.context["token"]}
    )
    job.refresh_from_db()
    assert job.status == LedgerImport.Status.APPLIED
    page = client.get(reverse("ledgers:import_detail", args=[job.pk])).content.decode()
    assert "evidence-notice" in page and f"{today:%Y-%m-%d}" in page
    assert EvidenceBaseline.objects.get().since == today
