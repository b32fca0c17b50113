"""The branch's side of a member's personal link: issue, send, rotate, revoke."""

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from infrastructure.steps import StepRefused
from members.selectors import member_get_for_edit

from . import access, notify
from .models import MemberLink

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
            send_link(member=member, channel=SEND_CHANNELS[action])
        except StepRefused as refused:
            messages.error(request, " ".join(refused.messages))
        else:
            messages.success(request, _("The link is on its way to the member."))
    else:
        messages.error(request, _("Unknown action."))
    return redirect(reverse("members:detail", args=[member.pk]) + "#own-page")


def send_link(*, member, channel: str):
    link = MemberLink.objects.filter(member=member, revoked_at__isnull=True).first()
    if link is None:
        raise StepRefused(_("Make the link first."))
    if channel == "email" and not member.email:
        raise StepRefused(_("The member has no e-mail address on record."))
    if channel == "sms" and not access.ways_to_prove(member)[0].channel == "sms":
        raise StepRefused(_("The member's phone is not a mobile number: send the link by WeChat."))
    # One message per link, channel and day: a double click sends it once.
    key = f"link:{member.pk}:{link.generation}:{channel}:{timezone.localdate():%Y%m%d}"
    return notify.notify(
        member=member,
        kind="link",
        key=key,
        values={"name": member.name, "link": access.url_for(link)},
        urgent=True,
        channel=channel,
    )


urlpatterns = [
    path("self-service/members/<int:member_pk>/link/", member_link, name="member_link"),
]
