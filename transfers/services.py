"""Writes for mobility, certificates and transfers. Each step checks that it is allowed.

Views reach objects through the scoped selectors first; these functions then check the
domain rules (state, dates, who may do the step) and refuse with a clear message.
"""

from datetime import date

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from infrastructure.steps import StepRefused
from members.models import ExternalOrganisation, Member, Organisation
from members.periods import months_after
from members.selectors import (
    organisation_in_scope,
    require_editable,
)
from members.services import evidence_changed

from . import selectors
from .models import (
    ActivityCertificate,
    CertificateReview,
    IntroductionLetter,
    MobilityEpisode,
    NumberSequence,
    RelationshipTransfer,
    TransferEvent,
)

# --- helpers -----------------------------------------------------------------------------
#
# Each write that can change what a rule finds (an episode, a certificate, a transfer step)
# calls `evidence_changed`: after the commit the member's rules run again, so an alert whose
# condition is gone closes the same day (the nightly scan stays the full pass).


def _county_of(organisation: Organisation) -> Organisation:
    return Organisation.objects.get(path=organisation.path[: Organisation.steplen])


def _committee_of(branch: Organisation) -> Organisation:
    paths = [branch.path[: d * Organisation.steplen] for d in range(1, branch.depth)]
    committee = (
        Organisation.objects.filter(path__in=paths, kind=Organisation.Kind.COMMITTEE)
        .order_by("-depth")
        .first()
    )
    return committee or _county_of(branch)


def _next_number(*, county: Organisation, kind: str, year: int) -> int:
    """The next number in a county's yearly sequence; the row lock serialises numbering."""
    NumberSequence.objects.get_or_create(county=county, kind=kind, year=year)
    sequence = NumberSequence.objects.select_for_update().get(county=county, kind=kind, year=year)
    sequence.last += 1
    sequence.save(update_fields=["last"])
    return sequence.last


# --- mobility episodes -------------------------------------------------------------------


@transaction.atomic
def episode_start(*, actor, episode: MobilityEpisode) -> MobilityEpisode:
    """Record that a member has left (or moved on): `episode` is validated and unsaved."""
    member = Member.objects.select_for_update().get(pk=episode.member_id)
    require_editable(actor, member)
    if member.mobility_episodes.current().exists():
        raise StepRefused(_("This member is already recorded as away. Record a move or a return."))
    episode._history_user = actor
    episode.save()
    evidence_changed(member_ids=[member.pk])
    return episode


@transaction.atomic
def episode_end(*, actor, episode: MobilityEpisode, ended_on: date, reason: str) -> MobilityEpisode:
    episode = MobilityEpisode.objects.select_for_update().get(pk=episode.pk)
    require_editable(actor, episode.member)
    if episode.ended_on is not None:
        raise StepRefused(_("This stretch away has already ended."))
    if ended_on < episode.left_on:
        raise StepRefused(_("The end date cannot be before the date of leaving."))
    episode.ended_on, episode.end_reason = ended_on, reason
    episode._history_user = actor
    episode.save()
    if reason == MobilityEpisode.EndReason.RETURNED:
        for certificate in ActivityCertificate.objects.filter(
            member=episode.member, status=ActivityCertificate.Status.VALID
        ):
            certificate_end(
                actor=actor,
                certificate=certificate,
                ended_on=ended_on,
                status=ActivityCertificate.Status.RETURNED,
            )
    evidence_changed(member_ids=[episode.member_id])
    return episode


@transaction.atomic
def episode_move(
    *, actor, episode: MobilityEpisode, moved_on: date, new_episode: MobilityEpisode
) -> MobilityEpisode:
    """A move to a new place: the current stretch ends, a new one starts the same day."""
    episode_end(
        actor=actor, episode=episode, ended_on=moved_on, reason=MobilityEpisode.EndReason.MOVED
    )
    new_episode.member = episode.member
    new_episode.left_on = moved_on
    return episode_start(actor=actor, episode=new_episode)


# A "cannot transfer for now" is looked at again at least once a year.
DEFERRAL_MAX_MONTHS = 12


