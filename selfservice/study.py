"""学习打卡 / 微党课: study items a branch or the county publishes, and the members' check-ins.

A check-in is a sign of life (a reached contact, channel "study"); it is not organisational
life, so it never makes an `Attendance` row.
"""

import logging
from dataclasses import dataclass
from datetime import date

from celery import shared_task
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import RedisError

from infrastructure.steps import StepRefused
from ledgers.models import ContactAttempt
from members.models import Member, Organisation
from members.selectors import (
    members_editable_by,
    organisation_in_scope,
    scope_root_of,
    sees_everything,
)
from members.services import evidence_changed
from transfers.models import MobilityEpisode

from . import notify
from .models import StudyCheckIn, StudyItem

logger = logging.getLogger(__name__)

ALREADY_DONE = "您已完成本次学习打卡。"
MEMBER_LIST_LIMIT = 50


# --- who an item is for -----------------------------------------------------------------------


def _mobile_ids():
    return MobilityEpisode.objects.current().values("member_id")


def _for_item(members: QuerySet[Member], item: StudyItem) -> QuerySet[Member]:
    """`members` narrowed to those the item is for: active, held under the item's organisation,
    and, for a MOBILE item, away now."""
    members = members.filter(
        status=Member.Status.ACTIVE,
        home_branch__path__startswith=item.organisation.path,
    )
    if item.audience == StudyItem.Audience.MOBILE:
        members = members.filter(pk__in=_mobile_ids())
    return members


def members_for(item: StudyItem) -> QuerySet[Member]:
    return _for_item(Member.objects.all(), item)


def is_mobile(member: Member) -> bool:
    return MobilityEpisode.objects.current().filter(member=member).exists()


def _ancestor_paths(organisation: Organisation) -> list[str]:
    """The organisation's own path and those of every organisation above it."""
    step = Organisation.steplen
    return [organisation.path[: depth * step] for depth in range(1, organisation.depth + 1)]


# --- the member's side ------------------------------------------------------------------------


def items_for_member(member: Member) -> QuerySet[StudyItem]:
    """Items published by the home branch or any organisation above it, to all members or (for
    a member away now) to the mobile ones; each with `done`."""
    audiences = [StudyItem.Audience.MEMBERS]
    if is_mobile(member):
        audiences.append(StudyItem.Audience.MOBILE)
    return StudyItem.objects.filter(
        organisation__path__in=_ancestor_paths(member.home_branch), audience__in=audiences
    ).annotate(done=Exists(StudyCheckIn.objects.filter(item=OuterRef("pk"), member=member)))


def item_for_member(member: Member, pk: int) -> StudyItem:
    """One item meant for this member, or 404."""
    return get_object_or_404(items_for_member(member).select_related("organisation"), pk=pk)


def state_of(item: StudyItem, today: date) -> str:
    if item.done:
        return "done"
    return "overdue" if item.due_on < today else "open"


def member_items(member: Member, *, today: date) -> list[StudyItem]:
    items = list(items_for_member(member).select_related("organisation")[:MEMBER_LIST_LIMIT])
    for item in items:
        item.state = state_of(item, today)
    return items


def check_in(*, member: Member, item: StudyItem, reflection: str = "") -> StudyCheckIn:
    """The member studied the item: one check-in per item, and a sign of life."""
    today = timezone.localdate()
    try:
        with transaction.atomic():
            done = StudyCheckIn.objects.create(
                item=item, member=member, reflection=reflection.strip()
            )
            ContactAttempt.objects.create(
                member=member,
                on=today,
                reached=True,
                channel=ContactAttempt.Channel.STUDY,
                recorded_by=None,
                note=f"学习打卡：{item.title}"[:300],
            )
    except IntegrityError as error:
        raise StepRefused(ALREADY_DONE) from error
    evidence_changed(member_ids=[member.pk])
    return done


