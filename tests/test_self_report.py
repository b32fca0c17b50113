"""The member's monthly self-report link: signed, once a month, expiring, and the secretary's decision."""

import re
from datetime import timedelta

import pytest
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from alerts.models import EmailSent
from ledgers import selfreport
from ledgers.models import ContactAttempt, LedgerRecord, SelfReport
from transfers.models import MobilityEpisode

TODAY = timezone.localdate()
ANSWER = {
    "where": "浙江省杭州市西湖区",
    "occupation": "快递员",
    "phone": "13911112222",
    "note": "一切安好",
}


@pytest.fixture
def away(county, settings):
    settings.SITE_URL = "http://testserver"
    county.sec_a = county.secretary(county.branch_a, "sec_a")
    county.away = county.member(county.branch_a, name="王小明", email="xm@example.org")
    MobilityEpisode.objects.create(
        member=county.away,
        mobility_type="work",
        left_on=TODAY - timedelta(days=40),
        destination_province="浙江省",
    )
    county.period = selfreport.period_of(TODAY)
    return county


def link_path(away) -> str:
    return reverse("ledgers:self_report", args=[selfreport.make_token(away.away, away.period)])


def test_the_link_works_once_a_month_and_shows_nothing_private(client, away):
    page = client.get(link_path(away)).content.decode()
    assert "王**" in page and "王小明" not in page and away.away.phone not in page
    assert client.post(link_path(away), ANSWER).status_code == 200
    report = SelfReport.objects.get()
    assert (report.member, report.status, report.where) == (away.away, "pending", ANSWER["where"])
    second = client.post(link_path(away), {**ANSWER, "where": "别处"}).content.decode()
    assert "已收到" in second or "本月" in second
    assert SelfReport.objects.count() == 1


def test_a_tampered_or_expired_link_is_refused(client, away, monkeypatch):
    path = link_path(away)
    assert client.get(path[:-4] + "abc/").status_code == 404
    monkeypatch.setattr(selfreport, "MAX_AGE", -1)
    assert client.get(path).status_code == 404


def test_a_bad_phone_is_explained(client, away):
    response = client.post(link_path(away), {**ANSWER, "phone": "123"})
    assert "手机" in " ".join(response.context["form"].errors["phone"])
    assert not SelfReport.objects.exists()


def test_accepting_updates_the_ledger_and_counts_as_a_contact(client, away):
    client.post(link_path(away), ANSWER)
    report = SelfReport.objects.get()
    client.force_login(away.sec_a)
    client.post(reverse("ledgers:self_report_decide", args=[report.pk]), {"accept": "1"})
    report.refresh_from_db()
    away.away.refresh_from_db()
    assert report.status == "accepted" and away.away.phone == ANSWER["phone"]
    episode = away.away.mobility_episodes.get()
    assert (episode.address, episode.occupation) == (ANSWER["where"], ANSWER["occupation"])
    contact = ContactAttempt.objects.get()
    assert (contact.channel, contact.reached) == ("self_report", True)
    record = LedgerRecord.objects.get(member=away.away)
    assert record.where_confirmed_on == record.contact_confirmed_on == TODAY


def test_rejecting_changes_nothing_and_another_branch_cannot_decide(client, away):
    client.post(link_path(away), ANSWER)
    report = SelfReport.objects.get()
    client.force_login(away.secretary(away.branch_b))
    assert client.post(reverse("ledgers:self_report_decide", args=[report.pk])).status_code == 404
    client.force_login(away.sec_a)
    client.post(reverse("ledgers:self_report_decide", args=[report.pk]), {"accept": "0"})
    report.refresh_from_db()
    away.away.refresh_from_db()
    assert report.status == "rejected" and away.away.phone != ANSWER["phone"]
    assert not ContactAttempt.objects.exists()


def test_the_monthly_email_carries_a_working_link_once(client, away, mailoutbox):
    assert selfreport.send_reminder(member=away.away, period=away.period) == "sent"
    assert selfreport.send_reminder(member=away.away, period=away.period) == "already sent"
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["xm@example.org"]
    link = re.search(r"http://testserver(/report/\S+/)", mailoutbox[0].body).group(1)
    assert client.get(link).status_code == 200
    assert EmailSent.objects.get().kind == "self_report"
    assert signing.loads(link.split("/")[2], salt=selfreport.SALT)["m"] == away.away.pk


def test_the_monthly_email_lists_planned_activities(away, mailoutbox):
    from activities.models import Activity

    Activity.objects.create(
        branch=away.branch_a,
        kind="theme_day",
        held_on=TODAY + timedelta(days=10),
        title="学习新修订条例",
        online=True,
        recorded_by=away.sec_a,
    )
    selfreport.send_reminder(member=away.away, period=away.period)
    assert "学习新修订条例" in mailoutbox[0].body


def test_the_page_is_prefilled_with_what_the_branch_knows_but_not_the_phone(client, away):
    """#17: the member only corrects what changed; the phone is shown masked, since the link
    may be forwarded, and a blank answer keeps it."""
    MobilityEpisode.objects.filter(member=away.away).update(
        destination_city="杭州市", occupation="快递员"
    )
    away.away.phone = "13911112222"
    away.away.save()
    response = client.get(link_path(away))
    form = response.context["form"]
    assert form.initial["where"] == "浙江省 杭州市"
    assert form.initial["occupation"] == "快递员"
    page = response.content.decode()
    assert "139****2222" in page and "13911112222" not in page
    client.post(link_path(away), {**ANSWER, "phone": ""})
    assert SelfReport.objects.get().phone == "13911112222"


def test_the_secretary_can_copy_the_link_or_show_a_qr_code(client, away):
    """#17: most mobile members have no e-mail; the link goes by WeChat or SMS."""
    client.force_login(away.sec_a)
    page = client.get(reverse("members:detail", args=[away.away.pk])).content.decode()
    token = re.search(r'id="self-report-link" type="text" readonly value="([^"]+)"', page)
    assert token and "/report/" in token.group(1)
    assert client.get(token.group(1).removeprefix("http://testserver")).status_code == 200
    assert "<svg" in page and "data-copy=" in page
    hosting = away.secretary(away.branch_b, "host")
    MobilityEpisode.objects.filter(member=away.away).update(inflow_organisation=away.branch_b)
    client.force_login(hosting)
    page = client.get(reverse("members:detail", args=[away.away.pk])).content.decode()
    assert 'id="self-report-link"' not in page  # the link is the home branch's to send
