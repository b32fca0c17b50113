"""Issue #17, a secretary's day: asking for a transfer in one step, to an organisation that
may not be listed yet, and what the reviewer reads before approving it."""

import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest
from dateutil.relativedelta import relativedelta
from django.db import connection
from django.urls import reverse
from django.utils import timezone, translation

from activities.models import DuesPayment
from infrastructure.steps import StepRefused
from members.models import EvidenceBaseline, ExternalOrganisation
from transfers import services
from transfers.models import (
    ActivityCertificate,
    CertificateReview,
    MobilityEpisode,
    RelationshipTransfer,
)

TODAY = timezone.localdate()
NEW = {
    "new_external_name": "前海社区党委",
    "new_external_region": "广东省深圳市",
    "new_external_contact_person": "陈主任",
    "new_external_phone": "+86 138 0013 8000",
}


@pytest.fixture
def people(county):
    county.sec_a = county.secretary(county.branch_a, "sec_a")
    county.sec_b = county.secretary(county.branch_b, "sec_b")
    county.rev_a = county.reviewer(county.township_a, "rev_a")
    county.away = county.member(county.branch_a, name="外出党员")
    county.episode = MobilityEpisode.objects.create(
        member=county.away,
        mobility_type="work",
        left_on=TODAY - relativedelta(years=1, months=3),
        destination_province="广东省",
        destination_city="深圳市",
        is_fixed_place=True,
    )
    county.listed = ExternalOrganisation.objects.create(name="深圳某党支部", region="广东省深圳市")
    return county


def request_url(people) -> str:
    return reverse("transfers:transfer_draft", args=[people.away.pk])


def post(client, people, **data):
    client.force_login(people.sec_a)
    return client.post(request_url(people), {"reason": "在深圳长期就业", **data})


def form_errors(response) -> dict:
    assert response.status_code == 200, "the form should come back with its errors"
    return response.context["form"].errors.as_data()


def codes(response, field: str) -> list[str]:
    return [error.code for error in form_errors(response).get(field, [])]


# --- one step ---------------------------------------------------------------------------------


def test_the_transfer_form_submits_to_the_reviewers_at_once(client, people):
    response = post(client, people, to_organisation=people.branch_a2.pk)

    transfer = RelationshipTransfer.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("transfers:transfer_detail", args=[transfer.pk])
    assert transfer.state == RelationshipTransfer.State.SUBMITTED
    assert list(transfer.events.values_list("action", flat=True)) == ["submitted"]
    client.force_login(people.rev_a)
    assert list(client.get(reverse("transfers:transfer_list")).context["to_decide"]) == [transfer]


def test_a_listed_external_organisation_is_chosen_as_before(client, people):
    post(client, people, to_external=people.listed.pk)

    transfer = RelationshipTransfer.objects.get()
    assert (transfer.to_external, transfer.state) == (people.listed, "submitted")
    assert ExternalOrganisation.objects.count() == 1


# --- a receiving organisation that is not listed yet ------------------------------------------


def test_a_new_receiving_organisation_is_added_with_the_request(client, people):
    response = post(client, people, **NEW)

    assert response.status_code == 302
    organisation = ExternalOrganisation.objects.get(name="前海社区党委")
    assert (organisation.region, organisation.contact_person, organisation.phone) == (
        "广东省深圳市",
        "陈主任",
        "13800138000",  # normalised like every phone number
    )
    assert organisation.history.get().history_user == people.sec_a
    transfer = RelationshipTransfer.objects.get()
    assert (transfer.to_external, transfer.to_organisation) == (organisation, None)
    assert transfer.state == RelationshipTransfer.State.SUBMITTED
    assert "前海社区党委" in transfer.events.get().note

    # The reviewer sees the request with the new organisation, its contact and phone.
    client.force_login(people.rev_a)
    to_decide = client.get(reverse("transfers:transfer_list")).content.decode()
    assert "前海社区党委（广东省深圳市）" in to_decide
    page = client.get(reverse("transfers:transfer_detail", args=[transfer.pk])).content.decode()
    assert "前海社区党委（广东省深圳市）" in page
    assert "陈主任" in page and "13800138000" in page


def test_without_a_listed_organisation_the_new_name_is_required(client, people):
    response = post(client, people, new_external_region="广东省深圳市")

    assert codes(response, "new_external_name") == ["required"]
    assert not RelationshipTransfer.objects.exists()
    assert ExternalOrganisation.objects.count() == 1


def test_nothing_chosen_and_nothing_typed_asks_for_the_name(client, people):
    response = post(client, people)

    assert codes(response, "new_external_name") == ["required"]
    with translation.override("en"):  # the message names what is missing
        message = str(response.context["form"].errors["new_external_name"][0])
    assert "name of the receiving organisation" in message


def test_a_half_typed_organisation_is_told_everything_missing_at_once(client, people):
    response = post(client, people, new_external_contact_person="陈主任")

    assert codes(response, "new_external_name") == ["required"]
    assert codes(response, "new_external_region") == ["required"]


