"""Telling a member something: one call, `notify`, whatever the channel.

Every message is a `MemberMessage` row before anything is sent, keyed by the caller's `key`:
the same key twice is one row and one send. The row carries its status (queued, sent, failed,
suppressed), the attempts and the last error; `deliver` (run by the Celery task) sends it.
"""

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from email.utils import make_msgid
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import RedisError

from infrastructure.sms import send_sms
from members.models import Member

from .models import MemberMessage, MessagePreference

logger = logging.getLogger(__name__)

SMS, EMAIL = MessagePreference.Channel.SMS, MessagePreference.Channel.EMAIL
Status = MemberMessage.Status

# A queued message this long past its time has lost its task; `due_message_ids` finds it.
LOST_AFTER = timedelta(minutes=5)


SECRET_VALUES = {"code"}


def notify(
    *,
    member: Member,
    kind: str,
    key: str,
    values: dict,
    urgent: bool = False,
    channel: str | None = None,
) -> MemberMessage:
    """Record the message `kind` to `member` and send it after the commit; the row.

    `key` names this one message (e.g. "dues_decided:claim-42"): a second call with it returns
    the first row and sends nothing. The channel is `channel`, else the member's preference,
    else SMS, and falls back to the other one when the member has no such address. An opted-out
    member's message is kept as suppressed; one in quiet hours waits for their end. `urgent`
    (a sign-in code the member just asked for) ignores both.
    """
    preference = _preference(member)
    chosen, recipient = _channel(member=member, preference=preference, asked=channel)
    defaults = {
        "member": member,
        "kind": kind,
        "channel": chosen,
        "recipient": recipient,
        "values": values,
    }
    if not recipient:
        defaults.update(status=Status.SUPPRESSED, last_error="no phone number or e-mail address")
    elif not urgent and preference is not None and preference.opted_out:
        defaults.update(status=Status.SUPPRESSED, last_error="the member opted out")
    elif not urgent:
        defaults["not_before"] = quiet_end(preference=preference, at=timezone.now())
    with transaction.atomic():
        message, created = MemberMessage.objects.get_or_create(key=key, defaults=defaults)
        if created and message.status == Status.QUEUED:
            message_id, eta = message.pk, message.not_before
            transaction.on_commit(lambda: _enqueue(message_id, eta=eta))
    return message


def _preference(member: Member) -> MessagePreference | None:
    """The member's preference: joined by a sender's query over many members
    (`select_related("message_preference")`), else read now."""
    if not Member.message_preference.is_cached(member):
        return MessagePreference.objects.filter(member=member).first()
    try:
        return member.message_preference
    except MessagePreference.DoesNotExist:
        return None


SHORT_TEXT = 60  # a value in an SMS template; the whole text is on the member's own page


def short(text: str, most: int = SHORT_TEXT) -> str:
    """A reason or an outcome cut for a message: providers limit each template field."""
    return text if len(text) <= most else text[: most - 1] + "…"


def _channel(
    *, member: Member, preference: MessagePreference | None, asked: str | None
) -> tuple[str, str]:
    """(channel, address): the one wanted if the member has that address, else the other."""
    wanted = asked or (preference.channel if preference is not None else SMS)
    if wanted == EMAIL and member.email:
        return EMAIL, member.email
    if member.phone:
        return SMS, member.phone
    if member.email:
        return EMAIL, member.email
    return wanted, ""


def quiet_end(*, preference: MessagePreference | None, at: datetime) -> datetime | None:
    """When the member's quiet hours around `at` end, or None if `at` is outside them.

    Hours are local (TIME_ZONE); a window may cross midnight (22:00-07:00).
    """
    if preference is None or preference.quiet_from is None or preference.quiet_until is None:
        return None
    start, end = preference.quiet_from, preference.quiet_until
    if start == end:
        return None
    zone = ZoneInfo(settings.TIME_ZONE)
    local = timezone.localtime(at, zone)
    now = local.time()
    inside = start <= now < end if start < end else (now >= start or now < end)
    if not inside:
        return None
    day = local.date() if now < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=zone)


