"""Reads for the five-clears ledger, the contact log and census campaigns, from the user's scope."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db.models import (
    BooleanField,
    Case,
    Count,
    DateField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.shortcuts import get_object_or_404

from activities.selectors import LaterOf, last_attended_subquery, last_external_subquery
from members.models import Member, Organisation
from members.selectors import (
    members_editable_by,
    members_visible_to,
    scope_root_of,
    sees_everything,
)
from transfers.models import ActivityCertificate, MobilityEpisode
from transfers.selectors import mobile_members

from .models import (
    INFLOW_CHANGES,
    INFLOW_ITEMS,
    CensusCampaign,
    ContactAttempt,
    FiveClearsItem,
    LedgerRecord,
)

ITEMS = [item.value for item in FiveClearsItem]


def confirm_cutoffs(today: date) -> dict[str, date]:
    """An item confirmed on or after its cut-off is recent enough to be clear."""
    usual = today - relativedelta(months=settings.LEDGER_CONFIRM_MONTHS)
    contact = today - relativedelta(months=settings.LEDGER_CONTACT_CONFIRM_MONTHS)
    return {item: contact if item == FiveClearsItem.CONTACT else usual for item in ITEMS}


def _filled(item: str) -> Q:
    return {
        FiveClearsItem.LEFT: Q(left_on__isnull=False),
        FiveClearsItem.WHERE: ~Q(destination_province="")
        | ~Q(destination_country="")
        | ~Q(address=""),
        FiveClearsItem.OCCUPATION: ~Q(occupation=""),
        FiveClearsItem.CONTACT: ~Q(member__phone=""),
        FiveClearsItem.CONDUCT: ~Q(member__ledger__conduct_assessment=""),
    }[item]


def _clear(item: str, cutoff: date) -> Case:
    confirmed = Q(**{f"member__ledger__{item}_confirmed_on__gte": cutoff})
    return Case(
        When(_filled(item) & confirmed, then=Value(True)),
        default=Value(False),
        output_field=BooleanField(),
    )


def last_reached_subquery(member_ref: str = "pk") -> Subquery:
    return Subquery(
        ContactAttempt.objects.filter(member=OuterRef(member_ref), reached=True)
        .values("member")
        .annotate(last=Max("on"))
        .values("last"),
        output_field=DateField(),
    )


def with_five_clears(
    episodes: QuerySet[MobilityEpisode], *, today: date, life: bool = True
) -> QuerySet:
    """Annotate each episode with <item>_clear, all_clear, last_reached_on and (with `life`,
    two more subqueries per row) last_life."""
    cutoffs = confirm_cutoffs(today)
    annotated = episodes.annotate(
        **{f"{item}_clear": _clear(item, cutoffs[item]) for item in ITEMS},
        last_reached_on=last_reached_subquery("member"),
    )
    if life:
        annotated = annotated.annotate(
            last_life=LaterOf(last_attended_subquery("member"), last_external_subquery("member"))
        )
    all_clear = Q(**{f"{item}_clear": True for item in ITEMS})
    return annotated.annotate(
        all_clear=Case(
            When(all_clear, then=Value(True)), default=Value(False), output_field=BooleanField()
        )
    )


def ledger_rows(
    *,
    user,
    today: date,
    side: str = "outflow",
    branch: Organisation | None = None,
    not_clear_only: bool = False,
    arrangement: str = "",
    mobility_type: str = "",
    province: str = "",
    life: bool = True,
) -> QuerySet[MobilityEpisode]:
    """One row per mobile member of the ledger (outflow: ours away; inflow: hosted).
    `life=False` leaves out the last organisational life (the export has no such column)."""
    rows = mobile_members(
        user=user,
        today=today,
        arrangement=arrangement,
        mobility_type=mobility_type,
        province=province,
        side=side,
    ).select_related("member__ledger")
    if branch is not None:
        field = "member__home_branch" if side == "outflow" else "inflow_organisation"
        rows = rows.filter(**{f"{field}__path__startswith": branch.path})
    rows = with_five_clears(rows, today=today, life=life).annotate(
        certificate_number=Subquery(
            ActivityCertificate.objects.filter(
                member=OuterRef("member"), status=ActivityCertificate.Status.VALID
            ).values("number")[:1]
        ),
    )
    if not_clear_only:
        rows = rows.filter(all_clear=False)
    return rows


@dataclass(frozen=True)
class Completeness:
    name: str
    organisation_id: int | None
    total: int
    clear: int
    per_item: dict[str, int]

    @property
    def percent(self) -> int:
        return round(100 * self.clear / self.total) if self.total else 100


def completeness_total(parts: list[Completeness]) -> Completeness:
    """The overall figure from per-branch figures (no second pass over the rows)."""
    return Completeness(
        "",
        None,
        sum(part.total for part in parts),
        sum(part.clear for part in parts),
        {item: sum(part.per_item[item] for part in parts) for item in ITEMS},
    )


def completeness_aggregates() -> dict:
    """total, clear and each item's clear count, over rows annotated by with_five_clears."""
    return {
        "total": Count("id"),
        "clear": Count("id", filter=Q(all_clear=True)),
        **{item: Count("id", filter=Q(**{f"{item}_clear": True})) for item in ITEMS},
    }


