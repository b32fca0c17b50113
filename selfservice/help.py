"""求助: the member asks the branch for help (employment, legal aid, social security, other)
from their own page and follows the answer. The request is the branch's `ServiceRequest`,
marked as raised by the member (`HelpRequestOrigin`), and answered like any other."""

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from activities import services as activity_services
from activities.models import ServiceRequest
from infrastructure.steps import StepRefused
from members.models import Member
from members.selectors import members_editable_by

from . import notify
from .models import HelpRequestOrigin

Kind, Status = ServiceRequest.Kind, ServiceRequest.Status
OPEN_FROM_PAGE_MAX = 5  # a phone page, not a flood gate
KIND_WORDS = {
    Kind.EMPLOYMENT: "就业帮助",
    Kind.LEGAL: "法律援助",
    Kind.SOCIAL_SECURITY: "社保转移接续",
    Kind.OTHER: "其他",
}
STATUS_WORDS = {Status.OPEN: "待处理", Status.IN_PROGRESS: "办理中", Status.DONE: "已办结"}


def requests_of(member: Member) -> QuerySet[ServiceRequest]:
    """All the member's service requests, those the branch recorded too, newest first."""
    return ServiceRequest.objects.filter(member=member).order_by("-raised_on", "-pk")


@transaction.atomic
def raise_request(*, member: Member, kind: str, description: str) -> ServiceRequest:
    Member.objects.select_for_update().filter(pk=member.pk).first()  # one at a time
    description = description.strip()
    if kind not in Kind.values:
        raise StepRefused("请选择求助类型。")
    if not description:
        raise StepRefused("请写明需要什么帮助。")
    unfinished = ServiceRequest.objects.filter(member=member).exclude(status=Status.DONE)
    if unfinished.filter(kind=kind, description=description).exists():
        raise StepRefused("您已提交过相同的求助，正在等待党支部处理。")
    if unfinished.filter(raised_by_member__isnull=False).count() >= OPEN_FROM_PAGE_MAX:
        raise StepRefused(
            f"您已有{OPEN_FROM_PAGE_MAX}条求助尚未办结，请等党支部处理后再提交，"
            "或直接联系党支部书记。"
        )
    request = ServiceRequest.objects.create(
        member=member,
        kind=kind,
        description=description,
        raised_on=timezone.localdate(),
        status=Status.OPEN,
    )
    HelpRequestOrigin.objects.create(request=request)
    return request


@transaction.atomic
def answer(
    *, actor, service_request: ServiceRequest, handler: str, status: str, outcome: str
) -> ServiceRequest:
    """The branch's answer: who handles it, where it stands, and the outcome the member sees."""
    service_request = ServiceRequest.objects.select_for_update().get(pk=service_request.pk)
    handler, outcome = handler.strip(), outcome.strip()
    if status not in Status.values:
        raise StepRefused("请选择办理状态。")
    if status == Status.DONE and not outcome:
        raise StepRefused("办结时请写明办理结果，党员会在自己的页面看到。")
    if len(handler) > 100 or len(outcome) > 300:
        raise StepRefused("经办人最多100个字，办理结果最多300个字。")
    was = service_request.status
    service_request.handler, service_request.status = handler, status
    service_request.outcome = outcome
    saved = activity_services.member_record_save(actor=actor, record=service_request)
    if status != was and status != Status.OPEN and _from_the_phone(saved):
        # Told when it is taken up and when it is done (again if it is reopened and done).
        notify.notify(
            member=saved.member,
            kind="help_answered",
            key=f"help-answered:{saved.pk}:{status}:{timezone.now().isoformat()}",
            values={
                # Words, not flags: an SMS gateway's template takes every value as text.
                "state": STATUS_WORDS[status],
                "what": KIND_WORDS.get(saved.kind, "求助"),
                "outcome": notify.short(outcome),
                "link": settings.SITE_URL.rstrip("/") + reverse("selfservice:help"),
            },
        )
    return saved


def _from_the_phone(service_request: ServiceRequest) -> bool:
    return HelpRequestOrigin.objects.filter(request=service_request).exists()


def home_side(user) -> QuerySet[ServiceRequest]:
    return ServiceRequest.objects.filter(member__in=members_editable_by(user))


def pending_for(user) -> QuerySet[ServiceRequest]:
    """Open requests members raised from their page, for their home side, oldest first."""
    return (
        home_side(user)
        .filter(raised_by_member__isnull=False, status=Status.OPEN)
        .select_related("member", "member__home_branch", "raised_by_member")
        .order_by("raised_on", "pk")
    )


def tile(member: Member) -> dict:
    """The home page's tile; `waiting` counts the member's requests not yet done."""
    mine = requests_of(member)
    latest = mine.first()
    line = (
        "就业、法律、社保等方面遇到困难，可以在这里求助"
        if latest is None
        else f"{KIND_WORDS.get(latest.kind, latest.kind)}：{STATUS_WORDS.get(latest.status, '')}"
    )
    return {
        "title": "求助",
        "url": reverse("selfservice:help"),
        "waiting": mine.exclude(status=Status.DONE).count(),
        "line": line,
    }
