"""Issue #19: 在线报到 — the member reports where they arrived; home confirms, inflow accepts."""

from datetime import timedelta

import pytest
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from ledgers.models import ContactAttempt, LedgerRecord
from members.models import ExternalOrganisation, Organisation
from members.selectors import members_visible_to
from selfservice import check_in
from selfservice.models import CheckIn, MemberMessage
from transfers.models import MobilityEpisode

from .selfservice_helpers import sign_in

TODAY = timezone.localdate()
PAGE = "selfservice:check_in"


def branch(county, **fields) -> Organisation:
    township_b = Organisation.objects.get(pk=county.township_b.pk)
    return Organisation.objects.add_child(township_b, {"kind": Organisation.Kind.BRANCH, **fields})


@pytest.fixture
def town(county):
    county.shenzhen = branch(county, name="龙华流动党员党支部", region="广东省深圳市")
    county.hangzhou = branch(county, name="杭州流动党员党支部", region="浙江省杭州市")
    county.external = ExternalOrganisation.objects.create(
        name="南山区科技园党委", region="广东省深圳市"
    )
    county.away = county.member(county.branch_a, name="李流动", phone="13912345678")
    county.sec_a = county.secretary(county.branch_a, "sec_a")
    county.sec_sz = county.secretary(county.shenzhen, "sec_sz")
    county.sec_b = county.secretary(county.branch_b, "sec_b")
    return county


def answers(**changes) -> dict:
    data = {"destination": "深圳", "workplace": "顺丰速运", "phone": "13800001111"}
    return {**data, **changes}


def submit(client, town, organisation: str, **changes):
    data = {**answers(**changes), "step": "submit", "organisation": organisation}
    return client.post(reverse(PAGE), data)


def decide(client, user, item, **data):
    """Posted by a staff user on their own browser (the member's stays signed in)."""
    staff = Client()
    staff.force_login(user)
    return staff.post(reverse("selfservice:check_in_decide", args=[item.pk]), data)


def accept(client, user, item, **data):
    staff = Client()
    staff.force_login(user)
    return staff.post(reverse("selfservice:check_in_accept", args=[item.pk]), data)


def test_the_city_is_read_like_elsewhere_and_offers_the_organisations_there(client, town):
    sign_in(client, town.away)
    for typed in ("深圳", "广东省深圳市", "广东深圳南山区"):
        response = client.post(reverse(PAGE), answers(destination=typed, step="place"))
        values = [
            v for v, _label in response.context["organisation_form"].fields["organisation"].choices
        ]
        assert f"org:{town.shenzhen.pk}" in values and f"ext:{town.external.pk}" in values
        assert f"org:{town.hangzhou.pk}" not in values and f"org:{town.branch_b.pk}" not in values
        assert {"other", "unknown"} <= set(values)
    assert not CheckIn.objects.exists()


def test_at_most_thirty_organisations_are_offered(client, town):
    for number in range(35):
        branch(town, name=f"深圳第{number:02d}支部")
    sign_in(client, town.away)
    response = client.post(reverse(PAGE), answers(step="place"))
    assert len(response.context["organisation_form"].fields["organisation"].choices) == 32
    assert response.context["more"] and "只列出前30个" in response.content.decode()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"destination": "火星基地"}, "未能识别“火星基地”"),
        ({"destination": "广东省杭州市"}, "杭州市不是广东省下辖的城市"),
        ({"destination": "广东省"}, "请写明是广东省的哪个城市"),
        ({"destination": ""}, "请填写您所在的城市"),
        ({"workplace": ""}, "请填写工作单位或学校"),
        ({"phone": "123"}, "请填写11位手机号"),
    ],
)
def test_bad_input_is_explained_and_what_was_typed_is_kept(client, town, changes, message):
    sign_in(client, town.away)
    for step in ("place", "submit"):
        data = {**answers(**changes), "step": step, "organisation": "unknown"}
        page = client.post(reverse(PAGE), data).content.decode()
        assert message in page
        assert "顺丰速运" in page or not data["workplace"]
    assert not CheckIn.objects.exists() and not ContactAttempt.objects.exists()


