"""The branch's inbox of what members did on their own pages: one page, every kind that waits
for a decision, each drawn by its own room's fragment (templates/selfservice/inbox/)."""

from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from . import check_in, dues, help, meetings

# (slug, heading, rows waiting for this user, the fragment that draws them)
KINDS = [
    ("arrivals", _("Check-ins to confirm"), check_in.pending_home_for, "check_in"),
    ("arrivals-here", _("Arrivals to accept"), check_in.pending_inflow_for, "check_in"),
    ("dues", _("Dues payments to confirm"), dues.pending_for, "dues"),
    ("excuses", _("Requests to be excused"), meetings.pending_for, "meetings"),
    ("help", _("Requests for help"), help.pending_for, "help"),
]


SHOWN = 50  # the oldest first; the rest stay for the next visit


@require_GET
def inbox(request):
    sections = []
    for slug, heading, pending, fragment in KINDS:
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
