"""Server time and queries of the pages secretaries and reviewers use most (issue #8).

    python -m bench.pages_bench [--runs 20]

On the bench database (after bench.province; the alert inbox is empty until a scan has run),
as a branch secretary and as a county reviewer, in three cases (CASES: with last night's
snapshot; with none, as on a new deployment's first morning; with none and the kept figures
counted yesterday, as after a failed night), through Django's test client: 2 warm-ups,
then --runs timed requests per page (fewer, but 5 at least, for a page whose runs take more
than --budget seconds); median and p95, the number of queries, the EXPLAIN
ANALYZE of the page's slowest query, and any sequential scan of members_member among its
queries. A table on stdout, figures in bench/results/pages.json.
"""

import argparse
import json
import os
import re
import time
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from django.conf import settings  # noqa: E402

settings.DEBUG = False  # with DEBUG on, Django keeps the text of every query in memory

from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.common import bench_staff, fresh_statistics, members_in_scope, pages_for, summary  # noqa: E402
from bench.province import guard  # noqa: E402
from members.models import Member  # noqa: E402
from reports.models import FigureSnapshot, LiveFigures  # noqa: E402
from reports.snapshots import take_snapshots  # noqa: E402

CASES = {
    "with_snapshot": "last night's snapshot taken, the kept figures current",
    "no_snapshot": "no snapshot at all (a new deployment's first morning)",
    "kept_from_yesterday": "no snapshot, the kept figures counted yesterday (a failed night): "
    "the pages show them, saying so, and queue a recount",
}


@contextmanager
def case(name: str):
    """The database as in the case; the last two inside a transaction rolled back after."""
    today = timezone.localdate()
    if name == "with_snapshot":
        if not FigureSnapshot.objects.filter(day=today).exists():
            started = time.perf_counter()
            take_snapshots(today=today)
            print(f"snapshots taken in {time.perf_counter() - started:.1f} s", flush=True)
        yield
        return
    with transaction.atomic():
        FigureSnapshot.objects.all().delete()
        if name == "kept_from_yesterday":
            LiveFigures.objects.update(day=today - timedelta(days=1))
        yield
        transaction.set_rollback(True)


RESULTS = Path(__file__).resolve().parent / "results"
WARMUPS = 2
MIN_RUNS = 5
TARGET_MS = 100
DASHBOARD_TARGET_MS = 150
SEQ_SCAN = re.compile(r"Seq Scan on members_member\b")


def explain(sql: str, *, analyze: bool = False) -> str:
    options = "ANALYZE, BUFFERS" if analyze else "COSTS"
    with connection.cursor() as cursor:
        # The captured text has its parameters inlined already (psycopg client-side binding).
        cursor.cursor.execute(f"EXPLAIN ({options}) {sql}")
        return "\n".join(row[0] for row in cursor.cursor.fetchall())


def is_read(sql: str) -> bool:
    return sql.lstrip().upper().startswith(("SELECT", "WITH"))


def measure(client: Client, url: str, *, runs: int, budget: float) -> dict:
    for _ in range(WARMUPS):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    timings = []
    began = time.monotonic()
    # A page of several seconds stops after MIN_RUNS once over budget: 20 runs of a 10 s
    # page would take the bench past an hour.
    while len(timings) < runs and (len(timings) < MIN_RUNS or time.monotonic() - began < budget):
        started = time.perf_counter()
        client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
    # Queries are counted in a run of their own: capturing them costs time.
    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    reads = [q for q in captured.captured_queries if is_read(q["sql"])]
    seq_scans = []
    for query in reads:
        plan = explain(query["sql"])
        if SEQ_SCAN.search(plan):
            seq_scans.append({"sql": query["sql"], "plan": plan})
    slowest = max(reads, key=lambda q: float(q["time"]), default=None)
    return {
        "url": url,
        "runs": len(timings),
        **summary(timings),
        "queries": len(captured.captured_queries),
        "slowest_query": slowest
        and {
            "ms": round(float(slowest["time"]) * 1000, 1),
            "sql": slowest["sql"],
            "plan": explain(slowest["sql"], analyze=True),
        },
        "seq_scans_of_members": seq_scans,
    }


def target_of(label: str) -> int:
    return DASHBOARD_TARGET_MS if label.startswith("dashboard") else TARGET_MS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument(
        "--budget", type=float, default=60, help="seconds of timed runs per page, at least 5 runs"
    )
    args = parser.parse_args()
    guard()
    fresh_statistics()
    load_before = os.getloadavg()
    figures = {
        "members": Member.objects.count(),
        "runs": args.runs,
        "warmups": WARMUPS,
        "at": datetime.now().isoformat(timespec="seconds"),
        "load_average_before": [round(x, 2) for x in load_before],
        "roles": {},
    }
    figures["cases"] = {}
    rows = []
    staff = bench_staff(secretaries=1, reviewers=1)
    for name, description in CASES.items():
        print(f"\n{name}: {description}", flush=True)
        roles = figures["cases"][name] = {"description": description, "roles": {}}
        with case(name):
            for user, role in staff:
                client = Client()
                client.force_login(user)
                pages = {}
                for label, url in pages_for(user).items():
                    result = measure(client, url, runs=args.runs, budget=args.budget)
                    result["target_ms"] = target_of(label)
                    pages[label] = result
                    rows.append((name, role, label, result))
                    print(
                        f"{role:9} {label:24} {result['median_ms']:9.1f} {result['p95_ms']:9.1f}"
                        f" {result['queries']:4} ({result['runs']} runs)",
                        flush=True,
                    )
                roles["roles"][role] = {
                    "user": user.username,
                    "organisation": user.assignment.organisation.name,
                    "members_in_scope": members_in_scope(user),
                    "pages": pages,
                }
    figures["load_average_after"] = [round(x, 2) for x in os.getloadavg()]

    print(
        f"\n{'case':20} {'role':9} {'page':24} {'median ms':>9} {'p95 ms':>9} {'queries':>7}  target"
    )
    for name, role, label, result in rows:
        over = "over" if result["p95_ms"] > result["target_ms"] else "ok"
        print(
            f"{name:20} {role:9} {label:24} {result['median_ms']:9.1f} {result['p95_ms']:9.1f}"
            f" {result['queries']:7}  {over} ({result['target_ms']} ms)"
        )
    for name, role, label, result in rows:
        for scan in result["seq_scans_of_members"]:
            # The whole plan is in pages.json; the start of the query is enough to find it.
            print(f"\nSeq Scan on members_member — {name}, {role}, {label}: {scan['sql'][:300]}…")
        if result["p95_ms"] > result["target_ms"] and result["slowest_query"]:
            slowest = result["slowest_query"]
            print(f"\nslowest query of {name}, {role}, {label} ({slowest['ms']} ms):")
            print(slowest["sql"])
            print(slowest["plan"])
    print(f"\nload average before {load_before}, after {figures['load_average_after']}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "pages.json").write_text(json.dumps(figures, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