def test_a_typed_organisation_needs_its_name_and_a_forged_one_is_refused(client, town):
    sign_in(client, town.away)
    assert "请填写党组织的名称" in submit(client, town, "other").content.decode()
    forged = submit(client, town, f"org:{town.branch_b.pk}").content.decode()
    assert "请从列表中选择党组织" in forged
    assert not CheckIn.objects.exists()
    submit(client, town, "other", other_name="宝安区物流园党支部")
    item = CheckIn.objects.get()
    assert (item.inflow_organisation, item.inflow_name) == (None, "宝安区物流园党支部")


def test_submitting_is_a_sign_of_life_at_once(client, town, monkeypatch):
    changed = []
    monkeypatch.setattr(check_in, "evidence_changed", lambda member_ids: changed.append(member_ids))
    sign_in(client, town.away)
    response = submit(client, town, f"org:{town.shenzhen.pk}")
    assert response.status_code == 302
    item = CheckIn.objects.get()
    assert (item.member, item.destination, item.status) == (town.away, "广东省深圳市", "pending")
    assert item.inflow_organisation == town.shenzhen
    contact = ContactAttempt.objects.get()
    assert (contact.channel, contact.reached, contact.on, contact.recorded_by) == (
        "check_in",
        True,
        TODAY,
        None,
    )
    assert changed == [[town.away.pk]]


def test_a_repeated_check_in_gets_a_clear_message(client, town):
    sign_in(client, town.away)
    submit(client, town, "unknown")
    again = submit(client, town, "unknown", destination="广东省深圳市").content.decode()
    assert "您已提交过报到，正在等待党支部确认" in again
    elsewhere = submit(client, town, "unknown", destination="杭州").content.decode()
    assert "您已提交过到广东省深圳市的报到" in elsewhere
    assert CheckIn.objects.count() == 1 and ContactAttempt.objects.count() == 1


def test_end_to_end_home_confirms_inflow_accepts_and_the_member_sees_both(client, town):
    sign_in(client, town.away)
    submit(client, town, f"org:{town.shenzhen.pk}")
    item = CheckIn.objects.get()
    assert list(check_in.pending_home_for(town.sec_a)) == [item]
    assert list(check_in.pending_inflow_for(town.sec_sz)) == [item]
    assert not check_in.pending_for(town.sec_b).exists()

    # No episode yet: the secretary says what kind of stay it is, then the ledger has it all.
    decide(client, town.sec_a, item, confirm="1", mobility_type="work", next="/self-service/")
    item.refresh_from_db()
    town.away.refresh_from_db()
    assert (item.status, item.decided_by) == ("confirmed", town.sec_a)
    episode = MobilityEpisode.objects.current().get(member=town.away)
    assert (episode.destination_province, episode.destination_city, episode.employer) == (
        "广东省",
        "深圳市",
        "顺丰速运",
    )
    assert (episode.mobility_type, episode.left_on, episode.inflow_organisation) == (
        "work",
        TODAY,
        None,
    )
    assert town.away.phone == "13800001111"
    record = LedgerRecord.objects.get(member=town.away)
    assert record.where_confirmed_on == record.contact_confirmed_on == TODAY
    told = MemberMessage.objects.get(key=f"check-in:{item.pk}:home:confirmed").values
    assert told["result"] == "已由党支部确认"
    assert town.away not in members_visible_to(town.sec_sz)

    accept(client, town.sec_sz, item, accept="1")
    item.refresh_from_db()
    episode.refresh_from_db()
    assert (item.inflow_status, episode.inflow_organisation) == ("confirmed", town.shenzhen)
    assert town.away in members_visible_to(town.sec_sz)  # the inflow side now hosts them
    assert MemberMessage.objects.filter(key=f"check-in:{item.pk}:inflow:confirmed").exists()
    assert not check_in.pending_for(town.sec_a).exists()
    assert not check_in.pending_for(town.sec_sz).exists()

    page = client.get(reverse(PAGE)).content.decode()
    assert "已确认" in page and "已接收" in page and "龙华流动党员党支部" in page


