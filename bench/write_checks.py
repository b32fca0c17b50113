"""What the concurrent-writes checks find in the database, after bench.write_load's run or
tests/test_concurrent_writes.py's threads.

Both log each write their users saw answer as a dict: kind "contact" (member, note, channel,
reached), "reached" (member) or "attendance" (activity, marker, statuses: {member id as a
string: status}), with ok, status, start and end. The checks append what does not add up to
`problems` and return the figures. They expect a database holding only that run's writes.
"""

from collections import Counter, defaultdict

from django.utils import timezone

from activities.models import Activity, Attendance
from activities.selectors import roster
from ledgers.models import ContactAttempt, LedgerRecord


def verify_contacts(*, entries: list[dict], problems: list[str]) -> dict:
    contacts = [e for e in entries if e["kind"] == "contact" and e["ok"]]
    reached_clicks = [e for e in entries if e["kind"] == "reached" and e["ok"]]
    today = timezone.localdate()
    rows = list(ContactAttempt.objects.values("note", "member_id", "channel", "reached", "on"))
    other_days = sum(1 for row in rows if row["on"] != today)
    if other_days:
        problems.append(f"{other_days} contacts not dated today")
    by_note = defaultdict(list)
    for row in rows:
        if row["note"]:
            by_note[row["note"]].append(row)
    verified = 0
    for entry in contacts:
        found = by_note.get(entry["note"], [])
        if len(found) != 1:
            problems.append(f"contact {entry['note']} found {len(found)} times")
            continue
        row = found[0]
        wanted = (entry["member"], entry["channel"], entry["reached"])
        if (row["member_id"], row["channel"], row["reached"]) != wanted:
            problems.append(f"contact {entry['note']} stored as {row}, written as {wanted}")
            continue
        verified += 1
    unexpected = set(by_note) - {e["note"] for e in contacts}
    if unexpected:
        problems.append(f"{len(unexpected)} contacts in the database that no user logged")
    # The one-click contacts carry no note: count them per member.
    clicks = Counter(e["member"] for e in reached_clicks)
    stored_clicks = Counter(
        row["member_id"] for row in rows if not row["note"] and row["channel"] == "phone"
    )
    clicks_verified = sum(min(n, stored_clicks[m]) for m, n in clicks.items())
    if clicks != stored_clicks:
        problems.append(
            f"reached-today contacts: {sum(clicks.values())} clicked, "
            f"{sum(stored_clicks.values())} stored ({len(clicks - stored_clicks)} members short, "
            f"{len(stored_clicks - clicks)} members over)"
        )
    # Reaching a member confirms the ledger's contact item: one record per member, today.
    reached = {e["member"] for e in contacts if e["reached"]} | set(clicks)
    records = dict(LedgerRecord.objects.values_list("member_id", "contact_confirmed_on"))
    if set(records) != reached:
        problems.append(
            f"ledger records for {len(records)} members, {len(reached)} members were reached"
        )
    stale = [m for m in reached if records.get(m) != today]
    if stale:
        problems.append(f"{len(stale)} reached members without the contact confirmed today")
    return {
        "contacts_written": len(contacts),
        "contacts_verified": verified,
        "reached_clicks_written": len(reached_clicks),
        "reached_clicks_verified": clicks_verified,
        "ledger_records": len(records),
        "members_reached": len(reached),
    }


def verify_attendance(*, entries: list[dict], problems: list[str]) -> dict:
    submissions = defaultdict(list)
    for entry in entries:
        if entry["kind"] == "attendance" and entry["ok"]:
            submissions[entry["activity"]].append(entry)
    verified = 0
    expected_rows = 0
    for activity in Activity.objects.all():
        rows = {
            row.member_id: row
            for row in Attendance.objects.filter(activity=activity).order_by("member_id")
        }
        logged = submissions.get(activity.pk, [])
        if not logged:
            if rows:
                problems.append(f"activity {activity.pk}: {len(rows)} rows, never submitted")
            continue
        on_roster = set(roster(activity.branch).values_list("pk", flat=True))
        expected_rows += len(on_roster)
        if set(rows) != on_roster:
            problems.append(
                f"activity {activity.pk}: {len(rows)} rows for {len(on_roster)} members"
            )
            continue
        markers = {row.reason for row in rows.values()}
        if len(markers) != 1:
            problems.append(f"activity {activity.pk}: rows from {len(markers)} submissions mixed")
            continue
        (marker,) = markers
        by_marker = {e["marker"]: e for e in logged}
        last = by_marker.get(marker)
        if last is None:
            problems.append(f"activity {activity.pk}: rows from a submission nobody logged")
            continue
        # The one kept must be one that may have committed last: none began after it ended.
        if last["end"] < max(e["start"] for e in logged):
            problems.append(f"activity {activity.pk}: an earlier submission won over a later one")
            continue
        stored = {str(m): row.status for m, row in rows.items()}
        if stored != last["statuses"]:
            problems.append(f"activity {activity.pk}: statuses differ from its submission")
            continue
        verified += 1
    total_rows = Attendance.objects.count()
    if total_rows != expected_rows:
        problems.append(f"{total_rows} attendance rows, {expected_rows} expected")
    return {
        "attendance_submissions": sum(len(s) for s in submissions.values()),
        "activities_submitted": len(submissions),
        "activities_verified": verified,
        "attendance_rows": total_rows,
        "attendance_rows_expected": expected_rows,
    }
