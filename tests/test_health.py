"""/healthz: 200 when the database, Redis and a recent scan are fine; 503 for each failure."""

import socket
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from alerts.models import ScanRun


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def scan_finished(hours_ago: float, *, failed_rules: int = 0) -> ScanRun:
    finished = timezone.now() - timedelta(hours=hours_ago)
    return ScanRun.objects.create(
        started_at=finished - timedelta(minutes=1), finished_at=finished, failed_rules=failed_rules
    )


@pytest.fixture
def no_redis(settings):
    settings.REDIS_URL = ""


def test_healthy_after_a_recent_scan(client, db, no_redis):
    scan_finished(hours_ago=3)
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"]
    assert body["checks"]["scan"]["age_hours"] == pytest.approx(3, abs=0.01)
    assert response.headers["Cache-Control"].startswith("max-age=0")


def test_open_without_a_login(client, db, no_redis):
    scan_finished(hours_ago=1)
    assert client.get("/healthz").status_code == 200


def test_unhealthy_when_the_scan_is_older_than_26_hours(client, db, no_redis):
    scan_finished(hours_ago=27)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["scan"]["ok"] is False


def test_the_age_limit_is_a_setting(client, db, no_redis, settings):
    settings.HEALTH_SCAN_MAX_AGE_HOURS = 2
    scan_finished(hours_ago=3)
    assert client.get("/healthz").status_code == 503


def test_a_failed_or_unfinished_scan_does_not_count(client, db, no_redis):
    scan_finished(hours_ago=30)
    scan_finished(hours_ago=1, failed_rules=2)
    ScanRun.objects.create(started_at=timezone.now())
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["scan"]["age_hours"] == pytest.approx(30, abs=0.01)


def test_unhealthy_before_any_scan(client, db, no_redis):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["scan"]["error"] == "no successful scan yet"


def test_unhealthy_when_redis_is_down(client, db, settings):
    scan_finished(hours_ago=1)
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port()}/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["redis"]["ok"] is False
    assert response.json()["checks"]["database"]["ok"] is True


def test_unhealthy_when_the_database_is_down(client, db, no_redis, monkeypatch):
    scan_finished(hours_ago=1)

    def refuse(*args, **kwargs):
        raise connection.Database.OperationalError("connection refused")

    with monkeypatch.context() as patched:  # undone before the test database is cleaned
        patched.setattr(connection, "cursor", refuse)
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == {"ok": False, "error": "OperationalError"}


def test_redis_is_checked_when_used(client, db, settings):
    from .conftest import port_open, require_service

    url = settings.REDIS_URL
    require_service("Redis", bool(url) and port_open("127.0.0.1", 6379), "REDIS_URL not set")
    scan_finished(hours_ago=1)
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["checks"]["redis"] == {"ok": True}


def test_monitors_may_ask_with_head(client, db, no_redis):
    scan_finished(hours_ago=1)
    assert client.head("/healthz").status_code == 200
