"""Issue #15: side doors an ordinary secretary account could use. Each probe stays closed."""

import base64
import io
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http.multipartparser import MultiPartParser
from django.urls import reverse

from ledgers.models import LedgerRecord
from members import national_id
from members.models import Member, SensitiveAccess


def test_an_anonymous_upload_is_redirected_unread(client, db, monkeypatch):
    def parse(self):
        raise AssertionError("the body of an anonymous upload was read")

    monkeypatch.setattr(MultiPartParser, "parse", parse)
    response = client.post(
        reverse("ledgers:import_upload"),
        {"file": SimpleUploadedFile("台账.xlsx", b"x" * 1_000_000)},
    )
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_pages_and_exports_are_not_stored_by_browsers_or_proxies(client, county):
    user = county.secretary(county.branch_a, "sec")
    member = county.member(county.branch_a)
    client.force_login(user)
    for url in (
        reverse("members:detail", args=[member.pk]),
        reverse("members:list"),
        reverse("ledgers:ledger"),
        reverse("ledgers:export", args=["csv"]),
        reverse("login"),
    ):
        response = client.get(url)
        assert response.status_code in (200, 302), url
        assert "no-store" in response["Cache-Control"], url


def test_the_conduct_note_is_not_in_the_edit_form_without_a_logged_read(client, county):
    from members.models import SensitiveAccess
    from transfers.models import MobilityEpisode

    user = county.secretary(county.branch_a, "sec")
    member = county.member(county.branch_a)
    MobilityEpisode.objects.create(
        member=member, mobility_type="work", left_on="2025-01-01", destination_province="广东省"
    )
    LedgerRecord.objects.create(
        member=member, conduct_assessment="concern", conduct_note="秘密备注"
    )
    client.force_login(user)
    url = reverse("ledgers:item_edit", args=[member.pk, "conduct"])
    page = client.get(url).content.decode()
    # The form shows the note to edit it: that read is logged like the note's own page ...
    assert SensitiveAccess.objects.filter(
        user=user, member=member, action="view_conduct_note"
    ).exists()
    # ... and the hidden field that detects edit conflicts does not carry it readable.
    seen = page.split('name="seen" value="', 1)[1].split('"', 1)[0]
    for part in seen.replace(":", ".").split("."):
        padded = part + "=" * (-len(part) % 4)
        try:
            decoded = base64.urlsafe_b64decode(padded).decode("utf-8", "ignore")
        except ValueError:
            continue
        assert "秘密备注" not in decoded


def test_enrolling_two_step_login_ends_the_users_other_sessions(client, county):
    from django.test import Client
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    reviewer = county.reviewer(county.county, "rev")
    elsewhere = Client()
    elsewhere.force_login(reviewer)  # e.g. whoever else knew the password
    other = county.secretary(county.branch_a, "sec")
    bystander = Client()
    bystander.force_login(other)
    client.force_login(reviewer)
    client.get(reverse("accounts:otp_enrol"))
    device = TOTPDevice.objects.get(user=reviewer)
    token = f"{totp(device.bin_key, step=device.step, t0=device.t0):06d}"
    assert client.post(reverse("accounts:otp_enrol"), {"token": token}).status_code == 302
    assert client.get(reverse("members:list")).status_code == 200  # this session goes on
    assert elsewhere.get(reverse("members:list")).status_code == 302  # the other one ended
    assert bystander.get(reverse("members:list")).status_code == 200  # other users untouched


def test_the_self_report_note_is_bounded(client, county, settings):
    from datetime import timedelta

    from django.utils import timezone

    from ledgers import selfreport
    from ledgers.models import SelfReport
    from transfers.models import MobilityEpisode

    member = county.member(county.branch_a, name="王小明")
    MobilityEpisode.objects.create(
        member=member,
        mobility_type="work",
        left_on=timezone.localdate() - timedelta(days=40),
        destination_province="浙江省",
    )
    path = reverse(
        "ledgers:self_report",
        args=[selfreport.make_token(member, selfreport.period_of(timezone.localdate()))],
    )
    answer = {"where": "杭州", "occupation": "工人", "phone": "13800138000"}
    page = client.post(path, {**answer, "note": "很" * 100_000}).content.decode()
    assert not SelfReport.objects.exists()
    assert 'maxlength="500"' in page
    client.post(path, {**answer, "note": "一切都好"})
    assert SelfReport.objects.get().note == "一切都好"


# --- 1. masking that cannot be undone --------------------------------------------------------