def completeness(rows: QuerySet, *, group_by_branch: bool = False) -> list[Completeness]:
    """Clear rows out of all rows, overall or per home branch, with per-item counts."""
    aggregates = completeness_aggregates()
    if not group_by_branch:
        figures = rows.order_by().aggregate(**aggregates)
        return [
            Completeness(
                "", None, figures["total"], figures["clear"], {i: figures[i] for i in ITEMS}
            )
        ]
    grouped = (
        rows.order_by()
        .values("member__home_branch", "member__home_branch__name")
        .annotate(**aggregates)
        .order_by("member__home_branch__name")
    )
    return [
        Completeness(
            g["member__home_branch__name"],
            g["member__home_branch"],
            g["total"],
            g["clear"],
            {i: g[i] for i in ITEMS},
        )
        for g in grouped
    ]


def ledger_record_of(member: Member) -> LedgerRecord:
    """The member's five-clears record with who confirmed each item, in one query."""
    confirmers = [f"{item}_confirmed_by" for item in ITEMS]
    record = LedgerRecord.objects.select_related(*confirmers).filter(member=member).first()
    return record or LedgerRecord(member=member)


def contacts_of(member: Member) -> QuerySet[ContactAttempt]:
    return member.contacts.select_related("recorded_by")


def member_last_reached(member: Member) -> date | None:
    return member.contacts.filter(reached=True).aggregate(last=Max("on"))["last"]


# --- census campaigns ------------------------------------------------------------------------


def campaigns_visible_to(user) -> QuerySet[CensusCampaign]:
    """Campaigns opened for an organisation above, at or below the user's node."""
    campaigns = CensusCampaign.objects.select_related("organisation", "opened_by")
    if sees_everything(user):
        return campaigns
    root = scope_root_of(user)
    if root is None:
        return campaigns.none()
    above = [root.path[: d * Organisation.steplen] for d in range(1, root.depth)]
    return campaigns.filter(
        Q(organisation__path__startswith=root.path) | Q(organisation__path__in=above)
    )


def campaign_get(*, user, pk: int) -> CensusCampaign:
    return get_object_or_404(campaigns_visible_to(user), pk=pk)


def _campaign_rows(*, user, campaign: CensusCampaign) -> QuerySet[MobilityEpisode]:
    verified = Q(
        **{
            f"member__ledger__{item}_confirmed_on__range": (campaign.starts_on, campaign.ends_on)
            for item in ITEMS
        }
    )
    return (
        MobilityEpisode.objects.away_now()
        .filter(
            member__in=members_editable_by(user).filter(
                home_branch__path__startswith=campaign.organisation.path
            ),
        )
        .select_related("member", "member__home_branch", "member__ledger")
        .annotate(
            verified=Case(
                When(verified, then=Value(True)), default=Value(False), output_field=BooleanField()
            )
        )
    )


def campaign_checklist(*, user, campaign: CensusCampaign, branch: Organisation | None = None):
    rows = _campaign_rows(user=user, campaign=campaign)
    if branch is not None:
        rows = rows.filter(member__home_branch=branch)
    return rows.order_by("verified", "member__home_branch__path", "member__name")


def campaign_progress(*, user, campaign: CensusCampaign) -> list[Completeness]:
    grouped = (
        _campaign_rows(user=user, campaign=campaign)
        .order_by()
        .values("member__home_branch", "member__home_branch__name")
        .annotate(total=Count("id"), clear=Count("id", filter=Q(verified=True)))
        .order_by("member__home_branch__name")
    )
    return [
        Completeness(
            g["member__home_branch__name"], g["member__home_branch"], g["total"], g["clear"], {}
        )
        for g in grouped
    ]


# A large subtree's per-branch completeness kept current by the writes, with the day it was
# counted when that is not today, or None to count live. reports/ registers its reader of the
# kept figures in ready(): ledgers/ may not import reports/.
KeptCompleteness = Callable[[Organisation, date], tuple[list[Completeness], date | None] | None]
_kept_completeness: list[KeptCompleteness] = []


def register_kept_completeness(reader: KeptCompleteness) -> KeptCompleteness:
    _kept_completeness.append(reader)
    return reader


def branch_completeness(
    rows: QuerySet, *, root: Organisation | None, today: date
) -> tuple[list[Completeness], date | None]:
    """The outflow ledger's completeness per home branch, with the day it is from (None:
    counted up to now). Grouping a county's 20,000 mobile members live took 200 ms of a 400 ms
    page, so a large subtree reads the figures the writes keep current."""
    for reader in _kept_completeness if root is not None else ():
        found = reader(root, today)
        if found is not None:
            return found
    return completeness(rows, group_by_branch=True), None


def ledger_items_kept_by(*, user, member: Member, change: bool = False) -> tuple[str, ...]:
    """The five-clears items `user` confirms (or, with `change`, changes) for `member`: all
    five for the home side, the inflow items for the side that hosts the member now (not the
    phone number, to change), none for anyone else."""
    if members_editable_by(user).filter(pk=member.pk).exists():
        return tuple(FiveClearsItem.values)
    if members_visible_to(user).filter(pk=member.pk).exists():
        return tuple(INFLOW_CHANGES if change else INFLOW_ITEMS)
    return ()
