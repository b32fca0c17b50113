"""Writes. Views and tasks call these; they record who acted (history, access log)."""

import logging
from datetime import date, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from infrastructure.steps import StepRefused

from . import conflicts, crypto, national_id, signals
from .access_log import log_sensitive_access
from .models import (
    CorrectionTerm,
    DuplicateRegistration,
    Member,
    MembershipDecision,
    Organisation,
    SensitiveAccess,
)
from .selectors import members_editable_by, require_editable

logger = logging.getLogger(__name__)


class EditConflict(Exception):
    """Someone saved the member after the form was opened; nothing was written."""

    def __init__(self, *, version: int, entries: list):
        super().__init__("edit conflict")
        self.version = version  # the member's version now
        self.entries = entries  # who changed what since, oldest first


@transaction.atomic
def member_save(*, member: Member, actor, version: int | None = None) -> Member:
    """Create or update a member validated by its form; history records `actor`.

    With `version` (the one the edit form was opened on) an update on top of a newer save is
    refused with EditConflict, so the second of two editors never silently overwrites the first.
    """
    if member.pk and version is not None:
        # Lock the row: a concurrent save waits here and then sees the newer version.
        Member.objects.select_for_update().filter(pk=member.pk).values_list("pk").first()
        current = conflicts.member_version(member)
        if current != version:
            raise EditConflict(
                version=current, entries=conflicts.changes_since(member=member, version=version)
            )
    member._history_user = actor
    member.save()
    return member


@transaction.atomic
def national_id_reveal(*, member: Member, actor, ip_address: str | None) -> str:
    """Return the clear ID number and log that `actor` saw it."""
    log_sensitive_access(
        user=actor,
        member=member,
        action=SensitiveAccess.Action.REVEAL_NATIONAL_ID,
        ip_address=ip_address,
    )
    return member.national_id


def evidence_changed(*, member_ids: list[int]) -> None:
    """After the commit, tell the rooms above that these members' evidence changed (alerts/
    re-evaluates their rules, so an alert whose condition is gone closes the same day)."""
    member_ids = sorted(set(member_ids))
    if member_ids and not signals.is_quiet():
        transaction.on_commit(
            lambda: signals.evidence_changed.send_robust(sender=Member, member_ids=member_ids)
        )


# --- decisions on membership (Reg. art. 24; Constitution art. 9) ---------------------------

DECISION_STATUS = {
    MembershipDecision.Kind.SUSPENSION: (Member.Status.ACTIVE, Member.Status.SUSPENDED),
    MembershipDecision.Kind.RESTORATION: (Member.Status.SUSPENDED, Member.Status.ACTIVE),
}
REMOVABLE = (Member.Status.ACTIVE, Member.Status.SUSPENDED)


@transaction.atomic
def decision_record(
    *,
    actor,
    member: Member,
    kind: str,
    decided_on: date,
    deciding_organisation: str,
    ground: str = "",
    document_number: str = "",
    note: str = "",
) -> MembershipDecision:
    """停止党籍, 恢复党籍 or 除名: record the decision and change the member's status.

    Suspension needs an active member, restoration a suspended one, removal either. Each
    closes what it should: the scan closes alerts whose condition no longer applies to the new
    status; an open correction term ends with the removal or suspension.
    """
    require_editable(actor, member)
    member = Member.objects.select_for_update().get(pk=member.pk)
    if decided_on > timezone.localdate():
        raise StepRefused(_("A decision cannot be dated in the future."))
    if kind == MembershipDecision.Kind.REMOVAL:
        before, after = REMOVABLE, Member.Status.REMOVED
    else:
        required, after = DECISION_STATUS[kind]
        before = (required,)
    if member.status not in before:
        raise StepRefused(
            _("This decision cannot be recorded for a member whose status is “%(status)s”.")
            % {"status": member.get_status_display()}
        )
    if kind == MembershipDecision.Kind.SUSPENSION and not ground:
        raise StepRefused(_("Give the ground of the suspension."))
    decision = MembershipDecision.objects.create(
        member=member,
        kind=kind,
        decided_on=decided_on,
        deciding_organisation=deciding_organisation.strip(),
        ground=ground,
        document_number=document_number.strip(),
        note=note.strip(),
        recorded_by=actor,
    )
    member.status = after
    member._history_user = actor
    member.save(update_fields=["status", "updated_at"])
    if kind != MembershipDecision.Kind.RESTORATION:
        CorrectionTerm.objects.filter(member=member, closed_on__isnull=True).update(
            closed_on=decided_on, close_reason=kind
        )
    evidence_changed(member_ids=[member.pk])
    return decision


# --- the full ID number: exact search and duplicates, without an oracle ---------------------


def member_find_by_national_id(*, actor, number: str, ip_address: str | None) -> Member | None:
    """Exact search by a full ID number, only among the members whose full number the actor may
    already see (the home side). Rate-limited per user and logged like a reveal: a masked
    number and a birth date cannot be completed by trying the candidates here."""
    since = timezone.now() - timedelta(hours=1)
    done = SensitiveAccess.objects.filter(
        user=actor, action=SensitiveAccess.Action.SEARCH_NATIONAL_ID, at__gte=since
    ).count()
    if done >= settings.NATIONAL_ID_SEARCH_PER_HOUR:
        raise StepRefused(
            _("Too many searches by ID number in the last hour (%(n)d). Try again later.")
            % {"n": settings.NATIONAL_ID_SEARCH_PER_HOUR}
        )
    found = (
        members_editable_by(actor)
        .filter(national_id_digest__in=crypto.digests(national_id.normalise(number)))
        .first()
    )
    log_sensitive_access(
        user=actor,
        member=found,
        action=SensitiveAccess.Action.SEARCH_NATIONAL_ID,
        ip_address=ip_address,
        detail="found" if found else "not found",
    )
    return found


def duplicate_registration_record(
    *, actor, organisation: Organisation, held: list[tuple[int, str]], source: str
) -> list[DuplicateRegistration]:
    """Numbers held outside the actor's scope, as (member id, name given): a case each for the
    reviewers above both sides, and a line each in the access log. Its own transaction, so a
    refused form or import still records them."""
    if not held:
        return []
    with transaction.atomic():
        SensitiveAccess.objects.bulk_create(
            SensitiveAccess(
                user=actor,
                member_id=member_id,
                action=SensitiveAccess.Action.DUPLICATE_REGISTRATION,
                detail=f"{organisation.name} ({source})"[:200],
            )
            for member_id, _name in held
        )
        return DuplicateRegistration.objects.bulk_create(
            DuplicateRegistration(
                attempted_by=actor,
                organisation=organisation,
                existing_member_id=member_id,
                source=source,
                name_given=name[:50],
            )
            for member_id, name in held
        )
