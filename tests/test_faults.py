"""Nothing is lost when something breaks: the database mid-import, Redis, the SMTP server."""

import os
import socket
import threading
from contextlib import contextmanager
from datetime import date, timedelta

import pytest
from django.db import OperationalError, connection
from django.urls import reverse

from ledgers import staging, tasks
from ledgers.models import LedgerImport, LedgerRecord
from members.models import Member
from transfers.models import MobilityEpisode

from .conftest import require_service
from .test_ledger_import_views import row, upload

ROWS = [row(seq, f"导入{seq}") for seq in range(1, 31)]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens once the socket is closed


def nothing_written() -> bool:
    return (
        not Member.objects.exists()
        and not Member.history.exists()
        and not MobilityEpisode.objects.exists()
        and not LedgerRecord.objects.exists()
    )


@contextmanager
def database_drops_after(inserts: int, drop):
    """Call `drop()` before the (inserts + 1)th INSERT: the connection goes mid-import."""
    seen = 0

    def wrapper(execute, sql, params, many, context):
        nonlocal seen
        if sql.lstrip().upper().startswith("INSERT"):
            seen += 1
            if seen > inserts:
                drop()
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield lambda: seen


def lost_connection():
    raise OperationalError("server closed the connection unexpectedly")


def previewed_job(client) -> tuple[LedgerImport, str]:
    response = upload(client, ROWS)
    assert response.context["plan"].ok, response.context["plan"].issues
    return response.context["job"], response.context["token"]


@pytest.fixture
def importer(client, county):
    client.force_login(county.secretary(county.branch_a, "sec_a"))
    return client


# --- the database drops in the middle of an import --------------------------------------------


def test_a_connection_lost_mid_import_writes_nothing_and_says_so(importer):
    job, token = previewed_job(importer)
    job.status = LedgerImport.Status.RUNNING
    job.save()

    # Members (COPY on PostgreSQL) and their history rows are in; then the connection goes.
    with database_drops_after(1, lost_connection) as inserts:
        with pytest.raises(OperationalError):
            tasks.import_ledger(job.pk, token, None)
    assert inserts() > 1

    assert nothing_written()
    job.refresh_from_db()
    assert job.status == LedgerImport.Status.FAILED
    assert "未写入任何数据" in job.errors[0]["message"]
    assert staging.fetch(token) is None  # dropped: the user uploads again


def test_a_connection_lost_mid_import_in_the_browser_is_a_clear_message(importer):
    job, token = previewed_job(importer)
    importer.raise_request_exception = False
    with database_drops_after(1, lost_connection):
        response = importer.post(reverse("ledgers:import_apply", args=[job.pk]), {"token": token})
    assert nothing_written()
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == LedgerImport.Status.FAILED
    page = importer.get(response.url).content.decode()
    assert "未写入任何数据" in page


@pytest.mark.django_db(transaction=True)
def test_the_postgresql_backend_killed_mid_import_writes_nothing(client, county):
    """The real thing: the server ends our session (pg_terminate_backend) mid-write."""
    require_service(
        "PostgreSQL",
        connection.vendor == "postgresql",
        "set DATABASE_URL to a PostgreSQL database",
    )
    import psycopg

    settings_dict = connection.settings_dict
    client.force_login(county.secretary(county.branch_a, "sec_a"))
    job, token = previewed_job(client)
    job.status = LedgerImport.Status.RUNNING
    job.save()
    own_pid = connection.connection.info.backend_pid

    def kill():
        with psycopg.connect(
            host=settings_dict["HOST"],
            port=settings_dict["PORT"] or 5432,
            user=settings_dict["USER"],
            password=settings_dict["PASSWORD"] or None,
            dbname=settings_dict["NAME"],
            autocommit=True,
        ) as other:
            other.execute("SELECT pg_terminate_backend(%s)", [own_pid])

    killed = []

    def drop_once():
        if not killed:
            killed.append(True)
            kill()

    with database_drops_after(1, drop_once):
        with pytest.raises(Exception) as raised:  # noqa: B017 - psycopg's error, wrapped by Django
            tasks.import_ledger(job.pk, token, None)
    assert killed
    assert "terminat" in str(raised.value).lower() or "closed" in str(raised.value).lower()

    connection.close()  # a new session, as the next task would have
    assert nothing_written()
    job.refresh_from_db()
    assert job.status == LedgerImport.Status.FAILED
    assert "未写入任何数据" in job.errors[0]["message"]


