from datetime import date

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from . import conflicts, crypto, national_id, phone, validators
from .models import Member, MembershipDecision, Organisation
from .selectors import (
    member_branch_choices,
    members_editable_by,
    organisations_visible_to,
    scope_root_of,
    sees_everything,
)


class PhoneInput(forms.TextInput):
    """Brings up the phone's number pad."""

    def __init__(self, attrs=None):
        super().__init__({"inputmode": "tel", "autocomplete": "tel", **(attrs or {})})


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class MonthInput(forms.DateInput):
    """<input type="month">: the browser offers a month ("2024-05"), not a day."""

    input_type = "month"

    def __init__(self, **kwargs):
        attrs = {"placeholder": "2024-05", **kwargs.pop("attrs", {})}
        super().__init__(format="%Y-%m", attrs=attrs, **kwargs)


class MonthField(forms.DateField):
    """A month, as its first day. Takes "2024-05"; a whole date is taken as its month."""

    widget = MonthInput
    input_formats = ["%Y-%m", "%Y-%m-%d"]

    def to_python(self, value):
        value = super().to_python(value)
        return value.replace(day=1) if value else value

    def prepare_value(self, value):
        return value.strftime("%Y-%m") if isinstance(value, date) else value


CANNOT_REGISTER_HERE = _(
    "This ID number cannot be registered here. The county organisation department has been "
    "notified and will contact you."
)


class MemberForm(forms.ModelForm):
    """Member details. The ID number is a separate field so that editing never shows it."""

    national_id_input = forms.CharField(
        label=_("national ID number"),
        max_length=30,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    # The member's version when the form was opened (see members/conflicts.py).
    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=0)

    class Meta:
        model = Member
        fields = [
            "name",
            "gender",
            "ethnicity",
            "birth_date",
            "phone",
            "email",
            "category",
            "joined_on",
            "confirmed_on",
            "home_branch",
            "status",
        ]
        widgets = {
            "birth_date": DateInput(),
            "joined_on": DateInput(),
            "confirmed_on": DateInput(),
            "phone": PhoneInput(),
        }

    field_order = ["name", "national_id_input"]

    # The member outside the user's scope who already holds the number typed (see the view).
    held_elsewhere: Member | None = None

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["home_branch"].queryset = member_branch_choices(user=user)
        if self.instance.pk:
            self.fields["national_id_input"].help_text = _(
                "Currently %(masked)s. Leave blank to keep it."
            ) % {"masked": self.instance.national_id_masked}
            if not self.is_bound:
                self.fields["version"].initial = conflicts.member_version(self.instance)
        else:
            self.fields["national_id_input"].required = True
            del self.fields["version"]
        self.fields["birth_date"].validators += [
            validators.not_in_future,
            validators.plausible_birth_date,
        ]
        self.fields["joined_on"].validators += [
            validators.not_in_future,
            validators.not_before_party,
        ]
        self.fields["confirmed_on"].validators += [
            validators.not_in_future,
            validators.not_before_party,
        ]

    def clean_national_id_input(self) -> str:
        value = self.cleaned_data["national_id_input"]
        if not value:
            return ""
        number = national_id.validate(value)
        duplicates = Member.objects.filter(national_id_digest__in=crypto.digests(number))
        if self.instance.pk:
            duplicates = duplicates.exclude(pk=self.instance.pk)
        duplicate = duplicates.first()
        if duplicate is None:
            return number
        if members_editable_by(self.user).filter(pk=duplicate.pk).exists():
            raise forms.ValidationError(
                _("A member with this ID number is already registered here: %(name)s.")
                % {"name": duplicate.name},
                code="duplicate",
            )
        # Held outside the user's scope: say no more than that (no existence oracle).
        self.held_elsewhere = duplicate
        raise forms.ValidationError(CANNOT_REGISTER_HERE, code="held_elsewhere")

    def clean_phone(self) -> str:
        return phone.validate(self.cleaned_data["phone"])

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("national_id_input"):
            # Set before the model's own clean() compares it with the birth date.
            self.instance.national_id = cleaned["national_id_input"]
        # Joining before birth is caught by the model's "18 or older" rule.
        return cleaned

    def refuse_stale(self, *, version: int) -> None:
        """Someone saved the member meanwhile: keep the input, move to their version.

        Saving again then applies this input on top of theirs, which the user has now seen.
        """
        self.data = self.data.copy()
        self.data[self.add_prefix("version")] = str(version)
        self.add_error(
            None,
            forms.ValidationError(
                _(
                    "Someone else saved this member while you were editing. Their changes are "
                    "listed below; your input is kept. Check it and save again to apply it."
                ),
                code="stale",
            ),
        )


def indented_name(organisation) -> str:
    return "\u3000" * (organisation.depth - 1) + organisation.name


class MemberFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False)
    branch = forms.ModelChoiceField(label=_("Organisation"), queryset=None, required=False)
    category = forms.ChoiceField(
        label=_("category"), choices=[("", _("All"))] + Member.Category.choices, required=False
    )
    status = forms.ChoiceField(
        label=_("status"), choices=[("", _("All"))] + Member.Status.choices, required=False
    )
    sort = forms.ChoiceField(
        label=_("Sort"),
        required=False,
        choices=[
            ("name", _("Name")),
            ("-name", _("Name (descending)")),
            ("joined_on", _("Joined (oldest first)")),
            ("-joined_on", _("Joined (newest first)")),
            ("branch", _("Branch")),
        ],
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["branch"]
        field.queryset = organisations_visible_to(user).order_by("path")  # what it accepts
        field.label_from_instance = indented_name
        # What it lists: the top of the user's scope and one level below (a county reviewer's
        # thousand branches made an unusable list and a tenth of a second of rendering), plus
        # the chosen organisation and the ones above it; deeper ones come through ?branch=.
        root = None if sees_everything(user) else scope_root_of(user)
        top = root.depth if root is not None else 1
        shown = Q(depth__lte=top + 1)
        chosen = self.data.get("branch") and field.queryset.filter(pk=self.data["branch"]).first()
        if chosen:
            steps = Organisation.steplen
            shown |= Q(
                path__in=[chosen.path[:n] for n in range(steps, len(chosen.path) + 1, steps)]
            )
        field.widget.choices = [("", field.empty_label)] + [
            (organisation.pk, indented_name(organisation))
            for organisation in field.queryset.filter(shown)
        ]
        self.fields["q"].widget.attrs["placeholder"] = _("Name, phone or full ID number")


class DecisionForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Decision"),
        choices=[("", _("Please choose…"))] + MembershipDecision.Kind.choices,
    )
    decided_on = forms.DateField(label=_("Decided on"), widget=DateInput())
    deciding_organisation = forms.CharField(
        label=_("Deciding organisation"),
        max_length=100,
        help_text=_("The branch, or the higher organisation that decided (Reg. art. 24)."),
    )
    ground = forms.ChoiceField(
        label=_("Ground"),
        required=False,
        choices=[("", _("Please choose…"))] + MembershipDecision.Ground.choices,
        help_text=_("Required for a suspension."),
    )
    document_number = forms.CharField(label=_("Document number"), max_length=50, required=False)
    note = forms.CharField(label=_("Note"), max_length=300, required=False)
