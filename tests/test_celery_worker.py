"""The housekeeping task, sent over Redis and run by a real Celery worker process."""

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone

from accounts.tasks import housekeeping
from tests.workers import celery_workers


@pytest.fixture
def celery_worker_process(tmp_path):
    """One real worker on a queue of its own; the tests send their tasks there."""
    with celery_workers("w1", tmp_path=tmp_path) as (queue, _workers):
        yield queue


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_housekeeping_runs_on_a_real_worker(celery_worker_process):
    now = timezone.now()
    Session.objects.create(
        session_key="expired" + "0" * 25, session_data="", expire_date=now - timedelta(days=1)
    )
    Session.objects.create(
        session_key="current" + "0" * 25, session_data="", expire_date=now + timedelta(days=1)
    )

    result = housekeeping.apply_async(queue=celery_worker_process)

    assert result.get(timeout=90) == {"expired_sessions": 1, "expired_login_attempts": 0}
    assert list(Session.objects.values_list("session_key", flat=True)) == ["current" + "0" * 25]


def test_housekeeping_is_safe_to_run_twice(db):
    Session.objects.create(
        session_key="expired" + "0" * 25,
        session_data="",
        expire_date=timezone.now() - timedelta(days=1),
    )
    assert housekeeping.apply().get()["expired_sessions"] == 1
    assert housekeeping.apply().get()["expired_sessions"] == 0


def test_beat_schedules_housekeeping_nightly(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["housekeeping"]
    assert entry["task"] == housekeeping.name


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_the_nightly_scan_runs_on_a_real_worker(celery_worker_process, county):
    from datetime import date

    from alerts.models import Alert, ScanRun
    from alerts.tasks import scan_alerts
    from transfers.models import MobilityEpisode

    member = county.member(county.branch_a, name="失联乙")
    MobilityEpisode.objects.create(
        member=member,
        mobility_type="temporary",
        left_on=date(2024, 1, 1),
        destination_province="广东省",
    )

    result = scan_alerts.apply_async(queue=celery_worker_process).get(timeout=120)

    assert result["failed_rules"] == 0
    assert result["results"]["lost_contact"]["opened"] == 1
    alert = Alert.objects.get(member=member, kind="lost_contact")
    assert alert.closed_at is None and ScanRun.objects.get().pk == result["run"]


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_members_sms_leaves_from_a_real_worker_through_the_gateway(tmp_path, monkeypatch, county):
    """Issue #19: the worker process, configured from its environment like production, sends
    the member's SMS to an HTTP gateway (a real local server) and records it sent."""
    from selfservice.models import MemberMessage
    from selfservice.tasks import deliver_message
    from tests.browser_phone import SmsGateway

    member = county.member(county.branch_a, name="短信丙", phone="13911112222")
    message = MemberMessage.objects.create(
        member=member,
        key="worker-test",
        kind="link",
        channel="sms",
        recipient=member.phone,
        values={"link": "https://liudong.example/m/abc/"},
    )
    with SmsGateway() as gateway:
        monkeypatch.setenv("SMS_BACKEND", "infrastructure.sms.GatewayBackend")
        monkeypatch.setenv("SMS_GATEWAY_URL", gateway.url)
        monkeypatch.setenv("SMS_GATEWAY_KEY", "worker-key")
        with celery_workers("sms", tmp_path=tmp_path) as (queue, _workers):
            assert deliver_message.apply_async([message.pk], queue=queue).get(timeout=90) == "sent"
            # Sent again (a redelivery): nothing leaves twice.
            assert deliver_message.apply_async([message.pk], queue=queue).get(timeout=90) == "sent"
    assert len(gateway.received) == 1
    sent = gateway.received[0]
    assert sent["authorization"] == "Bearer worker-key"
    assert sent["body"]["to"] == "13911112222" and sent["body"]["request_id"] == "worker-test"
    message.refresh_from_db()
    assert message.status == "sent" and message.attempts == 1 and message.provider_id
