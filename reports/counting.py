"""Counting the dashboard's figures: one grouped query per figure over a subtree or over some
organisations, so the number of queries does not depend on how many members there are.

dashboard.py says who is counted where; the same base sets serve the live count of a small
subtree (grouped by the unit one level down) and the kept figures of reports.live (grouped by
organisation).
"""

from dataclasses import dataclass
from datetime import date

from django.db.models import CharField, Count, F, Q, QuerySet
from django.db.models.functions import Substr

from activities.rules import no_life_6_months
from alerts.models import Alert
from ledgers.rules import lost_contact_episodes
from ledgers.selectors import with_five_clears
from members.models import Member, Organisation
from transfers.classification import Arrangement
from transfers.models import MobilityEpisode, RelationshipTransfer
from transfers.rules import certificate_review_due, receipt_overdue
from transfers.selectors import arrangement_expression

ARRANGEMENTS = [value for value in Arrangement.values if value != Arrangement.NONE]
PENDING_STATES = (RelationshipTransfer.State.SUBMITTED, RelationshipTransfer.State.APPROVED)
PLACE_SEPARATOR = "|"
BREAKDOWNS = ("by_type", "places", "alerts_by_kind")  # {key: count} per unit, summed like counts


# --- the base sets, each limited to a subtree path (or to some organisations) ---------------


@dataclass(frozen=True)
class Within:
    """Which rows a count reads and what it groups them by.

    A subtree (`path`) or some organisations (`ids`); grouped by the unit one level down
    (`length`, a path prefix), as the dashboard counts a small subtree live, or, with no
    length, by organisation id: what each holds directly, as reports.live keeps its figures.
    `fk` names the relation to the organisation: "home_branch", "member__home_branch",
    "from_branch", "inflow_organisation".
    """

    path: str | None = None
    ids: tuple[int, ...] | None = None
    length: int = 0
    # A path holding every organisation counted (with `ids`): the rules narrow their own
    # subqueries to it rather than compute for everyone and be filtered after.
    around: str | None = None

    @property
    def narrow(self) -> str | None:
        return self.path if self.ids is None else self.around

    def q(self, fk: str) -> Q:
        if self.ids is not None:
            return Q(**{f"{fk}_id__in": self.ids})
        return Q(**{f"{fk}__path__startswith": self.path})

    def unit(self, fk: str):
        if not self.length:
            return F(f"{fk}_id")
        return Substr(f"{fk}__path", 1, self.length, output_field=CharField())


def members_in(within: Within) -> QuerySet[Member]:
    return Member.objects.filter(within.q("home_branch"), status=Member.Status.ACTIVE)


def mobile_in(within: Within) -> QuerySet[MobilityEpisode]:
    return MobilityEpisode.objects.away_now().filter(within.q("member__home_branch"))


def hosted_in(path: str) -> QuerySet[MobilityEpisode]:
    return (
        MobilityEpisode.objects.away_now()
        .filter(
            inflow_organisation__path__startswith=path,
        )
        .exclude(member__home_branch__path__startswith=path)
    )


def no_life_in(within: Within, today: date) -> QuerySet[Member]:
    return no_life_6_months(today, within=within.narrow).filter(within.q("home_branch"))


def lost_contact_in(within: Within, today: date) -> QuerySet[MobilityEpisode]:
    # The rule's own definition, so the dashboard and the inbox agree.
    return lost_contact_episodes(today, within=within.narrow).filter(
        within.q("member__home_branch")
    )


def certificates_due_in(within: Within, today: date) -> QuerySet[Member]:
    return certificate_review_due(today, within=within.narrow).filter(
        within.q("home_branch"), status=Member.Status.ACTIVE
    )


def receipts_overdue_in(within: Within, today: date) -> QuerySet[Member]:
    return receipt_overdue(today, within=within.narrow).filter(within.q("home_branch"))


def transfers_pending_in(within: Within) -> QuerySet[RelationshipTransfer]:
    return RelationshipTransfer.objects.filter(within.q("from_branch"), state__in=PENDING_STATES)


def open_alerts_in(within: Within, today: date) -> QuerySet[Alert]:
    return Alert.objects.filter(within.q("member__home_branch"), closed_at__isnull=True).exclude(
        state=Alert.State.SNOOZED, snoozed_until__gt=today
    )


# --- counts per unit (one grouped query per figure) ------------------------------------------


def _by_unit(queryset: QuerySet, within: Within, fk: str, *extra: str) -> list[dict]:
    return list(
        queryset.order_by()
        .annotate(unit=within.unit(fk))
        .values("unit", *extra)
        .annotate(n=Count("pk"))
    )


