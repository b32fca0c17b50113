"""Outposts (驻外党建工作站) and the mobile-member branches and groups under them.

A county sets up an outpost in a city where its members work (an organisation of kind
OUTPOST under the county, with the city it serves). Where three or more of the county's
members are away in that city, a mobile-member branch (流动党员党支部) or Party group forms
under the outpost. Both only *host*: the members' current mobility episodes name the unit as
their inflow organisation, so the hosting machinery (members.selectors.register_hosting, fed
by transfers.selectors.hosted_members) lets the outpost's staff see and serve them, while
everything of the home side stays with the home branch (members_editable_by).
"""

from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from infrastructure.steps import StepRefused
from members.models import Member, Organisation
from members.selectors import (
    can_review,
    members_editable_by,
    members_visible_to,
    organisation_in_scope,
    organisations_visible_to,
    require_all_editable,
)
from members.services import evidence_changed

from . import places
from .models import MobilityEpisode

UNIT_KINDS = (Organisation.Kind.BRANCH, Organisation.Kind.GROUP)
# 党章第三十条: a branch needs three or more full members; fewer form a Party group.
BRANCH_MIN_FULL_MEMBERS = 3


# --- reads --------------------------------------------------------------------------------


def county_of(organisation: Organisation) -> Organisation:
    if organisation.depth == 1:
        return organisation
    return Organisation.objects.get(path=organisation.path[: Organisation.steplen])


def city_label(province: str, city: str) -> str:
    """广东省深圳市; a municipality (上海市 市辖区) is its province."""
    return province + ("" if city in places.PSEUDO_CITIES or city == province else city)


def short_city(province: str, city: str) -> str:
    """深圳市 -> 深圳, 上海市 市辖区 -> 上海: as outposts are named (清溪县驻深圳党建工作站)."""
    name = province if city in places.PSEUDO_CITIES or city == province else city
    for suffix in ("市", "地区", "盟"):
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


def county_short_name(county: Organisation) -> str:
    """清溪县委组织部 -> 清溪县."""
    name = county.name
    for suffix in ("委组织部", "组织部"):
        if name.endswith(suffix):
            return name.removesuffix(suffix)
    return name


def may_set_up_outposts(user, county: Organisation) -> bool:
    """A reviewer of the county itself (its organisation department) or an administrator."""
    return county.depth == 1 and can_review(user) and organisation_in_scope(user, county)


def outposts_visible_to(user) -> QuerySet[Organisation]:
    return organisations_visible_to(user).filter(kind=Organisation.Kind.OUTPOST).order_by("path")


def outpost_get(*, user, pk: int) -> Organisation:
    return get_object_or_404(outposts_visible_to(user), pk=pk)


def outpost_for_city(*, county: Organisation, province: str, city: str) -> Organisation | None:
    return (
        Organisation.objects.filter(
            path__startswith=county.path,
            kind=Organisation.Kind.OUTPOST,
            serves_province=province,
            serves_city=places.canonical_city(province, city),
        )
        .order_by("path")
        .first()
    )


def cities_with_outposts(organisation: Organisation) -> set[tuple[str, str]]:
    """(province, city) of the outposts of `organisation`'s county, in one query."""
    return set(
        Organisation.objects.filter(
            path__startswith=organisation.path[: Organisation.steplen],
            kind=Organisation.Kind.OUTPOST,
        ).values_list("serves_province", "serves_city")
    )


def outpost_units(outpost: Organisation) -> QuerySet[Organisation]:
    return Organisation.objects.filter(path__startswith=outpost.path, depth__gt=outpost.depth)


def outpost_served(*, user, outpost: Organisation) -> QuerySet[MobilityEpisode]:
    """The members an outpost serves now: current episodes hosted in its subtree, of members
    the user sees (from any home branch of the county, or beyond)."""
    return (
        MobilityEpisode.objects.hosted_by(outpost)
        .filter(member__in=members_visible_to(user), member__status=Member.Status.ACTIVE)
        .select_related("member", "member__home_branch", "inflow_organisation")
        .order_by("member__name", "member_id")
    )


def away_in_city(*, root: Organisation, province: str, city: str) -> QuerySet[MobilityEpisode]:
    """Current episodes of active members of `root`'s subtree in one city inside China: the
    dashboard's place figure (reports.dashboard.destinations) for that city."""
    return (
        MobilityEpisode.objects.away_now()
        .filter(
            member__home_branch__path__startswith=root.path,
            destination_country="",
            destination_province=province,
            destination_city=places.canonical_city(province, city),
        )
        .select_related("member", "member__home_branch", "inflow_organisation", "inflow_external")
        .order_by("member__name", "member_id")
    )


