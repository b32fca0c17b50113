import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from members.models import ExternalOrganisation, Member, Organisation

from . import places


class EpisodeQuerySet(models.QuerySet):
    """The questions asked of mobility episodes everywhere: which are current, whose."""

    def current(self) -> "EpisodeQuerySet":
        """Episodes still running (at most one per member)."""
        return self.filter(ended_on__isnull=True)

    def away_now(self) -> "EpisodeQuerySet":
        """Current episodes of active members: the mobile members the rules look at."""
        return self.current().filter(member__status=Member.Status.ACTIVE)

    def hosted_by(self, organisation) -> "EpisodeQuerySet":
        """Current episodes whose inflow organisation is in `organisation`'s subtree."""
        return self.current().filter(inflow_organisation__path__startswith=organisation.path)


class MobilityEpisode(models.Model):
    """One stretch of time a member lives, works or studies away from their home branch."""

    class Type(models.TextChoices):
        WORK = "work", _("Work")
        STUDY = "study", _("Study")
        SETTLED = "settled", _("Settled (family or housing)")
        TEMPORARY = "temporary", _("Temporary")
        ABROAD = "abroad", _("Abroad")

    class EndReason(models.TextChoices):
        RETURNED = "returned", _("Returned home")
        MOVED = "moved", _("Moved to a new place")
        TRANSFERRED = "transferred", _("Relationship transferred")

    class AbroadPurpose(models.TextChoices):
        """Why a member is abroad: Reg. art. 24 treats some kinds of stay and not others."""

        STUDY = "study", _("Study or research abroad")
        SETTLED_PRIVATELY = "settled_privately", _("Went abroad privately and settled there")
        WORK = "work", _("Work abroad (on official business or posted by an employer)")
        OTHER = "other", _("Other")

    class DeferredReason(models.TextChoices):
        """暂时无法转移: why the relationship cannot be transferred to where the member is."""

        SHORT_CONTRACT = "short_contract", _("Short-term contract")
        NO_ORGANISATION = "no_organisation", _("The receiving side has no Party organisation")
        OTHER = "other", _("Other (explain)")

    member = models.ForeignKey(
        Member, on_delete=models.CASCADE, related_name="mobility_episodes", verbose_name=_("member")
    )
    mobility_type = models.CharField(_("mobility type"), max_length=20, choices=Type.choices)
    left_on = models.DateField(_("left on"))
    destination_province = models.CharField(_("province"), max_length=30, blank=True)
    destination_city = models.CharField(_("city"), max_length=30, blank=True)
    destination_county = models.CharField(_("county or district"), max_length=30, blank=True)
    destination_country = models.CharField(_("country or region"), max_length=50, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    employer = models.CharField(_("employer or school"), max_length=100, blank=True)
    occupation = models.CharField(_("occupation"), max_length=50, blank=True)
    is_fixed_place = models.BooleanField(_("relatively fixed place"), default=False)
    expected_return_on = models.DateField(_("expected return"), null=True, blank=True)
    graduated_on = models.DateField(
        _("graduated on"),
        null=True,
        blank=True,
        help_text=_(
            "For a graduate whose job is not settled: the university keeps the relationship."
        ),
    )
    inflow_organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="hosted_episodes",
        verbose_name=_("inflow organisation (ours)"),
    )
    inflow_external = models.ForeignKey(
        ExternalOrganisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="hosted_episodes",
        verbose_name=_("inflow organisation (external)"),
    )
    abroad_purpose = models.CharField(
        _("purpose of the stay abroad"),
        max_length=20,
        choices=AbroadPurpose.choices,
        blank=True,
        help_text=_(
            "Only for a member abroad. Article 24 of the Regulations applies to study or research "
            "abroad over five years and to settling abroad privately, not to work abroad."
        ),
    )
    transfer_deferred_reason = models.CharField(
        _("why the relationship cannot be transferred for now"),
        max_length=20,
        choices=DeferredReason.choices,
        blank=True,
    )
    transfer_deferred_note = models.CharField(_("explanation"), max_length=200, blank=True)
    transfer_deferred_until = models.DateField(_("transfer deferred until"), null=True, blank=True)
    ended_on = models.DateField(_("ended on"), null=True, blank=True)
    end_reason = models.CharField(
        _("how it ended"), max_length=20, choices=EndReason.choices, blank=True
    )
    history = HistoricalRecords()
    objects = EpisodeQuerySet.as_manager()

    class Meta:
        verbose_name = _("mobility episode")
        verbose_name_plural = _("mobility episodes")
        constraints = [
            models.UniqueConstraint(
                fields=["member"],
                condition=Q(ended_on__isnull=True),
                name="one_current_episode_per_member",
            ),
            models.CheckConstraint(
                condition=Q(inflow_organisation__isnull=True) | Q(inflow_external__isnull=True),
                name="episode_one_inflow_side",
            ),
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(ended_on__gte=models.F("left_on")),
                name="episode_ends_after_it_starts",
            ),
        ]
        indexes = [models.Index(fields=["inflow_organisation", "ended_on"], name="episode_inflow")]

    def __str__(self) -> str:
        return f"{self.member} · {self.get_mobility_type_display()} · {self.destination}"

    def save(self, *args, **kwargs):
        self.destination_city = places.canonical_city(
            self.destination_province, self.destination_city
        )
        super().save(*args, **kwargs)

    @property
    def is_current(self) -> bool:
        return self.ended_on is None

    @property
    def destination(self) -> str:
        parts = (
            self.destination_country,
            self.destination_province,
            self.destination_city if self.destination_city != "市辖区" else "",
            self.destination_county,
        )
        return " ".join(part for part in parts if part)

    @property
    def inflow(self):
        return self.inflow_organisation or self.inflow_external

    @property
    def transfer_deferred_reason_text(self) -> str:
        """The reason in words, with the explanation for "other"."""
        if not self.transfer_deferred_reason:
            return ""
        text = str(self.get_transfer_deferred_reason_display())
        return f"{text}：{self.transfer_deferred_note}" if self.transfer_deferred_note else text