def test_the_new_organisation_needs_its_region(client, people):
    response = post(client, people, new_external_name="前海社区党委")

    assert codes(response, "new_external_region") == ["required"]
    assert not ExternalOrganisation.objects.filter(name="前海社区党委").exists()


@pytest.mark.parametrize("listed", ["to_organisation", "to_external"])
def test_a_listed_and_a_new_organisation_together_are_refused(client, people, listed):
    choice = people.branch_a2.pk if listed == "to_organisation" else people.listed.pk
    response = post(client, people, **{listed: choice}, **NEW)

    assert codes(response, "new_external_name") == ["both"]
    assert not RelationshipTransfer.objects.exists()
    assert not ExternalOrganisation.objects.filter(name="前海社区党委").exists()


def test_the_new_organisations_phone_is_checked_like_every_phone(client, people):
    response = post(client, people, **{**NEW, "new_external_phone": "12345"})

    assert codes(response, "new_external_phone") == ["phone"]
    assert "请输入11位大陆手机号码" in response.content.decode()  # the members' message
    assert not ExternalOrganisation.objects.filter(name="前海社区党委").exists()


def test_the_phone_of_the_new_organisation_is_optional(client, people):
    post(client, people, **{**NEW, "new_external_phone": "", "new_external_contact_person": ""})

    organisation = ExternalOrganisation.objects.get(name="前海社区党委")
    assert (organisation.contact_person, organisation.phone) == ("", "")


def test_an_organisation_already_listed_is_not_added_twice(client, people):
    response = post(
        client, people, new_external_name="深圳某党支部", new_external_region="广东省深圳市"
    )

    assert codes(response, "new_external_name") == ["listed"]
    assert ExternalOrganisation.objects.count() == 1


def test_the_service_refuses_both_and_adds_nothing_when_it_refuses(people):
    new = services.NewExternalOrganisation(name="前海社区党委", region="广东省深圳市")
    with pytest.raises(StepRefused):
        services.transfer_request(
            actor=people.sec_a,
            member=people.away,
            reason="r",
            to_external=people.listed,
            new_external=new,
        )
    services.transfer_request(
        actor=people.sec_a, member=people.away, reason="r", to_organisation=people.branch_a2
    )
    # A member with a transfer in progress: refused, and the organisation is not added.
    with translation.override("en"), pytest.raises(StepRefused, match="in progress"):
        services.transfer_request(
            actor=people.sec_a, member=people.away, reason="r", new_external=new
        )
    assert not ExternalOrganisation.objects.filter(name="前海社区党委").exists()


def test_the_service_checks_what_it_is_given(people):
    def request(**new):
        return services.transfer_request(
            actor=people.sec_a,
            member=people.away,
            reason="r",
            new_external=services.NewExternalOrganisation(**new),
        )

    with translation.override("en"):  # each message names the field
        with pytest.raises(StepRefused, match="enter its name"):
            request(name=" ", region="广东省")
        with pytest.raises(StepRefused, match="Region"):
            request(name="前海社区党委", region="")
        with pytest.raises(StepRefused, match="^.*phone: Enter a mainland"):
            request(name="前海社区党委", region="广东省", phone="12345")
        with pytest.raises(StepRefused, match="organisation name: "):
            request(name="前" * 101, region="广东省")
        with pytest.raises(StepRefused, match="already listed"):
            request(name="深圳某党支部", region="广东省深圳市")
    with pytest.raises(StepRefused):  # another branch's member
        services.transfer_request(
            actor=people.sec_b,
            member=people.away,
            reason="r",
            new_external=services.NewExternalOrganisation(name="前海社区党委", region="广东省"),
        )
    assert ExternalOrganisation.objects.count() == 1


# --- what the reviewer reads before approving -------------------------------------------------


def certificate_with_history(people) -> ActivityCertificate:
    old = ActivityCertificate.objects.create(
        number="C-OLD",
        member=people.away,
        issuing_branch=people.branch_a,
        stamping_committee=people.township_a,
        issued_on=date(2023, 2, 1),
        reason="务工",
        destination="广东省深圳市",
        status=ActivityCertificate.Status.RETURNED,
        ended_on=date(2024, 1, 15),
    )
    CertificateReview.objects.create(
        certificate=old, year=2023, reviewed_on=date(2023, 12, 20), result="passed"
    )
    return ActivityCertificate.objects.create(
        number="C-NEW",
        member=people.away,
        issuing_branch=people.branch_a,
        stamping_committee=people.township_a,
        issued_on=date(2025, 3, 2),
        reason="务工",
        destination="广东省深圳市",
    )


def pay(people, to_month: date, **paid_to):
    return DuesPayment.objects.create(
        member=people.away,
        from_month=to_month.replace(day=1),
        to_month=to_month,
        amount=Decimal("12.00"),
        paid_on=to_month + timedelta(days=3),
        method="wechat",
        recorded_by=people.sec_a,
        **(paid_to or {"paid_to": people.branch_a}),
    )


