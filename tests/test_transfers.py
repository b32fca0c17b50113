"""Episodes, certificates and transfers: services, state machine, permissions and pages."""

import threading
from datetime import date, timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from infrastructure.steps import StepRefused
from members.models import ExternalOrganisation, Member, SensitiveAccess
from transfers import services
from transfers.models import (
    ActivityCertificate,
    IntroductionLetter,
    MobilityEpisode,
    RelationshipTransfer,
)

TODAY = timezone.localdate()


@pytest.fixture
def people(county):
    county.county.code = "511925"
    county.county.save()
    county.sec_a = county.secretary(county.branch_a, "sec_a")
    county.sec_a2 = county.secretary(county.branch_a2, "sec_a2")
    county.sec_b = county.secretary(county.branch_b, "sec_b")
    county.rev_a = county.reviewer(county.township_a, "rev_a")
    county.rev_county = county.reviewer(county.county, "rev_county")
    county.away = county.member(county.branch_a, name="外出党员")
    county.episode = MobilityEpisode.objects.create(
        member=county.away,
        mobility_type="work",
        left_on=TODAY - timedelta(days=300),
        destination_province="广东省",
        destination_city="深圳市",
        is_fixed_place=True,
    )
    county.external = ExternalOrganisation.objects.create(
        name="深圳某党支部", region="广东省深圳市"
    )
    return county


def issue(people, member=None, on=TODAY):
    return services.certificate_issue(
        actor=people.sec_a,
        member=member or people.away,
        issued_on=on,
        reason="务工",
        destination="广东省深圳市",
    )


# --- certificates --------------------------------------------------------------------------


def test_certificate_numbers_are_county_year_sequence(people):
    first = issue(people)
    other = people.member(people.branch_a, name="另一名")
    second = issue(people, member=other)
    assert first.number == f"511925{TODAY.year}0001"
    assert second.number == f"511925{TODAY.year}0002"
    assert first.stamping_committee == people.township_a


def test_only_one_valid_certificate_per_member(people):
    issue(people)
    with pytest.raises(StepRefused):
        issue(people)
    with pytest.raises(IntegrityError), transaction.atomic():
        ActivityCertificate.objects.create(
            number="X1",
            member=people.away,
            issuing_branch=people.branch_a,
            stamping_committee=people.township_a,
            issued_on=TODAY,
            reason="r",
            destination="d",
        )


def test_lost_certificate_is_reissued_with_a_new_number(people):
    old = issue(people)
    new = services.certificate_reissue_lost(actor=people.sec_a, certificate=old, reported_on=TODAY)
    old.refresh_from_db()
    assert old.status == ActivityCertificate.Status.LOST
    assert new.reissue_of == old and new.number != old.number and new.is_valid


def test_review_once_a_year(people):
    certificate = issue(people)
    kwargs = {"year": 2026, "reviewed_on": TODAY, "result": "passed", "note": ""}
    services.certificate_review(actor=people.sec_a, certificate=certificate, **kwargs)
    with pytest.raises(StepRefused):
        services.certificate_review(actor=people.sec_a, certificate=certificate, **kwargs)


def test_returning_home_ends_the_episode_and_returns_the_certificate(people):
    certificate = issue(people)
    services.episode_end(
        actor=people.sec_a, episode=people.episode, ended_on=TODAY, reason="returned"
    )
    certificate.refresh_from_db()
    assert certificate.status == ActivityCertificate.Status.RETURNED
    assert not people.away.mobility_episodes.filter(ended_on__isnull=True).exists()


def test_a_move_starts_a_new_stretch_the_same_day(people):
    new = MobilityEpisode(
        mobility_type="work", destination_province="浙江省", destination_city="杭州市"
    )
    moved = services.episode_move(
        actor=people.sec_a, episode=people.episode, moved_on=TODAY, new_episode=new
    )
    people.episode.refresh_from_db()
    assert people.episode.end_reason == "moved" and moved.left_on == TODAY
    assert people.away.mobility_episodes.get(ended_on__isnull=True) == moved


def test_another_branch_cannot_issue_or_end(people):
    with pytest.raises(StepRefused):
        services.certificate_issue(
            actor=people.sec_b,
            member=people.away,
            issued_on=TODAY,
            reason="x",
            destination="y",
        )
    with pytest.raises(StepRefused):
        services.episode_end(
            actor=people.sec_b, episode=people.episode, ended_on=TODAY, reason="returned"
        )


