from cryptography.fernet import InvalidToken
from django import forms
from django.core import signing
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from members import crypto, phone, validators
from members.forms import DateInput, PhoneInput
from members.selectors import organisations_visible_to
from transfers.forms import MobileFilterForm, not_in_future
from transfers.models import MobilityEpisode

from .models import CensusCampaign, ContactAttempt, FiveClearsItem, LedgerRecord


class LedgerFilterForm(MobileFilterForm):
    not_clear_only = forms.BooleanField(label=_("Not clear only"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["side"]


class ContactForm(forms.ModelForm):
    class Meta:
        model = ContactAttempt
        fields = ["on", "channel", "reached", "note"]
        widgets = {"on": DateInput()}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, initial={"on": timezone.localdate()}, **kwargs)
        self.fields["on"].validators += [not_in_future, validators.not_before_party]


class ItemForm(forms.Form):
    """Edit one five-clears item; the fields depend on the item.

    The values the form was opened on travel (signed) in `seen`: when someone changed the item
    meanwhile, the save is refused with what they changed, and the input is kept.
    """

    SEEN_SALT = "ledgers.item"

    seen = forms.CharField(widget=forms.HiddenInput, required=False)

    FIELDS = {
        FiveClearsItem.LEFT: ["left_on"],
        FiveClearsItem.WHERE: [
            "destination_province",
            "destination_city",
            "destination_county",
            "destination_country",
            "address",
        ],
        FiveClearsItem.OCCUPATION: ["occupation", "employer"],
    }

    def __init__(self, *args, item: str, member, episode: MobilityEpisode | None, record, **kwargs):
        super().__init__(*args, **kwargs)
        self.item = item
        if item in self.FIELDS:
            episode_form = forms.models.modelform_factory(
                MobilityEpisode, fields=self.FIELDS[item], widgets={"left_on": DateInput()}
            )(instance=episode)
            for name in self.FIELDS[item]:
                self.fields[name] = episode_form.fields[name]
                self.initial[name] = getattr(episode, name)
        elif item == FiveClearsItem.CONTACT:
            self.fields["phone"] = forms.CharField(
                label=_("phone"), max_length=30, widget=PhoneInput()
            )
            self.initial["phone"] = member.phone
        else:
            self.fields["conduct_assessment"] = forms.ChoiceField(
                label=_("thought and conduct"), choices=LedgerRecord.Assessment.choices
            )
            self.fields["conduct_note"] = forms.CharField(
                label=_("note on thought and conduct"),
                widget=forms.Textarea(attrs={"rows": 3}),
                required=False,
            )
            self.initial.update(
                conduct_assessment=record.conduct_assessment, conduct_note=record.conduct_note
            )
            validators.limit_length(self.fields["conduct_note"])
        self.member = member
        self.owner = {
            FiveClearsItem.CONTACT: member,
            FiveClearsItem.CONDUCT: record,
        }.get(item, episode)
        self.current = {
            name: _shown(self.fields[name], self.initial[name])
            for name in self.fields
            if name != "seen"
        }
        # Encrypted, not just signed: the conduct note must not sit readable in the page.
        self.initial["seen"] = crypto.encrypt(signing.dumps(self.current, salt=self.SEEN_SALT))

    def clean_phone(self) -> str:
        return phone.validate(self.cleaned_data["phone"])

    def clean_left_on(self):
        value = self.cleaned_data["left_on"]
        not_in_future(value)
        return value

    def clean(self):
        cleaned = super().clean()
        if "left_on" in cleaned:
            validators.in_member_life(self, "left_on", self.member)
        seen = cleaned.pop("seen", "")
        if not seen:
            return cleaned  # a form without it (a script): nothing to compare
        try:
            before = signing.loads(crypto.decrypt(seen), salt=self.SEEN_SALT)
        except (signing.BadSignature, InvalidToken, ValueError):
            before = {}
        changed = [name for name, value in self.current.items() if before.get(name) != value]
        if changed:
            self._refuse_stale(before, changed)
        return cleaned

    def _refuse_stale(self, before: dict, changed: list[str]) -> None:
        """Keep the input, move the form to the current values, and say what changed."""
        self.data = self.data.copy()
        self.data[self.add_prefix("seen")] = self.initial["seen"]
        last = self.owner.history.select_related("history_user").first() if self.owner.pk else None
        who = (
            _("%(user)s on %(when)s")
            % {
                "user": last.history_user or "—",
                "when": formats.date_format(timezone.localtime(last.history_date), "Y-m-d H:i"),
            }
            if last
            else "—"
        )
        self.add_error(
            None,
            forms.ValidationError(
                _(
                    "This item was changed by %(who)s while you were editing. Your input is "
                    "kept; check it and save again to apply it."
                )
                % {"who": who},
                code="stale",
            ),
        )
        for name in changed:
            self.add_error(
                None,
                forms.ValidationError(
                    f"{self.fields[name].label}: {before.get(name) or '—'} → "
                    f"{self.current[name] or '—'}",
                    code="stale",
                ),
            )


def _shown(field: forms.Field, value) -> str:
    """A value as the user reads it: choice labels, ISO dates, '' for nothing."""
    if value in (None, ""):
        return ""
    choices = getattr(field, "choices", None)
    if choices:
        return str(dict(choices).get(value, value))
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


class CampaignForm(forms.ModelForm):
    class Meta:
        model = CensusCampaign
        fields = ["name", "starts_on", "ends_on"]
        widgets = {"starts_on": DateInput(), "ends_on": DateInput()}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("starts_on", "ends_on"):
            self.fields[name].validators += [
                validators.not_far_ahead,
                validators.not_before_party,
            ]

    def clean(self):
        cleaned = super().clean()
        if (
            cleaned.get("starts_on")
            and cleaned.get("ends_on")
            and cleaned["ends_on"] < cleaned["starts_on"]
        ):
            self.add_error("ends_on", _("The campaign must end after it starts."))
        return cleaned


# The benchmark's 100,000-row .xlsx is 11.5 MiB (bench/results/import_export.json).
IMPORT_MAX_MEGABYTES = 40


# What calamine reads (in its sandbox) and CSV; old Excel (.xls) is still common with WPS.
SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods", ".csv")


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Spreadsheet (.xlsx, .xls, .ods or .csv)"),
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(SPREADSHEET_SUFFIXES)}),
    )
    branch = forms.ModelChoiceField(
        label=_("Branch for rows without one"), queryset=None, required=False
    )

    def __init__(self, *args, branches, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["branch"].queryset = branches
        only = branches[:2]
        if len(only) == 1:  # a secretary with one branch has nothing to choose
            self.fields["branch"].initial = only[0].pk

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith(SPREADSHEET_SUFFIXES):
            raise forms.ValidationError(_("Upload an Excel (.xlsx, .xls), .ods or .csv file."))
        if upload.size > IMPORT_MAX_MEGABYTES * 1024 * 1024:
            raise forms.ValidationError(
                _("The file is larger than %(limit)d MB. Split it and import the parts.")
                % {"limit": IMPORT_MAX_MEGABYTES},
                code="too_large",
            )
        return upload


def ledger_filters(params, *, user) -> tuple[LedgerFilterForm, dict]:
    """Validated ledger filters from query parameters (the page, the exports, the task)."""
    form = LedgerFilterForm(params or None)
    cleaned = form.cleaned_data if form.is_valid() else {}
    branch_id = str(params.get("branch", ""))
    branch = (
        organisations_visible_to(user).filter(pk=branch_id).first() if branch_id.isdigit() else None
    )
    return form, {
        "side": "inflow" if params.get("side") == "inflow" else "outflow",
        "branch": branch,
        "not_clear_only": cleaned.get("not_clear_only", False),
        "arrangement": cleaned.get("arrangement", ""),
        "mobility_type": cleaned.get("mobility_type", ""),
        "province": cleaned.get("province", ""),
    }
