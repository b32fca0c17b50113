"""Time the re-evaluation that follows a write: one member's rules, on the bench database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/liudong_bench_1m \\
    python -m bench.reevaluate_bench [--members 50]

A write that changes a member's evidence (a contact, an attendance roster, a dues payment)
sends `alerts.tasks.reevaluate_members` to a worker (members.signals.evidence_changed ->
alerts.services.reevaluate_soon); the worker runs every rule for those members
(`scanning.scan_members`) and opens or closes their alerts the same day. This times the
task's body in process, without the broker, for `--members` members picked at random (half of
them mobile, whom most rules look at), one at a time as a write sends them, after a few
warm-up calls: median, p95 and the queries per member. The recount of the kept figures that
the task queues after it (reports.live.refresh of the member's branches) is its own task on a
worker: timed after, on its own. Run it after a scan, so that the
members have open alerts to keep or close. Figures go to bench/results/scan_split.json,
under "reevaluate".
"""

import argparse
import json
import os
import random
import statistics
import time
from datetime import datetime
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from django.conf import settings  # noqa: E402

settings.DEBUG = False  # with DEBUG on, Django keeps the text of every query in memory

from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from alerts.models import Alert  # noqa: E402
from alerts.tasks import reevaluate_members  # noqa: E402
from bench.common import percentile  # noqa: E402
from bench.province import guard  # noqa: E402
from members.models import Member  # noqa: E402
from reports import live  # noqa: E402
from transfers.models import MobilityEpisode  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
WARM_UP = 5


def sample(count: int, seed: int = 18) -> list[int]:
    """Half mobile members, half any member, distinct, in random order."""
    rng = random.Random(seed)
    mobile = list(
        MobilityEpisode.objects.current().order_by("member_id").values_list("member_id", flat=True)
    )
    everyone = list(Member.objects.order_by("pk").values_list("pk", flat=True))
    picked = set(rng.sample(mobile, min(len(mobile), count // 2 + WARM_UP)))
    while len(picked) < count + WARM_UP:
        picked.add(rng.choice(everyone))
    ordered = sorted(picked)
    rng.shuffle(ordered)
    return ordered


def run(count: int) -> dict:
    guard()
    members = sample(count)
    queries = []

    def counting(execute, sql, params, many, context):
        queries[-1] += 1
        return execute(sql, params, many, context)

    timings_ms = []
    changed = 0
    queued: list[list[int]] = []
    live._queue_refresh = queued.append  # a task of its own on a worker: timed below
    with connection.execute_wrapper(counting):
        for number, member_id in enumerate(members):
            queries.append(0)
            started = time.perf_counter()
            result = reevaluate_members.run([member_id])
            elapsed = (time.perf_counter() - started) * 1000
            if number >= WARM_UP:
                timings_ms.append(elapsed)
                changed += bool(result)
    queries = queries[WARM_UP:]
    recounts_ms = []
    for ids in queued[WARM_UP : WARM_UP + 20]:
        started = time.perf_counter()
        live.refresh(organisation_ids=ids, today=timezone.localdate())
        recounts_ms.append((time.perf_counter() - started) * 1000)
    return {
        "members": Member.objects.count(),
        "open_alerts": Alert.objects.filter(closed_at__isnull=True).count(),
        "reevaluated": len(timings_ms),
        "median_ms": round(statistics.median(timings_ms), 1),
        "p95_ms": round(percentile(timings_ms, 0.95), 1),
        "max_ms": round(max(timings_ms), 1),
        "queries_median": statistics.median(queries),
        "queries_max": max(queries),
        "opened_or_closed_some": changed,
        "kept_figures_recount": recounts_ms
        and {
            "runs": len(recounts_ms),
            "median_ms": round(statistics.median(recounts_ms), 1),
            "p95_ms": round(percentile(recounts_ms, 0.95), 1),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=50)
    args = parser.parse_args()
    load_before = os.getloadavg()
    figures = run(args.members)
    figures["load_before"] = load_before
    figures["load_after"] = os.getloadavg()
    figures["at"] = datetime.now().isoformat(timespec="seconds")
    print(
        f"re-evaluation of one member, {figures['reevaluated']} members of "
        f"{figures['members']:,}: median {figures['median_ms']} ms, p95 {figures['p95_ms']} ms, "
        f"max {figures['max_ms']} ms; {figures['queries_median']} queries (max "
        f"{figures['queries_max']}); load {figures['load_before']} -> {figures['load_after']}"
        f"\nthe recount of the kept figures that follows: {figures['kept_figures_recount']}"
    )
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "scan_split.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    results["reevaluate"] = figures
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
