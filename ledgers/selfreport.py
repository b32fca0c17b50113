"""The member's monthly self-report: a signed, expiring link, and the secretary's decision."""

from datetime import date

import segno
from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from activities.models import Activity
from alerts.notifications import deliver
from infrastructure.steps import StepRefused
from members.models import Member
from members.selectors import members_editable_by
from members.services import evidence_changed
from transfers.models import MobilityEpisode

from . import services
from .models import ContactAttempt, FiveClearsItem, SelfReport

SALT = "liudong.self-report"
MAX_AGE = 35 * 24 * 3600  # a month's link, with a few days' grace
KIND = "self_report"


def period_of(day: date) -> str:
    return f"{day:%Y-%m}"


def make_token(member: Member, period: str) -> str:
    return signing.dumps({"m": member.pk, "p": period}, salt=SALT)


def read_token(token: str) -> tuple[Member, str]:
    """The member and month the link is for; raises BadSignature/SignatureExpired/DoesNotExist."""
    data = signing.loads(token, salt=SALT, max_age=MAX_AGE)
    return Member.objects.select_related("home_branch").get(pk=data["m"]), data["p"]


def link_for(member: Member, period: str) -> str:
    path = reverse("ledgers:self_report", args=[make_token(member, period)])
    return settings.SITE_URL.rstrip("/") + path


def qr_svg(link: str) -> str:
    """The link as an inline SVG QR code, for a phone's camera or a WeChat message."""
    return segno.make(link, error="m").svg_inline(scale=3, dark="#000", light="#fff", title=None)


def known_answers(member: Member) -> dict[str, str]:
    """What the branch already knows, so the member only corrects what changed. Not the phone:
    the link may be forwarded, so the page shows it masked (`masked_phone`) and a blank answer
    keeps it."""
    episode = member.mobility_episodes.current().first()
    return {
        "where": episode.destination if episode else "",
        "occupation": episode.occupation if episode else "",
    }


def submit(*, member: Member, period: str, where: str, occupation: str, phone: str, note: str):
    try:
        with transaction.atomic():
            return SelfReport.objects.create(
                member=member,
                period=period,
                where=where,
                occupation=occupation,
                phone=phone,
                note=note,
            )
    except IntegrityError as error:
        raise StepRefused("本月已提交过，感谢您的配合。") from error


@transaction.atomic
def decide(*, actor, report: SelfReport, accept: bool) -> SelfReport:
    """Accept into the ledger (counts as a contact, channel self-report) or reject."""
    report = SelfReport.objects.select_for_update().get(pk=report.pk)
    if not members_editable_by(actor).filter(pk=report.member_id).exists():
        raise StepRefused("只有组织关系所在党支部可以处理。")
    if report.status != SelfReport.Status.PENDING:
        raise StepRefused("该自报信息已处理。")
    report.status = SelfReport.Status.ACCEPTED if accept else SelfReport.Status.REJECTED
    report.decided_by, report.decided_at = actor, timezone.now()
    report.save()
    if accept:
        today = timezone.localdate()
        episode = MobilityEpisode.objects.current().filter(member=report.member).first()
        if episode is not None:
            services.ledger_update_item(
                actor=actor,
                member=report.member,
                item=FiveClearsItem.WHERE,
                values={"address": report.where},
                on=today,
            )
            services.ledger_update_item(
                actor=actor,
                member=report.member,
                item=FiveClearsItem.OCCUPATION,
                values={"occupation": report.occupation},
                on=today,
            )
        services.ledger_update_item(
            actor=actor,
            member=report.member,
            item=FiveClearsItem.CONTACT,
            values={"phone": report.phone},
            on=today,
        )
        ContactAttempt.objects.create(
            member=report.member,
            on=report.submitted_at.date(),
            reached=True,
            channel=ContactAttempt.Channel.SELF_REPORT,
            note=report.note[:300],
            recorded_by=actor,
        )
        evidence_changed(member_ids=[report.member_id])
    return report


def members_to_remind():
    away = MobilityEpisode.objects.current().values("member_id")
    return Member.objects.filter(status=Member.Status.ACTIVE, pk__in=away).exclude(email="")


def upcoming_activities(member: Member, *, today: date, limit: int = 5):
    """Planned activities of the home branch and of an internal inflow branch."""
    episode = MobilityEpisode.objects.current().filter(member=member).first()
    branches = [member.home_branch_id]
    if episode is not None and episode.inflow_organisation_id:
        branches.append(episode.inflow_organisation_id)
    return list(
        Activity.objects.filter(branch__in=branches, held_on__gte=today)
        .select_related("branch")
        .order_by("held_on")[:limit]
    )


def send_reminder(*, member: Member, period: str) -> str:
    return deliver(
        recipient=member.email,
        user=None,
        kind=KIND,
        period=period,
        context=lambda: {
            "member": member,
            "branch": member.home_branch,
            "link": link_for(member, period),
            "activities": upcoming_activities(member, today=timezone.localdate()),
        },
    )
