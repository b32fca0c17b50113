"""Issue #19: the member's personal link, the device's proof, and what a link cannot open."""

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from infrastructure import sms
from selfservice import access
from selfservice.models import MemberLink, SignInCode

from .conftest import County
from .selfservice_helpers import messages_go_out, sign_in  # noqa: F401 - a fixture

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("messages_go_out")]


@pytest.fixture
def county():
    return County()


@pytest.fixture
def member(county):
    return county.member(county.branch_a, name="李流动", phone="13912345678", email="li@example.cn")


@pytest.fixture
def secretary(county):
    return county.secretary(county.branch_a)


def _issue(client, secretary, member, action="issue"):
    client.force_login(secretary)
    response = client.post(reverse("selfservice:member_link", args=[member.pk]), {"action": action})
    client.logout()
    return response


def _code_sent_to(number: str) -> str:
    codes = [m.values["code"] for m in sms.outbox if m.to == number and "code" in m.values]
    assert codes, "no code was sent"
    return codes[-1]


def test_secretary_issues_a_link_and_the_member_page_shows_it(client, secretary, member):
    response = _issue(client, secretary, member)
    assert response.status_code == 302
    link = MemberLink.objects.get(member=member)
    client.force_login(secretary)
    page = client.get(reverse("members:detail", args=[member.pk])).content.decode()
    assert access.token_for(link) in page
    assert "<svg" in page  # the QR code for WeChat


def test_new_device_proves_itself_with_the_sms_code(client, secretary, member):
    _issue(client, secretary, member)
    url = access.url_for(MemberLink.objects.get(member=member))
    page = client.get(url)
    assert page.status_code == 200
    text = page.content.decode()
    assert "139****5678" in text and "13912345678" not in text and "李流动" not in text
    assert page["Referrer-Policy"] == "same-origin"
    assert client.get(reverse("selfservice:home")).status_code == 403  # not yet

    client.post(url, {"step": "send", "channel": "sms"})
    wrong = client.post(url, {"step": "code", "code": "000000"})
    assert "验证码不正确" in wrong.content.decode() or _code_sent_to("13912345678") == "000000"
    code = _code_sent_to("13912345678")
    done = client.post(url, {"step": "code", "code": code})
    assert done.status_code == 302 and done["Location"] == reverse("selfservice:home")
    home = client.get(reverse("selfservice:home"))
    assert home.status_code == 200 and "李流动" in home.content.decode()
    # Opening the link again on this device goes straight in.
    assert client.get(url)["Location"] == reverse("selfservice:home")


def test_the_code_goes_by_email_too(client, member, mailoutbox):
    link = access.issue_link(member=member, actor=None)
    client.post(access.url_for(link), {"step": "send", "channel": "email"})
    assert mailoutbox and mailoutbox[-1].to == ["li@example.cn"]
    code = SignInCode.objects.get(member=member).code_digest
    assert code and code not in mailoutbox[-1].body  # only the digest is kept


def test_a_used_or_expired_code_does_not_open(client, member):
    link = access.issue_link(member=member, actor=None)
    url = access.url_for(link)
    client.post(url, {"step": "send", "channel": "sms"})
    code = _code_sent_to(member.phone)
    SignInCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    answer = client.post(url, {"step": "code", "code": code}).content.decode()
    assert "验证码已过期" in answer
    assert client.get(reverse("selfservice:home")).status_code == 403


def test_too_many_wrong_codes_lock_the_member_for_an_hour(client, member):
    link = access.issue_link(member=member, actor=None)
    url = access.url_for(link)
    client.post(url, {"step": "send", "channel": "sms"})
    code = _code_sent_to(member.phone)
    wrong = "111111" if code != "111111" else "222222"
    for _ in range(access.FAILED_TRIES_PER_HOUR):
        client.post(url, {"step": "code", "code": wrong})
    answer = client.post(url, {"step": "code", "code": code}).content.decode()
    assert "尝试次数过多" in answer
    assert client.get(reverse("selfservice:home")).status_code == 403


def test_codes_are_rate_limited(client, member):
    url = access.url_for(access.issue_link(member=member, actor=None))
    for _ in range(access.CODES_PER_HOUR):
        client.post(url, {"step": "send", "channel": "sms"})
    answer = client.post(url, {"step": "send", "channel": "sms"}).content.decode()
    assert "发送过于频繁" in answer
    assert len(sms.outbox) == access.CODES_PER_HOUR