def unit_counts(organisation: Organisation, today: date) -> dict[str, dict]:
    """{unit path: {figure: n}} for the organisation's direct children (and itself, directly).

    A unit is the path prefix one level below the organisation; members held directly by the
    organisation (a general branch) fall under its own path.
    """
    path = organisation.path
    within = Within(path=path, length=len(path) + Organisation.steplen)
    units = grouped_counts(within, today)
    # Hosted per unit: inflow organisation in the unit, home branch outside that unit.
    hosted = (
        MobilityEpisode.objects.away_now()
        .filter(within.q("inflow_organisation"))
        .order_by()
        .annotate(
            unit=within.unit("inflow_organisation"),
            home_unit=within.unit("member__home_branch"),
        )
        .exclude(home_unit=F("unit"))
        .values("unit")
        .annotate(n=Count("pk"))
    )
    for row in hosted:
        unit = units.setdefault(row["unit"], {})
        unit["hosted"] = unit.get("hosted", 0) + row["n"]
    return units


def grouped_counts(within: Within, today: date) -> dict:
    """{unit: {figure: n}}, one grouped query per figure, without "hosted" (its caller's)."""
    units: dict = {}

    def add(rows, figure):
        for row in rows:
            unit = units.setdefault(row["unit"], {})
            unit[figure] = unit.get(figure, 0) + row["n"]

    def add_breakdown(rows, figure, *keys):
        for row in rows:
            counts = units.setdefault(row["unit"], {}).setdefault(figure, {})
            key = PLACE_SEPARATOR.join(row[k] or "" for k in keys)
            counts[key] = counts.get(key, 0) + row["n"]

    home, member_home = "home_branch", "member__home_branch"
    add(_by_unit(members_in(within), within, home), "members")
    place_fields = ("destination_country", "destination_province", "destination_city")
    places = _by_unit(mobile_in(within), within, member_home, "mobility_type", *place_fields)
    add_breakdown(places, "by_type", "mobility_type")
    add_breakdown(places, "places", *place_fields)
    mobile = with_five_clears(mobile_in(within), today=today).annotate(
        arrangement=arrangement_expression(today=today)
    )
    for row in (
        mobile.order_by()
        .annotate(unit=within.unit(member_home))
        .values("unit", "arrangement")
        .annotate(n=Count("pk"), clear=Count("pk", filter=Q(all_clear=True)))
    ):
        unit = units.setdefault(row["unit"], {})
        unit["mobile"] = unit.get("mobile", 0) + row["n"]
        unit["clear"] = unit.get("clear", 0) + row["clear"]
        key = row["arrangement"]
        unit[key] = unit.get(key, 0) + row["n"]
    add(_by_unit(no_life_in(within, today), within, home), "no_life")
    add(_by_unit(lost_contact_in(within, today), within, member_home), "lost_contact")
    add(_by_unit(certificates_due_in(within, today), within, home), "certificates_due")
    add(_by_unit(receipts_overdue_in(within, today), within, home), "receipts_overdue")
    for row in _by_unit(transfers_pending_in(within), within, "from_branch", "state"):
        unit = units.setdefault(row["unit"], {})
        unit["transfers_pending"] = unit.get("transfers_pending", 0) + row["n"]
        unit[f"transfers_{row['state']}"] = row["n"]
    alerts = _by_unit(open_alerts_in(within, today), within, member_home, "kind")
    add(alerts, "alerts")
    add_breakdown(alerts, "alerts_by_kind", "kind")
    return units


def subtree_figures(per_unit: dict[str, dict]) -> dict:
    """The whole subtree's figures from its units' counts, without "hosted": hosted from
    outside a unit is not hosted from outside the subtree, so that one needs its own query."""
    total: dict = {}
    for counts in per_unit.values():
        add_into(total, counts)
    total.pop("hosted", None)
    return derived(total)


def add_into(total: dict, counts: dict, sign: int = 1) -> None:
    """Add counts (numbers and {key: number} breakdowns) into total."""
    for key, n in counts.items():
        if isinstance(n, dict):
            add_into(total.setdefault(key, {}), n, sign)
        elif isinstance(n, int) and not key.endswith("_percent"):  # percentages are derived
            total[key] = total.get(key, 0) + sign * n


def derived(counts: dict) -> dict:
    """The figures of one unit (or the whole subtree) with percentages, zeros filled in."""
    figures = {
        key: counts.get(key, 0)
        for key in (
            "members",
            "mobile",
            "clear",
            "no_life",
            "lost_contact",
            "certificates_due",
            "receipts_overdue",
            "transfers_pending",
            "transfers_submitted",
            "transfers_approved",
            "alerts",
            "hosted",
            *ARRANGEMENTS,
        )
    }
    for key in BREAKDOWNS:
        figures[key] = dict(counts.get(key, {}))
    figures["completeness_percent"] = (
        round(100 * figures["clear"] / figures["mobile"]) if figures["mobile"] else 100
    )
    figures["no_life_percent"] = percent(figures["no_life"], figures["members"])
    return figures


def percent(part: int, whole: int) -> float:
    return round(100 * part / whole, 1) if whole else 0.0
