"""Writes for organisational life, dues, evaluations, assigned work, services and honours."""

from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from infrastructure.steps import StepRefused
from members.models import Member, Organisation
from members.selectors import (
    organisation_in_scope,
    require_editable,
    require_visible,
)
from members.services import evidence_changed

from . import dues, selectors
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
from .selectors import roster


@transaction.atomic
def activity_record(
    *,
    actor,
    branch: Organisation,
    kind: str,
    held_on: date,
    title: str,
    place: str = "",
    online: bool = False,
    notes: str = "",
    attendance: dict[int, tuple[str, str, bool]],
) -> Activity:
    """Record an activity and its roster: {member id: (status, reason, make-up)}."""
    if not organisation_in_scope(actor, branch):
        raise StepRefused(_("You can record activities only for your own organisation."))
    activity = Activity.objects.create(
        branch=branch,
        kind=kind,
        held_on=held_on,
        title=title,
        place=place,
        online=online,
        notes=notes,
        recorded_by=actor,
    )
    attendance_record(actor=actor, activity=activity, attendance=attendance)
    return activity


@transaction.atomic
def attendance_record(*, actor, activity: Activity, attendance: dict[int, tuple[str, str, bool]]):
    if not organisation_in_scope(actor, activity.branch):
        raise StepRefused(_("You can record attendance only for your own organisation."))
    on_roster = set(roster(activity.branch).values_list("pk", flat=True))
    previous = set(activity.attendance.values_list("member_id", flat=True))
    extra = set(attendance) - on_roster - previous  # a former member's old record may stay
    if extra:
        raise StepRefused(_("Only members on the branch's roster can be marked."))
    planned = activity.held_on > timezone.localdate()
    for member_id, (status, reason, makeup) in attendance.items():
        if planned and status in Attendance.ATTENDED:
            raise StepRefused(
                _("The activity has not happened yet: mark attendance on or after the day.")
            )
        if status == Attendance.Status.EXCUSED and not reason.strip():
            raise StepRefused(_("An excused absence needs a reason."))
        Attendance.objects.update_or_create(
            activity=activity,
            member_id=member_id,
            defaults={"status": status, "reason": reason.strip(), "makeup": makeup},
        )
    evidence_changed(member_ids=list(attendance))
    return activity


@transaction.atomic
def external_participation_record(
    *, actor, member: Member, on: date, organisation: str, kind: str, note: str = ""
) -> ExternalParticipation:
    require_editable(actor, member)
    evidence_changed(member_ids=[member.pk])
    return ExternalParticipation.objects.create(
        member=member, on=on, organisation=organisation, kind=kind, note=note, recorded_by=actor
    )


@transaction.atomic
def dues_amount_set(
    *,
    actor,
    member: Member,
    year: int,
    basis: str,
    monthly_income: Decimal | None = None,
    monthly_amount: Decimal | None = None,
    reason: str = "",
) -> DuesAmount:
    """Set a year's monthly dues from the table, or by hand with a reason."""
    require_editable(actor, member)
    if basis == DuesAmount.Basis.MANUAL:
        if monthly_amount is None or not reason.strip():
            raise StepRefused(_("An amount set by hand needs the amount and a reason."))
        amount = monthly_amount
    else:
        if basis == DuesAmount.Basis.INCOME and monthly_income is None:
            raise StepRefused(_("Give the monthly after-tax income."))
        if basis == DuesAmount.Basis.RETIREE and monthly_income is None:
            raise StepRefused(_("Give the monthly pension."))
        amount, _how = dues.monthly_dues(basis=basis, monthly_income=monthly_income)
    record, _created = DuesAmount.objects.update_or_create(
        member=member,
        year=year,
        defaults={
            "basis": basis,
            "monthly_income": monthly_income,
            "monthly_amount": amount,
            "reason": reason,
            "set_by": actor,
        },
    )
    return record


@transaction.atomic
def dues_payment_record(
    *,
    actor,
    member: Member,
    from_month: date,
    to_month: date,
    amount: Decimal,
    paid_on: date,
    method: str,
    paid_to: Organisation | None = None,
) -> DuesPayment:
    """Record dues paid. Paying ahead is fine; back-payment is limited (default 6 months)."""
    from_month, to_month = dues.first_of_month(from_month), dues.first_of_month(to_month)
    if not selectors.may_record_dues(user=actor, member=member, paid_to=paid_to):
        raise StepRefused(
            _("Only the home branch, or the inflow side for dues paid to it, records this.")
        )
    if to_month < from_month:
        raise StepRefused(_("The last month cannot be before the first."))
    earliest = dues.earliest_back_payment(paid_on, settings.DUES_BACK_PAYMENT_MONTHS)
    if from_month < earliest:
        raise StepRefused(
            _(
                "Back-payment is limited to %(n)d months (2008 dues rules, art. 12): the "
                "earliest month this payment can cover is %(month)s."
            )
            % {"n": settings.DUES_BACK_PAYMENT_MONTHS, "month": f"{earliest:%Y-%m}"}
        )
    overlap = member.dues_payments.filter(from_month__lte=to_month, to_month__gte=from_month)
    if overlap.exists():
        raise StepRefused(_("Some of these months are already paid."))
    if amount <= 0:
        raise StepRefused(_("The amount must be more than zero."))
    evidence_changed(member_ids=[member.pk])
    return DuesPayment.objects.create(
        member=member,
        from_month=from_month,
        to_month=to_month,
        amount=amount,
        paid_on=paid_on,
        method=method,
        paid_to=paid_to or member.home_branch,
        recorded_by=actor,
    )


