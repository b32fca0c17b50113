"""The access log, read: for the administrators' page."""

from datetime import date, datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils import timezone

from members.models import SensitiveAccess


def access_log_entries(
    *,
    user_id: int | None = None,
    action: str = "",
    since: date | None = None,
    until: date | None = None,
) -> QuerySet[SensitiveAccess]:
    """The log, newest first, filtered; `until` includes the whole of that day."""
    entries = SensitiveAccess.objects.select_related("user", "member", "member__home_branch")
    if user_id is not None:
        entries = entries.filter(user_id=user_id)
    if action:
        entries = entries.filter(action=action)
    if since is not None:
        entries = entries.filter(at__gte=_start_of(since))
    if until is not None:
        entries = entries.filter(at__lt=_start_of(until) + timedelta(days=1))
    return entries.order_by("-at", "-id")


def access_log_users() -> QuerySet:
    """The users who appear in the log, for the filter."""
    users = SensitiveAccess.objects.values("user_id")
    return get_user_model().objects.filter(pk__in=users).order_by("username")


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))
