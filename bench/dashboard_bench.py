"""Server time of the reviewer's dashboard on the bench database (after bench.province).

    python -m bench.dashboard_bench
Times the page for the province, a county of it (100,000 members each at 1M), a township and
a branch, through Django's test client: median and p95 of repeated runs, and queries.
Subtrees above DASHBOARD_LIVE_MAX_MEMBERS read the figures the writes keep (reports.live);
the same run also times the county and the township counted live, as every page without a
snapshot did before, for the baseline. When there is no snapshot from today the bench takes
it first (as the nightly job does: every organisation recounted, then the snapshots) and
reports how long that took.
"""

import json
import os
import statistics
import time
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from django.conf import settings  # noqa: E402

settings.DEBUG = False  # with DEBUG on, Django keeps the text of every query in memory

from django.contrib.auth.models import User  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.province import guard  # noqa: E402
from members.models import Member, Organisation, StaffAssignment  # noqa: E402
from reports.models import FigureSnapshot  # noqa: E402
from reports.snapshots import take_snapshots  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
RUNS = 20


def measure(client: Client, url: str, runs: int = RUNS) -> dict:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    timings.sort()
    return {
        "median_ms": round(statistics.median(timings)),
        "p95_ms": round(timings[int(0.95 * (len(timings) - 1))]),
        "queries": len(queries),
    }


def main() -> None:
    guard()
    province = Organisation.objects.get_root_nodes().get(name="基准省委组织部")
    county = Organisation.objects.get_children(province).first()
    township = Organisation.objects.get_children(county).first()
    user, _ = User.objects.get_or_create(username="bench-dashboard")
    StaffAssignment.objects.update_or_create(
        user=user, defaults={"organisation": province, "role": StaffAssignment.Role.REVIEWER}
    )
    branch = Organisation.objects.filter(path__startswith=township.path, numchild=0).first()
    client = Client()
    client.force_login(user)
    figures = {"members": Member.objects.count()}
    today = timezone.localdate()
    if not FigureSnapshot.objects.filter(organisation=province, day=today).exists():
        started = time.perf_counter()
        take_snapshots(today=today)
        figures["nightly_snapshots_seconds"] = round(time.perf_counter() - started, 1)
        print(f"nightly snapshots taken in {figures['nightly_snapshots_seconds']} s")
    subtrees = (
        ("province", province),
        ("county", county),
        ("township", township),
        ("branch", branch),
    )
    for label, organisation in subtrees:
        members = Member.objects.filter(home_branch__path__startswith=organisation.path).count()
        figures[label] = {
            "members": members,
            **measure(client, f"/dashboard/?org={organisation.pk}"),
        }
        print(f"dashboard for a {label} of {members:,} members: {figures[label]}")
    kept_max = settings.DASHBOARD_LIVE_MAX_MEMBERS
    settings.DASHBOARD_LIVE_MAX_MEMBERS = 10**9  # the baseline: every subtree counted live
    for label, organisation in (("county", county), ("township", township)):
        figures[label]["counted_live"] = measure(
            client, f"/dashboard/?org={organisation.pk}", runs=3
        )
        print(f"  {label} counted live: {figures[label]['counted_live']}")
    settings.DASHBOARD_LIVE_MAX_MEMBERS = kept_max
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"dashboard-{figures['members']}.json"
    path.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
