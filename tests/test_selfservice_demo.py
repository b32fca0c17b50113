"""Issue #19: the demo county has the member's own page to try, end to end, from the browser."""

from io import StringIO

from django.core.management import call_command

from selfservice import access
from selfservice.demo import demo_member
from selfservice.models import CheckIn, Decision, DuesClaim, MeetingReply, MemberLink, StudyItem


def test_the_demo_has_something_of_each_kind_waiting(db):
    call_command("seed_demo")
    assert MemberLink.objects.filter(revoked_at__isnull=True).count() >= 4
    assert StudyItem.objects.count() == 2
    assert CheckIn.objects.filter(status=Decision.PENDING).exists()
    assert DuesClaim.objects.filter(status=Decision.PENDING).exists()
    assert MeetingReply.objects.filter(answer="excused", excuse=Decision.PENDING).exists()
    member = demo_member()
    assert member is not None and member.email and member.phone
    out = StringIO()
    call_command("member_link", stdout=out)
    assert out.getvalue().strip() == access.url_for(member.own_link)
