"""The nightly scan, alerts and reminder e-mails."""

import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone

from alerts import notifications, scanning
from alerts import registry as rules
from alerts import selectors as alerts
from alerts import services as alert_services
from alerts.models import Alert, AlertAction, EmailPreference, EmailSent, ScanRun
from infrastructure.steps import StepRefused
from ledgers.models import ContactAttempt
from transfers.models import MobilityEpisode

TODAY = timezone.localdate()


@pytest.fixture
def silent(county):
    """A member of branch A away for a year and never reached: lost contact."""
    county.sec_a = county.secretary(county.branch_a, "sec_a")
    county.sec_a.email = "sec_a@example.org"
    county.sec_a.save()
    county.sec_b = county.secretary(county.branch_b, "sec_b")
    county.away = county.member(county.branch_a, name="失联甲")
    MobilityEpisode.objects.create(
        member=county.away,
        mobility_type="temporary",
        left_on=TODAY - timedelta(days=365),
        destination_province="广东省",
    )
    return county


def open_kinds(member):
    return set(
        Alert.objects.filter(member=member, closed_at__isnull=True).values_list("kind", flat=True)
    )


def test_the_scan_opens_alerts_and_records_the_run(silent):
    run = scanning.scan()
    assert "lost_contact" in open_kinds(silent.away)
    assert run.results["lost_contact"]["opened"] == 1
    assert run.finished_at and run.failed_rules == 0
    alert = Alert.objects.get(member=silent.away, kind="lost_contact")
    assert alert.severity == "serious"
    assert alert.opened_at and not alert.actions.exists()  # opening is the alert itself


def test_running_twice_changes_nothing_the_second_time(silent):
    scanning.scan()
    before = list(Alert.objects.values_list("pk", "kind", "state", "opened_at", "closed_at"))
    actions = AlertAction.objects.count()
    second = scanning.scan()
    assert (
        list(Alert.objects.values_list("pk", "kind", "state", "opened_at", "closed_at")) == before
    )
    assert AlertAction.objects.count() == actions
    assert all(r.get("opened", 0) == 0 and r.get("closed", 0) == 0 for r in second.results.values())


def test_a_cleared_condition_closes_the_alert(silent):
    scanning.scan()
    ContactAttempt.objects.create(
        member=silent.away, on=TODAY, channel="phone", reached=True, recorded_by=silent.sec_a
    )
    scanning.scan()
    alert = Alert.objects.get(member=silent.away, kind="lost_contact")
    assert (alert.state, alert.close_reason) == ("closed", "condition_cleared")
    assert alert.actions.last().action == AlertAction.Action.CLEARED


def test_a_rule_that_raises_does_not_stop_the_others(silent, monkeypatch):
    def broken(today):
        raise RuntimeError("boom")

    monkeypatch.setitem(
        rules._rules,
        "aaa_broken",
        rules.Rule("aaa_broken", "broken", "notice", "", "", "", broken),
    )
    run = scanning.scan()
    assert run.failed_rules == 1
    assert "RuntimeError: boom" in run.results["aaa_broken"]["error"]
    assert "lost_contact" in open_kinds(silent.away)


def test_scan_alerts_command_prints_counts(silent, capsys):
    call_command("scan_alerts")
    out = capsys.readouterr().out
    assert "lost_contact" in out and ScanRun.objects.count() == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_scans_at_once_do_not_duplicate_alerts(silent):
    barrier = threading.Barrier(2)

    def run():
        barrier.wait()
        try:
            scanning.scan()
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Alert.objects.filter(member=silent.away, kind="lost_contact").count() == 1


def test_acknowledge_snooze_resolve_are_recorded(silent):
    scanning.scan()
    alert = Alert.objects.get(member=silent.away, kind="lost_contact")
    alert_services.alert_acknowledge(actor=silent.sec_a, alert=alert, note="已安排走访")
    alert_services.alert_snooze(
        actor=silent.sec_a, alert=alert, until=TODAY + timedelta(days=7), reason="等待家属回复"
    )
    assert alert not in alerts.alerts_visible_to(silent.sec_a)
    assert alert in alerts.alerts_visible_to(silent.sec_a, today=TODAY + timedelta(days=7))
    with pytest.raises(StepRefused):
        alert_services.alert_snooze(actor=silent.sec_a, alert=alert, until=TODAY, reason="x")
    alert_services.alert_resolve(actor=silent.sec_a, alert=alert, note="已联系")
    actions = list(alert.actions.values_list("action", "actor__username"))
    assert actions == [
        ("acknowledged", "sec_a"),
        ("snoozed", "sec_a"),
        ("resolved", "sec_a"),
    ]
    scanning.scan()  # the condition still holds: a new alert opens
    assert Alert.objects.filter(member=silent.away, kind="lost_contact").count() == 2


