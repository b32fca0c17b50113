"""Organisational life from afar: the member answers a planned meeting of the home branch or
of the inflow branch hosting them (in person, online, or excused with a reason), and the
secretary judges an excuse a good reason or not."""

from datetime import date, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from activities import services as activity_services
from activities.models import Activity, Attendance, GoodReason
from activities.selectors import roster
from infrastructure.steps import StepRefused
from members.models import Member
from members.selectors import (
    members_editable_by,
    organisation_in_scope,
    scope_root_of,
    sees_everything,
)
from transfers.models import MobilityEpisode

from . import notify
from .models import Decision, MeetingReply

Answer = MeetingReply.Answer
UPCOMING_LIMIT = 10

# --- the member's side ------------------------------------------------------------------------


def meeting_branch_ids(member: Member) -> list[int]:
    """The home branch and, when hosted here, the inflow branch (as ledgers.selfreport's
    `upcoming_activities`)."""
    episode = MobilityEpisode.objects.current().filter(member=member).first()
    branches = [member.home_branch_id]
    if episode is not None and episode.inflow_organisation_id:
        branches.append(episode.inflow_organisation_id)
    return branches


def _with_reply(activities: QuerySet[Activity], member: Member) -> QuerySet[Activity]:
    mine = MeetingReply.objects.filter(member=member)
    return activities.select_related("branch").prefetch_related(
        Prefetch("replies", queryset=mine, to_attr="my_replies")
    )


def upcoming(member: Member, *, today: date) -> list[Activity]:
    """Planned meetings the member may answer, soonest first; each with `reply` (or None)."""
    activities = _with_reply(
        Activity.objects.filter(branch__in=meeting_branch_ids(member), held_on__gte=today),
        member,
    ).order_by("held_on", "pk")[:UPCOMING_LIMIT]
    found = list(activities)
    for activity in found:
        activity.reply = activity.my_replies[0] if activity.my_replies else None
    return found


def meeting_for_member(member: Member, pk: int) -> Activity:
    """A meeting of the member's branches (past ones too, to show the answer), or 404."""
    activity = get_object_or_404(
        _with_reply(Activity.objects.filter(branch__in=meeting_branch_ids(member)), member),
        pk=pk,
    )
    activity.reply = activity.my_replies[0] if activity.my_replies else None
    return activity


@transaction.atomic
def record_reply(
    *, member: Member, activity: Activity, answer: str, reason: str = "", today: date | None = None
) -> MeetingReply:
    """Record or change the member's answer; an excuse waits for the secretary again."""
    today = today or timezone.localdate()
    if activity.held_on < today:
        raise StepRefused("会议已召开，不能再回复。")
    if answer not in Answer.values:
        raise StepRefused("请选择是否参加。")
    reason = reason.strip() if answer == Answer.EXCUSED else ""
    if answer == Answer.EXCUSED and not reason:
        raise StepRefused("请假需要填写理由。")
    current = (
        MeetingReply.objects.select_for_update().filter(activity=activity, member=member).first()
    )
    if current is not None and current.excuse == Decision.CONFIRMED:
        raise StepRefused("党支部已准假。如需改为参加，请联系党支部书记。")
    found = current or MeetingReply(activity=activity, member=member)
    found.answer, found.reason = answer, reason
    found.excuse = Decision.PENDING if answer == Answer.EXCUSED else ""
    found.decided_by, found.decided_at = None, None
    found.save()
    return found


def tile(member: Member) -> dict:
    meetings = upcoming(member, today=timezone.localdate())
    waiting = sum(1 for activity in meetings if activity.reply is None)
    if not meetings:
        line = "近期没有会议"
    elif waiting:
        line = f"{waiting}个会议待回复"
    else:
        line = f"近期{len(meetings)}个会议，均已回复"
    return {
        "title": "组织生活",
        "url": reverse("selfservice:meetings"),
        "waiting": waiting,
        "line": line,
    }


# --- the branch's side ------------------------------------------------------------------------


def replies_visible_to(user) -> QuerySet[MeetingReply]:
    """Replies to the meetings of the user's organisations, and replies of the user's own
    members (the home side) to meetings elsewhere."""
    replies = MeetingReply.objects.select_related(
        "member", "member__home_branch", "activity", "activity__branch"
    )
    if sees_everything(user):
        return replies
    root = scope_root_of(user)
    if root is None:
        return replies.none()
    return replies.filter(
        Q(activity__branch__path__startswith=root.path)
        | Q(member__home_branch__path__startswith=root.path)
    )


