"""求助 pages: the member raises a request and follows the answers; the branch answers one
from the self-service inbox (the member page's life section lists them too)."""

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from infrastructure.steps import StepRefused

from . import access, help
from .inbox_views import back_to_inbox


class HelpForm(forms.Form):
    kind = forms.ChoiceField(
        label="需要哪方面的帮助",
        choices=list(help.KIND_WORDS.items()),
        widget=forms.RadioSelect,
        error_messages={
            "required": "请选择求助类型。",
            "invalid_choice": "请从列表中选择求助类型。",
        },
    )
    description = forms.CharField(
        label="具体情况",
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": 300}),
        help_text="最多300字。请勿填写身份证号等敏感信息。",
        error_messages={
            "required": "请写明需要什么帮助。",
            "max_length": "最多300字（您写了%(show_value)d字）。",
        },
    )


@access.member_required
def help_page(request):
    member = request.member
    form = HelpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            help.raise_request(member=member, **form.cleaned_data)
        except StepRefused as refused:
            form.add_error(None, refused.messages)
        else:
            messages.success(request, "求助已提交，党支部会尽快处理。")
            return redirect("selfservice:help")
    return render(
        request,
        "selfservice/help.html",
        {
            "form": form,
            "requests": [
                (row, help.KIND_WORDS.get(row.kind, ""), help.STATUS_WORDS.get(row.status, ""))
                for row in help.requests_of(member)[:30]
            ],
        },
    )


@require_POST
def answer(request, pk: int):
    """The home side answers: handler, status (open / in_progress / done) and outcome."""
    service_request = get_object_or_404(help.home_side(request.user), pk=pk)
    try:
        help.answer(
            actor=request.user,
            service_request=service_request,
            handler=request.POST.get("handler", ""),
            status=request.POST.get("status", ""),
            outcome=request.POST.get("outcome", ""),
        )
    except StepRefused as refused:
        messages.error(request, " ".join(refused.messages))
    else:
        messages.success(request, _("Service request updated; the member sees the answer."))
    return back_to_inbox(request)


urlpatterns = [
    path("me/help/", help_page, name="help"),
    path("self-service/help/<int:pk>/answer/", answer, name="help_answer"),
]
