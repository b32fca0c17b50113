"""Rules from signs of life, the five-clears ledger and decisions on membership.

Periods follow the Civil Code (members/periods.py): "six months after" the last sign of life
ends on the corresponding day, and the condition holds from the day after.
"""

from datetime import date

from django.conf import settings
from django.db.models import Exists, Max, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from alerts.registry import in_subtree, rule, rule_for
from members.models import CorrectionTerm, EvidenceBaseline, Member, MembershipDecision
from members.periods import period_cutoff
from transfers.models import MobilityEpisode

from . import evidence
from .models import ContactAttempt
from .selectors import with_five_clears


def _away(within: str | None = None) -> QuerySet[MobilityEpisode]:
    """Current episodes of active members; with `within`, of members of that subtree."""
    return in_subtree(MobilityEpisode.objects.away_now(), within, member="member__")


def silent_episodes(
    months: int, today: date, *, within: str | None = None
) -> QuerySet[MobilityEpisode]:
    """Current episodes whose member showed no sign of life for `months` (a Civil-Code period)
    since the later of the last sign, the day they left and the day Liudong's records start."""
    cutoff = period_cutoff(months, today=today)
    return evidence.exclude_alive_since(
        _away(within).filter(left_on__lt=cutoff), cutoff, member="member"
    )


def _searched_in_vain(today: date) -> Exists:
    """An attempt to reach the member failed within the lost-contact period (art. 24:
    "经多方寻找仍无音讯")."""
    cutoff = period_cutoff(settings.LOST_CONTACT_MONTHS, today=today)
    return Exists(
        ContactAttempt.objects.filter(member=OuterRef("member"), reached=False, on__gte=cutoff)
    )


def lost_contact_episodes(today: date, within: str | None = None) -> QuerySet[MobilityEpisode]:
    """失联: silent for LOST_CONTACT_MONTHS. A member abroad is contacted half-yearly by duty
    (art. 34), so abroad it also takes a failed search in that time; until then the branch's
    own duty (`overseas_not_contacted`) is what is due. `within`: that subtree's only."""
    silent = silent_episodes(settings.LOST_CONTACT_MONTHS, today, within=within)
    return silent.filter(~Q(mobility_type=MobilityEpisode.Type.ABROAD) | _searched_in_vain(today))


def _members(episodes: QuerySet[MobilityEpisode]) -> QuerySet[Member]:
    return Member.objects.filter(pk__in=episodes.values("member_id"))


SIGNS = _(
    "A sign of life is a successful contact, an accepted self-report, organisational life "
    "attended here or elsewhere, or a dues payment; with none, the clock starts on the day "
    "the member left or Liudong's records began."
)


@rule(
    code="contact_overdue",
    title=_("No sign of life for three months"),
    severity="warning",
    explanation=_(
        "No sign of life from this mobile member for three months: no successful contact, "
        "organisational life or dues payment."
    ),
    source=_(
        "Articles 29 and 30 of the Regulations on the Education and Management of Party Members"
    ),
    first_step=_("Call the member, or ask the inflow organisation or the family."),
    actions=[(_("Record a contact attempt"), "ledgers:contact_new")],
    thresholds=("CONTACT_WARNING_MONTHS",),
    counting=SIGNS,
)
def contact_overdue(today: date, within: str | None = None) -> QuerySet[Member]:
    # Abroad the half-yearly contact duty (art. 34) is the warning, not this one.
    silent = silent_episodes(settings.CONTACT_WARNING_MONTHS, today, within=within).exclude(
        mobility_type=MobilityEpisode.Type.ABROAD
    )
    # Correlated, so that one member's re-evaluation does not compute everyone's 失联.
    lost = lost_contact_episodes(today).filter(member_id=OuterRef("pk"))
    return _members(silent).exclude(Exists(lost))


@rule(
    code="lost_contact",
    title=_("Lost contact (失联) for six months"),
    severity="serious",
    explanation=_(
        "No sign of life for six months or more (for a member abroad: and a search in that "
        "time failed). If the member still cannot be found, the branch or a higher "
        "organisation decides on suspension of membership."
    ),
    source=_("Article 24 of the Regulations on the Education and Management of Party Members"),
    first_step=_(
        "Search for the member through family, employer and the inflow side, and log every attempt."
    ),
    actions=[(_("Record a contact attempt"), "ledgers:contact_new")],
    thresholds=("LOST_CONTACT_MONTHS",),
    counting=SIGNS,
)
def lost_contact(today: date, within: str | None = None) -> QuerySet[Member]:
    return _members(lost_contact_episodes(today, within))