def submitted(people) -> RelationshipTransfer:
    return services.transfer_request(
        actor=people.sec_a, member=people.away, reason="r", to_external=people.listed
    )


def test_the_reviewer_sees_time_away_dues_and_certificate_history(client, people):
    certificate_with_history(people)
    pay(people, date(2026, 1, 1))
    pay(people, date(2026, 4, 1), paid_to_external=people.listed)
    transfer = submitted(people)

    client.force_login(people.rev_a)
    response = client.get(reverse("transfers:transfer_detail", args=[transfer.pk]))
    facts = response.context["facts"]
    assert (facts.time_away.years, facts.time_away.months) == (1, 3)
    with translation.override("en"):
        assert str(facts.time_away) == "1 year 3 months"
    assert facts.dues.paid_until == date(2026, 4, 1)
    assert facts.dues.paid_to == people.listed
    page = response.content.decode()
    section = page[page.index('id="review-facts"') :]
    assert people.episode.left_on.isoformat() in section
    assert "2026-04" in section and "深圳某党支部" in section  # paid up to, and to whom
    for when in ("2023-02-01", "2023-12-20", "2024-01-15", "2025-03-02"):
        assert when in section  # issued, reviewed, returned; the current one issued
    assert "C-OLD" in section and "C-NEW" in section


def test_time_away_in_words():
    from transfers.selectors import TimeAway

    def away(left_on: date, today: date) -> str:
        with translation.override("en"):
            return str(TimeAway.between(left_on, today))

    assert away(date(2025, 1, 31), date(2025, 2, 27)) == "less than a month"
    # Months end where the Civil-Code periods of members/periods.py end: 31 January + 1 month
    # is 28 February, 29 February + 1 year is 28 February.
    assert away(date(2025, 1, 31), date(2025, 2, 28)) == "1 month"
    assert away(date(2024, 2, 29), date(2025, 2, 28)) == "1 year"
    assert away(date(2020, 5, 1), date(2025, 4, 30)) == "4 years 11 months"
    assert away(date(2020, 5, 1), date(2025, 5, 1)) == "5 years"
    assert away(date(2026, 5, 1), date(2025, 5, 1)) == "less than a month"  # not in the past


def test_the_letter_form_starts_from_the_last_month_paid(client, people):
    pay(people, date(2026, 4, 1))
    transfer = submitted(people)
    url = reverse("transfers:transfer_approve", args=[transfer.pk])
    client.force_login(people.rev_a)

    form = client.get(url).context["form"]
    assert form["dues_paid_until"].value() == "2026-04"
    assert 'value="2026-04"' in client.get(url).content.decode()


def test_the_imported_ledger_fills_the_month_when_nothing_later_is_recorded(client, people):
    EvidenceBaseline.objects.create(
        member=people.away, since=date(2025, 1, 1), dues_paid_to=date(2025, 12, 1)
    )
    transfer = submitted(people)
    client.force_login(people.rev_a)
    url = reverse("transfers:transfer_approve", args=[transfer.pk])
    assert client.get(url).context["form"]["dues_paid_until"].value() == "2025-12"
    pay(people, date(2026, 2, 1))
    assert client.get(url).context["form"]["dues_paid_until"].value() == "2026-02"


def test_nothing_known_leaves_the_month_to_the_reviewer(client, people):
    transfer = submitted(people)
    client.force_login(people.rev_a)
    response = client.get(reverse("transfers:transfer_approve", args=[transfer.pk]))
    assert response.context["form"]["dues_paid_until"].value() in (None, "")
    detail = client.get(reverse("transfers:transfer_detail", args=[transfer.pk]))
    assert detail.context["facts"].dues.paid_until is None


def test_a_branch_that_only_hosts_the_member_does_not_get_the_facts(client, people):
    people.episode.inflow_organisation = people.branch_b
    people.episode.save()
    transfer = submitted(people)
    client.force_login(people.sec_b)
    response = client.get(reverse("transfers:transfer_detail", args=[transfer.pk]))
    assert response.status_code == 200 and response.context["facts"] is None
    assert 'id="review-facts"' not in response.content.decode()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_secretaries_adding_the_same_organisation_at_once_add_it_once(people):
    other = people.member(people.branch_a, name="另一名外出党员")
    barrier = threading.Barrier(2)
    outcomes = []

    def ask(member):
        barrier.wait()
        try:
            services.transfer_request(
                actor=people.sec_a,
                member=member,
                reason="r",
                new_external=services.NewExternalOrganisation(
                    name="前海社区党委", region="广东省深圳市"
                ),
            )
            outcomes.append("submitted")
        except StepRefused:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=ask, args=(m,)) for m in (people.away, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused", "submitted"]
    assert ExternalOrganisation.objects.filter(name="前海社区党委").count() == 1
    assert RelationshipTransfer.objects.count() == 1
