"""The sensitive-read log, for administrators only."""

from django import forms
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from members.forms import DateInput
from members.models import SensitiveAccess
from members.selectors import sees_everything

from . import selectors

PAGE_SIZE = 50


class AccessLogFilterForm(forms.Form):
    user = forms.ModelChoiceField(label=_("user"), queryset=None, required=False)
    action = forms.ChoiceField(
        label=_("action"),
        required=False,
        choices=[("", _("All"))] + SensitiveAccess.Action.choices,
    )
    since = forms.DateField(label=_("from"), required=False, widget=DateInput())
    until = forms.DateField(label=_("to"), required=False, widget=DateInput())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = selectors.access_log_users()


@require_GET
def access_log_list(request):
    # The log is itself sensitive (who looked at whom): administrators only.
    if not sees_everything(request.user):
        raise PermissionDenied
    form = AccessLogFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    chosen = filters.get("user")
    entries = selectors.access_log_entries(
        user_id=chosen.pk if chosen else None,
        action=filters.get("action", ""),
        since=filters.get("since"),
        until=filters.get("until"),
    )
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    query_string = request.GET.copy()
    query_string.pop("page", None)
    return render(
        request,
        "accounts/access_log.html",
        {"form": form, "page": page, "query_string": query_string.urlencode()},
    )
