"""Issue #20: transfers between deployments — the outbox, the signed inbox, the receiving
branch's decision, and what a receipt or a return does to the sending side's transfer.

Both sides live in one test database here: partner "B" is who side A sends to, partner "A" is
who side B receives from (tests/test_two_deployments.py runs two real deployments).
"""

import json
import random
import urllib.error
import uuid
from datetime import date, timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from infrastructure.steps import StepRefused
from members.demo import make_national_id
from members.models import Member, StaffAssignment
from partners import delivery, inbox, services, signing
from partners.models import IncomingMessage, IncomingTransfer, Kind, OutgoingMessage
from transfers import services as transfer_services
from transfers.models import IntroductionLetter, RelationshipTransfer

TODAY = timezone.localdate()


def _approved(county, link, member=None) -> tuple[RelationshipTransfer, IntroductionLetter]:
    member = member or county.member(county.branch_a)
    secretary = county.secretary(county.branch_a, f"sec-{member.pk}")
    transfer = transfer_services.transfer_request(
        actor=secretary, member=member, reason="工作调动", to_external=link.external
    )
    reviewer = county.reviewer(county.township_a, f"rev-{member.pk}")
    letter = transfer_services.transfer_approve(
        actor=reviewer,
        transfer=transfer,
        issued_on=TODAY,
        valid_days=30,
        dues_paid_until=date(TODAY.year, 1, 1),
    )
    return transfer, letter


def _post(client, *, key: str, secret: str, kind: str, body: dict, message_id=None, now=None):
    raw = json.dumps({"id": str(message_id or uuid.uuid4()), "kind": kind, "body": body}).encode()
    headers = signing.signed_headers(key_id=key, secret=secret, body=raw, now=now)
    return client.post(
        reverse("partners:inbox"), data=raw, content_type="application/json", headers=headers
    )


def _letter_body(number="A-2025-J0001", national_id=None) -> dict:
    born = date(1990, 5, 6)
    return {
        "transfer_ref": "17",
        "letter": {
            "number": number,
            "issued_on": TODAY.isoformat(),
            "valid_days": 30,
            "expires_on": (TODAY + timedelta(days=30)).isoformat(),
            "dues_paid_until": date(TODAY.year, 1, 1).isoformat(),
        },
        "member": {
            "name": "李四",
            "gender": "F",
            "ethnicity": "汉族",
            "birth_date": born.isoformat(),
            "national_id": national_id or make_national_id(random.Random(3), born, False),
            "phone": "13900139000",
            "category": "full",
            "joined_on": "2015-07-01",
            "confirmed_on": "2016-07-01",
        },
        "from_organisation": {"name": "甲村党支部", "region": "甲省", "phone": "", "address": ""},
        "to_organisation": {"code": "B1", "name": "乙村党支部"},
    }


def test_approving_a_transfer_to_a_partner_branch_queues_the_letter_with_only_its_data(sides):
    county, to_b, _from_a, link = sides
    member = county.member(county.branch_a, name="王五")
    transfer, letter = _approved(county, link, member)

    message = OutgoingMessage.objects.get()
    assert (message.partner, message.kind, message.transfer) == (to_b, Kind.LETTER, transfer)
    assert message.status == OutgoingMessage.Status.QUEUED
    body = message.body
    assert set(body) == {"transfer_ref", "letter", "member", "from_organisation", "to_organisation"}
    assert set(body["member"]) == {
        "name", "gender", "ethnicity", "birth_date", "national_id", "phone",
        "category", "joined_on", "confirmed_on",
    }  # fmt: skip
    assert body["member"]["national_id"] == member.national_id
    assert body["letter"]["number"] == letter.number
    assert body["to_organisation"]["code"] == "B1"
    assert "reason" not in json.dumps(body)
    # At rest the body (with the ID number) is encrypted.
    with connection.cursor() as cursor:
        cursor.execute("SELECT body_json FROM partners_outgoingmessage")
        (stored,) = cursor.fetchone()
    assert member.national_id not in stored and "王五" not in stored


def test_approving_a_transfer_to_an_ordinary_external_organisation_sends_nothing(sides):
    county, _to_b, _from_a, _link = sides
    other = services.ExternalOrganisation.objects.create(name="丁村党支部", region="丁省")
    member = county.member(county.branch_a)
    transfer = transfer_services.transfer_request(
        actor=county.secretary(county.branch_a), member=member, reason="x", to_external=other
    )
    transfer_services.transfer_approve(
        actor=county.reviewer(county.township_a),
        transfer=transfer,
        issued_on=TODAY,
        valid_days=30,
        dues_paid_until=TODAY,
    )
    assert not OutgoingMessage.objects.exists()


