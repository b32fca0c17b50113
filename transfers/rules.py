"""Rules for the nightly scan from mobility, certificates and transfers (one query each)."""

from datetime import date, timedelta

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db.models import DateField, Max, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from members.models import Member
from members.rules import rule

from .classification import Arrangement
from .models import (
    ActivityCertificate,
    CertificateReview,
    IntroductionLetter,
    MobilityEpisode,
    RelationshipTransfer,
)
from .selectors import arrangement_expression


def _current_episodes() -> QuerySet[MobilityEpisode]:
    return MobilityEpisode.objects.filter(
        ended_on__isnull=True, member__status=Member.Status.ACTIVE
    )


def _members(ids: QuerySet) -> QuerySet[Member]:
    return Member.objects.filter(pk__in=ids)


@rule(
    code="transfer_required_not_started",
    title=_("Transfer required but not started"),
    severity="warning",
    explanation=_(
        "Away six months or more at a relatively fixed place, and no transfer is in progress."
    ),
    source=_("Article 25 of the Regulations on the Education and Management of Party Members"),
    first_step=_("Start the transfer of the organisational relationship."),
    actions=[(_("Start the transfer"), "transfers:transfer_draft")],
)
def transfer_required_not_started(today: date) -> QuerySet[Member]:
    episodes = _current_episodes().annotate(arrangement=arrangement_expression(today=today))
    open_transfers = RelationshipTransfer.objects.filter(
        state__in=RelationshipTransfer.OPEN_STATES
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
    source=_("Rules on the mobile Party member activity certificate"),
    first_step=_("Review the certificate together with the democratic evaluation."),
    actions=[(_("Open the member"), "members:detail")],
)
def certificate_review_due(today: date) -> QuerySet[Member]:
    last_review = (
        CertificateReview.objects.filter(certificate=OuterRef("pk"))
        .values("certificate")
        .annotate(last=Max("reviewed_on"))
        .values("last")
    )
    cutoff = today - relativedelta(months=settings.CERTIFICATE_REVIEW_MONTHS)
    certificates = ActivityCertificate.objects.filter(
        status=ActivityCertificate.Status.VALID
    ).annotate(reviewed=Coalesce(Subquery(last_review, output_field=DateField()), "issued_on"))
    return _members(certificates.filter(reviewed__lte=cutoff).values("member_id"))


def _live_letters() -> QuerySet[IntroductionLetter]:
    return IntroductionLetter.objects.filter(
        state=IntroductionLetter.State.ISSUED,
        transfer__state=RelationshipTransfer.State.APPROVED,
    )


@rule(
    code="letter_expiring",
    title=_("Introduction letter about to expire"),
    severity="notice",
    explanation=_("The introduction letter has not been used and expires within a week."),
    source=_("Practice for the transfer of organisational relationships"),
    first_step=_("Remind the member to hand the letter to the receiving organisation."),
    actions=[(_("Open the member"), "members:detail")],
)
def letter_expiring(today: date) -> QuerySet[Member]:
    soon = today + timedelta(days=settings.LETTER_EXPIRY_WARNING_DAYS)
    letters = _live_letters().filter(expires_on__gte=today, expires_on__lte=soon)
    return _members(letters.values("transfer__member_id"))


@rule(
    code="letter_expired",
    title=_("Introduction letter expired"),
    severity="warning",
    explanation=_("The letter expired before the receiving organisation accepted the member."),
    source=_("Practice for the transfer of organisational relationships"),
    first_step=_("Find out what happened and reissue the letter."),
    actions=[(_("Open the member"), "members:detail")],
)
def letter_expired(today: date) -> QuerySet[Member]:
    return _members(_live_letters().filter(expires_on__lt=today).values("transfer__member_id"))


@rule(
    code="receipt_overdue",
    title=_("Transfer receipt overdue"),
    severity="warning",
    explanation=_("The receiving organisation has not returned the receipt within a month."),
    source=_("Article 25 of the Regulations on the Education and Management of Party Members"),
    first_step=_("Call the receiving organisation; until it accepts, the member stays ours."),
    actions=[(_("Open the member"), "members:detail")],
)
def receipt_overdue(today: date) -> QuerySet[Member]:
    letters = _live_letters().filter(receipt_due_on__lt=today)
    return _members(letters.values("transfer__member_id"))


@rule(
    code="abroad_five_years",
    title=_("Abroad five years or more"),
    severity="serious",
    explanation=_(
        "Abroad for five years or more without returning: membership is normally suspended."
    ),
    source=_("Article 24 of the Regulations on the Education and Management of Party Members"),
    first_step=_("Contact the member, then the branch decides on suspension."),
    actions=[(_("Open the member"), "members:detail")],
)
def abroad_five_years(today: date) -> QuerySet[Member]:
    cutoff = today - relativedelta(years=settings.OVERSEAS_SUSPENSION_YEARS)
    episodes = _current_episodes().filter(
        mobility_type=MobilityEpisode.Type.ABROAD, left_on__lte=cutoff
    )
    return _members(episodes.values("member_id"))


@rule(
    code="graduate_retention_ending",
    title=_("Graduate retention ending"),
    severity="warning",
    explanation=_(
        "The university keeps a graduate's relationship for at most two years; that time ends within 60 days or has ended."
    ),
    source=_("Article 34 of the Regulations on the Education and Management of Party Members"),
    first_step=_("Help the member transfer the relationship to their new unit or home."),
    actions=[(_("Start the transfer"), "transfers:transfer_draft")],
)
def graduate_retention_ending(today: date) -> QuerySet[Member]:
    horizon = today + timedelta(days=settings.GRADUATE_WARNING_DAYS)
    cutoff = horizon - relativedelta(years=settings.GRADUATE_RETENTION_YEARS)
    episodes = _current_episodes().filter(
        mobility_type=MobilityEpisode.Type.STUDY, graduated_on__lte=cutoff
    )
    return _members(episodes.values("member_id"))
