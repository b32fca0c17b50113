from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from members.models import Member, Organisation


class FiveClearsItem(models.TextChoices):
    """The five things that must be clear for every mobile member (五清)."""

    LEFT = "left", _("When they left")
    WHERE = "where", _("Where they are")
    OCCUPATION = "occupation", _("What they do")
    CONTACT = "contact", _("How to reach them")
    CONDUCT = "conduct", _("Thought and conduct")


# What the hosting side (an inflow branch, an outpost) sees for itself and keeps: where the
# member is, what they do, how to reach them, how they conduct themselves there. When and why
# they left is the home side's record of the departure.
INFLOW_ITEMS = (
    FiveClearsItem.WHERE,
    FiveClearsItem.OCCUPATION,
    FiveClearsItem.CONTACT,
    FiveClearsItem.CONDUCT,
)
# Of those it changes all but the phone: the number is also where the member's sign-in codes
# and personal link go (selfservice/), so only the home side changes it; the hosting side
# confirms it when it reaches the member there.
INFLOW_CHANGES = (FiveClearsItem.WHERE, FiveClearsItem.OCCUPATION, FiveClearsItem.CONDUCT)


class LedgerRecord(models.Model):
    """A member's five-clears confirmations, and the thought-and-conduct assessment.

    The values of the first four items live where they belong (the mobility episode and
    the member's phone); this row says when each was last confirmed and by whom.
    """

    class Assessment(models.TextChoices):
        GOOD = "good", _("Good")
        FAIR = "fair", _("Fair")
        CONCERN = "concern", _("Needs attention")

    member = models.OneToOneField(
        Member, on_delete=models.CASCADE, related_name="ledger", verbose_name=_("member")
    )
    left_confirmed_on = models.DateField(null=True, blank=True)
    left_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    where_confirmed_on = models.DateField(null=True, blank=True)
    where_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    occupation_confirmed_on = models.DateField(null=True, blank=True)
    occupation_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    contact_confirmed_on = models.DateField(null=True, blank=True)
    contact_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    conduct_confirmed_on = models.DateField(null=True, blank=True)
    conduct_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    conduct_assessment = models.CharField(
        _("thought and conduct"), max_length=10, choices=Assessment.choices, blank=True
    )
    conduct_note = models.TextField(_("note on thought and conduct"), blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("five-clears record")
        verbose_name_plural = _("five-clears records")

    def __str__(self) -> str:
        return str(self.member)


class ContactAttempt(models.Model):
    """One attempt to reach a member. Unreachable attempts are kept: they are the evidence."""

    class Channel(models.TextChoices):
        PHONE = "phone", _("Phone")
        WECHAT = "wechat", _("WeChat")
        SMS = "sms", _("SMS")
        VISIT = "visit", _("Visit")
        LETTER = "letter", _("Letter")
        EMAIL = "email", _("E-mail")
        HOME_VISIT = "home", _("Met on return home")
        SELF_REPORT = "self_report", _("Self-report")
        CHECK_IN = "check_in", _("Online check-in")
        STUDY = "study", _("Study check-in")

    member = models.ForeignKey(
        Member, on_delete=models.CASCADE, related_name="contacts", verbose_name=_("member")
    )
    on = models.DateField(_("date"))
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    reached = models.BooleanField(_("reached"))
    note = models.CharField(_("note"), max_length=300, blank=True)
    # Empty when the member reached the branch themselves, from their own page.
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("contact attempt")
        verbose_name_plural = _("contact log")
        ordering = ["-on", "-id"]
        indexes = [models.Index(fields=["member", "reached", "on"], name="contact_last_reached")]

    def __str__(self) -> str:
        return f"{self.member} {self.on} {self.get_channel_display()}"


class CensusCampaign(models.Model):
    """精准摸排: a period in which every branch below `organisation` verifies its mobile members."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="campaigns"
    )
    name = models.CharField(_("name"), max_length=100)
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    closed_on = models.DateField(_("closed on"), null=True, blank=True)

    class Meta:
        verbose_name = _("census campaign")
        verbose_name_plural = _("census campaigns")
        ordering = ["-starts_on"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")),
                name="campaign_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return self.name


class LedgerImport(models.Model):
    """A record of every import: who, when, which file (name and hash), and what happened."""

    class Status(models.TextChoices):
        PREVIEWED = "previewed", _("Previewed")
        RUNNING = "running", _("Running")
        APPLIED = "applied", _("Imported")
        FAILED = "failed", _("Refused: errors in the file")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    branch = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    file_name = models.CharField(_("file"), max_length=200)
    file_sha256 = models.CharField(max_length=64)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    # The user chose to import the rows without errors and leave the broken ones out (the
    # preview's second way); otherwise all rows or none.
    skip_broken = models.BooleanField(default=False)
    rows_imported = models.PositiveIntegerField(default=0)  # created + updated + unchanged
    rows_left_out = models.PositiveIntegerField(default=0)  # rows not imported
    errors = models.JSONField(default=list, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("ledger import")
        verbose_name_plural = _("ledger imports")
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.file_name} {self.started_at:%Y-%m-%d %H:%M}"


class LedgerExport(models.Model):
    """A large export made on the worker; the file waits (encrypted, in the cache) for a day."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        READY = "ready", _("Ready to download")
        FAILED = "failed", _("Failed")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    file_format = models.CharField(max_length=4)
    filters = models.JSONField(default=dict)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("ledger export")
        verbose_name_plural = _("ledger exports")
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.file_format} {self.started_at:%Y-%m-%d %H:%M}"


class SelfReport(models.Model):
    """A mobile member's own answer through the monthly e-mail link (no account needed)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for the secretary")
        ACCEPTED = "accepted", _("Accepted into the ledger")
        REJECTED = "rejected", _("Rejected")

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="self_reports")
    period = models.CharField(_("month"), max_length=7)
    where = models.CharField(_("where I am now"), max_length=200)
    occupation = models.CharField(_("what I do"), max_length=100)
    phone = models.CharField(_("how to reach me"), max_length=30)
    note = models.TextField(_("note"), blank=True)
    submitted_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("self-report")
        verbose_name_plural = _("self-reports")
        ordering = ["-submitted_at"]
        constraints = [
            models.UniqueConstraint(fields=["member", "period"], name="one_self_report_per_month")
        ]

    def __str__(self) -> str:
        return f"{self.member} {self.period}"
