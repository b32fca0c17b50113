"""Time the split scan on Celery worker processes against the bench database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/liudong_bench_1m \
    REDIS_URL=redis://127.0.0.1:6379/14 python -m bench.scan_split_bench \
    [--split rule|county] [--workers 2] [--no-single]

Clears the alerts, runs the single-process scan (first run and rerun) for comparison under the
same load, clears them again, then sends `scan_alerts` (split by rule or by county) to the
workers: a first run and an unchanged rerun. Checks that both leave the same open alerts.
Peak memory is each worker's VmHWM (solo pool: the task runs in the worker process itself).
Each part's seconds are kept, with their sum, median and maximum: with one worker the sum is
the whole split's work, and a county part's seconds are what one county costs.
Figures go to bench/results/scan_split.json, one entry per split and number of workers
("county-2w", "rule-2w", "county-1w", ...).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from django.conf import settings  # noqa: E402

settings.DEBUG = False  # with DEBUG on, Django keeps the text of every query in memory

from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402

from alerts.models import Alert  # noqa: E402
from alerts.scanning import SPLIT_BY_COUNTY, SPLIT_BY_RULE, scan  # noqa: E402
from alerts.tasks import scan_alerts  # noqa: E402
from bench.province import guard  # noqa: E402
from bench.scan_bench import peak_mb  # noqa: E402
from config import celery_app  # noqa: E402
from members.models import Member  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def clear_alerts() -> None:
    with connection.cursor() as cursor:  # not .delete(): that loads every alert into memory
        cursor.execute("TRUNCATE members_alertaction, members_alert")


def open_alerts() -> dict[str, int]:
    rows = Alert.objects.filter(closed_at__isnull=True).values_list("kind").order_by("kind")
    return {kind: n for kind, n in rows.annotate(n=Count("id"))}


def start_workers(count: int, queue: str, logs: Path) -> list[subprocess.Popen]:
    workers = []
    for number in range(1, count + 1):
        log = (logs / f"scan-split-w{number}.log").open("w")
        workers.append(
            subprocess.Popen(  # noqa: S603 - our own command line
                [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo",
                 "--concurrency=1", "-n", f"w{number}-{queue}@%h", "-Q", queue,
                 "--without-gossip", "--without-mingle", "-l", "warning"],
                cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            )
        )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        answered = [name for reply in celery_app.control.ping(timeout=1) for name in reply]
        if sum(queue in name for name in answered) == count:
            return workers
    raise SystemExit(f"the workers did not start; see {logs}/scan-split-w*.log")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024)
    return 0.0


def timed(label: str, figures: dict, run) -> dict:
    started = time.monotonic()
    result = run()
    figures[f"{label}_seconds"] = round(time.monotonic() - started, 2)
    print(f"{label}: {figures[f'{label}_seconds']} s", flush=True)
    return result


def part_figures(parts: list[dict]) -> dict:
    seconds = sorted(part["seconds"] for part in parts)
    return {
        "parts": len(seconds),
        "sum_seconds": round(sum(seconds), 2),
        "median_seconds": round(statistics.median(seconds), 2) if seconds else 0,
        "max_seconds": round(seconds[-1], 2) if seconds else 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--split", choices=[SPLIT_BY_RULE, SPLIT_BY_COUNTY], default=SPLIT_BY_RULE)
    parser.add_argument("--no-single", action="store_true", help="skip the single-process runs")
    args = parser.parse_args()
    guard()
    if not settings.REDIS_URL:
        sys.exit("set REDIS_URL: the split scan runs on Celery workers")
    figures = {"members": Member.objects.count(), "workers": args.workers, "split": args.split}
    figures["at"] = datetime.now().isoformat(timespec="seconds")
    figures["load_before"] = os.getloadavg()

    single = None
    if not args.no_single:
        clear_alerts()
        timed("single_first", figures, scan)
        timed("single_second", figures, scan)
        single = open_alerts()
        figures["single_peak_memory_mb"] = round(peak_mb())

    clear_alerts()
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    workers = start_workers(args.workers, queue, Path(tempfile.gettempdir()))
    try:
        first = timed(
            "split_first",
            figures,
            lambda: scan_alerts.apply_async(kwargs={"split": args.split}, queue=queue).get(
                timeout=1800
            ),
        )
        second = timed(
            "split_second",
            figures,
            lambda: scan_alerts.apply_async(kwargs={"split": args.split}, queue=queue).get(
                timeout=1800
            ),
        )
        figures["worker_peak_memory_mb"] = [peak_rss_mb(w.pid) for w in workers]
    finally:
        for worker in workers:
            worker.terminate()
            worker.wait(timeout=60)
    figures["load_after"] = os.getloadavg()
    figures["split_first_parts"] = first["parts"]
    figures["split_second_parts"] = second["parts"]
    figures["split_first_part_figures"] = part_figures(first["parts"])
    figures["split_second_part_figures"] = part_figures(second["parts"])
    figures["split_first_rules"] = first["results"]
    figures["split_second_rules"] = second["results"]
    split = open_alerts()
    figures["open_alerts"] = sum(split.values())
    if single is not None:
        figures["same_open_alerts_as_single"] = split == single
        print(
            f"single: {figures['single_first_seconds']} s / {figures['single_second_seconds']} s, "
            f"{figures['single_peak_memory_mb']} MB; same open alerts as the split: "
            f"{figures['same_open_alerts_as_single']}"
        )
    print(
        f"members {figures['members']:,}; open alerts {figures['open_alerts']:,}\n"
        f"split by {args.split} on {args.workers} workers: {figures['split_first_seconds']} s / "
        f"{figures['split_second_seconds']} s, peak per worker "
        f"{figures['worker_peak_memory_mb']} MB\n"
        f"parts, first run: {figures['split_first_part_figures']}\n"
        f"parts, rerun: {figures['split_second_part_figures']}\n"
        f"load {figures['load_before']} -> {figures['load_after']}"
    )
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "scan_split.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    results[f"{args.split}-{args.workers}w"] = figures
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
