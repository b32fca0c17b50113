"""The nightly scan: run every registered rule and keep one alert per member and rule.

Set-based: each rule is one query; new alerts are inserted, continuing ones refreshed and
cleared ones closed in bulk, in a transaction per rule. Running it twice changes nothing
the second time but `last_seen_at`. A rule that raises is recorded and the others go on.
"""

import logging
import time
from datetime import date

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from .models import Alert, AlertAction, ScanRun
from .rules import Rule, registered_rules

logger = logging.getLogger(__name__)
BATCH = 2000


def _apply_rule(rule: Rule, *, today: date, now) -> dict[str, int]:
    matched = rule.members(today).values("pk")
    open_alerts = Alert.objects.filter(kind=rule.code, closed_at__isnull=True)
    with transaction.atomic():
        # Once a day is enough: a rerun the same day writes nothing.
        continuing = open_alerts.filter(member_id__in=matched)
        refreshed = continuing.count()
        continuing.filter(last_seen_at__date__lt=today).update(last_seen_at=now)
        still = rule.members(today).filter(pk=OuterRef("member_id"))
        to_close = list(open_alerts.exclude(Exists(still)).values_list("pk", flat=True))
        for start in range(0, len(to_close), BATCH):
            chunk = to_close[start : start + BATCH]
            Alert.objects.filter(pk__in=chunk).update(
                closed_at=now, state=Alert.State.CLOSED, close_reason="condition_cleared"
            )
            AlertAction.objects.bulk_create(
                AlertAction(alert_id=pk, action=AlertAction.Action.CLEARED, at=now) for pk in chunk
            )
        # NOT EXISTS, not NOT IN: PostgreSQL plans it as an anti-join even when the
        # statistics of the alert table are stale (right after a big first scan).
        already = open_alerts.filter(member_id=OuterRef("pk"))
        new_ids = list(rule.members(today).exclude(Exists(already)).values_list("pk", flat=True))
        opened = 0
        for start in range(0, len(new_ids), BATCH):
            alerts = Alert.objects.bulk_create(
                [
                    Alert(
                        member_id=member_id,
                        kind=rule.code,
                        severity=rule.severity,
                        opened_at=now,
                        last_seen_at=now,
                    )
                    for member_id in new_ids[start : start + BATCH]
                ]
            )
            AlertAction.objects.bulk_create(
                AlertAction(alert=alert, action=AlertAction.Action.OPENED, at=now)
                for alert in alerts
            )
            opened += len(alerts)
    return {
        "matched": refreshed + opened,
        "opened": opened,
        "refreshed": refreshed,
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