def deferral_latest_until(today: date) -> date:
    """The furthest until-date a "cannot transfer for now" may have: 12 months ahead."""
    return months_after(today, DEFERRAL_MAX_MONTHS)


@transaction.atomic
def episode_defer_transfer(
    *,
    actor,
    episode: MobilityEpisode,
    reason: str,
    until: date,
    note: str = "",
) -> MobilityEpisode:
    """暂时无法转移: the relationship cannot be transferred for now, for a reason, until a day.

    Until then (inclusive) the member carries the activity certificate and the "transfer
    required" alert stays quiet; the day after, it comes back. The episode's history keeps
    every reason recorded.
    """
    episode = MobilityEpisode.objects.select_for_update().get(pk=episode.pk)
    require_editable(actor, episode.member)
    if episode.ended_on is not None:
        raise StepRefused(_("This stretch away has already ended."))
    if episode.mobility_type == MobilityEpisode.Type.ABROAD:
        raise StepRefused(
            _("A member abroad keeps the relationship with the former unit: nothing to defer.")
        )
    if reason not in MobilityEpisode.DeferredReason.values:
        raise StepRefused(_("Choose why the relationship cannot be transferred for now."))
    note = note.strip()
    if reason == MobilityEpisode.DeferredReason.OTHER and not note:
        raise StepRefused(_("Explain the other reason."))
    today = timezone.localdate()
    if until <= today:
        raise StepRefused(_("The until-date must be after today."))
    if until > deferral_latest_until(today):
        raise StepRefused(
            _("The until-date can be at most %(months)d months ahead, by %(date)s.")
            % {
                "months": DEFERRAL_MAX_MONTHS,
                "date": deferral_latest_until(today).isoformat(),
            }
        )
    episode.transfer_deferred_reason = reason
    episode.transfer_deferred_note = note
    episode.transfer_deferred_until = until
    episode._history_user = actor
    episode.save()
    evidence_changed(member_ids=[episode.member_id])
    return episode


@transaction.atomic
def episode_record_abroad_purpose(
    *, actor, episode: MobilityEpisode, purpose: str
) -> MobilityEpisode:
    """Why the member is abroad: it decides whether Reg. art. 24 applies."""
    episode = MobilityEpisode.objects.select_for_update().get(pk=episode.pk)
    require_editable(actor, episode.member)
    if episode.ended_on is not None:
        raise StepRefused(_("This stretch away has already ended."))
    if episode.mobility_type != MobilityEpisode.Type.ABROAD:
        raise StepRefused(_("The member is not recorded as abroad."))
    if purpose not in MobilityEpisode.AbroadPurpose.values:
        raise StepRefused(_("Choose the purpose of the stay abroad."))
    episode.abroad_purpose = purpose
    episode._history_user = actor
    episode.save()
    evidence_changed(member_ids=[episode.member_id])
    return episode


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


# --- relationship transfers --------------------------------------------------------------


def _event(transfer: RelationshipTransfer, action: str, actor, note: str = "") -> None:
    """Every transfer step is an event, and may change what the transfer rules find."""
    TransferEvent.objects.create(transfer=transfer, action=action, actor=actor, note=note)
    evidence_changed(member_ids=[transfer.member_id])


def _transfer_for_update(transfer: RelationshipTransfer) -> RelationshipTransfer:
    return RelationshipTransfer.objects.select_for_update().get(pk=transfer.pk)


def _require_state(transfer: RelationshipTransfer, *states: str) -> None:
    if transfer.state not in states:
        raise StepRefused(
            _("Not possible now: the transfer is “%(state)s”.")
            % {"state": transfer.get_state_display()}
        )


