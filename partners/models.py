"""Partner deployments, the receiving organisations they hold, and the messages between us.

A message's body carries an ID number, so bodies and secrets are encrypted at rest like
Member.national_id (members.fields.EncryptedTextField; `manage.py rotate_field_key` finds them).
"""

import json
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from members import national_id as national_ids
from members.fields import EncryptedTextField
from members.models import ExternalOrganisation, Member, Organisation
from transfers.models import ActivityCertificate, RelationshipTransfer


class Partner(models.Model):
    """Another Liudong deployment, registered by the administrators of both sides.

    Each direction has its own shared secret (HMAC-SHA256 over the timestamp and the body):
    `sending_secret` signs what we send (they verify with it), `receiving_secret` verifies
    what they send.
    """

    name = models.CharField(_("name"), max_length=100, unique=True)
    base_url = models.URLField(
        _("address"), help_text=_("Where the partner's Liudong answers, e.g. https://ld.example.cn")
    )
    our_key_id = models.CharField(
        _("our key id"), max_length=50, help_text=_("The name the partner knows us by.")
    )
    their_key_id = models.CharField(
        _("their key id"),
        max_length=50,
        unique=True,
        help_text=_("The name the partner signs its messages with."),
    )
    sending_secret = EncryptedTextField(_("secret for what we send"))
    receiving_secret = EncryptedTextField(_("secret for what we receive"))
    # Whose name the partner's steps are recorded under on this side: an account that cannot
    # sign in, a reviewer of `organisation` (the part of our tree its receipts may close).
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="partner",
        verbose_name=_("recorded as"),
    )
    active = models.BooleanField(_("active"), default=True)
    history = HistoricalRecords(excluded_fields=["sending_secret", "receiving_secret"])

    class Meta:
        verbose_name = _("partner deployment")
        verbose_name_plural = _("partner deployments")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def inbox_url(self) -> str:
        return self.base_url.rstrip("/") + "/partners/inbox/"


class PartnerOrganisation(models.Model):
    """An external organisation that is a branch of a partner: a transfer to it goes there."""

    external = models.OneToOneField(
        ExternalOrganisation,
        on_delete=models.CASCADE,
        related_name="partner_link",
        verbose_name=_("external organisation"),
    )
    partner = models.ForeignKey(
        Partner, on_delete=models.PROTECT, related_name="organisations", verbose_name=_("partner")
    )
    remote_code = models.CharField(
        _("code in the partner's deployment"),
        max_length=12,
        help_text=_("The receiving organisation's code there (its organisation code)."),
    )

    class Meta:
        verbose_name = _("partner's organisation")
        verbose_name_plural = _("partner's organisations")
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "remote_code"], name="partner_remote_code_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.external} → {self.partner} {self.remote_code}"


class Kind(models.TextChoices):
    LETTER = "letter", _("Introduction letter")
    RECEIPT = "receipt", _("Receipt")
    RETURNED = "returned", _("Letter returned")
    CERTIFICATE_ISSUED = "certificate_issued", _("Activity certificate issued")
    CERTIFICATE_ARRIVAL = "certificate_arrival", _("Certificate holder arrived")
    CERTIFICATE_DEPARTURE = "certificate_departure", _("Certificate holder left")
    CERTIFICATE_ENDED = "certificate_ended", _("Activity certificate ended")


class _Body(models.Model):
    body_json = EncryptedTextField(_("content"))

    class Meta:
        abstract = True

    @property
    def body(self) -> dict:
        return json.loads(self.body_json)

    @body.setter
    def body(self, value: dict) -> None:
        self.body_json = json.dumps(value, ensure_ascii=False, sort_keys=True)


