"""Reads for mobility, certificates and transfers, always from the user's scope."""

from dataclasses import dataclass
from datetime import date

from dateutil.relativedelta import relativedelta
from django.db.models import (
    Case,
    CharField,
    Exists,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
)
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from members.models import EvidenceBaseline, Member, Organisation, StaffAssignment
from members.periods import period_cutoff
from members.sections import page_fact, page_rows
from members.selectors import (
    assignment_of,
    can_review,
    members_editable_by,
    members_visible_to,
    organisation_in_scope,
    organisations_visible_to,
    register_hosting,
    sees_everything,
)

from .classification import Arrangement, Classification, EpisodeFacts, Thresholds, classify
from .models import ActivityCertificate, CertificateReview, MobilityEpisode, RelationshipTransfer


@register_hosting
def hosted_members(root: Organisation) -> QuerySet:
    """Members away now whose inflow organisation is in `root`'s subtree."""
    return MobilityEpisode.objects.hosted_by(root).values("member_id")


def arrangement_expression(*, today: date, thresholds: Thresholds | None = None) -> Case:
    """The arrangement of an episode in SQL; mirrors `classify` for current episodes.

    "Six months have passed since leaving" is `left_on < period_cutoff(6, today)`, the same
    Civil-Code period as `classify`; a transfer recorded as not possible for now (暂时无法转移)
    keeps the certificate arrangement up to and including its until-date.
    """
    t = thresholds or Thresholds.from_settings()
    not_deferred = Q(transfer_deferred_until__isnull=True) | Q(transfer_deferred_until__lt=today)
    return Case(
        When(~Q(member__status=Member.Status.ACTIVE), then=Value(Arrangement.NONE)),
        When(mobility_type=MobilityEpisode.Type.ABROAD, then=Value(Arrangement.OVERSEAS)),
        When(
            mobility_type=MobilityEpisode.Type.STUDY,
            graduated_on__isnull=False,
            then=Value(Arrangement.GRADUATE),
        ),
        When(
            not_deferred,
            is_fixed_place=True,
            left_on__lt=period_cutoff(t.transfer_after_months, today=today),
            then=Value(Arrangement.TRANSFER_REQUIRED),
        ),
        default=Value(Arrangement.CERTIFICATE),
        output_field=CharField(),
    )


def mobile_members(
    *,
    user,
    today: date,
    arrangement: str = "",
    mobility_type: str = "",
    province: str = "",
    side: str = "",
) -> QuerySet[MobilityEpisode]:
    """Current episodes in scope with their arrangement; side is 'outflow' or 'inflow'."""
    # The outflow side is the editable members, a part of the visible ones: one scope filter.
    in_scope = members_editable_by(user) if side == "outflow" else members_visible_to(user)
    episodes = (
        MobilityEpisode.objects.current()
        .filter(member__in=in_scope)
        .select_related("member", "member__home_branch", "inflow_organisation", "inflow_external")
        .annotate(
            arrangement=arrangement_expression(today=today),
            has_certificate=Exists(
                ActivityCertificate.objects.filter(
                    member=OuterRef("member"), status=ActivityCertificate.Status.VALID
                )
            ),
        )
    )
    if arrangement:
        episodes = episodes.filter(arrangement=arrangement)
    if mobility_type:
        episodes = episodes.filter(mobility_type=mobility_type)
    if province:
        episodes = episodes.filter(destination_province=province)
    if side == "inflow":
        episodes = episodes.exclude(member__in=members_editable_by(user))
    return episodes.order_by("member__name", "member_id")


def member_classification(
    *, member: Member, today: date, episode: MobilityEpisode | None | bool = False
) -> Classification:
    """`episode`: the member's current one, if the caller has it already (None: away no more)."""
    if episode is False:
        episode = member.mobility_episodes.current().first()
    facts = episode_facts(episode) if episode else None
    return classify(episode=facts, member_active=member.status == Member.Status.ACTIVE, today=today)


def episode_facts(episode: MobilityEpisode) -> EpisodeFacts:
    return EpisodeFacts(
        mobility_type=episode.mobility_type,
        left_on=episode.left_on,
        is_fixed_place=episode.is_fixed_place,
        graduated_on=episode.graduated_on,
        abroad_purpose=episode.abroad_purpose,
        transfer_deferred=episode.transfer_deferred_reason_text,
        transfer_deferred_until=episode.transfer_deferred_until,
    )


