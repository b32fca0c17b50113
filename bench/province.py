"""Fill a PostgreSQL database with a province of members, fast (COPY, not one save per row).

    python -m bench.province --members 100000

About 20% of members are away (with an episode), most of those have contacts and a
five-clears record, in proportions like the demo county. Refuses to touch a database
whose name does not start with "liudong_bench".
"""

import argparse
import os
import random
import sys
import time
from datetime import date, datetime, timedelta

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from django.conf import settings  # noqa: E402

settings.DEBUG = False  # with DEBUG on, Django keeps the text of every query in memory

from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from members import crypto  # noqa: E402
from members.demo import GIVEN, SURNAMES, make_national_id  # noqa: E402
from members.models import Organisation  # noqa: E402
from reports import live  # noqa: E402

TODAY = date.today()


def guard() -> None:
    name = connection.settings_dict["NAME"]
    if connection.vendor != "postgresql" or not str(name).startswith("liudong_bench"):
        sys.exit(f"refusing to fill {connection.vendor} database {name!r}: use liudong_bench*")


def build_tree(*, counties: int, townships: int, branches: int) -> list[int]:
    tree = Organisation.objects
    province = tree.add_root({"name": "基准省委组织部", "kind": "county", "code": "990000"})
    branch_ids = []
    for c in range(counties):
        county = tree.add_child(province, {"name": f"基准县{c}", "kind": "committee"})
        for t in range(townships):
            township = tree.add_child(county, {"name": f"基准县{c}镇{t}", "kind": "committee"})
            for b in range(branches):
                branch = tree.add_child(
                    township, {"name": f"基准县{c}镇{t}村{b}党支部", "kind": "branch"}
                )
                branch_ids.append(branch.pk)
    return branch_ids


def copy_rows(table: str, columns: list[str], rows) -> int:
    count = 0
    with connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg 3 cursor underneath Django's wrapper
        with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
    return count


