"""Forms for organisational life, attendance, dues, evaluations, work, services and honours."""

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from members import validators
from members.forms import DateInput, MonthField, MonthInput
from members.models import Organisation
from members.validators import not_in_future

from .models import (
    Activity,
    AssignedWork,
    Attendance,
    DuesAmount,
    DuesPayment,
    Evaluation,
    ExternalParticipation,
    GoodReason,
    Honour,
    ServiceRequest,
    Side,
)

EXCUSED_NEEDS_REASON = _("An excused absence needs a reason.")
Status = Attendance.Status


def typed(form: forms.BaseForm) -> dict:
    """What was typed into a bound form, as the initial of the same form shown again."""
    return {name: form[name].value() for name in form.fields}


def year_field(**kwargs) -> forms.IntegerField:
    return forms.IntegerField(label=_("Year"), min_value=2000, max_value=2100, **kwargs)


class BranchYearForm(forms.Form):
    """The branch and year a page shows (?branch=&year=); the view has checked both."""

    branch = forms.TypedChoiceField(label=_("Branch"), coerce=int)
    year = year_field()

    def __init__(self, *, branches: list[Organisation], branch: Organisation, year: int):
        super().__init__(initial={"branch": branch.pk, "year": year})
        self.fields["branch"].choices = [(b.pk, b.name) for b in branches]
        if len(branches) < 2:
            self.fields["branch"].widget = forms.HiddenInput()