def episode_get(*, user, pk: int) -> MobilityEpisode:
    return get_object_or_404(
        MobilityEpisode.objects.filter(member__in=members_editable_by(user)), pk=pk
    )


def certificates_visible_to(user) -> QuerySet[ActivityCertificate]:
    return ActivityCertificate.objects.filter(member__in=members_visible_to(user)).select_related(
        "member", "issuing_branch", "stamping_committee", "inflow_organisation", "inflow_external"
    )


def certificate_get(*, user, pk: int) -> ActivityCertificate:
    return get_object_or_404(certificates_visible_to(user), pk=pk)


def transfers_visible_to(user) -> QuerySet[RelationshipTransfer]:
    """Transfers of members in scope, plus those coming to an organisation in scope."""
    related = (
        "member",
        "from_branch",
        "from_external",
        "to_organisation",
        "to_external",
        "requested_by",
    )
    if sees_everything(user):
        return RelationshipTransfer.objects.select_related(*related)
    assignment = assignment_of(user)
    if assignment is None:
        return RelationshipTransfer.objects.none()
    root = assignment.organisation.path
    return RelationshipTransfer.objects.filter(
        Q(member__in=members_visible_to(user))
        | Q(from_branch__path__startswith=root)
        | Q(
            to_organisation__path__startswith=root,
            state__in=[RelationshipTransfer.State.APPROVED, RelationshipTransfer.State.COMPLETED],
        )
    ).select_related(*related)


def transfer_get(*, user, pk: int) -> RelationshipTransfer:
    return get_object_or_404(
        transfers_visible_to(user).prefetch_related("letters", "events__actor"), pk=pk
    )


def transfer_get_for_letter(*, user, pk: int) -> RelationshipTransfer:
    """A transfer whose letter (it carries the full ID number) the user may print: the sending
    side's and the receiving organisation's, not a branch that only hosts the member."""
    transfer = transfer_get(user=user, pk=pk)
    receiving = transfer.to_organisation is not None and organisation_in_scope(
        user, transfer.to_organisation
    )
    if not receiving and not members_editable_by(user).filter(pk=transfer.member_id).exists():
        raise Http404
    return transfer


def transfer_destinations() -> QuerySet[Organisation]:
    """Any branch of the deployment can receive a member, whoever sends them."""
    return Organisation.objects.filter(kind__in=Organisation.MEMBER_KINDS).order_by("path")


def can_decide(user, transfer: RelationshipTransfer) -> bool:
    """A reviewer above the sending branch who did not ask for the transfer decides it."""
    return (
        can_review(user)
        and organisation_in_scope(user, transfer.from_branch)
        and transfer.requested_by_id != user.pk
    )


def transfers_to_decide(*, user) -> QuerySet[RelationshipTransfer]:
    """Submitted transfers this user may approve: a reviewer above the branch, not the requester."""
    assignment = assignment_of(user)
    submitted = (
        transfers_visible_to(user)
        .filter(state=RelationshipTransfer.State.SUBMITTED)
        .exclude(requested_by=user)
    )
    if sees_everything(user):
        return submitted
    if assignment is None or assignment.role != StaffAssignment.Role.REVIEWER:
        return submitted.none()
    return submitted.filter(from_branch__path__startswith=assignment.organisation.path)


def transfers_to_accept(*, user) -> QuerySet[RelationshipTransfer]:
    return transfers_visible_to(user).filter(
        state=RelationshipTransfer.State.APPROVED,
        to_organisation__in=organisations_visible_to(user),
    )


# --- what the reviewer reads before approving -------------------------------------------------


@dataclass(frozen=True)
class TimeAway:
    """How long the member has been away in the current stretch, in whole years and months."""

    left_on: date
    years: int
    months: int

    @classmethod
    def between(cls, left_on: date, today: date) -> "TimeAway":
        gap = relativedelta(max(today, left_on), left_on)
        return cls(left_on=left_on, years=gap.years, months=gap.months)

    def __str__(self) -> str:
        parts = []
        if self.years:
            years = ngettext("%(count)d year", "%(count)d years", self.years)
            parts.append(years % {"count": self.years})
        if self.months:
            months = ngettext("%(count)d month", "%(count)d months", self.months)
            parts.append(months % {"count": self.months})
        return " ".join(parts) or _("less than a month")


