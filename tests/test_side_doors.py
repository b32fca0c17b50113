"""Issue #15: side doors an ordinary secretary account could use. Each probe stays closed."""

import base64

from django.core.files.uploadedfile import SimpleUploadedFile
from django.http.multipartparser import MultiPartParser
from django.urls import reverse

from ledgers.models import LedgerRecord


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
    client.get(reverse("otp_enrol"))
    device = TOTPDevice.objects.get(user=reviewer)
    token = f"{totp(device.bin_key, step=device.step, t0=device.t0):06d}"
    assert client.post(reverse("otp_enrol"), {"token": token}).status_code == 302
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
