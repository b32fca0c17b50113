"""Reads for organisational life, dues and evaluations, from the user's scope."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db.models import (
    DateField,
    Exists,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce, Greatest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from members.models import Member, Organisation
from members.selectors import (
    members_editable_by,
    members_visible_to,
    organisation_in_scope,
    organisations_visible_to,
)
from transfers.models import MobilityEpisode

from . import dues
from .models import (
    Activity,
    AssignedWork,
    Attendance,
    DuesAmount,
    DuesPayment,
    Evaluation,
    ExternalParticipation,
    GoodReason,
    Honour,
    ServiceRequest,
    Side,
)


def activities_visible_to(user) -> QuerySet[Activity]:
    return Activity.objects.filter(branch__in=organisations_visible_to(user)).select_related(
        "branch"
    )


def activity_get(*, user, pk: int) -> Activity:
    return get_object_or_404(activities_visible_to(user), pk=pk)


def roster(branch: Organisation) -> QuerySet[Member]:
    """Who is on the attendance list: the branch's own active members and those it hosts."""
    hosted = (
        MobilityEpisode.objects.current().filter(inflow_organisation=branch).values("member_id")
    )
    return (
        Member.objects.filter(Q(home_branch=branch) | Q(pk__in=hosted), status=Member.Status.ACTIVE)
        .select_related("home_branch")
        .order_by("name", "id")
    )


def with_away(members: QuerySet[Member], branch: Organisation) -> QuerySet[Member]:
    """Annotate `away`: a current mobility episode takes the member away from `branch` (one
    hosted by the branch itself does not: there the member is at home)."""
    away = MobilityEpisode.objects.current().filter(member=OuterRef("pk"))
    return members.annotate(away=Exists(away.exclude(inflow_organisation=branch)))


def roster_lines(branch: Organisation) -> list[Member]:
    """The roster of a new activity, each member with `away`."""
    return list(with_away(roster(branch), branch))


def attendance_roster(*, user, activity: Activity, marked) -> list[Member]:
    """The lines of an activity's attendance form: the branch's roster, then anyone marked
    before who has since left it (a former member keeps their line, if still in scope); each
    member with `away`."""
    members = roster_lines(activity.branch)
    on_roster = {member.pk for member in members}
    members += list(
        with_away(members_visible_to(user), activity.branch)
        .filter(pk__in=set(marked) - on_roster)
        .select_related("home_branch")
        .order_by("name", "id")
    )
    return members


def last_attended_subquery(member_ref: str = "pk") -> Subquery:
    return Subquery(
        Attendance.objects.filter(member=OuterRef(member_ref), status__in=Attendance.ATTENDED)
        .values("member")
        .annotate(last=Max("activity__held_on"))
        .values("last"),
        output_field=DateField(),
    )


def last_external_subquery(member_ref: str = "pk") -> Subquery:
    return Subquery(
        ExternalParticipation.objects.filter(member=OuterRef(member_ref))
        .values("member")
        .annotate(last=Max("on"))
        .values("last"),
        output_field=DateField(),
    )


class LaterOf(Greatest):
    """The later of two dates, either of which may be NULL.

    PostgreSQL's GREATEST skips NULLs, so each date (a subquery, say) is written once; SQLite's
    MAX gives NULL if either is, so there each side is COALESCEd with the other.
    """

    output_field = DateField()

    def as_sqlite(self, compiler, connection, **extra_context):
        a, b = self.get_source_expressions()
        both = Greatest(Coalesce(a, b), Coalesce(b, a), output_field=DateField())
        return both.as_sqlite(compiler, connection, **extra_context)


def with_last_life(members: QuerySet[Member]) -> QuerySet[Member]:
    """Annotate last_attended and last_external; `last_life` of a row is the later of the two."""
    return members.annotate(
        last_attended=last_attended_subquery(), last_external=last_external_subquery()
    )


def last_paid_on_subquery(member_ref: str = "pk") -> Subquery:
    return Subquery(
        DuesPayment.objects.filter(member=OuterRef(member_ref))
        .values("member")
        .annotate(last=Max("paid_on"))
        .values("last"),
        output_field=DateField(),
    )