def test_the_inbox_refuses_a_wrong_signature_an_old_timestamp_and_an_unknown_key(client, sides):
    body = _letter_body()
    wrong = _post(client, key="a", secret="guess", kind="letter", body=body)
    old = _post(client, key="a", secret="a-to-b", kind="letter", body=body, now=1_000_000)
    unknown = _post(client, key="z", secret="a-to-b", kind="letter", body=body)
    assert [wrong.status_code, old.status_code, unknown.status_code] == [401, 401, 401]
    assert not IncomingMessage.objects.exists() and not IncomingTransfer.objects.exists()


def test_a_letter_delivered_twice_is_kept_once_and_the_duplicate_acknowledged(client, sides):
    county, _to_b, from_a, _link = sides
    message_id = uuid.uuid4()
    first = _post(
        client, key="a", secret="a-to-b", kind="letter", body=_letter_body(), message_id=message_id
    )
    again = _post(
        client, key="a", secret="a-to-b", kind="letter", body=_letter_body(), message_id=message_id
    )
    assert (first.status_code, first.json()["status"]) == (200, "accepted")
    assert (again.status_code, again.json()["status"]) == (200, "duplicate")
    incoming = IncomingTransfer.objects.get()
    assert (incoming.partner, incoming.to_organisation) == (from_a, county.branch_b)
    assert IncomingMessage.objects.count() == 1


def test_a_letter_for_a_code_nobody_has_is_refused_and_not_kept(client, sides):
    body = _letter_body()
    body["to_organisation"]["code"] = "NOPE"
    response = _post(client, key="a", secret="a-to-b", kind="letter", body=body)
    assert response.status_code == 422 and "NOPE" in response.json()["error"]
    assert not IncomingMessage.objects.exists()


def _received(client, county) -> IncomingTransfer:
    assert (
        _post(client, key="a", secret="a-to-b", kind="letter", body=_letter_body()).status_code
        == 200
    )
    return IncomingTransfer.objects.get()


def test_the_receiving_secretary_accepts_and_the_member_is_registered_with_a_receipt_queued(
    client, sides
):
    county, _to_b, from_a, _link = sides
    incoming = _received(client, county)
    secretary = county.secretary(county.branch_b)
    client.force_login(secretary)
    assert client.get(reverse("partners:incoming_list")).status_code == 200
    response = client.post(
        reverse("partners:incoming_accept", args=[incoming.pk]), {"on": TODAY.isoformat()}
    )
    assert response.status_code == 302
    incoming.refresh_from_db()
    member = Member.objects.get(name="李四")
    assert (incoming.state, incoming.member) == (IncomingTransfer.State.ACCEPTED, member)
    assert (member.home_branch, member.status) == (county.branch_b, Member.Status.ACTIVE)
    arrival = RelationshipTransfer.objects.get(member=member)
    assert arrival.direction == RelationshipTransfer.Direction.INCOMING
    assert member.baseline.dues_paid_to == date(TODAY.year, 1, 1)
    receipt = OutgoingMessage.objects.get(kind=Kind.RECEIPT)
    assert receipt.partner == from_a
    assert receipt.body["letter_number"] == incoming.letter_number
    # Twice is refused; nothing more is written.
    again = client.post(
        reverse("partners:incoming_accept", args=[incoming.pk]), {"on": TODAY.isoformat()}
    )
    assert again.status_code == 200 and Member.objects.filter(name="李四").count() == 1


def test_another_branch_neither_sees_nor_decides_the_letter(client, sides):
    county, *_ = sides
    incoming = _received(client, county)
    client.force_login(county.secretary(county.branch_a))
    assert client.get(reverse("partners:incoming_detail", args=[incoming.pk])).status_code == 404
    response = client.post(
        reverse("partners:incoming_accept", args=[incoming.pk]), {"on": TODAY.isoformat()}
    )
    assert response.status_code == 404
    assert not Member.objects.filter(name="李四").exists()


def test_returning_the_letter_needs_a_reason_and_sends_it_back(client, sides):
    county, *_ = sides
    incoming = _received(client, county)
    secretary = county.secretary(county.branch_b)
    with pytest.raises(services.StepRefused):
        services.incoming_return(actor=secretary, incoming=incoming, reason=" ", on=TODAY)
    services.incoming_return(actor=secretary, incoming=incoming, reason="查无此人", on=TODAY)
    incoming.refresh_from_db()
    assert incoming.state == IncomingTransfer.State.RETURNED
    assert OutgoingMessage.objects.get(kind=Kind.RETURNED).body["reason"] == "查无此人"
    assert not Member.objects.filter(name="李四").exists()


