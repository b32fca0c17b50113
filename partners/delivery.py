"""Sending the outbox: one message at a time, holding its row, until the partner answers.

2xx: delivered (the partner keeps it once, by its id). 4xx other than 408/429: refused, kept
with the partner's reason and not retried (the administrator may queue it again). Anything
else (down, timeout, 5xx): tried again later, the wait doubling up to an hour; a partner down
for a day loses nothing, and a message delivered twice is acted on once.
"""

import json
import logging
import urllib.error
import urllib.request
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import signing
from .models import OutgoingMessage

logger = logging.getLogger(__name__)
Status = OutgoingMessage.Status


class PartnerUnreachable(Exception):
    """Worth another try later."""


def retry_seconds(attempts: int) -> int:
    first = getattr(settings, "PARTNER_RETRY_SECONDS", 60)
    return min(
        first * 2 ** max(attempts - 1, 0), getattr(settings, "PARTNER_RETRY_MAX_SECONDS", 3600)
    )


def envelope(message: OutgoingMessage) -> bytes:
    return json.dumps(
        {"id": str(message.pk), "kind": message.kind, "body": message.body},
        ensure_ascii=False,
        sort_keys=True,
    ).encode()


def _post(message: OutgoingMessage) -> tuple[int, str]:
    """The partner's HTTP status and answer; raises PartnerUnreachable when there is none."""
    partner = message.partner
    raw = envelope(message)
    request = urllib.request.Request(  # noqa: S310 - the partner's address, set by an administrator
        partner.inbox_url,
        data=raw,
        method="POST",
        headers={
            "Content-Type": "application/json",
            **signing.signed_headers(
                key_id=partner.our_key_id, secret=partner.sending_secret, body=raw
            ),
        },
    )
    timeout = getattr(settings, "PARTNER_SEND_TIMEOUT", 10.0)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, response.read(2000).decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read(2000).decode(errors="replace")
    except (urllib.error.URLError, OSError) as error:
        raise PartnerUnreachable(str(getattr(error, "reason", error))) from error


def deliver(message_id: str) -> str:
    """Send one queued message; its status after. Raises PartnerUnreachable once the failure is
    recorded, so that the task retries (the sweep retries too, past the task's retries)."""
    with transaction.atomic():
        # Held while sending: a second task for it (a redelivery, the sweep) waits, then finds
        # it sent.
        message = (
            OutgoingMessage.objects.select_for_update()
            .select_related("partner")
            .filter(pk=message_id)
            .first()
        )
        if message is None or message.status != Status.QUEUED:
            return message.status if message else "gone"
        message.attempts += 1
        try:
            status, answer = _post(message)
        except PartnerUnreachable as error:
            failure = error
            _later(message, f"unreachable: {error}")
        else:
            failure = None
            if 200 <= status < 300:
                message.status, message.sent_at, message.last_error = (
                    Status.SENT,
                    timezone.now(),
                    "",
                )
            elif 400 <= status < 500 and status not in (408, 429):
                message.status, message.last_error = Status.REFUSED, f"{status}: {_reason(answer)}"
            else:
                failure = PartnerUnreachable(f"HTTP {status}")
                _later(message, f"HTTP {status}: {_reason(answer)}")
        message.save(update_fields=["status", "attempts", "next_try_at", "last_error", "sent_at"])
    if failure is not None:
        logger.warning("partner message %s not delivered: %s", message.pk, message.last_error)
        raise failure
    return message.status


def _later(message: OutgoingMessage, error: str) -> None:
    message.last_error = error[:300]
    message.next_try_at = timezone.now() + timedelta(seconds=retry_seconds(message.attempts))


def _reason(answer: str) -> str:
    try:
        return str(json.loads(answer).get("error", answer))[:250]
    except (ValueError, AttributeError):
        return answer[:250]


def due_message_ids(*, now: datetime | None = None) -> list[str]:
    """Queued messages whose next try has come (their task failed, or was lost)."""
    now = now or timezone.now()
    return [
        str(pk)
        for pk in OutgoingMessage.objects.filter(
            status=Status.QUEUED, next_try_at__lte=now
        ).values_list("pk", flat=True)[:500]
    ]


@transaction.atomic
def requeue(*, message_ids: list) -> int:
    """Queue refused messages again, due now (after the administrators fixed the cause)."""
    return (
        OutgoingMessage.objects.filter(pk__in=message_ids)
        .exclude(status=Status.SENT)
        .update(status=Status.QUEUED, next_try_at=timezone.now())
    )
