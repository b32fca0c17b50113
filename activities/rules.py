"""Rules for the nightly scan from organisational life, dues, assigned work and evaluations."""

from datetime import date

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from alerts.registry import in_subtree, rule
from members.models import Member
from transfers.models import MobilityEpisode

from . import withdrawal
from .models import Evaluation

FIRST_STEP = _(
    "Talk with the member: criticism and education first, with a term to correct "
    "(Articles 29-30 of the Regulations)."
)


def _months() -> tuple[int, int]:
    """(warning, serious) months, read when the rule runs."""
    return settings.SELF_WITHDRAWAL_WARNING_MONTHS, settings.SELF_WITHDRAWAL_MONTHS


def _flagged(
    what: str, months: int, today: date, among: list[int] | None, within: str | None
) -> QuerySet[Member]:
    return withdrawal.flagged(what, months, today, among=among, within=within)


def _warning_only(
    what: str, today: date, among: list[int] | None, within: str | None = None
) -> QuerySet[Member]:
    warning, serious = _months()
    return _flagged(what, warning, today, among, within).exclude(
        pk__in=_flagged(what, serious, today, among, within).values("pk")
    )


COUNTING = _(
    "Counted in whole calendar months since the last month with it; months excused by a "
    "recorded good reason are skipped, neither missed nor attended."
)


@rule(
    code="no_life_3_months",
    title=_("No organisational life for 3 months"),
    severity="warning",
    explanation=_(
        "Three whole months without organisational life recorded here or reported from "
        "elsewhere, not counting excused months."
    ),
    source=_("Article 29 of the Regulations on the Education and Management of Party Members"),
    first_step=FIRST_STEP,
    actions=[(_("Open the member"), "members:detail")],
    thresholds=("SELF_WITHDRAWAL_WARNING_MONTHS", "ACTIVITIES_TRACKING_START"),
    counting=COUNTING,
)
def no_life_3_months(
    today: date, among: list[int] | None = None, within: str | None = None
) -> QuerySet[Member]:
    return _warning_only(withdrawal.LIFE, today, among, within)


@rule(
    code="no_life_6_months",
    title=_("No organisational life for 6 consecutive months"),
    severity="serious",
    explanation=_(
        "Six consecutive months without organisational life and without good reason is "
        "treated as self-withdrawal from the Party (自行脱党)."
    ),
    source=_("Article 9 of the Party Constitution; Article 31 of the Regulations"),
    first_step=FIRST_STEP,
    actions=[(_("Open the member"), "members:detail")],
    thresholds=("SELF_WITHDRAWAL_MONTHS", "ACTIVITIES_TRACKING_START"),
    counting=COUNTING,
    correctable=True,
)
def no_life_6_months(
    today: date, among: list[int] | None = None, within: str | None = None
) -> QuerySet[Member]:
    return _flagged(withdrawal.LIFE, settings.SELF_WITHDRAWAL_MONTHS, today, among, within)


@rule(
    code="dues_unpaid_3_months",
    title=_("Dues unpaid for 3 months"),
    severity="warning",
    explanation=_(
        "No dues paid for three whole months (the months after the last month paid for), "
        "not counting excused months."
    ),
    source=_("Article 29 of the Regulations; the 2008 rules on Party dues"),
    first_step=FIRST_STEP,
    actions=[(_("Open the member"), "members:detail")],
    thresholds=("SELF_WITHDRAWAL_WARNING_MONTHS", "DUES_TRACKING_START"),
    counting=COUNTING,
)
def dues_unpaid_3_months(
    today: date, among: list[int] | None = None, within: str | None = None
) -> QuerySet[Member]:
    return _warning_only(withdrawal.DUES, today, among, within)


@rule(
    code="dues_unpaid_6_months",
    title=_("Dues unpaid for 6 consecutive months"),
    severity="serious",
    explanation=_(
        "Six consecutive months without paying dues and without good reason is treated as "
        "self-withdrawal from the Party (自行脱党)."
    ),
    source=_("Article 9 of the Party Constitution; Article 31 of the Regulations"),
    first_step=FIRST_STEP,
    actions=[(_("Open the member"), "members:detail")],
    thresholds=("SELF_WITHDRAWAL_MONTHS", "DUES_TRACKING_START"),
    counting=COUNTING,
    correctable=True,
)
def dues_unpaid_6_months(
    today: date, among: list[int] | None = None, within: str | None = None
) -> QuerySet[Member]:
    return _flagged(withdrawal.DUES, settings.SELF_WITHDRAWAL_MONTHS, today, among, within)


@rule(
    code="assigned_work_undone",
    title=_("Assigned work undone for 6 months"),
    severity="serious",
    explanation=_(
        "Work assigned by the Party has been left undone for six whole months after it fell "
        "due, without good reason."
    ),
    source=_("Article 9 of the Party Constitution; Article 31 of the Regulations"),
    first_step=FIRST_STEP,
    actions=[(_("Open the member"), "members:detail")],
    thresholds=("SELF_WITHDRAWAL_MONTHS",),
    counting=COUNTING,
    correctable=True,
)
def assigned_work_undone(
    today: date, among: list[int] | None = None, within: str | None = None
) -> QuerySet[Member]:
    return _flagged(withdrawal.WORK, settings.SELF_WITHDRAWAL_MONTHS, today, among, within)


def _evaluation_missing(*, year: int, within: str | None) -> QuerySet[Member]:
    """Members still away at the end of `year` with no evaluation from either side for it (a
    member who came home during the year is evaluated at home like everyone else). With
    `within`, the scope is in the episodes subquery that drives the query: the subtree's
    member ids from the index, then their episodes, then those members."""
    year_end = date(year, 12, 31)
    away = in_subtree(
        MobilityEpisode.objects.filter(
            Q(ended_on__isnull=True) | Q(ended_on__gte=year_end), left_on__lte=year_end
        ),
        within,
        member="member__",
    ).values("member_id")
    evaluated = in_subtree(Evaluation.objects.filter(year=year), within, member="member__")
    return Member.objects.filter(status=Member.Status.ACTIVE, pk__in=away).exclude(
        pk__in=evaluated.values("member_id")
    )


@rule(
    code="evaluation_missing",
    title=_("No two-way evaluation recorded"),
    severity="notice",
    explanation=_(
        "The evaluation season has ended and neither side recorded an evaluation for last year."
    ),
    source=_("Article 18 of the Regulations (democratic evaluation, yearly)"),
    first_step=_("Record the home branch's evaluation and ask the inflow side for theirs."),
    actions=[(_("Open the member"), "members:detail")],
    thresholds=("EVALUATION_SEASON_END",),
)
def evaluation_missing_rule(today: date, within: str | None = None) -> QuerySet[Member]:
    season_end = date.fromisoformat(f"{today.year}-{settings.EVALUATION_SEASON_END}")
    if today <= season_end:
        return Member.objects.none()
    return _evaluation_missing(year=today.year - 1, within=within)
