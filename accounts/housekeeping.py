"""Nightly tidying that keeps the database small. Safe to run twice."""

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.sessions.models import Session
from django.utils import timezone


def housekeeping() -> dict[str, int]:
    """Drop expired sessions and login attempts whose cool-off has passed. Safe to run twice."""
    now = timezone.now()
    sessions, _ = Session.objects.filter(expire_date__lt=now).delete()
    attempts, _ = AccessAttempt.objects.filter(
        attempt_time__lt=now - settings.AXES_COOLOFF_TIME
    ).delete()
    return {"expired_sessions": sessions, "expired_login_attempts": attempts}
