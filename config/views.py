"""The home page: what needs the signed-in secretary or reviewer. It reads from every app."""

from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from members import selectors as member_selectors
from members.models import Member
from transfers import selectors as transfer_selectors


@require_GET
def home(request):
    user = request.user
    today = timezone.localdate()
    counts = member_selectors.member_status_counts(user=user)
    return render(
        request,
        "home.html",
        {
            "scope": member_selectors.scope_root_of(user),
            "active_count": counts.get(Member.Status.ACTIVE, 0),
            "total_count": sum(counts.values()),
            "mobile_count": transfer_selectors.current_episodes_visible_to(user).count(),
            "probation_due": member_selectors.probation_due(user=user, today=today)[:10],
        },
    )
