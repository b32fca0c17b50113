"""The reviewer's dashboard: figures for an organisation subtree, per unit below it, by year.

Every figure is an aggregate query (grouped by unit where the unit table needs it), so the
number of queries does not depend on how many members there are.

Who is counted where:

- **Members** are the *active* members whose organisational relationship (home branch) is in
  the subtree. Suspended, removed, deceased and transferred-out members are not members here
  (they keep their rows for the record, and the yearly statistics count the suspensions and
  removals of the year).
- **Mobile members** and everything derived from them (by type, by province, arrangement,
  five-clears completeness, lost contact, destinations) are the current mobility episodes of
  those active members: our members away, the outflow side, wherever they are hosted.
- **Hosted members** are counted on the inflow side only, in the one "hosted" figure: current
  episodes of active members whose inflow organisation is in the subtree and whose home branch
  is *outside* it. A member of branch A1 hosted by branch A2 is an outflow member of A1 (and of
  the township); in the unit table A2 also shows them as hosted, since A1 is outside A2.
- **No organisational life for 6 months**, certificates due for review and receipts overdue use
  the rules of the nightly scan (`no_life_6_months`, `certificate_review_due`,
  `receipt_overdue`), restricted to the members above; lost contact uses the `lost_contact`
  rule's "silent since" with the subtree filter pushed inside.
- **Transfers pending** are counted on the sending side (the old branch stays responsible until
  the new one accepts): submitted or approved transfers whose from-branch is in the subtree.
- **Open alerts** are counted by the member's home branch, whatever the member's status (an open
  alert is work to do); snoozed ones are left out until their date, as in the alert inbox.

The organisation must lie inside the user's scope (`require_in_scope`, a 404 otherwise); all
figures are then limited to its subtree, which is part of the user's scope.
"""

from dataclasses import dataclass, field
from datetime import date

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db.models import Count, F, Q, Window
from django.db.models.functions import RowNumber
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from alerts.registry import registered_rules
from ledgers.selectors import campaign_checklist, campaigns_visible_to
from members.models import Member, Organisation
from members.selectors import organisation_in_scope
from transfers.classification import Arrangement
from transfers.models import MobilityEpisode
from transfers.outposts import cities_with_outposts

from . import live
from .counting import (  # noqa: F401 - ARRANGEMENTS: the pages' arrangement columns
    ARRANGEMENTS,
    PLACE_SEPARATOR,
    Within,
    certificates_due_in,
    derived,
    hosted_in,
    lost_contact_in,
    mobile_in,
    no_life_in,
    receipts_overdue_in,
    subtree_figures,
    unit_counts,
)

NO_LIFE_REFERENCE_PERCENT = 14.5  # share of members without organisational life, published surveys
NAMES_PER_PLACE = 20  # the rest are in the ledger, filtered to the place's province
UNIT_SORTS = (
    "name",
    "members",
    "mobile",
    "transfer_required",
    "completeness_percent",
    "no_life",
    "no_life_percent",
    "lost_contact",
    "certificates_due",
    "transfers_pending",
    "receipts_overdue",
    "alerts",
    "hosted",
)


def require_in_scope(user, organisation: Organisation) -> None:
    if not organisation_in_scope(user, organisation):
        raise Http404


# The members behind each rule-based figure, so that a figure's link lists exactly what it counts.
FIGURE_TITLES = {
    "no_life": _("No organisational life for 6 months"),
    "lost_contact": _("Lost contact (6 months or more)"),
    "certificates_due": _("Certificates due for review"),
    "receipts_overdue": _("Transfer receipts overdue"),
}


def figure_members(*, user, organisation: Organisation, figure: str, today: date, place=""):
    """The members counted by one figure of the organisation's subtree (None: unknown figure).

    `place` ("country|province|city", as in the report's places) lists the mobile members there.
    """
    require_in_scope(user, organisation)
    subtree = Within(path=organisation.path)
    if figure == "place":
        parts = place.split(PLACE_SEPARATOR)
        if len(parts) != 3:
            return None
        fields = ("destination_country", "destination_province", "destination_city")
        here = mobile_in(subtree).filter(**dict(zip(fields, parts, strict=True)))
        return Member.objects.filter(pk__in=here.values("member_id"))
    if figure == "no_life":
        return no_life_in(subtree, today)
    if figure == "lost_contact":
        return Member.objects.filter(pk__in=lost_contact_in(subtree, today).values("member_id"))
    if figure == "certificates_due":
        return certificates_due_in(subtree, today)
    if figure == "receipts_overdue":
        return receipts_overdue_in(subtree, today)
    return None


