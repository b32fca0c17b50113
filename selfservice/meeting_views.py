"""Organisational life from afar: the member's answers to planned meetings (me/meetings/),
and the secretary's decision on a request to be excused (self-service/meetings/...)."""

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from infrastructure.steps import StepRefused

from . import access, meetings
from .inbox_views import back_to_inbox
from .models import MeetingReply

Answer = MeetingReply.Answer

# --- the member's pages -----------------------------------------------------------------------


class ReplyForm(forms.Form):
    answer = forms.ChoiceField(
        label="您的回复",
        choices=[
            (Answer.IN_PERSON, "现场参加"),
            (Answer.ONLINE, "线上参加"),
            (Answer.EXCUSED, "请假"),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": "请选择是否参加。", "invalid_choice": "请选择是否参加。"},
    )
    reason = forms.CharField(
        label="请假理由（请假时必填）",
        max_length=200,
        required=False,
        error_messages={"max_length": "请假理由请控制在200字以内（现有%(show_value)d字）。"},
    )

    def clean(self):
        data = super().clean()
        if data.get("answer") == Answer.EXCUSED and not data.get("reason", "").strip():
            self.add_error("reason", "请假需要填写理由。")
        return data


@require_GET
@access.member_required
def meeting_list(request):
    today = timezone.localdate()
    return render(
        request,
        "selfservice/meeting_list.html",
        {"meetings": meetings.upcoming(request.member, today=today)},
    )


@access.member_required
def meeting_reply(request, pk: int):
    member = request.member
    activity = meetings.meeting_for_member(member, pk)
    past = activity.held_on < timezone.localdate()
    current = activity.reply
    initial = {"answer": current.answer, "reason": current.reason} if current else {}
    form = ReplyForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST":
        if past:
            messages.info(request, "会议已召开，不能再回复。")
            return redirect("selfservice:meeting_reply", pk=activity.pk)
        if form.is_valid():
            try:
                meetings.record_reply(member=member, activity=activity, **form.cleaned_data)
            except StepRefused as refused:
                messages.info(request, " ".join(refused.messages))
            else:
                messages.success(
                    request, "✓ 已收到您的回复。" if current is None else "✓ 已更新您的回复。"
                )
            return redirect("selfservice:meeting_reply", pk=activity.pk)
    return render(
        request,
        "selfservice/meeting_reply.html",
        {"activity": activity, "reply": current, "form": form, "past": past},
    )


# --- the branch's side ------------------------------------------------------------------------


@require_POST
def meeting_excuse(request, pk: int):
    """Judge a request to be excused: good=1 a good reason, good=0 not."""
    found = get_object_or_404(meetings.replies_visible_to(request.user), pk=pk)
    good = request.POST.get("good") == "1"
    try:
        meetings.decide_excuse(actor=request.user, reply=found, good=good)
    except StepRefused as refused:
        messages.error(request, " ".join(refused.messages))
    else:
        messages.success(
            request,
            _("The excuse was accepted as a good reason.")
            if good
            else _("The request was returned."),
        )
    return back_to_inbox(request)


urlpatterns = [
    path("me/meetings/", meeting_list, name="meetings"),
    path("me/meetings/<int:pk>/", meeting_reply, name="meeting_reply"),
    path("self-service/meetings/replies/<int:pk>/excuse/", meeting_excuse, name="meeting_excuse"),
]
