"""Thin views: find the object through a scoped selector, validate a form, call a service."""

from datetime import date
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.contrib import messages
from django.db.models import Count, Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from infrastructure.steps import StepRefused, step_view
from infrastructure.xlsx import write_table_xlsx
from members import selectors as member_selectors
from members.models import Organisation

from . import dues, rhythm, selectors, services
from .forms import (
    ActivityForm,
    AssignedWorkForm,
    BranchYearForm,
    DuesAmountForm,
    DuesPaymentForm,
    EvaluationForm,
    ExternalParticipationForm,
    GoodReasonEndForm,
    GoodReasonForm,
    HonourForm,
    Roster,
    ServiceRequestForm,
    WorkCloseForm,
    typed,
)
from .models import Attendance, DuesAmount, Honour, ServiceRequest, Side
from .panels import render_activity_panels

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --- branch and year from the query string ----------------------------------------------


def _branches(user) -> list[Organisation]:
    return list(member_selectors.member_branch_choices(user=user))


def _chosen_branch(request, branches: list[Organisation]) -> Organisation:
    """?branch=<pk> among the user's branches (others' are a 404), else the first."""
    raw = request.GET.get("branch", "")
    if not raw:
        if not branches:
            raise Http404
        return branches[0]
    branch = next((b for b in branches if str(b.pk) == raw), None)
    if branch is None:
        raise Http404
    return branch


def _chosen_year(request, today: date) -> int:
    raw = request.GET.get("year", "")
    if raw.isdigit() and 2000 <= int(raw) <= 2100:
        return int(raw)
    return today.year


def _branch_and_year(request, today: date) -> tuple[Organisation, int, BranchYearForm]:
    branches = _branches(request.user)
    branch = _chosen_branch(request, branches)
    year = _chosen_year(request, today)
    return branch, year, BranchYearForm(branches=branches, branch=branch, year=year)


# --- activities ---------------------------------------------------------------------------


@require_GET
def activity_list(request):
    today = timezone.localdate()
    branch, year, form = _branch_and_year(request, today)
    activities = (
        selectors.activities_visible_to(request.user)
        .filter(branch=branch, held_on__year=year)
        .annotate(
            marked=Count("attendance"),
            attended=Count("attendance", filter=Q(attendance__status__in=Attendance.ATTENDED)),
            excused=Count("attendance", filter=Q(attendance__status=Attendance.Status.EXCUSED)),
            makeups=Count("attendance", filter=Q(attendance__makeup=True)),
        )
        .order_by("-held_on", "-id")
    )
    return render(
        request,
        "activities/activity_list.html",
        {
            "form": form,
            "branch": branch,
            "year": year,
            "previous_year": year - 1,
            "next_year": year + 1 if year < today.year else None,
            "rhythm": rhythm.rhythm_grid(
                selectors.branch_rhythm(branch=branch, year=year),
                year=year,
                today=today,
                has_groups=Organisation.objects.get_children(branch)
                .filter(kind=Organisation.Kind.GROUP)
                .exists(),
            ),
            "activities": activities,
        },
    )


def _record_attendance(*, form, roster, record) -> bool:
    """Validate the activity form and every roster line, then run `record`; False if refused."""
    forms_valid = form.is_valid()
    roster_valid = roster.is_valid()
    if not (forms_valid and roster_valid):
        return False
    try:
        record()
    except StepRefused as refused:
        form.add_error(None, refused.messages)
        return False
    return True


def activity_create(request):
    today = timezone.localdate()
    branches = _branches(request.user)
    branch = _chosen_branch(request, branches)
    data = request.POST if request.method == "POST" else None
    form = ActivityForm(data, initial={"held_on": today})
    roster = Roster(data, members=selectors.roster_lines(branch), branch=branch)
    if data is not None and "preset" in data:  # fill the roster, keep what was typed, save nothing
        form, roster = ActivityForm(initial=typed(form)), roster.with_preset(data["preset"])
        data = None
    created = []

    def record():
        planned = form.cleaned_data["held_on"] > today
        created.append(
            services.activity_record(
                actor=request.user,
                branch=branch,
                attendance=roster.attendance(planned=planned),
                **form.cleaned_data,
            )
        )

    if data is not None and _record_attendance(form=form, roster=roster, record=record):
        messages.success(request, _("Activity recorded with its attendance."))
        return redirect("activities:activity_detail", pk=created[0].pk)
    return render(
        request,
        "activities/activity_form.html",
        {
            "form": form,
            "roster": roster,
            "branch": branch,
            "title": _("Record an activity"),
            "cancel_url": reverse("activities:activity_list") + f"?branch={branch.pk}",
        },
    )


