"""Real Celery worker processes on Redis, against the test database (for tests marked services)."""

import os
import signal
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection

from tests.conftest import port_open, require_service

ROOT = Path(__file__).resolve().parent.parent


def worker_database_url() -> str:
    """The test database, as a URL the worker process can use."""
    db = connection.settings_dict
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def require_redis_and_postgresql() -> None:
    redis = urlsplit(settings.REDIS_URL) if settings.REDIS_URL else None
    require_service(
        "Redis", bool(redis) and port_open(redis.hostname, redis.port or 6379), "set REDIS_URL"
    )
    require_service(
        "PostgreSQL", connection.vendor == "postgresql", "the workers need a shared database"
    )


class Worker:
    """A worker process; `name` is its node name, the part of its hostname before the @."""

    def __init__(self, name: str, process: subprocess.Popen, log: Path):
        self.name, self.process, self.log = name, process, log

    def children(self) -> list[int]:
        """The pool's processes (prefork), from /proc: only the ones this worker started."""
        pid = self.process.pid
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
        return [int(child) for child in text.split()]

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)


@contextmanager
def celery_workers(*names: str, pool: str = "solo", tmp_path: Path):
    """Start one worker per name on a queue of their own; yield (queue, {name: Worker}).

    Each is `celery -A config worker --concurrency 1 -n <name>-<queue>@%h`, logging to a
    file (a pipe nobody reads would fill up and stop the worker). Returns once all answer
    a ping, so that the first one up cannot take every task before the others start.
    """
    from config import celery_app

    require_redis_and_postgresql()
    queue = f"test-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "DATABASE_URL": worker_database_url(), "REDIS_URL": settings.REDIS_URL}
    workers = {}
    for name in names:
        hostname = f"{name}-{queue}@%h"
        log = tmp_path / f"{name}.log"
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                f"--pool={pool}",
                "--concurrency=1",
                "-n",
                hostname,
                "-Q",
                queue,
                "--without-gossip",
                "--without-mingle",
                "-l",
                "info",
            ],
            cwd=ROOT,
            env=env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        workers[name] = Worker(f"{name}-{queue}", process, log)
    try:
        _wait_until_ready(celery_app, workers)
        yield queue, workers
    finally:
        for worker in workers.values():
            if worker.process.poll() is None:
                worker.process.terminate()
        for worker in workers.values():
            try:
                worker.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.process.kill()


def _wait_until_ready(app, workers: dict[str, Worker], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    waiting = {name for name in workers}
    while waiting and time.monotonic() < deadline:
        replies = app.control.ping(timeout=1)
        answered = {hostname.split("@")[0] for reply in replies for hostname in reply}
        waiting = {name for name in waiting if workers[name].name not in answered}
        for name in waiting:
            if workers[name].process.poll() is not None:
                raise RuntimeError(f"worker {name} exited: {workers[name].log.read_text()}")
    if waiting:
        raise RuntimeError(f"workers {sorted(waiting)} did not answer a ping in {timeout} s")
