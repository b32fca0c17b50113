"""Daily snapshots of the dashboard figures per organisation, for the trend charts."""

from datetime import date, timedelta

from members.models import Organisation

from .models import FigureSnapshot

TREND_FIGURES = ("mobile", "completeness_percent", "no_life_percent", "lost_contact")


def trends_for(organisation: Organisation, *, today: date, days: int = 365) -> list[dict]:
    """[{day, figures}] for the organisation over the last `days` days, oldest first."""
    since = today - timedelta(days=days)
    return [
        {"day": snapshot.day, "figures": snapshot.figures}
        for snapshot in FigureSnapshot.objects.filter(
            organisation=organisation, day__gte=since
        ).order_by("day")
    ]
