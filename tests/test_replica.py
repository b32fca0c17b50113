"""Reads that may lag go to a real PostgreSQL streaming replica (issue #18, infrastructure/db_router.py).

The service tests use the pair `bash .ci/replica` makes: a primary on 127.0.0.1:5433 and its
streaming replica on 127.0.0.1:5434 (REPLICA_PRIMARY_URL / REPLICA_URL point elsewhere; the
database in them is replaced by `liudong_replica_check`). They migrate a fresh database on the
primary, seed a small county, start gunicorn with DATABASE_URL on the primary and
DATABASE_REPLICA_URL on the replica, and log in over HTTP as the county's reviewer. Skipped
without the pair; a failure when REQUIRE_SERVICES=1.

Which database served a page: the pair loads pg_stat_statements, so the replica counts the
statements it ran on Liudong's tables. A page that read the primary leaves that count as it
was; the router's own check on the replica touches no table.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from contextlib import suppress
from glob import glob
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.test import RequestFactory

from infrastructure import db_router
from tests.conftest import require_service

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "liudong_replica_check"
PRIMARY = os.environ.get("REPLICA_PRIMARY_URL", "postgres://postgres@127.0.0.1:5433/postgres")
REPLICA = os.environ.get("REPLICA_URL", "postgres://postgres@127.0.0.1:5434/postgres")
RETRY_SECONDS = 2
PASSWORD = "correct-horse-battery"
# Five active members (four away now) and one transferred out (back home), whom the lagging
# test brings back as away.
SEED = f"""
from datetime import timedelta
from django.utils import timezone
from members.models import Member
from tests.conftest import County
from transfers.models import MobilityEpisode

c = County()
c.reviewer(c.county, "rev")
today = timezone.localdate()
def away(member, ended_on=None):
    MobilityEpisode.objects.create(
        member=member, mobility_type="work", left_on=today - timedelta(days=30),
        destination_province="广东省", destination_city="深圳市", occupation="工人",
        ended_on=ended_on,
    )
for name in ("甲一", "甲二", "甲三"):
    away(c.member(c.branch_a, name=name))
c.member(c.branch_a2, name="乙一")
away(c.member(c.branch_b, name="丙一"))
away(
    c.member(c.branch_b, name="丙新", status=Member.Status.TRANSFERRED_OUT),
    ended_on=today - timedelta(days=5),
)
print("seeded {DB_NAME}")
"""


def _database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _sql(url: str, query: str, *, database: str = DB_NAME):
    import psycopg

    with psycopg.connect(
        _database(url, database),
        autocommit=True,
        connect_timeout=3,
        application_name="liudong-replica-test",
    ) as conn:
        cursor = conn.execute(query)
        rows = cursor.fetchall() if cursor.description else []
    return rows[0][0] if rows and len(rows[0]) == 1 else rows


def _pair_problem() -> str:
    """Why the pair cannot be used, or "" when it can."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed"
    try:
        if _sql(PRIMARY, "SELECT pg_is_in_recovery()", database="postgres"):
            return f"{PRIMARY} is in recovery, not a primary"
        if not _sql(REPLICA, "SELECT pg_is_in_recovery()", database="postgres"):
            return f"{REPLICA} is not a replica"
    except Exception as error:  # noqa: BLE001 - any failure to reach the pair
        return f"cannot reach the replica pair: {error}".strip()
    return ""


