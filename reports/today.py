"""What to do today: the home page's list, by name, worst first, each with the one action that
settles it. It reads every room, so it lives in the top one.

Groups, in this order: serious alerts; self-reports waiting for review; arrivals to accept;
transfers to approve; letters and certificates due; probation ended. Each group is one query
of at most `limit` + 1 rows (the extra row says "more"), so the page costs the same for a
branch with three tasks as for a county with thousands.
"""

from dataclasses import dataclass, field
from datetime import date

from django.db.models import QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from alerts.models import Alert
from alerts.registry import rule_for
from alerts.selectors import alerts_visible_to
from ledgers.models import SelfReport
from members.selectors import members_editable_by, probation_due
from transfers.selectors import transfers_to_accept, transfers_to_decide

# Letters and certificates that fall due: warnings, but each a date someone must keep.
TRANSFER_PARTS = ("member", "from_branch", "from_external", "to_organisation", "to_external")
PAPER_DUE = ("letter_expired", "receipt_overdue", "letter_expiring", "certificate_review_due")


@dataclass(frozen=True)
class Task:
    name: str  # the member
    what: str  # why it is here
    action: str  # the one step that settles it
    url: str
    since: date | None = None
    severity: str = ""  # for the badge: serious / warning / notice


@dataclass
class TaskGroup:
    key: str
    title: str
    tasks: list[Task] = field(default_factory=list)
    more_url: str = ""  # set when there are more than shown


def _alert_task(alert: Alert) -> Task:
    rule = rule_for(alert.kind)
    detail = reverse("alerts:detail", args=[alert.pk])
    label, url = _("See why and act"), detail
    for action_label, url_name in rule.actions if rule else ():
        if url_name == "members:detail":
            continue  # the alert's page says more than the member's
        try:
            label, url = action_label, reverse(url_name, args=[alert.member_id])
        except NoReverseMatch:
            continue
        break
    return Task(
        name=alert.member.name,
        what=str(rule.title) if rule else alert.kind,
        action=str(label),
        url=url,
        since=alert.opened_at.date(),
        severity=alert.severity,
    )


def _first(rows: QuerySet, limit: int) -> tuple[list, bool]:
    found = list(rows[: limit + 1])
    return found[:limit], len(found) > limit


def _actionable_alerts(user, today: date) -> QuerySet[Alert]:
    # Only the home side acts on an alert; the hosting side sees it in the inbox.
    return (
        alerts_visible_to(user, today=today)
        .filter(member__in=members_editable_by(user))
        .order_by("opened_at", "id")
    )


def tasks_for(*, user, today: date, limit: int = 8) -> list[TaskGroup]:
    """Non-empty groups of what the user should do today, worst first."""
    groups = []
    inbox = reverse("alerts:inbox")

    serious, more = _first(
        _actionable_alerts(user, today).filter(severity=Alert.Severity.SERIOUS), limit
    )
    groups.append(
        TaskGroup(
            "serious",
            _("Serious alerts"),
            [_alert_task(alert) for alert in serious],
            f"{inbox}?severity=serious" if more else "",
        )
    )

    reports, more = _first(
        SelfReport.objects.filter(
            status=SelfReport.Status.PENDING, member__in=members_editable_by(user)
        )
        .select_related("member")
        .order_by("submitted_at", "id"),
        limit,
    )
    groups.append(
        TaskGroup(
            "self_reports",
            _("Self-reports waiting for your review"),
            [
                Task(
                    name=report.member.name,
                    what=_("Reported from %(where)s for %(period)s")
                    % {"where": report.where, "period": report.period},
                    action=str(_("Review")),
                    url=reverse("members:detail", args=[report.member_id]) + "#ledger",
                    since=report.submitted_at.date(),
                )
                for report in reports
            ],
        )
    )

    for key, title, transfers, action in (
        (
            "arrivals",
            _("Members coming to you: accept on arrival"),
            transfers_to_accept(user=user),
            _("Accept the arrival"),
        ),
        (
            "decisions",
            _("Transfers waiting for your approval"),
            transfers_to_decide(user=user),
            _("Approve or return"),
        ),
    ):
        rows, more = _first(
            transfers.select_related(*TRANSFER_PARTS).order_by("created_at", "id"), limit
        )
        groups.append(
            TaskGroup(
                key,
                title,
                [
                    Task(
                        name=transfer.member.name,
                        what=f"{transfer.origin} → {transfer.destination}",
                        action=str(action),
                        url=reverse("transfers:transfer_detail", args=[transfer.pk]),
                        since=transfer.created_at.date(),
                    )
                    for transfer in rows
                ],
            )
        )

    paper, more = _first(_actionable_alerts(user, today).filter(kind__in=PAPER_DUE), limit)
    groups.append(
        TaskGroup(
            "paper_due",
            _("Letters and certificates due"),
            [_alert_task(alert) for alert in paper],
            f"{inbox}?severity=warning" if more else "",
        )
    )

    members, more = _first(probation_due(user=user, today=today).order_by("joined_on", "id"), limit)
    groups.append(
        TaskGroup(
            "probation",
            _("Probation ended: the branch must decide on confirmation"),
            [
                Task(
                    name=member.name,
                    what=str(_("Probationary member since %(date)s") % {"date": member.joined_on}),
                    action=str(_("Record the decision")),
                    url=reverse("members:detail", args=[member.pk]),
                    since=member.joined_on,
                )
                for member in members
            ],
        )
    )
    return [group for group in groups if group.tasks]
