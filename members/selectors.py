"""Reads. Every view starts from one of these, and they all start from the user's scope."""

import re
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from infrastructure.steps import StepRefused

from . import national_id
from .models import Member, Organisation, StaffAssignment
from .name_search import filter_by_name

MEMBER_SORTS = {
    "name": ("name", "id"),
    "-name": ("-name", "-id"),
    "joined_on": ("joined_on", "id"),
    "-joined_on": ("-joined_on", "-id"),
    "branch": ("home_branch__path", "name", "id"),
}
PHONE_QUERY = re.compile(r"^[\d\-+ ]{3,}$")


def assignment_of(user) -> StaffAssignment | None:
    """The user's assignment with its organisation, read in one query and kept on the user
    (Django's own cache of `user.assignment`), as every page asks for it."""
    if not user.is_authenticated:
        return None
    related = user._meta.model.assignment.related
    if not related.is_cached(user):
        found = StaffAssignment.objects.select_related("organisation").filter(user=user).first()
        related.set_cached_value(user, found)
    return related.get_cached_value(user)


def sees_everything(user) -> bool:
    if not user.is_authenticated:
        return False
    assignment = assignment_of(user)
    return user.is_superuser or (
        assignment is not None and assignment.role == StaffAssignment.Role.ADMINISTRATOR
    )


def scope_root_of(user) -> Organisation | None:
    assignment = assignment_of(user)
    return assignment.organisation if assignment else None


def organisation_in_scope(user, organisation: Organisation | None) -> bool:
    """The same rule as organisations_visible_to, for one organisation, without a query."""
    if organisation is None:
        return False
    if sees_everything(user):
        return True
    root = scope_root_of(user)
    return root is not None and organisation.path.startswith(root.path)


def organisations_visible_to(user) -> QuerySet[Organisation]:
    if sees_everything(user):
        return Organisation.objects.all()
    root = scope_root_of(user)
    if root is None:
        return Organisation.objects.none()
    return Organisation.objects.filter(path__startswith=root.path)


HostedMembers = Callable[[Organisation], QuerySet]
_hosting: list[HostedMembers] = []


def register_hosting(hosted: HostedMembers) -> HostedMembers:
    """Let another app say which members an organisation subtree hosts (inflow side).

    `hosted(root)` returns a queryset with a member_id column; transfers/ registers current
    mobility episodes whose inflow organisation is in the subtree.
    """
    _hosting.append(hosted)
    return hosted


@dataclass(frozen=True)
class Scope:
    """The ids that make up a user's scope (two small queries; once per GET request).

    Filtering members by `home_branch_id IN (ids)` and `id IN (hosted ids)` lets PostgreSQL
    combine two index scans; the equivalent join on the organisation path with an OR read the
    whole members table for every list page at a million members.
    """

    organisation_ids: tuple[int, ...]
    hosted_member_ids: tuple[int, ...]


# Within one GET request the scope is read once (ScopeOncePerRequest sets this); a page asks
# for it from several selectors. Everywhere else (writes, tasks, shells) it is read each time.
_scopes_of_this_request: ContextVar[dict | None] = ContextVar("scopes", default=None)


def scope_ids(root: Organisation, *, hosted_too: bool) -> Scope:
    remembered = _scopes_of_this_request.get()

    def read(part: str, load: Callable[[], tuple[int, ...]]) -> tuple[int, ...]:
        if remembered is None:
            return load()
        key = (part, root.pk, root.path)
        if key not in remembered:
            remembered[key] = load()
        return remembered[key]

    def hosted_ids() -> tuple[int, ...]:
        hosted: set[int] = set()
        for hosted_members in _hosting:
            hosted.update(hosted_members(root).values_list("member_id", flat=True))
        return tuple(sorted(hosted))

    organisation_ids = read(
        "organisations",
        lambda: tuple(
            Organisation.objects.filter(path__startswith=root.path).values_list("pk", flat=True)
        ),
    )
    return Scope(organisation_ids, read("hosted", hosted_ids) if hosted_too else ())


class ScopeOncePerRequest:
    """Middleware: a GET request reads each scope once, however many selectors ask."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method not in ("GET", "HEAD"):
            return self.get_response(request)
        token = _scopes_of_this_request.set({})
        try:
            return self.get_response(request)
        finally:
            _scopes_of_this_request.reset(token)


def members_editable_by(user) -> QuerySet[Member]:
    """Members whose organisational relationship is in the user's subtree: theirs to edit."""
    if sees_everything(user):
        return Member.objects.all()
    root = scope_root_of(user)
    if root is None:
        return Member.objects.none()
    return Member.objects.filter(
        home_branch_id__in=scope_ids(root, hosted_too=False).organisation_ids
    )