def pending_for(user) -> QuerySet[MeetingReply]:
    """Requests to be excused that wait for this user's decision."""
    return (
        replies_visible_to(user)
        .filter(answer=Answer.EXCUSED, excuse=Decision.PENDING)
        .order_by("activity__held_on", "pk")
    )


def replies_for(activity: Activity) -> QuerySet[MeetingReply]:
    """The members' answers to one meeting, for its page."""
    return (
        MeetingReply.objects.filter(activity=activity)
        .select_related("member", "member__home_branch")
        .order_by("answer", "member__name", "pk")
    )


def _approver_name(actor) -> str:
    return (actor.get_full_name() or actor.get_username())[:100]


@transaction.atomic
def decide_excuse(*, actor, reply: MeetingReply, good: bool) -> MeetingReply:
    """A good reason: the excuse is confirmed, the home side records it as a good reason
    (正当理由, one day), and the meeting's side marks the member excused on the attendance
    list, if nothing is marked yet. Not a good reason: returned to the member."""
    reply = MeetingReply.objects.select_for_update().get(pk=reply.pk)
    if reply.answer != Answer.EXCUSED or reply.excuse != Decision.PENDING:
        raise StepRefused(_("This request has already been decided."))
    activity, member = reply.activity, reply.member
    home_side = members_editable_by(actor).filter(pk=member.pk).exists()
    meeting_side = organisation_in_scope(actor, activity.branch)
    if not (home_side or meeting_side):
        raise StepRefused(_("Only the meeting's branch or the member's home branch can decide."))
    reply.excuse = Decision.CONFIRMED if good else Decision.RETURNED
    reply.decided_by, reply.decided_at = actor, timezone.now()
    reply._history_user = actor
    reply.save()
    notify.notify(
        member=member,
        kind="excuse_decided",
        key=f"excuse-decided:{reply.pk}:{reply.decided_at.isoformat()}",  # asked again later
        values={
            "decision": "已同意" if good else "未同意",  # words: a gateway takes text only
            "meeting": activity.title,
            "held_on": activity.held_on.isoformat(),
            "link": settings.SITE_URL.rstrip("/")
            + reverse("selfservice:meeting_reply", args=[activity.pk]),
        },
    )
    if not good:
        return reply
    if home_side:
        activity_services.good_reason_record(
            actor=actor,
            member=member,
            kind=GoodReason.Kind.EXCUSED_ABSENCE,
            starts_on=activity.held_on,
            ends_on=activity.held_on,
            note=reply.reason,
            approved_by=_approver_name(actor),
        )
    marked = Attendance.objects.filter(activity=activity, member=member).exists()
    on_roster = roster(activity.branch).filter(pk=member.pk).exists()
    if meeting_side and on_roster and not marked:
        activity_services.attendance_record(
            actor=actor,
            activity=activity,
            attendance={member.pk: (Attendance.Status.EXCUSED, reply.reason[:200], False)},
        )
    return reply


# --- reminders ------------------------------------------------------------------------------

REMIND_DAYS_AHEAD = 3


def members_to_remind(activity: Activity) -> QuerySet[Member]:
    """Who is asked to answer a meeting from afar: the branch's own members away now and the
    members it hosts, with a live personal link, who have not answered yet."""
    away = MobilityEpisode.objects.away_now()
    return (
        Member.objects.filter(own_link__revoked_at__isnull=True, status=Member.Status.ACTIVE)
        .filter(
            Q(home_branch=activity.branch_id, pk__in=away.values("member_id"))
            | Q(pk__in=away.filter(inflow_organisation=activity.branch_id).values("member_id"))
        )
        .exclude(meeting_replies__activity=activity)
    )


def send_reminders(*, today: date) -> int:
    """One reminder per member and meeting held within the next few days: keyed by both, so a
    second run the same day, or the next day, sends nothing again."""
    sent = 0
    soon = Activity.objects.filter(
        held_on__gte=today, held_on__lte=today + timedelta(days=REMIND_DAYS_AHEAD)
    )
    for activity in soon.select_related("branch"):
        link = settings.SITE_URL.rstrip("/") + reverse(
            "selfservice:meeting_reply", args=[activity.pk]
        )
        for member in members_to_remind(activity).select_related("message_preference"):
            notify.notify(
                member=member,
                kind="meeting_reminder",
                key=f"meeting:{activity.pk}:{member.pk}",
                values={
                    "title": activity.title,
                    "when": f"{activity.held_on:%Y-%m-%d}",
                    "place": "线上" if activity.online and not activity.place else activity.place,
                    "link": link,
                },
            )
            sent += 1
    return sent