def test_a_member_with_a_landline_only_proves_with_the_id_tail_and_birth_date(client, county):
    member = county.member(county.branch_a, name="王座机", phone="0571-87654321")
    url = access.url_for(access.issue_link(member=member, actor=None))
    page = client.get(url).content.decode()
    assert "身份证号后四位" in page and "发送短信" not in page
    tail = member.national_id[-4:]
    wrong = client.post(url, {"step": "identity", "id_tail": "0000", "birth_date": "1985-03-14"})
    assert "不正确" in wrong.content.decode()
    wrong_day = {"step": "identity", "id_tail": tail, "birth_date": "1985-03-15"}
    assert "不正确" in client.post(url, wrong_day).content.decode()
    right = {"step": "identity", "id_tail": tail, "birth_date": member.birth_date.isoformat()}
    assert client.post(url, right).status_code == 302
    assert client.get(reverse("selfservice:home")).status_code == 200


def test_the_id_fallback_is_rate_limited(client, county):
    member = county.member(county.branch_a, name="王座机", phone="0571-87654321")
    url = access.url_for(access.issue_link(member=member, actor=None))
    for _ in range(access.FAILED_TRIES_PER_HOUR):
        client.post(url, {"step": "identity", "id_tail": "0000", "birth_date": "2000-01-01"})
    right = {"step": "identity", "id_tail": member.national_id[-4:], "birth_date": "1985-03-14"}
    assert "尝试次数过多" in client.post(url, right).content.decode()


def test_the_id_fallback_is_refused_to_a_member_who_can_get_a_code(member):
    with pytest.raises(access.StepRefused):
        access.check_identity(
            member=member, id_tail=member.national_id[-4:], birth_date=member.birth_date
        )


def test_rotating_stops_the_old_link_and_signed_in_devices(client, secretary, member):
    old = sign_in(client, member)
    old_url = access.url_for(old)
    assert client.get(reverse("selfservice:home")).status_code == 200
    _issue(client, secretary, member, action="rotate")
    home = client.get(reverse("selfservice:home"))
    assert home.status_code == 403 and "专属链接" in home.content.decode()
    gone = client.get(old_url)
    assert gone.status_code == 410 and "已停用" in gone.content.decode()
    assert client.get(access.url_for(MemberLink.objects.get(member=member))).status_code == 200


def test_revoking_stops_everything_until_a_new_link_is_issued(client, secretary, member):
    link = sign_in(client, member)
    _issue(client, secretary, member, action="revoke")
    assert client.get(reverse("selfservice:home")).status_code == 403
    assert client.get(access.url_for(link)).status_code == 410
    _issue(client, secretary, member, action="issue")
    fresh = MemberLink.objects.get(member=member)
    assert fresh.generation == link.generation + 1 and fresh.revoked_at is None
    assert client.get(access.url_for(link)).status_code == 410


def test_a_forged_or_foreign_token_opens_nothing(client, county, member):
    other = county.member(county.branch_b, name="赵其他", phone="13700000000")
    access.issue_link(member=other, actor=None)
    assert client.get(reverse("selfservice:open_link", args=["abc"])).status_code == 404
    # A token signed with another salt (the monthly self-report's) is not a link.
    from ledgers import selfreport

    token = selfreport.make_token(other, "2026-12")
    assert client.get(reverse("selfservice:open_link", args=[token])).status_code == 404


def test_a_cookie_for_one_member_cannot_be_turned_into_another(client, county, member):
    other = county.member(county.branch_b, name="赵其他", phone="13700000000")
    access.issue_link(member=other, actor=None)
    sign_in(client, member)
    value = client.cookies[access.DEVICE_COOKIE].value
    client.cookies[access.DEVICE_COOKIE] = value.replace(f"{member.pk}:", f"{other.pk}:", 1)
    assert client.get(reverse("selfservice:home")).status_code == 403


def test_only_the_home_side_manages_the_link(client, county, member):
    other_secretary = county.secretary(county.branch_b)
    client.force_login(other_secretary)
    url = reverse("selfservice:member_link", args=[member.pk])
    assert client.post(url, {"action": "issue"}).status_code == 404
    assert not MemberLink.objects.exists()