@transaction.atomic
def transfer_draft(
    *,
    actor,
    member: Member,
    reason: str,
    to_organisation: Organisation | None = None,
    to_external: ExternalOrganisation | None = None,
) -> RelationshipTransfer:
    member = Member.objects.select_for_update().get(pk=member.pk)
    require_editable(actor, member)
    if (to_organisation is None) == (to_external is None):
        raise StepRefused(_("Choose one destination: one of ours, or an external organisation."))
    if to_organisation is not None and to_organisation.pk == member.home_branch_id:
        raise StepRefused(_("The member's relationship is already with this branch."))
    if to_organisation is not None and not to_organisation.holds_members:
        raise StepRefused(_("Choose a Party branch, general branch or group, not a committee."))
    if member.status != Member.Status.ACTIVE:
        raise StepRefused(_("Only an active member's relationship can be transferred."))
    if member.transfers.filter(state__in=RelationshipTransfer.OPEN_STATES).exists():
        raise StepRefused(_("This member already has a transfer in progress."))
    transfer = RelationshipTransfer.objects.create(
        member=member,
        from_branch=member.home_branch,
        to_organisation=to_organisation,
        to_external=to_external,
        reason=reason,
        requested_by=actor,
    )
    _event(transfer, TransferEvent.Action.DRAFTED, actor)
    return transfer


@transaction.atomic
def transfer_submit(*, actor, transfer: RelationshipTransfer) -> RelationshipTransfer:
    transfer = _transfer_for_update(transfer)
    require_editable(actor, transfer.member)
    _require_state(transfer, RelationshipTransfer.State.DRAFT)
    transfer.state = RelationshipTransfer.State.SUBMITTED
    transfer.save(update_fields=["state"])
    _event(transfer, TransferEvent.Action.SUBMITTED, actor)
    return transfer


@transaction.atomic
def transfer_withdraw(*, actor, transfer: RelationshipTransfer) -> RelationshipTransfer:
    transfer = _transfer_for_update(transfer)
    require_editable(actor, transfer.member)
    _require_state(transfer, RelationshipTransfer.State.DRAFT, RelationshipTransfer.State.SUBMITTED)
    transfer.state = RelationshipTransfer.State.CANCELLED
    transfer.save(update_fields=["state"])
    _event(transfer, TransferEvent.Action.WITHDRAWN, actor)
    return transfer


def _require_decider(actor, transfer: RelationshipTransfer) -> None:
    if transfer.requested_by_id == actor.pk:
        raise StepRefused(_("You cannot approve or reject a transfer you asked for yourself."))
    if not selectors.can_decide(actor, transfer):
        raise StepRefused(
            _("Only a reviewer of the committee or county above the branch can decide this.")
        )


def _issue_letter(
    *,
    actor,
    transfer: RelationshipTransfer,
    issued_on: date,
    valid_days: int,
    dues_paid_until: date,
) -> IntroductionLetter:
    if not 1 <= valid_days <= settings.LETTER_MAX_VALID_DAYS:
        raise StepRefused(
            _("A letter is valid for 1 to %(max)d days.") % {"max": settings.LETTER_MAX_VALID_DAYS}
        )
    county = _county_of(transfer.from_branch)
    sequence = _next_number(county=county, kind="letter", year=issued_on.year)
    return IntroductionLetter.objects.create(
        transfer=transfer,
        number=f"{county.code or county.pk}-{issued_on.year}-J{sequence:04d}",
        issued_on=issued_on,
        valid_days=valid_days,
        expires_on=issued_on + relativedelta(days=valid_days),
        dues_paid_until=dues_paid_until.replace(day=1),
        # The receipt is due a month after the other side *receives* the letter: set then.
        issued_by=actor,
    )


@transaction.atomic
def transfer_approve(
    *,
    actor,
    transfer: RelationshipTransfer,
    issued_on: date,
    valid_days: int,
    dues_paid_until: date,
    note: str = "",
) -> IntroductionLetter:
    """Approve and issue the introduction letter. Two reviewers at once yield one letter."""
    transfer = _transfer_for_update(transfer)
    _require_decider(actor, transfer)
    _require_state(transfer, RelationshipTransfer.State.SUBMITTED)
    letter = _issue_letter(
        actor=actor,
        transfer=transfer,
        issued_on=issued_on,
        valid_days=valid_days,
        dues_paid_until=dues_paid_until,
    )
    transfer.state, transfer.decision_note = RelationshipTransfer.State.APPROVED, note
    transfer.save(update_fields=["state", "decision_note"])
    _event(transfer, TransferEvent.Action.APPROVED, actor, letter.number)
    return letter


