"""Issue #20: certificates between deployments — the home side tells a partner's inflow branch
of the certificate it issued, and the inflow side registers the arrival and the departure
electronically, which the home side records as if written on the paper certificate.

Both sides live in one test database, as in tests/test_partners.py: partner "B" (key "b") is
who side A sends to, partner "A" (key "a") is who side B receives from; county.branch_b has
the code B1 that side A's link names.
"""

import json
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from infrastructure.steps import StepRefused
from members.models import ExternalOrganisation
from partners import delivery, services, signing
from partners.models import IncomingCertificate, IncomingMessage, Kind, OutgoingMessage
from transfers import services as transfer_services
from transfers.models import ActivityCertificate

TODAY = timezone.localdate()
ISSUED = TODAY - timedelta(days=20)


@pytest.fixture
def through_the_inbox(client, monkeypatch):
    """Delivery posts to the real inbox view, signed as the real sender would sign it."""
    posted = []

    def post(message):
        raw = delivery.envelope(message)
        partner = message.partner
        headers = signing.signed_headers(
            key_id=partner.our_key_id, secret=partner.sending_secret, body=raw
        )
        posted.append(message.pk)
        response = client.post(
            reverse("partners:inbox"), data=raw, content_type="application/json", headers=headers
        )
        return response.status_code, response.content.decode()

    monkeypatch.setattr(delivery, "_post", post)
    return posted


def _issue(county, link, member=None, **fields) -> ActivityCertificate:
    member = member or county.member(county.branch_a, name="王五", phone="13912345678")
    return transfer_services.certificate_issue(
        actor=county.secretary(county.branch_a, f"sec-a-{member.pk}"),
        member=member,
        issued_on=ISSUED,
        reason="务工",
        destination="乙省乙县",
        inflow_external=link.external,
        **fields,
    )


def _deliver(kind: str) -> str:
    message = OutgoingMessage.objects.filter(kind=kind).order_by("-created_at").first()
    return delivery.deliver(str(message.pk))


def _post(client, *, key, secret, kind, body, message_id=None):
    raw = json.dumps({"id": str(message_id or uuid.uuid4()), "kind": kind, "body": body}).encode()
    headers = signing.signed_headers(key_id=key, secret=secret, body=raw)
    return client.post(
        reverse("partners:inbox"), data=raw, content_type="application/json", headers=headers
    )


def _received(county, link, through_the_inbox) -> tuple[ActivityCertificate, IncomingCertificate]:
    certificate = _issue(county, link)
    assert _deliver(Kind.CERTIFICATE_ISSUED) == OutgoingMessage.Status.SENT
    return certificate, IncomingCertificate.objects.get()


def test_issuing_to_a_partner_branch_queues_only_what_the_paper_certificate_shows(sides):
    county, to_b, _from_a, link = sides
    member = county.member(county.branch_a, name="王五", phone="13912345678")
    certificate = _issue(county, link, member)

    message = OutgoingMessage.objects.get()
    assert (message.partner, message.kind) == (to_b, Kind.CERTIFICATE_ISSUED)
    body = message.body
    assert set(body) == {
        "number", "verify_code", "issued_on", "reason", "destination", "issuing_branch",
        "stamping_committee", "replaces", "holder", "to_organisation",
    }  # fmt: skip
    assert set(body["holder"]) == {
        "name", "gender", "ethnicity", "birth_date", "joined_on", "category"
    }  # fmt: skip
    assert (body["number"], body["verify_code"]) == (certificate.number, certificate.verify_code)
    assert body["to_organisation"] == {"code": "B1", "name": "乙村党支部"}
    text = json.dumps(body, ensure_ascii=False)
    # Not on the paper certificate: the ID number and the phone.
    assert member.national_id not in text and member.national_id[-4:] not in text
    assert "13912345678" not in text
    with connection.cursor() as cursor:
        cursor.execute("SELECT body_json FROM partners_outgoingmessage")
        (stored,) = cursor.fetchone()
    assert "王五" not in stored and certificate.verify_code not in stored