# --- Redis is down --------------------------------------------------------------------------------


@pytest.fixture
def redis_down(settings):
    """The production cache, pointed at a port where nothing listens."""
    settings.CACHES = {
        "default": {
            "BACKEND": "config.cache.TolerantRedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2},
        }
    }
    from django.core.cache import cache

    assert cache.get("anything", "missed") == "missed"  # reached the tolerant backend
    return settings


def test_pages_work_while_redis_is_down(client, county, redis_down):
    secretary = county.secretary(county.branch_a, "sec")
    member = county.member(county.branch_a, name="在家甲")
    response = client.post(
        reverse("login"), {"username": "sec", "password": "correct-horse-battery"}
    )
    assert response.status_code == 302, "login"
    assert client.session["_auth_user_id"] == str(secretary.pk)
    for url in [
        reverse("home"),
        reverse("members:list"),
        reverse("members:detail", args=[member.pk]),
        reverse("ledgers:ledger"),
        reverse("ledgers:import_upload"),
    ]:
        assert client.get(url).status_code == 200, url


def test_a_staged_upload_while_redis_is_down_is_not_applied_half(importer, redis_down):
    """The preview works; confirming asks to upload again (the file could not be kept)."""
    response = upload(importer, ROWS[:2])
    assert response.status_code == 200 and response.context["plan"].ok
    job, token = response.context["job"], response.context["token"]
    applied = importer.post(reverse("ledgers:import_apply", args=[job.pk]), {"token": token})
    assert applied.status_code == 302
    assert applied.url == reverse("ledgers:import_upload")
    assert nothing_written()


def test_the_tolerant_cache_works_normally_when_redis_is_up(settings):
    redis_url = os.environ.get("REDIS_URL", "")
    require_service("Redis", bool(redis_url), "set REDIS_URL")
    settings.CACHES = {
        "default": {"BACKEND": "config.cache.TolerantRedisCache", "LOCATION": redis_url}
    }
    from django.core.cache import cache

    assert cache.set("faults-test", "kept", 30) is True
    assert cache.get("faults-test") == "kept"
    cache.delete("faults-test")


def test_the_settings_use_the_tolerant_cache_with_redis():
    import subprocess
    import sys

    from .test_settings import ROOT

    env = {**os.environ, "REDIS_URL": f"redis://127.0.0.1:{closed_port()}/0"}
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', "
            "'config.settings'); django.setup(); from django.core.cache import cache; "
            "print(type(cache._cache if hasattr(cache, '_cache') else cache).__name__, "
            "cache.get('x', 'miss'))",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-1] == "miss"


def test_a_task_sent_while_the_broker_is_down_fails_loudly(county):
    """With Redis down, .delay() raises at once instead of dropping the task silently."""
    from kombu.exceptions import OperationalError as BrokerDown

    from alerts.tasks import send_reminder
    from config import celery_app

    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        with celery_app.connection_for_write(f"redis://127.0.0.1:{closed_port()}/0") as down:
            with pytest.raises(BrokerDown):
                send_reminder.apply_async(
                    (1, "weekly_digest", "2026-W01"),
                    connection=down,
                    retry_policy={"max_retries": 1},
                )
    finally:
        celery_app.conf.task_always_eager = previous


