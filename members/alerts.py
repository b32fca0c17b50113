"""Reads and writes for alerts, scoped to the user like everything else."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.db.models import Count, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _

from infrastructure.steps import StepRefused

from .models import Alert, AlertAction, Organisation
from .rules import SEVERITY_ORDER, registered_rules, rule_for
from .selectors import (
    members_visible_to,
    require_editable,
    scope_ids,
    scope_root_of,
    sees_everything,
)


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


# For a large scope another app may give last night's open alerts per kind of the subtree's
# own members, with the day they were counted (ledgers does, from the dashboard's nightly
# snapshot), or None to count live. Counting a county's 76,000 open alerts live took 200 ms.
NightlyAlertCounts = Callable[[Organisation, date], tuple[dict[str, int], date] | None]
_nightly_counts: list[NightlyAlertCounts] = []


def register_nightly_alert_counts(counts: NightlyAlertCounts) -> NightlyAlertCounts:
    _nightly_counts.append(counts)
    return counts


@dataclass(frozen=True)
class AlertSummary:
    rows: list[dict]  # [{"rule": Rule, "count": n}], most serious first
    as_of: date | None = None  # the night the counts are from; None: counted now

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


def alert_summary(*, user, nightly: bool = False) -> AlertSummary:
    """Open alerts per kind, most serious first, with each rule's title.

    With `nightly`, a large scope's own members' alerts are counted as of last night's figures
    when there are some (`as_of` says so); the alerts of members it hosts from outside are
    always counted now. Pages ask for that; e-mails count everything now.
    """
    root = None if sees_everything(user) else scope_root_of(user)
    today = timezone.localdate()
    for counts_of in _nightly_counts if nightly and root is not None else ():
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
    return alerts.order_by("-opened_at", "-id")


def _act(alert: Alert, *, actor, action: str, note: str) -> None:
    AlertAction.objects.create(
        alert=alert, action=action, actor=actor, at=timezone.now(), note=note
    )


@transaction.atomic
def alert_acknowledge(*, actor, alert: Alert, note: str) -> Alert:
    alert = Alert.objects.select_for_update().get(pk=alert.pk)
    require_editable(actor, alert.member)  # the inflow side sees, the home side acts
    if not alert.is_open:
        raise StepRefused(_("This alert is already closed."))
    alert.state = Alert.State.ACKNOWLEDGED
    alert.save(update_fields=["state"])
    _act(alert, actor=actor, action=AlertAction.Action.ACKNOWLEDGED, note=note)
    return alert


@transaction.atomic
def alert_snooze(*, actor, alert: Alert, until: date, reason: str) -> Alert:
    alert = Alert.objects.select_for_update().get(pk=alert.pk)
    require_editable(actor, alert.member)  # the inflow side sees, the home side acts
    if not alert.is_open:
        raise StepRefused(_("This alert is already closed."))
    if until <= timezone.localdate():
        raise StepRefused(_("Snooze until a date after today."))
    alert.state, alert.snoozed_until = Alert.State.SNOOZED, until
    alert.save(update_fields=["state", "snoozed_until"])
    _act(alert, actor=actor, action=AlertAction.Action.SNOOZED, note=f"{until:%Y-%m-%d} {reason}")
    return alert


@transaction.atomic
def alert_resolve(*, actor, alert: Alert, note: str) -> Alert:
    """Close by hand after acting; if the condition still holds, the next scan reopens it."""
    alert = Alert.objects.select_for_update().get(pk=alert.pk)
    require_editable(actor, alert.member)  # the inflow side sees, the home side acts
    if not alert.is_open:
        raise StepRefused(_("This alert is already closed."))
    alert.state, alert.closed_at, alert.close_reason = (
        Alert.State.CLOSED,
        timezone.now(),
        "resolved",
    )
    alert.save(update_fields=["state", "closed_at", "close_reason"])
    _act(alert, actor=actor, action=AlertAction.Action.RESOLVED, note=note)
    return alert


def rule_of(alert: Alert):
    return rule_for(alert.kind)