def test_confirming_without_an_episode_needs_the_kind_of_stay(client, town):
    sign_in(client, town.away)
    submit(client, town, "unknown")
    item = CheckIn.objects.get()
    response = decide(client, town.sec_a, item, confirm="1")
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.status == "pending" and not MobilityEpisode.objects.exists()
    assert not LedgerRecord.objects.filter(member=town.away).exists()


def test_a_check_in_in_another_city_moves_the_episode(client, town):
    old = MobilityEpisode.objects.create(
        member=town.away,
        mobility_type="study",
        left_on=TODAY - timedelta(days=300),
        destination_province="浙江省",
        destination_city="杭州市",
        occupation="学生",
        inflow_organisation=town.hangzhou,
    )
    sign_in(client, town.away)
    submit(client, town, "unknown")
    decide(client, town.sec_a, CheckIn.objects.get(), confirm="1")
    old.refresh_from_db()
    assert (old.ended_on, old.end_reason) == (TODAY, "moved")
    new = MobilityEpisode.objects.current().get(member=town.away)
    assert (new.destination_city, new.mobility_type, new.occupation) == ("深圳市", "study", "学生")
    assert (new.employer, new.inflow_organisation) == ("顺丰速运", None)


def test_a_check_in_in_the_same_city_updates_the_ledger_and_keeps_the_district(client, town):
    episode = MobilityEpisode.objects.create(
        member=town.away,
        mobility_type="work",
        left_on=TODAY - timedelta(days=30),
        destination_province="广东省",
        destination_city="深圳市",
        destination_county="南山区",
        employer="旧公司",
    )
    sign_in(client, town.away)
    submit(client, town, f"ext:{town.external.pk}")
    decide(client, town.sec_a, CheckIn.objects.get(), confirm="1")
    episode.refresh_from_db()
    town.away.refresh_from_db()
    assert MobilityEpisode.objects.count() == 1 and episode.ended_on is None
    assert (episode.destination_county, episode.employer) == ("南山区", "顺丰速运")
    assert episode.inflow_external == town.external  # no one here accepts for an external one
    assert town.away.phone == "13800001111"


def test_returning_needs_a_reason_tells_the_member_and_lets_them_check_in_again(client, town):
    sign_in(client, town.away)
    submit(client, town, f"org:{town.shenzhen.pk}")
    item = CheckIn.objects.get()
    decide(client, town.sec_a, item, confirm="0")
    item.refresh_from_db()
    assert item.status == "pending"
    decide(client, town.sec_a, item, confirm="0", reason="单位名称不全")
    item.refresh_from_db()
    assert (item.status, item.reason) == ("returned", "单位名称不全")
    message = MemberMessage.objects.get(key=f"check-in:{item.pk}:home:returned")
    assert message.values["reason"] == "单位名称不全"
    assert not check_in.pending_for(town.sec_sz).exists()  # nothing left to accept
    page = client.get(reverse(PAGE)).content.decode()
    assert "已退回" in page and "单位名称不全" in page
    assert submit(client, town, "unknown").status_code == 302
    assert CheckIn.objects.count() == 2
    town.away.refresh_from_db()
    assert town.away.phone == "13912345678" and not MobilityEpisode.objects.exists()


def test_a_decision_twice_gets_a_message_not_an_error(client, town):
    sign_in(client, town.away)
    submit(client, town, "unknown")
    item = CheckIn.objects.get()
    decide(client, town.sec_a, item, confirm="0", reason="请补充")
    staff = Client()
    staff.force_login(town.sec_a)
    response = staff.post(
        reverse("selfservice:check_in_decide", args=[item.pk]),
        {"confirm": "1", "mobility_type": "work"},
        follow=True,
    )
    assert "该报到已处理" in response.content.decode()
    assert not MobilityEpisode.objects.exists()


