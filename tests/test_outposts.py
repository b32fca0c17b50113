"""Issue #20: outposts (驻外党建工作站) in an inflow city, and the mobile-member branches and
groups under them, which host the county's members from any home branch."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from activities import selectors as life_selectors
from activities import services as life_services
from activities.models import Activity, Attendance
from infrastructure.steps import StepRefused
from ledgers.evidence import signs_of_life
from members.models import ExternalOrganisation, Member, Organisation
from members.selectors import (
    member_branch_choices,
    member_get_for_edit,
    member_is_hosted_for,
    members_editable_by,
    members_visible_to,
    organisation_in_scope,
    require_editable,
)
from transfers import outposts, services
from transfers.models import MobilityEpisode

TODAY = timezone.localdate()
Kind = Organisation.Kind


def away(member: Member, *, province="广东省", city="深圳市", **fields) -> MobilityEpisode:
    return MobilityEpisode.objects.create(
        member=member,
        mobility_type=MobilityEpisode.Type.WORK,
        left_on=TODAY - timedelta(days=120),
        destination_province=province,
        destination_city=city,
        **fields,
    )


@pytest.fixture
def shenzhen(county):
    """Three members of three home branches in 深圳, one more of branch A in 杭州."""
    members = [
        county.member(county.branch_a, name="深圳甲"),
        county.member(county.branch_a2, name="深圳乙"),
        county.member(county.branch_b, name="深圳丙"),
    ]
    for member in members:
        away(member)
    away(county.member(county.branch_a, name="杭州丁"), province="浙江省", city="杭州市")
    return members


@pytest.fixture
def county_reviewer(county):
    return county.reviewer(county.county, "county-rev")


def form_branch(county, reviewer, members) -> Organisation:
    return outposts.group_proposal_confirm(
        actor=reviewer,
        root=county.county,
        province="广东省",
        city="深圳市",
        member_ids={m.pk for m in members},
        kind=Kind.BRANCH,
        name="测试县驻深圳流动党员党支部",
    )


# --- setting up an outpost ----------------------------------------------------------------


def test_a_county_reviewer_sets_up_an_outpost_that_holds_no_relationships(county, county_reviewer):
    outpost = outposts.outpost_set_up(
        actor=county_reviewer, county=county.county, province="广东省", city="深圳"
    )
    assert (
        outpost.kind == Kind.OUTPOST and Organisation.objects.get_parent(outpost) == county.county
    )
    assert (outpost.serves_province, outpost.serves_city) == ("广东省", "深圳市")
    assert outpost.name == "测试县驻深圳党建工作站"
    assert not outpost.holds_members and outpost.hosts_members
    assert outpost.history.get().history_user == county_reviewer
    # One per city: a second is refused with the existing one's name.
    with pytest.raises(StepRefused, match="测试县驻深圳党建工作站"):
        outposts.outpost_set_up(
            actor=county_reviewer, county=county.county, province="广东省", city="深圳市"
        )


@pytest.mark.parametrize("who", ["committee", "secretary"])
def test_only_the_county_sets_up_outposts(county, who):
    actor = (
        county.reviewer(county.township_a)
        if who == "committee"
        else county.secretary(county.branch_a)
    )
    with pytest.raises(StepRefused):
        outposts.outpost_set_up(actor=actor, county=county.county, province="广东省", city="深圳市")
    assert not Organisation.objects.filter(kind=Kind.OUTPOST).exists()


def test_an_outpost_needs_a_known_city(county, county_reviewer):
    with pytest.raises(StepRefused):
        outposts.outpost_set_up(
            actor=county_reviewer, county=county.county, province="广东省", city="不存在市"
        )
    with pytest.raises(ValidationError):
        Organisation(name="无城市工作站", kind=Kind.OUTPOST).clean()
    assert not Organisation.objects.filter(kind=Kind.OUTPOST).exists()


# --- the dashboard's proposal -------------------------------------------------------------


def test_the_proposal_lists_exactly_the_members_away_in_the_city(county, shenzhen, county_reviewer):
    proposal = outposts.group_proposal(
        user=county_reviewer, root=county.county, province="广东省", city="深圳市"
    )
    assert {e.member for e in proposal.episodes} == set(shenzhen)
    assert proposal.joining == proposal.episodes and proposal.outpost is None
    assert proposal.may_confirm and proposal.enough
    assert proposal.suggested_kind == Kind.BRANCH
    assert proposal.outpost_name == "测试县驻深圳党建工作站"
    # A township's proposal is its own members only; its reviewer may not confirm.
    township = outposts.group_proposal(
        user=county.reviewer(county.township_a),
        root=county.township_a,
        province="广东省",
        city="深圳市",
    )
    assert {e.member.name for e in township.episodes} == {"深圳甲", "深圳乙"}
    assert not township.may_confirm


def test_confirming_sets_up_the_outpost_and_a_hosting_branch(county, shenzhen, county_reviewer):
    local = ExternalOrganisation.objects.create(name="深圳某园区党支部", region="广东省深圳市")
    external = away(county.member(county.branch_b, name="外部已挂"), inflow_external=local)
    branch = form_branch(county, county_reviewer, [*shenzhen, external.member])

    outpost = Organisation.objects.get_parent(branch)
    assert (
        outpost.kind == Kind.OUTPOST and Organisation.objects.get_parent(outpost) == county.county
    )
    assert branch.kind == Kind.BRANCH and branch.hosts_only
    assert not branch.holds_members and branch.hosts_members
    hosted = MobilityEpisode.objects.current().filter(inflow_organisation=branch)
    assert {e.member for e in hosted} == {*shenzhen, external.member}
    episode = hosted.get(member=shenzhen[0])
    assert episode.history.first().history_user == county_reviewer
    moved = MobilityEpisode.objects.get(pk=external.pk)
    assert moved.inflow_external is None and moved.history.last().inflow_external == local
    # Now served: the proposal for the city has nobody left to join.
    again = outposts.group_proposal(
        user=county_reviewer, root=county.county, province="广东省", city="深圳市"
    )
    assert again.outpost == outpost and again.joining == [] and not again.enough


def test_a_branch_needs_three_full_members_and_a_refusal_writes_nothing(
    county, shenzhen, county_reviewer
):
    Member.objects.filter(pk=shenzhen[0].pk).update(
        category=Member.Category.PROBATIONARY, confirmed_on=None
    )
    with pytest.raises(StepRefused, match="3"):
        form_branch(county, county_reviewer, shenzhen)
    assert not Organisation.objects.filter(kind=Kind.OUTPOST).exists()  # nothing half-written
    assert not MobilityEpisode.objects.filter(inflow_organisation__isnull=False).exists()
    group = outposts.group_proposal_confirm(
        actor=county_reviewer,
        root=county.county,
        province="广东省",
        city="深圳市",
        member_ids={m.pk for m in shenzhen},
        kind=Kind.GROUP,
        name="测试县驻深圳流动党员党小组",
    )
    assert group.kind == Kind.GROUP and group.hosts_only


def test_too_few_or_unlisted_members_are_refused(county, shenzhen, county_reviewer):
    with pytest.raises(StepRefused):
        form_branch(county, county_reviewer, shenzhen[:2])
    at_home = county.member(county.branch_a, name="在家")
    with pytest.raises(StepRefused):
        form_branch(county, county_reviewer, [*shenzhen, at_home])
    assert not Organisation.objects.filter(kind=Kind.OUTPOST).exists()


# --- the outpost's secretary ------------------------------------------------------------


@pytest.fixture
def served(county, shenzhen, county_reviewer):
    branch = form_branch(county, county_reviewer, shenzhen)
    return branch, county.secretary(Organisation.objects.get_parent(branch), "outpost-sec")


def test_the_outpost_secretary_sees_and_serves_but_does_not_edit(county, shenzhen, served):
    branch, secretary = served
    outpost = Organisation.objects.get_parent(branch)
    assert set(members_visible_to(secretary)) == set(shenzhen)
    assert not members_editable_by(secretary).exists()
    assert organisation_in_scope(secretary, outpost) and organisation_in_scope(secretary, branch)
    assert not organisation_in_scope(secretary, county.branch_a)
    assert list(member_branch_choices(user=secretary)) == [branch]  # where life is recorded
    for member in shenzhen:
        assert member_is_hosted_for(user=secretary, member=member)
        with pytest.raises(Http404):
            member_get_for_edit(user=secretary, pk=member.pk)
        with pytest.raises(StepRefused):
            require_editable(secretary, member)
    served_now = outposts.outpost_served(user=secretary, outpost=outpost)
    assert {e.member for e in served_now} == set(shenzhen)
    with pytest.raises(StepRefused):  # the home side's episode is not theirs
        services.episode_end(
            actor=secretary,
            episode=served_now[0],
            ended_on=TODAY,
            reason=MobilityEpisode.EndReason.RETURNED,
        )


def test_attendance_at_the_outpost_branch_counts_for_the_member(county, shenzhen, served):
    branch, secretary = served
    outsider = county.member(county.branch_a, name="不在深圳")
    assert set(life_selectors.roster(branch)) == set(shenzhen)
    activity = life_services.activity_record(
        actor=secretary,
        branch=branch,
        kind=Activity.Kind.THEME_DAY,
        held_on=TODAY,
        title="驻深圳主题党日",
        attendance={m.pk: (Attendance.Status.PRESENT, "", False) for m in shenzhen},
    )
    with pytest.raises(StepRefused):
        life_services.attendance_record(
            actor=secretary,
            activity=activity,
            attendance={outsider.pk: (Attendance.Status.PRESENT, "", False)},
        )
    for member in shenzhen:
        assert life_selectors.last_life_of(member) == TODAY
        assert signs_of_life(member)[0].on == TODAY
    # Each home branch's secretary sees the attendance (the member's rows), not the activity.
    home_secretary = county.secretary(county.branch_b)
    assert not life_selectors.activities_visible_to(home_secretary).exists()
    assert shenzhen[2].attendance.get().activity == activity


def test_a_mobile_branch_holds_no_relationships(county, shenzhen, served, county_reviewer):
    branch, _secretary = served
    newcomer = Member(
        name="不可挂靠",
        gender=Member.Gender.MALE,
        birth_date=date(1990, 1, 1),
        joined_on=date(2015, 7, 1),
        confirmed_on=date(2016, 7, 1),
        home_branch=branch,
    )
    with pytest.raises(ValidationError) as refused:
        newcomer.clean()
    assert "home_branch" in refused.value.message_dict
    with pytest.raises(StepRefused):
        services.transfer_request(
            actor=county_reviewer,
            member=shenzhen[0],
            reason="转入流动党员党支部",
            to_organisation=branch,
        )


# --- pages ----------------------------------------------------------------------------------


def test_the_dashboard_button_leads_to_a_proposal_the_county_confirms(
    client, county, shenzhen, county_reviewer
):
    client.force_login(county_reviewer)
    page = client.get(reverse("reports:dashboard") + f"?org={county.county.pk}")
    propose = reverse("transfers:outpost_propose")
    href = f'{propose}?org={county.county.pk}&amp;place=%7C%E5%B9%BF%E4%B8%9C%E7%9C%81%7C%E6%B7%B1%E5%9C%B3%E5%B8%82"'
    assert href in page.content.decode()

    url = f"{propose}?org={county.county.pk}&place=|广东省|深圳市"
    shown = client.get(url)
    assert shown.status_code == 200
    assert [e.member for e, _j, _c in shown.context["rows"]] == sorted(
        shenzhen, key=lambda m: (m.name, m.pk)
    )
    assert "杭州丁" not in shown.content.decode()
    done = client.post(
        url,
        {
            "kind": Kind.BRANCH,
            "name": "测试县驻深圳流动党员党支部",
            "members": [m.pk for m in shenzhen],
        },
    )
    branch = Organisation.objects.get(name="测试县驻深圳流动党员党支部")
    assert done.status_code == 302
    assert done["Location"] == reverse(
        "transfers:outpost_detail", args=[Organisation.objects.get_parent(branch).pk]
    )
    detail = client.get(done["Location"])
    assert {e.member for e in detail.context["served"]} == set(shenzhen)
    # The button now says the outpost is there.
    again = client.get(reverse("reports:dashboard") + f"?org={county.county.pk}")
    assert next(p for p in again.context["destinations"] if p["count"] == 3)["outpost"] is True


def test_a_branch_secretary_sees_the_proposal_but_cannot_confirm_it(client, county, shenzhen):
    secretary = county.secretary(county.branch_a)
    client.force_login(secretary)
    url = f"{reverse('transfers:outpost_propose')}?org={county.branch_a.pk}&place=|广东省|深圳市"
    assert client.get(url).status_code == 200
    posted = client.post(url, {"kind": Kind.GROUP, "name": "x", "members": [shenzhen[0].pk]})
    assert posted.status_code == 404
    assert not Organisation.objects.filter(kind=Kind.OUTPOST).exists()
    # Another branch's place is not theirs to look at.
    other = f"{reverse('transfers:outpost_propose')}?org={county.branch_b.pk}&place=|广东省|深圳市"
    assert client.get(other).status_code == 404


def test_outpost_pages_are_scoped(client, county, shenzhen, served, county_reviewer):
    branch, secretary = served
    outpost = Organisation.objects.get_parent(branch)
    client.force_login(secretary)
    listing = client.get(reverse("transfers:outpost_list"))
    assert list(listing.context["outposts"]) == [outpost] and not listing.context["may_set_up"]
    assert client.get(reverse("transfers:outpost_new")).status_code == 404
    detail = client.get(reverse("transfers:outpost_detail", args=[outpost.pk]))
    assert {e.member for e in detail.context["served"]} == set(shenzhen)
    assert detail.context["not_yet"] == []
    client.force_login(county.secretary(county.branch_a))
    assert client.get(reverse("transfers:outpost_detail", args=[outpost.pk])).status_code == 404
    assert list(client.get(reverse("transfers:outpost_list")).context["outposts"]) == []


def test_the_county_sets_up_an_outpost_on_its_page_and_bad_input_loses_nothing(
    client, county, county_reviewer
):
    client.force_login(county_reviewer)
    url = reverse("transfers:outpost_new")
    bad = client.post(url, {"county": county.county.pk, "city": "火星", "contact_person": "林"})
    assert bad.status_code == 200 and "广东省深圳市" in bad.content.decode()
    assert bad.context["form"]["contact_person"].value() == "林"
    assert not Organisation.objects.filter(kind=Kind.OUTPOST).exists()
    done = client.post(
        url, {"county": county.county.pk, "city": "广东省深圳市", "contact_person": "林"}
    )
    outpost = Organisation.objects.get(kind=Kind.OUTPOST)
    assert done["Location"] == reverse("transfers:outpost_detail", args=[outpost.pk])
    assert outpost.contact_person == "林" and outpost.serves_city == "深圳市"


# --- the demo ---------------------------------------------------------------------------------


def test_the_demo_county_has_an_outpost_in_shenzhen_with_its_login(db, settings):
    from django.contrib.auth import authenticate
    from django.core.management import call_command
    from django.test import RequestFactory

    call_command("seed_demo")
    outpost = Organisation.objects.get(kind=Kind.OUTPOST)
    assert (outpost.serves_province, outpost.serves_city) == ("广东省", "深圳市")
    assert Organisation.objects.get_parent(outpost).kind == Kind.COUNTY
    login = authenticate(
        RequestFactory().post("/accounts/login/"),
        username="outpost",
        password=settings.DEMO_PASSWORD,
    )
    assert login is not None and login.assignment.organisation == outpost
    served = list(members_visible_to(login))
    assert len({member.home_branch_id for member in served}) >= 3
    assert not members_editable_by(login).exists()
    unit = outposts.outpost_units(outpost).get()
    assert unit.hosts_only and set(life_selectors.roster(unit)) == set(served)


def test_the_outpost_raises_a_service_request_for_a_member_it_hosts(client, county):
    """Issue #20: the outpost's side "raises or answers service requests" for the members it
    serves; honours stay the home side's."""
    from datetime import timedelta

    from django.urls import reverse
    from django.utils import timezone

    from activities.models import ServiceRequest
    from members.models import Organisation
    from transfers.models import MobilityEpisode

    outpost_branch = Organisation.objects.add_child(
        Organisation.objects.get(pk=county.township_b.pk),
        {"name": "驻深圳流动党员党支部", "kind": Organisation.Kind.BRANCH},
    )
    secretary = county.secretary(outpost_branch)
    member = county.member(county.branch_a, name="服务甲")
    MobilityEpisode.objects.create(
        member=member,
        mobility_type="work",
        left_on=timezone.localdate() - timedelta(days=30),
        destination_province="广东省",
        inflow_organisation=outpost_branch,
    )
    client.force_login(secretary)
    answer = client.post(
        reverse("activities:service_request_new", args=[member.pk]),
        {
            "kind": "employment",
            "description": "帮助联系当地人社部门",
            "raised_on": timezone.localdate(),
            "status": "open",
        },
    )
    assert answer.status_code == 302
    assert ServiceRequest.objects.get(member=member).description == "帮助联系当地人社部门"
    assert client.get(reverse("activities:honour_new", args=[member.pk])).status_code == 404


