"""What the page and load benchmarks share: the staff they act as and the pages they open.

Call after django.setup(), on a database filled by bench.province.
"""

import math
import statistics
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection
from django.db.models import Count
from django.db.models.functions import Left

from infrastructure.pagination import cursor_after
from members.models import Organisation, StaffAssignment
from members.selectors import member_order, members_visible_to

# Set on the bench users only, which exist only in liudong_bench* databases (guard()).
BENCH_PASSWORD = "bench-pages-" + "not-a-secret-2024"  # noqa: S105
PROVINCE = "基准省委组织部"


def fresh_statistics() -> None:
    """ANALYZE, as autovacuum would have by morning: the nightly scan rewrites most alerts,
    and with statistics from before it the planner takes members_alert for nearly empty."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1)]


def summary(timings_ms: list[float]) -> dict:
    return {
        "median_ms": round(statistics.median(timings_ms), 1),
        "p95_ms": round(percentile(timings_ms, 0.95), 1),
    }


def counties() -> list[Organisation]:
    province = Organisation.objects.get_root_nodes().get(name=PROVINCE)
    return list(Organisation.objects.get_children(province))


def staff_user(*, username: str, organisation: Organisation, role: str) -> User:
    user, created = User.objects.get_or_create(username=username)
    if created or not user.has_usable_password():
        user.set_password(BENCH_PASSWORD)  # hashing is slow: only the first time
        user.save(update_fields=["password"])
    StaffAssignment.objects.update_or_create(
        user=user, defaults={"organisation": organisation, "role": role}
    )
    return user


def bench_staff(*, secretaries: int, reviewers: int) -> list[tuple[User, str]]:
    """Secretaries of branches spread over the counties, and reviewers of whole counties."""
    every_county = counties()
    people = []
    for index in range(secretaries):
        county = every_county[index % len(every_county)]
        township = Organisation.objects.get_children(county)[index // len(every_county)]
        branch = Organisation.objects.get_children(township).first()
        user = staff_user(
            username=f"bench-secretary-{index}",
            organisation=branch,
            role=StaffAssignment.Role.SECRETARY,
        )
        people.append((user, "secretary"))
    for index in range(reviewers):
        user = staff_user(
            username=f"bench-reviewer-{index}",
            organisation=every_county[index % len(every_county)],
            role=StaffAssignment.Role.REVIEWER,
        )
        people.append((user, "reviewer"))
    return people


def pages_for(user: User) -> dict[str, str]:
    """The pages a secretary or a reviewer opens most, as label -> URL, with real data in them."""
    visible = members_visible_to(user)
    total = visible.count()
    # The last page, reached as the list's "Next" links reach it (a cursor after the row
    # before it): the cursor is made here once, with the OFFSET the page itself never uses.
    size = settings.MEMBER_LIST_PAGE_SIZE
    order = member_order("name")
    before_last = max(0, (math.ceil(total / size) - 1) * size)
    anchor = visible.select_related("home_branch").order_by(*order)[before_last - 1 : before_last]
    last_cursor = cursor_after(anchor[0], order=order, start=before_last + 1) if before_last else ""
    # The commonest surname + first given character in scope, as someone would type it.
    prefix = (
        visible.annotate(prefix=Left("name", 2))
        .values("prefix")
        .annotate(n=Count("id"))
        .order_by("-n")
        .values_list("prefix", flat=True)
        .first()
    )
    someone = visible.order_by("id")[total // 2 :].first()
    mobile = visible.filter(mobility_episodes__isnull=False).order_by("id").first()
    organisation = user.assignment.organisation
    # Stable labels (the load test weighs pages by them); the URL says which page and query.
    pages = {
        "member list, page 1": "/members/",
        "member list, last page": f"/members/?after={quote(last_cursor)}",
        "name search": f"/members/?q={prefix}",
        "member detail": f"/members/{(mobile or someone).pk}/",
        "outflow ledger": "/ledger/?side=outflow",
        "alert inbox": "/alerts/",
    }
    if organisation.kind == Organisation.Kind.BRANCH:
        pages["dashboard (branch)"] = f"/dashboard/?org={organisation.pk}"
    else:
        township = Organisation.objects.get_children(organisation).first()
        pages["dashboard (county)"] = f"/dashboard/?org={organisation.pk}"
        pages["dashboard (township)"] = f"/dashboard/?org={township.pk}"
    return pages


def members_in_scope(user: User) -> int:
    return members_visible_to(user).count()