def no_life_measurable(today: date) -> bool:
    """The rule only counts once activities were tracked for the whole six months."""
    cutoff = today - relativedelta(months=6)
    return date.fromisoformat(settings.ACTIVITIES_TRACKING_START) <= cutoff


@dataclass
class Report:
    organisation: Organisation
    figures: dict
    units: list[dict] = field(default_factory=list)


def figures(*, user, organisation: Organisation, today: date) -> dict:
    return report(user=user, organisation=organisation, today=today).figures


def unit_table(*, user, organisation: Organisation, today: date, sort: str = "name") -> list[dict]:
    return report(user=user, organisation=organisation, today=today, sort=sort).units


def report(*, user, organisation: Organisation, today: date, sort: str = "name") -> Report:
    """The headline figures and the unit table.

    Live (grouped queries now) for a subtree of up to DASHBOARD_LIVE_MAX_MEMBERS members;
    above that, from the figures the writes keep current (reports.live), since grouped queries
    over a county of 100,000 members take seconds. `figures["as_of"]` is None when they are
    counted up to now, else the day the oldest of them was counted (a recount is queued). The
    lists behind the figures are always live.
    """
    require_in_scope(user, organisation)
    children = (
        list(Organisation.objects.get_children(organisation)) if not organisation.is_leaf() else []
    )
    kept = kept_counts(organisation, children, today=today)
    if kept is not None:
        result, per_unit, as_of = kept
    else:
        per_unit = unit_counts(organisation, today)
        result = subtree_figures(per_unit)
        result["hosted"] = hosted_in(organisation.path).count()
        as_of = None
    result["as_of"] = as_of
    result["kept"] = kept is not None
    result["by_type"] = labelled(result["by_type"], MobilityEpisode.Type.choices)
    by_province: dict[tuple[str, bool], int] = {}
    for place, n in result["places"].items():
        country, province, _city = place.split(PLACE_SEPARATOR)
        key = (province, bool(country and not province))  # abroad is a group, not a gap
        by_province[key] = by_province.get(key, 0) + n
    result["by_province"] = [
        {"value": province, "label": province_label(province, abroad=abroad), "count": n}
        for (province, abroad), n in sorted(
            by_province.items(), key=lambda item: (-item[1], item[0])
        )
    ]
    result["arrangements"] = [
        {"value": value, "label": label, "count": result[value]}
        for value, label in Arrangement.choices
        if value != Arrangement.NONE
    ]
    result["alerts_by_kind"] = [
        {"value": rule.code, "label": rule.title, "severity": rule.severity, "count": n}
        for rule in registered_rules()
        if (n := result["alerts_by_kind"].get(rule.code))
    ]
    result["no_life_reference"] = NO_LIFE_REFERENCE_PERCENT
    result["no_life_measurable"] = no_life_measurable(today)
    result["campaign"] = current_campaign(user=user, organisation=organisation, today=today)

    units = []
    for child in children:
        row = derived(per_unit.get(child.path, {}))
        row.update(organisation=child, name=child.name)
        units.append(row)
    direct = per_unit.get(organisation.path, {})
    if children and any(n for n in direct.values() if isinstance(n, int)):
        row = derived(direct)
        row.update(organisation=None, name=organisation.name)
        units.append(row)
    key = sort.removeprefix("-")
    if key in UNIT_SORTS:
        units.sort(key=lambda r: r[key], reverse=sort.startswith("-"))
    return Report(organisation=organisation, figures=result, units=units)


def kept_counts(organisation: Organisation, children: list, *, today: date):
    """(figures, per-unit counts, as_of) from the kept figures, or None to count live.

    None when the subtree is small enough to count live or has no kept figures yet. Members
    held directly by the organisation (a general branch) are its own `direct` figures.
    """
    if not live.is_large(organisation):
        return None
    rows, current = live.current_rows(organisation, children, today=today)
    own = rows.get(organisation.pk)
    if own is None:
        return None
    per_unit = {}
    for child in children:
        counts = dict(rows[child.pk].subtree) if child.pk in rows else {}
        counts["hosted"] = live.hosted_from_outside(counts, child.path)
        per_unit[child.path] = counts
    direct = dict(own.direct)
    direct.pop("hosted_from", None)
    per_unit[organisation.path] = direct
    figures = derived(own.subtree)
    figures["hosted"] = live.hosted_from_outside(own.subtree, organisation.path)
    as_of = None if current else min(row.day for row in rows.values())
    return figures, per_unit, as_of


