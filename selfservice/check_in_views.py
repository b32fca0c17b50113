"""在线报到 pages: the member's form (the city, then the organisation there) and own list; the
branch's two decisions, posted from the self-service inbox.

No JavaScript and up to 10,000 branches: the organisations offered are those whose name or
place carries the city the member typed on the first step, at most CANDIDATES_MAX of them.
"""

from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from infrastructure.steps import StepRefused
from members import phone
from members.forms import PhoneInput
from members.models import ExternalOrganisation, Member, Organisation
from transfers import places

from . import access, check_in
from .inbox_views import back_to_inbox
from .models import CheckIn

CANDIDATES_MAX = 30
OTHER, UNKNOWN = "other", "unknown"

# --- the organisations Liudong knows there ---------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    value: str  # "org:<pk>" (ours) or "ext:<pk>" (external)
    name: str
    where: str


def _city_word(place: places.Destination) -> str:
    """The short name a branch's name or place would carry: 深圳, 上海, 延边."""
    name = place.province if place.city in places.PSEUDO_CITIES else place.city
    if name.endswith("自治州"):
        return name[:2]
    for suffix in ("特别行政区", "自治区", "地区", "盟", "市", "省"):
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


def _other_province(region: str, place: places.Destination) -> bool:
    """A region the divisions read as another province than the place's (吉林市 vs 吉林省…)."""
    found = places.parse_destination("".join(region.split())) if region else None
    return bool(found and found.province and found.province != place.province)


def candidates(*, member: Member, place: places.Destination) -> tuple[list[Candidate], bool]:
    """Our branches whose name or place carries the city, then external organisations whose
    region does; (at most CANDIDATES_MAX, whether more matched)."""
    word = _city_word(place)
    ours = (
        Organisation.objects.filter(kind__in=Organisation.MEMBER_KINDS)
        .filter(Q(name__contains=word) | Q(region__contains=word) | Q(address__contains=word))
        .exclude(pk=member.home_branch_id)
        .order_by("name", "pk")[: CANDIDATES_MAX + 1]
    )
    external = ExternalOrganisation.objects.filter(region__contains=word).order_by("name", "pk")
    rows = [
        Candidate(f"org:{org.pk}", org.name, org.region)
        for org in ours
        if not _other_province(org.region, place)
    ] + [
        Candidate(f"ext:{org.pk}", org.name, org.region)
        for org in external[: CANDIDATES_MAX + 1]
        if not _other_province(org.region, place)
    ]
    return rows[:CANDIDATES_MAX], len(rows) > CANDIDATES_MAX


def inflow_of(value: str, typed: str) -> tuple[Organisation | None, str]:
    """(our organisation, or the name to keep) for a chosen candidate or a typed name."""
    kind, _sep, pk = value.partition(":")
    if kind == "org":
        return Organisation.objects.get(pk=pk), ""
    if kind == "ext":
        return None, str(ExternalOrganisation.objects.get(pk=pk))[:200]
    return None, typed.strip() if value == OTHER else ""


def own_check_ins(member: Member, *, limit: int = 20) -> list[CheckIn]:
    return list(CheckIn.objects.filter(member=member).select_related("inflow_organisation")[:limit])


# --- the member's form ---------------------------------------------------------------------


class PlaceForm(forms.Form):
    destination = forms.CharField(
        label="所在城市",
        max_length=100,
        help_text="例如：深圳、广东省深圳市南山区",
        error_messages={"required": "请填写您所在的城市。", "max_length": "城市最多100个字。"},
    )
    abroad = forms.BooleanField(
        label="我在境外（国外或港澳台地区）",
        required=False,
        help_text="勾选后请填写国家（地区）和城市，例如：日本东京",
    )
    workplace = forms.CharField(
        label="工作单位或学校",
        max_length=100,
        error_messages={
            "required": "请填写工作单位或学校。",
            "max_length": "工作单位或学校最多100个字。",
        },
    )
    phone = forms.CharField(
        label="联系电话",
        max_length=30,
        widget=PhoneInput(),
        error_messages={"required": "请填写联系电话。", "max_length": "电话号码过长。"},
    )

    def clean(self):
        data = super().clean()
        if "destination" in data:
            try:
                self.place = check_in.read_place(data["destination"], abroad=data.get("abroad"))
            except ValueError as error:
                self.add_error("destination", str(error))
            else:
                data["destination"] = check_in.place_text(self.place)
        return data

    def clean_phone(self) -> str:
        try:
            return phone.validate(self.cleaned_data["phone"])
        except ValidationError as error:
            raise ValidationError(
                "请填写11位手机号（例如13812345678）或带区号的固定电话（例如0571-87654321）。"
            ) from error


