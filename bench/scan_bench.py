"""Time the nightly scan (all rules) on the bench database: a first run and an unchanged rerun.

python -m bench.scan_bench            # after python -m bench.province --members N
"""

import json
import os
import resource
import time
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from django.conf import settings  # noqa: E402

settings.DEBUG = False  # with DEBUG on, Django keeps the text of every query in memory

from django.db import connection  # noqa: E402

from alerts.models import Alert  # noqa: E402
from alerts.scanning import scan  # noqa: E402
from bench.province import guard  # noqa: E402
from members.models import Member  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run() -> dict:
    guard()
    with connection.cursor() as cursor:  # not .delete(): that loads every alert into memory
        cursor.execute("TRUNCATE members_alertaction, members_alert")
    figures = {"members": Member.objects.count()}
    for label in ("first", "second"):
        started = time.monotonic()
        result = scan()
        figures[f"{label}_seconds"] = round(time.monotonic() - started, 2)
        figures[f"{label}_rules"] = result.results
    figures["open_alerts"] = Alert.objects.filter(closed_at__isnull=True).count()
    figures["peak_memory_mb"] = round(peak_mb())
    return figures


def main() -> None:
    figures = run()
    print(f"members {figures['members']:,}; open alerts {figures['open_alerts']:,}")
    print(f"{'rule':32} {'first s':>8} {'second s':>9} {'matched':>9}")
    for code, first in figures["first_rules"].items():
        second = figures["second_rules"][code]
        print(
            f"{code:32} {first['seconds']:>8.2f} {second['seconds']:>9.2f} {first.get('matched', 0):>9,}"
        )
    print(
        f"scan: first {figures['first_seconds']} s, second {figures['second_seconds']} s, "
        f"peak memory {figures['peak_memory_mb']} MB"
    )
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"scan-{figures['members']}.json"
    path.write_text(json.dumps(figures, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
