"""Reads of alerts, scoped to the user like everything else."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from django.db.models import Count, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from members.models import Organisation
from members.selectors import members_visible_to, scope_ids, scope_root_of, sees_everything

from .models import SEVERITY_ORDER, Alert, severity_rank
from .registry import registered_rules, rule_for


def alerts_visible_to(user, *, today: date | None = None, include_snoozed: bool = False):
    """Open alerts of members in the user's scope; snoozed ones hide until their date."""
    today = today or timezone.localdate()
    alerts = Alert.objects.filter(
        closed_at__isnull=True, member__in=members_visible_to(user)
    ).select_related("member", "member__home_branch")
    if not include_snoozed:
        alerts = alerts.exclude(state=Alert.State.SNOOZED, snoozed_until__gt=today)
    return alerts


def alert_get(*, user, pk: int) -> Alert:
    alerts = Alert.objects.filter(member__in=members_visible_to(user)).select_related(
        "member", "member__home_branch"
    )
    return get_object_or_404(alerts, pk=pk)


# For a large scope another app may give the open alerts per kind of the subtree's own members,
# kept current by the writes, with the day they were counted when that is not today (reports
# does, from its kept figures), or None to count live. Counting a county's 76,000 open alerts
# live took 200 ms.
KeptAlertCounts = Callable[[Organisation, date], tuple[dict[str, int], date | None] | None]
_kept_counts: list[KeptAlertCounts] = []


def register_kept_alert_counts(counts: KeptAlertCounts) -> KeptAlertCounts:
    _kept_counts.append(counts)
    return counts


@dataclass(frozen=True)
class AlertSummary:
    rows: list[dict]  # [{"rule": Rule, "count": n}], most serious first
    as_of: date | None = None  # the day the counts are from; None: counted up to now

    def __iter__(self):
        return iter(self.rows)

    def __bool__(self) -> bool:
        return bool(self.rows)


def _live_counts(alerts: QuerySet) -> dict[str, int]:
    return dict(alerts.order_by().values_list("kind").annotate(n=Count("id")))


def _summary(counts: dict[str, int], as_of: date | None = None) -> AlertSummary:
    rules = [rule for rule in registered_rules() if counts.get(rule.code)]
    rules.sort(key=lambda rule: (SEVERITY_ORDER[rule.severity], rule.code))
    return AlertSummary([{"rule": rule, "count": counts[rule.code]} for rule in rules], as_of)


def alert_summary(*, user, kept: bool = False) -> AlertSummary:
    """Open alerts per kind, most serious first, with each rule's title.

    With `kept`, a large scope's own members' alerts come from the figures the writes keep
    current (`as_of` names their day while they are being recounted); the alerts of members it
    hosts from outside are always counted now. Pages ask for that; e-mails count everything now.
    """
    root = None if sees_everything(user) else scope_root_of(user)
    today = timezone.localdate()
    for counts_of in _kept_counts if kept and root is not None else ():
        found = counts_of(root, today)
        if found is None:
            continue
        counts, as_of = dict(found[0]), found[1]
        scope = scope_ids(root, hosted_too=True)
        hosted = alerts_visible_to(user, today=today).filter(member_id__in=scope.hosted_member_ids)
        for kind, n in _live_counts(
            hosted.exclude(member__home_branch_id__in=scope.organisation_ids)
        ).items():
            counts[kind] = counts.get(kind, 0) + n
        return _summary(counts, as_of)
    return _summary(_live_counts(alerts_visible_to(user, today=today)))


SEVERITY_RANK = severity_rank()  # the index alert_open_inbox_order has the same expression


def alert_inbox(
    *, user, kind: str = "", severity: str = "", state: str = "", organisation=None
) -> QuerySet[Alert]:
    """Open alerts in scope; `organisation` (already checked in scope) narrows to its subtree."""
    alerts = alerts_visible_to(user, include_snoozed=state == Alert.State.SNOOZED)
    if organisation is not None:
        alerts = alerts.filter(member__home_branch__path__startswith=organisation.path)
    if kind:
        alerts = alerts.filter(kind=kind)
    if severity:
        alerts = alerts.filter(severity=severity)
    if state:
        alerts = alerts.filter(state=state)
    # Serious before warning before notice, then the oldest first: what waited longest.
    return alerts.order_by(SEVERITY_RANK, "opened_at", "id")


def rule_of(alert: Alert):
    return rule_for(alert.kind)