def test_a_receipt_closes_the_transfer_and_the_member_is_transferred_out_once(client, sides):
    county, _to_b, _from_a, link = sides
    transfer, letter = _approved(county, link)
    body = {
        "transfer_ref": str(transfer.pk),
        "letter_number": letter.number,
        "accepted_on": TODAY.isoformat(),
    }
    message_id = uuid.uuid4()
    first = _post(
        client, key="b", secret="b-to-a", kind="receipt", body=body, message_id=message_id
    )
    again = _post(
        client, key="b", secret="b-to-a", kind="receipt", body=body, message_id=message_id
    )
    assert first.json()["status"] == "accepted" and again.json()["status"] == "duplicate"
    transfer.refresh_from_db()
    letter.refresh_from_db()
    assert transfer.state == RelationshipTransfer.State.COMPLETED
    assert (letter.state, letter.received_on, letter.receipt_returned_on) == ("used", TODAY, TODAY)
    assert transfer.member.status == Member.Status.TRANSFERRED_OUT
    assert transfer.events.filter(action="receipt_returned").count() == 1


def test_a_receipt_from_another_partner_is_refused(client, sides):
    county, *_rest, link = sides
    transfer, letter = _approved(county, link)
    body = {
        "transfer_ref": str(transfer.pk),
        "letter_number": letter.number,
        "accepted_on": TODAY.isoformat(),
    }
    response = _post(client, key="a", secret="a-to-b", kind="receipt", body=body)
    assert response.status_code == 422
    transfer.refresh_from_db()
    assert transfer.state == RelationshipTransfer.State.APPROVED


def test_a_returned_letter_sends_the_transfer_back_to_the_reviewers(client, sides):
    county, *_rest, link = sides
    transfer, letter = _approved(county, link)
    body = {
        "transfer_ref": str(transfer.pk),
        "letter_number": letter.number,
        "returned_on": TODAY.isoformat(),
        "reason": "查无此人",
    }
    assert _post(client, key="b", secret="b-to-a", kind="returned", body=body).status_code == 200
    transfer.refresh_from_db()
    letter.refresh_from_db()
    assert transfer.state == RelationshipTransfer.State.SUBMITTED
    assert "查无此人" in transfer.decision_note
    assert letter.state == IntroductionLetter.State.SUPERSEDED
    assert transfer.member.status == Member.Status.ACTIVE
    # Approved again: a new letter goes out.
    transfer_services.transfer_approve(
        actor=county.reviewer(county.county, "rev-county"),
        transfer=transfer,
        issued_on=TODAY,
        valid_days=30,
        dues_paid_until=TODAY,
    )
    assert OutgoingMessage.objects.filter(kind=Kind.LETTER, transfer=transfer).count() == 2


def test_an_unreachable_partner_keeps_the_message_queued_for_later(sides, monkeypatch):
    county, *_rest, link = sides
    _approved(county, link)
    message = OutgoingMessage.objects.get()

    def down(request, timeout):
        raise urllib.error.URLError("connection refused")

    monkeypatch.setattr(delivery.urllib.request, "urlopen", down)
    with pytest.raises(delivery.PartnerUnreachable):
        delivery.deliver(str(message.pk))
    message.refresh_from_db()
    assert (message.status, message.attempts) == (OutgoingMessage.Status.QUEUED, 1)
    assert "refused" in message.last_error
    assert message.next_try_at > timezone.now()
    assert delivery.due_message_ids() == []
    assert delivery.due_message_ids(now=message.next_try_at) == [str(message.pk)]


def test_delivery_through_the_inbox_marks_the_message_sent_and_a_resend_sends_nothing(
    client, sides, monkeypatch
):
    """Side A's letter goes through the real inbox view (the same database plays side B)."""
    county, *_rest, link = sides
    transfer, letter = _approved(county, link)
    message = OutgoingMessage.objects.get()
    posted = []

    def through_the_inbox(message):
        raw = delivery.envelope(message)
        headers = signing.signed_headers(key_id="a", secret="a-to-b", body=raw)
        posted.append(message.pk)
        response = client.post(
            reverse("partners:inbox"), data=raw, content_type="application/json", headers=headers
        )
        return response.status_code, response.content.decode()

    monkeypatch.setattr(delivery, "_post", through_the_inbox)
    assert delivery.deliver(str(message.pk)) == OutgoingMessage.Status.SENT
    assert delivery.deliver(str(message.pk)) == OutgoingMessage.Status.SENT
    assert posted == [message.pk]
    incoming = IncomingTransfer.objects.get()
    assert (incoming.letter_number, incoming.national_id) == (
        letter.number,
        transfer.member.national_id,
    )


