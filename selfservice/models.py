"""What a mobile member does on their own phone page, and what the branch decides about it.

Each write a member makes here is kept as its own row with its own status, so the branch
confirms or returns it; nothing the member types goes straight into the ledger or the dues.
"""

from django.conf import settings
from django.core.files.storage import storages
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from activities.models import Activity, DuesPayment, ServiceRequest
from members import phone
from members.models import Member, Organisation


class Decision(models.TextChoices):
    PENDING = "pending", _("Waiting for the branch")
    CONFIRMED = "confirmed", _("Confirmed")
    RETURNED = "returned", _("Returned")
    WITHDRAWN = "withdrawn", _("Withdrawn by the member")


class MemberLink(models.Model):
    """The member's personal link. A link carries the generation it was made in: rotating
    bumps it (old links and signed-in devices stop working), revoking stops all of them."""

    member = models.OneToOneField(Member, on_delete=models.CASCADE, related_name="own_link")
    generation = models.PositiveIntegerField(default=1)
    revoked_at = models.DateTimeField(null=True, blank=True)
    issued_at = models.DateTimeField(auto_now_add=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("member's personal link")
        verbose_name_plural = _("members' personal links")

    def __str__(self) -> str:
        return f"{self.member} #{self.generation}"


class SignInCode(models.Model):
    """One try at proving a new device: a code sent by SMS or e-mail, or (for a member with
    neither) the ID number's last four digits and the birth date. Failed tries are counted here
    for the rate limit."""

    class Channel(models.TextChoices):
        SMS = "sms", _("SMS")
        EMAIL = "email", _("E-mail")
        ID_NUMBER = "id", _("ID number and birth date")

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    code_digest = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    failed_tries = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["member", "created_at"], name="signin_code_recent")]

    def __str__(self) -> str:
        return f"{self.member} {self.channel} {self.created_at:%Y-%m-%d %H:%M}"


class MessagePreference(models.Model):
    """How the member wants to be told things: a channel, quiet hours, or not at all."""

    class Channel(models.TextChoices):
        SMS = "sms", _("SMS")
        EMAIL = "email", _("E-mail")

    member = models.OneToOneField(
        Member, on_delete=models.CASCADE, related_name="message_preference"
    )
    channel = models.CharField(
        _("preferred channel"), max_length=10, choices=Channel.choices, default=Channel.SMS
    )
    quiet_from = models.TimeField(_("quiet from"), null=True, blank=True)
    quiet_until = models.TimeField(_("quiet until"), null=True, blank=True)
    opted_out = models.BooleanField(_("no messages"), default=False)

    def __str__(self) -> str:
        return f"{self.member}: {self.channel}"


