"""The nightly scan: run every registered rule and keep one alert per member and rule.

Set-based: each rule is one query, run once; its member ids are compared with the rule's
open alerts, and only the differences are written (new alerts inserted, cleared ones closed,
continuing ones refreshed once a day), in bulk, in a transaction per rule. Running it twice changes nothing
the second time but `last_seen_at`. A rule that raises is recorded and the others go on.

A scan can be limited to one subtree (`root`): each rule is given the subtree's path
(`within`) and puts it inside its own subqueries, so it looks only at that subtree's members
and their rows; the subtree's open alerts, of every rule, are read once, before the rules run,
not once per rule. So a part opens and closes only its own alerts. An alert belongs to the
member's home side (the hosting side sees it, never owns it), so county parts split the alerts
without overlap. The split scan (alerts/tasks.py) runs the parts from `scan_parts()`, one rule or one
county each, and merges them into one ScanRun.

A ScanRun with `finished_at` set and `failed_rules == 0` is a scan that finished successfully;
a split scan sets `finished_at` only once every part has finished.
"""

import logging
import time
from datetime import date

from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from alerts.models import Alert, AlertAction, ScanRun
from alerts.registry import Rule, in_subtree, registered_rules
from members.models import CorrectionTerm, Member, Organisation
from members.signals import bulk_changed

logger = logging.getLogger(__name__)
BATCH = 2000
COUNTS = ("matched", "opened", "refreshed", "closed")
SPLIT_BY_RULE, SPLIT_BY_COUNTY = "rule", "county"


def _chunks(items: list[int]):
    for start in range(0, len(items), BATCH):
        yield items[start : start + BATCH]


def _in_scope(queryset: QuerySet, *, within: str | None, member_ids: list[int] | None) -> QuerySet:
    """Rows (with a `member`) of members in the subtree at `within` and among `member_ids`."""
    if member_ids is not None:
        queryset = queryset.filter(member_id__in=member_ids)
    return in_subtree(queryset, within, member="member__")


OpenAlerts = dict[str, dict[int, int]]  # rule -> {member: open alert}


def _open_alerts(*, within: str | None, member_ids: list[int] | None, kind: str = "") -> OpenAlerts:
    """The open alerts of the scope's members, by rule (of `kind` only, if given): for a
    subtree, its members' ids from `member_branch_id` and their open alerts. (At 1,000,000
    members PostgreSQL reads the alert table once for a county rather than probe it member by
    member: a county's alerts lie on nearly every page. Both take about 0.3 s.)"""
    alerts = _in_scope(
        Alert.objects.filter(closed_at__isnull=True), within=within, member_ids=member_ids
    )
    if kind:
        alerts = alerts.filter(kind=kind)
    found: OpenAlerts = {}
    for code, member_id, pk in alerts.order_by().values_list("kind", "member_id", "pk"):
        found.setdefault(code, {})[member_id] = pk
    return found


def _apply_rule(
    rule: Rule,
    *,
    today: date,
    now,
    within: str | None = None,
    member_ids: list[int] | None = None,
    open_alerts: dict[int, int] | None = None,
) -> dict[str, int]:
    """Run the rule's query once, compare with the open alerts, write only the differences.

    `within` (a subtree's path) and `member_ids` narrow the rule's query and the alerts it
    settles; `open_alerts` ({member: alert}) are the scope's open alerts of this rule when the
    caller read them already, else they are read here, in the rule's transaction."""
    members = rule.matching(today, among=member_ids, within=within)
    matched = set(members.order_by().values_list("pk", flat=True))
    if not matched and open_alerts == {} and not rule.correctable:
        return dict.fromkeys(COUNTS, 0)  # nothing to open, refresh or close
    with transaction.atomic():
        if open_alerts is None:
            open_alerts = _open_alerts(within=within, member_ids=member_ids, kind=rule.code).get(
                rule.code, {}
            )
        _settle_correction_terms(
            rule, matched=matched, today=today, within=within, member_ids=member_ids
        )
        continuing = [pk for member_id, pk in open_alerts.items() if member_id in matched]
        to_close = [pk for member_id, pk in open_alerts.items() if member_id not in matched]
        new_ids = sorted(matched.difference(open_alerts))
        # Once a day is enough: a rerun the same day writes nothing.
        for chunk in _chunks(continuing):
            Alert.objects.filter(pk__in=chunk, last_seen_at__date__lt=today).update(
                last_seen_at=now
            )
        for chunk in _chunks(to_close):
            Alert.objects.filter(pk__in=chunk).update(
                closed_at=now, state=Alert.State.CLOSED, close_reason="condition_cleared"
            )
            AlertAction.objects.bulk_create(
                AlertAction(alert_id=pk, action=AlertAction.Action.CLEARED, at=now) for pk in chunk
            )
        # Opening is recorded by the alert itself (opened_at): no action row, half the writes.
        for chunk in _chunks(new_ids):
            Alert.objects.bulk_create(
                Alert(
                    member_id=member_id,
                    kind=rule.code,
                    severity=rule.severity,
                    opened_at=now,
                    last_seen_at=now,
                )
                for member_id in chunk
            )
    return {
        "matched": len(matched),
        "opened": len(new_ids),
        "refreshed": len(continuing),
        "closed": len(to_close),
    }


