"""Rules for the nightly scan from organisational life, dues, assigned work and evaluations."""

from datetime import date

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from members.models import Member
from members.rules import rule

from .models import AssignedWork, DuesPayment
from .selectors import evaluation_missing, lived_since, without_life_since

FIRST_STEP = _(
    "Talk with the member: criticism and education first, with a term to correct "
    "(Articles 29-30 of the Regulations)."
)


def _tracked_before(cutoff: date, start_setting: str) -> Q:
    """Only members we could have seen for the whole period: joined and tracked before it."""
    if date.fromisoformat(start_setting) > cutoff:
        return Q(pk__in=[])
    return Q(joined_on__lte=cutoff)


def _no_life_since(today: date, months: int) -> QuerySet[Member]:
    cutoff = today - relativedelta(months=months)
    members = Member.objects.filter(
        _tracked_before(cutoff, settings.ACTIVITIES_TRACKING_START), status=Member.Status.ACTIVE
    )
    return without_life_since(members, cutoff)


@rule(
    code="no_life_3_months",
    title=_("No organisational life for 3 months"),
    severity="warning",
    explanation=_(
        "No organisational life recorded here or reported from elsewhere for three months."
    ),
    source=_("Article 29 of the Regulations on the Education and Management of Party Members"),
    first_step=FIRST_STEP,
    actions=[(_("Open the member"), "members:detail")],
)
def no_life_3_months(today: date) -> QuerySet[Member]:
    # Silent for 3 months but not under the 6-month rule: some life in the last 6 months,
    # or not measurable that long (joined, or tracked, for less than 6 months).
    six = today - relativedelta(months=6)
    if date.fromisoformat(settings.ACTIVITIES_TRACKING_START) > six:
        return _no_life_since(today, 3)
    return _no_life_since(today, 3).filter(Q(joined_on__gt=six) | lived_since(six))


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
)
def no_life_6_months(today: date) -> QuerySet[Member]:
    return _no_life_since(today, 6)


def _unpaid_since(today: date, months: int) -> QuerySet[Member]:
    """Nothing paid for the months from `months` ago up to last month."""
    cutoff = today.replace(day=1) - relativedelta(months=months)
    paid = DuesPayment.objects.filter(member=OuterRef("pk"), to_month__gte=cutoff)
    return Member.objects.filter(
        _tracked_before(cutoff, settings.DUES_TRACKING_START), status=Member.Status.ACTIVE
    ).exclude(Exists(paid))


@rule(
    code="dues_unpaid_3_months",
    title=_("Dues unpaid for 3 months"),
    severity="warning",
    explanation=_("No dues paid for the last three months."),
    source=_("Article 29 of the Regulations; the 2008 rules on Party dues"),
    first_step=FIRST_STEP,
    actions=[(_("Open the member"), "members:detail")],
)
def dues_unpaid_3_months(today: date) -> QuerySet[Member]:
    # As for organisational life: not already under the 6-month rule.
    six = today.replace(day=1) - relativedelta(months=6)
    if date.fromisoformat(settings.DUES_TRACKING_START) > six:
        return _unpaid_since(today, 3)
    paid = DuesPayment.objects.filter(member=OuterRef("pk"), to_month__gte=six)
    return _unpaid_since(today, 3).filter(Q(joined_on__gt=six) | Q(Exists(paid)))


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
)
def dues_unpaid_6_months(today: date) -> QuerySet[Member]:
    return _unpaid_since(today, 6)


@rule(
    code="assigned_work_undone",
    title=_("Assigned work undone for 6 months"),
    severity="serious",
    explanation=_("Work assigned by the Party has been left undone for six months."),
    source=_("Article 9 of the Party Constitution"),
    first_step=FIRST_STEP,
    actions=[(_("Open the member"), "members:detail")],
)
def assigned_work_undone(today: date) -> QuerySet[Member]:
    cutoff = today - relativedelta(months=6)
    undone = AssignedWork.objects.filter(
        status__in=[AssignedWork.Status.OPEN, AssignedWork.Status.NOT_DONE], due_on__lte=cutoff
    ).values("member_id")
    return Member.objects.filter(status=Member.Status.ACTIVE, pk__in=undone)


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
)
def evaluation_missing_rule(today: date) -> QuerySet[Member]:
    season_end = date.fromisoformat(f"{today.year}-{settings.EVALUATION_SEASON_END}")
    if today <= season_end:
        return Member.objects.none()
    return evaluation_missing(year=today.year - 1)
