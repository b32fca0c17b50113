"""Organisational life from afar: the member's answers, and the secretary's decision on excuses."""

from datetime import timedelta

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from activities.models import Activity, Attendance, GoodReason
from selfservice import meetings
from selfservice.models import Decision, MeetingReply
from tests.selfservice_helpers import messages_go_out, sign_in  # noqa: F401 - a fixture
from transfers.models import MobilityEpisode

TODAY = timezone.localdate()
Answer = MeetingReply.Answer


class Scene:
    def __init__(self, county):
        self.county = county
        self.sec_a = county.secretary(county.branch_a)
        self.sec_a2 = county.secretary(county.branch_a2)
        self.sec_b = county.secretary(county.branch_b)
        self.township_a = county.reviewer(county.township_a)
        self.member = county.member(county.branch_a, name="李流动", phone="13900000001")
        # Away, hosted by branch B (the inflow branch).
        MobilityEpisode.objects.create(
            member=self.member,
            mobility_type="work",
            left_on=TODAY - timedelta(days=60),
            destination_province="广东省",
            inflow_organisation=county.branch_b,
        )
        self.other = county.member(county.branch_a, name="王在家", phone="13900000002")
        self.home_meeting = self.meeting(county.branch_a, "七月支部党员大会", days=5)
        self.inflow_meeting = self.meeting(county.branch_b, "丙村主题党日", days=9)
        self.neighbour_meeting = self.meeting(county.branch_a2, "乙村党员大会", days=3)
        self.past_meeting = self.meeting(county.branch_a, "上月党员大会", days=-20)

    def meeting(self, branch, title, *, days):
        return Activity.objects.create(
            branch=branch,
            kind=Activity.Kind.GENERAL_MEETING,
            held_on=TODAY + timedelta(days=days),
            title=title,
            place="村委会",
            recorded_by=self.sec_a,
        )


@pytest.fixture
def scene(county):
    return Scene(county)


def reply_url(activity):
    return reverse("selfservice:meeting_reply", args=[activity.pk])


def excuse(client, reply, good: str):
    return client.post(
        reverse("selfservice:meeting_excuse", args=[reply.pk]),
        {"good": good, "next": "/self-service/study/"},
    )


def test_member_sees_home_and_inflow_meetings_only(client, scene):
    sign_in(client, scene.member)
    response = client.get(reverse("selfservice:meetings"))
    titles = [activity.title for activity in response.context["meetings"]]
    assert titles == ["七月支部党员大会", "丙村主题党日"]
    assert "待回复" in response.content.decode()
    assert client.get(reply_url(scene.neighbour_meeting)).status_code == 404
    response = client.post(reply_url(scene.neighbour_meeting), {"answer": Answer.IN_PERSON})
    assert response.status_code == 404
    assert not MeetingReply.objects.exists()


def test_an_unhosted_member_does_not_see_the_inflow_branch(client, scene):
    sign_in(client, scene.other)
    titles = [a.title for a in client.get(reverse("selfservice:meetings")).context["meetings"]]
    assert titles == ["七月支部党员大会"]
    assert client.get(reply_url(scene.inflow_meeting)).status_code == 404


def test_changing_the_reply_updates_the_one_row(client, scene):
    sign_in(client, scene.member)
    client.post(reply_url(scene.home_meeting), {"answer": Answer.IN_PERSON})
    response = client.post(reply_url(scene.home_meeting), {"answer": Answer.ONLINE}, follow=True)
    assert "已更新您的回复" in response.content.decode()
    found = MeetingReply.objects.get()
    assert (found.member, found.answer, found.excuse) == (scene.member, Answer.ONLINE, "")
    assert found.history.count() == 2


def test_excused_without_a_reason_is_refused_and_kept(client, scene):
    sign_in(client, scene.member)
    response = client.post(reply_url(scene.home_meeting), {"answer": Answer.EXCUSED, "reason": " "})
    assert response.status_code == 200
    page = response.content.decode()
    assert "请假需要填写理由" in page
    assert response.context["form"]["answer"].value() == Answer.EXCUSED  # what was chosen stays
    assert not MeetingReply.objects.exists()


def test_no_answer_is_refused(client, scene):
    sign_in(client, scene.member)
    response = client.post(reply_url(scene.home_meeting), {"answer": "maybe"})
    assert "请选择是否参加" in response.content.decode()
    assert not MeetingReply.objects.exists()


def test_a_past_meeting_cannot_be_answered(client, scene):
    sign_in(client, scene.member)
    response = client.post(reply_url(scene.past_meeting), {"answer": Answer.IN_PERSON}, follow=True)
    assert response.status_code == 200
    assert "会议已召开，不能再回复" in response.content.decode()
    assert not MeetingReply.objects.exists()
    with pytest.raises(meetings.StepRefused):
        meetings.record_reply(member=scene.member, activity=scene.past_meeting, answer="online")