def outpost_not_yet_served(*, user, outpost: Organisation) -> QuerySet[MobilityEpisode]:
    """The county's members away in the outpost's city whom it does not host yet (a county
    reviewer sees them; the outpost's own staff do not: they are not hosted there)."""
    return (
        away_in_city(
            root=county_of(outpost), province=outpost.serves_province, city=outpost.serves_city
        )
        .filter(member__in=members_editable_by(user))
        .exclude(inflow_organisation__path__startswith=outpost.path)
    )


@dataclass
class Proposal:
    """The dashboard's "can form a group", for one city and one subtree."""

    root: Organisation
    county: Organisation
    province: str
    city: str
    outpost: Organisation | None
    episodes: list[MobilityEpisode]  # every member of the subtree away in the city
    joining: list[MobilityEpisode] = field(default_factory=list)  # not served there yet
    may_confirm: bool = False

    @property
    def label(self) -> str:
        return city_label(self.province, self.city)

    @property
    def full_members(self) -> int:
        return sum(e.member.category == Member.Category.FULL for e in self.joining)

    @property
    def suggested_kind(self) -> str:
        if self.full_members >= BRANCH_MIN_FULL_MEMBERS:
            return Organisation.Kind.BRANCH
        return Organisation.Kind.GROUP

    @property
    def enough(self) -> bool:
        return len(self.joining) >= settings.MOBILE_GROUP_MIN_MEMBERS

    def suggested_name(self, kind: str) -> str:
        county, city = county_short_name(self.county), short_city(self.province, self.city)
        if kind == Organisation.Kind.BRANCH:
            return f"{county}驻{city}流动党员党支部"
        return f"{county}驻{city}流动党员党小组"

    @property
    def outpost_name(self) -> str:
        if self.outpost is not None:
            return self.outpost.name
        return f"{county_short_name(self.county)}驻{short_city(self.province, self.city)}党建工作站"


def group_proposal(*, user, root: Organisation, province: str, city: str) -> Proposal:
    """The members of `root`'s subtree away in the city, and those of them the city's outpost
    (if there is one) does not host yet: who would join a new branch or group there.

    Every member listed has their relationship in the subtree, so in the user's scope (the
    caller has checked `root` is)."""
    county = county_of(root)
    outpost = outpost_for_city(county=county, province=province, city=city)
    episodes = list(away_in_city(root=root, province=province, city=city))
    served_path = outpost.path if outpost is not None else None
    joining = [
        e
        for e in episodes
        if served_path is None
        or e.inflow_organisation is None
        or not e.inflow_organisation.path.startswith(served_path)
    ]
    return Proposal(
        root=root,
        county=county,
        province=province,
        city=places.canonical_city(province, city),
        outpost=outpost,
        episodes=episodes,
        joining=joining,
        may_confirm=may_set_up_outposts(user, county),
    )


# --- writes -------------------------------------------------------------------------------


def _check_city(province: str, city: str) -> tuple[str, str]:
    """(province, city) as the divisions name them ("广东 深圳" too), or a refusal: an outpost
    serves one known city inside China."""
    place = places.parse_destination(province + city)
    known = places.canonical_city(place.province, place.city)
    if not place.province or not known or place.address or place.county:
        raise StepRefused(_("This is not a city we know: give the province and the city."))
    return place.province, known


def _add_child(parent: Organisation, *, actor, **values) -> Organisation:
    child = Organisation(**values)
    child._history_user = actor
    return Organisation.objects.add_child(parent, instance=child)


@transaction.atomic
def outpost_set_up(
    *,
    actor,
    county: Organisation,
    province: str,
    city: str,
    name: str = "",
    contact_person: str = "",
    phone: str = "",
) -> Organisation:
    """A county's outpost in a city; one per city and county."""
    # The county's row lock: two reviewers setting up the same city wait for each other.
    county = Organisation.objects.select_for_update().get(pk=county.pk)
    if not may_set_up_outposts(actor, county):
        raise StepRefused(_("Only the county organisation department sets up outposts."))
    province, city = _check_city(province, city)
    existing = outpost_for_city(county=county, province=province, city=city)
    if existing is not None:
        raise StepRefused(
            _("%(county)s already has an outpost in this city: %(outpost)s.")
            % {"county": county.name, "outpost": existing.name}
        )
    name = name.strip() or f"{county_short_name(county)}驻{short_city(province, city)}党建工作站"
    if Organisation.objects.filter(path__startswith=county.path, name=name).exists():
        raise StepRefused(_("An organisation of this name exists already."))
    return _add_child(
        county,
        actor=actor,
        name=name,
        kind=Organisation.Kind.OUTPOST,
        serves_province=province,
        serves_city=city,
        region=city_label(province, city),
        contact_person=contact_person.strip(),
        phone=phone.strip(),
    )