def test_a_certificate_for_our_own_or_an_ordinary_external_inflow_side_sends_nothing(sides):
    county, *_ = sides
    other = ExternalOrganisation.objects.create(name="丁村党支部", region="丁省")
    secretary = county.secretary(county.branch_a)
    for inflow in [{"inflow_external": other}, {"inflow_organisation": county.branch_b}, {}]:
        member = county.member(county.branch_a)
        transfer_services.certificate_issue(
            actor=secretary, member=member, issued_on=ISSUED, reason="x", destination="y", **inflow
        )
    assert ActivityCertificate.objects.count() == 3
    assert not OutgoingMessage.objects.exists()


def test_the_inflow_branch_receives_the_certificate_once_however_often_it_is_delivered(
    client, sides, through_the_inbox
):
    county, _to_b, from_a, link = sides
    certificate = _issue(county, link)
    message = OutgoingMessage.objects.get()
    assert delivery.deliver(str(message.pk)) == OutgoingMessage.Status.SENT
    # The same message again (a lost answer), and the same certificate under a new id.
    OutgoingMessage.objects.filter(pk=message.pk).update(status=OutgoingMessage.Status.QUEUED)
    assert delivery.deliver(str(message.pk)) == OutgoingMessage.Status.SENT
    again = _post(client, key="a", secret="a-to-b", kind="certificate_issued", body=message.body)
    assert again.json()["outcome"] == "certificate already here"

    incoming = IncomingCertificate.objects.get()
    assert (incoming.partner, incoming.to_organisation) == (from_a, county.branch_b)
    assert (incoming.number, incoming.verify_code, incoming.name) == (
        certificate.number,
        certificate.verify_code,
        "王五",
    )
    assert (incoming.issued_on, incoming.state) == (ISSUED, IncomingCertificate.State.ISSUED)
    assert IncomingMessage.objects.filter(kind=Kind.CERTIFICATE_ISSUED).count() == 2


def test_a_certificate_for_a_code_nobody_has_is_refused_and_not_kept(client, sides):
    county, *_rest, link = sides
    _issue(county, link)
    body = OutgoingMessage.objects.get().body
    body["to_organisation"]["code"] = "NOPE"
    response = _post(client, key="a", secret="a-to-b", kind="certificate_issued", body=body)
    assert response.status_code == 422 and "NOPE" in response.json()["error"]
    assert not IncomingCertificate.objects.exists() and not IncomingMessage.objects.exists()


def test_the_inflow_secretary_registers_arrival_then_departure_and_each_goes_home(
    client, sides, through_the_inbox
):
    county, to_b, from_a, link = sides
    certificate, incoming = _received(county, link, through_the_inbox)
    client.force_login(county.secretary(county.branch_b))
    listing = client.get(reverse("partners:certificate_list"))
    assert listing.status_code == 200 and certificate.number in listing.content.decode()
    assert (
        reverse("partners:certificate_list")
        in client.get(reverse("partners:incoming_list")).content.decode()
    )

    arrived_on = TODAY - timedelta(days=10)
    response = client.post(
        reverse("partners:certificate_arrival", args=[incoming.pk]),
        {"arrived_on": arrived_on.isoformat(), "inflow_contact": "赵六 13700137000"},
    )
    assert response.status_code == 302
    arrival = OutgoingMessage.objects.get(kind=Kind.CERTIFICATE_ARRIVAL)
    assert arrival.partner == from_a
    assert arrival.body == {
        "number": certificate.number,
        "verify_code": certificate.verify_code,
        "arrived_on": arrived_on.isoformat(),
        "contact": "赵六 13700137000",
    }
    assert _deliver(Kind.CERTIFICATE_ARRIVAL) == OutgoingMessage.Status.SENT
    certificate.refresh_from_db()
    assert (certificate.arrived_on, certificate.inflow_contact) == (arrived_on, "赵六 13700137000")
    assert certificate.history.first().history_user == to_b.user

    response = client.post(
        reverse("partners:certificate_departure", args=[incoming.pk]),
        {
            "departed_on": TODAY.isoformat(),
            "participation": "参加支部主题党日3次",
            "dues": "已缴至本月",
        },
    )
    assert response.status_code == 302
    departure = OutgoingMessage.objects.get(kind=Kind.CERTIFICATE_DEPARTURE)
    assert set(departure.body) == {"number", "verify_code", "departed_on", "participation", "dues"}
    assert _deliver(Kind.CERTIFICATE_DEPARTURE) == OutgoingMessage.Status.SENT
    certificate.refresh_from_db()
    assert certificate.departed_on == TODAY
    assert (certificate.departure_participation, certificate.departure_dues) == (
        "参加支部主题党日3次",
        "已缴至本月",
    )
    incoming.refresh_from_db()
    assert incoming.state == IncomingCertificate.State.DEPARTED
    page = client.get(reverse("partners:certificate_detail", args=[incoming.pk])).content.decode()
    assert "参加支部主题党日3次" in page


