from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from members.models import ExternalOrganisation, Member, Organisation


class Side(models.TextChoices):
    HOME = "home", _("Home branch")
    INFLOW = "inflow", _("Inflow side")


class Activity(models.Model):
    """A meeting or event of organisational life held by a branch."""

    class Kind(models.TextChoices):
        GENERAL_MEETING = "general_meeting", _("Branch general meeting")
        COMMITTEE_MEETING = "committee_meeting", _("Branch committee meeting")
        GROUP_MEETING = "group_meeting", _("Party group meeting")
        PARTY_LECTURE = "party_lecture", _("Party lecture")
        THEME_DAY = "theme_day", _("Theme Party day")
        LIFE_MEETING = "life_meeting", _("Organisational life meeting")
        EVALUATION_MEETING = "evaluation_meeting", _("Democratic evaluation meeting")
        ONLINE_STUDY = "online_study", _("Online study (微党课)")

    branch = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="activities", verbose_name=_("branch")
    )
    kind = models.CharField(_("activity kind"), max_length=30, choices=Kind.choices)
    held_on = models.DateField(_("date"))
    title = models.CharField(_("title"), max_length=200)
    place = models.CharField(_("place"), max_length=200, blank=True)
    online = models.BooleanField(_("online"), default=False)
    notes = models.TextField(_("notes"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        ordering = ["-held_on", "-id"]
        indexes = [models.Index(fields=["branch", "held_on"], name="activity_branch_date")]

    def __str__(self) -> str:
        return f"{self.held_on} {self.title}"


class Attendance(models.Model):
    class Status(models.TextChoices):
        PRESENT = "present", _("Present")
        ONLINE = "online", _("Present online")
        ABSENT = "absent", _("Absent")
        EXCUSED = "excused", _("Excused")
        # 流动在外: the default for a member away from the branch. Not attendance, and no
        # excuse either: the member is to take part where they are (reported as participation
        # elsewhere) or ask for a good reason.
        AWAY = "away", _("Away, may take part where they are (流动在外)")

    ATTENDED = (Status.PRESENT, Status.ONLINE)

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="attendance")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="attendance")
    status = models.CharField(_("attendance"), max_length=10, choices=Status.choices)
    reason = models.CharField(_("reason for absence"), max_length=200, blank=True)
    makeup = models.BooleanField(_("make-up session (返乡补课)"), default=False)

    class Meta:
        verbose_name = _("attendance")
        verbose_name_plural = _("attendance")
        constraints = [
            models.UniqueConstraint(
                fields=["activity", "member"], name="one_attendance_per_member"
            ),
            models.CheckConstraint(
                condition=~Q(status="excused") | ~Q(reason=""), name="excused_needs_reason"
            ),
        ]
        indexes = [models.Index(fields=["member", "status"], name="attendance_member")]

    def __str__(self) -> str:
        return f"{self.member} {self.get_status_display()}"