def new_verify_code() -> str:
    return secrets.token_urlsafe(16)


class ActivityCertificate(models.Model):
    """流动党员活动证: issued by the branch, stamped by the committee, numbered by the county."""

    class Status(models.TextChoices):
        VALID = "valid", _("Valid")
        RETURNED = "returned", _("Returned (member came home)")
        CANCELLED = "cancelled", _("Cancelled (relationship transferred)")
        LOST = "lost", _("Reported lost")

    number = models.CharField(_("certificate number"), max_length=30, unique=True)
    # What the QR code carries: random, so that codes say nothing of the issue order.
    verify_code = models.CharField(
        max_length=32, unique=True, default=new_verify_code, editable=False
    )
    member = models.ForeignKey(
        Member, on_delete=models.PROTECT, related_name="certificates", verbose_name=_("member")
    )
    episode = models.ForeignKey(
        MobilityEpisode,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="certificates",
        verbose_name=_("mobility episode"),
    )
    issuing_branch = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="issued_certificates",
        verbose_name=_("issuing branch"),
    )
    stamping_committee = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="stamped_certificates",
        verbose_name=_("stamping committee"),
    )
    issued_on = models.DateField(_("issued on"))
    reason = models.CharField(_("reason for going out"), max_length=200)
    destination = models.CharField(_("place of going out"), max_length=200)
    inflow_organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="inflow_certificates",
        verbose_name=_("inflow organisation (ours)"),
    )
    inflow_external = models.ForeignKey(
        ExternalOrganisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="inflow_certificates",
        verbose_name=_("inflow organisation (external)"),
    )
    # Recorded by (or for) the inflow side.
    arrived_on = models.DateField(_("arrived on"), null=True, blank=True)
    inflow_contact = models.CharField(_("inflow contact"), max_length=100, blank=True)
    departed_on = models.DateField(_("left the inflow side on"), null=True, blank=True)
    departure_participation = models.TextField(_("participation while there"), blank=True)
    departure_dues = models.CharField(_("dues paid while there"), max_length=200, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.VALID
    )
    ended_on = models.DateField(_("returned or cancelled on"), null=True, blank=True)
    reissue_of = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reissued_as",
        verbose_name=_("reissue of"),
    )
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        verbose_name=_("issued by"),
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("activity certificate")
        verbose_name_plural = _("activity certificates")
        ordering = ["-issued_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["member"],
                condition=Q(status="valid"),
                name="one_valid_certificate_per_member",
            ),
            models.CheckConstraint(
                condition=Q(inflow_organisation__isnull=True) | Q(inflow_external__isnull=True),
                name="certificate_one_inflow_side",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def inflow(self):
        return self.inflow_organisation or self.inflow_external

    @property
    def is_valid(self) -> bool:
        return self.status == self.Status.VALID


class CertificateReview(models.Model):
    """年审: the yearly review of a certificate, together with the democratic evaluation."""

    class Result(models.TextChoices):
        PASSED = "passed", _("Passed")
        FAILED = "failed", _("Not passed")

    certificate = models.ForeignKey(
        ActivityCertificate, on_delete=models.CASCADE, related_name="reviews"
    )
    year = models.PositiveSmallIntegerField(_("year"))
    reviewed_on = models.DateField(_("reviewed on"))
    result = models.CharField(_("result"), max_length=10, choices=Result.choices)
    note = models.CharField(_("note"), max_length=200, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )

    class Meta:
        verbose_name = _("certificate review")
        verbose_name_plural = _("certificate reviews")
        ordering = ["-year"]
        constraints = [
            models.UniqueConstraint(fields=["certificate", "year"], name="one_review_per_year")
        ]

    def __str__(self) -> str:
        return f"{self.certificate} {self.year}"


class NumberSequence(models.Model):
    """Per county, kind and year: the last number given out (rows are locked while numbering)."""

    county = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["county", "kind", "year"], name="one_sequence")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.year}: {self.last}"


