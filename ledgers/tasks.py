"""Background work for big imports and exports. Tasks take ids and call the pipeline."""

import logging
from smtplib import SMTPException

from celery import shared_task
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import RedisError

from members.models import Member

from . import jobs, selfreport

logger = logging.getLogger(__name__)


def enqueue(task, *args) -> bool:
    """Send a task to the worker; False (logged) when the broker cannot be reached."""
    try:
        task.delay(*args)
    except (KombuOperationalError, RedisError, OSError):
        logger.exception("broker unreachable, %s not sent", task.name)
        return False
    return True


@shared_task
def import_ledger(job_id: int, token: str, branch_id: int | None) -> str:
    return jobs.run_import(job_id=job_id, token=token, branch_id=branch_id)


@shared_task
def export_ledger(job_id: int) -> str:
    return jobs.run_export(job_id=job_id)


@shared_task(
    autoretry_for=(SMTPException, OSError), retry_backoff=60, retry_backoff_max=3600, max_retries=8
)
def send_self_report_reminder(member_id: int, period: str) -> str:
    return selfreport.send_reminder(
        member=Member.objects.select_related("home_branch").get(pk=member_id), period=period
    )


@shared_task
def send_self_report_reminders() -> int:
    """Monthly: each mobile member with an e-mail address gets their self-report link."""
    period = selfreport.period_of(timezone.localdate())
    members = list(selfreport.members_to_remind().values_list("pk", flat=True))
    for member_id in members:
        send_self_report_reminder.delay(member_id, period)
    return len(members)
