"""Issue #19: the branch's inbox of what members sent from their own pages."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from activities.models import Activity
from selfservice import check_in, dues, help, meetings
from selfservice.demo import demo_receipt

from .conftest import County
from .selfservice_helpers import messages_go_out  # noqa: F401 - a fixture

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("messages_go_out")]


def _everything_from(county, member, secretary):
    today = timezone.localdate()
    check_in.submit(
        member=member,
        place=check_in.read_place("广东省深圳市"),
        workplace="某厂",
        phone=member.phone,
    )
    dues.submit_claim(
        member=member,
        from_month=today.replace(day=1),
        to_month=today.replace(day=1),
        amount=Decimal("10.00"),
        paid_on=today,
        receipt=demo_receipt(),
    )
    meeting = Activity.objects.create(
        branch=member.home_branch,
        kind="theme_day",
        held_on=today + timedelta(days=4),
        title="主题党日",
        recorded_by=secretary,
    )
    meetings.record_reply(member=member, activity=meeting, answer="excused", reason="值班")
    help.raise_request(member=member, kind="legal", description="工资被拖欠")


@pytest.fixture
def county():
    return County()


def test_the_inbox_shows_each_kind_to_the_home_branch_only(client, county, settings):
    settings.DUES_TRACKING_START = f"{timezone.localdate().year}-01-01"
    secretary = county.secretary(county.branch_a)
    member = county.member(county.branch_a, name="吴报到", phone="13500000001")
    _everything_from(county, member, secretary)
    client.force_login(secretary)
    page = client.get(reverse("selfservice:inbox")).content.decode()
    assert page.count("吴报到") >= 4  # a check-in, a payment, an excuse, a request for help
    for where in ("广东省深圳市", "10.00", "值班", "工资被拖欠"):
        assert where in page
    client.force_login(county.secretary(county.branch_b))
    assert "吴报到" not in client.get(reverse("selfservice:inbox")).content.decode()


def test_the_inbox_makes_as_many_queries_for_one_member_as_for_twenty(client, county, settings):
    settings.DUES_TRACKING_START = f"{timezone.localdate().year}-01-01"
    secretary = county.secretary(county.branch_a)
    client.force_login(secretary)
    client.get(reverse("selfservice:inbox"))  # the session's first save is not the page's

    def queries_for(count: int) -> int:
        for n in range(count):
            member = county.member(county.branch_a, name=f"成员{n}", phone=f"135000{n:05d}")
            _everything_from(county, member, secretary)
        with CaptureQueriesContext(connection) as seen:
            assert client.get(reverse("selfservice:inbox")).status_code == 200
        return len(seen)

    one = queries_for(1)
    assert queries_for(19) == one


def test_the_home_page_lists_what_members_sent_from_their_phones(client, county, settings):
    settings.DUES_TRACKING_START = f"{timezone.localdate().year}-01-01"
    secretary = county.secretary(county.branch_a)
    member = county.member(county.branch_a, name="郑手机", phone="13500000077")
    client.force_login(secretary)
    assert "郑手机" not in client.get(reverse("home")).content.decode()
    _everything_from(county, member, secretary)
    page = client.get(reverse("home")).content.decode()
    assert page.count("郑手机") >= 4 and reverse("selfservice:inbox") + "#dues" in page
    client.force_login(county.secretary(county.branch_b))
    assert "郑手机" not in client.get(reverse("home")).content.decode()