@require_GET
def activity_detail(request, pk: int):
    activity = selectors.activity_get(user=request.user, pk=pk)
    rows = list(activity.attendance.select_related("member__home_branch").order_by("member__name"))
    counts = {status: 0 for status in Attendance.Status.values}
    for row in rows:
        counts[row.status] += 1
        row.hosted = row.member.home_branch_id != activity.branch_id
    return render(
        request,
        "activities/activity_detail.html",
        {
            "activity": activity,
            "rows": rows,
            "counts": [(Attendance.Status(s).label, n) for s, n in counts.items()],
            "attended": sum(1 for row in rows if row.status in Attendance.ATTENDED),
            "panels": render_activity_panels(request, activity),
        },
    )


def attendance_edit(request, pk: int):
    activity = selectors.activity_get(user=request.user, pk=pk)
    existing = {row.member_id: row for row in activity.attendance.all()}
    members = selectors.attendance_roster(user=request.user, activity=activity, marked=existing)
    initial = {
        member_id: {"status": row.status, "reason": row.reason, "makeup": row.makeup}
        for member_id, row in existing.items()
    }
    planned = activity.held_on > timezone.localdate()
    data = request.POST if request.method == "POST" else None
    roster = Roster(data, members=members, branch=activity.branch, initial=initial, planned=planned)
    if data is not None and "preset" in data:  # fill the roster, keep what was typed, save nothing
        roster, data = roster.with_preset(data["preset"]), None
    detail_url = reverse("activities:activity_detail", args=[activity.pk])
    refused_messages = []
    if data is not None and roster.is_valid():
        try:
            services.attendance_record(
                actor=request.user,
                activity=activity,
                attendance=roster.attendance(planned=planned),
            )
        except StepRefused as refused:
            refused_messages = refused.messages
        else:
            messages.success(request, _("Attendance saved."))
            return redirect(detail_url)
    return render(
        request,
        "activities/activity_form.html",
        {
            "activity": activity,
            "refused": refused_messages,
            "roster": roster,
            "branch": activity.branch,
            "title": _("Attendance"),
            "cancel_url": detail_url,
        },
    )


# --- dues ledger ----------------------------------------------------------------------------


def _owed_in_year(row: dict, *, today: date) -> tuple[int, Decimal]:
    """Mark each month of the row (paid, owed, or not yet due) and sum what the year owes.

    Owed are the unpaid months up to last month, from joining or the tracking start.
    """
    member = row["member"]
    start = max(dues.first_of_month(member.joined_on), selectors.tracking_start())
    last_month = dues.first_of_month(today) - relativedelta(months=1)
    row["cells"] = [
        {"month": month, "paid": paid, "owed": not paid and start <= month <= last_month}
        for month, paid in row["months"]
    ]
    owed = sum(1 for cell in row["cells"] if cell["owed"])
    amount = row["amount"].monthly_amount if row["amount"] else dues.FIXED
    return owed, amount * owed


def _dues_rows(request, today: date):
    branch, year, form = _branch_and_year(request, today)
    rows = selectors.dues_ledger(user=request.user, branch=branch, year=year)
    for row in rows:
        row["owed_months"], row["owed_total"] = _owed_in_year(row, today=today)
    return branch, year, form, rows


@require_GET
def dues_ledger(request):
    today = timezone.localdate()
    branch, year, form, rows = _dues_rows(request, today)
    return render(
        request,
        "activities/dues_ledger.html",
        {
            "form": form,
            "branch": branch,
            "year": year,
            "rows": rows,
            "months": [date(year, month, 1) for month in range(1, 13)],
            "owed_total": sum((row["owed_total"] for row in rows), Decimal("0")),
            "query_string": f"branch={branch.pk}&year={year}",
        },
    )