@transaction.atomic
def evaluation_record(
    *, actor, member: Member, year: int, side: str, grade: str, evaluator: str, remarks: str = ""
) -> Evaluation:
    """The home branch records its own grade and an external inflow side's; an internal
    inflow branch records its own."""
    refusal = selectors.evaluation_refusal(user=actor, member=member, side=side)
    if refusal:
        raise StepRefused(refusal)
    evaluation, _created = Evaluation.objects.update_or_create(
        member=member,
        year=year,
        side=side,
        defaults={"grade": grade, "evaluator": evaluator, "remarks": remarks, "recorded_by": actor},
    )
    return evaluation


@transaction.atomic
def assigned_work_record(
    *, actor, member: Member, side: str, title: str, assigned_on: date, due_on: date
) -> AssignedWork:
    require_visible(actor, member)
    if side == Side.HOME:
        require_editable(actor, member)
    if due_on < assigned_on:
        raise StepRefused(_("The due date cannot be before the day it was assigned."))
    evidence_changed(member_ids=[member.pk])
    return AssignedWork.objects.create(
        member=member,
        side=side,
        title=title,
        assigned_on=assigned_on,
        due_on=due_on,
        recorded_by=actor,
    )


@transaction.atomic
def assigned_work_close(*, actor, work: AssignedWork, done: bool, note: str = "") -> AssignedWork:
    work = AssignedWork.objects.select_for_update().get(pk=work.pk)
    require_visible(actor, work.member)
    if work.side == Side.HOME:
        require_editable(actor, work.member)
    if work.status != AssignedWork.Status.OPEN:
        raise StepRefused(_("This work is already closed."))
    work.status = AssignedWork.Status.DONE if done else AssignedWork.Status.NOT_DONE
    work.note = note
    work.save(update_fields=["status", "note"])
    evidence_changed(member_ids=[work.member_id])
    return work


@transaction.atomic
def member_record_save(*, actor, record: ServiceRequest | Honour) -> ServiceRequest | Honour:
    """An honour, validated by its form: the home branch records it. A service request may
    also be raised by the side hosting the member (an outpost, an inflow branch: issue #20),
    where the member lives and the help is needed."""
    if isinstance(record, ServiceRequest):
        require_visible(actor, record.member)
    else:
        require_editable(actor, record.member)
    record._history_user = actor
    record.save()
    return record


def _check_reason(*, kind: str, starts_on: date, ends_on: date, note: str) -> None:
    if ends_on < starts_on:
        raise StepRefused(_("The period cannot end before it starts."))
    if kind == GoodReason.Kind.EXCUSED_ABSENCE and dues.months_between(starts_on, ends_on)[2:]:
        raise StepRefused(_("An excused absence from a meeting covers at most two months."))
    if not note.strip():
        raise StepRefused(_("Say what the reason is."))


@transaction.atomic
def good_reason_record(
    *,
    actor,
    member: Member,
    kind: str,
    starts_on: date,
    ends_on: date,
    note: str,
    approved_by: str,
) -> GoodReason:
    """正当理由: excuse the months of a period from the self-withdrawal rules (art. 9)."""
    require_editable(actor, member)
    _check_reason(kind=kind, starts_on=starts_on, ends_on=ends_on, note=note)
    reason = GoodReason(
        member=member,
        kind=kind,
        starts_on=starts_on,
        ends_on=ends_on,
        note=note.strip(),
        approved_by=approved_by.strip(),
        recorded_by=actor,
    )
    reason._history_user = actor
    reason.save()
    evidence_changed(member_ids=[member.pk])
    return reason


@transaction.atomic
def good_reason_end(*, actor, reason: GoodReason, ends_on: date) -> GoodReason:
    """End a reason early (or correct its end); history keeps what it was."""
    reason = GoodReason.objects.select_for_update().get(pk=reason.pk)
    require_editable(actor, reason.member)
    _check_reason(kind=reason.kind, starts_on=reason.starts_on, ends_on=ends_on, note=reason.note)
    reason.ends_on = ends_on
    reason._history_user = actor
    reason.save(update_fields=["ends_on"])
    evidence_changed(member_ids=[reason.member_id])
    return reason
