"""The three self-withdrawal conditions (Constitution art. 9; Reg. art. 31), counted alike.

"没有正当理由，连续六个月不参加党的组织生活，或不交纳党费，或不做党所分配的工作": each is
counted in calendar months. A month counts against the member when it is a whole month that has
passed (not the current one), after the last month with the thing done, and not excused by a
good reason (正当理由). Excused months are neither missed nor attended: they are skipped, so six
counted months may span more than six calendar months. The condition holds with `months`
(a setting, six) counted months.

- life: the last month with organisational life attended (here, hosted, make-up, online) or
  reported from elsewhere; months excused by any good reason or an excused absence.
- dues: the last month covered by a payment; months excused by a reason other than an excused
  absence from one meeting.
- work: from the month a piece of assigned work fell due (that month counts) while it is still
  undone; excused as dues.

Counting starts no earlier than the tracking start (a setting), the month after joining the
Party, and the month after Liudong's records of the member start (an imported ledger).

`flagged(what, months, today)` is the rule's query; `count(member, what, today)` gives one
member's counted and excused months for their page. Set-based first: the members with nothing
in the last `months` whole months are the candidates; only those of them with an excuse in that
window are counted one by one (the window then reaches further back).
"""

from dataclasses import dataclass, field
from datetime import date

from django.conf import settings
from django.db.models import Exists, Max, OuterRef, Q, QuerySet

from members.models import EvidenceBaseline, Member
from members.periods import countable_months, first_of_month, month_add

from .models import AssignedWork, Attendance, DuesPayment, ExternalParticipation, GoodReason

LIFE, DUES, WORK = "life", "dues", "work"
UNDONE = (AssignedWork.Status.OPEN, AssignedWork.Status.NOT_DONE)


def tracking_start(what: str) -> date:
    name = "DUES_TRACKING_START" if what == DUES else "ACTIVITIES_TRACKING_START"
    return first_of_month(date.fromisoformat(getattr(settings, name)))


# --- the set-based query ---------------------------------------------------------------


def _done_since(what: str, window: date) -> list[Exists | Q]:
    member = OuterRef("pk")
    if what == LIFE:
        return [
            Exists(
                Attendance.objects.filter(
                    member=member, status__in=Attendance.ATTENDED, activity__held_on__gte=window
                )
            ),
            Exists(ExternalParticipation.objects.filter(member=member, on__gte=window)),
            Q(baseline__last_life_on__gte=window),
        ]
    if what == DUES:
        return [
            Exists(DuesPayment.objects.filter(member=member, to_month__gte=window)),
            Q(baseline__dues_paid_to__gte=window),
        ]
    raise ValueError(what)


def _candidates(what: str, window: date) -> QuerySet[Member]:
    """Active members with nothing done in the whole months from `window` on."""
    members = Member.objects.filter(status=Member.Status.ACTIVE)
    if what == WORK:
        undone = AssignedWork.objects.filter(member=OuterRef("pk"), status__in=UNDONE)
        # The month it fell due counts: nothing was done in it.
        return members.filter(Exists(undone.filter(due_on__lt=month_add(window, 1))))
    if tracking_start(what) > window:
        return Member.objects.none()
    members = members.filter(joined_on__lt=window).exclude(baseline__since__gte=window)
    for done in _done_since(what, window):
        members = members.exclude(done)
    return members


def _excuses(what: str, window: date, this_month: date) -> list[Exists]:
    """Each kind of excuse touching a month from `window` up to last month, as its own EXISTS
    (two NOT EXISTS become two anti-joins; NOT (A OR B) would be a subplan per member)."""
    reasons = GoodReason.objects.filter(
        member=OuterRef("pk"), ends_on__gte=window, starts_on__lt=this_month
    )
    if what != LIFE:
        reasons = reasons.exclude(kind__in=GoodReason.LIFE_ONLY)
    excuses = [Exists(reasons)]
    if what == LIFE:
        absences = Attendance.objects.filter(
            member=OuterRef("pk"),
            status=Attendance.Status.EXCUSED,
            activity__held_on__gte=window,
            activity__held_on__lt=this_month,
        )
        excuses.append(Exists(absences))
    return excuses