@require_GET
def dues_export(request):
    today = timezone.localdate()
    branch, year, _form, rows = _dues_rows(request, today)
    headers = ["姓名", "月交纳额", *[f"{month}月" for month in range(1, 13)]]
    table = (
        [
            row["member"].name,
            row["amount"].monthly_amount if row["amount"] else None,
            *["✓" if cell["paid"] else "✗" if cell["owed"] else "" for cell in row["cells"]],
        ]
        for row in rows
    )
    response = HttpResponse(write_table_xlsx(headers, table, title=f"{year}年党费"), XLSX)
    response["Content-Disposition"] = f'attachment; filename="dues-{branch.pk}-{year}.xlsx"'
    return response


# --- the member's life pages ------------------------------------------------------------------


def _member_url(member) -> str:
    return reverse("members:detail", args=[member.pk]) + "#life"


def _member_step(request, member, *, form, title, done, perform):
    url = _member_url(member)
    return step_view(
        request,
        form=form,
        title=title,
        subject=member,
        cancel_url=url,
        then=url,
        perform=perform,
        done=done,
    )


def _home(request, member) -> bool:
    return not member_selectors.member_is_hosted_for(user=request.user, member=member)


def _evaluation_year(today: date) -> int:
    """In the evaluation season (to the end of January) it is last year's evaluation."""
    season_end = date.fromisoformat(f"{today.year}-{settings.EVALUATION_SEASON_END}")
    return today.year - 1 if today <= season_end else today.year


def participation_new(request, member_pk: int):
    member = member_selectors.member_get_for_edit(user=request.user, pk=member_pk)
    form = ExternalParticipationForm(request.POST or None)
    return _member_step(
        request,
        member,
        form=form,
        title=_("Record organisational life elsewhere"),
        done=_("Participation elsewhere recorded."),
        perform=lambda data: services.external_participation_record(
            actor=request.user, member=member, **data
        ),
    )


def dues_amount_set(request, member_pk: int):
    member = member_selectors.member_get_for_edit(user=request.user, pk=member_pk)
    year = timezone.localdate().year
    initial = {"year": year, "basis": DuesAmount.Basis.INCOME}
    current = selectors.dues_amount_for(member, year)
    if current is not None:
        initial.update(
            basis=current.basis,
            monthly_income=current.monthly_income,
            monthly_amount=(
                current.monthly_amount if current.basis == DuesAmount.Basis.MANUAL else None
            ),
            reason=current.reason,
        )
    form = DuesAmountForm(request.POST or None, initial=initial)
    return _member_step(
        request,
        member,
        form=form,
        title=_("Set the monthly dues"),
        done=_("Monthly dues set."),
        perform=lambda data: services.dues_amount_set(actor=request.user, member=member, **data),
    )


def _payment_suggestion(member, *, today: date) -> dict:
    """Prefill: the months owed that may still be paid back (or this month), and their sum."""
    owed, _total = selectors.arrears(member=member, today=today)
    earliest = dues.earliest_back_payment(today, settings.DUES_BACK_PAYMENT_MONTHS)
    months = [month for month in owed if month >= earliest] or [dues.first_of_month(today)]
    amounts = {}
    for year in {month.year for month in months}:
        amount = selectors.dues_amount_for(member, year)
        amounts[year] = amount.monthly_amount if amount else dues.FIXED
    return {
        "from_month": months[0],
        "to_month": months[-1],
        "amount": sum((amounts[month.year] for month in months), Decimal("0")),
    }


def dues_payment_new(request, member_pk: int):
    member = member_selectors.member_get(user=request.user, pk=member_pk)
    today = timezone.localdate()
    choices = member_selectors.member_branch_choices(user=request.user)
    initial = {"paid_on": today, "from_month": today.replace(day=1), "to_month": today}
    if request.method != "POST":
        initial.update(_payment_suggestion(member, today=today))
        if _home(request, member):
            initial["paid_to"] = member.home_branch_id
        else:
            episode = member.mobility_episodes.current().first()
            if episode and choices.filter(pk=episode.inflow_organisation_id).exists():
                initial["paid_to"] = episode.inflow_organisation_id
    form = DuesPaymentForm(request.POST or None, initial=initial, paid_to_choices=choices)
    return _member_step(
        request,
        member,
        form=form,
        title=_("Record a dues payment"),
        done=_("Dues payment recorded."),
        perform=lambda data: services.dues_payment_record(
            actor=request.user, member=member, **data
        ),
    )