def test_a_refusal_is_kept_with_the_reason_and_not_retried(sides, monkeypatch):
    county, *_rest, link = sides
    _approved(county, link)
    message = OutgoingMessage.objects.get()
    monkeypatch.setattr(delivery, "_post", lambda m: (422, '{"error": "No branch here"}'))
    assert delivery.deliver(str(message.pk)) == OutgoingMessage.Status.REFUSED
    message.refresh_from_db()
    assert message.last_error == "422: No branch here"
    assert delivery.due_message_ids(now=timezone.now() + timedelta(days=1)) == []


def test_the_partner_account_cannot_sign_in(client, sides):
    _county, to_b, *_ = sides
    user = to_b.user
    assert not user.is_active and not user.has_usable_password()
    assert user.assignment.role == StaffAssignment.Role.REVIEWER
    assert inbox.Partner.objects.get(pk=to_b.pk).sending_secret == "a-to-b"


def _expired(county, link, tag: str):
    """A transfer to the partner approved 40 days ago with a letter valid for 30: (transfer,
    its reviewer, the expired letter)."""
    transfer = transfer_services.transfer_request(
        actor=county.secretary(county.branch_a, f"sec-{tag}"),
        member=county.member(county.branch_a),
        reason="工作调动",
        to_external=link.external,
    )
    reviewer = county.reviewer(county.township_a, f"rev-{tag}")
    old = transfer_services.transfer_approve(
        actor=reviewer,
        transfer=transfer,
        issued_on=TODAY - timedelta(days=40),
        valid_days=30,
        dues_paid_until=date(TODAY.year, 1, 1),
    )
    return transfer, reviewer, old


def test_a_reissued_letter_travels_and_the_waiting_letter_takes_its_number_and_dates(client, sides):
    """The first letter expired before the receiving branch acted: the reissue goes
    electronically too, the letter waiting there takes the new number and validity (one
    letter, not two), and the receipt for the new number closes the transfer."""
    county, *_rest, link = sides
    transfer, reviewer, old = _expired(county, link, "reissue")
    first = OutgoingMessage.objects.get(kind=Kind.LETTER)
    assert "replaces" not in first.body
    _post(client, key="a", secret="a-to-b", kind="letter", body=first.body)
    waiting = IncomingTransfer.objects.get()
    with pytest.raises(StepRefused, match=old.expires_on.isoformat()):
        services.incoming_accept(
            actor=county.secretary(county.branch_b), incoming=waiting, on=TODAY
        )

    new = transfer_services.letter_reissue(
        actor=reviewer, transfer=transfer, issued_on=TODAY, valid_days=30
    )
    second = OutgoingMessage.objects.filter(kind=Kind.LETTER).exclude(pk=first.pk).get()
    assert second.body["replaces"] == old.number
    assert second.body["letter"]["number"] == new.number
    answer = _post(client, key="a", secret="a-to-b", kind="letter", body=second.body).json()
    assert answer["outcome"] == f"letter {new.number} replaces {old.number}"
    waiting = IncomingTransfer.objects.get()
    assert (waiting.letter_number, waiting.issued_on, waiting.expires_on) == (
        new.number,
        TODAY,
        new.expires_on,
    )
    assert waiting.state == IncomingTransfer.State.PENDING

    receipt = {
        "transfer_ref": str(transfer.pk),
        "letter_number": new.number,
        "accepted_on": TODAY.isoformat(),
    }
    assert _post(client, key="b", secret="b-to-a", kind="receipt", body=receipt).status_code == 200
    transfer.refresh_from_db()
    assert transfer.state == RelationshipTransfer.State.COMPLETED


def _reissued(county, link, tag: str):
    """A transfer whose first letter expired unused and was reissued today: (transfer, old,
    new, the first letter's message body, the reissue's)."""
    transfer, reviewer, old = _expired(county, link, tag)
    new = transfer_services.letter_reissue(
        actor=reviewer, transfer=transfer, issued_on=TODAY, valid_days=30
    )
    first, second = OutgoingMessage.objects.filter(kind=Kind.LETTER).order_by("created_at")
    return transfer, old, new, first.body, second.body


def test_the_reissued_letter_arriving_first_is_not_undone_by_the_older_one(client, sides):
    county, *_rest, link = sides
    _transfer, old, new, first, second = _reissued(county, link, "order")
    _post(client, key="a", secret="a-to-b", kind="letter", body=second)
    answer = _post(client, key="a", secret="a-to-b", kind="letter", body=first).json()
    assert answer["outcome"] == f"an older letter; {new.number} is here"
    waiting = IncomingTransfer.objects.get()
    assert (waiting.letter_number, waiting.expires_on) == (new.number, new.expires_on)


