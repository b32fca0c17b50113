"""The member's way in: the personal link, the device's proof, the home page, sign-out and
message preferences. The staff's side of the link (show, QR, rotate, revoke, send) is in
link_views.py."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET, require_POST

from infrastructure.steps import StepRefused
from members.forms import DateInput

from . import access, selectors
from .models import MessagePreference, SignInCode


class CodeForm(forms.Form):
    code = forms.RegexField(
        label="验证码",
        regex=r"^\s*\d{6}\s*$",
        error_messages={"invalid": "请输入六位数字验证码。", "required": "请输入验证码。"},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )


class IdentityForm(forms.Form):
    id_tail = forms.RegexField(
        label="身份证号后四位",
        regex=r"^\s*\d{3}[\dXx]\s*$",
        error_messages={"invalid": "请输入身份证号的最后四位（数字或X）。"},
    )
    birth_date = forms.DateField(
        label="出生日期",
        widget=DateInput(),
        error_messages={"invalid": "请输入正确的日期，例如 1990-05-01。"},
    )


@login_not_required
def open_link(request, token: str):
    """The personal link: straight in on a device already signed in, else prove the device."""
    try:
        link = access.link_of(token)
    except access.LinkRefused as refused:
        status = 410 if refused.gone else 404
        return _private(
            render(request, "selfservice/closed.html", {"reason": refused.reason}, status=status)
        )
    member = link.member
    if getattr(access.device_member(request), "pk", None) == member.pk:
        return redirect("selfservice:home")
    ways = access.ways_to_prove(member)
    code_form, identity_form, sent, error = CodeForm(), IdentityForm(), None, ""
    if request.method == "POST":
        step = request.POST.get("step")
        try:
            if step == "send":
                sent = access.send_code(member=member, channel=request.POST.get("channel", ""))
            elif step == "code":
                code_form = CodeForm(request.POST)
                sent = True
                if code_form.is_valid():
                    access.check_code(member=member, code=code_form.cleaned_data["code"])
                    return _signed_in(link)
            elif step == "identity":
                identity_form = IdentityForm(request.POST)
                if identity_form.is_valid():
                    access.check_identity(member=member, **identity_form.cleaned_data)
                    return _signed_in(link)
        except StepRefused as refused:
            error = " ".join(refused.messages)
    return _private(
        render(
            request,
            "selfservice/open_link.html",
            {
                "member": member,
                "ways": ways,
                "by_identity": ways[0].channel == SignInCode.Channel.ID_NUMBER,
                "sent": sent,
                "code_form": code_form,
                "identity_form": identity_form,
                "error": error,
                "minutes": access.CODE_MINUTES,
            },
        )
    )


def _signed_in(link):
    response = redirect("selfservice:home")
    access.sign_in_device(response, link)
    return response


def _private(response):
    patch_cache_control(response, private=True, no_store=True)
    # The token must not leave in a Referer to another site; "no-referrer" would also make the
    # browser send "Origin: null" with the page's own forms, which the CSRF check refuses.
    response["Referrer-Policy"] = "same-origin"
    return response


@require_GET
@access.member_required
def home(request):
    return render(request, "selfservice/home.html", selectors.home_page(member=request.member))


@require_POST
@access.member_required
def sign_out(request):
    response = render(
        request,
        "selfservice/closed.html",
        {"reason": "您已在本设备退出。再次打开专属链接即可重新进入。", "signed_out": True},
    )
    access.sign_out_device(response)
    return response


class PreferenceForm(forms.ModelForm):
    class Meta:
        model = MessagePreference
        fields = ["channel", "quiet_from", "quiet_until", "opted_out"]
        labels = {
            "channel": "通知方式",
            "quiet_from": "免打扰开始",
            "quiet_until": "免打扰结束",
            "opted_out": "不接收通知（验证码除外）",
        }
        widgets = {
            "channel": forms.RadioSelect,
            "quiet_from": forms.TimeInput(attrs={"type": "time"}),
            "quiet_until": forms.TimeInput(attrs={"type": "time"}),
        }

    def clean(self):
        data = super().clean()
        if bool(data.get("quiet_from")) != bool(data.get("quiet_until")):
            raise forms.ValidationError("免打扰时段需同时填写开始和结束时间。")
        return data


@access.member_required
def preferences(request):
    member = request.member
    current = MessagePreference.objects.filter(member=member).first() or MessagePreference(
        member=member
    )
    form = PreferenceForm(request.POST or None, instance=current)
    saved = False
    if request.method == "POST" and form.is_valid():
        form.save()
        saved = True
    return render(request, "selfservice/preferences.html", {"form": form, "saved": saved})


@require_POST
@access.member_required
def replace_link(request):
    """ "My phone is lost / my link went astray": a new link; this device stays signed in."""
    try:
        link, sent_to = access.member_replaces_link(member=request.member)
    except StepRefused as refused:
        messages.error(request, " ".join(refused.messages))
        return redirect("selfservice:preferences")
    if sent_to:
        messages.success(
            request, f"已更换专属链接，新链接已发送到 {sent_to}。旧链接和其他设备均已失效。"
        )
    else:
        messages.success(
            request,
            "已更换专属链接，旧链接和其他设备均已失效。在其他设备上打开，请向党支部书记索取新链接。",
        )
    response = redirect("selfservice:preferences")
    access.sign_in_device(response, link)
    return response


urlpatterns = [
    path("m/<str:token>/", open_link, name="open_link"),
    path("me/", home, name="home"),
    path("me/sign-out/", sign_out, name="sign_out"),
    path("me/messages/", preferences, name="preferences"),
    path("me/new-link/", replace_link, name="replace_link"),
]
