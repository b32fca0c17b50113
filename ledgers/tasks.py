"""Background work for big imports and exports. Tasks take ids and call the pipeline."""

import logging
from smtplib import SMTPException

from celery import shared_task
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import RedisError

from members.models import Member, Organisation

from . import exporting, selectors, selfreport, services, staging
from .forms import ledger_filters
from .models import LedgerExport, LedgerImport

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
    job = LedgerImport.objects.select_related("user").get(pk=job_id)
    if job.status != LedgerImport.Status.RUNNING:
        return job.status  # already done: a redelivered task does nothing twice
    content = staging.fetch(token)
    if content is None:
        job.status, job.errors = (
            LedgerImport.Status.FAILED,
            [{"row": 0, "column": "", "message": "上传的文件已过期，请重新上传。"}],
        )
        job.finished_at = timezone.now()
        job.save()
        return job.status
    branch = Organisation.objects.filter(pk=branch_id).first() if branch_id else None
    try:
        services.import_run(job=job, content=content, default_branch=branch)
    finally:
        staging.drop(token)
    return job.status


@shared_task
def export_ledger(job_id: int) -> str:
    job = LedgerExport.objects.select_related("user").get(pk=job_id)
    if job.status != LedgerExport.Status.RUNNING:
        return job.status
    _form, filters = ledger_filters(job.filters, user=job.user)
    rows = selectors.ledger_rows(user=job.user, today=timezone.localdate(), life=False, **filters)

    def counted(episodes):
        for done, episode in enumerate(episodes, start=1):
            if done % 5000 == 0:
                LedgerExport.objects.filter(pk=job.pk).update(rows_done=done)
            yield episode

    episodes = counted(rows.iterator(chunk_size=2000))
    try:
        full_ids = filters["side"] != "inflow"  # the hosting side sees masked ID numbers
        if job.file_format == "xlsx":
            content = exporting.export_ledger_xlsx(episodes, full_ids=full_ids)
        else:
            content = exporting.export_ledger_csv(episodes, full_ids=full_ids)
    except Exception:
        LedgerExport.objects.filter(pk=job.pk).update(
            status=LedgerExport.Status.FAILED, finished_at=timezone.now()
        )
        raise
    kept = staging.stash_as(f"export-{job.pk}", content, ttl=24 * 3600)
    job.status, job.rows_done, job.finished_at = (
        LedgerExport.Status.READY if kept else LedgerExport.Status.FAILED,
        job.rows_total,
        timezone.now(),
    )
    job.save()
    return job.status


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
