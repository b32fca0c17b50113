"""Writes of partners/: registering a partner, putting messages in the outbox, and the
receiving branch's decision on an electronic letter (accept, or return with a reason).

What a partner's messages do when they arrive is in inbox.py; sending is in delivery.py.
"""

import secrets
from datetime import date

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from infrastructure.steps import StepRefused
from members import crypto
from members.models import (
    EvidenceBaseline,
    ExternalOrganisation,
    Member,
    Organisation,
    StaffAssignment,
)
from members.selectors import organisation_in_scope
from transfers import services as transfer_services
from transfers.models import ActivityCertificate, IntroductionLetter, RelationshipTransfer

from . import tasks
from .models import (
    IncomingCertificate,
    IncomingTransfer,
    Kind,
    OutgoingMessage,
    Partner,
    PartnerOrganisation,
)

# --- the registry -------------------------------------------------------------------------


@transaction.atomic
def partner_register(
    *,
    name: str,
    base_url: str,
    our_key_id: str,
    their_key_id: str,
    sending_secret: str,
    receiving_secret: str,
    organisation: Organisation,
) -> Partner:
    """A partner, and the account its steps are recorded under here: it cannot sign in, and
    it reviews `organisation` (the part of our tree whose transfers its receipts may close)."""
    if Partner.objects.filter(their_key_id=their_key_id).exists():
        raise StepRefused(_("A partner with this key id is already registered."))
    user = User(username=f"partner-{slugify(their_key_id)}"[:150], is_active=False)
    user.set_unusable_password()
    user.save()
    StaffAssignment.objects.create(
        user=user, organisation=organisation, role=StaffAssignment.Role.REVIEWER
    )
    return Partner.objects.create(
        name=name,
        base_url=base_url,
        our_key_id=our_key_id,
        their_key_id=their_key_id,
        sending_secret=sending_secret,
        receiving_secret=receiving_secret,
        user=user,
    )


def new_secret() -> str:
    return secrets.token_urlsafe(32)


@transaction.atomic
def partner_organisation_link(
    *, partner: Partner, name: str, region: str, remote_code: str
) -> PartnerOrganisation:
    """List a partner's branch as an external organisation: transfers to it go electronically."""
    external, _created = ExternalOrganisation.objects.get_or_create(name=name, region=region)
    link, _created = PartnerOrganisation.objects.update_or_create(
        external=external, defaults={"partner": partner, "remote_code": remote_code}
    )
    return link


# --- the outbox ---------------------------------------------------------------------------


def enqueue(
    *, partner: Partner, kind: str, body: dict, transfer: RelationshipTransfer | None = None
) -> OutgoingMessage:
    """Write the message in the caller's transaction; the task that sends it leaves after the
    commit. Should the task be lost, the sweep (delivery.due_message_ids) finds the row."""
    message = OutgoingMessage(partner=partner, kind=kind, transfer=transfer)
    message.body = body
    message.save()
    transaction.on_commit(lambda: tasks.deliver_message.delay(str(message.pk)))
    return message


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def letter_body(
    transfer: RelationshipTransfer, letter: IntroductionLetter, remote_code: str
) -> dict:
    """What the paper letter carries, and nothing more (no conduct, no alerts, no history)."""
    member, sender = transfer.member, transfer.from_branch
    return {
        "transfer_ref": str(transfer.pk),
        "letter": {
            "number": letter.number,
            "issued_on": _iso(letter.issued_on),
            "valid_days": letter.valid_days,
            "expires_on": _iso(letter.expires_on),
            "dues_paid_until": _iso(letter.dues_paid_until),
        },
        "member": {
            "name": member.name,
            "gender": member.gender,
            "ethnicity": member.ethnicity,
            "birth_date": _iso(member.birth_date),
            "national_id": member.national_id,
            "phone": member.phone,
            "category": member.category,
            "joined_on": _iso(member.joined_on),
            "confirmed_on": _iso(member.confirmed_on),
        },
        "from_organisation": {
            "name": sender.name,
            "region": sender.region,
            "phone": sender.phone,
            "address": sender.address,
        },
        "to_organisation": {"code": remote_code, "name": transfer.to_external.name},
    }


def on_transfer_approved(
    sender, *, transfer: RelationshipTransfer, letter, replaces=None, **kwargs
) -> None:
    """transfers.signals.transfer_approved (and letter_reissued, with the letter it replaces):
    a letter to a partner's branch goes electronically, in the approving or reissuing
    transaction (the printed letter stays available as the fallback)."""
    if transfer.to_external_id is None:
        return
    link = (
        PartnerOrganisation.objects.select_related("partner")
        .filter(external_id=transfer.to_external_id, partner__active=True)
        .first()
    )
    if link is None:
        return
    body = letter_body(transfer, letter, link.remote_code)
    if replaces is not None:
        body["replaces"] = replaces.number
    enqueue(partner=link.partner, kind=Kind.LETTER, body=body, transfer=transfer)