def test_excuse_end_to_end_good_reason(client, scene):
    sign_in(client, scene.member)
    client.post(reply_url(scene.home_meeting), {"answer": Answer.EXCUSED, "reason": "外地加班"})
    asked = MeetingReply.objects.get()
    assert asked.excuse == Decision.PENDING
    assert list(meetings.pending_for(scene.sec_a)) == [asked]
    assert list(meetings.pending_for(scene.township_a)) == [asked]
    assert not meetings.pending_for(scene.sec_a2).exists()

    scene.sec_a.first_name = "书记甲"
    scene.sec_a.save()
    client.force_login(scene.sec_a)
    response = excuse(client, asked, "1")
    assert response.status_code == 302 and response.url == "/self-service/study/"

    asked.refresh_from_db()
    assert (asked.excuse, asked.decided_by) == (Decision.CONFIRMED, scene.sec_a)
    reason = GoodReason.objects.get(member=scene.member)
    assert reason.kind == GoodReason.Kind.EXCUSED_ABSENCE
    assert reason.starts_on == reason.ends_on == scene.home_meeting.held_on
    assert (reason.note, reason.approved_by) == ("外地加班", "书记甲")
    attendance = Attendance.objects.get(member=scene.member, activity=scene.home_meeting)
    assert (attendance.status, attendance.reason) == (Attendance.Status.EXCUSED, "外地加班")
    assert not meetings.pending_for(scene.sec_a).exists()

    page = client.get(reply_url(scene.home_meeting)).content.decode()
    assert "已准假" in page
    # A confirmed excuse stays: the member is told to ask the secretary.
    response = client.post(reply_url(scene.home_meeting), {"answer": Answer.IN_PERSON}, follow=True)
    assert "请联系党支部书记" in response.content.decode()
    assert MeetingReply.objects.get().answer == Answer.EXCUSED


def test_excuse_returned_then_asked_again(client, scene):
    sign_in(client, scene.member)
    client.post(reply_url(scene.home_meeting), {"answer": Answer.EXCUSED, "reason": "不想去"})
    asked = MeetingReply.objects.get()
    client.force_login(scene.sec_a)
    excuse(client, asked, "0")
    asked.refresh_from_db()
    assert asked.excuse == Decision.RETURNED
    assert not GoodReason.objects.exists() and not Attendance.objects.exists()

    sign_in(client, scene.member)
    assert "请假未获批准" in client.get(reverse("selfservice:meetings")).content.decode()
    client.post(reply_url(scene.home_meeting), {"answer": Answer.EXCUSED, "reason": "住院"})
    asked.refresh_from_db()
    assert (asked.excuse, asked.reason, asked.decided_by) == (Decision.PENDING, "住院", None)


def test_a_decided_excuse_is_not_decided_twice(client, scene):
    asked = meetings.record_reply(
        member=scene.member, activity=scene.home_meeting, answer=Answer.EXCUSED, reason="出差"
    )
    client.force_login(scene.sec_a)
    excuse(client, asked, "1")
    response = excuse(client, asked, "0")
    assert response.status_code == 302
    assert MeetingReply.objects.get().excuse == Decision.CONFIRMED
    assert GoodReason.objects.count() == 1


def test_staff_of_another_branch_gets_404(client, scene):
    asked = meetings.record_reply(
        member=scene.member, activity=scene.home_meeting, answer=Answer.EXCUSED, reason="出差"
    )
    client.force_login(scene.sec_a2)
    assert excuse(client, asked, "1").status_code == 404
    assert MeetingReply.objects.get().excuse == Decision.PENDING
    assert not GoodReason.objects.exists()


def test_inflow_branch_decides_its_own_meeting(client, scene):
    asked = meetings.record_reply(
        member=scene.member, activity=scene.inflow_meeting, answer=Answer.EXCUSED, reason="值班"
    )
    assert list(meetings.pending_for(scene.sec_b)) == [asked]
    assert list(meetings.pending_for(scene.sec_a)) == [asked]  # the home side sees it too
    client.force_login(scene.sec_b)
    excuse(client, asked, "1")
    assert MeetingReply.objects.get().excuse == Decision.CONFIRMED
    # The inflow side marks its attendance list; the good reason is the home side's record.
    assert Attendance.objects.get(activity=scene.inflow_meeting).status == Attendance.Status.EXCUSED
    assert not GoodReason.objects.exists()


def test_replies_for_the_activity_page(scene):
    meetings.record_reply(member=scene.member, activity=scene.home_meeting, answer=Answer.ONLINE)
    meetings.record_reply(member=scene.other, activity=scene.home_meeting, answer=Answer.IN_PERSON)
    meetings.record_reply(member=scene.other, activity=scene.inflow_meeting, answer="online")
    found = meetings.replies_for(scene.home_meeting)
    assert {(reply.member.name, reply.answer) for reply in found} == {
        ("李流动", Answer.ONLINE),
        ("王在家", Answer.IN_PERSON),
    }


