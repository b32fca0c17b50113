"""Reads for the member's own pages: always through the member, never by a bare id."""

from dataclasses import dataclass
from datetime import date, datetime

from django.utils.translation import gettext_lazy as _

from members.models import Member

from . import check_in, dues, help, meetings, study
from .models import (
    CheckIn,
    DuesClaim,
    HelpRequestOrigin,
    MeetingReply,
    MemberMessage,
    StudyCheckIn,
)

# What members' pages send the branch, in the inbox's order: (its section there, heading,
# the rows waiting for a user, the fragment that draws them).
INBOX_KINDS = [
    ("arrivals", _("Check-ins to confirm"), check_in.pending_home_for, "check_in"),
    ("arrivals-here", _("Arrivals to accept"), check_in.pending_inflow_for, "check_in"),
    ("dues", _("Dues payments to confirm"), dues.pending_for, "dues"),
    ("excuses", _("Requests to be excused"), meetings.pending_for, "meetings"),
    ("help", _("Requests for help"), help.pending_for, "help"),
]


def home_page(*, member: Member) -> dict:
    """The home page: one tile per thing the member can do, with what waits on each."""

    return {
        "member": member,
        "tiles": [
            check_in.tile(member),
            dues.tile(member),
            study.tile(member),
            meetings.tile(member),
            help.tile(member),
        ],
    }


@dataclass(frozen=True)
class OwnPageEvent:
    when: datetime
    what: str
    detail: str
    status: str  # a Decision, a message's status, or "" for what needs no decision


def own_page_events(*, member: Member, limit: int = 20) -> list[OwnPageEvent]:
    """What the member did from their own page and what they were sent, newest first: the
    branch's view of it on the member page. One query per kind, however many rows."""
    events = [
        OwnPageEvent(row.submitted_at, str(_("Online check-in")), row.destination, row.status)
        for row in CheckIn.objects.filter(member=member)[:limit]
    ]
    events += [
        OwnPageEvent(
            row.submitted_at,
            str(_("Dues payment reported")),
            f"{row.from_month:%Y-%m}–{row.to_month:%Y-%m} · {row.amount}",
            row.status,
        )
        for row in DuesClaim.objects.filter(member=member)[:limit]
    ]
    events += [
        OwnPageEvent(row.checked_in_at, str(_("Study check-in")), row.item.title, "")
        for row in StudyCheckIn.objects.filter(member=member)
        .select_related("item")
        .order_by("-checked_in_at")[:limit]
    ]
    events += [
        OwnPageEvent(
            row.replied_at,
            row.get_answer_display(),
            f"{row.activity.held_on:%Y-%m-%d} {row.activity.title}",
            row.excuse,
        )
        for row in MeetingReply.objects.filter(member=member)
        .select_related("activity")
        .order_by("-replied_at")[:limit]
    ]
    events += [
        OwnPageEvent(row.raised_at, str(_("Asked for help")), row.request.description, "")
        for row in HelpRequestOrigin.objects.filter(request__member=member)
        .select_related("request")
        .order_by("-raised_at")[:limit]
    ]
    events += [
        OwnPageEvent(row.created_at, str(_("Message sent")), row.kind_label, row.status)
        for row in MemberMessage.objects.filter(member=member).order_by("-created_at")[:limit]
    ]
    return sorted(events, key=lambda event: event.when, reverse=True)[:limit]


@dataclass(frozen=True)
class Waiting:
    member: Member
    what: str  # the kind, as the inbox heads it
    anchor: str  # the inbox's section
    since: date


def waiting_for(*, user, limit: int) -> tuple[list[Waiting], bool]:
    """What members sent from their phones that waits for this user, oldest kind order first,
    at most `limit` (and whether there is more): the home page's "to do today". One query a
    kind."""
    found, more = [], False
    for anchor, heading, pending, _fragment in INBOX_KINDS:
        rows = list(pending(user).select_related("member")[: limit + 1])
        more = more or len(rows) > limit
        for row in rows:
            sent = getattr(row, "submitted_at", None) or getattr(row, "replied_at", None)
            since = sent.date() if sent else row.raised_on
            found.append(Waiting(row.member, str(heading), anchor, since))
    return found[:limit], more or len(found) > limit
