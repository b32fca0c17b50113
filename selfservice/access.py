"""The member's way in: a personal link, proved once per device, then a signed cookie.

A link is `[member, generation]`, signed: the branch can show it again at any time (as a
QR code for WeChat), rotating bumps the generation so every older link and signed-in device
stops, and revoking stops them all until a new one is issued. A new device proves itself with
a one-time code (SMS or e-mail), or, for a member with neither, the ID number's last four
digits and the birth date. Tries are counted per member and per hour.
"""

import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core import signing
from django.db import transaction
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from infrastructure.steps import StepRefused
from members import phone
from members.models import Member

from . import notify
from .models import MemberLink, SignInCode

LINK_SALT = "liudong.member-link"
DEVICE_SALT = "liudong.member-device"
DEVICE_COOKIE = "liudong_member"
DEVICE_DAYS = 30
CODE_MINUTES = 10
CODES_PER_HOUR = 5
FAILED_TRIES_PER_HOUR = 5


class LinkRefused(Exception):
    """The link cannot be used: `reason` is what to tell the member, `gone` a revoked or
    replaced link (as opposed to one that never was)."""

    def __init__(self, reason: str, *, gone: bool = False):
        super().__init__(reason)
        self.reason, self.gone = reason, gone


NOT_A_LINK = "此链接无效。请核对链接是否完整，或请党支部书记重新发送您的专属链接。"
LINK_GONE = "此链接已停用（党支部已收回或更换了您的专属链接）。请联系党支部书记获取新链接。"
SIGNED_OUT = "请打开党支部发给您的专属链接（短信、邮件或微信中的链接，或扫描二维码）进入本页。"


# --- the link ---------------------------------------------------------------------------------


@transaction.atomic
def issue_link(*, member: Member, actor) -> MemberLink:
    """The member's link, made if missing, and re-enabled (in a new generation) if revoked."""
    link, made = MemberLink.objects.select_for_update().get_or_create(
        member=member, defaults={"issued_by": actor}
    )
    if not made and link.revoked_at is not None:
        link.generation += 1
        link.revoked_at, link.issued_by = None, actor
        link.save()
    return link


@transaction.atomic
def rotate_link(*, member: Member, actor) -> MemberLink:
    """A new link: the old one and every device signed in with it stop working."""
    link, _made = MemberLink.objects.select_for_update().get_or_create(
        member=member, defaults={"issued_by": actor}
    )
    link.generation += 1
    link.revoked_at, link.issued_by = None, actor
    link.save()
    return link


@transaction.atomic
def revoke_link(*, member: Member, actor) -> MemberLink | None:
    link = MemberLink.objects.select_for_update().filter(member=member).first()
    if link is not None and link.revoked_at is None:
        link.revoked_at, link.issued_by = timezone.now(), actor
        link.save()
    return link


def token_for(link: MemberLink) -> str:
    # No timestamp: the same link reads the same every time it is shown or sent.
    return signing.Signer(salt=LINK_SALT).sign_object([link.member_id, link.generation])


def url_for(link: MemberLink) -> str:
    path = reverse("selfservice:open_link", args=[token_for(link)])
    return settings.SITE_URL.rstrip("/") + path


def link_of(token: str) -> MemberLink:
    """The live link a token is for, or LinkRefused with what to tell the member."""
    try:
        member_id, generation = signing.Signer(salt=LINK_SALT).unsign_object(token)
    except (signing.BadSignature, ValueError, TypeError) as error:
        raise LinkRefused(NOT_A_LINK) from error
    link = MemberLink.objects.select_related("member").filter(member_id=member_id).first()
    if link is None:
        raise LinkRefused(NOT_A_LINK)
    if link.revoked_at is not None or link.generation != generation:
        raise LinkRefused(LINK_GONE, gone=True)
    return link