@pytest.fixture
def hosted(county):
    """A1's member away in branch B1, which hosts them; secretaries of both."""
    from transfers.models import MobilityEpisode

    county.home = county.secretary(county.branch_a, "home")
    county.host = county.secretary(county.branch_b, "host")
    county.guest = county.member(county.branch_a, name="流动甲", birth_date=date(1988, 6, 2))
    MobilityEpisode.objects.create(
        member=county.guest,
        mobility_type="work",
        left_on=date(2025, 3, 1),
        destination_province="浙江省",
        inflow_organisation=county.branch_b,
    )
    return county


def test_the_hosting_side_sees_no_birth_date_and_four_characters(client, hosted):
    number = hosted.guest.national_id
    client.force_login(hosted.host)
    for url in (reverse("members:detail", args=[hosted.guest.pk]), reverse("members:list")):
        page = client.get(url).content.decode()
        assert "流动甲" in page
        assert number[:6] not in page and "1988-06-02" not in page and number[6:14] not in page
        assert "*" * 14 + number[-4:] in page
    client.force_login(hosted.home)
    page = client.get(reverse("members:detail", args=[hosted.guest.pk])).content.decode()
    assert national_id.mask(number) in page and "1988-06-02" in page


def test_a_full_number_in_the_list_search_finds_nothing_and_points_to_the_logged_search(
    client, hosted
):
    client.force_login(hosted.home)
    response = client.get(reverse("members:list"), {"q": hosted.guest.national_id})
    assert response.context["page"].count == 0 and response.context["id_query"]
    assert not SensitiveAccess.objects.exists()


def test_exact_search_answers_only_the_home_side_and_is_logged(client, hosted):
    number = hosted.guest.national_id
    client.force_login(hosted.host)
    response = client.post(reverse("members:find_by_id"), {"number": number})
    assert response.status_code == 200  # the host cannot confirm a candidate
    assert number not in response.content.decode()
    client.force_login(hosted.home)
    response = client.post(reverse("members:find_by_id"), {"number": number.lower()})
    assert response.status_code == 302
    assert response.url == reverse("members:detail", args=[hosted.guest.pk])
    log = SensitiveAccess.objects.filter(action="search_national_id").order_by("at", "id")
    assert [(e.user.username, e.member_id, e.detail) for e in log] == [
        ("host", None, "not found"),
        ("home", hosted.guest.pk, "found"),
    ]


def test_exact_search_is_rate_limited_per_user(client, hosted, settings):
    settings.NATIONAL_ID_SEARCH_PER_HOUR = 3
    client.force_login(hosted.host)
    for seq in range(3):
        client.post(reverse("members:find_by_id"), {"number": f"11010519850314{seq:03d}X"})
    response = client.post(reverse("members:find_by_id"), {"number": hosted.guest.national_id})
    assert "Too many" in response.content.decode() or "过多" in response.content.decode()
    assert SensitiveAccess.objects.filter(action="search_national_id").count() == 3


# --- 2. no existence oracle -----------------------------------------------------------------


def _member_form(county, number):
    return {
        "name": "冒名",
        "national_id_input": number,
        "gender": "M",
        "ethnicity": "汉族",
        "birth_date": national_id.birth_date_of(number).isoformat(),
        "phone": "13900139000",
        "category": "full",
        "joined_on": "2010-07-01",
        "confirmed_on": "2011-07-01",
        "home_branch": county.branch_b.pk,
        "status": "active",
    }


def test_registering_a_number_held_elsewhere_says_nothing_of_it_and_tells_the_reviewers(
    client, hosted
):
    from members.models import DuplicateRegistration

    stranger = hosted.member(hosted.branch_a2, name="别处党员")
    client.force_login(hosted.host)
    response = client.post(reverse("members:create"), _member_form(hosted, stranger.national_id))
    body = response.content.decode()
    assert response.status_code == 200
    assert "别处党员" not in body and "已有党员登记" not in body
    assert "不能在此登记" in body or "cannot be registered here" in body
    case = DuplicateRegistration.objects.get()
    assert (case.attempted_by, case.existing_member, case.organisation) == (
        hosted.host,
        stranger,
        hosted.branch_b,
    )
    assert SensitiveAccess.objects.filter(action="duplicate_registration").count() == 1
    # The county reviewer sees both sides and the case; the township reviewer of A does not.
    county_reviewer = hosted.reviewer(hosted.county, "county")
    township = hosted.reviewer(hosted.township_a, "township")
    client.force_login(county_reviewer)
    assert "别处党员" in client.get(reverse("members:duplicate_cases")).content.decode()
    client.force_login(township)
    assert "别处党员" not in client.get(reverse("members:duplicate_cases")).content.decode()
    client.force_login(hosted.host)
    assert client.get(reverse("members:duplicate_cases")).status_code == 404


