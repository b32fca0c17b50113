"""The alert engine's records: alerts and what was done to them, scan runs, e-mails sent."""

from django.conf import settings
from django.db import models
from django.db.models import Case, F, Value, When
from django.utils.translation import gettext_lazy as _

SEVERITY_ORDER = {"serious": 0, "warning": 1, "notice": 2}


def severity_rank() -> Case:
    """Serious before warning before notice: the inbox's order, and its index's."""
    return Case(
        *(When(severity=severity, then=Value(rank)) for severity, rank in SEVERITY_ORDER.items()),
        default=Value(len(SEVERITY_ORDER)),
    )


class Alert(models.Model):
    """A member flagged by a rule. One open alert per member and rule while the condition holds."""

    class State(models.TextChoices):
        OPEN = "open", _("Open")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        SNOOZED = "snoozed", _("Snoozed")
        CLOSED = "closed", _("Closed")

    class Severity(models.TextChoices):
        NOTICE = "notice", _("Notice")
        WARNING = "warning", _("Warning")
        SERIOUS = "serious", _("Serious")

    member = models.ForeignKey(
        "members.Member", on_delete=models.CASCADE, related_name="alerts", verbose_name=_("member")
    )
    kind = models.CharField(_("kind"), max_length=50)
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices)
    state = models.CharField(_("state"), max_length=20, choices=State.choices, default=State.OPEN)
    opened_at = models.DateTimeField(_("opened at"))
    last_seen_at = models.DateTimeField(_("last seen at"))
    snoozed_until = models.DateField(_("snoozed until"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    close_reason = models.CharField(_("why closed"), max_length=30, blank=True)

    class Meta:
        db_table = "members_alert"  # moved from members/; the table kept its name
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["member", "kind"],
                condition=models.Q(closed_at__isnull=True),
                name="one_open_alert_per_member_and_kind",
            )
        ]
        indexes = [
            models.Index(fields=["kind", "closed_at"], name="alert_kind_open"),
            # The inbox: newest open alerts first, so a page stops after fifty.
            models.Index(
                fields=["-opened_at", "-id"],
                name="alert_open_newest",
                condition=models.Q(closed_at__isnull=True),
            ),
            # The inbox's own order (alert_inbox): a county's page reads the open alerts in this
            # order and stops at fifty of its own, rather than sorting its 60,000.
            models.Index(
                severity_rank(),
                F("opened_at"),
                F("id"),
                name="alert_open_inbox_order",
                condition=models.Q(closed_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member} · {self.kind}"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class AlertAction(models.Model):
    """Everything done to an alert, by a person or by the scan."""

    class Action(models.TextChoices):
        OPENED = "opened", _("Opened by the scan")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        SNOOZED = "snoozed", _("Snoozed")
        RESOLVED = "resolved", _("Resolved")
        CLEARED = "cleared", _("Closed by the scan: condition cleared")

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="actions")
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    at = models.DateTimeField(_("time"))
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        db_table = "members_alertaction"  # moved from members/; the table kept its name
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.alert} {self.action}"


class ScanRun(models.Model):
    """One run of the scan: when, and per rule how many matched, opened, stayed, closed, and time."""

    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    results = models.JSONField(default=dict)
    failed_rules = models.PositiveSmallIntegerField(default=0)

    class Meta:
        db_table = "members_scanrun"  # moved from members/; the table kept its name
        verbose_name = _("scan run")
        verbose_name_plural = _("scan runs")
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.started_at:%Y-%m-%d %H:%M}"


class EmailSent(models.Model):
    """Each e-mail Liudong sends, so that a rerun never sends the same one twice."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    recipient = models.EmailField(_("recipient"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=30)
    period = models.CharField(_("period"), max_length=10)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "members_emailsent"  # moved from members/; the table kept its name
        verbose_name = _("e-mail sent")
        verbose_name_plural = _("e-mails sent")
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "kind", "period"], name="one_email_per_period"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.period} → {self.recipient}"


class EmailPreference(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="email_preference"
    )
    digests = models.BooleanField(_("receive digest e-mails"), default=True)

    class Meta:
        db_table = "members_emailpreference"  # moved from members/; the table kept its name

    def __str__(self) -> str:
        return f"{self.user}: {self.digests}"
