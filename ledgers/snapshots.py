"""Daily snapshots of the dashboard figures per organisation, for the trend charts.

One pass of grouped queries per organisation that has organisations below it: each pass
gives the figures of all its children at once, so a province's ten thousand branches cost
a few hundred passes, not ten thousand.
"""

from datetime import date, timedelta

from django.db import transaction

from members.models import Organisation

from . import dashboard
from .models import FigureSnapshot

TREND_FIGURES = ("mobile", "completeness_percent", "no_life_percent", "lost_contact")


def _figures_of_children(parent: Organisation, today: date) -> dict[int, dict]:
    per_unit = dashboard._unit_counts(parent, today)
    children = Organisation.objects.get_children(parent)
    figures = {child.pk: dashboard._derived(per_unit.get(child.path, {})) for child in children}
    return figures


def _totals(parent: Organisation, today: date) -> dict:
    total: dict[str, int] = {}
    for counts in dashboard._unit_counts(parent, today).values():
        for key, n in counts.items():
            total[key] = total.get(key, 0) + n
    return dashboard._derived(total)


@transaction.atomic
def take_snapshots(*, today: date) -> int:
    """Record today's figures for every organisation (idempotent: one row per day)."""
    figures: dict[int, dict] = {}
    for root in Organisation.objects.get_root_nodes():
        figures[root.pk] = _totals(root, today)
    for parent in Organisation.objects.filter(numchild__gt=0):
        figures.update(_figures_of_children(parent, today))
    for organisation_id, values in figures.items():
        kept = {key: value for key, value in values.items() if isinstance(value, int | float)}
        FigureSnapshot.objects.update_or_create(
            organisation_id=organisation_id, day=today, defaults={"figures": kept}
        )
    return len(figures)


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