def test_a_ledger_import_cannot_make_a_hosting_only_unit_a_home_branch(county):
    """Issue #20: the import's branch column refuses a mobile-member branch under an outpost
    (it hosts members, it holds none), by name and by code."""
    from django.utils import timezone

    from ledgers.imports.matching import _Context
    from members.models import Organisation

    unit = Organisation.objects.add_child(
        Organisation.objects.get(pk=county.county.pk),
        {"name": "驻深圳流动党员党支部", "kind": Organisation.Kind.BRANCH, "code": "SZLD"},
    )
    Organisation.objects.filter(pk=unit.pk).update(hosts_only=True)
    reviewer = county.reviewer(county.county)
    context = _Context(user=reviewer, default_branch=None, today=timezone.localdate())
    for text in ("驻深圳流动党员党支部", "SZLD"):
        found, error = context.branch_of(text)
        assert found is None and error, text
    assert context.branch_of(county.branch_a.name)[0] == county.branch_a.pk


def test_the_organisation_spreadsheet_knows_the_outposts_words():
    from members.models import Organisation
    from members.resources.organisations import KIND_ALIASES

    for word in ("驻外党建工作站", "工作站"):
        assert KIND_ALIASES[word] == Organisation.Kind.OUTPOST


# --- the inflow side of the five-clears ledger ----------------------------------------------


