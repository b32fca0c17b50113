"""Issue #19: 求助 — the member asks for help on their own page and follows the answer."""

from datetime import timedelta

import pytest
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from activities.models import ServiceRequest
from selfservice import help, notify
from selfservice.models import HelpRequestOrigin

from .selfservice_helpers import messages_go_out, sign_in  # noqa: F401 - a fixture

TODAY = timezone.localdate()
PAGE = "selfservice:help"
ASK = {"kind": "social_security", "description": "社保从老家转到深圳，需要开什么证明？"}


@pytest.fixture
def town(county):
    county.away = county.member(county.branch_a, name="李流动", phone="13912345678")
    county.sec_a = county.secretary(county.branch_a, "sec_a")
    county.sec_b = county.secretary(county.branch_b, "sec_b")
    return county


def answer(user, item, **data):
    staff = Client()
    staff.force_login(user)
    return staff.post(reverse("selfservice:help_answer", args=[item.pk]), data)


def test_end_to_end_the_member_asks_the_branch_answers_the_member_sees_it(client, town):
    sign_in(client, town.away)
    assert client.post(reverse(PAGE), ASK).status_code == 302
    item = ServiceRequest.objects.get()
    assert (item.member, item.kind, item.status, item.raised_on) == (
        town.away,
        "social_security",
        "open",
        TODAY,
    )
    assert HelpRequestOrigin.objects.get().request == item
    assert list(help.pending_for(town.sec_a)) == [item]
    assert "待处理" in client.get(reverse(PAGE)).content.decode()

    answer(town.sec_a, item, handler="县人社局张科长", status="done", outcome="已开具参保凭证")
    item.refresh_from_db()
    assert (item.status, item.handler, item.outcome) == ("done", "县人社局张科长", "已开具参保凭证")
    assert not help.pending_for(town.sec_a).exists()
    page = client.get(reverse(PAGE)).content.decode()
    assert "已办结" in page and "县人社局张科长" in page and "已开具参保凭证" in page


def test_in_progress_leaves_the_inbox_and_done_needs_an_outcome(client, town):
    sign_in(client, town.away)
    client.post(reverse(PAGE), ASK)
    item = ServiceRequest.objects.get()
    answer(town.sec_a, item, handler="", status="done", outcome="")
    item.refresh_from_db()
    assert item.status == "open"
    answer(town.sec_a, item, handler="书记", status="in_progress", outcome="")
    item.refresh_from_db()
    assert item.status == "in_progress" and not help.pending_for(town.sec_a).exists()
    assert "办理中" in client.get(reverse(PAGE)).content.decode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"description": "想找工作"}, "请选择求助类型"),
        ({"kind": "nonsense", "description": "想找工作"}, "请从列表中选择求助类型"),
        ({"kind": "legal", "description": ""}, "请写明需要什么帮助"),
        ({"kind": "legal", "description": "欠薪" * 151}, "最多300字"),
    ],
)
def test_bad_input_is_explained_and_what_was_typed_is_kept(client, town, data, message):
    sign_in(client, town.away)
    page = client.post(reverse(PAGE), data).content.decode()
    assert message in page
    assert data["description"][:20] in page
    assert not ServiceRequest.objects.exists()


def test_the_same_request_twice_gets_a_clear_message(client, town):
    sign_in(client, town.away)
    client.post(reverse(PAGE), ASK)
    page = client.post(reverse(PAGE), ASK).content.decode()
    assert "您已提交过相同的求助，正在等待党支部处理" in page
    assert ServiceRequest.objects.count() == 1


def test_too_many_unfinished_requests_are_refused(client, town):
    sign_in(client, town.away)
    for number in range(help.OPEN_FROM_PAGE_MAX):
        client.post(reverse(PAGE), {"kind": "other", "description": f"第{number}件事"})
    page = client.post(reverse(PAGE), {"kind": "other", "description": "又一件"}).content.decode()
    assert "尚未办结" in page
    assert ServiceRequest.objects.count() == help.OPEN_FROM_PAGE_MAX