def members_visible_to(user) -> QuerySet[Member]:
    """The one rule for who sees which members.

    The members whose home branch is in the subtree of the user's node (a secretary's
    branch with its groups; a reviewer's committee or county), plus those the subtree
    hosts as the inflow side. Administrators see everything.
    """
    if sees_everything(user):
        return Member.objects.all()
    root = scope_root_of(user)
    if root is None:
        return Member.objects.none()
    scope = scope_ids(root, hosted_too=True)
    in_scope = Q(home_branch_id__in=scope.organisation_ids)
    if scope.hosted_member_ids:
        in_scope |= Q(pk__in=scope.hosted_member_ids)
    return Member.objects.filter(in_scope)


def require_editable(actor, member: Member) -> None:
    """Refuse a write unless the member's relationship is in the actor's subtree."""
    require_all_editable(actor, {member.pk})


def require_all_editable(actor, member_ids: set[int]) -> None:
    """`require_editable` for many members, in one query."""
    if members_editable_by(actor).filter(pk__in=member_ids).count() != len(member_ids):
        raise StepRefused(
            _("Only the member's home branch or the organisations above it can do this.")
        )


def require_visible(actor, member: Member) -> None:
    """Refuse unless the actor sees the member (home side or hosting side)."""
    if not members_visible_to(actor).filter(pk=member.pk).exists():
        raise StepRefused(_("This member is not in your scope."))


def member_is_hosted_for(*, user, member: Member) -> bool:
    """True when the user sees this member only as the inflow side (the member's record is
    read-only to them; they keep the inflow side of the ledger and organisational life).

    Remembered on the member object: the page and each of its sections ask once between them.
    """
    answers = member.__dict__.setdefault("_hosted_for", {})
    if user.pk not in answers:
        answers[user.pk] = not members_editable_by(user).filter(pk=member.pk).exists()
    return answers[user.pk]


def member_get(
    *, user, pk: int, read: Callable[[QuerySet[Member]], QuerySet[Member]] | None = None
) -> Member:
    """A member in the user's scope, or 404 (never 403: others' members do not exist).

    `read` adds what a page reads with the member (the member page:
    `sections.member_page_query`). The member came through the user's scope with its home
    branch, so whether the user holds it or only hosts it (`member_is_hosted_for`) is known
    here without another query.
    """
    members = members_visible_to(user).select_related("home_branch")
    if read is not None:
        members = read(members)
    member = get_object_or_404(members, pk=pk)
    # members_editable_by's rule for one member: the home branch in the user's subtree.
    holds = organisation_in_scope(user, member.home_branch)
    member.__dict__.setdefault("_hosted_for", {})[user.pk] = not holds
    return member


def member_get_for_edit(*, user, pk: int) -> Member:
    """A member the user may change; hosted members and others' members are a 404."""
    return get_object_or_404(members_editable_by(user).select_related("home_branch"), pk=pk)


def organisation_get(*, user, pk: int) -> Organisation:
    return get_object_or_404(organisations_visible_to(user), pk=pk)


def organisation_ancestors(*, user, organisation: Organisation) -> QuerySet[Organisation]:
    """The organisations above this one that the user may also open (for breadcrumbs)."""
    paths = [
        organisation.path[: depth * Organisation.steplen] for depth in range(1, organisation.depth)
    ]
    return organisations_visible_to(user).filter(path__in=paths).order_by("path")


def member_branch_choices(*, user) -> QuerySet[Organisation]:
    return (
        organisations_visible_to(user).filter(kind__in=Organisation.MEMBER_KINDS).order_by("path")
    )


def member_search(
    *,
    user,
    query: str = "",
    branch: Organisation | None = None,
    category: str = "",
    status: str = "",
    sort: str = "name",
) -> QuerySet[Member]:
    """Search by name or phone, with filters. A full ID number is not searched here (it would
    sit in the address bar and the logs): see `looks_like_national_id` and the logged search
    `services.member_find_by_national_id`."""
    members = members_visible_to(user).select_related("home_branch")
    query = query.strip()
    if query:
        if looks_like_national_id(query):
            members = members.none()
        elif PHONE_QUERY.match(query):
            members = members.filter(phone__contains=query.replace(" ", ""))
        else:
            members = filter_by_name(members, query=query)
    if branch is not None:
        members = members.filter(home_branch__path__startswith=branch.path)
    if category:
        members = members.filter(category=category)
    if status:
        members = members.filter(status=status)
    return members.order_by(*member_order(sort))


def home_side_ids(*, user, members: list[Member]) -> set[int]:
    """Which of these members the user holds (and may see more of their ID number)."""
    if sees_everything(user):
        return {member.pk for member in members}
    root = scope_root_of(user)
    if root is None:
        return set()
    held = set(scope_ids(root, hosted_too=False).organisation_ids)  # read once per request
    return {member.pk for member in members if member.home_branch_id in held}


def looks_like_national_id(query: str) -> bool:
    number = national_id.normalise(query)
    return len(number) == 18 and number[:17].isdigit()


def member_order(sort: str) -> tuple[str, ...]:
    """The ordering of the member list for a sort key; it always ends with the id."""
    return MEMBER_SORTS.get(sort, MEMBER_SORTS["name"])