class OutgoingMessage(_Body):
    """The outbox: a message is written with the step that causes it, then sent until answered.

    Its id is the idempotency key: however often it is delivered, the partner acts on it once.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting to be sent")
        SENT = "sent", _("Delivered")
        REFUSED = "refused", _("Refused by the partner")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    partner = models.ForeignKey(
        Partner, on_delete=models.PROTECT, related_name="outbox", verbose_name=_("partner")
    )
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    transfer = models.ForeignKey(
        RelationshipTransfer,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("transfer"),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_try_at = models.DateTimeField(_("next try"), default=timezone.now, db_index=True)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("outgoing message")
        verbose_name_plural = _("outgoing messages")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} → {self.partner_id} ({self.get_status_display()})"


class IncomingMessage(_Body):
    """Each message a partner delivered, once, by its id: a second delivery is only answered."""

    partner = models.ForeignKey(
        Partner, on_delete=models.PROTECT, related_name="inbox", verbose_name=_("partner")
    )
    message_id = models.UUIDField(_("message id"))
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)
    outcome = models.CharField(_("outcome"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("incoming message")
        verbose_name_plural = _("incoming messages")
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["partner", "message_id"], name="incoming_once")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ← {self.partner_id}"


class IncomingTransfer(models.Model):
    """An introduction letter a partner sent electronically, for the receiving branch here.

    It holds what the paper letter carries and nothing more.
    """

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting for the receiving branch")
        ACCEPTED = "accepted", _("Accepted")
        RETURNED = "returned", _("Returned to the sending side")

    partner = models.ForeignKey(
        Partner, on_delete=models.PROTECT, related_name="incoming", verbose_name=_("partner")
    )
    transfer_ref = models.CharField(_("the partner's transfer"), max_length=40)
    letter_number = models.CharField(_("letter number"), max_length=30)
    to_organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="incoming_partner_transfers",
        verbose_name=_("receiving organisation"),
    )
    from_name = models.CharField(_("from"), max_length=100)
    from_region = models.CharField(_("region"), max_length=100, blank=True)
    from_phone = models.CharField(_("phone of the sending organisation"), max_length=30, blank=True)
    from_address = models.CharField(_("postal address"), max_length=200, blank=True)
    issued_on = models.DateField(_("issued on"))
    valid_days = models.PositiveSmallIntegerField(_("valid for (days)"))
    expires_on = models.DateField(_("valid until"))
    dues_paid_until = models.DateField(_("dues paid up to (month)"))
    name = models.CharField(_("name"), max_length=50)
    gender = models.CharField(_("gender"), max_length=1, choices=Member.Gender.choices)
    ethnicity = models.CharField(_("ethnicity"), max_length=20)
    birth_date = models.DateField(_("birth date"))
    national_id = EncryptedTextField(_("national ID number"))
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    category = models.CharField(_("category"), max_length=20, choices=Member.Category.choices)
    joined_on = models.DateField(_("date joined the Party"))
    confirmed_on = models.DateField(_("date confirmed as full member"), null=True, blank=True)
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.PENDING
    )
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)
    decided_on = models.DateField(_("decided on"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    return_reason = models.CharField(_("reason for returning"), max_length=200, blank=True)
    member = models.ForeignKey(
        Member,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("member registered"),
    )
    history = HistoricalRecords(excluded_fields=["national_id"])

    class Meta:
        verbose_name = _("incoming electronic transfer")
        verbose_name_plural = _("incoming electronic transfers")
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "letter_number"], name="incoming_letter_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} · {self.letter_number}"

    @property
    def national_id_masked(self) -> str:
        return national_ids.mask(self.national_id)


class IncomingCertificate(models.Model):
    """An activity certificate a partner issued with a branch here as the inflow side.

    It holds what the paper certificate shows (no ID number is on it) and what the inflow side
    writes on it: the arrival, then the departure, each sent back to the issuing side.
    """

    class State(models.TextChoices):
        ISSUED = "issued", _("Waiting for the holder to arrive")
        ARRIVED = "arrived", _("Arrival registered")
        DEPARTED = "departed", _("Departure registered")
        REPLACED = "replaced", _("Replaced by a reissued certificate")
        ENDED = "ended", _("Ended by the issuing side")

    partner = models.ForeignKey(
        Partner,
        on_delete=models.PROTECT,
        related_name="incoming_certificates",
        verbose_name=_("partner"),
    )
    number = models.CharField(_("certificate number"), max_length=30)
    verify_code = models.CharField(_("verification code"), max_length=32)
    to_organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="incoming_partner_certificates",
        verbose_name=_("inflow organisation"),
    )
    name = models.CharField(_("name"), max_length=50)
    gender = models.CharField(_("gender"), max_length=1, choices=Member.Gender.choices)
    ethnicity = models.CharField(_("ethnicity"), max_length=20, blank=True)
    birth_date = models.DateField(_("birth date"))
    joined_on = models.DateField(_("date joined the Party"))
    category = models.CharField(_("category"), max_length=20, choices=Member.Category.choices)
    issuing_branch = models.CharField(_("issuing branch"), max_length=100)
    stamping_committee = models.CharField(_("stamping committee"), max_length=100)
    issued_on = models.DateField(_("issued on"))
    reason = models.CharField(_("reason for going out"), max_length=200, blank=True)
    destination = models.CharField(_("place of going out"), max_length=200, blank=True)
    replaces = models.CharField(_("replaces certificate"), max_length=30, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.ISSUED)
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)
    arrived_on = models.DateField(_("arrived on"), null=True, blank=True)
    inflow_contact = models.CharField(_("inflow contact"), max_length=100, blank=True)
    departed_on = models.DateField(_("left the inflow side on"), null=True, blank=True)
    departure_participation = models.TextField(_("participation while there"), blank=True)
    departure_dues = models.CharField(_("dues paid while there"), max_length=200, blank=True)
    ended_on = models.DateField(_("ended on"), null=True, blank=True)
    end_reason = models.CharField(
        _("why it ended"), max_length=10, choices=ActivityCertificate.Status.choices, blank=True
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("incoming activity certificate")
        verbose_name_plural = _("incoming activity certificates")
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["partner", "number"], name="incoming_certificate_once")
        ]

    def __str__(self) -> str:
        return f"{self.name} · {self.number}"