def certificate_body(certificate: ActivityCertificate, remote_code: str) -> dict:
    """What the paper certificate shows and nothing more: no ID number, phone or address."""
    member = certificate.member
    return {
        "number": certificate.number,
        "verify_code": certificate.verify_code,  # what its QR code carries
        "issued_on": _iso(certificate.issued_on),
        "reason": certificate.reason,
        "destination": certificate.destination,
        "issuing_branch": certificate.issuing_branch.name,
        "stamping_committee": certificate.stamping_committee.name,
        "replaces": certificate.reissue_of.number if certificate.reissue_of_id else None,
        "holder": {
            "name": member.name,
            "gender": member.gender,
            "ethnicity": member.ethnicity,
            "birth_date": _iso(member.birth_date),
            "joined_on": _iso(member.joined_on),
            "category": member.category,
        },
        "to_organisation": {"code": remote_code, "name": certificate.inflow_external.name},
    }


def _inflow_partner_link(certificate: ActivityCertificate) -> PartnerOrganisation | None:
    """The partner's branch a certificate names as its inflow side, if it names one."""
    if certificate.inflow_external_id is None:
        return None
    return (
        PartnerOrganisation.objects.select_related("partner")
        .filter(external_id=certificate.inflow_external_id, partner__active=True)
        .first()
    )


def on_certificate_issued(sender, *, certificate: ActivityCertificate, **kwargs) -> None:
    """transfers.signals.certificate_issued: an inflow side in a partner's deployment is told,
    in the issuing transaction (the printed certificate stays the fallback)."""
    link = _inflow_partner_link(certificate)
    if link is None:
        return
    enqueue(
        partner=link.partner,
        kind=Kind.CERTIFICATE_ISSUED,
        body=certificate_body(certificate, link.remote_code),
    )


def on_certificate_ended(sender, *, certificate: ActivityCertificate, **kwargs) -> None:
    """transfers.signals.certificate_ended: the partner's inflow side closes its copy (the
    member came home, was transferred, or lost it), so nobody registers on a dead number."""
    link = _inflow_partner_link(certificate)
    if link is None:
        return
    enqueue(
        partner=link.partner,
        kind=Kind.CERTIFICATE_ENDED,
        body={
            "number": certificate.number,
            "verify_code": certificate.verify_code,
            "status": certificate.status,
            "ended_on": _iso(certificate.ended_on),
        },
    )


# --- the receiving branch decides ---------------------------------------------------------


def _incoming_for_update(*, actor, incoming: IncomingTransfer) -> IncomingTransfer:
    incoming = IncomingTransfer.objects.select_for_update().get(pk=incoming.pk)
    if not organisation_in_scope(actor, incoming.to_organisation):
        raise StepRefused(_("Only the receiving organisation can decide on this letter."))
    if incoming.state != IncomingTransfer.State.PENDING:
        raise StepRefused(
            _("Not possible now: the letter is “%(state)s”.")
            % {"state": incoming.get_state_display()}
        )
    return incoming


def _member_for(incoming: IncomingTransfer) -> Member:
    """The member as the letter describes them; a member who once left us is taken back."""
    values = {
        "name": incoming.name,
        "gender": incoming.gender,
        "ethnicity": incoming.ethnicity,
        "birth_date": incoming.birth_date,
        "phone": incoming.phone,
        "category": incoming.category,
        "joined_on": incoming.joined_on,
        "confirmed_on": incoming.confirmed_on,
        "home_branch": incoming.to_organisation,
        "status": Member.Status.ACTIVE,
    }
    known = (
        Member.objects.select_for_update()
        .filter(national_id_digest__in=crypto.digests(incoming.national_id))
        .first()
    )
    if known is None:
        return Member(national_id=incoming.national_id, **values)
    if known.status != Member.Status.TRANSFERRED_OUT:
        raise StepRefused(
            _(
                "A member with this ID number is already registered in this deployment. Ask "
                "the county to settle it, or return the letter with the reason."
            )
        )
    for field, value in values.items():
        setattr(known, field, value)
    return known


@transaction.atomic
def incoming_accept(*, actor, incoming: IncomingTransfer, on: date) -> IncomingTransfer:
    """Register the member in the receiving branch, as an arrival with a letter, and send the
    receipt back in the same transaction."""
    incoming = _incoming_for_update(actor=actor, incoming=incoming)
    if on < incoming.issued_on:
        raise StepRefused(_("A letter cannot be accepted before it was issued."))
    if on > timezone.localdate():
        raise StepRefused(_("The day accepted cannot be in the future."))
    if on > incoming.expires_on:
        raise StepRefused(
            _("The introduction letter expired on %(date)s: return it and ask for a new one.")
            % {"date": incoming.expires_on.isoformat()}
        )
    member = _member_for(incoming)
    try:
        member.full_clean(exclude=["national_id_digest"], validate_unique=False)
    except Exception as error:  # noqa: BLE001 - told to the secretary as a refusal
        messages = getattr(error, "messages", [str(error)])
        raise StepRefused(
            [_("The letter's data cannot be registered: %(why)s") % {"why": m} for m in messages]
        ) from error
    sending_side, _created = ExternalOrganisation.objects.get_or_create(
        name=incoming.from_name[:100], region=(incoming.from_region or incoming.partner.name)[:100]
    )
    transfer_services.incoming_register(
        actor=actor,
        member=member,
        from_external=sending_side,
        letter_number=incoming.letter_number,
        arrived_on=on,
    )
    EvidenceBaseline.objects.update_or_create(
        member=member,
        defaults={
            "since": on,
            "dues_paid_to": incoming.dues_paid_until,
            "source": _("Introduction letter %(number)s") % {"number": incoming.letter_number},
        },
    )
    incoming.state, incoming.decided_on, incoming.decided_by = (
        IncomingTransfer.State.ACCEPTED,
        on,
        actor,
    )
    incoming.member = member
    incoming._history_user = actor
    incoming.save()
    enqueue(
        partner=incoming.partner,
        kind=Kind.RECEIPT,
        body={
            "transfer_ref": incoming.transfer_ref,
            "letter_number": incoming.letter_number,
            "accepted_on": on.isoformat(),
        },
    )
    return incoming


