"""Rules for the nightly scan from mobility, certificates and transfers (one query each).

Every "N months (or years) after a date" is a Civil-Code period (`members/periods.py`): the
start day is not counted, the period ends on the corresponding day (or the month's last day),
and the condition holds from the day after. In SQL that is `date < period_cutoff(N, today)`.
Thresholds are settings, read each time a rule runs.
"""

from datetime import date, timedelta

from django.conf import settings
from django.db.models import DateField, Max, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from alerts.registry import in_subtree, rule
from members.models import Member
from members.periods import period_cutoff

from .classification import Arrangement
from .models import (
    ActivityCertificate,
    CertificateReview,
    IntroductionLetter,
    MobilityEpisode,
    RelationshipTransfer,
)
from .selectors import arrangement_expression


def _current_episodes(within: str | None = None) -> QuerySet[MobilityEpisode]:
    """Current episodes of active members; with `within`, of members of that subtree."""
    return in_subtree(MobilityEpisode.objects.away_now(), within, member="member__")


def _members(ids: QuerySet) -> QuerySet[Member]:
    return Member.objects.filter(pk__in=ids)


@rule(
    code="transfer_required_not_started",
    title=_("Transfer required but not started"),
    severity="warning",
    explanation=_(
        "Away six months or more at a relatively fixed place, no transfer is in progress, and "
        "no reason is recorded why the relationship cannot be transferred for now (or that "
        "reason's until-date has passed)."
    ),
    source=_(
        "Article 25 of the Regulations on the Education and Management of Party Members "
        "(away six months or more at a relatively fixed place: transfer the relationship)"
    ),
    first_step=_(
        "Start the transfer of the organisational relationship. If it cannot be transferred "
        "for now (a short-term contract, no Party organisation there), record why and until "
        "when; the member then carries the activity certificate."
    ),
    actions=[
        (_("Start the transfer"), "transfers:transfer_draft"),
        (_("Record why it cannot be transferred now"), "transfers:episode_defer"),
    ],
    thresholds=("TRANSFER_AFTER_MONTHS",),
    counting=_(
        "Six months from the day after leaving (Civil Code); the alert starts the day after "
        "they end. A recorded “cannot be transferred for now” keeps it quiet up to and "
        "including its until-date; the day after, it comes back."
    ),
)
def transfer_required_not_started(today: date, within: str | None = None) -> QuerySet[Member]:
    # The arrangement counts the period with period_cutoff and leaves out deferred transfers.
    episodes = _current_episodes(within).annotate(arrangement=arrangement_expression(today=today))
    open_transfers = in_subtree(
        RelationshipTransfer.objects.filter(state__in=RelationshipTransfer.OPEN_STATES),
        within,
        member="member__",
    ).values("member_id")
    return _members(
        episodes.filter(arrangement=Arrangement.TRANSFER_REQUIRED)
        .exclude(member_id__in=open_transfers)
        .values("member_id")
    )


@rule(
    code="certificate_review_due",
    title=_("Certificate review (年审) due"),
    severity="notice",
    explanation=_("A valid activity certificate has not been reviewed for a year."),
    source=_(
        "Rules on the mobile Party member activity certificate (reviewed once a year, "
        "together with the democratic evaluation)"
    ),
    first_step=_("Review the certificate together with the democratic evaluation."),
    actions=[(_("Open the member"), "members:detail")],
    thresholds=("CERTIFICATE_REVIEW_MONTHS",),
    counting=_(
        "A year from the day after the issue or the last review (Civil Code); the alert starts "
        "the day after it ends."
    ),
)
def certificate_review_due(today: date, within: str | None = None) -> QuerySet[Member]:
    last_review = (
        CertificateReview.objects.filter(certificate=OuterRef("pk"))
        .values("certificate")
        .annotate(last=Max("reviewed_on"))
        .values("last")
    )
    cutoff = period_cutoff(settings.CERTIFICATE_REVIEW_MONTHS, today=today)
    certificates = in_subtree(
        ActivityCertificate.objects.filter(status=ActivityCertificate.Status.VALID),
        within,
        member="member__",
    ).annotate(reviewed=Coalesce(Subquery(last_review, output_field=DateField()), "issued_on"))
    return _members(certificates.filter(reviewed__lt=cutoff).values("member_id"))


def _letters(within: str | None, **filters) -> QuerySet[IntroductionLetter]:
    """Introduction letters; with `within`, of members of that subtree."""
    return in_subtree(
        IntroductionLetter.objects.filter(**filters), within, member="transfer__member__"
    )


def _live_letters(within: str | None = None) -> QuerySet[IntroductionLetter]:
    """Letters out for use: issued, not replaced, the transfer waiting for acceptance."""
    return _letters(
        within,
        state=IntroductionLetter.State.ISSUED,
        transfer__state=RelationshipTransfer.State.APPROVED,
    )


@rule(
    code="letter_expiring",
    title=_("Introduction letter about to expire"),
    severity="notice",
    explanation=_(
        "The introduction letter has not been received by the receiving organisation yet and "
        "expires within a week."
    ),
    source=_(
        "Practice for the transfer of organisational relationships (a letter is valid for the "
        "days written on it, never more than three months)"
    ),
    first_step=_("Remind the member to hand the letter to the receiving organisation."),
    actions=[(_("Open the member"), "members:detail")],
    thresholds=("LETTER_EXPIRY_WARNING_DAYS",),
)
def letter_expiring(today: date, within: str | None = None) -> QuerySet[Member]:
    soon = today + timedelta(days=settings.LETTER_EXPIRY_WARNING_DAYS)
    letters = _live_letters(within).filter(
        received_on__isnull=True, expires_on__gte=today, expires_on__lte=soon
    )
    return _members(letters.values("transfer__member_id"))


