"""Relationship transfers and introduction letters: draft, submit, decide, receive, accept."""

from dataclasses import dataclass
from datetime import date

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from infrastructure.steps import StepRefused
from members import phone
from members.models import ExternalOrganisation, Member, Organisation
from members.periods import months_after
from members.selectors import (
    organisation_in_scope,
    require_editable,
)
from members.services import evidence_changed

from .. import selectors, signals
from ..models import (
    ActivityCertificate,
    IntroductionLetter,
    MobilityEpisode,
    RelationshipTransfer,
    TransferEvent,
)
from .common import (
    _county_of,
    _next_number,
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


@dataclass(frozen=True)
class NewExternalOrganisation:
    """A receiving organisation not yet listed, as the secretary typed it in the transfer form."""

    name: str
    region: str
    contact_person: str = ""
    phone: str = ""


def _check_transfer_allowed(
    *, actor, member: Member, to_organisation: Organisation | None, external: bool
) -> None:
    """What every new transfer needs: one destination, an active member, none in progress.

    `external`: the destination is an external organisation (listed, or about to be added).
    """
    require_editable(actor, member)
    if (to_organisation is not None) == external:
        raise StepRefused(_("Choose one destination: one of ours, or an external organisation."))
    if to_organisation is not None and to_organisation.pk == member.home_branch_id:
        raise StepRefused(_("The member's relationship is already with this branch."))
    if to_organisation is not None and not to_organisation.holds_members:
        raise StepRefused(_("Choose a Party branch, general branch or group, not a committee."))
    if member.status != Member.Status.ACTIVE:
        raise StepRefused(_("Only an active member's relationship can be transferred."))
    if member.transfers.filter(state__in=RelationshipTransfer.OPEN_STATES).exists():
        raise StepRefused(_("This member already has a transfer in progress."))


@transaction.atomic
def transfer_draft(
    *,
    actor,
    member: Member,
    reason: str,
    to_organisation: Organisation | None = None,
    to_external: ExternalOrganisation | None = None,
) -> RelationshipTransfer:
    """A draft, submitted later (`transfer_submit`). The form submits at once: `transfer_request`."""
    member = Member.objects.select_for_update().get(pk=member.pk)
    _check_transfer_allowed(
        actor=actor,
        member=member,
        to_organisation=to_organisation,
        external=to_external is not None,
    )
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


def _refused_naming(errors: dict[str, list[str]]) -> StepRefused:
    """A refusal whose every message starts with the field it is about."""
    return StepRefused(
        [
            _("%(field)s: %(message)s")
            % {
                "field": ExternalOrganisation._meta.get_field(field).verbose_name,
                "message": message,
            }
            for field, messages in errors.items()
            for message in messages
        ]
    )


def _add_external_organisation(*, actor, new: NewExternalOrganisation) -> ExternalOrganisation:
    """List a receiving organisation outside the deployment, as the secretary typed it."""
    name, region = new.name.strip(), new.region.strip()
    if not name:
        raise StepRefused(_("Receiving organisation: enter its name, or choose one from a list."))
    if not region:
        raise StepRefused(_("Region of the new organisation: enter where it is."))
    try:
        number = phone.validate(new.phone) if new.phone.strip() else ""
    except ValidationError as error:
        raise _refused_naming({"phone": error.messages}) from error
    listed = _("“%(name)s” (%(region)s) is already listed: choose it as the external organisation.")
    if ExternalOrganisation.objects.filter(name=name, region=region).exists():
        raise StepRefused(listed % {"name": name, "region": region})
    organisation = ExternalOrganisation(
        name=name, region=region, contact_person=new.contact_person.strip(), phone=number
    )
    try:
        organisation.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as error:  # too long, say, in the named field
        raise _refused_naming(error.message_dict) from error
    organisation._history_user = actor
    try:
        with transaction.atomic():  # another secretary may add the same one at the same moment
            organisation.save()
    except IntegrityError as error:
        raise StepRefused(listed % {"name": name, "region": region}) from error
    return organisation


@transaction.atomic
def transfer_request(
    *,
    actor,
    member: Member,
    reason: str,
    to_organisation: Organisation | None = None,
    to_external: ExternalOrganisation | None = None,
    new_external: NewExternalOrganisation | None = None,
) -> RelationshipTransfer:
    """Ask for a transfer in one step: it goes to the reviewers at once (state "submitted").

    When the receiving organisation is not listed (`new_external`), it is added to the
    external organisations in the same transaction, so the reviewers see it with the transfer.
    """
    member = Member.objects.select_for_update().get(pk=member.pk)
    if new_external is not None and (to_organisation is not None or to_external is not None):
        raise StepRefused(_("Choose a listed organisation or enter a new one, not both."))
    # Checked before anything is written: a refused request adds no organisation either.
    _check_transfer_allowed(
        actor=actor,
        member=member,
        to_organisation=to_organisation,
        external=to_external is not None or new_external is not None,
    )
    note = ""
    if new_external is not None:
        to_external = _add_external_organisation(actor=actor, new=new_external)
        note = _("Receiving organisation added: %(organisation)s") % {"organisation": to_external}
    transfer = RelationshipTransfer.objects.create(
        member=member,
        from_branch=member.home_branch,
        to_organisation=to_organisation,
        to_external=to_external,
        reason=reason,
        state=RelationshipTransfer.State.SUBMITTED,
        requested_by=actor,
    )
    _event(transfer, TransferEvent.Action.SUBMITTED, actor, note[:200])
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
    signals.transfer_approved.send(sender=RelationshipTransfer, transfer=transfer, letter=letter)
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
    signals.letter_reissued.send(
        sender=RelationshipTransfer, transfer=transfer, letter=letter, replaces=old
    )
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
        signals.certificate_ended.send(sender=ActivityCertificate, certificate=certificate)
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
