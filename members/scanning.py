"""The nightly scan: run every registered rule and keep one alert per member and rule.

Set-based: each rule is one query, run once; its member ids are compared with the rule's
open alerts, and only the differences are written (new alerts inserted, cleared ones closed,
continuing ones refreshed once a day), in bulk, in a transaction per rule. Running it twice changes nothing
the second time but `last_seen_at`. A rule that raises is recorded and the others go on.
"""

import logging
import time
from datetime import date

from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import Alert, AlertAction, ScanRun
from .rules import Rule, registered_rules

logger = logging.getLogger(__name__)
BATCH = 2000


def _chunks(items: list[int]):
    for start in range(0, len(items), BATCH):
        yield items[start : start + BATCH]


def _apply_rule(rule: Rule, *, today: date, now) -> dict[str, int]:
    """Run the rule's query once, compare with the open alerts, write only the differences."""
    matched = set(rule.members(today).values_list("pk", flat=True))
    with transaction.atomic():
        open_alerts = dict(
            Alert.objects.filter(kind=rule.code, closed_at__isnull=True).values_list(
                "member_id", "pk"
            )
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


def scan(*, today: date | None = None) -> ScanRun:
    """Run every rule; record the run. Two scans at once: the constraint stops duplicates."""
    today = today or timezone.localdate()
    run = ScanRun.objects.create(started_at=timezone.now())
    for rule in registered_rules():
        started = time.monotonic()
        try:
            counts = _apply_rule(rule, today=today, now=timezone.now())
        except IntegrityError as error:
            # Another scan opened the same alerts a moment ago; the next run settles it.
            logger.warning("scan: rule %s raced another scan: %s", rule.code, error)
            counts = {"error": "concurrent scan"}
            run.failed_rules += 1
        except Exception as error:  # noqa: BLE001 - one broken rule must not stop the others
            logger.exception("scan: rule %s failed", rule.code)
            counts = {"error": f"{type(error).__name__}: {error}"}
            run.failed_rules += 1
        counts["seconds"] = round(time.monotonic() - started, 3)
        run.results[rule.code] = counts
    run.finished_at = timezone.now()
    run.save()
    return run