@dataclass(frozen=True)
class LatestDates:
    """The latest organisational life attended, life reported from elsewhere, and dues payment
    (the day it was paid) of one member."""

    attended: date | None
    external: date | None
    paid_on: date | None


LATEST = {  # annotation of the member page's query: LatestDates field
    "last_attended_on": "attended",
    "last_external_on": "external",
    "last_paid_on": "paid_on",
}


def with_latest_dates(members: QuerySet[Member]) -> QuerySet[Member]:
    return members.annotate(
        last_attended_on=last_attended_subquery(),
        last_external_on=last_external_subquery(),
        last_paid_on=last_paid_on_subquery(),
    )


def latest_dates(member: Member) -> LatestDates:
    """From the member page's query when the member came from it, else in one query."""
    if not all(hasattr(member, name) for name in LATEST):
        row = with_latest_dates(Member.objects.filter(pk=member.pk)).values(*LATEST).first()
        return LatestDates(**{field: (row or {}).get(name) for name, field in LATEST.items()})
    return LatestDates(**{field: getattr(member, name) for name, field in LATEST.items()})


def last_life_of(member: Member) -> date | None:
    latest = latest_dates(member)
    return max((d for d in (latest.attended, latest.external) if d), default=None)


def _life_since(cutoff: date) -> tuple[Exists, Exists]:
    attended = Attendance.objects.filter(
        member=OuterRef("pk"), status__in=Attendance.ATTENDED, activity__held_on__gte=cutoff
    )
    elsewhere = ExternalParticipation.objects.filter(member=OuterRef("pk"), on__gte=cutoff)
    return Exists(attended), Exists(elsewhere)


def lived_since(cutoff: date) -> Q:
    """Members with organisational life (here, or reported from elsewhere) on or after cutoff."""
    attended, elsewhere = _life_since(cutoff)
    return Q(attended) | Q(elsewhere)


def without_life_since(members: QuerySet[Member], cutoff: date) -> QuerySet[Member]:
    """The members with no organisational life on or after cutoff.

    Two NOT EXISTS, not NOT (A OR B): PostgreSQL turns each into a hash anti-join.
    """
    attended, elsewhere = _life_since(cutoff)
    return members.exclude(attended).exclude(elsewhere)


def branch_rhythm(*, branch: Organisation, year: int) -> list[dict]:
    """Per month of `year`, how many of each kind the branch held, against the rhythm."""
    held = Activity.objects.filter(branch=branch, held_on__year=year).values_list(
        "held_on__month", "kind"
    )
    grid = {month: {kind: 0 for kind in Activity.Kind.values} for month in range(1, 13)}
    for month, kind in held:
        grid[month][kind] += 1
    return [{"month": month, "held": grid[month]} for month in range(1, 13)]


def dues_amount_for(member: Member, year: int) -> DuesAmount | None:
    return member.dues_amounts.filter(year=year).first()


def tracking_start() -> date:
    return date.fromisoformat(settings.DUES_TRACKING_START)


def arrears(
    *,
    member: Member,
    today: date,
    payments: list[DuesPayment] | None = None,
    amounts: list[DuesAmount] | None = None,
) -> tuple[list[date], Decimal]:
    """Months owed up to last month (from joining or the tracking start), and their amount.
    `payments` and `amounts`: all the member's, when the caller has read them already."""
    start = max(dues.first_of_month(member.joined_on), tracking_start())
    last_month = dues.first_of_month(today) - dues.relativedelta(months=1)
    if last_month < start:
        return [], Decimal("0")
    if payments is None:
        payments = member.dues_payments.filter(to_month__gte=start)
    paid = set()
    for payment in payments:
        if payment.to_month >= start:
            paid.update(dues.months_between(payment.from_month, payment.to_month))
    owed = [m for m in dues.months_between(start, last_month) if m not in paid]
    if not owed:
        return [], Decimal("0")
    if amounts is None:
        amounts = member.dues_amounts.all()
    monthly = {a.year: a.monthly_amount for a in amounts}
    total = sum((monthly.get(m.year, dues.FIXED) for m in owed), Decimal("0"))
    return owed, total


def last_paid_month_subquery(member_ref: str = "pk") -> Subquery:
    return Subquery(
        DuesPayment.objects.filter(member=OuterRef(member_ref))
        .values("member")
        .annotate(last=Max("to_month"))
        .values("last"),
        output_field=DateField(),
    )