def test_the_inbox_is_scoped_and_the_alert_page_shows_evidence(client, silent):
    scanning.scan()
    alert = Alert.objects.get(member=silent.away, kind="lost_contact")
    ContactAttempt.objects.create(
        member=silent.away,
        on=TODAY - timedelta(days=3),
        channel="phone",
        reached=False,
        note="空号",
        recorded_by=silent.sec_a,
    )
    client.force_login(silent.sec_b)
    assert list(client.get(reverse("alerts:inbox")).context["page"]) == []
    assert client.get(reverse("alerts:detail", args=[alert.pk])).status_code == 404
    client.force_login(silent.sec_a)
    inbox = client.get(reverse("alerts:inbox"), {"kind": "lost_contact"})
    assert [a.member.name for a in inbox.context["page"]] == ["失联甲"]
    page = client.get(reverse("alerts:detail", args=[alert.pk])).content.decode()
    assert "第二十四条" in page and "空号" in page
    assert reverse("ledgers:contact_new", args=[silent.away.pk]) in page


def test_home_page_lists_open_alerts(client, silent):
    scanning.scan()
    client.force_login(silent.sec_a)
    summary = client.get(reverse("home")).context["alert_summary"]
    severities = [row["rule"].severity for row in summary]
    assert severities == sorted(severities, key=["serious", "warning", "notice"].index)
    assert "lost_contact" in [
        row["rule"].code for row in summary if row["rule"].severity == "serious"
    ]


# --- e-mails ------------------------------------------------------------------------------


def test_weekly_digest_is_sent_once_per_week(silent, mailoutbox):
    scanning.scan()
    due = notifications.due_reminders(kind=notifications.WEEKLY_DIGEST, today=TODAY)
    assert [user_id for user_id, _ in due] == [silent.sec_a.pk]  # sec_b has no e-mail
    _, period = due[0]
    assert (
        notifications.send_reminder(user=silent.sec_a, kind="weekly_digest", period=period)
        == "sent"
    )
    assert notifications.send_reminder(user=silent.sec_a, kind="weekly_digest", period=period) == (
        "already sent"
    )
    assert len(mailoutbox) == 1
    assert notifications.due_reminders(kind=notifications.WEEKLY_DIGEST, today=TODAY) == []


def test_no_digest_without_alerts_or_when_switched_off(silent, mailoutbox):
    period = notifications.week_period(TODAY)
    assert notifications.send_reminder(user=silent.sec_a, kind="weekly_digest", period=period) == (
        "nothing to say"
    )
    scanning.scan()
    EmailPreference.objects.create(user=silent.sec_a, digests=False)
    assert notifications.due_reminders(kind=notifications.WEEKLY_DIGEST, today=TODAY) == []
    assert mailoutbox == []


def test_a_failed_send_is_recorded_and_retried_later(silent, settings):
    scanning.scan()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens there
    settings.EMAIL_TIMEOUT = 2
    period = notifications.week_period(TODAY)
    with pytest.raises(OSError):
        notifications.send_reminder(user=silent.sec_a, kind="weekly_digest", period=period)
    record = EmailSent.objects.get()
    assert (record.status, record.attempts) == ("failed", 1) and record.last_error
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert (
        notifications.send_reminder(user=silent.sec_a, kind="weekly_digest", period=period)
        == "sent"
    )
    record.refresh_from_db()
    assert (record.status, record.attempts) == ("sent", 2)


def test_the_reviewer_summary_names_the_branches_most_behind(silent, mailoutbox):
    reviewer = silent.reviewer(silent.county, "rev")
    reviewer.email = "rev@example.org"
    reviewer.save()
    scanning.scan()
    due = notifications.due_reminders(kind=notifications.MONTHLY_SUMMARY, today=TODAY)
    assert [user_id for user_id, _ in due] == [reviewer.pk]
    notifications.send_reminder(user=reviewer, kind="monthly_summary", period=due[0][1])
    body = mailoutbox[0].body
    assert "甲村党支部" in body


def test_last_seen_is_refreshed_once_a_day(silent):
    scanning.scan()
    alert = Alert.objects.get(member=silent.away, kind="lost_contact")
    first_seen = alert.last_seen_at
    scanning.scan()
    alert.refresh_from_db()
    assert alert.last_seen_at == first_seen
    run = scanning.scan(today=TODAY + timedelta(days=1))
    alert.refresh_from_db()
    assert alert.last_seen_at > first_seen and run.results["lost_contact"]["refreshed"] == 1