def test_sending_the_link_by_sms_twice_in_a_day_sends_once(client, secretary, member):
    _issue(client, secretary, member)
    client.force_login(secretary)
    url = reverse("selfservice:member_link", args=[member.pk])
    client.post(url, {"action": "send_sms"})
    client.post(url, {"action": "send_sms"})
    sent = [m for m in sms.outbox if m.template == "link"]
    assert len(sent) == 1 and sent[0].to == member.phone
    assert access.token_for(MemberLink.objects.get(member=member)) in sent[0].values["link"]


def test_the_link_is_in_the_members_history(secretary, member):
    access.issue_link(member=member, actor=secretary)
    access.rotate_link(member=member, actor=secretary)
    link = MemberLink.objects.get(member=member)
    assert [h.generation for h in link.history.order_by("history_date")] == [1, 2]
    assert link.history.first().issued_by == secretary


def test_signing_out_forgets_the_device(client, member):
    sign_in(client, member)
    assert client.post(reverse("selfservice:sign_out")).status_code == 200
    assert client.get(reverse("selfservice:home")).status_code == 403


def test_message_preferences_keep_quiet_hours_whole(client, member):
    sign_in(client, member)
    url = reverse("selfservice:preferences")
    half = client.post(url, {"channel": "sms", "quiet_from": "22:00"}).content.decode()
    assert "同时填写" in half
    assert (
        client.post(
            url, {"channel": "email", "quiet_from": "22:00", "quiet_until": "07:00"}
        ).status_code
        == 200
    )
    member.refresh_from_db()
    assert member.message_preference.channel == "email"
    assert member.message_preference.quiet_until.hour == 7


def test_birth_date_is_the_members_not_a_guess(member):
    assert member.birth_date == date(1985, 3, 14)


def test_the_code_is_not_kept_once_sent(client, member):
    from selfservice.models import MemberMessage

    url = access.url_for(access.issue_link(member=member, actor=None))
    client.post(url, {"step": "send", "channel": "sms"})
    code = _code_sent_to(member.phone)
    message = MemberMessage.objects.get(kind="sign_in_code")
    assert message.status == "sent" and code not in str(message.values)


def test_the_member_page_shows_what_the_member_did_from_their_phone(client, secretary, member):
    from selfservice import help

    _issue(client, secretary, member)
    help.raise_request(member=member, kind="legal", description="劳动合同到期后被拖欠工资")
    link = MemberLink.objects.get(member=member)
    client.post(access.url_for(link), {"step": "send", "channel": "sms"})
    client.force_login(secretary)
    page = client.get(reverse("members:detail", args=[member.pk])).content.decode()
    assert "劳动合同到期后被拖欠工资" in page
    assert "139****5678" in page  # the sign-in code's message, to a masked number


def test_a_member_who_lost_a_phone_replaces_the_link_and_keeps_this_device(client, member):
    old = sign_in(client, member)
    lost_phone = client.cookies[access.DEVICE_COOKIE].value
    response = client.post(reverse("selfservice:replace_link"))
    assert response.status_code == 302
    assert client.get(reverse("selfservice:home")).status_code == 200  # this device stays in
    new = MemberLink.objects.get(member=member)
    assert new.generation == old.generation + 1
    assert client.get(access.url_for(old)).status_code == 410
    sent = [m for m in sms.outbox if m.template == "link"]
    assert len(sent) == 1 and access.token_for(new) in sent[0].values["link"]
    # The lost phone's cookie no longer opens anything.
    client.cookies[access.DEVICE_COOKIE] = lost_phone
    assert client.get(reverse("selfservice:home")).status_code == 403


def test_replacing_the_link_is_limited_per_day(client, member):
    sign_in(client, member)
    for _ in range(access.MEMBER_REPLACEMENTS_PER_DAY):
        client.post(reverse("selfservice:replace_link"))
    page = client.post(reverse("selfservice:replace_link"), follow=True).content.decode()
    assert "今天已多次更换链接" in page
    assert (
        MemberLink.objects.get(member=member).generation == 1 + access.MEMBER_REPLACEMENTS_PER_DAY
    )
