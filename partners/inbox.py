"""What a partner's message does here. Each is kept once by its id, in the transaction of what
it does: a second delivery of the same id is answered "duplicate" and changes nothing.

A message refused (an unknown branch, a letter no longer live) is not kept, and the answer
says why (HTTP 422): the sender stops retrying and its administrator sees the reason.
"""

import json
import uuid
from datetime import date

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from infrastructure.steps import StepRefused
from members import national_id
from members.models import Organisation
from members.services import evidence_changed
from transfers import services as transfer_services
from transfers.models import (
    ActivityCertificate,
    IntroductionLetter,
    RelationshipTransfer,
    TransferEvent,
)

from . import signing
from .models import IncomingCertificate, IncomingMessage, IncomingTransfer, Kind, Partner


class Refused(Exception):
    """A message that is well signed but cannot be acted on; not retried."""


def receive(*, key_id: str, timestamp: str, given: str, raw: bytes) -> tuple[int, dict]:
    """Check, keep and act on one delivery; the HTTP status and the answer's JSON."""
    partner = Partner.objects.filter(their_key_id=key_id, active=True).first()
    if partner is None or not signing.verify(
        secret=partner.receiving_secret, timestamp=timestamp, given=given, body=raw
    ):
        return 401, {"error": "signature"}
    try:
        envelope = json.loads(raw)
        message_id = uuid.UUID(envelope["id"])
        kind, body = envelope["kind"], envelope["body"]
        if kind not in Kind.values or not isinstance(body, dict):
            raise ValueError(kind)
    except (ValueError, KeyError, TypeError):
        return 400, {"error": "malformed"}
    try:
        with transaction.atomic():
            # One message of a partner at a time: after an outage the sweep sends many at once,
            # and a letter and its reissue, or a certificate and its end, must not interleave.
            Partner.objects.select_for_update().filter(pk=partner.pk).first()
            record = IncomingMessage(partner=partner, message_id=message_id, kind=kind)
            record.body = body
            try:
                with transaction.atomic():
                    record.save()
            except IntegrityError:  # delivered before (or this very moment, by a retry)
                return 200, {"status": "duplicate", "id": str(message_id)}
            record.outcome = HANDLERS[kind](partner=partner, body=body)[:300]
            record.save(update_fields=["outcome"])
    except (Refused, StepRefused, ValidationError, KeyError, ValueError, TypeError) as error:
        reason = "; ".join(getattr(error, "messages", None) or [str(error)])
        return 422, {"error": reason[:300]}
    return 200, {"status": "accepted", "id": str(message_id), "outcome": record.outcome}


def _day(value) -> date | None:
    return date.fromisoformat(value) if value else None


def _letter(*, partner: Partner, body: dict) -> str:
    letter, member = body["letter"], body["member"]
    code = body["to_organisation"]["code"]
    branches = Organisation.objects.filter(code=code, kind__in=Organisation.MEMBER_KINDS)
    if len(branches) != 1:
        raise Refused(_("No branch here has the code %(code)s.") % {"code": code})
    if IncomingTransfer.objects.filter(partner=partner, letter_number=letter["number"]).exists():
        return "letter already here"
    # One incoming transfer per transfer of theirs: a reissued letter (the first expired) and
    # the first may arrive in either order, or after this side has decided.
    earlier = (
        IncomingTransfer.objects.select_for_update()
        .filter(partner=partner, transfer_ref=str(body["transfer_ref"])[:40])
        .order_by("-received_at")
        .first()
    )
    if earlier is not None:
        answer = _another_letter(partner=partner, earlier=earlier, body=body)
        if answer is not None:
            return answer
    sender = body["from_organisation"]
    incoming = IncomingTransfer(
        partner=partner,
        transfer_ref=str(body["transfer_ref"])[:40],
        letter_number=letter["number"],
        to_organisation=branches[0],
        from_name=sender["name"][:100],
        from_region=(sender.get("region") or "")[:100],
        from_phone=(sender.get("phone") or "")[:30],
        from_address=(sender.get("address") or "")[:200],
        issued_on=_day(letter["issued_on"]),
        valid_days=int(letter["valid_days"]),
        expires_on=_day(letter["expires_on"]),
        dues_paid_until=_day(letter["dues_paid_until"]),
        name=member["name"],
        gender=member["gender"],
        ethnicity=member.get("ethnicity") or "",
        birth_date=_day(member["birth_date"]),
        national_id=national_id.validate(member["national_id"]),
        phone=member.get("phone") or "",
        category=member["category"],
        joined_on=_day(member["joined_on"]),
        confirmed_on=_day(member.get("confirmed_on")),
    )
    incoming.full_clean(exclude=["to_organisation", "partner"])
    incoming._history_user = partner.user
    incoming.save()
    return f"letter {incoming.letter_number} for {branches[0].pk}"