@dataclass(frozen=True)
class DuesFacts:
    """The last month paid and to whom: the latest payment recorded, or the imported ledger's
    党费交至 when that is later (or the only thing known)."""

    paid_until: date | None = None  # the first day of the last month paid
    paid_to: object = None  # Organisation or ExternalOrganisation of the latest payment
    paid_on: date | None = None
    from_ledger: bool = False  # paid_until comes from the ledger imported before Liudong


@dataclass(frozen=True)
class TransferReviewFacts:
    episode: MobilityEpisode | None
    time_away: TimeAway | None
    dues: DuesFacts
    certificates: list[ActivityCertificate]


def latest_dues_payment(member: Member):
    """The member's latest dues payment (activities/ records them), or None.

    activities/ sits above this room and may not be imported here: its payments are read
    through the reverse relation it adds to Member (`dues_payments`); without that app
    installed there is none.
    """
    payments = getattr(member, "dues_payments", None)
    if payments is None:
        return None
    return (
        payments.select_related("paid_to", "paid_to_external").order_by("-to_month", "-id").first()
    )


def dues_facts(member: Member) -> DuesFacts:
    payment = latest_dues_payment(member)
    baseline = EvidenceBaseline.objects.filter(member=member).first()
    from_ledger = baseline.dues_paid_to if baseline and baseline.dues_paid_to else None
    if payment is None:
        if from_ledger is None:
            return DuesFacts()
        return DuesFacts(paid_until=from_ledger.replace(day=1), from_ledger=True)
    paid_until = payment.to_month.replace(day=1)
    later_in_ledger = from_ledger is not None and from_ledger.replace(day=1) > paid_until
    return DuesFacts(
        paid_until=from_ledger.replace(day=1) if later_in_ledger else paid_until,
        paid_to=payment.paid_to or payment.paid_to_external,
        paid_on=payment.paid_on,
        from_ledger=later_in_ledger,
    )


def sees_review_facts(user, transfer: RelationshipTransfer) -> bool:
    """The sending side and those who decide see what the decision rests on; a branch that
    only hosts the member, or receives them, does not."""
    return (
        can_decide(user, transfer)
        or members_editable_by(user).filter(pk=transfer.member_id).exists()
    )


def transfer_review_facts(*, transfer: RelationshipTransfer, today: date) -> TransferReviewFacts:
    """What a reviewer weighs: time away, dues, and the activity certificates with their
    yearly reviews (issued, reviewed, returned or cancelled)."""
    member = transfer.member
    episode = (
        member.mobility_episodes.current().select_related("inflow_organisation", "inflow_external")
    ).first()
    certificates = list(
        member.certificates.select_related("stamping_committee").prefetch_related(
            Prefetch("reviews", queryset=CertificateReview.objects.order_by("year"))
        )
    )
    return TransferReviewFacts(
        episode=episode,
        time_away=TimeAway.between(episode.left_on, today) if episode else None,
        dues=dues_facts(member),
        certificates=certificates,
    )


# --- the member page (issue #18: each fact read once) ------------------------------------------


def with_member_page_facts(members: QuerySet[Member]) -> QuerySet[Member]:
    """What the member page reads with the member: whether each of this room's lists has rows."""
    member = OuterRef("pk")
    return members.annotate(
        has_episodes=Exists(MobilityEpisode.objects.filter(member=member)),
        has_certificates=Exists(ActivityCertificate.objects.filter(member=member)),
        has_transfers=Exists(RelationshipTransfer.objects.filter(member=member)),
    )


def episodes_for_page(member: Member) -> list[MobilityEpisode]:
    """The member's stretches away, newest first, with their inflow side: read once for the
    member page, whose sections all ask for the current one."""
    return page_fact(
        member,
        "transfers.episodes",
        lambda: page_rows(
            member,
            "has_episodes",
            member.mobility_episodes.select_related(
                "inflow_organisation", "inflow_external"
            ).order_by("-left_on", "-id"),
        ),
    )


def current_episode_for_page(member: Member) -> MobilityEpisode | None:
    """The member's current stretch away (at most one), from `episodes_for_page`."""
    return next((episode for episode in episodes_for_page(member) if episode.is_current), None)
