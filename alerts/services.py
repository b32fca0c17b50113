"""Writes on alerts: a secretary acknowledges, snoozes, resolves, or sets a correction term;
and the same-day re-evaluation of members whose evidence changed."""

import logging
from datetime import date

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from infrastructure.steps import StepRefused
from members import periods
from members.models import CorrectionTerm
from members.selectors import require_editable

from . import tasks
from .models import Alert, AlertAction
from .registry import rule_for

logger = logging.getLogger(__name__)


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


@transaction.atomic
def correction_term_open(
    *, actor, alert: Alert, educated_on: date, months: int, note: str
) -> CorrectionTerm:
    """批评教育, then 限期改正 (Reg. arts. 29-30): a term of at most a year to correct."""

    alert = Alert.objects.select_related("member").get(pk=alert.pk)
    require_editable(actor, alert.member)
    rule = rule_for(alert.kind)
    if rule is None or not rule.correctable or not alert.is_open:
        raise StepRefused(_("A correction term is set on an open alert of a six-month rule."))
    if not 1 <= months <= settings.CORRECTION_TERM_MAX_MONTHS:
        raise StepRefused(
            _("The term is from 1 to %(n)d months (Reg. art. 30: at most one year).")
            % {"n": settings.CORRECTION_TERM_MAX_MONTHS}
        )
    if educated_on > timezone.localdate():
        raise StepRefused(_("The talk cannot be dated in the future."))
    if CorrectionTerm.objects.filter(
        member=alert.member, condition=alert.kind, closed_on__isnull=True
    ).exists():
        raise StepRefused(_("A correction term for this condition is already open."))
    term = CorrectionTerm(
        member=alert.member,
        condition=alert.kind,
        educated_on=educated_on,
        ends_on=periods.months_after(educated_on, months),
        note=note.strip(),
        opened_by=actor,
    )
    term._history_user = actor
    term.save()
    AlertAction.objects.create(
        alert=alert,
        action=AlertAction.Action.ACKNOWLEDGED,
        actor=actor,
        at=timezone.now(),
        note=f"批评教育 {educated_on:%Y-%m-%d}，限期改正至 {term.ends_on:%Y-%m-%d}。{note}"[:300],
    )
    Alert.objects.filter(pk=alert.pk, state=Alert.State.OPEN).update(state=Alert.State.ACKNOWLEDGED)
    return term


def reevaluate_soon(sender, *, member_ids: list[int], **kwargs) -> None:
    """members.signals.evidence_changed, after the commit: the members' rules now, on the worker
    where there is one, not tonight. If the broker is down the write stands and the night
    catches up."""
    try:
        tasks.reevaluate_members.delay(member_ids)
    except Exception:  # noqa: BLE001 - a lost re-evaluation must not fail the write
        logger.exception("could not enqueue the re-evaluation of members %s", member_ids)
