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
