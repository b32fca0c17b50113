"""Concurrent writes on a production-like server: nothing lost, nothing doubled (issue #9).

    python -m bench.write_load [--users 8] [--seconds 30] [--members 60] [--secretaries 4]

Builds its own small county in a fresh database (DATABASE_URL, by default
liudong_bench_writes, dropped and created again): one township with two branches of
--members mobile members each, --secretaries secretaries per branch and one activity per
secretary. Then gunicorn (as bench.load_bench starts it) and locust, headless, with --users
secretaries (bench/locust_writes.py) recording contacts, "reached today" clicks and attendance
rosters on the same members at once for --seconds. Afterwards every write the users saw
succeed is looked for in the database: each contact exactly once, no contact nobody logged,
one ledger record per member reached, confirmed today, and per activity one attendance row per
member on the roster, all from one submission (no mix of two), which is one that may have
committed last. Figures go to bench/results/write_load.json; the exit code is 1 when
anything does not add up.
"""

import argparse
import json
import os
import random
import sys
import tempfile
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import psycopg

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/liudong_bench_writes"
os.environ.setdefault("DATABASE_URL", DEFAULT_URL)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def recreate_database() -> None:
    """Drop and create the database of DATABASE_URL (before Django connects to it)."""
    url = psycopg.conninfo.conninfo_to_dict(os.environ["DATABASE_URL"])
    name = url.pop("dbname")
    if not name.startswith("liudong_bench"):
        sys.exit(f"refusing to drop database {name!r}: use liudong_bench*")
    with psycopg.connect(dbname="postgres", autocommit=True, **url) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--members", type=int, default=60, help="mobile members per branch")
    parser.add_argument("--secretaries", type=int, default=4, help="secretaries per branch")
    return parser.parse_args()


ARGS = parse_args()  # before django.setup(): --help needs no database
recreate_database()

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from activities import services as activity_services  # noqa: E402
from activities.models import Activity  # noqa: E402
from activities.selectors import roster  # noqa: E402
from bench.common import BENCH_PASSWORD, percentile, staff_user  # noqa: E402
from bench.load_bench import GUNICORN_WORKERS, locust_aggregate, run_locust_on_gunicorn  # noqa: E402
from bench.province import guard  # noqa: E402
from bench.write_checks import verify_attendance, verify_contacts  # noqa: E402
from members.demo import make_national_id  # noqa: E402
from members.models import Member, Organisation, StaffAssignment  # noqa: E402
from transfers.models import MobilityEpisode  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BIN = Path(sys.executable).parent


def build_county(*, members: int, secretaries: int) -> list[dict]:
    """The county, its staff and activities; returns the locust plan, one entry per secretary."""
    tree = Organisation.objects
    county = tree.add_root({"name": "写入基准县委组织部", "kind": Organisation.Kind.COUNTY})
    township = tree.add_child(
        county, {"name": "写入基准镇党委", "kind": Organisation.Kind.COMMITTEE}
    )
    rng = random.Random(9)
    seen = set()
    today = timezone.localdate()
    plan = []
    for b in range(2):
        branch = tree.add_child(
            township, {"name": f"写入基准村{b}党支部", "kind": Organisation.Kind.BRANCH}
        )
        for i in range(members):
            born = date(1970, 1, 1) + timedelta(days=rng.randrange(12000))
            number = make_national_id(rng, born, True)
            while number in seen:
                number = make_national_id(rng, born, True)
            seen.add(number)
            member = Member.objects.create(
                name=f"流动{b}-{i:03d}",
                gender=Member.Gender.MALE,
                birth_date=born,
                national_id=number,
                phone=f"138{rng.randrange(10**8):08d}",
                joined_on=date(2010, 7, 1),
                confirmed_on=date(2011, 7, 1),
                home_branch=branch,
            )
            MobilityEpisode.objects.create(
                member=member,
                mobility_type="work",
                left_on=today - timedelta(days=30 + i),
                destination_province="广东省",
                destination_city="深圳市",
            )
        users = [
            staff_user(
                username=f"bench-writer-{b}-{s}",
                organisation=branch,
                role=StaffAssignment.Role.SECRETARY,
            )
            for s in range(secretaries)
        ]
        activities = [
            activity_services.activity_record(
                actor=user,
                branch=branch,
                kind=Activity.Kind.THEME_DAY,
                held_on=today,
                title=f"写入基准主题党日 {user.username}",
                attendance={},
            )
            for user in users
        ]
        member_ids = list(roster(branch).values_list("pk", flat=True))
        for user in users:
            plan.append(
                {
                    "username": user.username,
                    "password": BENCH_PASSWORD,
                    "today": today.isoformat(),  # the server's (TIME_ZONE), not the clock's
                    "members": member_ids,
                    "activities": {str(a.pk): member_ids for a in activities},
                }
            )
    # Interleave the branches, so that any number of users writes to both.
    return sorted(plan, key=lambda account: account["username"].rsplit("-", 1)[1])


