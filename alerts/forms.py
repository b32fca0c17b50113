from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from members.forms import DateInput

from .models import Alert, EmailPreference
from .registry import registered_rules


class InboxFilterForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Alert type"), required=False)
    severity = forms.ChoiceField(
        label=gettext_lazy("severity"),
        required=False,
        choices=[("", gettext_lazy("All"))] + Alert.Severity.choices,
    )
    state = forms.ChoiceField(
        label=gettext_lazy("state"),
        required=False,
        choices=[("", gettext_lazy("All open"))]
        + [c for c in Alert.State.choices if c[0] != Alert.State.CLOSED],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", _("All"))] + [
            (rule.code, rule.title) for rule in registered_rules()
        ]


class NoteForm(forms.Form):
    note = forms.CharField(label=gettext_lazy("note"), max_length=300, required=False)


class SnoozeForm(forms.Form):
    until = forms.DateField(label=gettext_lazy("snooze until"), widget=DateInput())
    reason = forms.CharField(label=gettext_lazy("reason"), max_length=200)


class EmailPreferenceForm(forms.ModelForm):
    class Meta:
        model = EmailPreference
        fields = ["digests"]


class CorrectionTermForm(forms.Form):
    educated_on = forms.DateField(
        label=gettext_lazy("Criticism and education on"), widget=DateInput()
    )
    months = forms.IntegerField(
        label=gettext_lazy("Term to correct (months)"),
        min_value=1,
        help_text=gettext_lazy("At most one year (Reg. art. 30)."),
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    note = forms.CharField(label=gettext_lazy("What was said and agreed"), max_length=300)
