"""Writes for the ledger: confirming items, editing them, logging contacts, campaigns."""

from datetime import date

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from infrastructure.steps import StepRefused
from members.models import Member, Organisation, StaffAssignment
from members.selectors import (
    assignment_of,
    organisation_in_scope,
    require_visible,
    scope_root_of,
    sees_everything,
)
from members.services import evidence_changed
from members.signals import bulk_changed
from transfers.models import MobilityEpisode

from . import imports, selectors, staging
from .models import (
    CensusCampaign,
    ContactAttempt,
    FiveClearsItem,
    LedgerImport,
    LedgerRecord,
)


def _record_for_update(member: Member) -> LedgerRecord:
    LedgerRecord.objects.get_or_create(member=member)
    return LedgerRecord.objects.select_for_update().get(member=member)


def _current_episode(member: Member) -> MobilityEpisode:
    episode = member.mobility_episodes.current().first()
    if episode is None:
        raise StepRefused(_("This member is not recorded as away."))
    return episode


def _require_keeps(actor, member: Member, items: list[str], *, change: bool = False) -> None:
    unknown = set(items) - set(FiveClearsItem.values)
    if unknown:
        raise StepRefused(_("Unknown ledger item."))
    kept = selectors.ledger_items_kept_by(user=actor, member=member, change=change)
    if not kept:
        raise StepRefused(_("This member is not in your scope."))
    if FiveClearsItem.LEFT in set(items) - set(kept):
        raise StepRefused(
            _("When and why the member left is confirmed by the home branch, not the hosting side.")
        )
    if set(items) - set(kept):
        raise StepRefused(
            _(
                "The member's phone number is changed by the home branch: it is also where "
                "their sign-in codes go. Tell the home branch the new number."
            )
        )


@transaction.atomic
def ledger_confirm(*, actor, member: Member, items: list[str], on: date) -> LedgerRecord:
    """Confirm items as still true, unchanged: stamps the date and the user. The hosting side
    confirms the inflow items only (`INFLOW_ITEMS`)."""
    _require_keeps(actor, member, items)
    record = _record_for_update(member)
    for item in items:
        setattr(record, f"{item}_confirmed_on", on)
        setattr(record, f"{item}_confirmed_by", actor)
    record._history_user = actor
    record.save()
    return record


@transaction.atomic
def ledger_update_item(*, actor, member: Member, item: str, values: dict, on: date) -> LedgerRecord:
    """Change an item's value where it lives, and confirm it."""
    _require_keeps(actor, member, [item], change=True)
    if item == FiveClearsItem.CONTACT:
        member.phone = values["phone"]
        member._history_user = actor
        member.save()
    elif item == FiveClearsItem.CONDUCT:
        record = _record_for_update(member)
        record.conduct_assessment = values["conduct_assessment"]
        record.conduct_note = values["conduct_note"]
        record._history_user = actor
        record.save()
    else:
        episode = _current_episode(member)
        for field, value in values.items():
            setattr(episode, field, value)
        episode._history_user = actor
        episode.save()
    return ledger_confirm(actor=actor, member=member, items=[item], on=on)


@transaction.atomic
def contact_record(
    *, actor, member: Member, on: date, channel: str, reached: bool, note: str = ""
) -> ContactAttempt:
    """Log an attempt. Reaching the member confirms that the contact details work (for the
    hosting side too: it keeps the inflow items)."""
    require_visible(actor, member)
    attempt = ContactAttempt.objects.create(
        member=member, on=on, channel=channel, reached=reached, note=note, recorded_by=actor
    )
    if reached:
        ledger_confirm(actor=actor, member=member, items=[FiveClearsItem.CONTACT], on=on)
    evidence_changed(member_ids=[member.pk])
    return attempt


@transaction.atomic
def campaign_open(
    *, actor, organisation: Organisation, name: str, starts_on: date, ends_on: date
) -> CensusCampaign:
    assignment = assignment_of(actor)
    is_reviewer = sees_everything(actor) or (
        assignment is not None
        and assignment.role == StaffAssignment.Role.REVIEWER
        and organisation_in_scope(actor, organisation)
    )
    if not is_reviewer:
        raise StepRefused(_("Only a reviewer opens a census campaign for their organisation."))
    if ends_on < starts_on:
        raise StepRefused(_("The campaign must end after it starts."))
    return CensusCampaign.objects.create(
        organisation=organisation, name=name, starts_on=starts_on, ends_on=ends_on, opened_by=actor
    )