def evaluation_new(request, member_pk: int):
    member = member_selectors.member_get(user=request.user, pk=member_pk)
    home = _home(request, member)
    root = member_selectors.scope_root_of(request.user)
    initial = {
        "year": _evaluation_year(timezone.localdate()),
        "side": Side.HOME if home else Side.INFLOW,
        "evaluator": member.home_branch.name if home else (root.name if root else ""),
    }
    form = EvaluationForm(request.POST or None, initial=initial, home=home)
    return _member_step(
        request,
        member,
        form=form,
        title=_("Record a two-way evaluation"),
        done=_("Evaluation recorded."),
        perform=lambda data: services.evaluation_record(actor=request.user, member=member, **data),
    )


def work_new(request, member_pk: int):
    member = member_selectors.member_get(user=request.user, pk=member_pk)
    home = _home(request, member)
    today = timezone.localdate()
    initial = {
        "side": Side.HOME if home else Side.INFLOW,
        "assigned_on": today,
        "due_on": today + relativedelta(months=3),
    }
    form = AssignedWorkForm(request.POST or None, initial=initial, home=home)
    return _member_step(
        request,
        member,
        form=form,
        title=_("Assign work"),
        done=_("Work assigned."),
        perform=lambda data: services.assigned_work_record(
            actor=request.user, member=member, **data
        ),
    )


def work_close(request, member_pk: int, pk: int):
    member = member_selectors.member_get(user=request.user, pk=member_pk)
    work = get_object_or_404(member.assigned_work.select_related("member"), pk=pk)
    form = WorkCloseForm(request.POST or None, initial={"note": work.note})
    return _member_step(
        request,
        member,
        form=form,
        title=_("Close assigned work: %(task)s") % {"task": work.title},
        done=_("Assigned work closed."),
        perform=lambda data: services.assigned_work_close(actor=request.user, work=work, **data),
    )


def service_request_new(request, member_pk: int):
    member = member_selectors.member_get(user=request.user, pk=member_pk)
    form = ServiceRequestForm(
        request.POST or None,
        instance=ServiceRequest(member=member),
        initial={"raised_on": timezone.localdate()},
    )
    return _member_step(
        request,
        member,
        form=form,
        title=_("Add a service request"),
        done=_("Service request added."),
        perform=lambda data: services.member_record_save(actor=request.user, record=form.instance),
    )


def honour_new(request, member_pk: int):
    member = member_selectors.member_get_for_edit(user=request.user, pk=member_pk)
    form = HonourForm(
        request.POST or None,
        instance=Honour(member=member),
        initial={"year": timezone.localdate().year, "side": Side.HOME},
    )
    return _member_step(
        request,
        member,
        form=form,
        title=_("Add an honour"),
        done=_("Honour added."),
        perform=lambda data: services.member_record_save(actor=request.user, record=form.instance),
    )


def good_reason_new(request, member_pk: int):
    member = member_selectors.member_get_for_edit(user=request.user, pk=member_pk)
    form = GoodReasonForm(request.POST or None)
    return _member_step(
        request,
        member,
        form=form,
        title=_("Record a good reason (正当理由)"),
        done=_("Good reason recorded; the member's alerts are checked again."),
        perform=lambda data: services.good_reason_record(actor=request.user, member=member, **data),
    )


def good_reason_end(request, member_pk: int, pk: int):
    member = member_selectors.member_get_for_edit(user=request.user, pk=member_pk)
    reason = get_object_or_404(member.good_reasons.all(), pk=pk)
    form = GoodReasonEndForm(request.POST or None, initial={"ends_on": reason.ends_on})
    return _member_step(
        request,
        member,
        form=form,
        title=_("Change the end of a good reason"),
        done=_("Good reason changed; its history keeps the earlier period."),
        perform=lambda data: services.good_reason_end(actor=request.user, reason=reason, **data),
    )
