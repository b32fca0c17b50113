"""Whole Liudong deployments for a test: a database of its own (created and migrated), a
server on loopback (gunicorn) and a Celery worker, each with its own settings in the
environment. Everything lives in the test's tmp_path and is stopped and dropped afterwards."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import psycopg
from cryptography.fernet import Fernet
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _admin_dsn(dbname: str) -> dict:
    db = connection.settings_dict
    return {
        "host": db["HOST"] or "127.0.0.1",
        "port": db["PORT"] or 5432,
        "user": db["USER"],
        "password": db["PASSWORD"] or None,
        "dbname": dbname,
    }


class Deployment:
    """One side. `manage()` runs a management command there; `sql()` reads its database."""

    def __init__(self, name: str, *, redis_db: int, tmp_path: Path):
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.dbname = f"liudong_side_{name}_{uuid.uuid4().hex[:6]}"
        dsn = _admin_dsn(self.dbname)
        password = f":{dsn['password']}" if dsn["password"] else ""
        redis = settings.REDIS_URL.rsplit("/", 1)[0]
        self.logs = tmp_path / name
        self.logs.mkdir()
        self.env = {
            **os.environ,
            "DATABASE_URL": f"postgres://{dsn['user']}{password}@{dsn['host']}:{dsn['port']}/{self.dbname}",
            "REDIS_URL": f"{redis}/{redis_db}",
            "SITE_URL": self.url,
            # Each side its own key: an ID number travels as text, never as the other's token.
            "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "DEBUG": "true",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "RECEIPTS_ROOT": str(self.logs / "receipts"),
            "CONN_MAX_AGE": "0",
        }
        self.env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        self.processes: dict[str, subprocess.Popen] = {}

    # --- the database --------------------------------------------------------------------

    def create_database(self, *, like: "Deployment | None" = None) -> None:
        """Empty, or a copy of another side's migrated database (faster than migrating)."""
        template = f' TEMPLATE "{like.dbname}"' if like else ""
        with psycopg.connect(**_admin_dsn("postgres"), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{self.dbname}"{template}')

    def drop_database(self) -> None:
        with psycopg.connect(**_admin_dsn("postgres"), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.dbname}" WITH (FORCE)')

    def sql(self, query: str, params: tuple = ()) -> list[tuple]:
        with psycopg.connect(**_admin_dsn(self.dbname)) as db:
            return db.execute(query, params).fetchall()

    # --- commands ------------------------------------------------------------------------

    def start_manage(self, *args: str, log: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            stdout=(self.logs / log).open("w"),
            stderr=subprocess.STDOUT,
        )

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{self.name}: manage.py {args[0]} failed:\n{done.stderr[-3000:]}")
        return done.stdout

    def shell(self, code: str) -> str:
        return self.manage("shell", "-c", code)

    # --- processes -----------------------------------------------------------------------

    def start_server(self) -> None:
        self.processes["server"] = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi",
                "-b",
                f"127.0.0.1:{self.port}",
                "-w",
                "2",
                "--timeout",
                "60",
            ],  # fmt: skip
            cwd=ROOT,
            env=self.env,
            stdout=(self.logs / "server.log").open("w"),
            stderr=subprocess.STDOUT,
        )
        wait_until(lambda: self._answers(), f"{self.name}'s server", self.logs / "server.log")

    def _answers(self) -> bool:
        if self.processes["server"].poll() is not None:
            raise RuntimeError((self.logs / "server.log").read_text()[-3000:])
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=2):  # noqa: S310
                return True
        except urllib.error.HTTPError:
            return True  # it answers (unhealthy without a scan yet is fine here)
        except OSError:
            return False

    def stop_server(self) -> None:
        self.stop("server")

    def start_worker(self) -> None:
        self.processes["worker"] = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool=solo",
                "--concurrency=1",
                "-n",
                f"side-{self.name}-{uuid.uuid4().hex[:6]}@%h",
                "--without-gossip",
                "--without-mingle",
                "-l",
                "info",
            ],  # fmt: skip
            cwd=ROOT,
            env=self.env,
            stdout=(self.logs / "worker.log").open("w"),
            stderr=subprocess.STDOUT,
        )
        wait_until(
            lambda: "ready." in (self.logs / "worker.log").read_text(),
            f"{self.name}'s worker",
            self.logs / "worker.log",
        )

    def stop(self, which: str) -> None:
        process = self.processes.pop(which, None)
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def stop_all(self) -> None:
        for which in list(self.processes):
            self.stop(which)


def wait_until(check, what: str, log: Path | None = None, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    tail = log.read_text()[-3000:] if log and log.exists() else ""
    raise AssertionError(f"{what}: not within {timeout} s\n{tail}")