def send_link(*, member: Member, channel: str):
    """The live link to the member by SMS or e-mail (sent even in quiet hours: someone asked)."""
    link = MemberLink.objects.filter(member=member, revoked_at__isnull=True).first()
    if link is None:
        raise StepRefused(_("Make the link first."))
    if channel == "email" and not member.email:
        raise StepRefused(_("The member has no e-mail address on record."))
    if channel == "sms" and ways_to_prove(member)[0].channel != "sms":
        raise StepRefused(_("The member's phone is not a mobile number: send the link by WeChat."))
    # One message per link, channel and day: a double click sends it once.
    key = f"link:{member.pk}:{link.generation}:{channel}:{timezone.localdate():%Y%m%d}"
    return notify.notify(
        member=member,
        kind="link",
        key=key,
        values={"name": member.name, "link": url_for(link)},
        urgent=True,
        channel=channel,
    )


MEMBER_REPLACEMENTS_PER_DAY = 3


def member_replaces_link(*, member: Member) -> tuple[MemberLink, str]:
    """The member's own "my phone is lost / my link went astray": a new link, every other device
    and the old link stop, and the new link goes to the member's phone or e-mail. Returns the
    link and where it went ("" when the member has neither)."""
    since = timezone.now() - timedelta(days=1)
    if (
        MemberLink.history.filter(member_id=member.pk, history_date__gte=since, history_user=None)
        .exclude(history_type="+")
        .count()
        >= MEMBER_REPLACEMENTS_PER_DAY
    ):
        raise StepRefused("今天已多次更换链接，请明天再试，或联系党支部书记。")
    link = rotate_link(member=member, actor=None)
    way = ways_to_prove(member)[0]
    if way.channel == SignInCode.Channel.ID_NUMBER:
        return link, ""
    send_link(member=member, channel=way.channel)
    return link, way.shown_as


# --- the device -------------------------------------------------------------------------------


def sign_in_device(response, link: MemberLink) -> None:
    response.set_signed_cookie(
        DEVICE_COOKIE,
        f"{link.member_id}:{link.generation}",
        salt=DEVICE_SALT,
        max_age=DEVICE_DAYS * 24 * 3600,
        httponly=True,
        secure=settings.SESSION_COOKIE_SECURE,
        samesite="Lax",
    )


def sign_out_device(response) -> None:
    response.delete_cookie(DEVICE_COOKIE, samesite="Lax")


def device_member(request) -> Member | None:
    """The member this device is signed in for, while their link is still live."""
    value = request.get_signed_cookie(
        DEVICE_COOKIE, default=None, salt=DEVICE_SALT, max_age=DEVICE_DAYS * 24 * 3600
    )
    if not value:
        return None
    try:
        member_id, generation = (int(part) for part in value.split(":"))
    except ValueError:
        return None
    link = (
        MemberLink.objects.select_related("member", "member__home_branch")
        .filter(member_id=member_id, generation=generation, revoked_at__isnull=True)
        .first()
    )
    return link.member if link is not None else None


# --- proving a new device ---------------------------------------------------------------------


@dataclass(frozen=True)
class Way:
    channel: str
    shown_as: str  # where the code goes, masked


def ways_to_prove(member: Member) -> list[Way]:
    """Codes go to a mobile number or an e-mail address; a member with neither (a landline
    only) proves themselves with the ID number's tail and the birth date instead."""
    ways = []
    if phone.MOBILE.match(phone.normalise(member.phone)):
        ways.append(Way(SignInCode.Channel.SMS, phone.masked(member.phone)))
    if member.email:
        ways.append(Way(SignInCode.Channel.EMAIL, phone.masked_email(member.email)))
    return ways or [Way(SignInCode.Channel.ID_NUMBER, "")]


def _digest(member: Member, code: str) -> str:
    return salted_hmac(f"{LINK_SALT}.code.{member.pk}", code).hexdigest()


def _recent(member: Member, now):
    return SignInCode.objects.filter(member=member, created_at__gte=now - timedelta(hours=1))