def test_the_inflow_side_declines_with_a_reason_and_hosts_nobody(client, town):
    sign_in(client, town.away)
    submit(client, town, f"org:{town.shenzhen.pk}")
    item = CheckIn.objects.get()
    accept(client, town.sec_sz, item, accept="0")
    item.refresh_from_db()
    assert item.inflow_status == "pending"
    accept(client, town.sec_sz, item, accept="0", reason="本支部不在该区")
    item.refresh_from_db()
    assert item.inflow_status == "returned"
    assert MemberMessage.objects.get(key=f"check-in:{item.pk}:inflow:returned")
    decide(client, town.sec_a, item, confirm="1", mobility_type="work")
    episode = MobilityEpisode.objects.current().get(member=town.away)
    assert episode.inflow_organisation is None
    page = client.get(reverse(PAGE)).content.decode()
    assert "未接收" in page and "本支部不在该区" in page


def test_accepted_before_home_confirms_hosts_once_home_confirms(client, town):
    sign_in(client, town.away)
    submit(client, town, f"org:{town.shenzhen.pk}")
    item = CheckIn.objects.get()
    accept(client, town.sec_sz, item, accept="1")
    assert not MobilityEpisode.objects.exists()
    decide(client, town.sec_a, item, confirm="1", mobility_type="temporary")
    episode = MobilityEpisode.objects.current().get(member=town.away)
    assert episode.inflow_organisation == town.shenzhen


def test_staff_outside_either_side_get_404_and_nothing_changes(client, town):
    sign_in(client, town.away)
    submit(client, town, f"org:{town.shenzhen.pk}")
    item = CheckIn.objects.get()
    assert decide(client, town.sec_b, item, confirm="1", mobility_type="work").status_code == 404
    assert decide(client, town.sec_sz, item, confirm="1", mobility_type="work").status_code == 404
    assert accept(client, town.sec_b, item, accept="1").status_code == 404
    assert accept(client, town.sec_a, item, accept="1").status_code == 404
    item.refresh_from_db()
    assert (item.status, item.inflow_status) == ("pending", "pending")


def test_the_member_sees_only_their_own_check_ins(client, town):
    other = town.member(town.branch_a, name="王其他", phone="13700000000")
    CheckIn.objects.create(member=other, destination="浙江省杭州市", workplace="别家", phone="1")
    sign_in(client, town.away)
    submit(client, town, "unknown")
    page = client.get(reverse(PAGE)).content.decode()
    assert "顺丰速运" in page and "别家" not in page and "浙江省杭州市" not in page
    tile = check_in.tile(town.away)
    assert (tile["title"], tile["waiting"], tile["url"]) == ("在线报到", 1, reverse(PAGE))
    assert "广东省深圳市" in tile["line"]


def test_the_inbox_fragment_posts_to_the_decisions_and_back(client, town):
    sign_in(client, town.away)
    submit(client, town, f"org:{town.shenzhen.pk}")
    item = CheckIn.objects.get()
    request = RequestFactory().get("/self-service/")
    html = render_to_string(
        "selfservice/inbox/check_in.html",
        {"rows": check_in.pending_for(town.sec_a), "request": request},
    )
    assert reverse("selfservice:check_in_decide", args=[item.pk]) in html
    assert 'name="mobility_type"' in html and "check_in_accept" not in html
    assert reverse("selfservice:check_in_accept", args=[item.pk]) not in html
    inflow = render_to_string(
        "selfservice/inbox/check_in.html",
        {"rows": check_in.pending_inflow_for(town.sec_sz), "request": request},
    )
    assert reverse("selfservice:check_in_accept", args=[item.pk]) in inflow
    assert reverse("selfservice:check_in_decide", args=[item.pk]) not in inflow
    response = decide(
        client, town.sec_a, item, confirm="0", reason="x", next="https://evil.example/"
    )
    assert response["Location"] == reverse("selfservice:inbox")