def test_the_nightly_scan_missed_while_redis_was_down_catches_up_on_return(county):
    """The scan looks at the state on the day it runs: a run a day late finds what the missed
    night would have found, and a second run the same day opens nothing twice."""
    from alerts import scanning
    from alerts.models import Alert

    member = county.member(county.branch_a, name="失联乙")
    MobilityEpisode.objects.create(
        member=member,
        mobility_type="temporary",
        left_on=date(2024, 1, 1),
        destination_province="广东省",
    )
    missed_night = date.today()
    scanning.scan(today=missed_night + timedelta(days=1))
    opened = set(Alert.objects.filter(member=member).values_list("kind", flat=True))
    assert opened
    scanning.scan(today=missed_night + timedelta(days=1))
    assert Alert.objects.filter(member=member).count() == len(opened)


def test_digests_missed_while_redis_was_down_go_out_once_when_it_returns(
    county, settings, eager_celery
):
    """The fan-out is keyed by period: run late (Wednesday instead of Monday) it still sends
    that week's digest, and a second run sends nothing again."""
    from django.core import mail

    from alerts import notifications, scanning
    from alerts.models import EmailSent
    from alerts.tasks import send_weekly_digests

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    secretary = county.secretary(county.branch_a, "sec")
    secretary.email = "sec@example.org"
    secretary.save()
    member = county.member(county.branch_a, name="失联丙")
    MobilityEpisode.objects.create(
        member=member, mobility_type="temporary", left_on=date(2024, 1, 1)
    )
    scanning.scan()
    monday = date.today() - timedelta(days=date.today().weekday())
    wednesday = monday + timedelta(days=2)
    assert notifications.week_period(wednesday) == notifications.week_period(monday)

    assert notifications.due_reminders(kind=notifications.WEEKLY_DIGEST, today=wednesday) == [
        (secretary.pk, notifications.week_period(monday))
    ]
    assert send_weekly_digests() == 1
    assert send_weekly_digests() == 0
    assert len(mail.outbox) == 1
    assert EmailSent.objects.get().status == EmailSent.Status.SENT


# --- the SMTP server refuses, or is down ------------------------------------------------------


class FlakyInbox:
    """Refuses the first `refusals` messages with a temporary error, then accepts."""

    def __init__(self, refusals: int, reply: str = "451 4.3.0 Try again later"):
        self.refusals, self.reply = refusals, reply
        self.messages, self.refused = [], 0

    async def handle_DATA(self, server, session, envelope):
        if self.refused < self.refusals:
            self.refused += 1
            return self.reply
        self.messages.append(envelope.content)
        return "250 OK"


@contextmanager
def smtp_server(settings, handler, port: int | None = None):
    from aiosmtpd.controller import Controller

    controller = Controller(handler, hostname="127.0.0.1", port=port or closed_port())
    controller.start()
    use_smtp(settings, controller.port)
    try:
        yield controller
    finally:
        controller.stop()


def use_smtp(settings, port: int) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5


@pytest.fixture
def digest_due(county, settings):
    from alerts import notifications, scanning

    settings.SITE_URL = "http://testserver"
    secretary = county.secretary(county.branch_a, "sec")
    secretary.email = "sec@example.org"
    secretary.save()
    member = county.member(county.branch_a, name="失联丁")
    MobilityEpisode.objects.create(
        member=member, mobility_type="temporary", left_on=date(2024, 1, 1)
    )
    scanning.scan()
    return secretary, notifications.week_period(date.today())


@pytest.mark.parametrize("reply", ["451 4.3.0 Try again later", "554 5.7.1 Rejected for now"])
def test_a_refused_reminder_is_retried_and_arrives_once(
    request, settings, digest_due, eager_celery, reply
):
    from alerts.models import EmailSent
    from alerts.tasks import send_reminder
    from config import celery_app

    # In-process, a retry runs at once (no countdown) unless the first error is re-raised.
    previous = celery_app.conf.task_eager_propagates
    celery_app.conf.task_eager_propagates = False
    request.addfinalizer(lambda: setattr(celery_app.conf, "task_eager_propagates", previous))
    secretary, period = digest_due
    inbox = FlakyInbox(refusals=2, reply=reply)
    with smtp_server(settings, inbox):
        result = send_reminder.delay(secretary.pk, "weekly_digest", period)
        assert result.get() == "sent"
        assert inbox.refused == 2 and len(inbox.messages) == 1
        record = EmailSent.objects.get()
        assert (record.status, record.attempts, record.last_error) == ("sent", 3, "")

        # A rerun — the next fan-out, or a redelivered task — sends nothing again.
        assert send_reminder.delay(secretary.pk, "weekly_digest", period).get() == "already sent"
        assert len(inbox.messages) == 1