def flagged(
    what: str,
    months: int,
    today: date,
    *,
    among: list[int] | None = None,
    within: str | None = None,
) -> QuerySet[Member]:
    """The members with `months` or more counted months of `what` (the rule's query); with
    `among`, only those members (a write's re-evaluation); with `within` (an organisation's
    path), only that subtree's, the filter on the candidates themselves so that their EXISTS,
    the excused ones and the count in Python are the subtree's only (a county's ids as
    `among` made a self-join PostgreSQL misjudged: two to four times the cost)."""
    this_month = first_of_month(today)
    window = month_add(this_month, -months)
    candidates = _candidates(what, window)
    if within is not None:
        candidates = candidates.filter(home_branch__path__startswith=within)
    if among is not None:
        candidates = candidates.filter(pk__in=among)
    excuses = _excuses(what, window, this_month)
    plain = candidates
    for excuse in excuses:
        plain = plain.exclude(excuse)
    excused = set()
    for excuse in excuses:
        excused.update(candidates.filter(excuse).values_list("pk", flat=True))
    counted = [
        member.pk
        for member in Member.objects.filter(pk__in=excused).select_related("baseline")
        if len(count(member, what, today).counted) >= months
    ]
    if not counted:
        return plain
    return Member.objects.filter(Q(pk__in=plain.values("pk")) | Q(pk__in=counted))


# --- one member, in Python -----------------------------------------------------------


@dataclass
class Count:
    counted: list[date] = field(default_factory=list)  # first days of the months counted
    excused: list[tuple[date, str]] = field(default_factory=list)  # (month, why)
    since: date | None = None  # the first month that could count


def _baseline(member: Member) -> EvidenceBaseline | None:
    try:
        return member.baseline
    except EvidenceBaseline.DoesNotExist:
        return None


def _anchor(member: Member, what: str) -> date | None:
    """The last month with the thing done (for work: the month before the oldest undone work
    fell due, so the due month itself counts)."""
    baseline = _baseline(member)
    if what == WORK:
        oldest = (
            AssignedWork.objects.filter(member=member, status__in=UNDONE)
            .order_by("due_on")
            .values_list("due_on", flat=True)
            .first()
        )
        return month_add(oldest, -1) if oldest else None
    if what == LIFE:
        dates = [
            Attendance.objects.filter(member=member, status__in=Attendance.ATTENDED).aggregate(
                last=Max("activity__held_on")
            )["last"],
            member.external_participation.aggregate(last=Max("on"))["last"],
            baseline.last_life_on if baseline else None,
        ]
    else:
        dates = [
            member.dues_payments.aggregate(last=Max("to_month"))["last"],
            baseline.dues_paid_to if baseline else None,
        ]
    last = max((d for d in dates if d), default=None)
    return first_of_month(last) if last else None


def _excused_months(
    member: Member, what: str, first: date, last: date, reasons: list[GoodReason] | None
) -> dict[date, str]:
    excused: dict[date, str] = {}
    if reasons is None:
        reasons = list(member.good_reasons.filter(ends_on__gte=first, starts_on__lte=last))
    for reason in reasons:
        if not reason.covers(what) or reason.ends_on < first or reason.starts_on > last:
            continue
        for month in countable_months(max(reason.starts_on, first), min(reason.ends_on, last)):
            excused.setdefault(month, f"{reason.get_kind_display()}：{reason.note}")
    if what == LIFE:
        absences = Attendance.objects.filter(
            member=member,
            status=Attendance.Status.EXCUSED,
            activity__held_on__gte=first,
            activity__held_on__lte=last,
        ).values_list("activity__held_on", "reason")
        for held_on, reason in absences:
            excused.setdefault(first_of_month(held_on), f"请假：{reason}")
    return excused


def count(
    member: Member, what: str, today: date, *, reasons: list[GoodReason] | None = None
) -> Count:
    """Which whole months count against `member` for `what`, and which were excused.
    `reasons`: the member's good reasons, when the caller has them already."""
    last_month = month_add(first_of_month(today), -1)
    anchor = _anchor(member, what)
    if what == WORK:
        if anchor is None:
            return Count()
        first = month_add(anchor, 1)
    else:
        starts = [tracking_start(what), month_add(member.joined_on, 1)]
        baseline = _baseline(member)
        if baseline is not None:
            starts.append(month_add(baseline.since, 1))
        if anchor is not None:
            starts.append(month_add(anchor, 1))
        first = max(starts)
    if first > last_month:
        return Count(since=first)
    excused = _excused_months(member, what, first, month_add(last_month, 1), reasons)
    result = Count(since=first)
    for month in countable_months(first, last_month):
        if month in excused:
            result.excused.append((month, excused[month]))
        else:
            result.counted.append(month)
    return result