def test_the_member_withdraws_a_wrong_check_in_and_sends_the_right_one(client, town):
    sign_in(client, town.away)
    submit(client, town, f"org:{town.shenzhen.pk}")
    wrong = CheckIn.objects.get()
    contacts = ContactAttempt.objects.filter(member=town.away).count()
    refused = submit(client, town, f"org:{town.hangzhou.pk}", destination="杭州")
    assert "请先在下方撤回该报到" in refused.content.decode()
    assert "撤回这次报到" in client.get(reverse(PAGE)).content.decode()

    response = client.post(reverse("selfservice:check_in_withdraw", args=[wrong.pk]))
    assert response.status_code == 302
    wrong.refresh_from_db()
    assert (wrong.status, wrong.inflow_status) == ("withdrawn", "withdrawn")
    assert not check_in.pending_for(town.sec_a).exists()
    assert not check_in.pending_for(town.sec_sz).exists()
    # The sign of life it was stays; the history says it was withdrawn.
    assert ContactAttempt.objects.filter(member=town.away).count() == contacts
    assert wrong.history.latest().status == "withdrawn"
    assert "已撤回" in client.get(reverse(PAGE)).content.decode()
    assert "深圳市：已撤回" in client.get(reverse("selfservice:home")).content.decode()
    staff = Client()
    staff.force_login(town.sec_a)
    member_page = staff.get(reverse("members:detail", args=[town.away.pk])).content.decode()
    assert "党员已撤回" in member_page

    submit(client, town, f"org:{town.hangzhou.pk}", destination="杭州")
    right = CheckIn.objects.exclude(pk=wrong.pk).get()
    assert right.inflow_organisation == town.hangzhou and right.status == "pending"


def test_declined_there_the_member_withdraws_and_sends_another(client, town):
    """The organisation there declined while home has not decided: not stuck, the member
    withdraws it and checks in to the right one."""
    sign_in(client, town.away)
    submit(client, town, f"org:{town.shenzhen.pk}")
    item = CheckIn.objects.get()
    accept(client, town.sec_sz, item, accept="0", reason="不在本支部")
    assert "撤回这次报到" in client.get(reverse(PAGE)).content.decode()
    client.post(reverse("selfservice:check_in_withdraw", args=[item.pk]))
    item.refresh_from_db()
    assert (item.status, item.inflow_status) == ("withdrawn", "returned")
    submit(client, town, "unknown")
    assert CheckIn.objects.filter(status="pending").count() == 1


def test_a_decided_check_in_cannot_be_withdrawn_and_the_branch_cannot_be_skipped(client, town):
    sign_in(client, town.away)
    submit(client, town, f"org:{town.shenzhen.pk}")
    item = CheckIn.objects.get()
    accept(client, town.sec_sz, item, accept="0", reason="我们这里没有这位同志")
    decide(client, town.sec_a, item, confirm="0", reason="请重新选择当地党组织")
    response = client.post(reverse("selfservice:check_in_withdraw", args=[item.pk]), follow=True)
    assert "不能撤回" in response.content.decode()
    item.refresh_from_db()
    assert (item.status, item.inflow_status) == ("returned", "returned")
    # Withdrawn, a check-in is no longer the branch's to decide.
    other = check_in.submit(
        member=town.member(town.branch_a, name="王流动"),
        place=check_in.read_place("杭州"),
        workplace="",
        phone="13900000000",
        inflow_organisation=town.hangzhou,
    )
    check_in.withdraw(member=other.member, check_in=other)
    decide(client, town.sec_a, other, confirm="1", mobility_type="work")
    accept(client, town.secretary(town.hangzhou, "sec_hz"), other, accept="1")
    other.refresh_from_db()
    assert (other.status, other.inflow_status) == ("withdrawn", "withdrawn")
    assert not MobilityEpisode.objects.filter(member=other.member).exists()


# --- abroad (出国（境）) -------------------------------------------------------------------------