def test_tile_counts_meetings_without_a_reply(scene):
    tile = meetings.tile(scene.member)
    assert tile["waiting"] == 2 and tile["url"] == reverse("selfservice:meetings")
    meetings.record_reply(member=scene.member, activity=scene.home_meeting, answer=Answer.ONLINE)
    assert meetings.tile(scene.member)["waiting"] == 1


def test_inbox_fragment_posts_to_the_decision(scene):
    asked = meetings.record_reply(
        member=scene.member, activity=scene.home_meeting, answer=Answer.EXCUSED, reason="出差"
    )
    request = RequestFactory().get("/self-service/inbox/")
    request.user = scene.sec_a
    html = render_to_string(
        "selfservice/inbox/meetings.html", {"rows": meetings.pending_for(scene.sec_a)}, request
    )
    assert reverse("selfservice:meeting_excuse", args=[asked.pk]) in html
    assert "csrfmiddlewaretoken" in html and 'name="next" value="/self-service/inbox/"' in html
    assert "出差" in html and "李流动" in html


def test_the_inbox_shows_the_request_with_its_buttons(client, scene):
    asked = meetings.record_reply(
        member=scene.member, activity=scene.home_meeting, answer=Answer.EXCUSED, reason="出差"
    )
    action = reverse("selfservice:meeting_excuse", args=[asked.pk])
    client.force_login(scene.sec_a2)
    assert action not in client.get(reverse("selfservice:inbox")).content.decode()
    client.force_login(scene.sec_a)
    assert action in client.get(reverse("selfservice:inbox")).content.decode()
    response = client.post(action, {"good": "0"})
    assert response.url == reverse("selfservice:inbox")  # no `next`: back to the inbox
    assert MeetingReply.objects.get().excuse == Decision.RETURNED


def test_the_activity_page_shows_the_members_replies(client, county):
    """The secretary sees, on the meeting's own page, who replied from their phone."""
    from datetime import timedelta

    from django.urls import reverse
    from django.utils import timezone

    from activities.models import Activity
    from selfservice import meetings

    secretary = county.secretary(county.branch_a)
    member = county.member(county.branch_a, name="周回复", phone="13600000001")
    meeting = Activity.objects.create(
        branch=county.branch_a,
        kind="theme_day",
        held_on=timezone.localdate() + timedelta(days=3),
        title="下周主题党日",
        recorded_by=secretary,
    )
    meetings.record_reply(member=member, activity=meeting, answer="excused", reason="在外地出差")
    client.force_login(secretary)
    page = client.get(reverse("activities:activity_detail", args=[meeting.pk])).content.decode()
    assert "周回复" in page and "在外地出差" in page


def test_members_away_are_reminded_once_of_meetings_in_the_next_days(scene, sms_outbox):
    from selfservice import access
    from selfservice.models import MemberMessage

    for member in (scene.member, scene.other):
        access.issue_link(member=member, actor=None)
    meetings.send_reminders(today=TODAY + timedelta(days=3))  # the home meeting in 2 days
    meetings.send_reminders(today=TODAY + timedelta(days=3))  # a second run sends nothing
    reminders = MemberMessage.objects.filter(kind="meeting_reminder")
    # Only the member away (not the one at home), for the home meeting (in 2 days) and the
    # hosting branch's (in 6 days: not yet), once.
    assert [(m.member_id, m.values["title"]) for m in reminders] == [
        (scene.member.pk, "七月支部党员大会")
    ]
    meetings.record_reply(member=scene.member, activity=scene.inflow_meeting, answer="online")
    meetings.send_reminders(today=TODAY + timedelta(days=7))
    assert not reminders.filter(values__title="丙村主题党日").exists()  # answered already


def test_a_member_without_a_live_link_is_not_reminded(scene):
    from selfservice import access
    from selfservice.models import MemberMessage

    access.issue_link(member=scene.member, actor=None)
    access.revoke_link(member=scene.member, actor=None)
    meetings.send_reminders(today=TODAY + timedelta(days=3))
    assert not MemberMessage.objects.exists()


@pytest.mark.usefixtures("messages_go_out")
def test_the_member_is_told_each_decision_on_an_excuse(client, scene, sms_outbox):
    scene.member.phone = "13912345678"
    scene.member.save()
    asked = meetings.record_reply(
        member=scene.member, activity=scene.home_meeting, answer=Answer.EXCUSED, reason="不想去"
    )
    client.force_login(scene.sec_a)
    excuse(client, asked, "0")
    meetings.record_reply(
        member=scene.member, activity=scene.home_meeting, answer=Answer.EXCUSED, reason="住院"
    )
    excuse(client, asked, "1")
    assert [(m.to, m.template) for m in sms_outbox] == [("13912345678", "excuse_decided")] * 2
    assert "党支部未同意" in sms_outbox[0].text
    assert "党支部已同意" in sms_outbox[1].text and scene.home_meeting.title in sms_outbox[1].text
    assert {m.values["decision"] for m in sms_outbox} == {"未同意", "已同意"}