def _another_letter(*, partner: Partner, earlier: IncomingTransfer, body: dict) -> str | None:
    """A second letter for a transfer already here. Its answer, or None for a new incoming
    transfer (a letter approved again after this side returned the first).

    A newer letter's number and dates replace a letter still waiting; an older one changes
    nothing. After the member was accepted, nothing changes (the receipt went back). After a
    return, a reissue of the returned letter changes nothing (the return voids it there), but
    a letter approved anew is a new request to decide."""
    letter = body["letter"]
    issued_on = _day(letter["issued_on"])
    if issued_on <= earlier.issued_on:
        return f"an older letter; {earlier.letter_number} is here"
    if earlier.state == IncomingTransfer.State.RETURNED:
        if body.get("replaces") == earlier.letter_number:
            return f"the reissue of returned letter {earlier.letter_number}"
        return None
    if earlier.state != IncomingTransfer.State.PENDING:
        return f"transfer already {earlier.state} here (letter {earlier.letter_number})"
    old_number = earlier.letter_number
    earlier.letter_number = letter["number"]
    earlier.issued_on = issued_on
    earlier.valid_days = int(letter["valid_days"])
    earlier.expires_on = _day(letter["expires_on"])
    earlier.full_clean(exclude=["to_organisation", "partner", "member"])
    earlier._history_user = partner.user
    earlier.save()
    return f"letter {earlier.letter_number} replaces {old_number}"


def _certificate_issued(*, partner: Partner, body: dict) -> str:
    """A certificate naming a branch (or outpost) here as its inflow side: kept as the paper
    shows it, for that organisation to register the arrival and the departure."""
    code = body["to_organisation"]["code"]
    hosts = Organisation.objects.filter(
        code=code, kind__in=(*Organisation.MEMBER_KINDS, Organisation.Kind.OUTPOST)
    )
    if len(hosts) != 1:
        raise Refused(_("No organisation here has the code %(code)s.") % {"code": code})
    if IncomingCertificate.objects.filter(partner=partner, number=body["number"]).exists():
        return "certificate already here"
    holder = body["holder"]
    incoming = IncomingCertificate(
        partner=partner,
        number=body["number"],
        verify_code=body["verify_code"],
        to_organisation=hosts[0],
        name=holder["name"],
        gender=holder["gender"],
        ethnicity=holder.get("ethnicity") or "",
        birth_date=_day(holder["birth_date"]),
        joined_on=_day(holder["joined_on"]),
        category=holder["category"],
        issuing_branch=str(body["issuing_branch"])[:100],
        stamping_committee=str(body["stamping_committee"])[:100],
        issued_on=_day(body["issued_on"]),
        reason=str(body.get("reason") or "")[:200],
        destination=str(body.get("destination") or "")[:200],
        replaces=str(body.get("replaces") or "")[:30],
    )
    incoming.full_clean(exclude=["to_organisation", "partner"])
    incoming._history_user = partner.user
    incoming.save()
    if incoming.replaces:  # reissued after a loss: the old number no longer verifies
        for old in IncomingCertificate.objects.filter(partner=partner, number=incoming.replaces):
            old.state, old._history_user = IncomingCertificate.State.REPLACED, partner.user
            old.save(update_fields=["state"])
    _closed_before_it_came(partner=partner, incoming=incoming)
    return f"certificate {incoming.number} for {hosts[0].pk}"