def test_the_member_sees_all_their_own_requests_and_nobody_elses(client, town):
    ServiceRequest.objects.create(
        member=town.away,
        kind="employment",
        description="支部登记的就业推荐",
        raised_on=TODAY,
        handler="村委",
        status="in_progress",
        outcome="已推荐到物流园",
    )
    other = town.member(town.branch_a, name="王其他", phone="13700000000")
    ServiceRequest.objects.create(
        member=other, kind="legal", description="别人的求助", raised_on=TODAY
    )
    sign_in(client, town.away)
    page = client.get(reverse(PAGE)).content.decode()
    assert "支部登记的就业推荐" in page and "已推荐到物流园" in page and "村委" in page
    assert "别人的求助" not in page
    # Requests the branch recorded itself are not waiting in the inbox.
    assert not help.pending_for(town.sec_a).exists()
    tile = help.tile(town.away)
    assert (tile["title"], tile["waiting"], tile["url"]) == ("求助", 1, reverse(PAGE))
    assert "就业帮助" in tile["line"]


def test_another_branch_neither_sees_nor_answers_it(client, town):
    sign_in(client, town.away)
    client.post(reverse(PAGE), ASK)
    item = ServiceRequest.objects.get()
    assert not help.pending_for(town.sec_b).exists()
    assert answer(town.sec_b, item, status="done", outcome="x").status_code == 404
    item.refresh_from_db()
    assert item.status == "open"


def test_the_inbox_lists_oldest_first_and_its_fragment_posts_the_answer(client, town):
    sign_in(client, town.away)
    client.post(reverse(PAGE), ASK)
    # Made after, raised before: the order is by the day raised, not by the row.
    older = ServiceRequest.objects.create(
        member=town.away, kind="legal", description="旧的", raised_on=TODAY - timedelta(days=3)
    )
    HelpRequestOrigin.objects.create(request=older)
    rows = list(help.pending_for(town.sec_a))
    assert rows == [older, ServiceRequest.objects.get(kind="social_security")]
    html = render_to_string(
        "selfservice/inbox/help.html",
        {"rows": rows, "request": RequestFactory().get("/self-service/")},
    )
    assert reverse("selfservice:help_answer", args=[older.pk]) in html
    assert reverse("members:detail", args=[town.away.pk]) + "#life" in html
    response = answer(town.sec_a, older, status="in_progress", next="https://evil.example/")
    assert response["Location"] == reverse("selfservice:inbox")


@pytest.mark.usefixtures("messages_go_out")
def test_the_member_is_told_when_the_request_is_taken_up_and_when_it_is_done(
    client, town, sms_outbox
):
    sign_in(client, town.away)
    client.post(reverse(PAGE), ASK)
    item = ServiceRequest.objects.get()
    sms_outbox.clear()  # the sign-in code
    answer(town.sec_a, item, handler="书记", status="in_progress", outcome="")
    answer(town.sec_a, item, handler="书记", status="in_progress", outcome="已联系人社局")
    answer(town.sec_a, item, handler="书记", status="done", outcome="已开具参保凭证")
    assert [(m.to, m.template) for m in sms_outbox] == [("13912345678", "help_answered")] * 2
    assert "社保转移接续办理中" in sms_outbox[0].text
    assert "已办结" in sms_outbox[1].text and "已开具参保凭证" in sms_outbox[1].text
    # What reaches the gateway is text, as its templates take it; a long outcome is cut.
    assert sms_outbox[1].values["state"] == "已办结"
    answer(town.sec_a, item, handler="书记", status="in_progress", outcome="补充材料")
    answer(town.sec_a, item, handler="书记", status="done", outcome="办结" + "。" * 100)
    assert len(sms_outbox) == 4  # reopened and done again: told again
    assert len(sms_outbox[3].values["outcome"]) == notify.SHORT_TEXT
    # Who answered what, and when, is kept: the member asked, the secretary answered.
    steps = list(item.history.order_by("history_date").values_list("status", "history_user"))
    assert steps[:4] == [
        ("open", None),
        ("in_progress", town.sec_a.pk),
        ("in_progress", town.sec_a.pk),
        ("done", town.sec_a.pk),
    ]


@pytest.mark.usefixtures("messages_go_out")
def test_a_request_the_branch_recorded_itself_sends_the_member_nothing(town, sms_outbox):
    item = ServiceRequest.objects.create(
        member=town.away, kind="legal", description="劳动纠纷", raised_on=TODAY
    )
    answer(town.sec_a, item, handler="书记", status="done", outcome="已转法律援助中心")
    item.refresh_from_db()
    assert item.status == "done" and sms_outbox == []