def labelled(counts: dict, choices) -> list[dict]:
    return [
        {"value": value, "label": label, "count": counts.get(value, 0)} for value, label in choices
    ]


def current_campaign(*, user, organisation: Organisation, today: date) -> dict | None:
    """The open census campaign covering the organisation (opened at or above it), with progress.

    Progress counts, as the campaign page does, the mobile members in the subtree whose five
    items were all confirmed during the campaign.
    """
    above = [organisation.path[: d * Organisation.steplen] for d in range(1, organisation.depth)]
    campaign = (
        campaigns_visible_to(user)
        .filter(
            organisation__path__in=[*above, organisation.path],
            closed_on__isnull=True,
            starts_on__lte=today,
        )
        .order_by("-starts_on", "-pk")
        .first()
    )
    if campaign is None:
        return None
    progress = (
        campaign_checklist(user=user, campaign=campaign)
        .filter(member__home_branch__path__startswith=organisation.path)
        .order_by()
        .aggregate(total=Count("pk"), done=Count("pk", filter=Q(verified=True)))
    )
    return {
        "campaign": campaign,
        "total": progress["total"],
        "verified": progress["done"],
        "percent": round(100 * progress["done"] / progress["total"]) if progress["total"] else 100,
    }


# --- destinations ----------------------------------------------------------------------------


def province_label(province: str, *, abroad: bool = False):
    """A province row's name: members abroad are their own row, never "not given"."""
    if province:
        return province
    return _("Abroad") if abroad else _("Not given")


def place_title(place: str) -> str:
    return _("Mobile members in %(place)s") % {"place": place_label(*place.split(PLACE_SEPARATOR))}


def place_label(country: str, province: str, city: str) -> str:
    if country and not province:
        return country
    city = "" if city in ("市辖区", province) else city  # 重庆市 重庆市: a municipality
    return "".join(part for part in (country, province, city) if part) or "—"


def destinations(
    *, user, organisation: Organisation, places: dict[str, int], limit: int = 30, names=True
) -> list[dict]:
    """Cities where the subtree's mobile members are, most first, from the report's place
    counts ({"country|province|city": n}); names (one query) for the first `limit` places.

    A place with `MOBILE_GROUP_MIN_MEMBERS` (3) or more members in one known city inside China may form
    a mobile Party group or branch (certificate rules). Every name is of a member whose
    relationship is in the subtree, so in the user's scope; at most NAMES_PER_PLACE per place.
    Without `names` (a large subtree: the names query would read every member) each place links
    to its list instead.
    """
    require_in_scope(user, organisation)
    place_fields = ("destination_country", "destination_province", "destination_city")
    ranked = sorted(
        ((tuple(key.split(PLACE_SEPARATOR)), n) for key, n in places.items() if n > 0),
        key=lambda item: (-item[1], item[0][1], item[0][2]),
    )
    found = []
    for (country, province, city), n in ranked:
        found.append(
            {
                "key": (country, province, city),
                "label": place_label(country, province, city),
                "province": province,
                "count": n,
                # Only a known city in China ("市辖区" is a municipality's districts).
                "can_form_group": n >= settings.MOBILE_GROUP_MIN_MEMBERS
                and not country
                and bool(city),
                "names": [],
                "place": PLACE_SEPARATOR.join((country, province, city)),
            }
        )
    # The "can form a group" button says whether the county has an outpost there already.
    if any(place["can_form_group"] for place in found):
        served = cities_with_outposts(organisation)
        for place in found:
            place["outpost"] = place["can_form_group"] and place["key"][1:] in served
    shown = found[:limit] if names else []
    if shown:
        match = Q()
        for place in shown:
            match |= Q(**dict(zip(place_fields, place["key"], strict=True)))
        by_key = {place["key"]: place for place in shown}
        rank = Window(
            RowNumber(),
            partition_by=[F(f) for f in place_fields],
            order_by=[F("member__name").asc(), F("member_id").asc()],
        )
        for *key, name, pk in (
            mobile_in(Within(path=organisation.path))
            .filter(match)
            .annotate(rank=rank)
            .filter(rank__lte=NAMES_PER_PLACE)
            .values_list(*place_fields, "member__name", "member_id")
            .order_by("member__name", "member_id")
        ):
            if tuple(key) in by_key:  # a place whose count came from last night's snapshot
                by_key[tuple(key)]["names"].append({"name": name, "pk": pk})
    return found
