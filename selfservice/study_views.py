"""学习打卡: the member's list and check-in (me/study/), and the branch's publishing and
completion pages (self-service/study/)."""

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from infrastructure.steps import StepRefused
from members.forms import DateInput
from members.selectors import organisations_visible_to

from . import access, study
from .models import StudyCheckIn, StudyItem

# --- the member's pages -----------------------------------------------------------------------


class CheckInForm(forms.Form):
    reflection = forms.CharField(
        label="学习心得（选填，一句话）",
        max_length=200,
        required=False,
        error_messages={"max_length": "学习心得请控制在200字以内（现有%(show_value)d字）。"},
    )


@require_GET
@access.member_required
def study_list(request):
    today = timezone.localdate()
    return render(
        request,
        "selfservice/study_list.html",
        {"items": study.member_items(request.member, today=today), "today": today},
    )


@access.member_required
def study_detail(request, pk: int):
    member = request.member
    item = study.item_for_member(member, pk)
    form = CheckInForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if item.done:
            messages.info(request, study.ALREADY_DONE)
            return redirect("selfservice:study_detail", pk=item.pk)
        if form.is_valid():
            try:
                study.check_in(member=member, item=item, **form.cleaned_data)
            except StepRefused as refused:
                messages.info(request, " ".join(refused.messages))
            else:
                messages.success(request, "✓ 打卡成功，感谢您的学习。")
            return redirect("selfservice:study_detail", pk=item.pk)
    mine = StudyCheckIn.objects.filter(item=item, member=member).first() if item.done else None
    return render(
        request,
        "selfservice/study_detail.html",
        {
            "item": item,
            "state": study.state_of(item, timezone.localdate()),
            "mine": mine,
            "form": form,
        },
    )


# --- the branch's pages -----------------------------------------------------------------------


class PublishForm(forms.ModelForm):
    link = forms.URLField(
        label=StudyItem._meta.get_field("link").verbose_name,
        max_length=200,
        required=False,
        assume_scheme="https",
    )

    class Meta:
        model = StudyItem
        fields = ["organisation", "audience", "title", "body", "link", "due_on"]
        labels = {"organisation": gettext_lazy("Published by")}
        widgets = {
            "due_on": DateInput(),
            "body": forms.Textarea(attrs={"rows": 6}),
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = organisations_visible_to(user).order_by("path")

    def clean_due_on(self):
        due_on = self.cleaned_data["due_on"]
        if due_on < timezone.localdate():
            raise forms.ValidationError(_("The due date cannot be in the past."))
        return due_on


def study_items(request):
    """The items the user may see, and the form to publish one."""
    form = PublishForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            item = study.publish(actor=request.user, **form.cleaned_data)
        except StepRefused as refused:
            form.add_error(None, refused.messages)
        else:
            messages.success(request, _("Published; the members it is for are being told."))
            return redirect("selfservice:study_item", pk=item.pk)
    items = study.items_visible_to(request.user)[:100]
    return render(request, "selfservice/study_items.html", {"items": items, "form": form})


@require_GET
def study_item(request, pk: int):
    item = study.item_for_staff(request.user, pk)
    rows = study.completion_by_branch(user=request.user, item=item)
    return render(
        request,
        "selfservice/study_item.html",
        {
            "item": item,
            "rows": rows,
            "total": sum(row.total for row in rows),
            "done": sum(row.done for row in rows),
            "check_ins": study.check_ins_seen_by(user=request.user, item=item),
        },
    )


urlpatterns = [
    path("me/study/", study_list, name="study_list"),
    path("me/study/<int:pk>/", study_detail, name="study_detail"),
    path("self-service/study/", study_items, name="study_items"),
    path("self-service/study/<int:pk>/", study_item, name="study_item"),
]
