from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords
from treebeard.mp_tree import MP_Node

from . import crypto, national_id, phone
from .fields import EncryptedTextField


def validate_phone(value: str) -> None:
    phone.validate(value)


class Organisation(MP_Node):
    """A Party organisation inside this deployment, in a materialised-path tree.

    A subtree is one `path LIKE 'prefix%'` query (django-treebeard MP_Node).
    """

    class Kind(models.TextChoices):
        COUNTY = "county", _("County organisation department")
        COMMITTEE = "committee", _("Grass-roots Party committee")
        GENERAL_BRANCH = "general_branch", _("General Party branch")
        BRANCH = "branch", _("Party branch")
        GROUP = "group", _("Party group")
        # 驻外党建工作站: set up by a county in a city where its members work; it holds no
        # relationships, and the mobile-member branches or groups under it only host.
        OUTPOST = "outpost", _("Party-building outpost")

    # Kinds that can hold members' organisational relationships (unless `hosts_only`).
    MEMBER_KINDS = (Kind.BRANCH, Kind.GENERAL_BRANCH, Kind.GROUP)

    name = models.CharField(_("organisation name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    code = models.CharField(
        _("code"),
        max_length=12,
        blank=True,
        help_text=_(
            "For the county: the administrative division code that starts certificate numbers."
        ),
    )
    region = models.CharField(_("region"), max_length=100, blank=True)
    contact_person = models.CharField(_("contact person"), max_length=50, blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True, validators=[validate_phone])
    # Printed on the introduction letters it issues (原党组织通讯地址).
    address = models.CharField(_("postal address"), max_length=200, blank=True)
    # The city an outpost (and the units under it) serves, as the divisions name it, so that
    # it matches the episodes' destination_province and destination_city.
    serves_province = models.CharField(_("province served"), max_length=30, blank=True)
    serves_city = models.CharField(_("city served"), max_length=30, blank=True)
    hosts_only = models.BooleanField(
        _("hosts mobile members only"),
        default=False,
        help_text=_(
            "A mobile-member branch or group under an outpost: it hosts members away from home "
            "and holds nobody's organisational relationship."
        ),
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")

    def __str__(self) -> str:
        return self.name

    @property
    def holds_members(self) -> bool:
        """Can be a member's home branch (a mobile-member branch cannot: it only hosts)."""
        return self.kind in self.MEMBER_KINDS and not self.hosts_only

    @property
    def hosts_members(self) -> bool:
        """Can be a mobility episode's inflow organisation: a branch-level unit or an outpost."""
        return self.kind in self.MEMBER_KINDS or self.kind == self.Kind.OUTPOST

    @property
    def is_outpost(self) -> bool:
        return self.kind == self.Kind.OUTPOST

    def clean(self) -> None:
        super().clean()
        if self.kind == self.Kind.OUTPOST and not self.serves_city:
            raise ValidationError({"serves_city": _("An outpost serves a city: give it.")})


class ExternalOrganisation(models.Model):
    """An organisation outside this deployment that hosts or sends a member; nobody logs in for it."""

    name = models.CharField(_("organisation name"), max_length=100)
    region = models.CharField(_("region"), max_length=100)
    contact_person = models.CharField(_("contact person"), max_length=50, blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True, validators=[validate_phone])
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("external organisation")
        verbose_name_plural = _("external organisations")
        ordering = ["region", "name"]
        constraints = [
            models.UniqueConstraint(fields=["name", "region"], name="external_org_unique_name")
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.region}）"


class Member(models.Model):
    class Gender(models.TextChoices):
        MALE = "M", _("Male")
        FEMALE = "F", _("Female")

    class Category(models.TextChoices):
        FULL = "full", _("Full member")
        PROBATIONARY = "probationary", _("Probationary member")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Membership suspended")
        REMOVED = "removed", _("Removed")
        TRANSFERRED_OUT = "transferred_out", _("Transferred out")
        DECEASED = "deceased", _("Deceased")

    name = models.CharField(_("name"), max_length=50, db_index=True)
    gender = models.CharField(_("gender"), max_length=1, choices=Gender.choices)
    ethnicity = models.CharField(_("ethnicity"), max_length=20, default="汉族")
    birth_date = models.DateField(_("birth date"))
    national_id = EncryptedTextField(_("national ID number"))
    national_id_digest = models.CharField(max_length=64, unique=True, editable=False)
    phone = models.CharField(_("phone"), max_length=30, validators=[validate_phone])
    email = models.EmailField(_("e-mail"), blank=True)
    category = models.CharField(
        _("category"), max_length=20, choices=Category.choices, default=Category.FULL
    )
    joined_on = models.DateField(_("date joined the Party"))
    confirmed_on = models.DateField(_("date confirmed as full member"), null=True, blank=True)
    home_branch = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="members",
        verbose_name=_("home branch"),
        help_text=_("The branch that holds the member's organisational relationship."),
        db_index=False,  # member_branch_id below serves the same lookups
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    # The encrypted number never goes into history; its digest shows that it changed.
    history = HistoricalRecords(excluded_fields=["national_id", "created_at", "updated_at"])

    class Meta:
        verbose_name = _("Party member")
        verbose_name_plural = _("Party members")
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["home_branch", "name"], name="member_branch_name"),
            # The ids of a subtree's members from the index alone (no read of the table): every
            # reviewer's scope filter selects them.
            models.Index(fields=["home_branch", "id"], name="member_branch_id"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.national_id_digest = crypto.digest(self.national_id)
        super().save(*args, **kwargs)

    @property
    def national_id_masked(self) -> str:
        """What the home side sees (the full number is one logged click away)."""
        return national_id.mask(self.national_id)

    @property
    def national_id_tail(self) -> str:
        """What a hosting side sees: the last four characters only."""
        return national_id.mask_tail(self.national_id)

    def clean(self) -> None:
        errors: dict[str, list] = {}
        if self.national_id and self.birth_date:
            born = national_id.birth_date_of(self.national_id)
            if born and born != self.birth_date:
                errors.setdefault("birth_date", []).append(
                    _("The birth date does not match the ID number (%(date)s).")
                    % {"date": born.isoformat()}
                )
        if self.birth_date and self.joined_on:
            if (
                self.joined_on.year
                - self.birth_date.year
                - (
                    (self.joined_on.month, self.joined_on.day)
                    < (self.birth_date.month, self.birth_date.day)
                )
                < 18
            ):
                errors.setdefault("joined_on", []).append(
                    _("A member joins the Party at 18 or older.")
                )
        if self.category == self.Category.PROBATIONARY and self.confirmed_on:
            errors.setdefault("confirmed_on", []).append(
                _("A probationary member has no confirmation date yet.")
            )
        if self.confirmed_on and self.joined_on and self.confirmed_on <= self.joined_on:
            errors.setdefault("confirmed_on", []).append(
                _("The confirmation date must come after the date of joining.")
            )
        if self.home_branch_id and not self.home_branch.holds_members:
            errors.setdefault("home_branch", []).append(
                _("Choose a Party branch, general branch or group, not a committee.")
            )
        if errors:
            raise ValidationError(errors)


class StaffAssignment(models.Model):
    """Which organisation node a user works for, and in what role. Rights follow the node."""

    class Role(models.TextChoices):
        SECRETARY = "secretary", _("Branch secretary / contact person")
        REVIEWER = "reviewer", _("Reviewer (committee or county)")
        ADMINISTRATOR = "administrator", _("Administrator")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="assignment",
        verbose_name=_("user"),
    )
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="staff",
        verbose_name=_("organisation"),
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("staff assignment")
        verbose_name_plural = _("staff assignments")

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.organisation}"