def _settle_correction_terms(
    rule: Rule, *, matched: set[int], today: date, within: str | None, member_ids
) -> None:
    """A correction term closes once the condition it was set for has cleared."""
    if not rule.correctable:
        return
    terms = _in_scope(
        CorrectionTerm.objects.filter(condition=rule.code, closed_on__isnull=True),
        within=within,
        member_ids=member_ids,
    )
    cleared = [
        pk for pk, member_id in terms.values_list("pk", "member_id") if member_id not in matched
    ]
    for chunk in _chunks(cleared):
        CorrectionTerm.objects.filter(pk__in=chunk).update(
            closed_on=today, close_reason="condition_cleared"
        )


def scan_members(*, member_ids: list[int], today: date | None = None) -> dict[str, dict]:
    """Re-evaluate every rule for some members, as the scan would: after a write that changes
    their evidence, so an alert whose condition is gone closes the same day."""
    today = today or timezone.localdate()
    now = timezone.now()
    member_ids = list(member_ids)
    # Their open alerts of every rule in one query, not one per rule.
    open_alerts = _open_alerts(within=None, member_ids=member_ids)
    results = {
        rule.code: _apply_rule(
            rule,
            today=today,
            now=now,
            member_ids=member_ids,
            open_alerts=open_alerts.get(rule.code, {}),
        )
        for rule in registered_rules()
    }
    # The alerts went in by bulk writes: the figures kept of these members follow.
    bulk_changed.send_robust(sender=Alert, member_ids=member_ids, organisation_id=None)
    return results


def scan_rules(*, today: date, root: Organisation | None = None, only: str = "") -> dict[str, dict]:
    """Run every rule, or `only` one, for root's subtree if given: per rule, counts or error.

    For a subtree the open alerts of all its rules are read once, first. Should a write open
    one of them meanwhile (a member's re-evaluation), the rule's insert meets the constraint;
    the rule then runs once more with its open alerts read afresh."""
    within = None if root is None else root.path
    open_alerts = None
    if within is not None:
        open_alerts = _open_alerts(within=within, member_ids=None, kind=only)
    results = {}
    for rule in registered_rules():
        if only and rule.code != only:
            continue
        started = time.monotonic()
        try:
            try:
                counts = _apply_rule(
                    rule,
                    today=today,
                    now=timezone.now(),
                    within=within,
                    open_alerts=None if open_alerts is None else open_alerts.get(rule.code, {}),
                )
            except IntegrityError:
                if open_alerts is None:
                    raise
                counts = _apply_rule(rule, today=today, now=timezone.now(), within=within)
        except IntegrityError as error:
            # Another scan opened the same alerts a moment ago; the next run settles it.
            logger.warning("scan: rule %s raced another scan: %s", rule.code, error)
            counts = {"error": "concurrent scan"}
        except Exception as error:  # noqa: BLE001 - one broken rule must not stop the others
            logger.exception("scan: rule %s failed", rule.code)
            counts = {"error": f"{type(error).__name__}: {error}"}
        counts["seconds"] = round(time.monotonic() - started, 3)
        results[rule.code] = counts
    return results