def test_the_same_arrival_delivered_twice_is_recorded_once_at_home(
    client, sides, through_the_inbox
):
    county, *_rest, link = sides
    certificate, incoming = _received(county, link, through_the_inbox)
    services.incoming_certificate_arrival(
        actor=county.secretary(county.branch_b),
        incoming=incoming,
        arrived_on=TODAY,
        inflow_contact="赵六",
    )
    message = OutgoingMessage.objects.get(kind=Kind.CERTIFICATE_ARRIVAL)
    assert delivery.deliver(str(message.pk)) == OutgoingMessage.Status.SENT
    versions = certificate.history.count()
    OutgoingMessage.objects.filter(pk=message.pk).update(status=OutgoingMessage.Status.QUEUED)
    assert delivery.deliver(str(message.pk)) == OutgoingMessage.Status.SENT
    answers = through_the_inbox.count(message.pk)
    assert answers == 2
    assert IncomingMessage.objects.filter(kind=Kind.CERTIFICATE_ARRIVAL).count() == 1
    assert certificate.history.count() == versions


def test_an_arrival_from_a_partner_the_certificate_does_not_name_is_refused(client, sides):
    county, *_rest, link = sides
    certificate = _issue(county, link)
    body = {
        "number": certificate.number,
        "verify_code": certificate.verify_code,
        "arrived_on": TODAY.isoformat(),
        "contact": "x",
    }
    # Signed as side A (key "a"), not as B, the inflow side the certificate names.
    wrong_partner = _post(client, key="a", secret="a-to-b", kind="certificate_arrival", body=body)
    wrong_code = _post(
        client,
        key="b",
        secret="b-to-a",
        kind="certificate_arrival",
        body={**body, "verify_code": "guessed"},
    )
    assert (wrong_partner.status_code, wrong_code.status_code) == (422, 422)
    certificate.refresh_from_db()
    assert certificate.arrived_on is None


def test_another_branch_neither_sees_nor_writes_on_the_certificate(
    client, sides, through_the_inbox
):
    county, *_rest, link = sides
    certificate, incoming = _received(county, link, through_the_inbox)
    client.force_login(county.secretary(county.branch_a2))
    assert client.get(reverse("partners:certificate_detail", args=[incoming.pk])).status_code == 404
    assert (
        certificate.number not in client.get(reverse("partners:certificate_list")).content.decode()
    )
    arrival = client.post(
        reverse("partners:certificate_arrival", args=[incoming.pk]),
        {"arrived_on": TODAY.isoformat(), "inflow_contact": "x"},
    )
    departure = client.post(
        reverse("partners:certificate_departure", args=[incoming.pk]),
        {"departed_on": TODAY.isoformat(), "participation": "x", "dues": "x"},
    )
    assert (arrival.status_code, departure.status_code) == (404, 404)
    with pytest.raises(StepRefused):
        services.incoming_certificate_arrival(
            actor=county.secretary(county.branch_a, "sec-a-other"),
            incoming=incoming,
            arrived_on=TODAY,
            inflow_contact="x",
        )
    incoming.refresh_from_db()
    assert incoming.state == IncomingCertificate.State.ISSUED
    assert not OutgoingMessage.objects.filter(kind=Kind.CERTIFICATE_ARRIVAL).exists()


