"""Reads for edit conflicts: which version of a member a form was opened on, what changed since.

A member's version is the id of its latest history row. Every write path records history
(the forms, the services, the ledger import's bulk writes), so a newer row means that
someone saved after the form was opened — without a column every writer must remember.
"""

from .models import Member
from .selectors import HistoryEntry, history_entries


def member_version(member: Member) -> int:
    """0 for a member without history (loaded by COPY, say); the first save gives it one."""
    latest = member.history.order_by("-history_id").values_list("history_id", flat=True).first()
    return latest or 0


def changes_since(*, member: Member, version: int) -> list[HistoryEntry]:
    """Each save after `version`, oldest first: who, when, and old → new per field."""
    records = list(
        member.history.filter(history_id__gte=version)
        .select_related("history_user")
        .order_by("history_id")
    )
    pairs = [
        (newer, older)
        for older, newer in zip([None, *records], records, strict=False)
        if newer.history_id != version  # the version the form showed: the baseline
    ]
    return history_entries(pairs)