class ExternalParticipation(models.Model):
    """Organisational life away from Liudong, reported on the certificate or by the inflow side."""

    member = models.ForeignKey(
        Member, on_delete=models.CASCADE, related_name="external_participation"
    )
    on = models.DateField(_("date"))
    organisation = models.CharField(_("organisation"), max_length=200)
    kind = models.CharField(_("activity kind"), max_length=30, choices=Activity.Kind.choices)
    note = models.CharField(_("note"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("participation elsewhere")
        verbose_name_plural = _("participation elsewhere")
        ordering = ["-on"]

    def __str__(self) -> str:
        return f"{self.member} {self.on}"


class DuesAmount(models.Model):
    """The monthly dues of a member for a year, and how it was computed."""

    class Basis(models.TextChoices):
        INCOME = "income", _("From monthly after-tax income")
        RETIREE = "retiree", _("Retired: from the monthly pension")
        STUDENT = "student", _("Student")
        UNEMPLOYED = "unemployed", _("Unemployed")
        ALLOWANCE = "allowance", _("On minimum living allowance")
        FARMER = "farmer", _("Farmer")
        MANUAL = "manual", _("Set by hand")

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="dues_amounts")
    year = models.PositiveSmallIntegerField(_("year"))
    basis = models.CharField(_("basis"), max_length=20, choices=Basis.choices)
    monthly_income = models.DecimalField(
        _("monthly after-tax income"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    monthly_amount = models.DecimalField(_("monthly dues"), max_digits=8, decimal_places=2)
    reason = models.CharField(_("reason for a set amount"), max_length=200, blank=True)
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("dues amount")
        verbose_name_plural = _("dues amounts")
        constraints = [
            models.UniqueConstraint(fields=["member", "year"], name="one_dues_amount_per_year")
        ]

    def __str__(self) -> str:
        return f"{self.member} {self.year}: {self.monthly_amount}"


class DuesPayment(models.Model):
    class Method(models.TextChoices):
        CASH = "cash", _("Cash")
        WECHAT = "wechat", _("WeChat")
        ALIPAY = "alipay", _("Alipay")
        BANK = "bank", _("Bank transfer")

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="dues_payments")
    from_month = models.DateField(_("from month"))
    to_month = models.DateField(_("to month"))
    amount = models.DecimalField(_("amount"), max_digits=10, decimal_places=2)
    paid_to = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("paid to"),
    )
    paid_to_external = models.ForeignKey(
        ExternalOrganisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("paid to (external)"),
    )
    paid_on = models.DateField(_("paid on"))
    method = models.CharField(_("how"), max_length=10, choices=Method.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("dues payment")
        verbose_name_plural = _("dues payments")
        ordering = ["-to_month", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(to_month__gte=models.F("from_month")), name="payment_months_in_order"
            ),
        ]
        indexes = [models.Index(fields=["member", "to_month"], name="payment_member_month")]

    def __str__(self) -> str:
        return f"{self.member} {self.from_month:%Y-%m}–{self.to_month:%Y-%m}"


class Evaluation(models.Model):
    """双向评议: each year both the home branch and the inflow side evaluate a mobile member."""

    class Grade(models.TextChoices):
        EXCELLENT = "excellent", _("Excellent")
        QUALIFIED = "qualified", _("Qualified")
        BASIC = "basic", _("Basically qualified")
        UNQUALIFIED = "unqualified", _("Unqualified")

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="evaluations")
    year = models.PositiveSmallIntegerField(_("year"))
    side = models.CharField(_("evaluating side"), max_length=10, choices=Side.choices)
    evaluator = models.CharField(_("evaluating organisation"), max_length=200)
    grade = models.CharField(_("grade"), max_length=15, choices=Grade.choices)
    remarks = models.CharField(_("remarks"), max_length=300, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("evaluation")
        verbose_name_plural = _("evaluations")
        ordering = ["-year", "side"]
        constraints = [
            models.UniqueConstraint(
                fields=["member", "year", "side"], name="one_evaluation_per_side"
            )
        ]

    def __str__(self) -> str:
        return f"{self.member} {self.year} {self.get_side_display()}"


class AssignedWork(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        DONE = "done", _("Done")
        NOT_DONE = "not_done", _("Not done")

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="assigned_work")
    side = models.CharField(_("given by"), max_length=10, choices=Side.choices)
    title = models.CharField(_("task"), max_length=200)
    assigned_on = models.DateField(_("assigned on"))
    due_on = models.DateField(_("due on"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("assigned work")
        verbose_name_plural = _("assigned work")
        ordering = ["-assigned_on"]

    def __str__(self) -> str:
        return self.title


class ServiceRequest(models.Model):
    class Kind(models.TextChoices):
        EMPLOYMENT = "employment", _("Employment help")
        LEGAL = "legal", _("Legal aid")
        SOCIAL_SECURITY = "social_security", _("Social security transfer")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        IN_PROGRESS = "in_progress", _("In progress")
        DONE = "done", _("Done")

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="service_requests")
    kind = models.CharField(_("request type"), max_length=20, choices=Kind.choices)
    description = models.CharField(_("what"), max_length=300)
    raised_on = models.DateField(_("raised on"))
    handler = models.CharField(_("handled by"), max_length=100, blank=True)
    status = models.CharField(
        _("status"), max_length=15, choices=Status.choices, default=Status.OPEN
    )
    outcome = models.CharField(_("outcome"), max_length=300, blank=True)
    # Who answered what, and when (a request may come from the member's phone, issue #19).
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("service request")
        verbose_name_plural = _("service requests")
        ordering = ["-raised_on"]

    def __str__(self) -> str:
        return self.description


class Honour(models.Model):
    class Kind(models.TextChoices):
        EXCELLENT_MOBILE = "excellent_mobile", _("Excellent mobile Party member")
        MODEL_POST = "model_post", _("Party member model post")

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="honours")
    kind = models.CharField(_("honour"), max_length=20, choices=Kind.choices)
    year = models.PositiveSmallIntegerField(_("year"))
    side = models.CharField(_("awarded by"), max_length=10, choices=Side.choices)

    class Meta:
        verbose_name = _("honour")
        verbose_name_plural = _("honours")
        ordering = ["-year"]

    def __str__(self) -> str:
        return f"{self.member} {self.year} {self.get_kind_display()}"


class GoodReason(models.Model):
    """正当理由 (Constitution art. 9): months excused from the self-withdrawal rules.

    Every calendar month the period touches is excused: neither missed nor attended. An excused
    absence from one meeting excuses organisational life only; the other kinds excuse life,
    dues and assigned work.
    """

    class Kind(models.TextChoices):
        EXCUSED_ABSENCE = "excused_absence", _("Excused absence from a meeting")
        ILLNESS = "illness", _("Serious illness")
        ABROAD_PAUSED = (
            "abroad_paused",
            _("Study or research abroad, organisational life paused (Reg. art. 34)"),
        )
        OTHER = "other", _("Other")

    LIFE_ONLY = (Kind.EXCUSED_ABSENCE,)

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="good_reasons")
    kind = models.CharField(_("kind of reason"), max_length=20, choices=Kind.choices)
    starts_on = models.DateField(pgettext_lazy("good reason", "from"))
    ends_on = models.DateField(pgettext_lazy("good reason", "until"))
    note = models.CharField(pgettext_lazy("good reason", "reason"), max_length=300)
    approved_by = models.CharField(_("approved by"), max_length=100)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("good reason")
        verbose_name_plural = _("good reasons")
        ordering = ["-starts_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=models.F("starts_on")), name="reason_ends_after_start"
            ),
        ]
        indexes = [models.Index(fields=["ends_on"], name="reason_ends_on")]

    def __str__(self) -> str:
        return f"{self.member} {self.get_kind_display()} {self.starts_on}–{self.ends_on}"

    def covers(self, what: str) -> bool:
        """Whether the reason excuses `what` ("life", "dues" or "work")."""
        return what == "life" or self.kind not in self.LIFE_ONLY