class SensitiveAccess(models.Model):
    """A log line for each sensitive read: an ID number, an export, a thought-and-conduct note."""

    class Action(models.TextChoices):
        REVEAL_NATIONAL_ID = "reveal_national_id", _("Revealed national ID number")
        PRINT_LETTER = "print_letter", _("Printed an introduction letter (holds the ID number)")
        EXPORT_LEDGER = "export_ledger", _("Exported a ledger")
        EXPORT_REPORT = "export_report", _("Exported a dashboard or report")
        VIEW_CONDUCT_NOTE = "view_conduct_note", _("Opened a note on thought and conduct")
        SEARCH_NATIONAL_ID = "search_national_id", _("Searched by a full national ID number")
        DUPLICATE_REGISTRATION = (
            "duplicate_registration",
            _("Tried to register a number held elsewhere"),
        )
        VIEW_DUES_RECEIPT = "view_dues_receipt", _("Opened a member's dues receipt")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, verbose_name=_("user")
    )
    member = models.ForeignKey(
        Member, on_delete=models.CASCADE, null=True, blank=True, verbose_name=_("member")
    )
    action = models.CharField(_("action"), max_length=40, choices=Action.choices)
    at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    # What was read when there is no member: which report, for which organisation.
    detail = models.CharField(_("detail"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("sensitive access")
        verbose_name_plural = _("sensitive access log")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.user} {self.get_action_display()}"


class EvidenceBaseline(models.Model):
    """What was known of a member before Liudong held their records (e.g. from an imported ledger).

    `since` is the day Liudong's own records start: a rule's clock with no evidence starts
    there, not years earlier. The other dates are the sheet's own evidence (最近联系时间,
    最近参加组织生活, 党费交至), counted like records of the same kind.
    """

    member = models.OneToOneField(
        Member, on_delete=models.CASCADE, related_name="baseline", verbose_name=_("member")
    )
    since = models.DateField(_("records start on"))
    last_contact_on = models.DateField(_("last contact (before)"), null=True, blank=True)
    last_life_on = models.DateField(_("last organisational life (before)"), null=True, blank=True)
    dues_paid_to = models.DateField(_("dues paid up to (month)"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("evidence before Liudong")
        verbose_name_plural = _("evidence before Liudong")

    def __str__(self) -> str:
        return f"{self.member} {self.since}"


class MembershipDecision(models.Model):
    """停止党籍, 恢复党籍, 除名: decisions on membership, dated, so the later steps can follow."""

    class Kind(models.TextChoices):
        SUSPENSION = "suspension", _("Suspension of membership (停止党籍)")
        RESTORATION = "restoration", _("Restoration of membership (恢复党籍)")
        REMOVAL = "removal", _("Removal from the Party (除名)")

    class Ground(models.TextChoices):
        LOST_CONTACT = "lost_contact", _("Lost contact for six months or more (Reg. art. 24)")
        ABROAD = "abroad", _("Abroad for more than five years / settled abroad (Reg. art. 24)")
        SELF_WITHDRAWAL = "self_withdrawal", _("Treated as self-withdrawal (Constitution art. 9)")
        OTHER = "other", _("Other")

    member = models.ForeignKey(
        Member, on_delete=models.CASCADE, related_name="decisions", verbose_name=_("member")
    )
    kind = models.CharField(_("decision"), max_length=20, choices=Kind.choices)
    decided_on = models.DateField(_("decided on"))
    deciding_organisation = models.CharField(_("deciding organisation"), max_length=100)
    ground = models.CharField(
        _("ground"), max_length=20, choices=Ground.choices, blank=True, default=""
    )
    document_number = models.CharField(_("document number"), max_length=50, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("membership decision")
        verbose_name_plural = _("membership decisions")
        ordering = ["-decided_on", "-id"]

    def __str__(self) -> str:
        return f"{self.member} {self.get_kind_display()} {self.decided_on}"


class CorrectionTerm(models.Model):
    """限期改正 (Reg. arts. 29-30): after criticism and education, a term to correct.

    Open while `closed_on` is empty. It closes when the condition clears (the scan does it);
    when it ends with the condition still there, the rule `correction_term_ended` says so.
    """

    member = models.ForeignKey(
        Member, on_delete=models.CASCADE, related_name="correction_terms", verbose_name=_("member")
    )
    condition = models.CharField(_("condition (rule)"), max_length=50)
    educated_on = models.DateField(_("criticism and education on"))
    ends_on = models.DateField(_("term ends on"))
    note = models.CharField(_("what was said and agreed"), max_length=300, blank=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    close_reason = models.CharField(_("why closed"), max_length=30, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("correction term")
        verbose_name_plural = _("correction terms")
        ordering = ["-educated_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["member", "condition"],
                condition=models.Q(closed_on__isnull=True),
                name="one_open_term_per_condition",
            ),
            models.CheckConstraint(
                condition=models.Q(ends_on__gt=models.F("educated_on")),
                name="term_ends_after_education",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member} {self.condition} → {self.ends_on}"


class DuplicateRegistration(models.Model):
    """Someone tried to register (by hand or by import) an ID number that belongs to a member
    outside their scope. The secretary learns only that the number cannot be registered
    there; the reviewers who see both sides get the case (no existence oracle)."""

    class Source(models.TextChoices):
        FORM = "form", _("New-member form")
        IMPORT = "import", _("Ledger import")

    attempted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("registering organisation"),
    )
    existing_member = models.ForeignKey(
        Member, on_delete=models.CASCADE, related_name="+", verbose_name=_("member registered")
    )
    source = models.CharField(_("where"), max_length=10, choices=Source.choices)
    name_given = models.CharField(_("name given"), max_length=50, blank=True)
    at = models.DateTimeField(_("time"), auto_now_add=True)
    resolved_at = models.DateTimeField(_("settled at"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolution = models.CharField(_("how it was settled"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("duplicate registration attempt")
        verbose_name_plural = _("duplicate registration attempts")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d} {self.organisation} → {self.existing_member}"
