"""The housekeeping task, sent over Redis and run by a real Celery worker process."""

import os
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.utils import timezone

from members.tasks import housekeeping
from tests.conftest import port_open, require_service

ROOT = Path(__file__).resolve().parent.parent


def worker_database_url() -> str:
    """The test database, as a URL the worker process can use."""
    db = connection.settings_dict
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.fixture
def celery_worker_process(settings):
    redis = urlsplit(settings.REDIS_URL) if settings.REDIS_URL else None
    require_service(
        "Redis", bool(redis) and port_open(redis.hostname, redis.port or 6379), "set REDIS_URL"
    )
    require_service(
        "PostgreSQL", connection.vendor == "postgresql", "the worker needs a shared database"
    )
    queue = f"test-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "DATABASE_URL": worker_database_url(), "REDIS_URL": settings.REDIS_URL}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "--concurrency=1",
            "-Q",
            queue,
            "--without-gossip",
            "--without-mingle",
            "-l",
            "info",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield queue
    process.terminate()
    process.communicate(timeout=30)


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

    from members.models import Alert, ScanRun
    from members.tasks import scan_alerts
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