def test_steps_out_of_order_twice_or_with_impossible_dates_are_refused_and_send_nothing(
    client, sides, through_the_inbox
):
    county, *_rest, link = sides
    _certificate, incoming = _received(county, link, through_the_inbox)
    secretary = county.secretary(county.branch_b)

    def depart(on):
        services.incoming_certificate_departure(
            actor=secretary, incoming=incoming, departed_on=on, participation="x", dues="y"
        )

    def arrive(on):
        services.incoming_certificate_arrival(
            actor=secretary, incoming=incoming, arrived_on=on, inflow_contact="赵六"
        )

    with pytest.raises(StepRefused):
        depart(TODAY)  # not arrived yet
    with pytest.raises(StepRefused):
        arrive(ISSUED - timedelta(days=1))  # before the certificate was issued
    assert not OutgoingMessage.objects.exclude(kind=Kind.CERTIFICATE_ISSUED).exists()
    arrive(TODAY - timedelta(days=3))
    with pytest.raises(StepRefused):
        arrive(TODAY)  # twice
    with pytest.raises(StepRefused):
        depart(TODAY - timedelta(days=4))  # before the arrival
    client.force_login(secretary)
    page = client.post(
        reverse("partners:certificate_departure", args=[incoming.pk]),
        {"departed_on": (TODAY + timedelta(days=1)).isoformat(), "participation": "x", "dues": "y"},
    )
    assert page.status_code == 200  # the form again, with the reason
    incoming.refresh_from_db()
    assert (incoming.state, incoming.arrived_on) == ("arrived", TODAY - timedelta(days=3))
    assert OutgoingMessage.objects.filter(kind=Kind.CERTIFICATE_ARRIVAL).count() == 1
    assert not OutgoingMessage.objects.filter(kind=Kind.CERTIFICATE_DEPARTURE).exists()


def test_a_reissue_after_a_loss_replaces_the_certificate_at_the_inflow_side(
    sides, through_the_inbox
):
    county, *_rest, link = sides
    certificate, old = _received(county, link, through_the_inbox)
    new = transfer_services.certificate_reissue_lost(
        actor=county.secretary(county.branch_a, "sec-a-lost"),
        certificate=certificate,
        reported_on=TODAY,
    )
    assert _deliver(Kind.CERTIFICATE_ISSUED) == OutgoingMessage.Status.SENT
    old.refresh_from_db()
    assert old.state == IncomingCertificate.State.REPLACED
    current = IncomingCertificate.objects.get(number=new.number)
    assert (current.replaces, current.state) == (certificate.number, "issued")


def test_a_certificate_returned_at_home_closes_at_the_inflow_side_and_takes_no_arrival(
    client, sides, through_the_inbox
):
    county, *_rest, link = sides
    certificate, incoming = _received(county, link, through_the_inbox)
    transfer_services.certificate_end(
        actor=county.secretary(county.branch_a, "sec-a-home"),
        certificate=certificate,
        ended_on=TODAY,
        status=ActivityCertificate.Status.RETURNED,
    )
    ended = OutgoingMessage.objects.get(kind=Kind.CERTIFICATE_ENDED)
    assert ended.body == {
        "number": certificate.number,
        "verify_code": certificate.verify_code,
        "status": "returned",
        "ended_on": TODAY.isoformat(),
    }
    assert _deliver(Kind.CERTIFICATE_ENDED) == OutgoingMessage.Status.SENT
    incoming.refresh_from_db()
    assert (incoming.state, incoming.ended_on, incoming.end_reason) == ("ended", TODAY, "returned")

    # Delivered again: recorded once, and the inflow secretary can no longer register on it.
    again = _post(client, key="a", secret="a-to-b", kind="certificate_ended", body=ended.body)
    assert again.json()["outcome"] == "certificate already closed"
    secretary = county.secretary(county.branch_b)
    with pytest.raises(StepRefused):
        services.incoming_certificate_arrival(
            actor=secretary, incoming=incoming, arrived_on=TODAY, inflow_contact=""
        )
    assert not OutgoingMessage.objects.filter(kind=Kind.CERTIFICATE_ARRIVAL).exists()
    client.force_login(secretary)
    page = client.get(reverse("partners:certificate_detail", args=[incoming.pk])).content.decode()
    assert "由签发方终止" in page and "登记报到" not in page