def _our_transfer(
    *, partner: Partner, body: dict
) -> tuple[RelationshipTransfer, IntroductionLetter]:
    """Our transfer to this partner that the message names, with its letter, both locked."""
    transfer = (
        RelationshipTransfer.objects.select_for_update()
        .filter(pk=int(body["transfer_ref"]), to_external__partner_link__partner=partner)
        .first()
    )
    letter = (
        transfer
        and transfer.letters.select_for_update().filter(number=body["letter_number"]).first()
    )
    if transfer is None or letter is None:
        raise Refused(_("No transfer to you with this letter."))
    return transfer, letter


def _live(transfer: RelationshipTransfer, letter: IntroductionLetter) -> bool:
    """The partner answered a letter it could still act on: the live one, or the one a
    reissue replaced while their answer was on its way (their decision on the member stands);
    never a letter a return voided."""
    if transfer.state != RelationshipTransfer.State.APPROVED:
        return False
    if letter.state == IntroductionLetter.State.ISSUED:
        return True
    return letter.state == IntroductionLetter.State.SUPERSEDED and _reissued_from(transfer, letter)


def _reissued_from(transfer: RelationshipTransfer, letter: IntroductionLetter) -> bool:
    """The live letter is the reissue of `letter` (the one just before it, replaced by
    `letter_reissue`), not a letter approved anew after a return."""
    live = transfer.letters.filter(state=IntroductionLetter.State.ISSUED).order_by("-pk").first()
    if live is None:
        return False
    before = transfer.letters.filter(pk__lt=live.pk).order_by("-pk").first()
    return (
        before is not None
        and before.pk == letter.pk
        and transfer.events.filter(
            action=TransferEvent.Action.LETTER_REISSUED, note=live.number
        ).exists()
    )


def _receipt(*, partner: Partner, body: dict) -> str:
    """The member was accepted there: the transfer is completed by the existing receipt path."""
    transfer, letter = _our_transfer(partner=partner, body=body)
    if transfer.state == RelationshipTransfer.State.COMPLETED:
        return "already completed"  # the paper receipt came first
    if not _live(transfer, letter):
        raise Refused(_("This letter is no longer valid here."))
    if letter.state == IntroductionLetter.State.SUPERSEDED:
        # Accepted on the letter a reissue replaced: that letter was used, the reissue is void.
        transfer.letters.filter(state=IntroductionLetter.State.ISSUED).update(
            state=IntroductionLetter.State.SUPERSEDED
        )
        letter.state = IntroductionLetter.State.ISSUED
        letter.save(update_fields=["state"])
    on = _day(body["accepted_on"])
    if letter.received_on is None:  # accepting there is receiving the letter
        transfer_services.letter_record_received(
            actor=partner.user, transfer=transfer, received_on=on
        )
    transfer_services.transfer_record_receipt(actor=partner.user, transfer=transfer, returned_on=on)
    return "completed"


def _returned(*, partner: Partner, body: dict) -> str:
    """The letter came back with a reason: it is void, and the transfer goes back to the
    reviewers, who approve again (a new letter) or reject it, as for a returned paper letter."""
    transfer, letter = _our_transfer(partner=partner, body=body)
    if not _live(transfer, letter):
        return "nothing to reopen"
    reason = str(body.get("reason", ""))
    note = (
        _("Letter %(number)s returned: %(reason)s") % {"number": letter.number, "reason": reason}
    )[:200]
    transfer.letters.filter(state=IntroductionLetter.State.ISSUED).update(
        state=IntroductionLetter.State.SUPERSEDED  # a reissue that crossed the return too
    )
    transfer.state, transfer.decision_note = RelationshipTransfer.State.SUBMITTED, note
    transfer.save(update_fields=["state", "decision_note"])
    TransferEvent.objects.create(
        transfer=transfer, action=TransferEvent.Action.SUBMITTED, actor=partner.user, note=note
    )
    evidence_changed(member_ids=[transfer.member_id])
    return "reopened"


