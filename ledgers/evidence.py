"""A member's signs of life: the evidence 失联 (lost contact) is counted from.

Reg. art. 24 counts lost contact from the last organisational life or dues payment; a
successful contact and the member's own accepted report are evidence of the same thing. So the
last sign of life is the latest of: a successful contact (an accepted self-report records one),
organisational life attended (own branch, hosting branch, make-up, online) or reported from
elsewhere, a dues payment, and what an imported ledger said before Liudong held the records.
A member with none is counted from the day they left, or the day Liudong's records start.

`signs_of_life_since(cutoff)` is the SQL side (one NOT EXISTS each, so PostgreSQL anti-joins);
`last_sign_of_life(member)` the Python side for one member's page. Tests hold them together.
"""

from dataclasses import dataclass
from datetime import date

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from activities.models import Attendance, DuesPayment, ExternalParticipation
from activities.selectors import latest_dates
from members.models import EvidenceBaseline, Member

from .models import ContactAttempt
from .selectors import last_reached_subquery, member_last_reached


def signs_since(cutoff, member_ref: str = "pk") -> list[Exists]:
    """One EXISTS per kind of sign of life on or after `cutoff` (a date, or an OuterRef to a
    date of the outer row)."""
    member = OuterRef(member_ref)
    return [
        Exists(ContactAttempt.objects.filter(member=member, reached=True, on__gte=cutoff)),
        Exists(
            Attendance.objects.filter(
                member=member, status__in=Attendance.ATTENDED, activity__held_on__gte=cutoff
            )
        ),
        Exists(ExternalParticipation.objects.filter(member=member, on__gte=cutoff)),
        Exists(DuesPayment.objects.filter(member=member, paid_on__gte=cutoff)),
        Exists(
            EvidenceBaseline.objects.filter(member=member).filter(
                Q(last_contact_on__gte=cutoff) | Q(last_life_on__gte=cutoff)
            )
        ),
    ]


def exclude_alive_since(rows: QuerySet, cutoff: date, *, member: str = "") -> QuerySet:
    """`rows` (members, or rows with a `member` field named by `member`) with no sign of life on
    or after `cutoff`, and whose records started before it (an imported member's clock starts
    at the import)."""
    ref = f"{member}_id" if member else "pk"
    prefix = f"{member}__" if member else ""
    for sign in signs_since(cutoff, ref):
        rows = rows.exclude(sign)
    return rows.exclude(**{f"{prefix}baseline__since__gte": cutoff})


@dataclass(frozen=True)
class SignOfLife:
    on: date
    what: str


def with_last_reached(members: QuerySet[Member]) -> QuerySet[Member]:
    """Annotate `last_reached_on`, the latest successful contact (the member page's query)."""
    return members.annotate(last_reached_on=last_reached_subquery())


def last_reached(member: Member) -> date | None:
    """From the member page's query when the member came from it, else read now."""
    if hasattr(member, "last_reached_on"):
        return member.last_reached_on
    return member_last_reached(member)


def signs_of_life(
    member: Member, *, baseline: EvidenceBaseline | None | bool = False
) -> list[SignOfLife]:
    """The latest sign of life of each kind, latest first (`baseline`: the member's, if the
    caller has looked it up already; None for none)."""
    found = []
    contact = last_reached(member)
    if contact:
        found.append(SignOfLife(contact, str(_("successful contact"))))
    latest = latest_dates(member)
    if latest.attended:
        found.append(SignOfLife(latest.attended, str(_("organisational life attended"))))
    if latest.external:
        found.append(SignOfLife(latest.external, str(_("organisational life elsewhere"))))
    if latest.paid_on:
        found.append(SignOfLife(latest.paid_on, str(_("dues payment"))))
    if baseline is False:
        baseline = EvidenceBaseline.objects.filter(member=member).first()
    if baseline is not None:
        for on, what in (
            (baseline.last_contact_on, _("last contact in the imported ledger")),
            (baseline.last_life_on, _("last organisational life in the imported ledger")),
        ):
            if on:
                found.append(SignOfLife(on, str(what)))
    return sorted(found, key=lambda sign: sign.on, reverse=True)


def clock_start(
    member: Member,
    *,
    left_on: date | None = None,
    signs: list[SignOfLife] | None = None,
    baseline: EvidenceBaseline | None = None,
) -> date | None:
    """The day the lost-contact clock runs from: the last sign of life, else the day they left
    or Liudong's records started, whichever is later. `signs` and `baseline`, when the caller
    has them already (the baseline is then looked up only if `signs` is not given)."""
    if signs is None:
        signs = signs_of_life(member)
        baseline = EvidenceBaseline.objects.filter(member=member).first()
    starts = [sign.on for sign in signs[:1]]
    if left_on:
        starts.append(left_on)
    if baseline is not None:
        starts.append(baseline.since)
    return max(starts, default=None)