# --- transfers -----------------------------------------------------------------------------


def draft_and_submit(people, **destination):
    destination = destination or {"to_organisation": people.branch_a2}
    transfer = services.transfer_draft(
        actor=people.sec_a, member=people.away, reason="在外地定居", **destination
    )
    return services.transfer_submit(actor=people.sec_a, transfer=transfer)


def approve(people, transfer, actor=None, on=TODAY, days=30):
    return services.transfer_approve(
        actor=actor or people.rev_a,
        transfer=transfer,
        issued_on=on,
        valid_days=days,
        dues_paid_until=date(2026, 10, 1),
    )


def test_internal_transfer_moves_the_member_on_acceptance(people):
    certificate = issue(people)
    transfer = draft_and_submit(people)
    letter = approve(people, transfer)
    assert letter.valid_days == 30 and letter.expires_on == TODAY + timedelta(days=30)
    people.away.refresh_from_db()
    assert people.away.home_branch == people.branch_a  # old branch responsible until accepted
    services.transfer_accept(actor=people.sec_a2, transfer=transfer, on=TODAY)
    people.away.refresh_from_db()
    transfer.refresh_from_db()
    certificate.refresh_from_db()
    assert people.away.home_branch == people.branch_a2
    assert transfer.state == RelationshipTransfer.State.COMPLETED
    assert certificate.status == ActivityCertificate.Status.CANCELLED
    assert list(transfer.events.values_list("action", flat=True)) == [
        "drafted",
        "submitted",
        "approved",
        "accepted",
    ]


def test_external_transfer_completes_when_the_receipt_returns(people):
    transfer = draft_and_submit(people, to_external=people.external)
    approve(people, transfer)
    services.transfer_record_receipt(actor=people.sec_a, transfer=transfer, returned_on=TODAY)
    people.away.refresh_from_db()
    assert people.away.status == Member.Status.TRANSFERRED_OUT
    assert transfer.letters.get().receipt_returned_on == TODAY


@pytest.mark.parametrize("actor", ["sec_a", "sec_b", "sec_a2"])
def test_secretaries_cannot_approve(people, actor):
    transfer = draft_and_submit(people)
    with pytest.raises(StepRefused):
        approve(people, transfer, actor=getattr(people, actor))


def test_a_reviewer_of_another_township_cannot_approve(people):
    transfer = draft_and_submit(people)
    with pytest.raises(StepRefused):
        approve(people, transfer, actor=people.reviewer(people.township_b))


def test_a_reviewer_cannot_approve_their_own_request(people):
    transfer = services.transfer_draft(
        actor=people.rev_a, member=people.away, reason="r", to_organisation=people.branch_a2
    )
    services.transfer_submit(actor=people.rev_a, transfer=transfer)
    with pytest.raises(StepRefused, match="自己"):
        approve(people, transfer, actor=people.rev_a)
    assert approve(people, transfer, actor=people.rev_county)


def test_approving_twice_is_refused(people):
    transfer = draft_and_submit(people)
    approve(people, transfer)
    with pytest.raises(StepRefused):
        approve(people, transfer, actor=people.rev_county)
    assert IntroductionLetter.objects.count() == 1


def test_an_expired_letter_cannot_be_accepted_until_reissued(people):
    transfer = draft_and_submit(people)
    approve(people, transfer, on=TODAY - timedelta(days=40), days=30)
    with pytest.raises(StepRefused, match="过期|失效|有效期"):
        services.transfer_accept(actor=people.sec_a2, transfer=transfer, on=TODAY)
    new = services.letter_reissue(
        actor=people.rev_a, transfer=transfer, issued_on=TODAY, valid_days=15
    )
    services.transfer_accept(actor=people.sec_a2, transfer=transfer, on=TODAY)
    assert set(transfer.letters.values_list("state", flat=True)) == {"superseded", "used"}
    assert new.number.endswith("0002")


def test_validity_over_90_days_is_refused(people):
    transfer = draft_and_submit(people)
    with pytest.raises(StepRefused):
        approve(people, transfer, days=91)


def test_only_the_receiving_branch_accepts(people):
    transfer = draft_and_submit(people)
    approve(people, transfer)
    with pytest.raises(StepRefused):
        services.transfer_accept(actor=people.sec_b, transfer=transfer, on=TODAY)