def read_log(folder: Path) -> list[dict]:
    entries = []
    for path in sorted(folder.glob("writes-*.jsonl")):
        entries += [json.loads(line) for line in path.read_text().splitlines() if line]
    return entries


def main() -> None:
    guard()
    call_command("migrate", verbosity=0, interactive=False)
    plan = build_county(members=ARGS.members, secretaries=ARGS.secretaries)
    if ARGS.users > len(plan):
        print(f"{ARGS.users} users share {len(plan)} secretaries' accounts")
    work = Path(tempfile.mkdtemp(prefix="liudong-writes-"))
    (work / "plan.json").write_text(json.dumps(plan))
    (work / "log").mkdir()
    connection.close()  # gunicorn's workers need the connections, not this process
    locust = run_locust_on_gunicorn(
        locustfile="bench/locust_writes.py",
        users=ARGS.users,
        run_seconds=ARGS.seconds,
        # Let each user finish the write in flight, or the server could keep a write its user
        # never logged.
        stop_timeout=60,
        work=work,
        env={
            "LIUDONG_WRITES_PLAN": str(work / "plan.json"),
            "LIUDONG_WRITES_LOG": str(work / "log"),
        },
        timeout=ARGS.seconds + 180,
    )
    entries = read_log(work / "log")
    problems = []
    if locust.returncode != 0:
        problems.append(f"locust exited with {locust.returncode}")
    failed = [e for e in entries if not e["ok"]]
    if failed:
        statuses = Counter(e["status"] for e in failed)
        problems.append(f"{len(failed)} writes failed (HTTP status: count {dict(statuses)})")
    aggregate = locust_aggregate(work / "locust_stats.csv")
    if aggregate.get("failures"):
        problems.append(f"locust counted {aggregate['failures']} failed requests")
    if not entries:
        problems.append("no write was made")
    figures = {
        **verify_contacts(entries=entries, problems=problems),
        **verify_attendance(entries=entries, problems=problems),
    }
    timings = [e["ms"] for e in entries]
    span = (max(e["end"] for e in entries) - min(e["start"] for e in entries)) if entries else 0
    per_kind = {}
    for kind in ("contact", "reached", "attendance"):
        ms = [e["ms"] for e in entries if e["kind"] == kind]
        if ms:
            per_kind[kind] = {
                "requests": len(ms),
                "p50_ms": round(percentile(ms, 0.5), 1),
                "p95_ms": round(percentile(ms, 0.95), 1),
            }
    overall = {
        "writes": len(entries),
        "writes_per_second": round(len(entries) / span, 1) if span else 0,
        "p50_ms": round(percentile(timings, 0.5), 1) if timings else None,
        "p95_ms": round(percentile(timings, 0.95), 1) if timings else None,
        "errors": len(failed),
    }
    result = {
        "at": timezone.now().isoformat(timespec="seconds"),
        "users": ARGS.users,
        "seconds": ARGS.seconds,
        "members_per_branch": ARGS.members,
        "secretaries_per_branch": ARGS.secretaries,
        "gunicorn_workers": GUNICORN_WORKERS,
        "cores": os.cpu_count(),
        "overall": overall,
        "writes": per_kind,
        "verified": figures,
        "locust_aggregated_with_logins": aggregate,
        "problems": problems,
    }
    print(f"\n{'write':20} {'requests':>8} {'p50 ms':>8} {'p95 ms':>8}")
    for kind, row in per_kind.items():
        print(f"{kind:20} {row['requests']:8} {row['p50_ms']:8.1f} {row['p95_ms']:8.1f}")
    print(
        f"{'all writes':20} {overall['writes']:8} {overall['p50_ms'] or 0:8.1f}"
        f" {overall['p95_ms'] or 0:8.1f}\n"
        f"{overall['writes_per_second']} writes/s, {overall['errors']} errors;"
        f" locust (logins included): {aggregate.get('requests')} requests,"
        f" {aggregate.get('failures')} failures\n"
        f"contacts written/verified: {figures['contacts_written']}/"
        f"{figures['contacts_verified']}; reached-today clicks written/verified:"
        f" {figures['reached_clicks_written']}/{figures['reached_clicks_verified']};"
        f" ledger records {figures['ledger_records']} for {figures['members_reached']}"
        f" members reached\nattendance submissions {figures['attendance_submissions']} on"
        f" {figures['activities_submitted']} activities, verified"
        f" {figures['activities_verified']}; attendance rows {figures['attendance_rows']}"
        f" (expected {figures['attendance_rows_expected']})"
    )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "write_load.json").write_text(json.dumps(result, indent=2, ensure_ascii=False))
    if problems:
        print("\nDOES NOT ADD UP:\n  " + "\n  ".join(problems) + f"\n(see {work})")
        sys.exit(1)
    print("every write is there, once")


if __name__ == "__main__":
    main()
