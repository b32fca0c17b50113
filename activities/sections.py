from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from members.sections import member_page_read, member_section, page_rows
from members.selectors import member_is_hosted_for, organisation_in_scope

from . import dues, selectors, withdrawal
from .models import AssignedWork, DuesAmount

member_page_read(selectors.with_member_page_facts)

WITHDRAWAL_ROWS = (
    (withdrawal.LIFE, _("Organisational life")),
    (withdrawal.DUES, _("Party dues")),
    (withdrawal.WORK, _("Assigned work")),
)


def _dues_how(amount: DuesAmount | None) -> str:
    """How this year's amount was reached: the table's working, or the reason given by hand."""
    if amount is None:
        return ""
    if amount.basis == DuesAmount.Basis.MANUAL:
        return amount.reason
    try:
        return dues.monthly_dues(basis=amount.basis, monthly_income=amount.monthly_income)[1]
    except ValueError:
        return ""


@member_section(
    slug="life",
    title=_("Organisational life, dues and evaluations"),
    order=30,
    template="activities/member_life.html",
)
def life(request, member) -> dict:
    today = timezone.localdate()
    last_life = selectors.last_life_of(member)
    attendance = page_rows(
        member,
        "has_attendance",
        member.attendance.select_related("activity__branch").order_by(
            "-activity__held_on", "-activity_id"
        )[:10],
    )
    for row in attendance:
        row.linked = organisation_in_scope(request.user, row.activity.branch)
    # All the member's amounts and payments, once: this year's amount, the arrears, the latest.
    amounts = page_rows(member, "has_dues_amounts", member.dues_amounts.all())
    amount = next((a for a in amounts if a.year == today.year), None)
    payments = page_rows(
        member,
        "last_paid_on",
        member.dues_payments.select_related("paid_to", "paid_to_external"),
    )
    owed, owed_total = selectors.arrears(
        member=member, today=today, payments=payments, amounts=amounts
    )
    reasons = page_rows(
        member, "has_good_reasons", member.good_reasons.select_related("recorded_by")
    )
    counts = {
        what: withdrawal.count(member, what, today, reasons=reasons)
        for what, _label in WITHDRAWAL_ROWS
    }
    return {
        "home": not member_is_hosted_for(user=request.user, member=member),
        "today": today,
        "last_life": last_life,
        # The warning rule's own count (whole months, excused ones skipped), not a second one.
        "life_overdue": len(counts[withdrawal.LIFE].counted)
        >= settings.SELF_WITHDRAWAL_WARNING_MONTHS,
        "attendance": attendance,
        "elsewhere": page_rows(
            member, "last_external_on", member.external_participation.all()[:10]
        ),
        "dues_year": today.year,
        "dues_amount": amount,
        "dues_how": _dues_how(amount),
        "owed": owed,
        "owed_total": owed_total,
        "payments": payments[:5],
        "evaluations": selectors.evaluations_by_year(
            member, page_rows(member, "has_evaluations", member.evaluations.all())
        ),
        "work": page_rows(member, "has_work", member.assigned_work.all()),
        "work_open": AssignedWork.Status.OPEN,
        "service_requests": page_rows(
            member, "has_service_requests", member.service_requests.all()
        ),
        "honours": page_rows(member, "has_honours", member.honours.all()),
        "withdrawal": [{"label": label, "count": counts[what]} for what, label in WITHDRAWAL_ROWS],
        "reasons": reasons,
    }
