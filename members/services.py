"""Writes. Views and tasks call these; they record who acted (history, access log)."""

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone

from . import conflicts
from .models import Member, SensitiveAccess


class EditConflict(Exception):
    """Someone saved the member after the form was opened; nothing was written."""

    def __init__(self, *, version: int, entries: list):
        super().__init__("edit conflict")
        self.version = version  # the member's version now
        self.entries = entries  # who changed what since, oldest first


@transaction.atomic
def member_save(*, member: Member, actor, version: int | None = None) -> Member:
    """Create or update a member validated by its form; history records `actor`.

    With `version` (the one the edit form was opened on) an update on top of a newer save is
    refused with EditConflict, so the second of two editors never silently overwrites the first.
    """
    if member.pk and version is not None:
        # Lock the row: a concurrent save waits here and then sees the newer version.
        Member.objects.select_for_update().filter(pk=member.pk).values_list("pk").first()
        current = conflicts.member_version(member)
        if current != version:
            raise EditConflict(
                version=current, entries=conflicts.changes_since(member=member, version=version)
            )
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
