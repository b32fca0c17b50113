from django import forms
from django.utils.translation import gettext_lazy as _

from transfers.forms import DateForm


class ReturnForm(DateForm):
    reason = forms.CharField(label=_("reason for returning"), max_length=200)
