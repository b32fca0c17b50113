"""Concurrent writes, the short version of bench.write_load (issue #9): six secretaries' threads,
each with its own client and database connection, record contacts, "reached today" clicks and
attendance rosters on the same members at once; then every write is found in the database
by the checks the load test uses (bench/write_checks.py). Row locks and unique constraints
under real concurrency need PostgreSQL.
"""

import random
import threading
import time
import uuid
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.test import Client
from django.utils import timezone

from activities import services as activity_services
from activities.models import Activity, Attendance
from bench.write_checks import verify_attendance, verify_contacts
from ledgers.models import ContactAttempt
from transfers.models import MobilityEpisode

from .conftest import County, require_service

THREADS = 6
WRITES_PER_THREAD = 20
MEMBERS = 12  # few, so that the threads often write to the same member at the same moment
STATUSES = ["present", "online", "absent", "excused"]


@pytest.fixture
def branch_at_work(transactional_db):
    require_service("PostgreSQL", connection.vendor == "postgresql", "row locks need PostgreSQL")
    county = County()
    today = timezone.localdate()
    members = []
    for index in range(MEMBERS):
        member = county.member(county.branch_a, name=f"流动{index:02d}")
        MobilityEpisode.objects.create(
            member=member, mobility_type="work", left_on=today - timedelta(days=30)
        )
        members.append(member.pk)
    secretaries = [county.secretary(county.branch_a, f"sec-{n}") for n in range(3)]
    activities = [
        activity_services.activity_record(
            actor=secretary,
            branch=county.branch_a,
            kind=Activity.Kind.THEME_DAY,
            held_on=today,
            title=f"主题党日 {secretary.username}",
            attendance={},
        ).pk
        for secretary in secretaries
    ]
    return secretaries, members, activities


def post(client: Client, url: str, data: dict, expected: str, entry: dict) -> dict:
    started = time.time()
    response = client.post(url, data)
    ended = time.time()
    location = response.get("Location", "")
    ok = response.status_code == 302 and location == expected
    return {**entry, "ok": ok, "status": response.status_code, "start": started, "end": ended}


def secretary_at_work(*, secretary, members, activities, seed: int, log: list) -> None:
    rng = random.Random(seed)
    client = Client()
    client.force_login(secretary)
    today = timezone.localdate().isoformat()
    try:
        for _ in range(WRITES_PER_THREAD):
            member = rng.choice(members)
            kind = rng.choice(["contact", "contact", "reached", "attendance"])
            if kind == "contact":
                note = f"test-write {uuid.uuid4().hex}"
                channel, reached = rng.choice(["phone", "wechat", "visit"]), rng.random() < 0.5
                data = {"on": today, "channel": channel, "note": note}
                if reached:
                    data["reached"] = "on"
                log.append(
                    post(
                        client,
                        f"/members/{member}/contacts/new/",
                        data,
                        f"/members/{member}/#ledger",
                        {
                            "kind": "contact",
                            "member": member,
                            "note": note,
                            "channel": channel,
                            "reached": reached,
                        },
                    )
                )
            elif kind == "reached":
                entry = {"kind": "reached", "member": member}
                log.append(post(client, f"/members/{member}/reached/", {}, "/ledger/", entry))
            else:
                activity = rng.choice(activities)
                marker = f"test-write {uuid.uuid4().hex}"
                statuses = {str(m): rng.choice(STATUSES) for m in members}
                data = {}
                for m, status in statuses.items():
                    data[f"{m}-status"], data[f"{m}-reason"] = status, marker
                entry = {
                    "kind": "attendance",
                    "activity": activity,
                    "marker": marker,
                    "statuses": statuses,
                }
                log.append(
                    post(
                        client,
                        f"/activities/{activity}/attendance/",
                        data,
                        f"/activities/{activity}/",
                        entry,
                    )
                )
    finally:
        connections.close_all()  # this thread's connection, or the test database stays in use


def write_at_once(secretaries, members, activities) -> list[dict]:
    log = []
    threads = [
        threading.Thread(
            target=secretary_at_work,
            kwargs={
                "secretary": secretaries[n % len(secretaries)],
                "members": members,
                "activities": activities,
                "seed": n,
                "log": log,
            },
        )
        for n in range(THREADS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return log


def overlapping(log: list[dict]) -> int:
    """How many writes were in flight while another one was."""
    return sum(
        any(o is not e and o["start"] < e["end"] and e["start"] < o["end"] for o in log)
        for e in log
    )


def test_concurrent_secretaries_lose_and_double_no_write(branch_at_work):
    log = write_at_once(*branch_at_work)
    assert len(log) == THREADS * WRITES_PER_THREAD
    assert [entry for entry in log if not entry["ok"]] == []
    assert overlapping(log) > len(log) // 2  # the writes really were at the same time
    problems = []
    contacts = verify_contacts(entries=log, problems=problems)
    attendance = verify_attendance(entries=log, problems=problems)
    assert problems == []
    written = [entry for entry in log if entry["kind"] == "contact"]
    assert contacts["contacts_verified"] == len(written) > 0
    assert attendance["activities_verified"] == attendance["activities_submitted"] > 0
    assert Attendance.objects.count() == attendance["activities_submitted"] * len(branch_at_work[1])


def test_the_checks_notice_a_lost_contact_and_a_mixed_roster(branch_at_work):
    """The checks above can fail: a write gone missing, and rows of two submissions mixed."""
    log = write_at_once(*branch_at_work)
    lost = next(entry for entry in log if entry["kind"] == "contact")
    ContactAttempt.objects.filter(note=lost["note"]).delete()
    submitted = next(entry for entry in log if entry["kind"] == "attendance")
    row = Attendance.objects.filter(activity=submitted["activity"]).first()
    row.reason = "test-write from elsewhere"
    row.save()
    problems = []
    verify_contacts(entries=log, problems=problems)
    verify_attendance(entries=log, problems=problems)
    assert f"contact {lost['note']} found 0 times" in problems
    assert f"activity {submitted['activity']}: rows from 2 submissions mixed" in problems