@transaction.atomic
def transfer_reject(*, actor, transfer: RelationshipTransfer, reason: str) -> RelationshipTransfer:
    transfer = _transfer_for_update(transfer)
    _require_decider(actor, transfer)
    _require_state(transfer, RelationshipTransfer.State.SUBMITTED)
    if not reason.strip():
        raise StepRefused(_("Give the reason for rejecting."))
    transfer.state, transfer.decision_note = RelationshipTransfer.State.REJECTED, reason
    transfer.save(update_fields=["state", "decision_note"])
    _event(transfer, TransferEvent.Action.REJECTED, actor, reason)
    return transfer


def _live_letter(transfer: RelationshipTransfer) -> IntroductionLetter:
    return transfer.letters.select_for_update().get(state=IntroductionLetter.State.ISSUED)


@transaction.atomic
def letter_reissue(
    *, actor, transfer: RelationshipTransfer, issued_on: date, valid_days: int
) -> IntroductionLetter:
    """A letter not used within its validity is replaced by a new one."""
    transfer = _transfer_for_update(transfer)
    _require_decider(actor, transfer)
    _require_state(transfer, RelationshipTransfer.State.APPROVED)
    old = _live_letter(transfer)
    if old.received_on is not None:
        raise StepRefused(
            _(
                "The receiving organisation received this letter on %(date)s: it is not "
                "reissued. Wait for the receipt."
            )
            % {"date": old.received_on.isoformat()}
        )
    if old.expires_on >= issued_on:
        raise StepRefused(
            _("The letter is still valid until %(date)s.") % {"date": old.expires_on.isoformat()}
        )
    old.state = IntroductionLetter.State.SUPERSEDED
    old.save(update_fields=["state"])
    letter = _issue_letter(
        actor=actor,
        transfer=transfer,
        issued_on=issued_on,
        valid_days=valid_days,
        dues_paid_until=old.dues_paid_until,
    )
    _event(transfer, TransferEvent.Action.LETTER_REISSUED, actor, letter.number)
    return letter


def _complete(*, actor, transfer: RelationshipTransfer, on: date) -> None:
    """The member leaves the old branch's care: episodes end, certificates are cancelled."""
    member = Member.objects.select_for_update().get(pk=transfer.member_id)
    for episode in member.mobility_episodes.current():
        episode.ended_on = max(on, episode.left_on)
        episode.end_reason = MobilityEpisode.EndReason.TRANSFERRED
        episode._history_user = actor
        episode.save()
    for certificate in member.certificates.filter(status=ActivityCertificate.Status.VALID):
        certificate.status, certificate.ended_on = ActivityCertificate.Status.CANCELLED, on
        certificate._history_user = actor
        certificate.save()
    if transfer.to_organisation is not None:
        member.home_branch = transfer.to_organisation
    else:
        member.status = Member.Status.TRANSFERRED_OUT
    member._history_user = actor
    member.save()
    transfer.state, transfer.completed_on = RelationshipTransfer.State.COMPLETED, on
    transfer.save(update_fields=["state", "completed_on"])


@transaction.atomic
def transfer_accept(*, actor, transfer: RelationshipTransfer, on: date) -> RelationshipTransfer:
    """The receiving branch (ours) accepts: the home branch changes in this transaction."""
    transfer = _transfer_for_update(transfer)
    if transfer.to_organisation is None or not organisation_in_scope(
        actor, transfer.to_organisation
    ):
        raise StepRefused(_("Only the receiving organisation can accept this transfer."))
    _require_state(transfer, RelationshipTransfer.State.APPROVED)
    letter = _live_letter(transfer)
    if on > letter.expires_on:
        raise StepRefused(
            _("The introduction letter expired on %(date)s. Ask the sending side to reissue it.")
            % {"date": letter.expires_on.isoformat()}
        )
    if letter.received_on is None:  # accepting is receiving the letter
        _set_received(letter, on)
    # Within the deployment the acceptance is the receipt: the sending side sees it at once.
    letter.state, letter.receipt_returned_on = IntroductionLetter.State.USED, on
    letter.save(update_fields=["state", "received_on", "receipt_due_on", "receipt_returned_on"])
    _complete(actor=actor, transfer=transfer, on=on)
    _event(transfer, TransferEvent.Action.ACCEPTED, actor, letter.number)
    return transfer


