"""The branch's inbox of what members did on their own pages: one page, every kind that waits
for a decision, each drawn by its own room's fragment (templates/selfservice/inbox/)."""

from django.shortcuts import render
from django.urls import path
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


urlpatterns = [path("self-service/", inbox, name="inbox")]