def test_a_reissue_after_the_receiving_side_accepted_adds_no_second_letter(client, sides):
    county, *_rest, link = sides
    _transfer, old, _new, first, second = _reissued(county, link, "decided")
    _post(client, key="a", secret="a-to-b", kind="letter", body=first)
    IncomingTransfer.objects.update(state=IncomingTransfer.State.ACCEPTED)
    answer = _post(client, key="a", secret="a-to-b", kind="letter", body=second).json()
    assert answer["outcome"] == f"transfer already accepted here (letter {old.number})"
    assert IncomingTransfer.objects.count() == 1


def test_an_acceptance_that_crossed_the_reissue_completes_the_transfer_on_the_old_letter(
    client, sides
):
    county, *_rest, link = sides
    transfer, old, new, _first, _second = _reissued(county, link, "crossed")
    accepted_on = old.expires_on  # the last day the first letter was valid there
    receipt = {
        "transfer_ref": str(transfer.pk),
        "letter_number": old.number,
        "accepted_on": accepted_on.isoformat(),
    }
    response = _post(client, key="b", secret="b-to-a", kind="receipt", body=receipt)
    assert response.status_code == 200, response.content
    transfer.refresh_from_db()
    old.refresh_from_db()
    new.refresh_from_db()
    assert transfer.state == RelationshipTransfer.State.COMPLETED
    assert (old.state, old.receipt_returned_on) == ("used", accepted_on)
    assert new.state == "superseded"


def test_a_return_that_crossed_the_reissue_voids_both_letters(client, sides):
    county, *_rest, link = sides
    transfer, old, new, _first, _second = _reissued(county, link, "returned")
    body = {"transfer_ref": str(transfer.pk), "letter_number": old.number, "reason": "查无此人"}
    assert _post(client, key="b", secret="b-to-a", kind="returned", body=body).status_code == 200
    transfer.refresh_from_db()
    new.refresh_from_db()
    assert transfer.state == RelationshipTransfer.State.SUBMITTED
    assert new.state == "superseded" and "查无此人" in transfer.decision_note


def test_a_letter_approved_again_after_a_return_is_a_new_letter_to_decide_there(client, sides):
    """Side B returned the first letter; side A's reviewers approve again: the new letter is
    waiting at B, and a late receipt naming the returned letter settles nothing at A."""
    county, *_rest, link = sides
    transfer, reviewer, first = _expired(county, link, "again")
    first_body = OutgoingMessage.objects.get(kind=Kind.LETTER).body
    _post(client, key="a", secret="a-to-b", kind="letter", body=first_body)
    IncomingTransfer.objects.update(state=IncomingTransfer.State.RETURNED)  # B returned it
    returned = {"transfer_ref": str(transfer.pk), "letter_number": first.number, "reason": "错投"}
    _post(client, key="b", secret="b-to-a", kind="returned", body=returned)
    transfer.refresh_from_db()
    assert transfer.state == RelationshipTransfer.State.SUBMITTED

    again = transfer_services.transfer_approve(
        actor=reviewer, transfer=transfer, issued_on=TODAY, valid_days=30, dues_paid_until=TODAY
    )
    body = OutgoingMessage.objects.filter(kind=Kind.LETTER).latest("created_at").body
    answer = _post(client, key="a", secret="a-to-b", kind="letter", body=body).json()
    assert answer["outcome"].startswith(f"letter {again.number} for ")
    assert IncomingTransfer.objects.get(letter_number=again.number).state == "pending"

    late = {
        "transfer_ref": str(transfer.pk),
        "letter_number": first.number,
        "accepted_on": first.expires_on.isoformat(),
    }
    response = _post(client, key="b", secret="b-to-a", kind="receipt", body=late)
    assert response.status_code == 422
    transfer.refresh_from_db()
    again.refresh_from_db()
    assert transfer.state == RelationshipTransfer.State.APPROVED and again.state == "issued"


def test_the_reissue_of_a_letter_returned_there_adds_nothing(client, sides):
    county, *_rest, link = sides
    _transfer, old, _new, first, second = _reissued(county, link, "reissue-returned")
    _post(client, key="a", secret="a-to-b", kind="letter", body=first)
    IncomingTransfer.objects.update(state=IncomingTransfer.State.RETURNED)
    answer = _post(client, key="a", secret="a-to-b", kind="letter", body=second).json()
    assert answer["outcome"] == f"the reissue of returned letter {old.number}"
    assert IncomingTransfer.objects.count() == 1