@dataclass(frozen=True)
class HistoryChange:
    field: str
    old: str
    new: str


@dataclass(frozen=True)
class HistoryEntry:
    when: object
    who: str
    kind: str
    changes: list[HistoryChange]


def _display(field, value, organisations: dict[int, str]) -> str:
    if value in (None, ""):
        return "—"
    if field.name == "home_branch":
        return organisations.get(value, str(value))
    if field.choices:
        return str(dict(field.choices).get(value, value))
    return str(value)


def member_history(*, member: Member, limit: int = 50) -> list[HistoryEntry]:
    """Who changed what and when, newest first; the ID number shows only as 'changed'."""
    records = list(member.history.select_related("history_user").order_by("-history_date")[:limit])
    older = [*records[1:], None] if records else []
    # The home branch read with the member names itself; only other branches are looked up.
    known = (
        {member.home_branch_id: member.home_branch.name}
        if Member.home_branch.is_cached(member)
        else {}
    )
    return history_entries(list(zip(records, older, strict=True)), names=known)


def history_entries(
    pairs: list[tuple], *, names: dict[int, str] | None = None
) -> list[HistoryEntry]:
    """One entry per (newer, older) pair of a member's history rows (older None: no diff).
    `names`: organisation names the caller has read already, by id."""
    branch_ids = {record.home_branch_id for pair in pairs for record in pair if record}
    organisations = {pk: name for pk, name in (names or {}).items() if pk in branch_ids}
    if missing := branch_ids - organisations.keys():
        organisations.update(Organisation.objects.filter(pk__in=missing).values_list("pk", "name"))
    entries = []
    for newer, older in pairs:
        changes = []
        if older is not None:
            # diff_against skips non-editable fields, the digest among them: compare it here.
            if newer.national_id_digest != older.national_id_digest:
                field = Member._meta.get_field("national_id")
                changes.append(HistoryChange(str(field.verbose_name), "••••", "••••"))
            for change in newer.diff_against(older).changes:
                field = Member._meta.get_field(change.field)
                changes.append(
                    HistoryChange(
                        str(field.verbose_name),
                        _display(field, change.old, organisations),
                        _display(field, change.new, organisations),
                    )
                )
        entries.append(
            HistoryEntry(
                when=newer.history_date,
                who=str(newer.history_user or "—"),
                kind=newer.get_history_type_display(),
                changes=changes,
            )
        )
    return entries


def member_status_counts(*, user) -> dict[str, int]:
    rows = members_visible_to(user).values("status").annotate(n=Count("id"))
    return {row["status"]: row["n"] for row in rows}


def probation_due(*, user, today: date) -> QuerySet[Member]:
    """Probationary members whose probation (default 12 months) has ended: the branch must decide."""
    ended_before = today - relativedelta(months=settings.PROBATION_MONTHS)
    return (
        members_visible_to(user)
        .filter(
            category=Member.Category.PROBATIONARY,
            status=Member.Status.ACTIVE,
            joined_on__lte=ended_before,
        )
        .select_related("home_branch")
        .order_by("joined_on")
    )


def organisation_tree(*, user) -> list[Organisation]:
    """The user's organisations in tree order, each with direct and subtree member counts."""
    organisations = list(
        organisations_visible_to(user)
        .annotate(direct_members=Count("members", filter=Q(members__status=Member.Status.ACTIVE)))
        .order_by("path")
    )
    totals: dict[str, int] = {}
    for org in organisations:
        for depth in range(1, org.depth + 1):
            prefix = org.path[: depth * Organisation.steplen]
            totals[prefix] = totals.get(prefix, 0) + org.direct_members
    base_depth = min((o.depth for o in organisations), default=1)
    for org in organisations:
        org.subtree_members = totals.get(org.path, 0)
        org.indent = org.depth - base_depth
    return organisations


def organisation_from_query(request, name: str = "org") -> Organisation | None:
    """The ?org=<pk> filter of a list page: an organisation in the user's scope (404 otherwise)."""
    pk = request.GET.get(name, "")
    if not pk:
        return None
    if not pk.isdigit():
        raise Http404
    return organisation_get(user=request.user, pk=int(pk))


def can_review(user) -> bool:
    """A reviewer (committee or county) or an administrator."""
    assignment = assignment_of(user)
    return sees_everything(user) or (
        assignment is not None and assignment.role == StaffAssignment.Role.REVIEWER
    )


def duplicate_cases_visible_to(user) -> QuerySet:
    """Attempts to register a number held elsewhere, for the reviewers who see both sides (the
    registering organisation and the member's home branch); nobody else."""
    from .models import DuplicateRegistration

    if not can_review(user):
        return DuplicateRegistration.objects.none()
    visible = organisations_visible_to(user)
    return DuplicateRegistration.objects.filter(
        organisation__in=visible, existing_member__home_branch__in=visible
    ).select_related("attempted_by", "organisation", "existing_member__home_branch")