class RelationshipTransfer(models.Model):
    """The transfer of a member's organisational relationship (组织关系转接)."""

    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Waiting for approval")
        APPROVED = "approved", _("Approved, letter issued")
        REJECTED = "rejected", _("Rejected")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Withdrawn")

    OPEN_STATES = (State.DRAFT, State.SUBMITTED, State.APPROVED)

    class Direction(models.TextChoices):
        OUTGOING = "outgoing", _("Outgoing or within the county")
        INCOMING = "incoming", _("Incoming from outside")

    member = models.ForeignKey(
        Member, on_delete=models.PROTECT, related_name="transfers", verbose_name=_("member")
    )
    direction = models.CharField(
        _("direction"), max_length=10, choices=Direction.choices, default=Direction.OUTGOING
    )
    from_branch = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="transfers_out",
        verbose_name=_("from branch"),
    )
    from_external = models.ForeignKey(
        ExternalOrganisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="transfers_out",
        verbose_name=_("from (external)"),
    )
    to_organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="transfers_in",
        verbose_name=_("to organisation (ours)"),
    )
    to_external = models.ForeignKey(
        ExternalOrganisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="transfers_in",
        verbose_name=_("to organisation (external)"),
    )
    reason = models.CharField(_("reason"), max_length=200)
    state = models.CharField(_("state"), max_length=20, choices=State.choices, default=State.DRAFT)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decision_note = models.CharField(_("decision note"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    completed_on = models.DateField(_("completed on"), null=True, blank=True)

    class Meta:
        verbose_name = _("relationship transfer")
        verbose_name_plural = _("relationship transfers")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["member"],
                condition=Q(state__in=["draft", "submitted", "approved"]),
                name="one_open_transfer_per_member",
            ),
            models.CheckConstraint(
                condition=(
                    Q(to_organisation__isnull=False, to_external__isnull=True)
                    | Q(to_organisation__isnull=True, to_external__isnull=False)
                ),
                name="transfer_one_destination",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member} → {self.destination}"

    @property
    def destination(self):
        return self.to_organisation or self.to_external

    @property
    def origin(self):
        return self.from_branch or self.from_external

    @property
    def current_letter(self):
        letters = [letter for letter in self.letters.all() if letter.state != "superseded"]
        return letters[0] if letters else None


class IntroductionLetter(models.Model):
    """介绍信: stub, letter and receipt. Valid for a set number of days (never over 90).

    The receiving side receives it on `received_on` (recorded by the sending branch for an
    external organisation; accepting the member records it for one of ours); the receipt is
    due one month after that day (`receipt_due_on`), not after the issue date.
    """

    class State(models.TextChoices):
        ISSUED = "issued", _("Issued")
        USED = "used", _("Used")
        SUPERSEDED = "superseded", _("Superseded by a reissue")

    transfer = models.ForeignKey(
        RelationshipTransfer, on_delete=models.CASCADE, related_name="letters"
    )
    number = models.CharField(_("letter number"), max_length=30, unique=True)
    issued_on = models.DateField(_("issued on"))
    valid_days = models.PositiveSmallIntegerField(_("valid for (days)"))
    expires_on = models.DateField(_("valid until"))
    dues_paid_until = models.DateField(
        _("dues paid up to (month)"), help_text=_("The first day of the last month paid.")
    )
    state = models.CharField(_("state"), max_length=20, choices=State.choices, default=State.ISSUED)
    received_on = models.DateField(
        _("received by the receiving side on"),
        null=True,
        blank=True,
        help_text=_("The receipt is due one month after this day."),
    )
    receipt_due_on = models.DateField(_("receipt due on"), null=True, blank=True)
    receipt_returned_on = models.DateField(_("receipt returned on"), null=True, blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )

    class Meta:
        verbose_name = _("introduction letter")
        verbose_name_plural = _("introduction letters")
        ordering = ["-issued_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_days__gte=1, valid_days__lte=90), name="letter_valid_days_1_90"
            ),
            models.UniqueConstraint(
                fields=["transfer"],
                condition=Q(state__in=["issued", "used"]),
                name="one_live_letter_per_transfer",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class TransferEvent(models.Model):
    """One step of a transfer, for the member's timeline: who did what, when."""

    class Action(models.TextChoices):
        DRAFTED = "drafted", _("Drafted")
        SUBMITTED = "submitted", _("Submitted for approval")
        APPROVED = "approved", _("Approved; introduction letter issued")
        REJECTED = "rejected", _("Rejected")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        LETTER_REISSUED = "letter_reissued", _("Introduction letter reissued")
        LETTER_RECEIVED = "letter_received", _("Introduction letter received by the other side")
        ACCEPTED = "accepted", _("Accepted by the receiving branch")
        RECEIPT_RETURNED = "receipt_returned", _("Receipt returned")
        REGISTERED_INCOMING = "registered_incoming", _("Registered on arrival with a letter")

    transfer = models.ForeignKey(
        RelationshipTransfer, on_delete=models.CASCADE, related_name="events"
    )
    action = models.CharField(_("action"), max_length=30, choices=Action.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(_("time"), auto_now_add=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.transfer} {self.get_action_display()}"