def test_one_open_transfer_per_member(people):
    draft_and_submit(people)
    with pytest.raises(StepRefused):
        services.transfer_draft(
            actor=people.sec_a, member=people.away, reason="r", to_external=people.external
        )


def test_rejecting_needs_a_reason_and_ends_the_request(people):
    transfer = draft_and_submit(people)
    with pytest.raises(StepRefused):
        services.transfer_reject(actor=people.rev_a, transfer=transfer, reason=" ")
    services.transfer_reject(actor=people.rev_a, transfer=transfer, reason="材料不全")
    transfer.refresh_from_db()
    assert (transfer.state, transfer.decision_note) == ("rejected", "材料不全")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_reviewers_approving_at_once_yield_one_letter(people):
    transfer = draft_and_submit(people)
    barrier = threading.Barrier(2)
    outcomes = []

    def decide(actor):
        barrier.wait()
        try:
            approve(people, transfer, actor=actor)
            outcomes.append("approved")
        except StepRefused:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [
        threading.Thread(target=decide, args=(a,)) for a in (people.rev_a, people.rev_county)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["approved", "refused"]
    assert IntroductionLetter.objects.filter(transfer=transfer).count() == 1


# --- hosting and pages ---------------------------------------------------------------------


def test_the_inflow_branch_sees_a_hosted_member_read_only(client, people):
    people.episode.inflow_organisation = people.branch_b
    people.episode.save()
    client.force_login(people.sec_b)
    detail = client.get(reverse("members:detail", args=[people.away.pk]))
    assert detail.status_code == 200
    assert "外出党员" in [m.name for m in client.get(reverse("members:list")).context["page"]]
    assert client.get(reverse("members:edit", args=[people.away.pk])).status_code == 404
    start = reverse("transfers:certificate_issue", args=[people.away.pk])
    assert client.get(start).status_code == 404
    people.episode.ended_on = TODAY
    people.episode.save()
    assert client.get(reverse("members:detail", args=[people.away.pk])).status_code == 404


@pytest.mark.parametrize(
    "name",
    [
        "transfers:episode_move",
        "transfers:episode_return",
    ],
)
def test_another_branch_gets_404_on_episode_pages(client, people, name):
    client.force_login(people.sec_b)
    assert client.get(reverse(name, args=[people.episode.pk])).status_code == 404


def test_another_branch_gets_404_on_certificates_and_transfers(client, people):
    certificate = issue(people)
    transfer = draft_and_submit(people)
    client.force_login(people.sec_b)
    for url in [
        reverse("transfers:certificate_detail", args=[certificate.pk]),
        reverse("transfers:certificate_pdf", args=[certificate.pk]),
        reverse("transfers:certificate_review", args=[certificate.pk]),
        reverse("transfers:transfer_detail", args=[transfer.pk]),
        reverse("transfers:transfer_approve", args=[transfer.pk]),
        reverse("transfers:letter_pdf", args=[transfer.pk]),
    ]:
        assert client.get(url).status_code == 404, url


def test_recording_a_departure_in_the_browser(client, people):
    people.episode.delete()
    client.force_login(people.sec_a)
    response = client.post(
        reverse("transfers:episode_start", args=[people.away.pk]),
        {
            "mobility_type": "work",
            "left_on": TODAY.isoformat(),
            "destination_province": "浙江省",
            "destination_city": "杭州市",
            "destination_county": "西湖区",
            "is_fixed_place": "on",
        },
    )
    assert response.status_code == 302
    episode = people.away.mobility_episodes.get()
    assert (episode.destination_city, episode.destination_county) == ("杭州市", "西湖区")
    page = client.get(reverse("members:detail", args=[people.away.pk])).content.decode()
    assert "浙江省 杭州市 西湖区" in page


def test_a_destination_outside_the_divisions_is_refused(client, people):
    people.episode.delete()
    client.force_login(people.sec_a)
    response = client.post(
        reverse("transfers:episode_start", args=[people.away.pk]),
        {
            "mobility_type": "work",
            "left_on": TODAY.isoformat(),
            "destination_province": "浙江省",
            "destination_city": "深圳市",
        },
    )
    assert response.status_code == 200
    assert "深圳市" in " ".join(response.context["form"].errors["destination_city"])
    assert not people.away.mobility_episodes.exists()


@pytest.mark.parametrize(
    ("typed_province", "typed_city", "typed_county"),
    [
        ("广东省", "深圳", ""),
        ("广东省", "深圳市", ""),
        ("", "深圳", ""),
        ("", "广东深圳", ""),
        ("", "广东省深圳市南山区", ""),
        ("广东省", "深圳", "南山区"),
    ],
)
def test_a_departure_takes_a_city_as_people_type_it(
    client, people, typed_province, typed_city, typed_county
):
    """#17: "深圳", "深圳市", "广东深圳", "广东省深圳市南山区" are one place; never
    "深圳不是广东省下辖的城市" for a real city."""
    people.episode.delete()
    client.force_login(people.sec_a)
    response = client.post(
        reverse("transfers:episode_start", args=[people.away.pk]),
        {
            "mobility_type": "work",
            "left_on": TODAY.isoformat(),
            "destination_province": typed_province,
            "destination_city": typed_city,
            "destination_county": typed_county,
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    episode = people.away.mobility_episodes.get()
    assert (episode.destination_province, episode.destination_city) == ("广东省", "深圳市")
    assert episode.destination_county in ("", "南山区")


def test_a_second_departure_is_refused_with_a_message(client, people):
    client.force_login(people.sec_a)
    response = client.post(
        reverse("transfers:episode_start", args=[people.away.pk]),
        {
            "mobility_type": "temporary",
            "left_on": TODAY.isoformat(),
            "destination_province": "浙江省",
        },
    )
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert people.away.mobility_episodes.count() == 1


def test_member_page_shows_the_arrangement_and_why(client, people):
    client.force_login(people.sec_a)
    page = client.get(reverse("members:detail", args=[people.away.pk])).content.decode()
    assert "第二十五条" in page


def test_mobile_list_filters_by_arrangement(client, people):
    other = people.member(people.branch_a, name="短期外出")
    MobilityEpisode.objects.create(member=other, mobility_type="temporary", left_on=TODAY)
    client.force_login(people.sec_a)
    listed = client.get(reverse("transfers:mobile_list"), {"arrangement": "transfer_required"})
    assert [e.member.name for e in listed.context["page"]] == ["外出党员"]
    listed = client.get(reverse("transfers:mobile_list"), {"arrangement": "certificate"})
    assert [e.member.name for e in listed.context["page"]] == ["短期外出"]


def test_verify_page_is_public_and_shows_nothing_private(client, people):
    certificate = issue(people)
    client.force_login(people.sec_a)
    verify_url = client.get(reverse("transfers:certificate_detail", args=[certificate.pk])).context[
        "verify_url"
    ]
    client.logout()
    page = client.get(verify_url).content.decode()
    assert certificate.number in page and "外**" in page
    assert "外出党员" not in page and people.away.national_id_masked not in page
    services.certificate_reissue_lost(
        actor=people.sec_a, certificate=certificate, reported_on=TODAY
    )
    assert "不再有效" in client.get(verify_url).content.decode()
    assert client.get(verify_url[:-3] + "xx/").status_code == 404


def test_printing_a_letter_is_logged(client, people):
    transfer = draft_and_submit(people)
    approve(people, transfer)
    client.force_login(people.sec_a)
    response = client.get(reverse("transfers:letter_pdf", args=[transfer.pk]))
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert SensitiveAccess.objects.get().action == SensitiveAccess.Action.PRINT_LETTER


def test_the_whole_transfer_in_pages(client, people):
    client.force_login(people.sec_a)
    response = client.post(
        reverse("transfers:transfer_draft", args=[people.away.pk]),
        {"to_organisation": people.branch_a2.pk, "reason": "长期在乙村居住"},
    )
    transfer = RelationshipTransfer.objects.get()
    assert response.url == reverse("transfers:transfer_detail", args=[transfer.pk])
    assert transfer.state == RelationshipTransfer.State.SUBMITTED  # one step, no draft
    client.force_login(people.rev_a)
    assert list(client.get(reverse("transfers:transfer_list")).context["to_decide"]) == [transfer]
    client.post(
        reverse("transfers:transfer_approve", args=[transfer.pk]),
        {"valid_days": 30, "dues_paid_until": "2026-10"},
    )
    client.force_login(people.sec_a2)
    assert list(client.get(reverse("transfers:transfer_list")).context["to_accept"]) == [transfer]
    client.post(reverse("transfers:transfer_accept", args=[transfer.pk]), {"on": TODAY})
    people.away.refresh_from_db()
    assert people.away.home_branch == people.branch_a2
    assert client.get(reverse("members:edit", args=[people.away.pk])).status_code == 200


def test_mobile_list_query_count_does_not_grow_with_rows(client, people):
    from django.test.utils import CaptureQueriesContext

    client.force_login(people.rev_county)

    def count_queries():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("transfers:mobile_list")).status_code == 200
        return len(queries)

    count_queries()  # the first page of a session also asks about a second factor
    one = count_queries()
    for i in range(30):
        member = people.member(people.branch_b, name=f"外出{i}")
        MobilityEpisode.objects.create(
            member=member,
            mobility_type="work",
            left_on=TODAY,
            inflow_external=people.external if i % 2 else None,
            inflow_organisation=None if i % 2 else people.branch_a2,
        )
    assert count_queries() == one


def test_registering_an_incoming_member_with_a_letter(client, people):
    client.force_login(people.sec_b)
    response = client.post(
        reverse("transfers:incoming_register"),
        {
            "name": "新来党员",
            "national_id_input": "11010519491231002X",
            "gender": "F",
            "ethnicity": "汉族",
            "birth_date": "1949-12-31",
            "phone": "13700137000",
            "category": "full",
            "joined_on": "1970-07-01",
            "confirmed_on": "1971-07-01",
            "home_branch": people.branch_b.pk,
            "status": "active",
            "from_external": people.external.pk,
            "letter_number": "粤组介字2026第88号",
            "arrived_on": TODAY.isoformat(),
        },
    )
    member = Member.objects.get(name="新来党员")
    assert response.status_code == 302 and member.home_branch == people.branch_b
    transfer = member.transfers.get()
    assert (transfer.direction, transfer.state, transfer.from_external) == (
        "incoming",
        "completed",
        people.external,
    )
    assert "粤组介字2026第88号" in transfer.events.get().note


def test_the_inflow_branch_registers_the_arrival_on_a_certificate(client, people):
    certificate = services.certificate_issue(
        actor=people.sec_a,
        member=people.away,
        issued_on=TODAY,
        reason="务工",
        destination="丙村",
        inflow_organisation=people.branch_b,
    )
    people.episode.inflow_organisation = people.branch_b
    people.episode.save()
    client.force_login(people.sec_b)
    response = client.post(
        reverse("transfers:certificate_arrival", args=[certificate.pk]),
        {"arrived_on": TODAY.isoformat(), "inflow_contact": "丙村书记 13900000000"},
    )
    assert response.status_code == 302
    certificate.refresh_from_db()
    assert certificate.arrived_on == TODAY
    # The inflow side does not review or close the home branch's certificate.
    response = client.post(
        reverse("transfers:certificate_review", args=[certificate.pk]),
        {"year": TODAY.year, "reviewed_on": TODAY.isoformat(), "result": "passed"},
    )
    assert response.status_code == 200 and not certificate.reviews.exists()


def test_the_receiving_branch_sees_a_transfer_only_once_approved(client, people):
    transfer = draft_and_submit(people)
    client.force_login(people.sec_a2)
    url = reverse("transfers:transfer_detail", args=[transfer.pk])
    assert client.get(url).status_code == 404
    approve(people, transfer)
    assert client.get(url).status_code == 200


def test_a_departure_cannot_be_recorded_on_a_closed_certificate(people):
    certificate = issue(people)
    services.certificate_end(
        actor=people.sec_a, certificate=certificate, ended_on=TODAY, status="returned"
    )
    with pytest.raises(StepRefused):
        services.certificate_record_departure(
            actor=people.sec_a,
            certificate=certificate,
            departed_on=TODAY,
            participation="x",
            dues="y",
        )


def test_the_member_page_never_asks_for_what_is_done(client, people):
    """#17: no "请发放流动党员活动证" once the certificate is issued, no "start the transfer"
    once one is under way."""
    MobilityEpisode.objects.filter(pk=people.episode.pk).update(is_fixed_place=False)
    client.force_login(people.sec_a)
    url = reverse("members:detail", args=[people.away.pk])
    assert "请发放流动党员活动证" in client.get(url).content.decode()
    certificate = issue(people)
    page = client.get(url).content.decode()
    assert "请发放流动党员活动证" not in page
    assert certificate.number in page
