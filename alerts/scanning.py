"""The nightly scan: run every registered rule and keep one alert per member and rule.

Set-based: each rule is one query, run once; its member ids are compared with the rule's
open alerts, and only the differences are written (new alerts inserted, cleared ones closed,
continuing ones refreshed once a day), in bulk, in a transaction per rule. Running it twice changes nothing
the second time but `last_seen_at`. A rule that raises is recorded and the others go on.

A scan can be limited to one subtree (`root`): the rules' members and the open alerts are
both taken from members whose home branch is in it, so a part opens and closes only its own
alerts. An alert belongs to the member's home side (the hosting side sees it, never owns it),
so county parts split the alerts without overlap. The split scan (alerts/tasks.py) runs
the parts from `scan_parts()`, one rule or one county each, and merges them into one ScanRun.

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
from alerts.registry import Rule, registered_rules
from members.models import CorrectionTerm, Member, Organisation

logger = logging.getLogger(__name__)
BATCH = 2000
COUNTS = ("matched", "opened", "refreshed", "closed")
SPLIT_BY_RULE, SPLIT_BY_COUNTY = "rule", "county"


def _chunks(items: list[int]):
    for start in range(0, len(items), BATCH):
        yield items[start : start + BATCH]


def _in_scope(
    queryset: QuerySet,
    *,
    member: str,
    branches: list[int] | None,
    member_ids: list[int] | None = None,
) -> QuerySet:
    if member_ids is not None:
        queryset = queryset.filter(**{f"{member}pk__in": member_ids})
    if branches is None:
        return queryset
    # A literal id list: the planner estimates it from the column's statistics.
    return queryset.filter(**{f"{member}home_branch_id__in": branches})


def _apply_rule(
    rule: Rule,
    *,
    today: date,
    now,
    branches: list[int] | None = None,
    member_ids: list[int] | None = None,
) -> dict[str, int]:
    """Run the rule's query once, compare with the open alerts, write only the differences."""
    members = _in_scope(
        rule.matching(today, among=member_ids), member="", branches=branches, member_ids=None
    )
    matched = set(members.values_list("pk", flat=True))
    with transaction.atomic():
        open_alerts = dict(
            _in_scope(
                Alert.objects.filter(kind=rule.code, closed_at__isnull=True),
                member="member__",
                branches=branches,
                member_ids=member_ids,
            ).values_list("member_id", "pk")
        )
        _settle_correction_terms(
            rule, matched=matched, today=today, branches=branches, member_ids=member_ids
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
    rule: Rule, *, matched: set[int], today: date, branches, member_ids
) -> None:
    """A correction term closes once the condition it was set for has cleared."""
    if not rule.correctable:
        return
    terms = _in_scope(
        CorrectionTerm.objects.filter(condition=rule.code, closed_on__isnull=True),
        member="member__",
        branches=branches,
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
    return {
        rule.code: _apply_rule(rule, today=today, now=now, member_ids=list(member_ids))
        for rule in registered_rules()
    }


def _subtree_branches(root: Organisation) -> list[int]:
    return list(
        Organisation.objects.filter(path__startswith=root.path).values_list("pk", flat=True)
    )


def scan_rules(*, today: date, root: Organisation | None = None, only: str = "") -> dict[str, dict]:
    """Run every rule, or `only` one, for root's subtree if given: per rule, counts or error."""
    branches = None if root is None else _subtree_branches(root)
    results = {}
    for rule in registered_rules():
        if only and rule.code != only:
            continue
        started = time.monotonic()
        try:
            counts = _apply_rule(rule, today=today, now=timezone.now(), branches=branches)
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

    By rule (the default): each rule once over all members, as the single scan does, so the
    parts add up to the single scan's work. By county: every rule for one county's members;
    each part's rule queries still read the whole tables behind their subqueries (the scope
    filters only the members), so at 1,000,000 members a county part costs about as much as
    the whole single scan (bench/results/scan_split.json).
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
    return run
