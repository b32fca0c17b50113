"""The branch's side of a member's personal link: issue, send, rotate, revoke."""

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from infrastructure.steps import StepRefused
from members.selectors import member_get_for_edit

from . import access

SEND_CHANNELS = {"send_sms": "sms", "send_email": "email"}


@require_POST
def member_link(request, member_pk: int):
    """One form, one button per action; only the member's home side (404 for anyone else)."""
    member = member_get_for_edit(user=request.user, pk=member_pk)
    action = request.POST.get("action", "")
    if action == "issue":
        access.issue_link(member=member, actor=request.user)
        messages.success(request, _("The member's personal link is ready to send."))
    elif action == "rotate":
        access.rotate_link(member=member, actor=request.user)
        messages.success(
            request, _("A new link was made: the old one and devices signed in with it stop.")
        )
    elif action == "revoke":
        access.revoke_link(member=member, actor=request.user)
        messages.success(request, _("The link is revoked: it and every signed-in device stop."))
    elif action in SEND_CHANNELS:
        try:
            access.send_link(member=member, channel=SEND_CHANNELS[action])
        except StepRefused as refused:
            messages.error(request, " ".join(refused.messages))
        else:
            messages.success(request, _("The link is on its way to the member."))
    else:
        messages.error(request, _("Unknown action."))
    return redirect(reverse("members:detail", args=[member.pk]) + "#own-page")


urlpatterns = [
    path("self-service/members/<int:member_pk>/link/", member_link, name="member_link"),
]