@rule(
    code="letter_expired",
    title=_("Introduction letter expired unused"),
    severity="warning",
    explanation=_(
        "The introduction letter expired (its last valid day is over) and the receiving "
        "organisation never received it: it can no longer be used. The member stays with "
        "the old branch."
    ),
    source=_(
        "Practice for the transfer of organisational relationships (a letter is valid for the "
        "days written on it, never more than three months)"
    ),
    first_step=_(
        "Ask the member what happened. If the receiving organisation did receive it in time, "
        "record the day it was received; otherwise a reviewer reissues the letter."
    ),
    actions=[(_("Open the member"), "members:detail")],
)
def letter_expired(today: date, within: str | None = None) -> QuerySet[Member]:
    letters = _live_letters(within).filter(received_on__isnull=True, expires_on__lt=today)
    return _members(letters.values("transfer__member_id"))


@rule(
    code="receipt_overdue",
    title=_("Transfer receipt overdue"),
    severity="warning",
    explanation=_(
        "The receiving organisation received the introduction letter and has not returned the "
        "receipt within a month."
    ),
    source=_(
        "Article 25 of the Regulations on the Education and Management of Party Members and "
        "transfer practice (the receipt comes back within one month of receiving the letter)"
    ),
    first_step=_("Call the receiving organisation; until it accepts, the member stays ours."),
    actions=[(_("Open the member"), "members:detail")],
    thresholds=("RECEIPT_DUE_MONTHS",),
    counting=_(
        "One month from the day after the letter was received (recorded by the sending branch, "
        "or the day one of our branches accepted the member); the alert starts the day after. "
        "A letter never received is not overdue: once expired it is “expired unused”."
    ),
)
def receipt_overdue(today: date, within: str | None = None) -> QuerySet[Member]:
    # After the other side received it, a letter waits for its receipt while the transfer is
    # approved (an external destination) or, should acceptance ever come without the
    # receipt, completed; replaced letters are left out.
    letters = _letters(
        within,
        state__in=[IntroductionLetter.State.ISSUED, IntroductionLetter.State.USED],
        transfer__state__in=[
            RelationshipTransfer.State.APPROVED,
            RelationshipTransfer.State.COMPLETED,
        ],
        receipt_returned_on__isnull=True,
        received_on__lt=period_cutoff(settings.RECEIPT_DUE_MONTHS, today=today),
    )
    return _members(letters.values("transfer__member_id"))


@rule(
    code="abroad_five_years",
    title=_("Abroad: studying over five years, or settled abroad privately"),
    severity="serious",
    explanation=_(
        "Studying or researching abroad for more than five years without returning, or went "
        "abroad privately and settled there. Membership is then normally suspended (停止党籍): "
        "the organisation holding the relationship decides, and records the decision. Members "
        "abroad for work (on official business or posted by an employer) or for other "
        "purposes are not covered and are never flagged."
    ),
    source=_(
        "Article 24 of the Regulations on the Education and Management of Party Members "
        "(study or research abroad over five years without returning, or settled abroad "
        "privately: membership normally suspended)"
    ),
    first_step=_(
        "Contact the member and confirm the facts; then the branch holding the relationship "
        "decides on suspension and records the decision."
    ),
    actions=[
        (_("Open the member"), "members:detail"),
        (_("Record why the member is abroad"), "transfers:episode_abroad_purpose"),
    ],
    thresholds=("OVERSEAS_SUSPENSION_YEARS",),
    counting=_(
        "Study or research: five years from the day after leaving (Civil Code); the alert "
        "starts the day after the fifth anniversary, never on it. Settled abroad privately: "
        "from the day it is recorded, as Article 24 sets no time for it. A stay abroad whose "
        "purpose is not recorded is not flagged: the member page asks for it."
    ),
)
def abroad_five_years(today: date, within: str | None = None) -> QuerySet[Member]:
    purpose = MobilityEpisode.AbroadPurpose
    years = settings.OVERSEAS_SUSPENSION_YEARS
    study_over = Q(abroad_purpose=purpose.STUDY, left_on__lt=period_cutoff(12 * years, today=today))
    episodes = _current_episodes(within).filter(
        study_over | Q(abroad_purpose=purpose.SETTLED_PRIVATELY),
        mobility_type=MobilityEpisode.Type.ABROAD,
    )
    return _members(episodes.values("member_id"))


@rule(
    code="graduate_retention_ending",
    title=_("Graduate retention ending"),
    severity="warning",
    explanation=_(
        "The university keeps a graduate's relationship for at most two years; that time ends within 60 days or has ended."
    ),
    source=_(
        "Article 34 of the Regulations on the Education and Management of Party Members "
        "(a graduate whose job is not settled: normally kept no more than two years)"
    ),
    first_step=_("Help the member transfer the relationship to their new unit or home."),
    actions=[(_("Start the transfer"), "transfers:transfer_draft")],
    thresholds=("GRADUATE_RETENTION_YEARS", "GRADUATE_WARNING_DAYS"),
    counting=_(
        "Two years from the day after graduation (Civil Code); the alert starts "
        "GRADUATE_WARNING_DAYS days before the day after they end."
    ),
)
def graduate_retention_ending(today: date, within: str | None = None) -> QuerySet[Member]:
    # Flagged once the retention period is over by the horizon: from GRADUATE_WARNING_DAYS
    # days before the first day after it.
    horizon = today + timedelta(days=settings.GRADUATE_WARNING_DAYS)
    cutoff = period_cutoff(12 * settings.GRADUATE_RETENTION_YEARS, today=horizon)
    episodes = _current_episodes(within).filter(
        mobility_type=MobilityEpisode.Type.STUDY, graduated_on__lt=cutoff
    )
    return _members(episodes.values("member_id"))
