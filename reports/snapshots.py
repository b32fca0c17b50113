"""Daily snapshots of the dashboard figures per organisation, for the trend charts.

Taken from the live figures (live.py) after the night's full recount, so a snapshot and the
page agree, and the recount is one grouped pass per county.
"""

from datetime import date, timedelta

from members.models import Organisation

from . import counting, live
from .models import FigureSnapshot, LiveFigures

TREND_FIGURES = ("mobile", "completeness_percent", "no_life_percent", "lost_contact")


def take_snapshots(*, today: date) -> int:
    """Recount every organisation, then record today's figures of each (idempotent: one row
    per day). `ledger` is the outflow ledger's completeness of the members it holds directly."""
    live.refresh_all(today=today)
    snapshots = []
    for row in LiveFigures.objects.select_related("organisation").iterator(chunk_size=1000):
        figures = snapshot_figures(row)
        snapshots.append(
            FigureSnapshot(
                organisation_id=row.organisation_id,
                day=today,
                figures={k: v for k, v in figures.items() if isinstance(v, int | float | dict)},
            )
        )
    FigureSnapshot.objects.bulk_create(
        snapshots,
        batch_size=1000,
        update_conflicts=True,  # the same day again replaces that day's figures
        unique_fields=["organisation", "day"],
        update_fields=["figures"],
    )
    return len(snapshots)


def snapshot_figures(row: LiveFigures) -> dict:
    figures = counting.derived(row.subtree)
    figures["hosted"] = live.hosted_from_outside(row.subtree, row.organisation.path)
    figures["ledger"] = row.ledger
    return figures


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