def test_the_outpost_confirms_the_four_items_it_sees_and_the_home_side_sees_who(
    client, county, shenzhen, served
):
    from ledgers.models import LedgerRecord

    _branch, secretary = served
    member = shenzhen[0]
    client.force_login(secretary)
    page = client.get(reverse("members:detail", args=[member.pk])).content.decode()
    assert "确认本地掌握的四项无变化" in page
    assert reverse("ledgers:item_edit", args=[member.pk, "where"]) in page
    assert reverse("ledgers:item_edit", args=[member.pk, "left"]) not in page
    assert reverse("ledgers:item_edit", args=[member.pk, "contact"]) not in page

    client.post(reverse("ledgers:confirm", args=[member.pk]))  # no items: the four it keeps
    record = LedgerRecord.objects.get(member=member)
    for item in ("where", "occupation", "contact", "conduct"):
        assert getattr(record, f"{item}_confirmed_on") == TODAY
        assert getattr(record, f"{item}_confirmed_by") == secretary
    assert record.left_confirmed_on is None
    assert record.history.latest().history_user == secretary

    client.force_login(county.secretary(county.branch_a, "home-sec"))
    home_page = client.get(reverse("members:detail", args=[member.pk])).content.decode()
    assert f"{TODAY:%Y-%m-%d} · outpost-sec" in home_page