def test_a_transfer_that_cancels_the_certificate_tells_the_inflow_side(sides, through_the_inbox):
    county, *_rest, link = sides
    certificate, incoming = _received(county, link, through_the_inbox)
    member = certificate.member
    secretary = county.secretary(county.branch_a, "sec-a-tr")
    transfer = transfer_services.transfer_request(
        actor=secretary,
        member=member,
        reason="工作调动",
        to_external=link.external,
    )
    transfer_services.transfer_approve(
        actor=county.reviewer(county.township_a, "rev-a-tr"),
        transfer=transfer,
        issued_on=TODAY,
        valid_days=30,
        dues_paid_until=TODAY.replace(day=1),
    )
    transfer_services.transfer_record_receipt(actor=secretary, transfer=transfer, returned_on=TODAY)
    certificate.refresh_from_db()
    assert certificate.status == ActivityCertificate.Status.CANCELLED
    assert _deliver(Kind.CERTIFICATE_ENDED) == OutgoingMessage.Status.SENT
    incoming.refresh_from_db()
    assert (incoming.state, incoming.end_reason) == ("ended", "cancelled")


def test_an_end_with_a_wrong_code_or_an_unknown_ending_is_refused(client, sides, through_the_inbox):
    county, *_rest, link = sides
    certificate, incoming = _received(county, link, through_the_inbox)
    body = {
        "number": certificate.number,
        "verify_code": "wrong",
        "status": "returned",
        "ended_on": TODAY.isoformat(),
    }
    response = _post(client, key="a", secret="a-to-b", kind="certificate_ended", body=body)
    assert response.status_code == 422
    body["verify_code"], body["status"] = certificate.verify_code, "valid"
    response = _post(client, key="a", secret="a-to-b", kind="certificate_ended", body=body)
    assert response.status_code == 422
    incoming.refresh_from_db()
    assert incoming.state == IncomingCertificate.State.ISSUED


def test_an_end_that_overtakes_its_certificate_is_kept_and_applied_when_it_comes(
    client, sides, through_the_inbox
):
    county, *_rest, link = sides
    certificate = _issue(county, link)
    transfer_services.certificate_end(
        actor=county.secretary(county.branch_a, "sec-a-early"),
        certificate=certificate,
        ended_on=TODAY,
        status=ActivityCertificate.Status.RETURNED,
    )
    assert _deliver(Kind.CERTIFICATE_ENDED) == OutgoingMessage.Status.SENT  # first, by chance
    assert not IncomingCertificate.objects.exists()
    assert _deliver(Kind.CERTIFICATE_ISSUED) == OutgoingMessage.Status.SENT
    incoming = IncomingCertificate.objects.get()
    assert (incoming.state, incoming.ended_on, incoming.end_reason) == ("ended", TODAY, "returned")


def test_a_reissue_that_overtakes_the_lost_certificate_leaves_it_replaced(sides, through_the_inbox):
    county, *_rest, link = sides
    certificate = _issue(county, link)
    new = transfer_services.certificate_reissue_lost(
        actor=county.secretary(county.branch_a, "sec-a-lost2"),
        certificate=certificate,
        reported_on=TODAY,
    )
    issued = OutgoingMessage.objects.filter(kind=Kind.CERTIFICATE_ISSUED).order_by("created_at")
    first, second = list(issued)
    assert delivery.deliver(str(second.pk)) == OutgoingMessage.Status.SENT  # the new one first
    assert delivery.deliver(str(first.pk)) == OutgoingMessage.Status.SENT
    assert IncomingCertificate.objects.get(number=certificate.number).state == "replaced"
    assert IncomingCertificate.objects.get(number=new.number).state == "issued"