def test_the_inflow_side_sees_but_cannot_silence_a_hosted_members_alert(client, silent):
    episode = silent.away.mobility_episodes.get()
    episode.inflow_organisation = silent.branch_b
    episode.save()
    scanning.scan()
    alert = Alert.objects.get(member=silent.away, kind="lost_contact")
    client.force_login(silent.sec_b)
    assert client.get(reverse("alerts:detail", args=[alert.pk])).status_code == 200
    with pytest.raises(StepRefused):
        alert_services.alert_snooze(
            actor=silent.sec_b, alert=alert, until=TODAY + timedelta(days=30), reason="x"
        )
    alert.refresh_from_db()
    assert alert.state == "open"


def test_the_inbox_counts_what_it_lists_with_and_without_filters(client, silent):
    scanning.scan()
    client.force_login(silent.sec_a)
    url = reverse("alerts:inbox")
    visible = Alert.objects.filter(closed_at__isnull=True, member__home_branch=silent.branch_a)
    kinds = set(visible.values_list("kind", flat=True))
    assert len(kinds) >= 2  # the shortcut must pick the right kind, not the total
    for query in [{}, *({"kind": kind} for kind in kinds), {"severity": "serious"}]:
        page = client.get(url, query).context["page"]
        expected = visible.filter(**query).count()
        assert page.paginator.count == expected == len(page.object_list), query


# --- a large scope's counts from the night ---------------------------------------------------


@pytest.fixture
def counted_last_night(silent, settings):
    """The alerts of the scan, and the nightly snapshot taken after it; every subtree is large."""
    from reports.snapshots import take_snapshots

    scanning.scan()
    take_snapshots(today=TODAY)
    settings.DASHBOARD_LIVE_MAX_MEMBERS = 0
    silent.county_reviewer = silent.reviewer(silent.county, "county_reviewer")
    return silent


def kind_counts(summary) -> dict[str, int]:
    return {row["rule"].code: row["count"] for row in summary}


def open_alerts_per_kind(**filters) -> dict[str, int]:
    alerts = Alert.objects.filter(closed_at__isnull=True, **filters)
    return dict(alerts.values_list("kind").annotate(n=Count("id")))


def test_a_large_scope_counts_its_alerts_from_the_kept_figures_which_follow_the_writes(
    client, counted_last_night
):
    county = counted_last_night
    alert = Alert.objects.get(member=county.away, kind="lost_contact")
    alert_services.alert_resolve(actor=county.sec_a, alert=alert, note="已联系")
    client.force_login(county.county_reviewer)
    response = client.get(reverse("alerts:inbox"))
    assert kind_counts(response.context["summary"]) == open_alerts_per_kind()  # resolved: gone
    assert alert not in response.context["page"].object_list
    assert response.context["summary"].as_of is None
    home = client.get(reverse("home")).context["alert_summary"]
    assert home.as_of is None and kind_counts(home) == open_alerts_per_kind()


def test_counts_from_an_earlier_day_say_so_while_they_are_recounted(
    client, counted_last_night, monkeypatch
):
    from reports import live

    yesterday = TODAY - timedelta(days=1)
    night = open_alerts_per_kind()
    live.refresh_all(today=yesterday)
    monkeypatch.setattr(live, "INLINE_REFRESH_MAX", 0)  # too many to recount inline
    client.force_login(counted_last_night.county_reviewer)
    response = client.get(reverse("alerts:inbox"))
    assert kind_counts(response.context["summary"]) == night
    assert response.context["summary"].as_of == yesterday
    assert f"数字统计于{yesterday:%Y-%m-%d}，正在重新统计" in response.content.decode()


def test_e_mails_count_now_even_for_a_large_scope(counted_last_night):
    county = counted_last_night
    alert = Alert.objects.get(member=county.away, kind="lost_contact")
    alert_services.alert_resolve(actor=county.sec_a, alert=alert, note="已联系")
    summary = alerts.alert_summary(user=county.county_reviewer)
    assert summary.as_of is None
    assert kind_counts(summary) == open_alerts_per_kind()


def test_alerts_of_members_hosted_from_outside_are_added_live(client, counted_last_night):
    from members.models import Organisation

    county = counted_last_night
    tree, kind = Organisation.objects, Organisation.Kind
    other = tree.add_root({"name": "外县委组织部", "kind": kind.COUNTY})
    outside = tree.add_child(other, {"name": "外县某村党支部", "kind": kind.BRANCH})
    guest = county.member(outside, name="外来客")
    MobilityEpisode.objects.create(
        member=guest,
        mobility_type="temporary",
        left_on=TODAY - timedelta(days=30),
        destination_province="广东省",
        inflow_organisation=county.branch_b,
    )
    now = timezone.now()
    Alert.objects.create(
        member=guest, kind="lost_contact", severity="serious", opened_at=now, last_seen_at=now
    )
    client.force_login(county.county_reviewer)
    counts = kind_counts(client.get(reverse("alerts:inbox")).context["summary"])
    at_home = open_alerts_per_kind(member__home_branch__path__startswith=county.county.path)
    assert counts["lost_contact"] == at_home["lost_contact"] + 1