class MemberMessage(models.Model):
    """One message to a member, on one channel. `key` makes a retry or a second run of the same
    job find the row it made instead of sending twice."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        SUPPRESSED = "suppressed", _("Not sent (member opted out or has no address)")

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="messages")
    key = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=40)
    channel = models.CharField(max_length=10, choices=MessagePreference.Channel.choices)
    recipient = models.CharField(max_length=254)
    values = models.JSONField(default=dict)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    provider_id = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    not_before = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    KIND_LABELS = {
        "sign_in_code": _("sign-in code"),
        "link": _("personal link"),
        "dues_decided": _("dues payment decided"),
        "check_in_decided": _("check-in decided"),
        "study_published": _("new study item"),
        "meeting_reminder": _("meeting reminder"),
        "help_answered": _("request for help answered"),
        "excuse_decided": _("excuse decided"),
    }

    def __str__(self) -> str:
        return f"{self.kind} → {self.member} ({self.status})"

    @property
    def kind_label(self) -> str:
        channel = self.get_channel_display()
        return f"{self.KIND_LABELS.get(self.kind, self.kind)} ({channel} {self.recipient_masked})"

    @property
    def recipient_masked(self) -> str:
        if "@" in self.recipient:
            return phone.masked_email(self.recipient)
        return phone.masked(self.recipient)


class CheckIn(models.Model):
    """在线报到: the member arrived somewhere. The home branch confirms it (it then enters the
    five-clears ledger); an inflow organisation in this deployment accepts the arrival."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="check_ins")
    destination = models.CharField(_("city"), max_length=200)
    # The member ticked 我在境外: `destination` is a country or region and its city.
    abroad = models.BooleanField(_("abroad"), default=False)
    workplace = models.CharField(_("employer or school"), max_length=200)
    phone = models.CharField(_("phone"), max_length=30)
    inflow_organisation = models.ForeignKey(
        Organisation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("Party organisation there"),
    )
    inflow_name = models.CharField(
        _("Party organisation there (typed)"), max_length=200, blank=True
    )
    submitted_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=10, choices=Decision.choices, default=Decision.PENDING)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    inflow_status = models.CharField(
        max_length=10, choices=Decision.choices, default=Decision.PENDING
    )
    inflow_decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    inflow_decided_at = models.DateTimeField(null=True, blank=True)
    inflow_reason = models.CharField(_("reason given there"), max_length=300, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-submitted_at", "-id"]

    def __str__(self) -> str:
        return f"{self.member} → {self.destination}"


def receipt_storage():
    return storages["receipts"]


def receipt_path(instance: "DuesClaim", filename: str) -> str:
    # Never the member's file name: it may carry a name or an ID number.
    return f"receipts/{instance.member_id}/{instance.token}{instance.receipt_suffix}"


class DuesClaim(models.Model):
    """A payment the member says they made, with the receipt. Only the branch's confirmation
    makes it a `DuesPayment`; a returned claim says why."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="dues_claims")
    from_month = models.DateField(_("from month"))
    to_month = models.DateField(_("to month"))
    amount = models.DecimalField(_("amount"), max_digits=10, decimal_places=2)
    paid_on = models.DateField(_("paid on"))
    receipt = models.FileField(upload_to=receipt_path, storage=receipt_storage, max_length=200)
    token = models.CharField(max_length=32, editable=False)
    receipt_suffix = models.CharField(max_length=8, editable=False)
    submitted_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=10, choices=Decision.choices, default=Decision.PENDING)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    payment = models.OneToOneField(
        DuesPayment, on_delete=models.SET_NULL, null=True, blank=True, related_name="claim"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["-submitted_at", "-id"]

    def __str__(self) -> str:
        return f"{self.member} {self.from_month:%Y-%m}–{self.to_month:%Y-%m} {self.amount}"


class StudyItem(models.Model):
    """学习打卡 / 微党课: something to study, published by a branch to its members or by a
    county (or township) to all the mobile members under it."""

    class Audience(models.TextChoices):
        MEMBERS = "members", _("All members of the organisation")
        MOBILE = "mobile", _("Mobile members under the organisation")

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="study_items"
    )
    audience = models.CharField(
        _("for"), max_length=10, choices=Audience.choices, default=Audience.MOBILE
    )
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"), blank=True)
    link = models.URLField(_("link or video link"), blank=True)
    due_on = models.DateField(_("due on"))
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    published_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-published_at", "-id"]

    def __str__(self) -> str:
        return self.title


class StudyCheckIn(models.Model):
    item = models.ForeignKey(StudyItem, on_delete=models.CASCADE, related_name="check_ins")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="study_check_ins")
    reflection = models.CharField(
        _("one line on what you took from it"), max_length=200, blank=True
    )
    checked_in_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "member"], name="study_check_in_once")
        ]

    def __str__(self) -> str:
        return f"{self.member} ✓ {self.item}"


class MeetingReply(models.Model):
    """The member's answer to a planned meeting: in person, online, or excused with a reason
    the secretary judges a good reason or not."""

    class Answer(models.TextChoices):
        IN_PERSON = "in_person", _("I will attend in person")
        ONLINE = "online", _("I will attend online")
        EXCUSED = "excused", _("I ask to be excused")

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="replies")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="meeting_replies")
    answer = models.CharField(_("answer"), max_length=10, choices=Answer.choices)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    replied_at = models.DateTimeField(auto_now=True)
    excuse = models.CharField(max_length=10, choices=Decision.choices, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["activity", "member"], name="meeting_reply_once")
        ]

    def __str__(self) -> str:
        return f"{self.member}: {self.answer}"


class HelpRequestOrigin(models.Model):
    """Marks a service request the member raised from their own page (the request itself is
    the branch's `ServiceRequest`, handled where it always was)."""

    request = models.OneToOneField(
        ServiceRequest, on_delete=models.CASCADE, related_name="raised_by_member"
    )
    raised_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return str(self.request_id)
