"""Reads for the member's own pages: always through the member, never by a bare id."""

from django.utils import timezone

from members.models import Member


def home_page(*, member: Member) -> dict:
    """What the home page shows: one line per thing the member can do, with what is waiting."""
    today = timezone.localdate()
    return {"member": member, "today": today}
