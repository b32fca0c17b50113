from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from members.forms import DateInput
from members.validators import not_in_future


class DecisionDateForm(forms.Form):
    on = forms.DateField(label=_("accepted on"), widget=DateInput(), validators=[not_in_future])

    def __init__(self, *args, label=None, **kwargs):
        super().__init__(*args, initial={"on": timezone.localdate()}, **kwargs)
        if label:
            self.fields["on"].label = label


class ReturnForm(DecisionDateForm):
    reason = forms.CharField(label=_("reason for returning"), max_length=200)
