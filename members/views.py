from django import forms
from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from infrastructure.client_address import client_address
from infrastructure.pagination import keyset_page
from infrastructure.steps import StepRefused, step_view

from . import selectors, services
from .forms import DecisionForm, MemberFilterForm, MemberForm
from .models import DuplicateRegistration, Organisation
from .sections import member_page_query, render_member_sections


@require_GET
@transaction.non_atomic_requests  # reads only: no BEGIN/COMMIT around the page
def member_list(request):
    # A branch outside the user's scope, or not a number, is refused (404), not ignored.
    selectors.organisation_from_query(request, "branch")
    form = MemberFilterForm(request.GET or None, user=request.user)
    filters = form.cleaned_data if form.is_valid() else {}
    members = selectors.member_search(
        user=request.user,
        query=filters.get("q", ""),
        branch=filters.get("branch"),
        category=filters.get("category", ""),
        status=filters.get("status", ""),
        sort=filters.get("sort") or "name",
    )
    page = keyset_page(
        members,
        order=selectors.member_order(filters.get("sort") or "name"),
        cursor=request.GET.get("after", ""),
        size=settings.MEMBER_LIST_PAGE_SIZE,
        count=members.count(),
    )
    query_string = request.GET.copy()
    query_string.pop("after", None)
    query_string.pop("page", None)
    return render(
        request,
        "members/member_list.html",
        {
            "form": form,
            "page": page,
            "query_string": query_string.urlencode(),
            # A full ID number typed into the name search: pointed to the logged search.
            "id_query": selectors.looks_like_national_id(filters.get("q", "")),
            # Rows whose full number the user holds; hosted members show four characters.
            "home_side": selectors.home_side_ids(user=request.user, members=list(page)),
            "find_form": FindByIdForm(),
        },
    )


class NotEchoedInput(forms.TextInput):
    """The number typed is never written back into the page (nor its cache or history)."""

    def format_value(self, value):
        return None


class FindByIdForm(forms.Form):
    number = forms.CharField(
        label=gettext_lazy("Full national ID number"),
        max_length=30,
        widget=NotEchoedInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


def member_find_by_id(request):
    """Exact search by a full ID number: a POST (never in an address bar or a log line), among
    the members whose full number the user may see, rate-limited and in the access log."""
    form = FindByIdForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            found = services.member_find_by_national_id(
                actor=request.user,
                number=form.cleaned_data["number"],
                ip_address=client_address(request),
            )
        except StepRefused as refused:
            form.add_error(None, refused.messages)
        else:
            if found is not None:
                return redirect("members:detail", pk=found.pk)
            form.add_error(
                "number",
                _(
                    "No member of your organisation has this ID number. (Members hosted from "
                    "elsewhere are found by name.)"
                ),
            )
    return render(request, "members/find_by_id.html", {"form": form})


@require_GET
def duplicate_cases(request):
    """Attempts to register a number held elsewhere, for the reviewers above both sides."""
    if not selectors.can_review(request.user):
        raise Http404
    cases = selectors.duplicate_cases_visible_to(request.user)[:200]
    return render(request, "members/duplicate_cases.html", {"cases": cases})


@require_GET
def member_detail(request, pk: int):
    # One query reads the member with what the sections read with it (issue #18).
    member = selectors.member_get(user=request.user, pk=pk, read=member_page_query)
    return render(
        request,
        "members/member_detail.html",
        {
            "member": member,
            "hosted_only": selectors.member_is_hosted_for(user=request.user, member=member),
            "history": selectors.member_history(member=member),
            "sections": render_member_sections(request, member),
        },
    )


@require_POST
def member_reveal_national_id(request, pk: int):
    member = selectors.member_get_for_edit(user=request.user, pk=pk)
    number = services.national_id_reveal(
        member=member, actor=request.user, ip_address=client_address(request)
    )
    return render(
        request, "members/national_id_revealed.html", {"member": member, "number": number}
    )


def _report_duplicate(request, form: MemberForm) -> None:
    if form.held_elsewhere is not None:
        services.duplicate_registration_record(
            actor=request.user,
            organisation=form.cleaned_data.get("home_branch")
            or selectors.scope_root_of(request.user),
            held=[(form.held_elsewhere.pk, form.data.get("name", ""))],
            source=DuplicateRegistration.Source.FORM,
        )


def member_create(request):
    form = MemberForm(request.POST or None, user=request.user)
    if request.method == "POST":
        if form.is_valid():
            member = services.member_save(member=form.instance, actor=request.user)
            messages.success(request, _("Member %(name)s added.") % {"name": member.name})
            return redirect("members:detail", pk=member.pk)
        _report_duplicate(request, form)
    return render(request, "members/member_form.html", {"form": form})


def member_edit(request, pk: int):
    member = selectors.member_get_for_edit(user=request.user, pk=pk)
    form = MemberForm(request.POST or None, instance=member, user=request.user)
    conflict = None
    if request.method == "POST" and form.is_valid():
        try:
            services.member_save(
                member=form.instance, actor=request.user, version=form.cleaned_data["version"]
            )
        except services.EditConflict as error:
            conflict = error.entries
            form.refuse_stale(version=error.version)
        else:
            messages.success(request, _("Changes to %(name)s saved.") % {"name": member.name})
            return redirect("members:detail", pk=member.pk)
    elif request.method == "POST":
        _report_duplicate(request, form)
    return render(
        request,
        "members/member_form.html",
        {"form": form, "member": member, "conflict": conflict},
    )


@require_GET
def organisation_tree(request):
    return render(
        request,
        "members/organisation_tree.html",
        {"organisations": selectors.organisation_tree(user=request.user)},
    )


@require_GET
def organisation_detail(request, pk: int):
    organisation = selectors.organisation_get(user=request.user, pk=pk)
    return render(
        request,
        "members/organisation_detail.html",
        {
            "organisation": organisation,
            "children": Organisation.objects.get_children(organisation),
            "ancestors": selectors.organisation_ancestors(
                user=request.user, organisation=organisation
            ),
            "history": organisation.history.select_related("history_user")[:20],
        },
    )


def decision_new(request, pk: int):
    """停止党籍, 恢复党籍 or 除名, recorded by the side that holds the relationship."""
    member = selectors.member_get_for_edit(user=request.user, pk=pk)
    url = reverse("members:detail", args=[member.pk]) + "#decisions"
    form = DecisionForm(
        request.POST or None, initial={"deciding_organisation": member.home_branch.name}
    )
    return step_view(
        request,
        form=form,
        title=_("Record a decision on membership"),
        subject=member,
        cancel_url=url,
        then=url,
        perform=lambda data: services.decision_record(actor=request.user, member=member, **data),
        done=_("Decision recorded."),
    )