def _refuse_if_locked(member: Member, now) -> None:
    failed = sum(_recent(member, now).values_list("failed_tries", flat=True))
    if failed >= FAILED_TRIES_PER_HOUR:
        raise StepRefused("尝试次数过多，请一小时后再试，或联系党支部书记。")


@transaction.atomic
def send_code(*, member: Member, channel: str, now=None) -> SignInCode:
    """A fresh six-digit code by SMS or e-mail (sent even in quiet hours: the member asked)."""
    now = now or timezone.now()
    Member.objects.select_for_update().filter(pk=member.pk).first()  # one sender at a time
    if channel == SignInCode.Channel.ID_NUMBER or channel not in {
        way.channel for way in ways_to_prove(member)
    }:
        raise StepRefused("无法通过该方式发送验证码。")
    _refuse_if_locked(member, now)
    sent = _recent(member, now).exclude(channel=SignInCode.Channel.ID_NUMBER).count()
    if sent >= CODES_PER_HOUR:
        raise StepRefused("验证码发送过于频繁，请一小时后再试。")
    code = f"{secrets.randbelow(10**6):06d}"
    challenge = SignInCode.objects.create(
        member=member,
        channel=channel,
        code_digest=_digest(member, code),
        expires_at=now + timedelta(minutes=CODE_MINUTES),
    )
    notify.notify(
        member=member,
        kind="sign_in_code",
        key=f"sign-in-code:{challenge.pk}",
        values={"code": code, "minutes": CODE_MINUTES},
        urgent=True,
        channel=channel,
    )
    return challenge


def check_code(*, member: Member, code: str, now=None) -> None:
    """Accept the latest unused, unexpired code, or count a failed try (kept: the refusal is
    raised after the commit)."""
    now = now or timezone.now()
    with transaction.atomic():
        _refuse_if_locked(member, now)
        challenge = (
            SignInCode.objects.select_for_update()
            .filter(member=member, used_at__isnull=True, expires_at__gt=now)
            .exclude(channel=SignInCode.Channel.ID_NUMBER)
            .order_by("-created_at", "-id")
            .first()
        )
        if challenge is None:
            raise StepRefused("验证码已过期或未发送，请重新获取验证码。")
        right = constant_time_compare(challenge.code_digest, _digest(member, code.strip()))
        if right:
            challenge.used_at = now
        else:
            challenge.failed_tries += 1
        challenge.save(update_fields=["used_at", "failed_tries"])
    if not right:
        raise StepRefused("验证码不正确，请核对短信或邮件中的六位数字。")


def check_identity(*, member: Member, id_tail: str, birth_date: date, now=None) -> None:
    """For a member with neither phone nor e-mail: the ID number's last four and birth date."""
    now = now or timezone.now()
    if ways_to_prove(member)[0].channel != SignInCode.Channel.ID_NUMBER:
        raise StepRefused("请使用发送到您手机或邮箱的验证码。")
    with transaction.atomic():
        Member.objects.select_for_update().filter(pk=member.pk).first()
        _refuse_if_locked(member, now)
        right = constant_time_compare(
            member.national_id[-4:].upper(), id_tail.strip().upper()
        ) and (member.birth_date == birth_date)
        SignInCode.objects.create(
            member=member,
            channel=SignInCode.Channel.ID_NUMBER,
            expires_at=now,
            failed_tries=0 if right else 1,
            used_at=now if right else None,
        )
    if not right:
        raise StepRefused("身份证号后四位或出生日期不正确。")


# --- the member's pages -----------------------------------------------------------------------


def member_required(view):
    """A page of the member's own: no staff login, a device signed in with a live link.
    `request.member` is that member; every page reads only through it."""

    @login_not_required
    @wraps(view)
    def guarded(request, *args, **kwargs):
        member = device_member(request)
        if member is None:
            response = render(
                request, "selfservice/closed.html", {"reason": SIGNED_OUT}, status=403
            )
        else:
            request.member = member
            response = view(request, *args, **kwargs)
        patch_cache_control(response, private=True, no_store=True)
        return response

    return guarded
