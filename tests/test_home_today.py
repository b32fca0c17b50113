"""Issue #17: the home page opens with what to do today, by name, worst first, each with the
one action that settles it; the alert inbox puts serious before warning before notice, then
the oldest first."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from alerts.models import Alert
from ledgers.models import SelfReport
from reports.today import tasks_for

TODAY = timezone.localdate()
NOW = timezone.now()


def alert(member, kind, severity, *, days_ago):
    return Alert.objects.create(
        member=member,
        kind=kind,
        severity=severity,
        opened_at=NOW - timedelta(days=days_ago),
        last_seen_at=NOW,
    )


@pytest.fixture
def day(county):
    county.sec = county.secretary(county.branch_a, "sec_a")
    county.lost = county.member(county.branch_a, name="失联甲")
    county.silent = county.member(county.branch_a, name="未联系乙")
    county.certified = county.member(county.branch_a, name="待年审丙")
    county.reporter = county.member(county.branch_a, name="自报丁")
    county.elsewhere = county.member(county.branch_b, name="别支部戊")
    alert(county.silent, "contact_overdue", "warning", days_ago=40)
    alert(county.lost, "lost_contact", "serious", days_ago=3)
    alert(county.certified, "certificate_review_due", "warning", days_ago=10)
    alert(county.elsewhere, "lost_contact", "serious", days_ago=90)
    SelfReport.objects.create(
        member=county.reporter, period="2026-11", where="深圳", occupation="工人", phone="1"
    )
    return county


def test_the_home_page_lists_what_to_do_by_name_worst_first(client, day):
    client.force_login(day.sec)
    response = client.get(reverse("home"))
    groups = response.context["tasks"]
    assert [g.key for g in groups] == ["serious", "self_reports", "paper_due"]
    serious = groups[0].tasks
    assert [t.name for t in serious] == ["失联甲"]  # not the other branch's member
    assert serious[0].url == reverse("ledgers:contact_new", args=[day.lost.pk])
    assert [t.name for t in groups[1].tasks] == ["自报丁"]
    assert [t.name for t in groups[2].tasks] == ["待年审丙"]
    body = response.content.decode()
    # What to do comes before the counts.
    assert body.index("失联甲") < body.index("自报丁") < body.index('class="cards"')


def test_a_group_says_there_is_more_instead_of_listing_everyone(day):
    for n in range(3):
        alert(day.member(day.branch_a, name=f"失联{n}"), "lost_contact", "serious", days_ago=n)
    groups = tasks_for(user=day.sec, today=TODAY, limit=2)
    assert len(groups[0].tasks) == 2 and groups[0].more_url.endswith("severity=serious")


def test_nothing_to_do_says_so(client, county):
    client.force_login(county.secretary(county.branch_b, "quiet"))
    response = client.get(reverse("home"))
    assert response.context["tasks"] == []
    assert "今天没有待办事项" in response.content.decode()


def test_the_inbox_puts_serious_first_then_the_oldest(client, day):
    notice = alert(
        day.member(day.branch_a, name="提示己"), "evaluation_missing", "notice", days_ago=99
    )
    client.force_login(day.sec)
    page = client.get(reverse("alerts:inbox")).context["page"]
    assert [(a.severity, a.member.name) for a in page] == [
        ("serious", "失联甲"),
        ("warning", "未联系乙"),  # 40 days before the certificate's 10
        ("warning", "待年审丙"),
        ("notice", notice.member.name),
    ]


def _queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("home")).status_code == 200
    return len(queries)


def test_the_home_page_costs_the_same_for_one_task_or_many(client, day):
    client.force_login(day.sec)
    _queries(client)  # the session and caches settle
    few = _queries(client)
    for n in range(12):
        alert(day.member(day.branch_a, name=f"更多{n}"), "lost_contact", "serious", days_ago=n)
        SelfReport.objects.create(
            member=day.member(day.branch_a, name=f"自报{n}"),
            period="2026-11",
            where="杭州",
            occupation="工人",
            phone="1",
        )
    assert _queries(client) == few
