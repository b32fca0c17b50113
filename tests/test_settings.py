"""Settings from the environment: production refuses unsafe defaults and passes check --deploy."""

import os
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent


def run_manage(*args, **env):
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "a-real-secret-" + "x" * 50,
    "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    "ALLOWED_HOSTS": "liudong.example.org",
    "SMS_BACKEND": "infrastructure.sms.GatewayBackend",
    "SMS_GATEWAY_URL": "https://sms.example.org/send",
}


def test_refuses_to_start_without_a_secret_when_debug_is_off():
    env = {**PRODUCTION}
    env.pop("SECRET_KEY")
    result = run_manage("check", **env)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_refuses_to_start_with_the_development_encryption_key():
    from django.conf import settings

    result = run_manage(
        "check", **{**PRODUCTION, "FIELD_ENCRYPTION_KEY": settings.DEV_FIELD_ENCRYPTION_KEY}
    )
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEY" in result.stderr


def test_check_deploy_is_clean_with_production_settings():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_refuses_sms_that_only_reach_the_console():
    env = {**PRODUCTION, "SMS_BACKEND": "infrastructure.sms.ConsoleBackend"}
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", **env)
    assert result.returncode != 0 and "liudong.W001" in result.stderr
    env = {**PRODUCTION, "SMS_GATEWAY_URL": ""}
    result = run_manage("check", "--deploy", **env)
    assert result.returncode != 0 and "liudong.E001" in result.stderr


def test_defaults_are_for_a_newcomer(settings):
    assert settings.TIME_ZONE == "Asia/Shanghai"
    assert settings.LANGUAGE_CODE == "zh-hans"
    assert [code for code, _ in settings.LANGUAGES] == ["zh-hans", "en"]


def test_refuses_a_malformed_encryption_key():
    result = run_manage("check", **{**PRODUCTION, "FIELD_ENCRYPTION_KEY": "change-me"})
    assert result.returncode != 0
    assert "Fernet" in result.stderr


def test_production_turns_on_https_only_cookies_and_hsts():
    result = run_manage(
        "shell",
        "-c",
        "from django.conf import settings as s; print(s.SECURE_HSTS_SECONDS, "
        "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, "
        "s.SECURE_REDIRECT_EXEMPT, s.OTP_REQUIRED_FOR_STAFF)",
        **PRODUCTION,
        OTP_REQUIRED_FOR_STAFF="true",
    )
    assert result.returncode == 0, result.stderr
    printed = result.stdout.strip().splitlines()[-1]  # after the shell's own notices
    assert printed.split(maxsplit=4)[:4] == ["31536000", "True", "True", "True"]
    assert "healthz" in printed
    assert printed.endswith("True")


def test_postgresql_connections_run_queries_without_parallel_workers(db):
    """Pages stop after fifty rows; parallel workers only slowed them (DATABASE_PARALLEL_WORKERS)."""
    from django.db import connection

    from tests.conftest import require_service

    require_service("PostgreSQL", connection.vendor == "postgresql", "a PostgreSQL setting")
    with connection.cursor() as cursor:
        cursor.execute("SHOW max_parallel_workers_per_gather")
        assert cursor.fetchone()[0] == "0"
