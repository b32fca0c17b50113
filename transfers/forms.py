from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from members import phone, validators
from members.forms import DateInput, MemberForm, MonthField, PhoneInput
from members.models import ExternalOrganisation, Organisation
from members.validators import not_in_future

from . import divisions, places, services
from .classification import Arrangement
from .models import ActivityCertificate, CertificateReview, MobilityEpisode

RETURN_BEFORE_LEAVING = _("The expected return cannot be before the member left.")


class EpisodeForm(forms.ModelForm):
    """Where a member has gone. Destinations are checked against the bundled divisions."""

    class Meta:
        model = MobilityEpisode
        fields = [
            "mobility_type",
            "abroad_purpose",
            "left_on",
            "destination_province",
            "destination_city",
            "destination_county",
            "destination_country",
            "address",
            "employer",
            "occupation",
            "is_fixed_place",
            "expected_return_on",
            "graduated_on",
            "inflow_organisation",
            "inflow_external",
        ]
        widgets = {
            "left_on": DateInput(),
            "expected_return_on": DateInput(),
            "graduated_on": DateInput(),
            "destination_city": forms.TextInput(attrs={"list": "cities"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["destination_province"] = forms.ChoiceField(
            label=_("province"),
            required=False,
            choices=[("", _("Please choose…"))] + [(p, p) for p in divisions.provinces()],
        )
        self.fields["inflow_organisation"].queryset = Organisation.objects.filter(
            kind__in=Organisation.MEMBER_KINDS
        ).order_by("path")
        self.fields["inflow_external"].queryset = ExternalOrganisation.objects.all()
        if "left_on" in self.fields:
            self.fields["left_on"].validators.append(not_in_future)
        self.fields["graduated_on"].validators.append(not_in_future)

    def clean(self):
        cleaned = super().clean()
        member = self.instance.member if self.instance.member_id else None
        start = "left_on" if "left_on" in self.fields else "moved_on"
        for name in (start, "graduated_on"):
            validators.in_member_life(self, name, member)
        validators.in_order(self, start, "expected_return_on", RETURN_BEFORE_LEAVING)
        abroad = cleaned.get("mobility_type") == MobilityEpisode.Type.ABROAD
        province = cleaned.get("destination_province", "")
        city = cleaned.get("destination_city", "").strip()
        county = cleaned.get("destination_county", "").strip()
        if abroad and not cleaned.get("destination_country"):
            self.add_error(
                "destination_country", _("Give the country or region for a member abroad.")
            )
        if abroad and not cleaned.get("abroad_purpose"):
            self.add_error(
                "abroad_purpose",
                _(
                    "Choose why the member is abroad: study or research, settled privately, "
                    "work, or other. Article 24 of the Regulations depends on it."
                ),
            )
        if not abroad:
            cleaned["abroad_purpose"] = ""  # only a stay abroad has one
        place = _known_place(province, city, county)
        if place is not None:  # "深圳", "广东深圳", "深圳市南山区": the names the divisions use
            province, city, county = place.province, place.city, place.county
            cleaned["destination_province"], cleaned["destination_county"] = province, county
        if not abroad and not province:
            self.add_error("destination_province", _("Choose the province."))
        if province:
            if province in places.MUNICIPALITIES and city in ("", province):
                city = "市辖区" if "市辖区" in divisions.cities(province) else city
            if city and city not in divisions.cities(province):
                self.add_error(
                    "destination_city",
                    _("%(city)s is not a city of %(province)s.")
                    % {"city": city, "province": province},
                )
            elif county and county not in divisions.counties(province, city):
                self.add_error(
                    "destination_county",
                    _("%(county)s is not a county or district of %(city)s.")
                    % {"county": county, "city": city or province},
                )
            cleaned["destination_city"] = city
        if cleaned.get("inflow_organisation") and cleaned.get("inflow_external"):
            self.add_error(
                "inflow_external", _("Choose one inflow organisation, ours or external.")
            )
        if (
            cleaned.get("graduated_on")
            and cleaned.get("mobility_type") != MobilityEpisode.Type.STUDY
        ):
            self.add_error(
                "graduated_on", _("Only for study: a graduate whose job is not settled.")
            )
        return cleaned


def _known_place(province: str, city: str, county: str) -> places.Destination | None:
    """The place the three boxes name together, when the divisions know all of it."""
    if not (city or county):
        return None
    place = places.parse_destination(province + city + county)
    if place.province and not place.address and place.province == (province or place.province):
        return place
    return None


class EpisodeMoveForm(EpisodeForm):
    class Meta(EpisodeForm.Meta):
        fields = [f for f in EpisodeForm.Meta.fields if f != "left_on"]

    moved_on = forms.DateField(label=_("moved on"), widget=DateInput(), validators=[not_in_future])
    field_order = ["moved_on"]


class DateForm(forms.Form):
    on = forms.DateField(
        label=_("date"),
        widget=DateInput(),
        validators=[not_in_future, validators.not_before_party],
    )

    def __init__(self, *args, label=None, **kwargs):
        super().__init__(*args, initial={"on": timezone.localdate()}, **kwargs)
        if label:
            self.fields["on"].label = label


class TransferDeferForm(forms.Form):
    """暂时无法转移: why the relationship cannot be transferred for now, and until when."""

    reason = forms.ChoiceField(
        label=_("why the relationship cannot be transferred for now"),
        choices=[("", "---------")] + MobilityEpisode.DeferredReason.choices,
    )
    note = forms.CharField(
        label=_("explanation"),
        max_length=200,
        required=False,
        help_text=_("Required for “other”: what stands in the way."),
    )
    until = forms.DateField(
        label=_("transfer deferred until"),
        widget=DateInput(),
        help_text=_(
            "The day after this, the “transfer required” alert comes back. At most 12 months ahead."
        ),
    )

    def __init__(self, *args, episode: MobilityEpisode | None = None, **kwargs):
        if episode is not None and episode.transfer_deferred_reason:
            kwargs.setdefault(
                "initial",
                {
                    "reason": episode.transfer_deferred_reason,
                    "note": episode.transfer_deferred_note,
                    "until": episode.transfer_deferred_until,
                },
            )
        super().__init__(*args, **kwargs)

    def clean_until(self):
        until = self.cleaned_data["until"]
        today = timezone.localdate()
        if until <= today:
            raise forms.ValidationError(_("The until-date must be after today."), code="past")
        latest = services.deferral_latest_until(today)
        if until > latest:
            raise forms.ValidationError(
                _("The until-date can be at most %(months)d months ahead, by %(date)s.")
                % {"months": services.DEFERRAL_MAX_MONTHS, "date": latest.isoformat()},
                code="too_far_ahead",
            )
        return until

    def clean(self):
        cleaned = super().clean()
        cleaned["note"] = cleaned.get("note", "").strip()
        if cleaned.get("reason") == MobilityEpisode.DeferredReason.OTHER and not cleaned["note"]:
            self.add_error("note", _("Explain the other reason."))
        return cleaned


class AbroadPurposeForm(forms.Form):
    purpose = forms.ChoiceField(
        label=_("purpose of the stay abroad"),
        choices=[("", "---------")] + MobilityEpisode.AbroadPurpose.choices,
        help_text=_(
            "Article 24 of the Regulations applies to study or research abroad over five years "
            "and to settling abroad privately, not to work abroad."
        ),
    )


class MobileFilterForm(forms.Form):
    arrangement = forms.ChoiceField(
        label=_("arrangement"), required=False, choices=[("", _("All"))] + Arrangement.choices
    )
    mobility_type = forms.ChoiceField(
        label=_("mobility type"),
        required=False,
        choices=[("", _("All"))] + MobilityEpisode.Type.choices,
    )
    province = forms.ChoiceField(label=_("province"), required=False)
    side = forms.ChoiceField(
        label=_("side"),
        required=False,
        choices=[
            ("", _("All")),
            ("outflow", _("Our members away")),
            ("inflow", _("Members we host")),
        ],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["province"].choices = [("", _("All"))] + [(p, p) for p in divisions.provinces()]


class CertificateIssueForm(forms.ModelForm):
    class Meta:
        model = ActivityCertificate
        fields = ["issued_on", "reason", "destination", "inflow_organisation", "inflow_external"]
        widgets = {"issued_on": DateInput()}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["issued_on"].validators += [not_in_future, validators.not_before_party]
        self.fields["inflow_organisation"].queryset = Organisation.objects.filter(
            kind__in=Organisation.MEMBER_KINDS
        ).order_by("path")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("inflow_organisation") and cleaned.get("inflow_external"):
            self.add_error(
                "inflow_external", _("Choose one inflow organisation, ours or external.")
            )
        return cleaned


class ArrivalForm(forms.Form):
    arrived_on = forms.DateField(
        label=_("arrived on"), widget=DateInput(), validators=[not_in_future]
    )
    inflow_contact = forms.CharField(
        label=_("inflow contact"),
        max_length=100,
        help_text=_("Name and phone of the contact there."),
    )


class DepartureForm(forms.Form):
    departed_on = forms.DateField(
        label=_("left the inflow side on"), widget=DateInput(), validators=[not_in_future]
    )
    participation = forms.CharField(
        label=_("participation while there"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=validators.LONG_TEXT,
    )
    dues = forms.CharField(label=_("dues paid while there"), max_length=200)


class ReviewForm(forms.ModelForm):
    class Meta:
        model = CertificateReview
        fields = ["year", "reviewed_on", "result", "note"]
        widgets = {"reviewed_on": DateInput()}

    def __init__(self, *args, **kwargs):
        today = timezone.localdate()
        super().__init__(*args, initial={"year": today.year, "reviewed_on": today}, **kwargs)
        self.fields["reviewed_on"].validators += [not_in_future, validators.not_before_party]
        self.fields["year"].validators.append(validators.plausible_year)

    def clean(self):
        cleaned = super().clean()
        year, reviewed_on = cleaned.get("year"), cleaned.get("reviewed_on")
        if year and reviewed_on and year > reviewed_on.year:
            self.add_error(
                "year",
                forms.ValidationError(
                    _("A year is reviewed during or after it, not before."), code="out_of_order"
                ),
            )
        return cleaned


class CertificateEndForm(DateForm):
    status = forms.ChoiceField(
        label=_("why"),
        choices=[
            (ActivityCertificate.Status.RETURNED, ActivityCertificate.Status.RETURNED.label),
            (ActivityCertificate.Status.CANCELLED, ActivityCertificate.Status.CANCELLED.label),
        ],
    )


class TransferRequestForm(forms.Form):
    """Where the relationship goes and why; submitted to the reviewers at once.

    A receiving organisation not in either list is typed in below the lists: the request adds
    it to the external organisations (name and region required, the phone checked like every
    other phone number).
    """

    to_organisation = forms.ModelChoiceField(
        label=_("to organisation (ours)"), queryset=Organisation.objects.none(), required=False
    )
    to_external = forms.ModelChoiceField(
        label=_("to organisation (external)"),
        queryset=ExternalOrganisation.objects.all(),
        required=False,
        help_text=_("An organisation outside this system that is already listed."),
    )
    new_external_name = forms.CharField(
        label=_("not listed: name of the receiving organisation"),
        max_length=100,
        required=False,
        help_text=_(
            "When the receiving organisation is in neither list, enter it here: it is added "
            "to the external organisations with this request."
        ),
    )
    new_external_region = forms.CharField(
        label=_("not listed: its region"),
        max_length=100,
        required=False,
        help_text=_("Province and city, e.g. 广东省深圳市."),
    )
    new_external_contact_person = forms.CharField(
        label=_("not listed: its contact person"), max_length=50, required=False
    )
    new_external_phone = forms.CharField(
        label=_("not listed: its phone"),
        max_length=30,
        required=False,
        widget=PhoneInput(attrs={"autocomplete": "off"}),  # the organisation's, not the user's
    )
    reason = forms.CharField(label=_("reason"), max_length=200)

    NEW_FIELDS = {
        "new_external_name": "name",
        "new_external_region": "region",
        "new_external_contact_person": "contact_person",
        "new_external_phone": "phone",
    }

    def __init__(self, *args, destinations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_organisation"].queryset = destinations

    def clean_new_external_phone(self) -> str:
        number = self.cleaned_data["new_external_phone"]
        return phone.validate(number) if number else ""

    def clean(self):
        cleaned = super().clean()
        new = {
            attribute: cleaned.pop(field, "") or "" for field, attribute in self.NEW_FIELDS.items()
        }
        typed = any(new.values()) or any(
            field in self.errors for field in self.NEW_FIELDS
        )  # a wrong phone is still a new organisation
        listed = [cleaned.get("to_organisation"), cleaned.get("to_external")]
        if typed and any(listed):
            self.add_error(
                "new_external_name",
                forms.ValidationError(
                    _(
                        "Choose a listed organisation or enter a new one, not both: clear "
                        "the lists above or these fields."
                    ),
                    code="both",
                ),
            )
        elif all(listed):
            raise forms.ValidationError(
                _("Choose one destination: one of ours, or an external organisation."),
                code="two_destinations",
            )
        elif not any(listed):
            self._check_new_organisation(new, typed=typed)
        cleaned["new_external"] = (
            services.NewExternalOrganisation(**new) if typed and not self.errors else None
        )
        return cleaned

    def _check_new_organisation(self, new: dict, *, typed: bool) -> None:
        """Nothing chosen in the lists: the new organisation needs a name and a region, and
        must not be one already listed."""
        if not new["name"]:
            self.add_error(
                "new_external_name",
                forms.ValidationError(
                    _(
                        "Enter the name of the receiving organisation, or choose it in one "
                        "of the lists above."
                    ),
                    code="required",
                ),
            )
        if typed and not new["region"]:
            self.add_error(
                "new_external_region",
                forms.ValidationError(
                    _("Enter the region of the new organisation."), code="required"
                ),
            )
        listed = ExternalOrganisation.objects.filter(name=new["name"], region=new["region"])
        if new["name"] and new["region"] and listed.exists():
            self.add_error(
                "new_external_name",
                forms.ValidationError(
                    _(
                        "“%(name)s” (%(region)s) is already listed: choose it as the "
                        "external organisation."
                    )
                    % new,
                    code="listed",
                ),
            )


class ApproveForm(forms.Form):
    valid_days = forms.IntegerField(
        label=_("valid for (days)"),
        min_value=1,
        max_value=settings.LETTER_MAX_VALID_DAYS,
        initial=settings.LETTER_VALID_DAYS,
    )
    dues_paid_until = MonthField(
        label=_("dues paid up to (month)"),
        validators=[validators.not_far_ahead, validators.not_before_party],
    )
    note = forms.CharField(label=_("note"), max_length=200, required=False)


class RejectForm(forms.Form):
    reason = forms.CharField(label=_("reason for rejecting"), max_length=200)


class ReissueLetterForm(forms.Form):
    valid_days = forms.IntegerField(
        label=_("valid for (days)"),
        min_value=1,
        max_value=settings.LETTER_MAX_VALID_DAYS,
        initial=settings.LETTER_VALID_DAYS,
    )


class IncomingMemberForm(MemberForm):
    """A member arriving from outside with an introduction letter."""

    from_external = forms.ModelChoiceField(
        label=_("coming from"), queryset=ExternalOrganisation.objects.all()
    )
    letter_number = forms.CharField(label=_("letter number"), max_length=50)
    arrived_on = forms.DateField(
        label=_("arrived on"), widget=DateInput(), validators=[not_in_future]
    )

    def clean(self):
        cleaned = super().clean()
        validators.in_order(
            self,
            "joined_on",
            "arrived_on",
            _("A member arriving with a letter joined the Party before arriving."),
        )
        return cleaned
