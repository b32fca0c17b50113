"""The home page: what to do today, by name, worst first; then the counts. It reads every app."""

from django.db.models import Count
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from alerts import selectors as alert_selectors
from members import selectors as member_selectors
from members.models import Member
from reports import today as today_tasks
from selfservice.selectors import waiting_for
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
            "tasks": _with_members_own(today_tasks.tasks_for(user=user, today=today), user),
            "alert_summary": alert_selectors.alert_summary(user=user, kept=True),
        },
    )


def _with_members_own(groups: list, user) -> list:
    """What members sent from their phones, after the serious alerts: a second room's "to do
    today", joined here, where both may be read."""
    waiting, more = waiting_for(user=user, limit=8)
    if not waiting:
        return groups
    inbox = reverse("selfservice:inbox")
    group = today_tasks.TaskGroup(
        "own_page",
        _("Sent from members' phones"),
        [
            today_tasks.Task(
                name=row.member.name,
                what=row.what,
                action=str(_("Confirm or return")),
                url=f"{inbox}#{row.anchor}",
                since=row.since,
            )
            for row in waiting
        ],
        inbox if more else "",
    )
    at = 1 if groups and groups[0].key == "serious" else 0
    return [*groups[:at], group, *groups[at:]]
