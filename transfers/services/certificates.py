"""Activity certificates (流动党员活动证): issue, arrival and departure, review, end, reissue."""

from datetime import date

from django.db import transaction
from django.utils.translation import gettext as _

from infrastructure.steps import StepRefused
from members.models import ExternalOrganisation, Member, Organisation
from members.selectors import (
    organisation_in_scope,
    require_editable,
)
from members.services import evidence_changed

from .. import signals
from ..models import (
    ActivityCertificate,
    CertificateReview,
)
from .common import (
    _committee_of,
    _county_of,
    _next_number,
)

# --- activity certificates ---------------------------------------------------------------


@transaction.atomic
def certificate_issue(
    *,
    actor,
    member: Member,
    issued_on: date,
    reason: str,
    destination: str,
    inflow_organisation: Organisation | None = None,
    inflow_external: ExternalOrganisation | None = None,
    reissue_of: ActivityCertificate | None = None,
) -> ActivityCertificate:
    member = Member.objects.select_for_update().get(pk=member.pk)
    require_editable(actor, member)
    if member.status != Member.Status.ACTIVE:
        raise StepRefused(_("Certificates are issued only to active members."))
    if member.certificates.filter(status=ActivityCertificate.Status.VALID).exists():
        raise StepRefused(
            _("This member already holds a valid certificate. Return it or report it lost first.")
        )
    county = _county_of(member.home_branch)
    sequence = _next_number(county=county, kind="certificate", year=issued_on.year)
    certificate = ActivityCertificate(
        number=f"{county.code or county.pk}{issued_on.year}{sequence:04d}",
        member=member,
        episode=member.mobility_episodes.current().first(),
        issuing_branch=member.home_branch,
        stamping_committee=_committee_of(member.home_branch),
        issued_on=issued_on,
        reason=reason,
        destination=destination,
        inflow_organisation=inflow_organisation,
        inflow_external=inflow_external,
        reissue_of=reissue_of,
        issued_by=actor,
    )
    certificate._history_user = actor
    certificate.save()
    evidence_changed(member_ids=[member.pk])
    signals.certificate_issued.send(sender=ActivityCertificate, certificate=certificate)
    return certificate


def _certificate_for_update(certificate: ActivityCertificate) -> ActivityCertificate:
    return ActivityCertificate.objects.select_for_update().get(pk=certificate.pk)


def _require_inflow_or_home(actor, certificate: ActivityCertificate) -> None:
    if organisation_in_scope(actor, certificate.inflow_organisation):
        return
    require_editable(actor, certificate.member)


@transaction.atomic
def certificate_register_arrival(
    *, actor, certificate: ActivityCertificate, arrived_on: date, inflow_contact: str
) -> ActivityCertificate:
    """The inflow side (or the home branch for an external one) records the arrival."""
    certificate = _certificate_for_update(certificate)
    _require_inflow_or_home(actor, certificate)
    if not certificate.is_valid:
        raise StepRefused(_("This certificate is no longer valid."))
    if arrived_on < certificate.issued_on:
        raise StepRefused(_("The arrival cannot be before the certificate was issued."))
    certificate.arrived_on, certificate.inflow_contact = arrived_on, inflow_contact
    certificate._history_user = actor
    certificate.save()
    return certificate


@transaction.atomic
def certificate_record_departure(
    *,
    actor,
    certificate: ActivityCertificate,
    departed_on: date,
    participation: str,
    dues: str,
) -> ActivityCertificate:
    certificate = _certificate_for_update(certificate)
    _require_inflow_or_home(actor, certificate)
    if not certificate.is_valid:
        raise StepRefused(_("This certificate is no longer valid."))
    if certificate.arrived_on and departed_on < certificate.arrived_on:
        raise StepRefused(_("The departure cannot be before the arrival."))
    certificate.departed_on = departed_on
    certificate.departure_participation, certificate.departure_dues = participation, dues
    certificate._history_user = actor
    certificate.save()
    return certificate


@transaction.atomic
def certificate_review(
    *, actor, certificate: ActivityCertificate, year: int, reviewed_on: date, result: str, note: str
) -> CertificateReview:
    certificate = _certificate_for_update(certificate)
    require_editable(actor, certificate.member)
    if not certificate.is_valid:
        raise StepRefused(_("Only a valid certificate is reviewed."))
    if certificate.reviews.filter(year=year).exists():
        raise StepRefused(_("The review for %(year)d is already recorded.") % {"year": year})
    evidence_changed(member_ids=[certificate.member_id])
    return CertificateReview.objects.create(
        certificate=certificate,
        year=year,
        reviewed_on=reviewed_on,
        result=result,
        note=note,
        reviewed_by=actor,
    )


@transaction.atomic
def certificate_end(
    *, actor, certificate: ActivityCertificate, ended_on: date, status: str
) -> ActivityCertificate:
    """Return (the member came home) or cancel (the relationship was transferred)."""
    certificate = _certificate_for_update(certificate)
    require_editable(actor, certificate.member)
    if not certificate.is_valid:
        raise StepRefused(_("This certificate is no longer valid."))
    certificate.status, certificate.ended_on = status, ended_on
    certificate._history_user = actor
    certificate.save()
    signals.certificate_ended.send(sender=ActivityCertificate, certificate=certificate)
    evidence_changed(member_ids=[certificate.member_id])
    return certificate


@transaction.atomic
def certificate_reissue_lost(
    *, actor, certificate: ActivityCertificate, reported_on: date
) -> ActivityCertificate:
    """The member lost the certificate: the old number stops verifying, a new one is issued."""
    old = certificate_end(
        actor=actor,
        certificate=certificate,
        ended_on=reported_on,
        status=ActivityCertificate.Status.LOST,
    )
    return certificate_issue(
        actor=actor,
        member=old.member,
        issued_on=reported_on,
        reason=old.reason,
        destination=old.destination,
        inflow_organisation=old.inflow_organisation,
        inflow_external=old.inflow_external,
        reissue_of=old,
    )