class OrganisationForm(forms.Form):
    organisation = forms.ChoiceField(
        label="到达后参加组织生活的党组织",
        widget=forms.RadioSelect,
        error_messages={
            "required": "请选择党组织；如不清楚，请选“暂不清楚”。",
            "invalid_choice": "请从列表中选择党组织，或选择“其他”并填写名称。",
        },
    )
    other_name = forms.CharField(
        label="其他党组织的名称",
        required=False,
        max_length=100,
        error_messages={"max_length": "党组织名称最多100个字。"},
    )

    def __init__(self, *args, rows: list[Candidate], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].choices = [
            (row.value, f"{row.name}（{row.where}）" if row.where else row.name) for row in rows
        ] + [(OTHER, "其他（请在下面填写名称）"), (UNKNOWN, "暂不清楚，请党支部协助联系")]

    def clean(self):
        data = super().clean()
        if data.get("organisation") == OTHER and not data.get("other_name", "").strip():
            self.add_error("other_name", "请填写党组织的名称。")
        return data


@access.member_required
def check_in_page(request):
    """GET: the first step and the member's check-ins. POST step=place: the organisations
    there; step=submit: the check-in; step=edit: back to the first step, nothing lost."""
    member = request.member
    place_form = PlaceForm(initial={"phone": member.phone})
    organisation_form, more, error = None, False, ""
    if request.method == "POST":
        step = request.POST.get("step")
        if step == "edit":
            place_form = PlaceForm(
                initial={k: request.POST.get(k, "") for k in PlaceForm.base_fields}
            )
        elif (place_form := PlaceForm(request.POST)).is_valid():
            abroad = bool(place_form.place.country)  # no Party organisation to choose abroad
            if not abroad:
                rows, more = candidates(member=member, place=place_form.place)
                data = request.POST if step == "submit" else None
                organisation_form = OrganisationForm(data, rows=rows)
            if abroad or (step == "submit" and organisation_form.is_valid()):
                organisation, name = None, ""
                if not abroad:
                    chosen = organisation_form.cleaned_data
                    organisation, name = inflow_of(chosen["organisation"], chosen["other_name"])
                try:
                    check_in.submit(
                        member=member,
                        place=place_form.place,
                        workplace=place_form.cleaned_data["workplace"],
                        phone=place_form.cleaned_data["phone"],
                        inflow_organisation=organisation,
                        inflow_name=name,
                    )
                except StepRefused as refused:
                    error = " ".join(refused.messages)
                else:
                    messages.success(request, "报到已提交，请等待党支部确认。")
                    return redirect("selfservice:check_in")
    return render(
        request,
        "selfservice/check_in.html",
        {
            "place_form": place_form,
            "organisation_form": organisation_form,
            "more": more,
            "error": error,
            "check_ins": own_check_ins(member),
        },
    )


# --- the branch's decisions ----------------------------------------------------------------


@require_POST
def decide(request, pk: int):
    """The home side: confirm=1 (into the ledger), confirm=0 with a reason (returned)."""
    found = get_object_or_404(check_in.home_side(request.user), pk=pk)
    confirm = request.POST.get("confirm") == "1"
    try:
        check_in.decide_home(
            actor=request.user,
            check_in=found,
            confirm=confirm,
            reason=request.POST.get("reason", ""),
            mobility_type=request.POST.get("mobility_type", ""),
        )
    except StepRefused as refused:
        messages.error(request, " ".join(refused.messages))
    else:
        messages.success(
            request,
            _("Check-in confirmed; the ledger is updated.")
            if confirm
            else _("Check-in returned to the member."),
        )
    return back_to_inbox(request)


@require_POST
@access.member_required
def withdraw(request, pk: int):
    """The member takes back a check-in the home branch has not decided yet."""
    found = get_object_or_404(CheckIn, pk=pk, member=request.member)
    try:
        check_in.withdraw(member=request.member, check_in=found)
    except StepRefused as refused:
        messages.error(request, " ".join(refused.messages))
    else:
        messages.success(request, "报到已撤回，可以重新提交。")
    return redirect("selfservice:check_in")


@require_POST
def accept(request, pk: int):
    """The inflow side: accept=1 (it will host the member), accept=0 with a reason."""
    found = get_object_or_404(check_in.inflow_side(request.user), pk=pk)
    accepted = request.POST.get("accept") == "1"
    try:
        check_in.decide_inflow(
            actor=request.user,
            check_in=found,
            accept=accepted,
            reason=request.POST.get("reason", ""),
        )
    except StepRefused as refused:
        messages.error(request, " ".join(refused.messages))
    else:
        messages.success(request, _("Arrival accepted.") if accepted else _("Arrival declined."))
    return back_to_inbox(request)


urlpatterns = [
    path("me/check-in/", check_in_page, name="check_in"),
    path("me/check-in/<int:pk>/withdraw/", withdraw, name="check_in_withdraw"),
    path("self-service/check-ins/<int:pk>/decide/", decide, name="check_in_decide"),
    path("self-service/check-ins/<int:pk>/accept/", accept, name="check_in_accept"),
]