def _our_certificate(*, partner: Partner, body: dict) -> ActivityCertificate:
    """A certificate whose inflow side is this partner, named by its number and the code of its
    QR (the holder shows the paper certificate there)."""
    certificate = ActivityCertificate.objects.filter(
        number=body["number"],
        verify_code=body["verify_code"],
        inflow_external__partner_link__partner=partner,
    ).first()
    if certificate is None:
        raise Refused(_("No certificate with this number and code has you as the inflow side."))
    return certificate


def _certificate_arrival(*, partner: Partner, body: dict) -> str:
    transfer_services.certificate_register_arrival(
        actor=partner.user,
        certificate=_our_certificate(partner=partner, body=body),
        arrived_on=_day(body["arrived_on"]),
        inflow_contact=str(body.get("contact", ""))[:100],
    )
    return "arrival recorded"


def _certificate_departure(*, partner: Partner, body: dict) -> str:
    transfer_services.certificate_record_departure(
        actor=partner.user,
        certificate=_our_certificate(partner=partner, body=body),
        departed_on=_day(body["departed_on"]),
        participation=str(body.get("participation", "")),
        dues=str(body.get("dues", ""))[:200],
    )
    return "departure recorded"


def _certificate_ended(*, partner: Partner, body: dict) -> str:
    """The issuing side ended a certificate it told us of: our copy closes (a reissue's
    `replaces` may have closed it first)."""
    reason = body["status"]
    if reason not in ENDINGS:
        raise ValueError(reason)
    ended_on = _day(body["ended_on"])
    incoming = (
        IncomingCertificate.objects.select_for_update()
        .filter(partner=partner, number=body["number"])
        .first()
    )
    if incoming is None:  # overtook the certificate itself: kept here, applied when it comes
        return EARLY_END.format(number=body["number"])
    if incoming.verify_code != body["verify_code"]:
        raise Refused(_("No certificate with this number and code came from you."))
    if incoming.state in (IncomingCertificate.State.ENDED, IncomingCertificate.State.REPLACED):
        return "certificate already closed"
    _close(incoming, ended_on=ended_on, reason=reason, user=partner.user)
    return f"certificate {incoming.number} ended ({reason})"


EARLY_END = "ended before it arrived: {number}"  # the kept message's outcome, looked up later


def _close(incoming: IncomingCertificate, *, ended_on, reason: str, user) -> None:
    incoming.state = IncomingCertificate.State.ENDED
    incoming.ended_on, incoming.end_reason = ended_on, reason
    incoming._history_user = user
    incoming.save(update_fields=["state", "ended_on", "end_reason"])


def _closed_before_it_came(*, partner: Partner, incoming: IncomingCertificate) -> None:
    """Messages that overtook this certificate: its end, or a reissue replacing it."""
    if IncomingCertificate.objects.filter(partner=partner, replaces=incoming.number).exists():
        incoming.state, incoming._history_user = IncomingCertificate.State.REPLACED, partner.user
        incoming.save(update_fields=["state"])
        return
    early = IncomingMessage.objects.filter(
        partner=partner,
        kind=Kind.CERTIFICATE_ENDED,
        outcome=EARLY_END.format(number=incoming.number),
    ).first()
    if early is not None and early.body["verify_code"] == incoming.verify_code:
        body = early.body
        _close(incoming, ended_on=_day(body["ended_on"]), reason=body["status"], user=partner.user)


ENDINGS = (
    ActivityCertificate.Status.RETURNED,
    ActivityCertificate.Status.CANCELLED,
    ActivityCertificate.Status.LOST,
)

HANDLERS = {
    Kind.LETTER: _letter,
    Kind.RECEIPT: _receipt,
    Kind.RETURNED: _returned,
    Kind.CERTIFICATE_ISSUED: _certificate_issued,
    Kind.CERTIFICATE_ARRIVAL: _certificate_arrival,
    Kind.CERTIFICATE_DEPARTURE: _certificate_departure,
    Kind.CERTIFICATE_ENDED: _certificate_ended,
}
