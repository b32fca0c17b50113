"""Concurrent load on a production-like server (issue #8).

    python -m bench.load_bench [--users 20] [--seconds 60] [--wait 0] [--rate 0]

Starts gunicorn (config.wsgi, 2 x cores + 1 sync workers as gunicorn's documentation
advises, on a free loopback port, DEBUG off) on the database in DATABASE_URL, then locust,
headless, with --users simulated staff (three secretaries to one reviewer, each logged in
through the login form) opening a mix of the pages of bench.pages_bench for --seconds.
With --rate, the users offer that many requests a second in all (open-loop arrivals, given
enough users). Requests per second, p50/p95 per page and overall (logins left out), and the
CPU milliseconds per page of gunicorn's workers and of PostgreSQL over the measured window go
to bench/results/load.json (keyed "saturation" or "rate-N"); locust's own CSV stays in a
temporary folder. The users share at most ACCOUNTS staff accounts, each logged in on its own.
"""

import argparse
import csv
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import datetime
from pathlib import Path

import django
import psutil

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from bench.common import BENCH_PASSWORD, bench_staff, fresh_statistics, pages_for, percentile  # noqa: E402
from bench.province import guard  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BIN = Path(sys.executable).parent
TARGET_RPS = 100  # at saturation
TARGET_OFFERED_RPS, TARGET_OFFERED_P95_MS = 60, 200  # open-loop
ACCOUNTS = 20
GUNICORN_WORKERS = 2 * (os.cpu_count() or 1) + 1  # gunicorn's documented advice


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gunicorn(*, port: int, workers: int, log) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.load_settings",
        "DEBUG": "true",  # for config.settings' import only: bench.load_settings turns it off
        "SECRET_KEY": secrets.token_urlsafe(50),
    }
    env.pop("GUNICORN_CMD_ARGS", None)
    server = subprocess.Popen(  # noqa: S603
        [
            str(BIN / "gunicorn"),
            "config.wsgi:application",
            f"--workers={workers}",
            f"--bind=127.0.0.1:{port}",
            "--log-level=warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"gunicorn stopped at start (exit {server.returncode}): see {log.name}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=5):  # noqa: S310
                return server
        except OSError:
            time.sleep(0.5)
    server.terminate()
    sys.exit("gunicorn did not answer within 60 s")


class CpuSampler(threading.Thread):
    """CPU seconds (user + system) of gunicorn's workers and of PostgreSQL's processes, twice a
    second, so the measured window's share can be taken afterwards."""

    def __init__(self, server: subprocess.Popen):
        super().__init__(daemon=True)
        self.server = psutil.Process(server.pid)
        self.samples: list[tuple[float, float, float]] = []  # time, gunicorn s, postgres s
        self.stopped = threading.Event()

    @staticmethod
    def seconds(processes) -> float:
        total = 0.0
        for process in processes:
            try:
                times = process.cpu_times()
                total += times.user + times.system
            except psutil.Error:
                pass
        return total

    def run(self):
        while not self.stopped.wait(0.5):
            postgres = [p for p in psutil.process_iter(["name"]) if p.info["name"] == "postgres"]
            self.samples.append(
                (time.time(), self.seconds(self.server.children()), self.seconds(postgres))
            )

    def between(self, start: float, end: float) -> tuple[float, float]:
        inside = [s for s in self.samples if start <= s[0] <= end]
        if len(inside) < 2:
            return 0.0, 0.0
        first, last = inside[0], inside[-1]
        share = (end - start) / (last[0] - first[0])  # the window's part of the sampled span
        return (last[1] - first[1]) * share, (last[2] - first[2]) * share


def run_locust_on_gunicorn(
    *,
    locustfile: str,
    users: int,
    run_seconds: float,
    stop_timeout: int,
    work: Path,
    env: dict[str, str],
    timeout: float,
    sampler: list | None = None,
) -> subprocess.CompletedProcess:
    """gunicorn (2 x cores + 1 workers) on a free loopback port, then headless locust with
    `users` against it; locust's CSV goes to work/locust_*.csv and gunicorn's log to
    work/gunicorn.log. gunicorn stops gracefully afterwards."""
    port = free_port()
    with (work / "gunicorn.log").open("w") as log:
        server = start_gunicorn(port=port, workers=GUNICORN_WORKERS, log=log)
        cpu = CpuSampler(server)
        cpu.start()
        if sampler is not None:
            sampler.append(cpu)
        try:
            print(
                f"gunicorn, {GUNICORN_WORKERS} workers, on 127.0.0.1:{port}; locust, {users} users"
            )
            return subprocess.run(  # noqa: S603
                [
                    str(BIN / "locust"),
                    f"--locustfile={locustfile}",
                    "--headless",
                    "--only-summary",
                    f"--users={users}",
                    f"--spawn-rate={users}",
                    f"--run-time={run_seconds}s",
                    f"--host=http://127.0.0.1:{port}",
                    f"--csv={work / 'locust'}",
                    f"--stop-timeout={stop_timeout}",
                    "--loglevel=WARNING",
                ],
                cwd=ROOT,
                env={**os.environ, **env},
                timeout=timeout,
            )
        finally:
            cpu.stopped.set()
            server.send_signal(signal.SIGTERM)  # gunicorn's graceful stop
            server.wait(timeout=60)


def figures_of(timings: list[float]) -> dict:
    return {
        "requests": len(timings),
        "p50_ms": round(percentile(timings, 0.50), 1),
        "p95_ms": round(percentile(timings, 0.95), 1),
    }


def locust_aggregate(path: Path) -> dict:
    """Locust's own Aggregated row (logins included), to cross-check ours."""
    if not path.exists():
        return {}
    with path.open() as stats:
        for row in csv.DictReader(stats):
            if row["Name"] == "Aggregated":
                return {
                    "requests": int(row["Request Count"]),
                    "failures": int(row["Failure Count"]),
                    "requests_per_second": round(float(row["Requests/s"]), 1),
                    "p50_ms": float(row["50%"]),
                    "p95_ms": float(row["95%"]),
                }
    return {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--wait", type=float, default=0.0, help="seconds between a user's pages")
    parser.add_argument(
        "--rate", type=float, default=0.0, help="requests/s offered in all (0: no pause, closed)"
    )
    args = parser.parse_args()
    guard()
    fresh_statistics()
    accounts = min(args.users, ACCOUNTS)
    secretaries = accounts * 3 // 4
    plan = [
        {
            "username": user.username,
            "password": BENCH_PASSWORD,
            "role": role,
            "pages": pages_for(user),
        }
        for user, role in bench_staff(secretaries=secretaries, reviewers=accounts - secretaries)
    ]
    work = Path(tempfile.mkdtemp(prefix="liudong-load-"))
    (work / "plan.json").write_text(json.dumps(plan, ensure_ascii=False))
    load_before = os.getloadavg()
    sampled: list[CpuSampler] = []
    locust = run_locust_on_gunicorn(
        locustfile="bench/locustfile.py",
        users=args.users,
        # The window starts after the logins (see locustfile); this only bounds it.
        run_seconds=args.seconds + 240,
        stop_timeout=30,
        work=work,
        env={
            "LIUDONG_LOAD_PLAN": str(work / "plan.json"),
            "LIUDONG_LOAD_TIMINGS": str(work / "timings.json"),
            "LIUDONG_LOAD_WAIT": str(args.wait),
            "LIUDONG_LOAD_USERS": str(args.users),
            "LIUDONG_LOAD_SECONDS": str(args.seconds),
            "LIUDONG_LOAD_RATE": str(args.rate),
        },
        timeout=args.seconds + 360,
        sampler=sampled,
    )
    load_after = os.getloadavg()
    measured = json.loads((work / "timings.json").read_text())
    timings = measured["timings"]
    if not timings:
        sys.exit(f"no page was timed: see {work}")
    failures = sum(1 for _name, _ms, ok in timings if not ok)
    per_page = {}
    for name in dict.fromkeys(name for name, _ms, _ok in timings):
        per_page[name] = figures_of([ms for page, ms, _ok in timings if page == name])
    overall = figures_of([ms for _name, ms, _ok in timings])
    overall["requests_per_second"] = round(len(timings) / args.seconds, 1)
    overall["failures"] = failures
    gunicorn_s, postgres_s = sampled[0].between(
        measured["start"], measured["start"] + measured["seconds"]
    )
    overall["cpu_ms_per_page"] = {
        "gunicorn": round(1000 * gunicorn_s / len(timings), 1),
        "postgres": round(1000 * postgres_s / len(timings), 1),
    }
    key = f"rate-{args.rate:g}" if args.rate else "saturation"
    result = {
        "at": datetime.now().isoformat(timespec="seconds"),
        "users": args.users,
        "seconds": args.seconds,
        "wait_seconds": args.wait,
        "offered_requests_per_second": args.rate or None,
        "accounts": accounts,
        "gunicorn_workers": GUNICORN_WORKERS,
        "cores": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
        "locust_exit_code": locust.returncode,
        "overall": overall,
        "pages": per_page,
        "locust_aggregated_with_logins": locust_aggregate(work / "locust_stats.csv"),
        "targets": (
            {"p95_ms": TARGET_OFFERED_P95_MS, "offered_requests_per_second": TARGET_OFFERED_RPS}
            if args.rate
            else {"requests_per_second": TARGET_RPS}
        ),
    }
    print(f"\n{'page':28} {'requests':>8} {'p50 ms':>8} {'p95 ms':>8}")
    for name, page in sorted(per_page.items()):
        print(f"{name:28} {page['requests']:8} {page['p50_ms']:8.1f} {page['p95_ms']:8.1f}")
    print(
        f"{'overall':28} {overall['requests']:8} {overall['p50_ms']:8.1f} {overall['p95_ms']:8.1f}"
        f"\n{key}: {overall['requests_per_second']} requests/s, p95 {overall['p95_ms']} ms,"
        f" {failures} failed; targets {result['targets']}; CPU ms per page"
        f" {overall['cpu_ms_per_page']}; load average before {result['load_average_before']},"
        f" after {result['load_average_after']}"
    )
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "load.json"
    kept = json.loads(path.read_text()) if path.exists() else {}
    if "overall" in kept:  # the file of one run before the cases were keyed
        kept = {}
    kept[key] = result
    path.write_text(json.dumps(kept, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