def _failed(results: dict[str, dict]) -> int:
    return sum(1 for counts in results.values() if "error" in counts)


def scan(*, today: date | None = None, root: Organisation | None = None) -> ScanRun:
    """Run every rule in one process; record the run. Two scans at once: the constraint
    stops duplicates."""
    today = today or timezone.localdate()
    run = ScanRun.objects.create(started_at=timezone.now())
    run.results = scan_rules(today=today, root=root)
    run.failed_rules = _failed(run.results)
    run.finished_at = timezone.now()
    run.save()
    refresh_statistics()
    bulk_changed.send_robust(sender=Alert, member_ids=None, organisation_id=root and root.pk)
    return run


def refresh_statistics() -> None:
    """Let PostgreSQL's planner see the night's alerts at once (autovacuum may be off or late;
    with statistics from an empty table the inbox chose nested loops and took seconds)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE members_alert")


def _counties() -> list[Organisation]:
    """The children of each root: a county deployment's townships, a province's counties.

    A root without children, or one that holds members itself, is one part (its children's
    parts would miss its own members).
    """
    roots = list(Organisation.objects.get_root_nodes())
    holding = set(
        Member.objects.filter(home_branch__in=roots).values_list("home_branch_id", flat=True)
    )
    parts = []
    for root in roots:
        children = list(Organisation.objects.get_children(root)) if root.pk not in holding else []
        parts.extend(children or [root])
    return parts


def scan_parts(*, split: str = SPLIT_BY_RULE) -> list[dict]:
    """The split scan's parts, as `scan_part` arguments.

    By rule (the default, what the beat runs): each rule once over all members, as the single
    scan does, so the parts add up to the single scan's work. By county: every rule for one
    county's members, the county's path inside each rule's subqueries and its alerts read
    once, from its members. A county part still costs far more than a tenth of the single
    scan at 1,000,000 members (bench/results/scan_split.json, issue #18: 7.5 s a county on a
    rerun, 72 s for ten on one worker, against 16-20 s for the single scan): a county's
    members lie on nearly every page of the members table (35,900 of 38,500 in the bench),
    and each rule still reads those pages and probes attendance, dues and contacts member by
    member, where the whole scan reads each table once. So the parts add up to about four
    single scans, and two workers by county finish well after two by rule.
    """
    if split == SPLIT_BY_RULE:
        return [{"rule": rule.code} for rule in registered_rules()]
    if split == SPLIT_BY_COUNTY:
        return [{"organisation": organisation.pk} for organisation in _counties()]
    raise ValueError(f"unknown split {split!r}")


def scan_start() -> ScanRun:
    return ScanRun.objects.create(started_at=timezone.now())


def merge_parts(parts: list[dict[str, dict]]) -> dict[str, dict]:
    """Add up the parts' counts per rule; a rule that failed in any part keeps the error."""
    merged: dict[str, dict] = {}
    errors: dict[str, list[str]] = {}
    runs: dict[str, int] = {}
    for results in parts:
        for code, counts in results.items():
            total = merged.setdefault(code, {name: 0 for name in COUNTS} | {"seconds": 0.0})
            runs[code] = runs.get(code, 0) + 1
            if "error" in counts:
                errors.setdefault(code, []).append(counts["error"])
            for name in COUNTS:
                total[name] += counts.get(name, 0)
            total["seconds"] = round(total["seconds"] + counts["seconds"], 3)
    for code, failed in errors.items():
        where = f" (in {len(failed)} of {runs[code]} parts)" if runs[code] > 1 else ""
        merged[code]["error"] = failed[0] + where
    return merged


def scan_finish(*, run: ScanRun, parts: list[dict[str, dict]]) -> ScanRun:
    """Record a split scan once every part has finished; `seconds` add up the parts' times."""
    run.results = merge_parts(parts)
    run.failed_rules = _failed(run.results)
    run.finished_at = timezone.now()
    run.save(update_fields=["results", "failed_rules", "finished_at"])
    refresh_statistics()
    bulk_changed.send_robust(sender=Alert, member_ids=None, organisation_id=None)
    return run