def _manage(env: dict, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def replica_statements() -> int:
    """Statements on Liudong's tables the replica has run in the test database."""
    return _sql(
        REPLICA,
        "SELECT coalesce(sum(calls), 0)::int FROM pg_stat_statements "
        "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        "AND query ~ '\"(members|transfers|ledgers|reports|accounts|auth)_'",
    )


def wait_caught_up(timeout: float = 15) -> None:
    """Until the replica has replayed all the primary has flushed (and replay runs)."""
    deadline = time.monotonic() + timeout
    while True:
        with suppress(Exception):
            target = _sql(PRIMARY, "SELECT pg_current_wal_flush_lsn()::text")
            if _sql(REPLICA, f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn"):
                return
        assert time.monotonic() < deadline, "the replica did not catch up with the primary"
        time.sleep(0.05)


def _pg_ctl(*args: str) -> None:
    binary = sorted(glob("/usr/lib/postgresql/*/bin/pg_ctl"))[-1]
    command = [binary, *args]
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    subprocess.run(command, check=True, capture_output=True, timeout=60)


class Site:
    """gunicorn on the primary and the replica, and a reviewer's logged-in HTTP session."""

    def __init__(self, base: str):
        import http.cookiejar
        import urllib.request

        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=20) as response:
            assert response.status == 200, path
            return response.read().decode(errors="replace")

    def login(self, username: str) -> None:
        import urllib.parse

        page = self.get("/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        form = {"csrfmiddlewaretoken": token, "username": username, "password": PASSWORD}
        response = self.opener.open(
            self.base + "/accounts/login/", urllib.parse.urlencode(form).encode(), timeout=20
        )
        assert urlsplit(response.url).path == "/", f"login failed, landed on {response.url}"

    def figures(self) -> dict[str, int]:
        page = self.get("/dashboard/")
        return {
            key: int(value)
            for key, value in re.findall(r'data-figure="(members|mobile)">(\d+)<', page)
        }

    def ledger_names(self) -> set[str]:
        body = self.get("/ledger/export.csv")
        return {name for name in ("甲一", "甲二", "甲三", "丙一", "丙新") if name in body}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    problem = _pair_problem()
    require_service("a PostgreSQL primary and streaming replica", not problem, problem)
    _sql(PRIMARY, f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)", database="postgres")
    _sql(PRIMARY, f"CREATE DATABASE {DB_NAME}", database="postgres")
    _sql(PRIMARY, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_", "REDIS_URL", "CONN_MAX_AGE"))
    }
    env.update(DEBUG="true", DATABASE_URL=_database(PRIMARY, DB_NAME))
    _manage(env, "migrate", "--noinput")
    _manage(env, "shell", "-c", SEED)
    port = _free_port()
    log = tmp_path_factory.mktemp("replica") / "gunicorn.log"
    server_env = {
        **env,
        "DATABASE_REPLICA_URL": _database(REPLICA, DB_NAME),
        "DATABASE_REPLICA_RETRY_SECONDS": str(RETRY_SECONDS),
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--timeout",
            "60",
        ],
        cwd=ROOT,
        env=server_env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        site = Site(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 30
        while True:
            try:
                site.get("/accounts/login/")
                break
            except OSError:
                assert server.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        site.login("rev")
        yield site
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


@pytest.mark.services
def test_the_dashboard_and_the_exports_read_the_replica(site):
    wait_caught_up()
    before = replica_statements()
    assert site.figures() == {"members": 5, "mobile": 4}
    after_dashboard = replica_statements()
    assert after_dashboard - before >= 5, "the dashboard did not read the replica"
    assert site.ledger_names() == {"甲一", "甲二", "甲三", "丙一"}
    assert replica_statements() > after_dashboard, "the ledger export did not read the replica"
    site.get("/dashboard/yearly/")
    site.get("/dashboard/export.xlsx")
    assert replica_statements() > after_dashboard + 2

    # Ordinary pages stay on the primary.
    wait_caught_up()
    before = replica_statements()
    site.get("/members/")
    site.get("/ledger/")
    assert replica_statements() == before


@pytest.mark.services
def test_with_the_replica_down_pages_read_the_primary(site):
    wait_caught_up()
    data = _sql(REPLICA, "SHOW data_directory")
    _pg_ctl("-D", data, "-m", "fast", "-w", "stop")
    try:
        for _ in range(2):
            started = time.monotonic()
            assert site.figures() == {"members": 5, "mobile": 4}
            assert site.ledger_names() == {"甲一", "甲二", "甲三", "丙一"}
            assert time.monotonic() - started < 5
    finally:
        _pg_ctl("-D", data, "-l", f"{data}.log", "-w", "start")
    wait_caught_up()
    time.sleep(RETRY_SECONDS + 0.5)  # the server tries the replica again after this
    before = replica_statements()
    assert site.figures() == {"members": 5, "mobile": 4}
    assert replica_statements() > before, "the replica was not used again once back"


@pytest.mark.services
def test_a_lagging_replica_never_shows_what_the_primary_has_not_got(site):
    wait_caught_up()
    _sql(REPLICA, "SELECT pg_wal_replay_pause()")
    try:
        deadline = time.monotonic() + 10
        while _sql(REPLICA, "SELECT pg_get_wal_replay_pause_state()") != "paused":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        # On the primary: two members leave the rolls, one comes back and is away again.
        _sql(
            PRIMARY,
            "BEGIN; "
            "UPDATE members_member SET status = 'removed' WHERE name IN ('甲一', '甲二'); "
            "UPDATE transfers_mobilityepisode SET ended_on = CURRENT_DATE WHERE member_id IN "
            "(SELECT id FROM members_member WHERE name IN ('甲一', '甲二')); "
            "UPDATE members_member SET status = 'active' WHERE name = '丙新'; "
            "UPDATE transfers_mobilityepisode SET ended_on = NULL WHERE member_id = "
            "(SELECT id FROM members_member WHERE name = '丙新'); "
            "COMMIT",
        )
        stale = "SELECT count(*)::int FROM members_member WHERE status = 'active'"
        assert _sql(REPLICA, stale) == 5  # the replica still has the old rolls

        before = replica_statements()
        assert site.figures() == {"members": 4, "mobile": 3}
        assert site.ledger_names() == {"甲三", "丙一", "丙新"}
        assert replica_statements() == before, "a lagging replica served a page"
    finally:
        _sql(REPLICA, "SELECT pg_wal_replay_resume()")

    wait_caught_up()
    before = replica_statements()
    assert site.figures() == {"members": 4, "mobile": 3}
    assert site.ledger_names() == {"甲三", "丙一", "丙新"}
    assert replica_statements() > before, "the caught-up replica was not used"


# --- without the pair: the router and the settings ---------------------------------------------


def test_without_a_replica_url_there_is_one_database_and_no_router(settings):
    if os.environ.get("DATABASE_REPLICA_URL"):
        pytest.skip("DATABASE_REPLICA_URL is set for this run")
    assert list(settings.DATABASES) == ["default"]
    assert settings.DATABASE_ROUTERS == []


def test_a_replica_url_adds_the_replica_and_the_router():
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABASE_")}
    env.update(
        DATABASE_URL="postgres://liudong@db.example.org:5432/liudong",
        DATABASE_REPLICA_URL="postgres://liudong@replica.example.org:5432/liudong",
    )
    out = _manage(
        env,
        "shell",
        "-c",
        "from django.conf import settings as s; r = s.DATABASES['replica']; "
        "print(r['HOST'], r['TEST']['MIRROR'], r['ATOMIC_REQUESTS'], r['CONN_HEALTH_CHECKS'], "
        "r['OPTIONS']['connect_timeout'], s.DATABASE_ROUTERS)",
    )
    assert out.strip().splitlines()[-1].split() == [
        "replica.example.org",
        "default",
        "False",
        "True",
        "2",
        "['infrastructure.db_router.ReplicaRouter']",
    ]


def test_the_router_reads_the_replica_only_inside_lagging_reads(db):
    from django.db import transaction

    from members.models import Member, Organisation, SensitiveAccess

    router = db_router.ReplicaRouter()
    assert router.db_for_read(Member) == "default"
    assert router.db_for_write(Member) == "default"
    token = db_router._lagging.set(db_router._LaggingReads())
    try:
        assert router.db_for_read(Member) == "replica"
        from_primary = Member(name="甲")
        from_primary._state.db = "default"
        assert router.db_for_read(Member, instance=from_primary) == "default"
        # A write: that model is read back from the primary, the others still from the replica.
        assert router.db_for_write(SensitiveAccess) == "default"
        assert router.db_for_read(SensitiveAccess) == "default"
        assert router.db_for_read(Member) == "replica"
        # A transaction opened inside (a read-modify-write) reads the primary throughout.
        with transaction.atomic():
            assert router.db_for_read(Organisation) == "default"
        assert router.db_for_read(Organisation) == "replica"
    finally:
        db_router._lagging.reset(token)
    assert router.db_for_read(Member) == "default"
    assert router.allow_migrate("replica", "members") is False
    assert router.allow_migrate("default", "members") is not False
    one, other = Member(name="甲"), Member(name="乙")
    one._state.db, other._state.db = "default", "replica"
    assert router.allow_relation(one, other) is True


def test_lagging_reads_ok_costs_nothing_without_a_replica(db, django_assert_num_queries):
    seen = []

    @db_router.lagging_reads_ok
    def view(request):
        seen.append(db_router.reading_replica())
        return "ok"

    factory = RequestFactory()
    with django_assert_num_queries(0):
        assert view(factory.get("/")) == "ok"
        assert view(factory.post("/")) == "ok"
    assert seen == [False, False]


def test_a_post_never_reads_the_replica(monkeypatch):
    """Even with a replica configured and current, a request that writes reads the primary."""
    monkeypatch.setattr(db_router, "replica_configured", lambda: True)
    monkeypatch.setattr(db_router, "replica_is_current", lambda: True)
    seen = []

    @db_router.lagging_reads_ok
    def view(request):
        seen.append(db_router.reading_replica())
        return SimpleNamespace()

    factory = RequestFactory()
    view(factory.post("/"))
    view(factory.get("/"))
    assert seen == [False, True]
    assert db_router.reading_replica() is False


def _failing_replica(monkeypatch):
    """A replica that is current at the check and then fails in the view's first query."""
    monkeypatch.setattr(db_router, "replica_configured", lambda: True)
    monkeypatch.setattr(db_router, "replica_is_current", lambda: True)
    monkeypatch.setattr(db_router._health, "down_until", 0.0)
    stand_in = SimpleNamespace(close=lambda: None, errors_occurred=True)
    primary = SimpleNamespace(atomic_blocks=[])
    monkeypatch.setattr(db_router, "connections", {"replica": stand_in, "default": primary})


def test_a_replica_failing_mid_page_reads_the_page_again_from_the_primary(monkeypatch):
    from django.db import OperationalError

    _failing_replica(monkeypatch)
    seen = []

    @db_router.lagging_reads_ok
    def view(request):
        seen.append(db_router.reading_replica())
        if db_router.reading_replica():
            raise OperationalError("the replica went away")
        return "from the primary"

    assert view(RequestFactory().get("/")) == "from the primary"
    assert seen == [True, False]
    assert db_router._replica_down()


def test_after_a_write_a_failing_replica_is_an_error_not_a_second_write(monkeypatch):
    from django.db import OperationalError

    from members.models import SensitiveAccess

    _failing_replica(monkeypatch)
    router = db_router.ReplicaRouter()
    calls = []

    @db_router.lagging_reads_ok
    def view(request):
        calls.append(1)
        router.db_for_write(SensitiveAccess)  # what an export's access-log row does first
        raise OperationalError("the replica went away")

    with pytest.raises(OperationalError):
        view(RequestFactory().get("/"))
    assert calls == [1]
