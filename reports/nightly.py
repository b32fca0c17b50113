"""Last night's figures, read: for a large subtree the pages show these instead of counting
live (a county's counts over a thousand branches), saying which night they are from."""

from datetime import date, timedelta

from django.conf import settings

from ledgers.selectors import ITEMS, Completeness
from members.models import Organisation

from .models import FigureSnapshot


def large_subtree_snapshot(organisation: Organisation, *, today: date):
    """The organisation's latest nightly snapshot from today or yesterday, if its subtree has
    more than DASHBOARD_LIVE_MAX_MEMBERS members; else None (count live)."""
    own = (
        FigureSnapshot.objects.filter(
            organisation=organisation, day__gte=today - timedelta(days=1), day__lte=today
        )
        .order_by("-day")
        .first()
    )
    if own is None or own.figures.get("members", 0) <= settings.DASHBOARD_LIVE_MAX_MEMBERS:
        return None
    return own


def nightly_completeness(root: Organisation, today: date) -> tuple[list[Completeness], date] | None:
    """The outflow ledger's completeness per home branch in `root`'s subtree as of last night,
    with that day, for a subtree over DASHBOARD_LIVE_MAX_MEMBERS members; None: count live.
    Registered with ledgers/ (ledgers.selectors.branch_completeness) in ReportsConfig.ready().
    """

    own = large_subtree_snapshot(root, today=today)
    if own is None or "ledger" not in own.figures:  # older snapshots had no ledger figures
        return None
    snapshots = (
        FigureSnapshot.objects.filter(day=own.day, organisation__path__startswith=root.path)
        .order_by("organisation__name", "organisation_id")
        .values_list("organisation__name", "organisation_id", "figures__ledger")  # not the rest
    )
    parts = [
        Completeness(
            name, organisation_id, ledger["total"], ledger["clear"], {i: ledger[i] for i in ITEMS}
        )
        for name, organisation_id, ledger in snapshots
        if ledger and ledger.get("total")
    ]
    return parts, own.day