def test_the_outpost_changes_what_the_member_does_but_not_when_they_left(
    client, county, shenzhen, served
):
    from ledgers import services as ledger_services
    from ledgers.models import LedgerRecord

    _branch, secretary = served
    member = shenzhen[0]
    client.force_login(secretary)
    response = client.post(
        reverse("ledgers:item_edit", args=[member.pk, "occupation"]),
        {"occupation": "快递员", "employer": "深圳某快递站"},
    )
    assert response.status_code == 302
    episode = member.mobility_episodes.current().get()
    assert (episode.occupation, episode.employer) == ("快递员", "深圳某快递站")
    assert episode.history.latest().history_user == secretary
    assert LedgerRecord.objects.get(member=member).occupation_confirmed_by == secretary

    # The phone is where the member's sign-in codes go: the hosting side confirms it, no more.
    phone = member.phone
    assert client.get(reverse("ledgers:item_edit", args=[member.pk, "contact"])).status_code == 404
    with pytest.raises(StepRefused, match="sign-in codes|验证码"):
        ledger_services.ledger_update_item(
            actor=secretary,
            member=member,
            item="contact",
            values={"phone": "13000000000"},
            on=TODAY,
        )
    member.refresh_from_db()
    assert member.phone == phone

    left_on = episode.left_on
    assert client.get(reverse("ledgers:item_edit", args=[member.pk, "left"])).status_code == 404
    response = client.post(
        reverse("ledgers:item_edit", args=[member.pk, "left"]), {"left_on": "2020-01-01"}
    )
    assert response.status_code == 404
    with pytest.raises(StepRefused, match="When and why|外出时间"):
        ledger_services.ledger_confirm(actor=secretary, member=member, items=["left"], on=TODAY)
    assert member.mobility_episodes.current().get().left_on == left_on
    assert LedgerRecord.objects.get(member=member).left_confirmed_on is None


