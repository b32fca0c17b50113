"""Sensitive reads are logged (conduct notes, reports) and administrators can review the log."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.selectors import access_log_entries
from ledgers.models import LedgerRecord
from members.access_log import log_sensitive_access
from members.models import SensitiveAccess
from transfers.models import MobilityEpisode

TODAY = timezone.localdate()
NOTE = "思想波动较大，需重点关注"
Action = SensitiveAccess.Action


@pytest.fixture
def scene(county):
    county.sec_a = county.secretary(county.branch_a, "sec_a")
    county.sec_b = county.secretary(county.branch_b, "sec_b")
    county.host = county.secretary(county.branch_a2, "host")
    county.rev = county.reviewer(county.county, "rev")
    county.admin = county.user("root", county.county, "administrator")
    county.away = county.member(county.branch_a, name="外出甲")
    MobilityEpisode.objects.create(
        member=county.away,
        mobility_type="work",
        left_on=TODAY - timedelta(days=100),
        destination_province="广东省",
        inflow_organisation=county.branch_a2,
    )
    LedgerRecord.objects.create(member=county.away, conduct_assessment="concern", conduct_note=NOTE)
    return county


def note_url(member) -> str:
    return reverse("ledgers:conduct_note", args=[member.pk])


# --- the thought-and-conduct note -----------------------------------------------------------


def test_member_page_shows_the_assessment_but_not_the_note(client, scene):
    client.force_login(scene.sec_a)
    body = client.get(reverse("members:detail", args=[scene.away.pk])).content.decode()
    assert "需关注" in body  # the assessment label, in Chinese
    assert NOTE not in body
    assert note_url(scene.away) in body
    assert not SensitiveAccess.objects.exists()


def test_alert_evidence_does_not_show_the_note_either(client, scene):
    from alerts.models import Alert

    now = timezone.now()
    alert = Alert.objects.create(
        member=scene.away, kind="lost_contact", severity="warning", opened_at=now, last_seen_at=now
    )
    client.force_login(scene.sec_a)
    body = client.get(reverse("alerts:detail", args=[alert.pk])).content.decode()
    assert NOTE not in body


def test_showing_the_note_is_logged(client, scene):
    client.force_login(scene.sec_a)
    response = client.post(note_url(scene.away), REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 200
    assert NOTE in response.content.decode()
    entry = SensitiveAccess.objects.get()
    assert (entry.user, entry.member, entry.action, entry.ip_address) == (
        scene.sec_a,
        scene.away,
        Action.VIEW_CONDUCT_NOTE,
        "10.1.2.3",
    )


def test_the_hosting_branch_may_open_the_note_and_is_logged(client, scene):
    client.force_login(scene.host)
    assert NOTE in client.post(note_url(scene.away)).content.decode()
    assert SensitiveAccess.objects.get().user == scene.host


def test_a_get_does_not_show_or_log(client, scene):
    client.force_login(scene.sec_a)
    response = client.get(note_url(scene.away))
    assert response.status_code == 405
    assert NOTE not in response.content.decode()
    assert not SensitiveAccess.objects.exists()


def test_out_of_scope_note_is_a_404_and_not_logged(client, scene):
    client.force_login(scene.sec_b)
    response = client.post(note_url(scene.away))
    assert response.status_code == 404
    assert NOTE not in response.content.decode()
    assert not SensitiveAccess.objects.exists()


def test_no_note_no_page_and_no_log(client, scene):
    LedgerRecord.objects.filter(member=scene.away).update(conduct_note="")
    client.force_login(scene.sec_a)
    assert client.post(note_url(scene.away)).status_code == 404
    body = client.get(reverse("members:detail", args=[scene.away.pk])).content.decode()
    assert note_url(scene.away) not in body
    assert not SensitiveAccess.objects.exists()


# --- the log function the report exports call -----------------------------------------------


def test_log_sensitive_access_records_a_report_export(scene):
    entry = log_sensitive_access(
        user=scene.rev,
        action=Action.EXPORT_REPORT,
        detail="dashboard.xlsx " + "测试县委组织部" * 40,
        ip_address="192.0.2.7",
    )
    entry.refresh_from_db()
    assert (entry.user, entry.member, entry.action, entry.ip_address) == (
        scene.rev,
        None,
        Action.EXPORT_REPORT,
        "192.0.2.7",
    )
    assert entry.detail.startswith("dashboard.xlsx 测试县委组织部")
    assert len(entry.detail) == 200  # cut to the column, never refused


def test_entries_filter_by_user_action_and_whole_days(scene):
    old = log_sensitive_access(user=scene.sec_a, action=Action.REVEAL_NATIONAL_ID)
    SensitiveAccess.objects.filter(pk=old.pk).update(at=timezone.now() - timedelta(days=10))
    today = log_sensitive_access(user=scene.sec_a, action=Action.VIEW_CONDUCT_NOTE)
    other = log_sensitive_access(user=scene.rev, action=Action.EXPORT_REPORT)
    assert list(access_log_entries()) == [other, today, old]
    assert list(access_log_entries(user_id=scene.sec_a.pk)) == [today, old]
    assert list(access_log_entries(action=Action.EXPORT_REPORT)) == [other]
    assert list(access_log_entries(since=TODAY)) == [other, today]
    assert list(access_log_entries(until=TODAY - timedelta(days=1))) == [old]
    assert list(access_log_entries(since=TODAY, until=TODAY)) == [other, today]


# --- the administrators' page ---------------------------------------------------------------


LOG_URL = "accounts:access_log"


def test_administrator_reads_the_log(client, scene):
    client.force_login(scene.sec_a)
    client.post(note_url(scene.away))
    client.post(reverse("members:reveal_national_id", args=[scene.away.pk]))
    client.force_login(scene.admin)
    response = client.get(reverse(LOG_URL))
    assert response.status_code == 200
    body = response.content.decode()
    assert [e.action for e in response.context["page"]] == [
        Action.REVEAL_NATIONAL_ID,
        Action.VIEW_CONDUCT_NOTE,
    ]
    assert "外出甲" in body and "sec_a" in body
    assert scene.away.national_id not in body  # the log says that, never what
    assert NOTE not in body


def test_log_page_filters(client, scene):
    log_sensitive_access(user=scene.sec_a, action=Action.REVEAL_NATIONAL_ID, member=scene.away)
    log_sensitive_access(user=scene.rev, action=Action.EXPORT_REPORT, detail="yearly-2025.xlsx")
    old = log_sensitive_access(user=scene.rev, action=Action.EXPORT_LEDGER)
    SensitiveAccess.objects.filter(pk=old.pk).update(at=timezone.now() - timedelta(days=40))
    client.force_login(scene.admin)

    def actions(**query):
        response = client.get(reverse(LOG_URL), query)
        assert response.status_code == 200
        return sorted(e.action for e in response.context["page"])

    assert actions(user=scene.rev.pk) == [Action.EXPORT_LEDGER, Action.EXPORT_REPORT]
    assert actions(action=Action.EXPORT_REPORT) == [Action.EXPORT_REPORT]
    assert actions(since=(TODAY - timedelta(days=7)).isoformat()) == [
        Action.EXPORT_REPORT,
        Action.REVEAL_NATIONAL_ID,
    ]
    assert actions(until=(TODAY - timedelta(days=30)).isoformat()) == [Action.EXPORT_LEDGER]
    assert "yearly-2025.xlsx" in client.get(reverse(LOG_URL)).content.decode()


def test_log_page_is_paginated(client, scene):
    SensitiveAccess.objects.bulk_create(
        [SensitiveAccess(user=scene.sec_a, action=Action.EXPORT_LEDGER) for _ in range(55)]
    )
    client.force_login(scene.admin)
    first = client.get(reverse(LOG_URL))
    second = client.get(reverse(LOG_URL), {"page": 2})
    assert len(first.context["page"]) == 50
    assert len(second.context["page"]) == 5
    assert first.context["page"].paginator.count == 55


@pytest.mark.parametrize("who", ["sec_a", "host", "rev"])
def test_log_page_is_refused_to_everyone_else(client, scene, who):
    log_sensitive_access(user=scene.sec_a, action=Action.REVEAL_NATIONAL_ID, member=scene.away)
    client.force_login(getattr(scene, who))
    response = client.get(reverse(LOG_URL))
    assert response.status_code == 403
    assert "外出甲" not in response.content.decode()


def test_log_page_needs_a_login(client, scene):
    response = client.get(reverse(LOG_URL))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_nav_link_only_for_administrators(client, scene):
    client.force_login(scene.admin)
    assert reverse(LOG_URL) in client.get(reverse("home")).content.decode()
    client.force_login(scene.rev)
    assert reverse(LOG_URL) not in client.get(reverse("home")).content.decode()