@transaction.atomic
def campaign_close(*, actor, campaign: CensusCampaign, on: date) -> CensusCampaign:
    campaign = CensusCampaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.opened_by_id != actor.pk and not sees_everything(actor):
        raise StepRefused(_("Only the reviewer who opened the campaign closes it."))
    if campaign.closed_on:
        raise StepRefused(_("This campaign is already closed."))
    campaign.closed_on = on
    campaign.save(update_fields=["closed_on"])
    return campaign


# --- imports: the job's state machine ----------------------------------------------------------

NOTHING_WRITTEN = "导入时出现系统错误，未写入任何数据，请稍后重试。"  # shown as the import's error


def import_failed(job: LedgerImport) -> None:
    """Nothing was written: say so on the job rather than leave it running."""
    LedgerImport.objects.filter(pk=job.pk).update(
        status=LedgerImport.Status.FAILED,
        finished_at=timezone.now(),
        errors=[{"row": 0, "column": "", "message": NOTHING_WRITTEN}],
    )


def import_run(*, job: LedgerImport, content: bytes, default_branch: Organisation | None) -> None:
    """Apply an import and record the outcome on `job`: all rows or none, or, when the user
    chose it (`job.skip_broken`), the rows without errors, the broken ones left out."""

    def progress(done: int, total: int) -> None:
        LedgerImport.objects.filter(pk=job.pk).update(rows_done=done, rows_total=total)

    try:
        plan = imports.apply_import(
            content=content,
            file_name=job.file_name,
            user=job.user,
            default_branch=default_branch,
            progress=progress,
            skip_broken=job.skip_broken,
        )
    except Exception:
        # Nothing was written (one transaction); say so rather than stay "running".
        import_failed(job)
        raise
    counts = plan.counts
    job.status = LedgerImport.Status.APPLIED if plan.applied else LedgerImport.Status.FAILED
    job.created = counts["create"]
    job.updated = counts["update"]
    job.unchanged = counts["unchanged"]
    job.rows_total = len(plan.rows)
    job.rows_imported = plan.importable if plan.applied else 0
    job.rows_left_out = job.rows_total - job.rows_imported
    job.rows_done = job.rows_imported
    job.errors = imports.errors_kept(plan.issues, settings.IMPORT_ERRORS_KEPT)
    job.finished_at = timezone.now()
    job.save()
    if plan.applied:  # the rows went in by bulk writes: the figures of the scope are recounted
        root = scope_root_of(job.user)
        bulk_changed.send_robust(
            sender=LedgerImport, member_ids=None, organisation_id=root and root.pk
        )
    import_problems_keep(job=job, content=content, plan=plan)  # what was left out, to fix


ERRORS_FILE = "import-errors-{pk}"  # every problem, a row each (行, 列, 问题)
BROKEN_ROWS_FILE = "import-broken-{pk}"  # the broken rows in the sheet's own layout
BROKEN_ROWS_KEPT_SECONDS = 24 * 3600  # to fix and upload later, as long as an export is kept


def import_problems_keep(*, job: LedgerImport, content: bytes, plan: imports.ImportPlan) -> None:
    """The job's problems as files to download (encrypted in the cache, like the upload): the
    list of every problem, and the broken rows as the user's own sheet with 错误原因, to fix
    and upload again. After an import they are made again from what it left out."""
    if plan.issues:
        staging.stash_as(ERRORS_FILE.format(pk=job.pk), imports.errors_xlsx(plan.issues))
    broken = imports.broken_rows_xlsx(content=content, file_name=job.file_name, plan=plan)
    if broken is not None:
        staging.stash_as(BROKEN_ROWS_FILE.format(pk=job.pk), broken, ttl=BROKEN_ROWS_KEPT_SECONDS)
    else:
        staging.drop(BROKEN_ROWS_FILE.format(pk=job.pk))