def _set_received(letter: IntroductionLetter, received_on: date) -> None:
    letter.received_on = received_on
    letter.receipt_due_on = months_after(received_on, settings.RECEIPT_DUE_MONTHS)


@transaction.atomic
def letter_record_received(
    *, actor, transfer: RelationshipTransfer, received_on: date
) -> IntroductionLetter:
    """对方已收到介绍信: an external organisation received the letter on `received_on`.

    The receipt is due one month (RECEIPT_DUE_MONTHS) after that day. A branch of ours
    records receiving by accepting the member.
    """
    transfer = _transfer_for_update(transfer)
    require_editable(actor, transfer.member)
    if transfer.to_external is None:
        raise StepRefused(
            _("A branch of ours receives the letter by accepting the member in Liudong.")
        )
    _require_state(transfer, RelationshipTransfer.State.APPROVED)
    letter = _live_letter(transfer)
    if letter.received_on is not None:
        raise StepRefused(
            _("The letter was already recorded as received on %(date)s.")
            % {"date": letter.received_on.isoformat()}
        )
    if received_on < letter.issued_on:
        raise StepRefused(_("The letter cannot be received before it was issued."))
    if received_on > timezone.localdate():
        raise StepRefused(_("The day received cannot be in the future."))
    if received_on > letter.expires_on:
        raise StepRefused(
            _(
                "The letter expired on %(date)s: a receiving organisation does not accept an "
                "expired letter. Ask a reviewer to reissue it."
            )
            % {"date": letter.expires_on.isoformat()}
        )
    _set_received(letter, received_on)
    letter.save(update_fields=["received_on", "receipt_due_on"])
    _event(
        transfer,
        TransferEvent.Action.LETTER_RECEIVED,
        actor,
        f"{letter.number} · {received_on.isoformat()}",
    )
    return letter


@transaction.atomic
def transfer_record_receipt(
    *, actor, transfer: RelationshipTransfer, returned_on: date
) -> RelationshipTransfer:
    """An external destination sent the receipt back: the member is transferred out."""
    transfer = _transfer_for_update(transfer)
    require_editable(actor, transfer.member)
    if transfer.to_external is None:
        raise StepRefused(_("A transfer within the county is completed by the receiving branch."))
    _require_state(transfer, RelationshipTransfer.State.APPROVED)
    letter = _live_letter(transfer)
    if returned_on < letter.issued_on:
        raise StepRefused(_("The receipt cannot come back before the letter was issued."))
    if letter.received_on is not None and returned_on < letter.received_on:
        raise StepRefused(
            _("The receipt cannot come back before the letter was received (%(date)s).")
            % {"date": letter.received_on.isoformat()}
        )
    letter.state, letter.receipt_returned_on = IntroductionLetter.State.USED, returned_on
    letter.save(update_fields=["state", "receipt_returned_on"])
    _complete(actor=actor, transfer=transfer, on=returned_on)
    _event(transfer, TransferEvent.Action.RECEIPT_RETURNED, actor, letter.number)
    return transfer


@transaction.atomic
def incoming_register(
    *,
    actor,
    member: Member,
    from_external: ExternalOrganisation,
    letter_number: str,
    arrived_on: date,
) -> RelationshipTransfer:
    """A member arrives from outside with a letter: create them in the receiving branch."""
    if not organisation_in_scope(actor, member.home_branch):
        raise StepRefused(_("You can register arrivals only in your own organisation."))
    member._history_user = actor
    member.save()
    transfer = RelationshipTransfer.objects.create(
        member=member,
        direction=RelationshipTransfer.Direction.INCOMING,
        from_external=from_external,
        to_organisation=member.home_branch,
        reason=_("Arrived with introduction letter %(number)s") % {"number": letter_number},
        state=RelationshipTransfer.State.COMPLETED,
        requested_by=actor,
        completed_on=arrived_on,
    )
    _event(transfer, TransferEvent.Action.REGISTERED_INCOMING, actor, letter_number)
    return transfer