@transaction.atomic
def unit_form(
    *, actor, outpost: Organisation, kind: str, name: str, episodes: list[MobilityEpisode]
) -> Organisation:
    """A mobile-member branch or Party group under the outpost, hosting these members: each
    one's current episode names it as the inflow organisation from now on (the episode's
    history keeps the inflow side it named before)."""
    outpost = Organisation.objects.select_for_update().get(pk=outpost.pk)
    if outpost.kind != Organisation.Kind.OUTPOST:
        raise StepRefused(_("A mobile-member branch or group is formed under an outpost."))
    if not may_set_up_outposts(actor, county_of(outpost)):
        raise StepRefused(_("Only the county organisation department forms these."))
    if kind not in UNIT_KINDS:
        raise StepRefused(_("Choose a Party branch or a Party group."))
    name = name.strip()
    if not name:
        raise StepRefused(_("Give the new branch or group a name."))
    locked = list(
        MobilityEpisode.objects.select_for_update()
        .filter(pk__in=[e.pk for e in episodes])
        .select_related("member")
        .order_by("pk")
    )
    if len(locked) != len(episodes) or any(
        e.ended_on is not None
        or e.member.status != Member.Status.ACTIVE
        or (e.destination_province, e.destination_city)
        != (outpost.serves_province, outpost.serves_city)
        for e in locked
    ):
        raise StepRefused(_("The list has changed since it was shown: look at it again."))
    if len(locked) < settings.MOBILE_GROUP_MIN_MEMBERS:
        raise StepRefused(
            _("A mobile Party branch or group needs at least %(n)d members.")
            % {"n": settings.MOBILE_GROUP_MIN_MEMBERS}
        )
    full = sum(e.member.category == Member.Category.FULL for e in locked)
    if kind == Organisation.Kind.BRANCH and full < BRANCH_MIN_FULL_MEMBERS:
        raise StepRefused(
            _("A Party branch needs at least %(n)d full members; form a Party group instead.")
            % {"n": BRANCH_MIN_FULL_MEMBERS}
        )
    require_all_editable(actor, {e.member_id for e in locked})
    if Organisation.objects.filter(path__startswith=outpost.path, name=name).exists():
        raise StepRefused(_("An organisation of this name exists already."))
    unit = _add_child(
        outpost,
        actor=actor,
        name=name,
        kind=kind,
        hosts_only=True,
        serves_province=outpost.serves_province,
        serves_city=outpost.serves_city,
        region=outpost.region,
    )
    for episode in locked:
        episode.inflow_organisation, episode.inflow_external = unit, None
        episode._history_user = actor
        episode.save(update_fields=["inflow_organisation", "inflow_external"])
    evidence_changed(member_ids=[e.member_id for e in locked])
    return unit


@transaction.atomic
def group_proposal_confirm(
    *,
    actor,
    root: Organisation,
    province: str,
    city: str,
    member_ids: set[int],
    kind: str,
    name: str,
) -> Organisation:
    """The county confirms the dashboard's proposal: the city's outpost (set up now if there
    is none) gets a new branch or group hosting the chosen members, who must be among those
    the proposal lists (and still away there)."""
    proposal = group_proposal(user=actor, root=root, province=province, city=city)
    if not proposal.may_confirm:
        raise StepRefused(_("Only the county organisation department forms these."))
    joining = {e.member_id: e for e in proposal.joining}
    if not member_ids:
        raise StepRefused(_("Choose the members of the new branch or group."))
    if not member_ids <= joining.keys():
        raise StepRefused(_("The list has changed since it was shown: look at it again."))
    outpost = proposal.outpost or outpost_set_up(
        actor=actor, county=proposal.county, province=province, city=city
    )
    return unit_form(
        actor=actor,
        outpost=outpost,
        kind=kind,
        name=name,
        episodes=[joining[pk] for pk in sorted(member_ids)],
    )
