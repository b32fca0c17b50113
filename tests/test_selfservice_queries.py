"""Issue #19: each page of the member's own makes the same number of queries for one row of
its lists as for many (study items, meetings, dues claims, check-ins, help requests)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from activities.models import Activity, DuesAmount, ServiceRequest
from selfservice import help, meetings, study
from selfservice.models import CheckIn, DuesClaim

from .selfservice_helpers import sign_in

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()
PAGES = ["home", "check_in", "dues", "study_list", "meetings", "help", "preferences"]


def _add_rows(county, member, secretary, n: int, start: int) -> None:
    for i in range(start, start + n):
        item = study.StudyItem.objects.create(
            organisation=county.branch_a,
            title=f"学习{i}",
            due_on=TODAY + timedelta(days=5),
            published_by=secretary,
        )
        if i % 2:
            study.check_in(member=member, item=item)
        meeting = Activity.objects.create(
            branch=county.branch_a,
            kind="theme_day",
            held_on=TODAY + timedelta(days=1 + i % 20),
            title=f"会议{i}",
            recorded_by=secretary,
        )
        meetings.record_reply(member=member, activity=meeting, answer="online")
        DuesClaim.objects.create(
            member=member,
            from_month=TODAY.replace(day=1),
            to_month=TODAY.replace(day=1),
            amount=Decimal("5.00"),
            paid_on=TODAY,
            receipt=f"receipts/{member.pk}/{i}.png",
            token=f"t{i}",
            receipt_suffix=".png",
            status="returned",
            reason="金额不符",
        )
        CheckIn.objects.create(
            member=member, destination="广东省深圳市", workplace="某厂", phone=member.phone
        )
        raised = help.raise_request(
            member=member, kind=ServiceRequest.Kind.LEGAL, description=f"求助{i}"
        )
        ServiceRequest.objects.filter(pk=raised.pk).update(status=ServiceRequest.Status.DONE)


def _counts(client) -> dict[str, int]:
    counts = {}
    for name in PAGES:
        with CaptureQueriesContext(connection) as seen:
            assert client.get(reverse(f"selfservice:{name}")).status_code == 200
        counts[name] = len(seen)
    return counts


def test_member_pages_make_as_many_queries_for_one_row_as_for_fifteen(client, county):
    secretary = county.secretary(county.branch_a)
    member = county.member(county.branch_a, name="钱多行", phone="13700000009")
    DuesAmount.objects.create(
        member=member,
        year=TODAY.year,
        basis="set",
        monthly_amount=Decimal("5.00"),
        set_by=secretary,
    )
    sign_in(client, member)
    _add_rows(county, member, secretary, 1, 0)
    one = _counts(client)
    _add_rows(county, member, secretary, 14, 1)
    many = _counts(client)
    print("queries per member page:", many)
    assert many == one