def test_reaching_a_hosted_member_confirms_the_contact_for_the_hosting_side(
    county, shenzhen, served
):
    from ledgers import services as ledger_services
    from ledgers.models import ContactAttempt, LedgerRecord

    _branch, secretary = served
    member = shenzhen[1]
    ledger_services.contact_record(
        actor=secretary,
        member=member,
        on=TODAY,
        channel=ContactAttempt.Channel.PHONE,
        reached=True,
    )
    record = LedgerRecord.objects.get(member=member)
    assert (record.contact_confirmed_on, record.contact_confirmed_by) == (TODAY, secretary)


def test_a_branch_that_neither_holds_nor_hosts_the_member_confirms_nothing(county, shenzhen):
    from ledgers import services as ledger_services
    from ledgers.models import LedgerRecord

    stranger = county.secretary(county.branch_b, "b-sec")
    with pytest.raises(StepRefused):
        ledger_services.ledger_confirm(
            actor=stranger, member=shenzhen[0], items=["where"], on=TODAY
        )
    assert not LedgerRecord.objects.filter(member=shenzhen[0], where_confirmed_on=TODAY).exists()


def test_the_inflow_ledger_confirms_the_four_items_from_its_list(client, county, shenzhen, served):
    from ledgers.models import LedgerRecord

    _branch, secretary = served
    client.force_login(secretary)
    page = client.get(reverse("ledgers:ledger") + "?side=inflow").content.decode()
    assert page.count("确认本地四项") == len(shenzhen)
    client.post(
        reverse("ledgers:confirm", args=[shenzhen[2].pk]),
        {"item": ["where", "occupation", "contact", "conduct"]},
    )
    record = LedgerRecord.objects.get(member=shenzhen[2])
    assert record.conduct_confirmed_by == secretary and record.left_confirmed_on is None
