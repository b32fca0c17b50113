"""Enrol a TOTP app and give its code after the password (two_factor.py does the work)."""

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from . import two_factor

WRONG_CODE = _(
    "That code is wrong or has expired. After a wrong code, wait a few seconds, then enter "
    "the code the app shows now."
)


class TokenForm(forms.Form):
    token = forms.RegexField(
        label=_("Code from the app"),
        regex=r"^\s*\d{6,8}\s*$",
        max_length=12,
        error_messages={"invalid": _("Enter the 6-digit code the app shows.")},
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "autofocus": True}
        ),
    )

    def clean_token(self) -> str:
        return self.cleaned_data["token"].strip()


def _next_url(request) -> str:
    """The page asked for before the second factor, if it is on this site; else ""."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return ""


@require_http_methods(["GET", "POST"])
def verify(request):
    if request.user.is_verified():
        return redirect(_next_url(request) or "home")
    if two_factor.confirmed_device(user=request.user) is None:
        return redirect("accounts:otp_enrol")
    form = TokenForm(request.POST or None)
    if form.is_valid():
        if two_factor.verify(request=request, token=form.cleaned_data["token"]):
            return redirect(_next_url(request) or "home")
        form.add_error("token", WRONG_CODE)
    return render(
        request, "registration/otp_verify.html", {"form": form, "next": _next_url(request)}
    )


@require_http_methods(["GET", "POST"])
def enrol(request):
    if two_factor.confirmed_device(user=request.user) is not None:
        return render(request, "registration/otp_enrolled.html")
    device = two_factor.enrolment_start(user=request.user)
    form = TokenForm(request.POST or None)
    if form.is_valid():
        token = form.cleaned_data["token"]
        if two_factor.enrolment_confirm(request=request, device=device, token=token):
            messages.success(request, _("Two-step login is on. Keep the app on your phone."))
            return redirect(_next_url(request) or "home")
        form.add_error("token", WRONG_CODE)
    return render(
        request,
        "registration/otp_enrol.html",
        {
            "form": form,
            "qr_svg": two_factor.qr_svg(device),
            "secret": two_factor.secret_of(device),
            "required": two_factor.must_use_second_factor(user=request.user),
            "next": _next_url(request),
        },
    )
