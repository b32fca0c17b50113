"""Outposts and their mobile-member branches: thin views over transfers.outposts."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from infrastructure.steps import StepRefused, step_view
from members import selectors as member_selectors
from members.models import Organisation

from . import outposts, places

PLACE_SEPARATOR = "|"  # as the dashboard's places: country|province|city


class OutpostForm(forms.Form):
    county = forms.ModelChoiceField(
        label=gettext_lazy("County"), queryset=Organisation.objects.none(), empty_label=None
    )
    city = forms.CharField(
        label=gettext_lazy("City served"),
        max_length=60,
        help_text=gettext_lazy("Province and city, e.g. 广东省深圳市."),
    )
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=100,
        required=False,
        help_text=gettext_lazy("Leave blank for the usual name, e.g. 清溪县驻深圳党建工作站."),
    )
    contact_person = forms.CharField(
        label=gettext_lazy("contact person"), max_length=50, required=False
    )
    phone = forms.CharField(label=gettext_lazy("phone"), max_length=30, required=False)

    def __init__(self, *args, counties, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["county"].queryset = counties

    def clean_city(self) -> places.Destination:
        place = places.parse_destination(self.cleaned_data["city"])
        if not place.province or not place.city:
            raise forms.ValidationError(_("Give the province and the city, e.g. 广东省深圳市."))
        return place


class UnitForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("Form"),
        choices=[
            (Organisation.Kind.BRANCH, gettext_lazy("Mobile Party branch")),
            (Organisation.Kind.GROUP, gettext_lazy("Mobile Party group")),
        ],
        widget=forms.RadioSelect,
    )
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    members = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Members"), coerce=int, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, proposal: outposts.Proposal, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["members"].choices = [
            (e.member_id, f"{e.member.name}（{e.member.home_branch.name}）")
            for e in proposal.joining
        ]


def _counties(user):
    return member_selectors.organisations_visible_to(user).filter(
        kind=Organisation.Kind.COUNTY, depth=1
    )


@require_GET
def outpost_list(request):
    found = list(outposts.outposts_visible_to(request.user))
    for outpost in found:
        outpost.units = list(outposts.outpost_units(outpost).order_by("path"))
        outpost.served = outposts.outpost_served(user=request.user, outpost=outpost).count()
    counties = [c for c in _counties(request.user) if outposts.may_set_up_outposts(request.user, c)]
    return render(
        request,
        "transfers/outpost_list.html",
        {"outposts": found, "may_set_up": bool(counties)},
    )


def outpost_new(request):
    counties = _counties(request.user)
    if not any(outposts.may_set_up_outposts(request.user, c) for c in counties):
        raise Http404
    form = OutpostForm(request.POST or None, counties=counties, initial={"county": counties[0]})

    def perform(data):
        outpost = outposts.outpost_set_up(
            actor=request.user,
            county=data["county"],
            province=data["city"].province,
            city=data["city"].city,
            name=data["name"],
            contact_person=data["contact_person"],
            phone=data["phone"],
        )
        return reverse("transfers:outpost_detail", args=[outpost.pk])

    return step_view(
        request,
        form=form,
        title=_("Set up an outpost"),
        subject=None,
        cancel_url=reverse("transfers:outpost_list"),
        perform=perform,
        done=_("Outpost set up."),
    )


@require_GET
def outpost_detail(request, pk: int):
    outpost = outposts.outpost_get(user=request.user, pk=pk)
    county = outposts.county_of(outpost)
    may_form = outposts.may_set_up_outposts(request.user, county)
    return render(
        request,
        "transfers/outpost_detail.html",
        {
            "outpost": outpost,
            "units": outposts.outpost_units(outpost).order_by("path"),
            "served": outposts.outpost_served(user=request.user, outpost=outpost),
            "not_yet": outposts.outpost_not_yet_served(user=request.user, outpost=outpost)
            if may_form
            else [],
            "may_form": may_form,
            "group_min": settings.MOBILE_GROUP_MIN_MEMBERS,
            "propose_url": reverse("transfers:outpost_propose")
            + f"?org={county.pk}&place=|{outpost.serves_province}|{outpost.serves_city}",
        },
    )


def _proposal_place(request) -> tuple[Organisation, str, str]:
    """?org=&place=country|province|city, as the dashboard's link gives them."""
    params = request.GET
    root = member_selectors.organisation_from_query(request)
    parts = params.get("place", "").split(PLACE_SEPARATOR)
    if root is None or len(parts) != 3 or parts[0] or not parts[1] or not parts[2]:
        raise Http404
    return root, parts[1], parts[2]


def outpost_propose(request):
    """The dashboard's "can form a group": exactly the members counted there, not yet hosted by
    the city's outpost; a county reviewer confirms and the branch or group is formed."""
    root, province, city = _proposal_place(request)
    proposal = outposts.group_proposal(user=request.user, root=root, province=province, city=city)
    if not proposal.episodes:
        raise Http404
    kind = proposal.suggested_kind
    form = UnitForm(
        request.POST if request.method == "POST" else None,
        proposal=proposal,
        initial={
            "kind": kind,
            "name": proposal.suggested_name(kind),
            "members": [e.member_id for e in proposal.joining],
        },
    )
    if request.method == "POST":
        if not proposal.may_confirm:
            raise Http404
        if form.is_valid():
            try:
                unit = outposts.group_proposal_confirm(
                    actor=request.user,
                    root=root,
                    province=province,
                    city=city,
                    member_ids=set(form.cleaned_data["members"]),
                    kind=form.cleaned_data["kind"],
                    name=form.cleaned_data["name"],
                )
            except StepRefused as refused:
                form.add_error(None, refused.messages)
            else:
                messages.success(request, _("%(unit)s formed.") % {"unit": unit.name})
                return redirect(
                    "transfers:outpost_detail", pk=Organisation.objects.get_parent(unit).pk
                )
    chosen = {str(pk) for pk in form["members"].value() or []}
    return render(
        request,
        "transfers/outpost_propose.html",
        {
            "proposal": proposal,
            "form": form,
            "rows": [
                (episode, episode in proposal.joining, str(episode.member_id) in chosen)
                for episode in proposal.episodes
            ],
            "group_min": settings.MOBILE_GROUP_MIN_MEMBERS,
            "branch_min": outposts.BRANCH_MIN_FULL_MEMBERS,
            "dashboard_url": reverse("reports:dashboard") + f"?org={root.pk}",
        },
    )
