"""Reminder e-mails: the weekly digest for secretaries and the monthly summary for reviewers.

Every e-mail is recorded in EmailSent (recipient, kind, period) before it is sent, so a
rerun never sends the same one twice; a failed send is retried by the Celery task.
"""

from collections.abc import Callable
from datetime import date

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import Count, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from alerts.models import EmailSent
from members.models import StaffAssignment
from members.selectors import members_visible_to

from . import selectors

WEEKLY_DIGEST = "weekly_digest"
MONTHLY_SUMMARY = "monthly_summary"


def week_period(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def month_period(day: date) -> str:
    return f"{day:%Y-%m}"


def recipients(role: str) -> QuerySet[User]:
    """Active staff in this role with an e-mail address who have not switched digests off."""
    return (
        User.objects.filter(is_active=True, assignment__role=role)
        .exclude(email="")
        .exclude(email_preference__digests=False)
        .select_related("assignment__organisation")
    )


def _absolute(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def digest_context(user: User) -> dict | None:
    """What a secretary's digest says; None when their scope has no open alerts."""
    summary = selectors.alert_summary(user=user)
    if not summary:
        return None
    return {
        "user": user,
        "organisation": user.assignment.organisation,
        "summary": summary,
        "total": sum(row["count"] for row in summary),
        "inbox_url": _absolute(reverse("alerts:inbox")),
        "links": {
            row["rule"].code: _absolute(reverse("alerts:inbox") + f"?kind={row['rule'].code}")
            for row in summary
        },
    }


def summary_context(user: User) -> dict | None:
    """A reviewer's month: alerts in the subtree and the branches with the most open alerts."""
    context = digest_context(user)
    if context is None:
        return None
    behind = (
        selectors.alerts_visible_to(user)
        .order_by()
        .values("member__home_branch__name")
        .annotate(n=Count("id"))
        .order_by("-n")[:5]
    )
    context["behind"] = list(behind)
    context["members"] = members_visible_to(user).count()
    return context


def _claim(*, recipient: str, user: User | None, kind: str, period: str) -> EmailSent | None:
    """Reserve (recipient, kind, period); None if it was already sent."""
    try:
        with transaction.atomic():
            record, _ = EmailSent.objects.get_or_create(
                recipient=recipient,
                kind=kind,
                period=period,
                defaults={"user": user, "status": EmailSent.Status.PENDING},
            )
    except IntegrityError:
        record = EmailSent.objects.get(recipient=recipient, kind=kind, period=period)
    return None if record.status == EmailSent.Status.SENT else record


def deliver(
    *, recipient: str, user: User | None, kind: str, period: str, context: Callable[[], dict | None]
) -> str:
    """Send the `kind` e-mail for `period` once. Raises on SMTP failure (the task retries).

    `context()` is only called when the e-mail is still due; None means nothing to say.
    Templates: emails/<kind>_subject.txt, emails/<kind>.txt and emails/<kind>.html.
    """
    record = _claim(recipient=recipient, user=user, kind=kind, period=period)
    if record is None:
        return "already sent"
    with transaction.atomic():
        # Hold the row while sending: a second worker with the same task (a redelivery after
        # a lost acknowledgement) waits here, then finds it sent.
        record = EmailSent.objects.select_for_update().get(pk=record.pk)
        if record.status == EmailSent.Status.SENT:
            return "already sent"
        values = context()
        if values is None:
            record.delete()
            return "nothing to say"
        error = _send(record, kind=kind, recipient=recipient, values=values)
    if error is not None:
        raise error  # after the commit, so the failure and its count are kept
    return "sent"


def _send(record: EmailSent, *, kind: str, recipient: str, values: dict) -> Exception | None:
    """Send and record the outcome on `record`; the error, if any, for the caller to raise."""
    with translation.override(settings.LANGUAGE_CODE):
        subject = render_to_string(f"emails/{kind}_subject.txt", values).strip()
        text = render_to_string(f"emails/{kind}.txt", values)
        html = render_to_string(f"emails/{kind}.html", values)
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [recipient])
    message.attach_alternative(html, "text/html")
    record.attempts += 1
    try:
        message.send()
    except Exception as error:  # noqa: BLE001 - recorded here, raised by the caller
        record.status = EmailSent.Status.FAILED
        record.last_error = f"{type(error).__name__}: {error}"[:1000]
        record.save()
        return error
    record.status, record.sent_at, record.last_error = EmailSent.Status.SENT, timezone.now(), ""
    record.save()
    return None


def send_reminder(*, user: User, kind: str, period: str) -> str:
    """A secretary's weekly digest or a reviewer's monthly summary."""
    build = digest_context if kind == WEEKLY_DIGEST else summary_context
    return deliver(
        recipient=user.email, user=user, kind=kind, period=period, context=lambda: build(user)
    )


def due_reminders(*, kind: str, today: date) -> list[tuple[int, str]]:
    """(user id, period) pairs to send now: one task each."""
    if kind == WEEKLY_DIGEST:
        role, period = StaffAssignment.Role.SECRETARY, week_period(today)
    else:
        role, period = StaffAssignment.Role.REVIEWER, month_period(today)
    already = EmailSent.objects.filter(kind=kind, period=period, status=EmailSent.Status.SENT)
    return [
        (user.pk, period)
        for user in recipients(role).exclude(email__in=already.values("recipient"))
    ]
