"""The home page: what to do today, by name, worst first; then the counts. It reads every app."""

from django.db.models import Count
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from alerts import selectors as alert_selectors
from members import selectors as member_selectors
from members.models import Member
from reports import today as today_tasks
from transfers import selectors as transfer_selectors
from transfers.classification import Arrangement


@require_GET
def home(request):
    user = request.user
    today = timezone.localdate()
    counts = member_selectors.member_status_counts(user=user)
    by_arrangement = dict(
        transfer_selectors.mobile_members(user=user, today=today)
        .order_by()
        .values_list("arrangement")
        .annotate(n=Count("id"))
    )
    return render(
        request,
        "home.html",
        {
            "scope": member_selectors.scope_root_of(user),
            "active_count": counts.get(Member.Status.ACTIVE, 0),
            "total_count": sum(counts.values()),
            "mobile_count": sum(by_arrangement.values()),
            "arrangements": [
                (value, label, by_arrangement.get(value, 0))
                for value, label in Arrangement.choices
                if value != Arrangement.NONE
            ],
            "tasks": today_tasks.tasks_for(user=user, today=today),
            "alert_summary": alert_selectors.alert_summary(user=user, kept=True),
        },
    )