def fill(*, members: int, seed: int = 1) -> dict:
    rng = random.Random(seed)
    started = time.monotonic()
    branch_ids = build_tree(counties=10, townships=20, branches=min(50, max(1, members // 4000)))
    now = timezone.now()
    seen: set[str] = set()

    def member_rows():
        while len(seen) < members:
            male = rng.random() < 0.7
            born = date(1950, 1, 1) + timedelta(days=rng.randrange(19000))
            number = make_national_id(rng, born, male)
            digest = crypto.digest(number)
            if digest in seen:
                continue
            seen.add(digest)
            joined = born + timedelta(days=365 * 18 + rng.randrange(9000))
            joined = min(joined, TODAY - timedelta(days=30))
            yield (
                rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
                "M" if male else "F",
                "汉族",
                born,
                crypto.encrypt(number),
                digest,
                f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}",
                "",
                "full",
                joined,
                joined + timedelta(days=365),
                rng.choice(branch_ids),
                "active",
                now,
                now,
            )

    copy_rows(
        "members_member",
        [
            "name",
            "gender",
            "ethnicity",
            "birth_date",
            "national_id",
            "national_id_digest",
            "phone",
            "email",
            "category",
            "joined_on",
            "confirmed_on",
            "home_branch_id",
            "status",
            "created_at",
            "updated_at",
        ],
        member_rows(),
    )
    members_done = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM members_member ORDER BY id")
        ids = [row[0] for row in cursor.fetchall()]
    mobile = rng.sample(ids, k=len(ids) // 5)
    types = ["work"] * 60 + ["study"] * 10 + ["settled"] * 10 + ["temporary"] * 15 + ["abroad"] * 5
    provinces = ["广东省", "浙江省", "江苏省", "上海市", "四川省", "北京市"]

    def episode_rows():
        for member_id in mobile:
            kind = rng.choice(types)
            yield (
                member_id,
                kind,
                TODAY - timedelta(days=rng.randrange(10, 2000)),
                "" if kind == "abroad" else rng.choice(provinces),
                "",
                "",
                "日本" if kind == "abroad" else "",
                "",
                "",
                "工人",
                rng.random() < 0.5,
                "",
                "study" if kind == "abroad" else "",  # abroad_purpose: art. 24 applies
                "",
                "",
            )

    copy_rows(
        "transfers_mobilityepisode",
        [
            "member_id",
            "mobility_type",
            "left_on",
            "destination_province",
            "destination_city",
            "destination_county",
            "destination_country",
            "address",
            "employer",
            "occupation",
            "is_fixed_place",
            "end_reason",
            "abroad_purpose",
            "transfer_deferred_reason",
            "transfer_deferred_note",
        ],
        episode_rows(),
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM auth_user ORDER BY id LIMIT 1")
        row = cursor.fetchone()
    if row is None:
        from django.contrib.auth.models import User

        row = (User.objects.create(username="bench-clerk", is_active=False).pk,)
    clerk = row[0]

    def contact_rows():
        for member_id in mobile:
            for _ in range(rng.randrange(0, 4)):
                yield (
                    member_id,
                    TODAY - timedelta(days=rng.randrange(0, 400)),
                    rng.choice(["phone", "wechat", "sms"]),
                    rng.random() < 0.8,
                    "",
                    clerk,
                    now,
                )

    contacts = copy_rows(
        "ledgers_contactattempt",
        ["member_id", '"on"', "channel", "reached", "note", "recorded_by_id", "recorded_at"],
        contact_rows(),
    )

    def record_rows():
        for member_id in mobile:
            if rng.random() < 0.2:
                continue
            days = [TODAY - timedelta(days=rng.randrange(0, 500)) for _ in range(5)]
            yield (member_id, *days, "good", "")

    records = copy_rows(
        "ledgers_ledgerrecord",
        [
            "member_id",
            "left_confirmed_on",
            "where_confirmed_on",
            "occupation_confirmed_on",
            "contact_confirmed_on",
            "conduct_confirmed_on",
            "conduct_assessment",
            "conduct_note",
        ],
        record_rows(),
    )
    # A recent theme Party day in every branch, attended by ~90% of its members, and dues
    # paid up to last month by ~90%: the other 10% are what the life and dues rules find.
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO activities_activity (branch_id, kind, held_on, title, place, online,"
            " notes, recorded_by_id) SELECT id, 'theme_day', %s, '主题党日', '', false, '', %s"
            " FROM members_organisation WHERE kind = 'branch'",
            [TODAY - timedelta(days=20), clerk],
        )
        cursor.execute("SELECT branch_id, id FROM activities_activity")
        activity_of = dict(cursor.fetchall())
        cursor.execute("SELECT id, home_branch_id FROM members_member")
        homes = cursor.fetchall()
    attended = copy_rows(
        "activities_attendance",
        ["activity_id", "member_id", "status", "reason", "makeup"],
        (
            (activity_of[branch], member_id, "present", "", False)
            for member_id, branch in homes
            if rng.random() < 0.9
        ),
    )
    last_month = TODAY.replace(day=1) - timedelta(days=1)
    paid = copy_rows(
        "activities_duespayment",
        [
            "member_id",
            "from_month",
            "to_month",
            "amount",
            "paid_to_id",
            "paid_on",
            "method",
            "recorded_by_id",
        ],
        (
            (
                member_id,
                last_month.replace(day=1) - timedelta(days=150),
                last_month.replace(day=1),
                "6.00",
                branch,
                TODAY - timedelta(days=10),
                "wechat",
                clerk,
            )
            for member_id, branch in homes
            if rng.random() < 0.9
        ),
    )
    # What autovacuum does to a database in use: statistics, and the visibility map that
    # lets counts read indexes alone.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    # COPY bypasses the app; an import through it has its subtree recounted the same way.
    counted = time.monotonic()
    live.refresh_all(today=timezone.localdate())
    return {
        "attendance": attended,
        "dues_payments": paid,
        "members": members,
        "mobile": len(mobile),
        "contacts": contacts,
        "ledger_records": records,
        "branches": len(branch_ids),
        "member_rows_per_second": round(members / (members_done - started)),
        "kept_figures_seconds": round(time.monotonic() - counted, 1),
        "seconds": round(time.monotonic() - started, 1),
        "at": datetime.now().isoformat(timespec="seconds"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=100_000)
    args = parser.parse_args()
    guard()
    print(fill(members=args.members))


if __name__ == "__main__":
    main()