_senders: dict[str, Callable[[int, datetime | None], object]] = {}


def register_sender(send: Callable[[int, datetime | None], object]) -> None:
    """`send(message_id, eta)`: how a message leaves (tasks.py hands over its Celery task, so
    that this module, which the task calls, does not import it)."""
    _senders["deliver"] = send


def _enqueue(message_id: int, *, eta: datetime | None) -> None:
    send = _senders.get("deliver")
    if send is None:  # the app is not ready (a script without Django's setup)
        logger.error("no sender registered, member message %s waits for the sweep", message_id)
        return
    try:
        send(message_id, eta)
    except (KombuOperationalError, RedisError, OSError):
        # The row stays queued; `send_due_messages` sends it when the broker is back.
        logger.exception("broker unreachable, member message %s waits for the sweep", message_id)


def deliver(message_id: int) -> str:
    """Send one message unless it is sent, suppressed or not yet due; its status after.

    Raises the sending error once the failure is recorded, so that the task retries.
    """
    with transaction.atomic():
        # Hold the row while sending: a second task for the same message (a redelivery, the
        # sweep) waits here, then finds it sent.
        message = MemberMessage.objects.select_for_update().get(pk=message_id)
        if message.status in (Status.SENT, Status.SUPPRESSED):
            return message.status
        if message.not_before is not None and message.not_before > timezone.now():
            return "not yet"  # quiet hours: the task with its eta, or the sweep, comes back
        error = _send(message)
    if error is not None:
        raise error  # after the commit, so that the failure and its count are kept
    return message.status


def _send(message: MemberMessage) -> Exception | None:
    """Send and record the outcome on `message`; the error, if any, for the caller to raise."""
    member = Member.objects.get(pk=message.member_id)
    context = {"name": member.name, **message.values, "member": member}
    message.attempts += 1
    try:
        with translation.override(settings.LANGUAGE_CODE):
            if message.channel == EMAIL:
                provider_id = _send_email(message, context)
            else:
                text = render_to_string(f"selfservice/messages/{message.kind}.sms.txt", context)
                provider_id = send_sms(
                    to=message.recipient,
                    template=message.kind,
                    values=message.values,
                    key=message.key,
                    text=text.strip(),
                )
    except Exception as error:  # noqa: BLE001 - recorded here, raised by the caller
        message.status = Status.FAILED
        message.last_error = f"{type(error).__name__}: {error}"[:300]
        message.save(update_fields=["status", "attempts", "last_error"])
        logger.warning("member message %s failed: %s", message.pk, message.last_error)
        return error
    message.status, message.sent_at, message.last_error = Status.SENT, timezone.now(), ""
    message.provider_id = provider_id[:100]
    # A sign-in code is not kept once it has left: the row is the record, not a second copy.
    message.values = {k: "******" if k in SECRET_VALUES else v for k, v in message.values.items()}
    message.save(
        update_fields=["status", "attempts", "last_error", "sent_at", "provider_id", "values"]
    )
    return None


def _send_email(message: MemberMessage, context: dict) -> str:
    subject = render_to_string(f"selfservice/messages/{message.kind}_subject.txt", context)
    text = render_to_string(f"selfservice/messages/{message.kind}.txt", context)
    mail = EmailMultiAlternatives(
        " ".join(subject.split()), text, settings.DEFAULT_FROM_EMAIL, [message.recipient]
    )
    # Our own Message-ID, so that the row says which e-mail went out.
    mail.extra_headers["Message-ID"] = make_msgid(domain="liudong.local")
    mail.send()
    return mail.extra_headers["Message-ID"]


def due_message_ids(*, now: datetime | None = None, limit: int = 1000) -> list[int]:
    """Queued messages that should have gone out by now: their task was lost, or they
    waited out quiet hours and their task did not come back."""
    cutoff = (now or timezone.now()) - LOST_AFTER
    due = Q(not_before__isnull=True, created_at__lte=cutoff) | Q(not_before__lte=cutoff)
    return list(
        MemberMessage.objects.filter(due, status=Status.QUEUED)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
