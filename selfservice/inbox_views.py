"""The branch's inbox of what members did on their own pages: one page, every kind that waits
for a decision, each drawn by its own room's fragment (templates/selfservice/inbox/)."""

from django.shortcuts import redirect, render
from django.urls import path
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET

from . import selectors

SHOWN = 50  # the oldest first; the rest stay for the next visit


@require_GET
def inbox(request):
    sections = []
    for slug, heading, pending, fragment in selectors.INBOX_KINDS:
        rows = pending(request.user)
        shown = list(rows[:SHOWN])
        sections.append(
            {
                "slug": slug,
                "heading": heading,
                "rows": shown,
                "more": rows.count() - SHOWN if len(shown) == SHOWN else 0,
                "fragment": f"selfservice/inbox/{fragment}.html",
            }
        )
    return render(
        request,
        "selfservice/inbox.html",
        {"sections": sections, "waiting": sum(len(s["rows"]) for s in sections)},
    )


def back_to_inbox(request):
    """After a decision: back where the button was (a local page only), else the inbox."""
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect("selfservice:inbox")


urlpatterns = [path("self-service/", inbox, name="inbox")]
