"""Writes. Views and tasks call these; they record who acted (history, access log)."""

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone

from .models import Member, SensitiveAccess


@transaction.atomic
def member_save(*, member: Member, actor) -> Member:
    """Create or update a member validated by its form; history records `actor`."""
    member._history_user = actor
    member.save()
    return member


@transaction.atomic
def national_id_reveal(*, member: Member, actor, ip_address: str | None) -> str:
    """Return the clear ID number and log that `actor` saw it."""
    SensitiveAccess.objects.create(
        user=actor,
        member=member,
        action=SensitiveAccess.Action.REVEAL_NATIONAL_ID,
        ip_address=ip_address,
    )
    return member.national_id


def housekeeping() -> dict[str, int]:
    """Drop expired sessions and login attempts whose cool-off has passed. Safe to run twice."""
    now = timezone.now()
    sessions, _ = Session.objects.filter(expire_date__lt=now).delete()
    attempts, _ = AccessAttempt.objects.filter(
        attempt_time__lt=now - settings.AXES_COOLOFF_TIME
    ).delete()
    return {"expired_sessions": sessions, "expired_login_attempts": attempts}
