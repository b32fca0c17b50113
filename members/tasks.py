from smtplib import SMTPException

from celery import shared_task
from django.contrib.auth.models import User
from django.utils import timezone

from . import notifications, scanning, services


@shared_task
def housekeeping() -> dict[str, int]:
    """Nightly: drop expired sessions and login attempts whose cool-off has passed."""
    return services.housekeeping()


@shared_task
def scan_alerts() -> dict:
    """Nightly: run every registered rule (see members/scanning.py)."""
    run = scanning.scan()
    return {"run": run.pk, "failed_rules": run.failed_rules, "results": run.results}


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