def test_a_member_abroad_checks_in_with_the_country_and_no_organisation_to_choose(client, town):
    sign_in(client, town.away)
    # Not ticked: a place the parser does not know says how to report from abroad.
    response = client.post(reverse(PAGE), {**answers(destination="日本东京"), "step": "place"})
    assert "请勾选“我在境外”" in response.content.decode()
    ticked = {**answers(destination="深圳", workplace="东京大学"), "abroad": "on", "step": "place"}
    assert "是境内地点" in client.post(reverse(PAGE), ticked).content.decode()
    assert not CheckIn.objects.exists()

    ticked["destination"] = "日本 东京"
    response = client.post(reverse(PAGE), ticked)
    assert response.status_code == 302  # sent at once: no Party organisation to join abroad
    item = CheckIn.objects.get()
    assert (item.destination, item.workplace, item.inflow_organisation, item.inflow_name) == (
        "日本东京",
        "东京大学",
        None,
        "",
    )
    contact = ContactAttempt.objects.get(member=town.away)
    assert contact.reached and contact.channel == ContactAttempt.Channel.CHECK_IN
    assert "日本东京" in client.get(reverse(PAGE)).content.decode()


def test_home_confirms_an_abroad_check_in_as_a_stay_abroad(client, town):
    home = MobilityEpisode.objects.create(
        member=town.away,
        mobility_type="work",
        left_on=TODAY - timedelta(days=300),
        destination_province="浙江省",
        destination_city="杭州市",
    )
    sign_in(client, town.away)
    client.post(
        reverse(PAGE),
        {**answers(destination="日本东京", workplace="东京大学"), "abroad": "on", "step": "place"},
    )
    item = CheckIn.objects.get()
    decide(client, town.sec_a, item, confirm="1")
    item.refresh_from_db()
    assert item.status == "confirmed"
    home.refresh_from_db()
    assert (home.ended_on, home.end_reason) == (TODAY, "moved")
    abroad = MobilityEpisode.objects.current().get(member=town.away)
    assert (abroad.mobility_type, abroad.destination_country, abroad.employer) == (
        "abroad",
        "日本东京",
        "东京大学",
    )
    assert abroad.destination_province == "" and abroad.abroad_purpose == ""
    record = LedgerRecord.objects.get(member=town.away)
    assert record.where_confirmed_on == TODAY and record.where_confirmed_by == town.sec_a

    # Later, from the same stay abroad: the episode stays, the ledger is confirmed again.
    CheckIn.objects.update(status="withdrawn")
    client.post(
        reverse(PAGE),
        {**answers(destination="日本", workplace="东京大学"), "abroad": "on", "step": "place"},
    )
    decide(client, town.sec_a, CheckIn.objects.get(status="pending"), confirm="1")
    assert MobilityEpisode.objects.current().get(member=town.away).pk == abroad.pk


def test_a_stay_in_india_is_not_a_stay_in_indonesia(client, town):
    india = MobilityEpisode.objects.create(
        member=town.away,
        mobility_type="abroad",
        left_on=TODAY - timedelta(days=300),
        destination_country="印度",
    )
    sign_in(client, town.away)
    client.post(
        reverse(PAGE),
        {**answers(destination="印度尼西亚雅加达"), "abroad": "on", "step": "place"},
    )
    item = CheckIn.objects.get()
    assert item.abroad and item.destination == "印度尼西亚雅加达"
    decide(client, town.sec_a, item, confirm="1")
    india.refresh_from_db()
    assert india.end_reason == "moved"
    now = MobilityEpisode.objects.current().get(member=town.away)
    assert now.destination_country == "印度尼西亚雅加达"
    assert check_in._same_country("日本", "日本东京") and check_in._same_country(
        "几内亚比绍", "几内亚比绍比绍"
    )
    assert not check_in._same_country("几内亚", "几内亚比绍")


def test_an_abroad_place_too_long_says_so(client, town):
    sign_in(client, town.away)
    response = client.post(
        reverse(PAGE), {**answers(destination="很" * 60), "abroad": "on", "step": "place"}
    )
    assert "国家（地区）和城市最多50个字" in response.content.decode()
