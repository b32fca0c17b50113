"""Reads for edit conflicts: which version of a member a form was opened on, what changed since.

A member's version is the id of its latest history row. Every write path records history
(the forms, the services, the ledger import's bulk writes), so a newer row means that
someone saved after the form was opened — without a column every writer must remember.
"""

from .models import Member, Organisation
from .selectors import HistoryChange, HistoryEntry, _display

MASKED = "••••"


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
    branch_ids = {record.home_branch_id for record in records}
    organisations = dict(Organisation.objects.filter(pk__in=branch_ids).values_list("pk", "name"))
    entries = []
    for older, newer in zip([None, *records], records, strict=False):
        if newer.history_id == version:
            continue  # the version the form showed: the baseline, not a change
        changes = []
        if older is not None:
            for change in newer.diff_against(older).changes:
                field = Member._meta.get_field(change.field)
                changes.append(
                    HistoryChange(
                        str(field.verbose_name),
                        _display(field, change.old, organisations),
                        _display(field, change.new, organisations),
                    )
                )
            # diff_against skips the (non-editable) digest; only it shows the number changed.
            if newer.national_id_digest != older.national_id_digest:
                label = str(Member._meta.get_field("national_id").verbose_name)
                changes.append(HistoryChange(label, MASKED, MASKED))
        entries.append(
            HistoryEntry(
                when=newer.history_date,
                who=str(newer.history_user or "—"),
                kind=newer.get_history_type_display(),
                changes=changes,
            )
        )
    return entries
