import time
from datetime import date
from smtplib import SMTPException

from celery import chord, shared_task
from django.contrib.auth.models import User
from django.utils import timezone

from members.models import Organisation

from . import notifications, scanning
from .models import ScanRun


@shared_task(bind=True)
def scan_alerts(self, split: str = scanning.SPLIT_BY_RULE) -> dict:
    """Nightly: the scan split into `scan_part` tasks (scanning.scan_parts(): one per rule, or
    one per county), run by whichever workers are free; `scan_finished` records the run once
    all are done.

    The task replaces itself with the chord, so its result is `scan_finished`'s: the run,
    its failed rules and the merged counts. The parts go to the queue this task came from.
    """
    run = scanning.scan_start()
    today = timezone.localdate().isoformat()
    queue = (self.request.delivery_info or {}).get("routing_key")
    options = {"queue": queue} if queue else {}
    parts = scanning.scan_parts(split=split)
    if self.request.is_eager or not parts:
        # No broker (tasks run in process): the parts one after another, no chord to wait on.
        return scan_finished([scan_part(today, **part) for part in parts], run.pk)
    header = [scan_part.si(today, **part).set(**options) for part in parts]
    return self.replace(chord(header, scan_finished.s(run.pk).set(**options)))


# If the process running a part dies (SIGKILL, the OOM killer), the part is sent again, as
# retry() would (Celery 5.7): a part is safe to run twice, and without it the chord, and so
# the ScanRun, would never finish. Twice at most, so a part that kills its worker every time
# cannot loop: it then fails and the run stays unfinished. A whole worker that dies leaves
# the message unacknowledged (acks_late); Redis hands it out again after visibility_timeout.
@shared_task(
    bind=True, acks_late=True, retry_on_worker_lost=True, max_retries=2, default_retry_delay=5
)
def scan_part(self, today: str, organisation: int | None = None, rule: str = "") -> dict:
    """One part of the split scan: one rule for all members, or every rule for one subtree."""
    started = time.monotonic()
    results = scanning.scan_rules(
        today=date.fromisoformat(today),
        root=Organisation.objects.get(pk=organisation) if organisation else None,
        only=rule,
    )
    return {
        "organisation": organisation,
        "rule": rule,
        "worker": self.request.hostname,
        "seconds": round(time.monotonic() - started, 3),
        "results": results,
    }


@shared_task
def scan_finished(parts: list[dict], run_id: int) -> dict:
    run = scanning.scan_finish(
        run=ScanRun.objects.get(pk=run_id), parts=[part["results"] for part in parts]
    )
    return {
        "run": run.pk,
        "failed_rules": run.failed_rules,
        "results": run.results,
        "parts": [
            {key: part[key] for key in ("organisation", "rule", "worker", "seconds")}
            for part in parts
        ],
    }


@shared_task(
    autoretry_for=(SMTPException, OSError),
    retry_backoff=60,
    retry_backoff_max=3600,
    max_retries=8,
)
def send_reminder(user_id: int, kind: str, period: str) -> str:
    """One e-mail to one person; retried with backoff while the SMTP server refuses."""
    return notifications.send_reminder(user=User.objects.get(pk=user_id), kind=kind, period=period)


def _fan_out(kind: str) -> int:
    due = notifications.due_reminders(kind=kind, today=timezone.localdate())
    for user_id, period in due:
        send_reminder.delay(user_id, kind, period)
    return len(due)


@shared_task
def send_weekly_digests() -> int:
    return _fan_out(notifications.WEEKLY_DIGEST)


@shared_task
def send_monthly_summaries() -> int:
    return _fan_out(notifications.MONTHLY_SUMMARY)


@shared_task(acks_late=True)
def reevaluate_members(member_ids: list[int]) -> dict:
    """After a write that changes members' evidence: their rules now, not tonight."""
    results = scanning.scan_members(member_ids=member_ids)
    return {
        code: counts for code, counts in results.items() if counts["opened"] or counts["closed"]
    }