def tile(member: Member) -> dict:
    today = timezone.localdate()
    waiting = [item for item in member_items(member, today=today) if item.state != "done"]
    overdue = sum(1 for item in waiting if item.state == "overdue")
    if not waiting:
        line = "暂无待完成的学习"
    elif overdue:
        line = f"{len(waiting)}项待打卡，其中{overdue}项已逾期"
    else:
        line = f"{len(waiting)}项学习待打卡"
    return {
        "title": "学习打卡",
        "url": reverse("selfservice:study_list"),
        "waiting": len(waiting),
        "line": line,
    }


# --- the branch's side ------------------------------------------------------------------------


def items_visible_to(user) -> QuerySet[StudyItem]:
    """Items published in the user's subtree, and those published above it (they reach the
    user's members too)."""
    items = StudyItem.objects.select_related("organisation", "published_by")
    if sees_everything(user):
        return items
    root = scope_root_of(user)
    if root is None:
        return items.none()
    return items.filter(
        Q(organisation__path__startswith=root.path)
        | Q(organisation__path__in=_ancestor_paths(root))
    )


def item_for_staff(user, pk: int) -> StudyItem:
    return get_object_or_404(items_visible_to(user), pk=pk)


@transaction.atomic
def publish(
    *,
    actor,
    organisation: Organisation,
    audience: str,
    title: str,
    body: str = "",
    link: str = "",
    due_on: date,
) -> StudyItem:
    """Publish a study item; every member it is for is told after the commit."""
    if not organisation_in_scope(actor, organisation):
        raise StepRefused(_("You can publish only for an organisation in your scope."))
    if due_on < timezone.localdate():
        raise StepRefused(_("The due date cannot be in the past."))
    item = StudyItem.objects.create(
        organisation=organisation,
        audience=audience,
        title=title.strip(),
        body=body.strip(),
        link=link.strip(),
        due_on=due_on,
        published_by=actor,
    )
    item_id = item.pk
    transaction.on_commit(lambda: _queue_notices(item_id))
    return item


def _queue_notices(item_id: int) -> None:
    try:
        notify_study_item.delay(item_id)
    except (KombuOperationalError, RedisError, OSError):
        logger.exception("broker unreachable, study item %s notices not queued", item_id)


def send_notices(*, item_id: int) -> int:
    """Tell each member the item is for; a second run finds each message by its key."""
    item = StudyItem.objects.select_related("organisation").filter(pk=item_id).first()
    if item is None:
        return 0
    values = {"title": item.title, "due_on": f"{item.due_on:%Y-%m-%d}", "link": item.link}
    sent = 0
    members = members_for(item).select_related("message_preference").order_by("pk")
    for member in members.iterator(chunk_size=500):
        notify.notify(
            member=member,
            kind="study_published",
            key=f"study:{item.pk}:{member.pk}",
            values=values,
        )
        sent += 1
    return sent


@shared_task(acks_late=True)
def notify_study_item(item_id: int) -> int:
    return send_notices(item_id=item_id)


@dataclass(frozen=True)
class BranchCompletion:
    branch_id: int
    name: str
    total: int
    done: int

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0


def completion_by_branch(*, user, item: StudyItem) -> list[BranchCompletion]:
    """Per home branch under the item's organisation (and in the user's scope): how many
    members the item is for, and how many checked in. One grouped query."""
    checked = StudyCheckIn.objects.filter(item=item, member=OuterRef("pk"))
    grouped = (
        _for_item(members_editable_by(user), item)
        .order_by()
        .values("home_branch", "home_branch__name", "home_branch__path")
        .annotate(total=Count("pk"), done=Count("pk", filter=Q(Exists(checked))))
        .order_by("home_branch__path")
    )
    return [
        BranchCompletion(row["home_branch"], row["home_branch__name"], row["total"], row["done"])
        for row in grouped
    ]


def check_ins_seen_by(*, user, item: StudyItem, limit: int = 200) -> QuerySet[StudyCheckIn]:
    """The latest check-ins of the user's own members, with their reflections."""
    return (
        item.check_ins.filter(member__in=members_editable_by(user))
        .select_related("member", "member__home_branch")
        .order_by("-checked_in_at", "-pk")[:limit]
    )
