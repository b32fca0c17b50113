from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from members.sections import member_section
from members.selectors import member_is_hosted_for, organisations_visible_to

from . import dues, selectors, withdrawal
from .models import AssignedWork, DuesAmount

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
    attendance = list(
        member.attendance.select_related("activity__branch").order_by(
            "-activity__held_on", "-activity_id"
        )[:10]
    )
    open_branches = set(
        organisations_visible_to(request.user)
        .filter(pk__in={row.activity.branch_id for row in attendance})
        .values_list("pk", flat=True)
    )
    for row in attendance:
        row.linked = row.activity.branch_id in open_branches
    amount = selectors.dues_amount_for(member, today.year)
    owed, owed_total = selectors.arrears(member=member, today=today)
    reasons = list(member.good_reasons.select_related("recorded_by"))
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
        "elsewhere": list(member.external_participation.all()[:10]),
        "dues_year": today.year,
        "dues_amount": amount,
        "dues_how": _dues_how(amount),
        "owed": owed,
        "owed_total": owed_total,
        "payments": list(member.dues_payments.select_related("paid_to", "paid_to_external")[:5]),
        "evaluations": selectors.evaluations_by_year(member),
        "work": list(member.assigned_work.all()),
        "work_open": AssignedWork.Status.OPEN,
        "service_requests": list(member.service_requests.all()),
        "honours": list(member.honours.all()),
        "withdrawal": [{"label": label, "count": counts[what]} for what, label in WITHDRAWAL_ROWS],
        "reasons": reasons,
    }