def test_a_reminder_sent_while_smtp_is_down_goes_out_once_when_it_is_back(settings, digest_due):
    from alerts import notifications
    from alerts.models import EmailSent

    secretary, period = digest_due
    port = closed_port()
    use_smtp(settings, port)
    with pytest.raises(OSError):
        notifications.send_reminder(user=secretary, kind="weekly_digest", period=period)
    record = EmailSent.objects.get()
    assert (record.status, record.attempts) == ("failed", 1)
    assert "ConnectionRefused" in record.last_error
    # Still due: the next fan-out picks it up.
    assert notifications.due_reminders(kind="weekly_digest", today=date.today()) == [
        (secretary.pk, period)
    ]

    inbox = FlakyInbox(refusals=0)
    with smtp_server(settings, inbox, port=port):
        assert (
            notifications.send_reminder(user=secretary, kind="weekly_digest", period=period)
            == "sent"
        )
        assert (
            notifications.send_reminder(user=secretary, kind="weekly_digest", period=period)
            == "already sent"
        )
    assert len(inbox.messages) == 1
    record.refresh_from_db()
    assert (record.status, record.attempts) == ("sent", 2)
    assert notifications.due_reminders(kind="weekly_digest", today=date.today()) == []


def test_the_reminder_task_retries_smtp_failures_with_backoff():
    from smtplib import SMTPException

    from alerts.tasks import send_reminder

    assert set(send_reminder.autoretry_for) >= {SMTPException, OSError}
    assert send_reminder.retry_backoff and send_reminder.max_retries >= 5


@pytest.mark.django_db(transaction=True)
def test_two_workers_with_the_same_reminder_send_it_once(settings, digest_due):
    """A redelivered task running beside the first: the row lock lets one of them send."""
    require_service("PostgreSQL", connection.vendor == "postgresql", "row locks need PostgreSQL")
    from django.db import connections

    from alerts import notifications

    secretary, period = digest_due
    inbox = FlakyInbox(refusals=0)
    results = []

    def worker():
        try:
            results.append(
                notifications.send_reminder(user=secretary, kind="weekly_digest", period=period)
            )
        finally:
            connections.close_all()

    with smtp_server(settings, inbox):
        threads = [threading.Thread(target=worker) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert sorted(results) == ["already sent"] * 3 + ["sent"]
    assert len(inbox.messages) == 1


# --- the queue or the cache cannot be reached when a user acts ---------------------------------


@pytest.mark.django_db(transaction=True)  # the task goes out on commit, as in production
def test_a_broker_outage_leaves_the_preview_to_confirm_again(importer, settings, monkeypatch):
    from kombu.exceptions import OperationalError as BrokerDown

    settings.IMPORT_BACKGROUND_ROWS = 10  # these 30 rows go to the worker
    job, token = previewed_job(importer)

    def broker_down(*args, **kwargs):
        raise BrokerDown("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.import_ledger, "delay", broker_down)
    response = importer.post(reverse("ledgers:import_apply", args=[job.pk]), {"token": token})
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == LedgerImport.Status.PREVIEWED and nothing_written()
    assert staging.fetch(token) is not None  # kept: confirming again later works
    page = importer.get(response.url).content.decode()
    assert "后台任务暂时无法使用" in page


def test_an_upload_the_cache_cannot_keep_offers_no_confirm(importer, monkeypatch):
    monkeypatch.setattr(staging.cache, "set", lambda *args, **kwargs: False)
    response = upload(importer, ROWS)
    assert response.status_code == 200 and response.context["token"] == ""
    html = response.content.decode()
    assert "暂时无法保存上传的文件" in html
    assert reverse("ledgers:import_apply", args=[response.context["job"].pk]) not in html
