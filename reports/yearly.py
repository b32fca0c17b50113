"""The year's statistics of a subtree, for reporting upward (the dashboard's yearly page and
its .xlsx)."""

from datetime import date

from django.db.models import Count, F, OuterRef, Q, Subquery

from members.models import Member, Organisation
from transfers.classification import Arrangement
from transfers.models import MobilityEpisode, RelationshipTransfer
from transfers.selectors import arrangement_expression

from .dashboard import labelled, province_label, require_in_scope


def yearly_statistics(*, user, organisation: Organisation, year: int, today: date) -> dict:
    """The year's figures for reporting upward.

    Counts by type, destination province and arrangement are of the episodes current at the end
    of the year (or today, for the current year) of members whose relationship is in the subtree
    now; the arrangement uses the member's present status (no longer active: "none").
    New outflows are episodes that started in the year, returns those that ended with the member
    coming home. Transfers in and out are those completed in the year that cross the subtree's
    boundary (a move between two branches below is neither). Suspensions and removals are members
    whose status changed to suspended or removed in the year (from the member's history), counted
    where the member's relationship was at the time.
    """
    require_in_scope(user, organisation)
    path = organisation.path
    start, end = date(year, 1, 1), date(year, 12, 31)
    as_of = min(end, today)
    at_end = MobilityEpisode.objects.filter(
        member__home_branch__path__startswith=path, left_on__lte=as_of
    ).filter(Q(ended_on__isnull=True) | Q(ended_on__gt=as_of))
    at_end = at_end.order_by()
    by_type = dict(at_end.values_list("mobility_type").annotate(n=Count("pk")))
    by_province = list(
        at_end.annotate(abroad=Q(destination_province="") & ~Q(destination_country=""))
        .values_list("destination_province", "abroad")
        .annotate(n=Count("pk"))
        .order_by("-n", "destination_province")
    )
    by_arrangement = dict(
        at_end.annotate(arrangement=arrangement_expression(today=as_of))
        .values_list("arrangement")
        .annotate(n=Count("pk"))
    )
    episodes = MobilityEpisode.objects.filter(member__home_branch__path__startswith=path)
    completed = RelationshipTransfer.objects.filter(
        state=RelationshipTransfer.State.COMPLETED, completed_on__range=(start, end)
    )
    history = Member.history.model.objects
    previous_status = Subquery(
        history.filter(id=OuterRef("id"), history_date__lt=OuterRef("history_date"))
        .order_by("-history_date")
        .values("status")[:1]
    )
    changed = dict(
        history.filter(
            history_date__year=year,
            status__in=[Member.Status.SUSPENDED, Member.Status.REMOVED],
            home_branch__path__startswith=path,
        )
        .annotate(previous=previous_status)
        .filter(Q(previous__isnull=True) | ~Q(previous=F("status")))
        .order_by()
        .values_list("status")
        .annotate(n=Count("id", distinct=True))
    )
    return {
        "year": year,
        "as_of": as_of,
        "mobile": sum(by_type.values()),
        "by_type": labelled(by_type, MobilityEpisode.Type.choices),
        "by_province": [
            {"value": p, "label": province_label(p, abroad=abroad), "count": n}
            for p, abroad, n in by_province
        ],
        "by_arrangement": labelled(by_arrangement, Arrangement.choices),
        "new_outflows": episodes.filter(left_on__range=(start, end)).count(),
        "returns": episodes.filter(
            ended_on__range=(start, end), end_reason=MobilityEpisode.EndReason.RETURNED
        ).count(),
        "transfers_out": completed.filter(from_branch__path__startswith=path)
        .exclude(to_organisation__path__startswith=path)
        .count(),
        "transfers_in": completed.filter(to_organisation__path__startswith=path)
        .exclude(from_branch__path__startswith=path)
        .count(),
        "suspensions": changed.get(Member.Status.SUSPENDED, 0),
        "removals": changed.get(Member.Status.REMOVED, 0),
    }
