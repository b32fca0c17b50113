"""Daily snapshots of the dashboard figures per organisation, for the trend charts.

One pass of grouped queries per organisation that has organisations below it: each pass
gives the figures of all its children at once, so a province's ten thousand branches cost
a few hundred passes, not ten thousand.
"""

from datetime import date, timedelta

from django.db import transaction
from django.db.models import Q

from ledgers.selectors import completeness_aggregates, with_five_clears
from members.models import Organisation
from transfers.models import MobilityEpisode

from . import dashboard
from .models import FigureSnapshot

TREND_FIGURES = ("mobile", "completeness_percent", "no_life_percent", "lost_contact")


@transaction.atomic
def take_snapshots(*, today: date) -> int:
    """Record today's figures for every organisation (idempotent: one row per day).

    Each organisation with children gives its children's figures in one grouped pass; a root
    takes its own from that same pass.
    """
    figures: dict[int, dict] = {}
    for parent in Organisation.objects.filter(Q(numchild__gt=0) | Q(depth=1)):
        per_unit = dashboard.unit_counts(parent, today)
        for child in Organisation.objects.get_children(parent):
            figures[child.pk] = dashboard.derived(per_unit.get(child.path, {}))
        if parent.is_root():
            figures[parent.pk] = dashboard.subtree_figures(per_unit)
    ledgers = ledger_by_home_branch(today=today)
    for organisation_id, values in figures.items():
        values["ledger"] = ledgers.get(organisation_id, {})
    FigureSnapshot.objects.bulk_create(
        [
            FigureSnapshot(
                organisation_id=organisation_id,
                day=today,
                figures={k: v for k, v in values.items() if isinstance(v, int | float | dict)},
            )
            for organisation_id, values in figures.items()
        ],
        batch_size=1000,
        update_conflicts=True,  # the same day again replaces that day's figures
        unique_fields=["organisation", "day"],
        update_fields=["figures"],
    )
    return len(figures)


def ledger_by_home_branch(*, today: date) -> dict[int, dict]:
    """{organisation id: the outflow ledger's completeness of the members it holds directly},
    in one grouped pass; the ledger page of a large subtree sums these (selectors)."""
    current = MobilityEpisode.objects.current()
    grouped = (
        with_five_clears(current, today=today, life=False)
        .order_by()
        .values("member__home_branch")
        .annotate(**completeness_aggregates())
    )
    return {row.pop("member__home_branch"): row for row in grouped}


def trends_for(organisation: Organisation, *, today: date, days: int = 365) -> list[dict]:
    """[{day, figures}] for the organisation over the last `days` days, oldest first."""
    since = today - timedelta(days=days)
    return [
        {"day": snapshot.day, "figures": snapshot.figures}
        for snapshot in FigureSnapshot.objects.filter(
            organisation=organisation, day__gte=since
        ).order_by("day")
    ]


def series(trends: list[dict], key: str) -> list[tuple[date, float]]:
    return [(point["day"], point["figures"].get(key, 0)) for point in trends]
