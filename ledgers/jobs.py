"""The ledger's background jobs, run by the Celery tasks (tasks.py) with the job's id: an
import of a staged upload and an export to a file kept for a day. Safe to run twice: a job
that is no longer running is left as it is."""

from django.utils import timezone

from members.models import Organisation
from members.selectors import scope_root_of

from . import exporting, selectors, services, staging
from .forms import ledger_filters
from .models import LedgerExport, LedgerImport
from .national import export as national_export


def run_import(*, job_id: int, token: str, branch_id: int | None) -> str:
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


def run_export(*, job_id: int) -> str:
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
        if job.filters.get("layout") == national_export.LAYOUT:
            content = national_export.run_export_job(job=job)
        elif job.file_format == "xlsx":
            content = exporting.export_ledger_xlsx(
                episodes,
                full_ids=full_ids,
                organisation=filters["branch"] or scope_root_of(job.user),
                side=filters["side"],
            )
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
