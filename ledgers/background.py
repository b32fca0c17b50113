"""Work that may run on the worker: whether it runs here or there, and sending it; and the
import's two steps, the preview and the confirm.

Above the services and the tasks (tasks call services; these send tasks), so that neither
imports the other. Every task is sent only once the row it reads is committed.
"""

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from members.access_log import log_sensitive_access
from members.models import DuplicateRegistration, Organisation, SensitiveAccess
from members.selectors import scope_root_of
from members.services import duplicate_registration_record

from . import imports, services, staging, tasks
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


@dataclass
class ImportPreview:
    plan: imports.ImportPlan
    job: LedgerImport
    token: str = ""  # the kept upload, when the whole file can be imported
    partial_token: str = ""  # the kept upload, when only the rows without errors can
    kept: bool = True  # False: the cache could not keep the upload, nothing can be confirmed


def import_preview(
    *, actor, file_name: str, content: bytes, branch: Organisation | None
) -> ImportPreview:
    """Step 1: plan the upload (nothing written), record the preview as a job with its
    problems to download, and keep the upload for the confirm: for the whole file when it is
    clean, for the rows without errors when some are broken (the user chooses)."""
    plan = imports.plan_import(
        content=content, file_name=file_name, user=actor, default_branch=branch
    )
    organisation = branch or scope_root_of(actor)
    duplicate_registration_record(
        actor=actor,
        organisation=organisation,
        held=plan.held_elsewhere,
        source=DuplicateRegistration.Source.IMPORT,
    )
    job = LedgerImport.objects.create(
        user=actor,
        branch=organisation,
        file_name=file_name[:200],
        file_sha256=hashlib.sha256(content).hexdigest(),
        status=LedgerImport.Status.PREVIEWED,
        rows_total=len(plan.rows),
        created=plan.counts["create"],
        updated=plan.counts["update"],
        unchanged=plan.counts["unchanged"],
        errors=imports.errors_kept(plan.issues, settings.IMPORT_ERRORS_KEPT),
    )
    services.import_problems_keep(job=job, content=content, plan=plan)
    preview = ImportPreview(plan, job)
    if plan.ok or plan.partial_possible:
        token = staging.stash(content)
        if token is None:
            preview.kept = False
        elif plan.ok:
            preview.token = token
        else:
            preview.partial_token = token
    return preview


def _send_import(job_id: int, token: str, branch_id: int | None) -> None:
    if not tasks.enqueue(tasks.import_ledger, job_id, token, branch_id):
        LedgerImport.objects.filter(pk=job_id, status=LedgerImport.Status.RUNNING).update(
            status=LedgerImport.Status.PREVIEWED
        )


def import_confirm(
    *,
    job: LedgerImport,
    content: bytes,
    token: str,
    branch: Organisation | None,
    skip_broken: bool = False,
) -> str:
    """The user confirmed a preview: previewed → running → applied or failed, here or on the
    worker for a large file (back to previewed if the worker cannot take it, to confirm again).
    `skip_broken`: the user chose to import the rows without errors and leave the rest out;
    it is kept on the job, so the worker's task (which takes ids) honours it too.

    The task goes out on commit, never before, so a worker quicker than this request still
    finds the job running; if the broker cannot take it, the job goes back to previewed."""
    background = job.rows_total > settings.IMPORT_BACKGROUND_ROWS
    with transaction.atomic():
        job.status = LedgerImport.Status.RUNNING
        job.skip_broken = skip_broken
        job.save(update_fields=["status", "skip_broken"])
        if background:
            branch_id = branch.pk if branch else None
            transaction.on_commit(lambda: _send_import(job.pk, token, branch_id))
    if background:
        job.refresh_from_db(fields=["status"])
        return QUEUED if job.status == LedgerImport.Status.RUNNING else QUEUE_DOWN
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