@transaction.atomic
def incoming_return(
    *, actor, incoming: IncomingTransfer, reason: str, on: date
) -> IncomingTransfer:
    """Send the letter back with the reason; nothing is registered here."""
    incoming = _incoming_for_update(actor=actor, incoming=incoming)
    reason = reason.strip()
    if not reason:
        raise StepRefused(_("Give the reason for returning the letter."))
    incoming.state, incoming.decided_on, incoming.decided_by = (
        IncomingTransfer.State.RETURNED,
        on,
        actor,
    )
    incoming.return_reason = reason[:200]
    incoming._history_user = actor
    incoming.save()
    enqueue(
        partner=incoming.partner,
        kind=Kind.RETURNED,
        body={
            "transfer_ref": incoming.transfer_ref,
            "letter_number": incoming.letter_number,
            "returned_on": on.isoformat(),
            "reason": incoming.return_reason,
        },
    )
    return incoming


# --- the inflow side writes on a partner's certificate ------------------------------------


def _certificate_for_update(
    *, actor, incoming: IncomingCertificate, state: str
) -> IncomingCertificate:
    incoming = IncomingCertificate.objects.select_for_update().get(pk=incoming.pk)
    if not organisation_in_scope(actor, incoming.to_organisation):
        raise StepRefused(_("Only the inflow organisation can write on this certificate."))
    if incoming.state != state:
        raise StepRefused(
            _("Not possible now: the certificate is “%(state)s”.")
            % {"state": incoming.get_state_display()}
        )
    return incoming


def _certificate_ref(incoming: IncomingCertificate) -> dict:
    return {"number": incoming.number, "verify_code": incoming.verify_code}


@transaction.atomic
def incoming_certificate_arrival(
    *, actor, incoming: IncomingCertificate, arrived_on: date, inflow_contact: str
) -> IncomingCertificate:
    """报到: the holder reported here; the issuing side records it as if written on paper."""
    incoming = _certificate_for_update(
        actor=actor, incoming=incoming, state=IncomingCertificate.State.ISSUED
    )
    if arrived_on < incoming.issued_on:
        raise StepRefused(_("The arrival cannot be before the certificate was issued."))
    if arrived_on > timezone.localdate():
        raise StepRefused(_("The day of arrival cannot be in the future."))
    incoming.state = IncomingCertificate.State.ARRIVED
    incoming.arrived_on, incoming.inflow_contact = arrived_on, inflow_contact.strip()[:100]
    incoming._history_user = actor
    incoming.save()
    enqueue(
        partner=incoming.partner,
        kind=Kind.CERTIFICATE_ARRIVAL,
        body={
            **_certificate_ref(incoming),
            "arrived_on": arrived_on.isoformat(),
            "contact": incoming.inflow_contact,
        },
    )
    return incoming


@transaction.atomic
def incoming_certificate_departure(
    *,
    actor,
    incoming: IncomingCertificate,
    departed_on: date,
    participation: str,
    dues: str,
) -> IncomingCertificate:
    """离开: the date, the organisational life taken part in and the dues paid here."""
    incoming = _certificate_for_update(
        actor=actor, incoming=incoming, state=IncomingCertificate.State.ARRIVED
    )
    if departed_on < incoming.arrived_on:
        raise StepRefused(_("The departure cannot be before the arrival."))
    if departed_on > timezone.localdate():
        raise StepRefused(_("The day of departure cannot be in the future."))
    incoming.state = IncomingCertificate.State.DEPARTED
    incoming.departed_on = departed_on
    incoming.departure_participation = participation.strip()
    incoming.departure_dues = dues.strip()[:200]
    incoming._history_user = actor
    incoming.save()
    enqueue(
        partner=incoming.partner,
        kind=Kind.CERTIFICATE_DEPARTURE,
        body={
            **_certificate_ref(incoming),
            "departed_on": departed_on.isoformat(),
            "participation": incoming.departure_participation,
            "dues": incoming.departure_dues,
        },
    )
    return incoming