class ActivityForm(forms.ModelForm):
    class Meta:
        model = Activity
        fields = ["kind", "held_on", "title", "place", "online", "notes"]
        labels = {"kind": _("Kind of activity"), "online": _("Held online")}
        widgets = {"held_on": DateInput(), "notes": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["held_on"].help_text = _(
            "A future date plans the activity; mark attendance on or after the day."
        )
        self.fields["held_on"].validators += [
            validators.not_far_ahead,
            validators.not_before_party,
        ]
        validators.limit_length(self.fields["notes"])


class AttendanceRowForm(forms.Form):
    """One line of the roster; prefixed with the member's id."""

    status = forms.ChoiceField(
        label=_("Attendance"),
        choices=Status.choices,
        initial=Status.ABSENT,
        required=False,  # a member added to the roster since the page was opened: absent
    )
    reason = forms.CharField(label=_("Reason for the absence"), max_length=200, required=False)
    makeup = forms.BooleanField(label=_("Make-up session (返乡补课)"), required=False)
    # The status the page showed: a line still posting it was not changed by hand.
    shown = forms.CharField(widget=forms.HiddenInput, max_length=10, required=False)

    def __init__(
        self, *args, member, hosted: bool, away: bool = False, default=Status.ABSENT, **kwargs
    ):
        super().__init__(*args, prefix=str(member.pk), **kwargs)
        self.member = member
        self.hosted = hosted
        self.away = away  # a current mobility episode takes the member away from the branch
        self.default = default
        for field in self.visible_fields():
            field.field.widget.attrs["aria-label"] = f"{member.name}: {field.label}"

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("status") == Status.EXCUSED and not cleaned.get("reason"):
            self.add_error("reason", EXCUSED_NEEDS_REASON)
        return cleaned

    def value(self) -> tuple[str, str, bool]:
        data = self.cleaned_data
        return data["status"] or Status.ABSENT, data["reason"], data["makeup"]

    def untouched(self) -> bool:
        """Whether the line (bound) still has the status the page put there."""
        shown = self["shown"].value()
        return not shown or self["status"].value() == shown

    def typed(self, *, preset: str = "") -> dict:
        """The line as posted, its status set to `preset` (a status, or DEFAULTS) if the line
        was not changed by hand: the initial of the line shown again."""
        line = typed(self)
        line["reason"] = line["reason"] or ""
        if line["status"] not in Status.values:
            line["status"] = self.default
        if self.untouched():
            if preset:
                line["status"] = self.default if preset == Roster.DEFAULTS else preset
            line["shown"] = line["status"]
        # A line changed by hand keeps the status it was first shown with: still changed.
        return line


class Roster:
    """The attendance forms of a roster, one per member.

    Members without a mark start at home as present (absent while the activity is planned:
    nobody is marked before the day), away as `AWAY`. Each line carries the status it was
    shown with, so that a preset fills only the lines nobody changed by hand.
    """

    DEFAULTS = "default"
    PRESETS = (Status.PRESENT, Status.ONLINE, DEFAULTS)

    def __init__(
        self,
        data,
        *,
        members,
        branch: Organisation,
        initial: dict | None = None,
        planned: bool = False,
    ):
        self.members, self.branch, self.planned = members, branch, planned
        initial = initial or {}
        self.forms = []
        for member in members:
            away = bool(getattr(member, "away", False))
            default = Status.AWAY if away else Status.ABSENT if planned else Status.PRESENT
            line = {"status": default, **initial.get(member.pk, {})}
            line.setdefault("shown", line["status"])
            self.forms.append(
                AttendanceRowForm(
                    data,
                    member=member,
                    hosted=member.home_branch_id != branch.pk,
                    away=away,
                    default=default,
                    initial=line,
                )
            )

    def __iter__(self):
        return iter(self.forms)

    def __len__(self) -> int:
        return len(self.forms)

    def is_valid(self) -> bool:
        return all([form.is_valid() for form in self.forms])  # validate every row

    @property
    def has_errors(self) -> bool:
        return any(form.errors for form in self.forms)

    def with_preset(self, preset: str) -> "Roster":
        """The roster shown again from what was posted, `preset` applied to the lines not
        changed by hand (an unknown preset applies to none); nothing typed is lost."""
        preset = preset if preset in self.PRESETS else ""
        return Roster(
            None,
            members=self.members,
            branch=self.branch,
            initial={form.member.pk: form.typed(preset=preset) for form in self.forms},
            planned=self.planned,
        )

    def attendance(self, *, planned: bool = False) -> dict[int, tuple[str, str, bool]]:
        """{member id: (status, reason, make-up)}. For a planned activity, the lines nobody
        changed are left unmarked until the day."""
        return {
            form.member.pk: form.value()
            for form in self.forms
            if not (planned and form.untouched())
        }


class ExternalParticipationForm(forms.ModelForm):
    class Meta:
        model = ExternalParticipation
        fields = ["on", "organisation", "kind", "note"]
        labels = {"kind": _("Kind of activity")}
        widgets = {"on": DateInput()}
        help_texts = {
            "organisation": _("The organisation where the member took part, as reported."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["on"].validators += [not_in_future, validators.not_before_party]


class DuesAmountForm(forms.Form):
    year = year_field()
    basis = forms.ChoiceField(label=_("Basis"), choices=DuesAmount.Basis.choices)
    monthly_income = forms.DecimalField(
        label=_("Monthly after-tax income"),
        max_digits=10,
        decimal_places=2,
        min_value=0,
        required=False,
        help_text=_(
            "For the income basis the after-tax income, for a retiree the monthly pension: "
            "the dues follow the 2008 table."
        ),
    )
    monthly_amount = forms.DecimalField(
        label=_("Monthly dues"),
        max_digits=8,
        decimal_places=2,
        min_value=0,
        validators=[validators.not_absurd_amount],
        required=False,
        help_text=_("Only when set by hand."),
    )
    reason = forms.CharField(
        label=_("Why set by hand"),
        max_length=200,
        required=False,
        help_text=_("Required when the amount is set by hand."),
    )


class DuesPaymentForm(forms.ModelForm):
    class Meta:
        model = DuesPayment
        fields = ["from_month", "to_month", "amount", "paid_on", "method", "paid_to"]
        field_classes = {"from_month": MonthField, "to_month": MonthField}
        widgets = {"from_month": MonthInput(), "to_month": MonthInput(), "paid_on": DateInput()}

    def __init__(self, *args, paid_to_choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["paid_on"].validators += [not_in_future, validators.not_before_party]
        self.fields["amount"].validators += [
            validators.positive_amount,
            validators.not_absurd_amount,
        ]
        for name in ("from_month", "to_month"):
            self.fields[name].validators += [
                validators.not_far_ahead,
                validators.not_before_party,
            ]
        self.fields["paid_to"].queryset = paid_to_choices
        self.fields["paid_to"].required = True
        self.fields["paid_to"].empty_label = None

    def clean(self):
        cleaned = super().clean()
        validators.in_order(
            self, "from_month", "to_month", _("The last month paid cannot be before the first.")
        )
        return cleaned


class EvaluationForm(forms.ModelForm):
    class Meta:
        model = Evaluation
        fields = ["year", "side", "evaluator", "grade", "remarks"]
        labels = {"side": _("Evaluated by")}

    def __init__(self, *args, home: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not home:  # the inflow side records only its own evaluation
            self.fields["side"].choices = [(Side.INFLOW.value, Side.INFLOW.label)]
        self.fields["year"].validators.append(validators.plausible_year)


class AssignedWorkForm(forms.ModelForm):
    class Meta:
        model = AssignedWork
        fields = ["side", "title", "assigned_on", "due_on"]
        widgets = {"assigned_on": DateInput(), "due_on": DateInput()}

    def __init__(self, *args, home: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not home:
            self.fields["side"].choices = [(Side.INFLOW.value, Side.INFLOW.label)]
        self.fields["assigned_on"].validators += [not_in_future, validators.not_before_party]
        self.fields["due_on"].validators.append(validators.not_far_ahead)

    def clean(self):
        cleaned = super().clean()
        validators.in_order(
            self, "assigned_on", "due_on", _("The work cannot be due before it is assigned.")
        )
        return cleaned


class WorkCloseForm(forms.Form):
    done = forms.TypedChoiceField(
        label=_("Outcome"),
        choices=[("1", _("Done")), ("0", _("Not done"))],
        coerce=lambda value: value == "1",
        widget=forms.RadioSelect,
    )
    note = forms.CharField(label=_("Note"), max_length=200, required=False)


class ServiceRequestForm(forms.ModelForm):
    class Meta:
        model = ServiceRequest
        fields = ["kind", "description", "raised_on", "handler", "status", "outcome"]
        labels = {"kind": _("Kind of service")}
        widgets = {"raised_on": DateInput()}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["raised_on"].validators += [not_in_future, validators.not_before_party]

    def clean(self):
        cleaned = super().clean()
        member = self.instance.member if self.instance.member_id else None
        validators.in_member_life(self, "raised_on", member)
        return cleaned


class HonourForm(forms.ModelForm):
    class Meta:
        model = Honour
        fields = ["kind", "year", "side"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["year"].validators.append(validators.plausible_year)


class GoodReasonForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind of reason"), choices=[("", _("Please choose…"))] + GoodReason.Kind.choices
    )
    starts_on = forms.DateField(label=pgettext_lazy("good reason", "From"), widget=DateInput())
    ends_on = forms.DateField(
        label=pgettext_lazy("good reason", "Until"),
        widget=DateInput(),
        help_text=_(
            "Every calendar month the period touches is excused: neither missed nor attended."
        ),
    )
    note = forms.CharField(label=pgettext_lazy("good reason", "Reason"), max_length=300)
    approved_by = forms.CharField(
        label=_("Approved by"),
        max_length=100,
        help_text=_("Who approved it, e.g. the branch committee or the secretary by name."),
    )

    def clean(self):
        data = super().clean()
        if data.get("starts_on") and data.get("ends_on") and data["ends_on"] < data["starts_on"]:
            self.add_error("ends_on", _("The period cannot end before it starts."))
        return data


class GoodReasonEndForm(forms.Form):
    ends_on = forms.DateField(label=pgettext_lazy("good reason", "Until"), widget=DateInput())
