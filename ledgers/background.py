"""Work that may run on the worker: whether it runs here or there, and sending it.

Above the services and the tasks (tasks call services; these send tasks), so that neither
imports the other. Every task is sent only once the row it reads is committed.
"""

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from members.access_log import log_sensitive_access
from members.models import Organisation, SensitiveAccess

from . import services, staging, tasks
from .models import LedgerExport, LedgerImport

RAN, QUEUED, QUEUE_DOWN, FAILED = "ran", "queued", "queue_down", "failed"


def ledger_export_start(
    *, actor, file_format: str, query: dict, total: int, ip_address: str | None
) -> LedgerExport:
    """A large export for the worker: logged, the job committed, then the task sent.

    The task goes out on commit, never before: a worker quicker than the request's
    transaction would not find the job (tests/test_export_race.py). If the broker cannot take
    it, the job is marked failed at once.
    """
    with transaction.atomic():
        log_sensitive_access(
            user=actor, action=SensitiveAccess.Action.EXPORT_LEDGER, ip_address=ip_address
        )
        job = LedgerExport.objects.create(
            user=actor,
            file_format=file_format,
            filters=query,
            status=LedgerExport.Status.RUNNING,
            rows_total=total,
        )
        transaction.on_commit(lambda: _send_export(job.pk))
    job.refresh_from_db()
    return job


def _send_export(job_id: int) -> None:
    if not tasks.enqueue(tasks.export_ledger, job_id):
        LedgerExport.objects.filter(pk=job_id).update(
            status=LedgerExport.Status.FAILED, finished_at=timezone.now()
        )


def import_confirm(
    *, job: LedgerImport, content: bytes, token: str, branch: Organisation | None
) -> str:
    """The user confirmed a preview: previewed → running → applied or failed, here or on the
    worker for a large file (back to previewed if the worker cannot take it, to confirm again).
    Call it outside a transaction, so that the job is saved before the worker looks for it."""
    job.status = LedgerImport.Status.RUNNING
    job.save(update_fields=["status"])
    if job.rows_total > settings.IMPORT_BACKGROUND_ROWS:
        if tasks.enqueue(tasks.import_ledger, job.pk, token, branch.pk if branch else None):
            return QUEUED
        job.status = LedgerImport.Status.PREVIEWED
        job.save(update_fields=["status"])
        return QUEUE_DOWN
    try:
        services.import_run(job=job, content=content, default_branch=branch)
    except DatabaseError:
        # The import's own transaction rolled back; a dropped connection is reopened here.
        if not connection.is_usable():
            connection.close()
        services.import_failed(job)
        return FAILED
    finally:
        staging.drop(token)
    return RAN