def dues_ledger(*, user, branch: Organisation, year: int) -> list[dict]:
    """A branch's dues for a year: each member's amount and which months are paid."""
    members = list(
        members_visible_to(user)
        .filter(home_branch=branch, status=Member.Status.ACTIVE)
        .order_by("name", "id")
    )
    amounts = {
        a.member_id: a
        for a in DuesAmount.objects.filter(member__in=[m.pk for m in members], year=year)
    }
    months = dues.months_between(date(year, 1, 1), date(year, 12, 1))
    paid: dict[int, set] = {m.pk: set() for m in members}
    payments = DuesPayment.objects.filter(
        member__in=[m.pk for m in members], to_month__gte=months[0], from_month__lte=months[-1]
    )
    for payment in payments:
        paid[payment.member_id].update(dues.months_between(payment.from_month, payment.to_month))
    return [
        {
            "member": member,
            "amount": amounts.get(member.pk),
            "months": [(month, month in paid[member.pk]) for month in months],
        }
        for member in members
    ]


def evaluations_by_year(member: Member, evaluations: list[Evaluation] | None = None) -> list[dict]:
    """`evaluations`: the member's, when the caller has read them already."""
    rows: dict[int, dict] = {}
    for evaluation in member.evaluations.all() if evaluations is None else evaluations:
        rows.setdefault(evaluation.year, {"year": evaluation.year})[evaluation.side] = evaluation
    return [rows[year] for year in sorted(rows, reverse=True)]


def evaluation_missing(*, year: int) -> QuerySet[Member]:
    """Members still away at the end of `year` with no evaluation from either side for it.

    A member who came home during the year is evaluated at home like everyone else.
    """
    away = MobilityEpisode.objects.filter(
        Q(ended_on__isnull=True) | Q(ended_on__gte=date(year, 12, 31)),
        left_on__lte=date(year, 12, 31),
    ).values("member_id")
    evaluated = Evaluation.objects.filter(year=year).values("member_id")
    return Member.objects.filter(status=Member.Status.ACTIVE, pk__in=away).exclude(pk__in=evaluated)


# --- who may record what (beside the scoping selectors they rest on) -----------------------


def may_record_dues(*, user, member: Member, paid_to: Organisation | None) -> bool:
    """The home branch, or the inflow side for dues paid to it (certificate holders)."""
    if members_editable_by(user).filter(pk=member.pk).exists():
        return True
    return organisation_in_scope(user, paid_to) and (
        members_visible_to(user).filter(pk=member.pk).exists()
    )


def evaluation_refusal(*, user, member: Member, side: str) -> str:
    """Why `user` may not record `side`'s evaluation of `member`, or "" if they may: the home
    branch records its own grade and an external inflow side's; an internal inflow branch
    records its own."""
    home = members_editable_by(user).filter(pk=member.pk).exists()
    if side == Side.HOME:
        return "" if home else _("Only the home branch records the home side's evaluation.")
    episode = member.mobility_episodes.current().first()
    internal = episode.inflow_organisation if episode else None
    if internal is not None:
        ok = organisation_in_scope(user, internal)
        return "" if ok else _("The inflow branch records its own evaluation.")
    return "" if home else _("Only the home branch records an external inflow side's result.")


# --- the member page (issue #18: each fact read once) ------------------------------------------


def with_member_page_facts(members: QuerySet[Member]) -> QuerySet[Member]:
    """What the member page reads with the member: the latest dates (`latest_dates`), and
    whether each of this room's lists has rows (payments and life elsewhere: a latest date)."""
    member = OuterRef("pk")
    return with_latest_dates(members).annotate(
        has_attendance=Exists(Attendance.objects.filter(member=member)),
        has_dues_amounts=Exists(DuesAmount.objects.filter(member=member)),
        has_good_reasons=Exists(GoodReason.objects.filter(member=member)),
        has_evaluations=Exists(Evaluation.objects.filter(member=member)),
        has_work=Exists(AssignedWork.objects.filter(member=member)),
        has_service_requests=Exists(ServiceRequest.objects.filter(member=member)),
        has_honours=Exists(Honour.objects.filter(member=member)),
    )
