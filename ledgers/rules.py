"""Rules for the nightly scan from the contact log and the five-clears ledger (one query each)."""

from datetime import date, timedelta

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db.models import Case, DateField, F, QuerySet, When
from django.utils.translation import gettext_lazy as _

from members.models import Member
from members.rules import rule
from transfers.models import MobilityEpisode

from .selectors import last_reached_subquery, with_five_clears


def silent_since() -> QuerySet[MobilityEpisode]:
    """Current episodes with `silent_since`: the last successful contact, or the day they left."""
    last_reached = last_reached_subquery("member")
    return (
        MobilityEpisode.objects.filter(ended_on__isnull=True, member__status=Member.Status.ACTIVE)
        .annotate(last_reached=last_reached)
        .annotate(
            silent_since=Case(
                When(last_reached__gt=F("left_on"), then=F("last_reached")),
                default=F("left_on"),
                output_field=DateField(),
            )
        )
    )


@rule(
    code="contact_overdue",
    title=_("No successful contact for 90 days"),
    severity="warning",
    explanation=_(
        "Nobody has reached this mobile member for three months (counted from the last successful contact, or from the day they left)."
    ),
    source=_(
        "Articles 29 and 30 of the Regulations on the Education and Management of Party Members"
    ),
    first_step=_("Call the member, or ask the inflow organisation or the family."),
    actions=[(_("Record a contact attempt"), "ledgers:contact_new")],
)
def contact_overdue(today: date) -> QuerySet[Member]:
    warning = today - timedelta(days=settings.CONTACT_WARNING_DAYS)
    lost = today - timedelta(days=settings.LOST_CONTACT_DAYS)
    silent = silent_since().filter(silent_since__lte=warning, silent_since__gt=lost)
    return Member.objects.filter(pk__in=silent.values("member_id"))


@rule(
    code="lost_contact",
    title=_("Lost contact (失联) for six months"),
    severity="serious",
    explanation=_(
        "No successful contact for six months or more. If the member still cannot be found, "
        "the branch or a higher organisation decides on suspension of membership."
    ),
    source=_("Article 24 of the Regulations on the Education and Management of Party Members"),
    first_step=_(
        "Search for the member through family, employer and the inflow side, and log every attempt."
    ),
    actions=[(_("Record a contact attempt"), "ledgers:contact_new")],
)
def lost_contact(today: date) -> QuerySet[Member]:
    lost = today - timedelta(days=settings.LOST_CONTACT_DAYS)
    silent = silent_since().filter(silent_since__lte=lost)
    return Member.objects.filter(pk__in=silent.values("member_id"))


@rule(
    code="five_clears_not_clear",
    title=_("Five-clears ledger not clear"),
    severity="notice",
    explanation=_("At least one of the five items is missing or has not been confirmed recently."),
    source=_("Five-clears ledger practice (五清台账)"),
    first_step=_("Check the items with the member and confirm them in the ledger."),
    actions=[(_("Open the member"), "members:detail")],
)
def five_clears_not_clear(today: date) -> QuerySet[Member]:
    episodes = with_five_clears(
        MobilityEpisode.objects.filter(ended_on__isnull=True, member__status=Member.Status.ACTIVE),
        today=today,
    )
    return Member.objects.filter(pk__in=episodes.filter(all_clear=False).values("member_id"))


@rule(
    code="overseas_not_contacted",
    title=_("Member abroad not contacted for six months"),
    severity="warning",
    explanation=_("The former unit must contact a member abroad at least every six months."),
    source=_("Article 34 of the Regulations on the Education and Management of Party Members"),
    first_step=_("Contact the member by phone, WeChat or e-mail and log it."),
    actions=[(_("Record a contact attempt"), "ledgers:contact_new")],
)
def overseas_not_contacted(today: date) -> QuerySet[Member]:
    cutoff = today - relativedelta(months=settings.OVERSEAS_CONTACT_MONTHS)
    silent = silent_since().filter(
        mobility_type=MobilityEpisode.Type.ABROAD, silent_since__lte=cutoff
    )
    return Member.objects.filter(pk__in=silent.values("member_id"))