def test_a_number_held_in_scope_is_named(client, hosted):
    client.force_login(hosted.home)
    form = _member_form(hosted, hosted.guest.national_id)
    form["home_branch"] = hosted.branch_a.pk
    body = client.post(reverse("members:create"), form).content.decode()
    assert "流动甲" in body  # the secretary holds that member already: no secret


def test_the_import_preview_is_no_oracle_either(client, hosted):
    from members.models import DuplicateRegistration

    from .test_ledger_import_views import sheet

    stranger = hosted.member(hosted.branch_a2, name="别处党员")
    client.force_login(hosted.host)
    row = [
        "冒名",
        "男",
        stranger.birth_date.isoformat(),
        stranger.national_id,
        "13900139000",
        hosted.branch_b.name,
        "2010-07-01",
        "2024年5月",
        "广东省深圳市",
        "快递员",
    ]
    response = client.post(reverse("ledgers:import_upload"), {"file": sheet([row])})
    body = response.content.decode()
    assert "其他党组织" not in body and "别处党员" not in body
    assert "不能在此导入" in body
    assert DuplicateRegistration.objects.get().source == "import"


# --- 3. bounded imports -----------------------------------------------------------------------


def _rows(n):
    from .test_ledger_import_views import row

    return [row(seq % 999 + 1, f"张{seq}") for seq in range(n)]


@pytest.mark.parametrize("extra", [0, 1, 50])
def test_a_file_at_or_over_the_row_limit(client, county, settings, extra):
    from ledgers.models import LedgerImport

    from .test_ledger_import_views import sheet

    settings.IMPORT_MAX_ROWS = 40
    client.force_login(county.secretary(county.branch_a, "sec"))
    response = client.post(reverse("ledgers:import_upload"), {"file": sheet(_rows(40 + extra))})
    plan = response.context["plan"]
    over = [i for i in plan.file_issues if "超过40行" in i.message]
    assert bool(over) == (extra > 0)
    if extra:
        assert plan.rows == [] and response.context["token"] == ""
    assert not Member.objects.exists()
    assert LedgerImport.objects.count() == 1


def test_the_errors_kept_per_job_are_capped_and_all_are_downloadable(client, county, settings):
    from openpyxl import load_workbook

    from ledgers.models import LedgerImport

    from .test_ledger_import_views import row, sheet

    settings.IMPORT_ERRORS_KEPT = 5
    client.force_login(county.secretary(county.branch_a, "sec"))
    rows = [row(seq + 1, f"张{seq}", 手机号码="12345") for seq in range(30)]
    response = client.post(reverse("ledgers:import_upload"), {"file": sheet(rows)})
    job = LedgerImport.objects.get()
    assert len(job.errors) == 6 and "另有25个问题" in job.errors[-1]["message"]
    assert response.content.decode().count('class="issue"') == 30  # fewer than 100 shown
    download = client.get(reverse("ledgers:import_errors", args=[job.pk]))
    sheet_rows = list(
        load_workbook(io.BytesIO(download.content)).active.iter_rows(values_only=True)
    )
    assert len(sheet_rows) == 31 and sheet_rows[1][1] == "手机号码"


# --- the certificate's QR code ------------------------------------------------------------------


def test_the_certificate_code_says_nothing_of_the_issue_order(client, county):
    from django.core import signing

    from transfers import services as transfer_services
    from transfers.views import VERIFY_SALT

    secretary = county.secretary(county.branch_a, "sec")
    county.county.code = "511925"
    county.county.save()
    codes = []
    for name in ("甲", "乙"):
        member = county.member(county.branch_a, name=name)
        certificate = transfer_services.certificate_issue(
            actor=secretary,
            member=member,
            issued_on=date(2026, 1, 5),
            reason="务工",
            destination="广东省深圳市",
        )
        codes.append(certificate.verify_code)
        with pytest.raises(signing.BadSignature):  # random, not the id signed
            signing.loads(certificate.verify_code, salt=VERIFY_SALT)
        assert (
            client.get(reverse("transfers:certificate_verify", args=[codes[-1]])).status_code == 200
        )
    assert len(set(codes)) == 2 and all(len(code) >= 20 for code in codes)
    # QR codes printed before keep working.
    legacy = signing.dumps(certificate.pk, salt=VERIFY_SALT)
    assert client.get(reverse("transfers:certificate_verify", args=[legacy])).status_code == 200
    assert client.get(reverse("transfers:certificate_verify", args=["guess"])).status_code == 404