@rule(
    code="five_clears_not_clear",
    title=_("Five-clears ledger not clear"),
    severity="notice",
    explanation=_("At least one of the five items is missing or has not been confirmed recently."),
    source=_("Five-clears ledger practice (五清台账)"),
    first_step=_("Check the items with the member and confirm them in the ledger."),
    actions=[(_("Open the member"), "members:detail")],
    thresholds=("LEDGER_CONFIRM_MONTHS", "LEDGER_CONTACT_CONFIRM_MONTHS"),
)
def five_clears_not_clear(today: date, within: str | None = None) -> QuerySet[Member]:
    episodes = with_five_clears(_away(within), today=today)
    return Member.objects.filter(pk__in=episodes.filter(all_clear=False).values("member_id"))


@rule(
    code="overseas_not_contacted",
    title=_("Member abroad not contacted for six months"),
    severity="warning",
    explanation=_(
        "The former unit must contact a member abroad at least every six months; there has "
        "been no successful contact (or accepted self-report) for six months."
    ),
    source=_("Article 34 of the Regulations on the Education and Management of Party Members"),
    first_step=_("Contact the member by phone, WeChat or e-mail and log it."),
    actions=[(_("Record a contact attempt"), "ledgers:contact_new")],
    thresholds=("OVERSEAS_CONTACT_MONTHS",),
)
def overseas_not_contacted(today: date, within: str | None = None) -> QuerySet[Member]:
    cutoff = period_cutoff(settings.OVERSEAS_CONTACT_MONTHS, today=today)
    reached = ContactAttempt.objects.filter(member=OuterRef("member"), reached=True, on__gte=cutoff)
    known = EvidenceBaseline.objects.filter(
        Q(last_contact_on__gte=cutoff) | Q(since__gte=cutoff), member=OuterRef("member")
    )
    abroad = _away(within).filter(mobility_type=MobilityEpisode.Type.ABROAD, left_on__lt=cutoff)
    return _members(abroad.exclude(Exists(reached)).exclude(Exists(known)))


def _suspended_for_lost_contact(today: date, within: str | None):
    """(member, decided_on) of members suspended for lost contact whose removal period passed."""
    cutoff = period_cutoff(12 * settings.REMOVAL_AFTER_SUSPENSION_YEARS, today=today)
    last = (
        MembershipDecision.objects.filter(member=OuterRef("pk"))
        .values("member")
        .annotate(on=Max("decided_on"))
        .values("on")
    )
    suspended = MembershipDecision.objects.filter(
        member=OuterRef("pk"),
        kind=MembershipDecision.Kind.SUSPENSION,
        ground=MembershipDecision.Ground.LOST_CONTACT,
        decided_on__lt=cutoff,
    )
    return (
        in_subtree(Member.objects.filter(status=Member.Status.SUSPENDED), within)
        .annotate(decided_on=last)
        .filter(Exists(suspended.filter(decided_on=OuterRef("decided_on"))))
    )


@rule(
    code="removal_due",
    title=_("Still unreachable two years after suspension: removal due"),
    severity="serious",
    explanation=_(
        "Membership was suspended for lost contact two years ago or more, and there has been "
        "no sign of life since the decision."
    ),
    source=_("Article 24 of the Regulations on the Education and Management of Party Members"),
    first_step=_(
        "Search once more; if the member is still unreachable, the organisation that suspended "
        "the membership decides on removal (除名) and records it."
    ),
    actions=[(_("Record a decision"), "members:decision_new")],
    thresholds=("REMOVAL_AFTER_SUSPENSION_YEARS",),
)
def removal_due(today: date, within: str | None = None) -> QuerySet[Member]:
    members = _suspended_for_lost_contact(today, within)
    for sign in evidence.signs_since(OuterRef("decided_on")):
        members = members.exclude(sign)  # found again since the decision: not removal
    return members


@rule(
    code="correction_term_ended",
    title=_("Correction term ended, condition still there"),
    severity="serious",
    explanation=_(
        "After criticism and education a term to correct was set; it has ended and the "
        "condition it was set for still holds."
    ),
    source=_("Articles 29-31 of the Regulations on the Education and Management of Party Members"),
    first_step=_(
        "The branch committee discusses the case; where the member still does not correct, "
        "the branch proceeds under Article 31 (persuade to withdraw, or removal)."
    ),
    actions=[(_("Open the member"), "members:detail")],
    thresholds=("CORRECTION_TERM_MAX_MONTHS",),
)
def correction_term_ended(today: date, within: str | None = None) -> QuerySet[Member]:
    ended = in_subtree(
        CorrectionTerm.objects.filter(closed_on__isnull=True, ends_on__lt=today),
        within,
        member="member__",
    )
    still = Q(pk__in=[])
    for condition in ended.values_list("condition", flat=True).distinct():
        condition_rule = rule_for(condition)
        if condition_rule is None:
            continue
        still |= Q(
            pk__in=ended.filter(condition=condition).values("member_id"),
            id__in=condition_rule.matching(today, within=within).values("pk"),
        )
    return Member.objects.filter(still)
