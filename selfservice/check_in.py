"""在线报到: the member says where they have arrived. The home branch confirms it into the
five-clears ledger (and the mobility episode); the Party organisation they chose there, when it
is one of ours, accepts them, and from then on hosts them. Submitting is a sign of life.
"""

from django.conf import settings
from django.db import transaction
from django.db.models import (
    BooleanField,
    ExpressionWrapper,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.urls import reverse
from django.utils import timezone

from infrastructure.steps import StepRefused
from ledgers import services as ledger_services
from ledgers.models import ContactAttempt, FiveClearsItem
from members.models import ExternalOrganisation, Member, Organisation
from members.selectors import members_editable_by, organisation_in_scope, organisations_visible_to
from members.services import evidence_changed
from transfers import places
from transfers import services as transfer_services
from transfers.models import MobilityEpisode

from . import notify
from .models import CheckIn, Decision

INFLOW_REASON_MAX = 300
REASON_MAX = 300
ALREADY_PENDING = "您已提交过报到，正在等待党支部确认。"
STATUS_WORDS = {
    Decision.PENDING: "等待党支部确认",
    Decision.CONFIRMED: "党支部已确认",
    Decision.RETURNED: "已退回",
    Decision.WITHDRAWN: "已撤回",
}


# --- the place ------------------------------------------------------------------------------


def read_place(text: str, *, abroad: bool = False) -> places.Destination:
    """The city a member typed, read by the one place parser; ValueError says what is wrong.
    `abroad` (the member ticked 我在境外): a place the parser does not know in the mainland is
    the country or region (with its city), as the episode form keeps it."""
    text = "".join(text.split())
    place = places.parse_destination(text, abroad=abroad)
    if place.country:
        return place
    if abroad and not place.province:
        raise ValueError("国家（地区）和城市最多50个字，例如：日本东京。")
    if abroad and place.province:
        raise ValueError(f"“{text}”是境内地点：如在境内，请取消勾选“我在境外”。")
    if not place.province:
        raise ValueError(
            f"未能识别“{text}”，请写明省份和城市，例如：深圳、广东省深圳市；"
            "如在境外，请勾选“我在境外”并填写国家（地区）和城市。"
        )
    if not place.city:
        if place.address:
            raise ValueError(f"{place.address}不是{place.province}下辖的城市。")
        raise ValueError(f"请写明是{place.province}的哪个城市。")
    return place


def stored_place(check_in: CheckIn) -> places.Destination:
    """A check-in's place read again, as it was sent (it passed `read_place` then)."""
    return read_place(check_in.destination, abroad=check_in.abroad)


def place_text(place: places.Destination) -> str:
    if place.country:
        return place.country
    city = "" if place.city in places.PSEUDO_CITIES else place.city
    return place.province + city + place.county + place.address


# Country names that begin with another's: 印度尼西亚 is not 印度, 几内亚比绍 not 几内亚.
LONGER_COUNTRIES = ("印度尼西亚", "几内亚比绍")


def _same_country(one: str, other: str) -> bool:
    """日本 and 日本东京 name one stay abroad: the member or the form said more or less."""
    if not (one and other):
        return False
    shorter, longer = sorted((one, other), key=len)
    if not longer.startswith(shorter):
        return False
    return not any(
        longer.startswith(name) and not shorter.startswith(name) for name in LONGER_COUNTRIES
    )


def _city_key(province: str, city: str) -> tuple[str, str]:
    return province, places.canonical_city(province, city)


def _same_city(check_in: CheckIn, place: places.Destination) -> bool:
    """A check-in's stored city (read again) is the place's."""
    try:
        earlier = stored_place(check_in)
    except ValueError:
        return False
    if earlier.country or place.country:
        return _same_country(earlier.country, place.country)
    return _city_key(earlier.province, earlier.city) == _city_key(place.province, place.city)


def _external_named(name: str) -> ExternalOrganisation | None:
    """The external organisation a check-in named as "name（region）", when it still exists."""
    org_name, _sep, region = name.rpartition("（")
    if not org_name or not region.endswith("）"):
        return None
    return ExternalOrganisation.objects.filter(name=org_name, region=region[:-1]).first()


# --- the member's side -----------------------------------------------------------------------


@transaction.atomic
def submit(
    *,
    member: Member,
    place: places.Destination,
    workplace: str,
    phone: str,
    inflow_organisation: Organisation | None = None,
    inflow_name: str = "",
) -> CheckIn:
    """A pending check-in, and the sign of life it is: the member did reach us."""
    Member.objects.select_for_update().filter(pk=member.pk).first()  # one submit at a time
    earlier = CheckIn.objects.filter(member=member, status=Decision.PENDING).first()
    if earlier is not None and _same_city(earlier, place):
        raise StepRefused(ALREADY_PENDING)
    if earlier is not None:
        raise StepRefused(
            f"您已提交过到{earlier.destination}的报到，正在等待党支部确认；"
            "如需更改，请先在下方撤回该报到。"
        )
    if inflow_organisation is not None and (
        not inflow_organisation.hosts_members or inflow_organisation.pk == member.home_branch_id
    ):
        raise StepRefused("请从列表中选择党组织，或选择“其他”并填写名称。")
    check_in = CheckIn.objects.create(
        member=member,
        destination=place_text(place)[:200],
        abroad=bool(place.country),
        workplace=workplace,
        phone=phone,
        inflow_organisation=inflow_organisation,
        inflow_name="" if inflow_organisation else inflow_name,
    )
    ContactAttempt.objects.create(
        member=member,
        on=timezone.localdate(),
        reached=True,
        channel=ContactAttempt.Channel.CHECK_IN,
        recorded_by=None,
        note=f"在线报到：{check_in.destination}"[:300],
    )
    evidence_changed(member_ids=[member.pk])
    return check_in


@transaction.atomic
def withdraw(*, member: Member, check_in: CheckIn) -> CheckIn:
    """The member takes back a check-in the home branch has not decided (a wrong city, a wrong
    organisation, or one the organisation there declined), to send a right one. Nothing was
    written from it yet; the sign of life it was stays: they did reach us."""
    check_in = CheckIn.objects.select_for_update().get(pk=check_in.pk, member=member)
    if check_in.status != Decision.PENDING:
        raise StepRefused("党支部已处理该报到，不能撤回；如需更改，请联系党支部书记。")
    check_in.status = Decision.WITHDRAWN
    if check_in.inflow_status == Decision.PENDING:
        check_in.inflow_status = Decision.WITHDRAWN
    check_in.save(update_fields=["status", "inflow_status"])
    return check_in


def page_url() -> str:
    return settings.SITE_URL.rstrip("/") + reverse("selfservice:check_in")


def tile(member: Member) -> dict:
    """The home page's tile; `waiting` counts the check-ins the branch has not yet decided."""
    mine = CheckIn.objects.filter(member=member)
    latest = mine.first()
    line = (
        "到达新地方后，请在此报到"
        if latest is None
        else f"{latest.destination}：{STATUS_WORDS[latest.status]}"
    )
    return {
        "title": "在线报到",
        "url": reverse("selfservice:check_in"),
        "waiting": mine.filter(status=Decision.PENDING).count(),
        "line": line,
    }


# --- the branch's side -----------------------------------------------------------------------


def home_side(user) -> QuerySet[CheckIn]:
    return CheckIn.objects.filter(member__in=members_editable_by(user))


def inflow_side(user) -> QuerySet[CheckIn]:
    return CheckIn.objects.filter(inflow_organisation__in=organisations_visible_to(user))


def _home_waits(user) -> Q:
    return Q(status=Decision.PENDING, member__in=members_editable_by(user))


def _inflow_waits(user) -> Q:
    inflow = Q(
        inflow_status=Decision.PENDING, inflow_organisation__in=organisations_visible_to(user)
    )
    return inflow & ~Q(status=Decision.RETURNED)


def _pending(which: Q, *, for_home, for_inflow) -> QuerySet[CheckIn]:
    current = MobilityEpisode.objects.current().filter(member=OuterRef("member_id"))
    return (
        CheckIn.objects.filter(which)
        .annotate(
            for_home=for_home,
            for_inflow=for_inflow,
            away_type=Subquery(current.values("mobility_type")[:1]),
        )
        .select_related("member", "member__home_branch", "inflow_organisation")
        .order_by("submitted_at", "pk")
    )


def pending_for(user) -> QuerySet[CheckIn]:
    """Both kinds, oldest first: arrivals to confirm at home (`for_home`), arrivals to accept
    on the inflow side (`for_inflow`); `away_type` is the current episode's type, if any.
    The inbox fragment draws each row's forms by those two flags."""
    home, inflow = _home_waits(user), _inflow_waits(user)
    flag = lambda q: ExpressionWrapper(q, output_field=BooleanField())  # noqa: E731
    return _pending(home | inflow, for_home=flag(home), for_inflow=flag(inflow))


def pending_home_for(user) -> QuerySet[CheckIn]:
    """Only the home side's rows (and forms), for an inbox with one section per side."""
    return _pending(_home_waits(user), for_home=Value(True), for_inflow=Value(False))


def pending_inflow_for(user) -> QuerySet[CheckIn]:
    return _pending(_inflow_waits(user), for_home=Value(False), for_inflow=Value(True))


def _tell_member(check_in: CheckIn, *, side: str, decision: str, reason: str) -> None:
    organisation = check_in.inflow_organisation
    there = (organisation.name if organisation else check_in.inflow_name) or "流入地党组织"
    returned = decision == Decision.RETURNED
    # Words, not codes: an SMS gateway's template takes every value as text.
    if side == "inflow":
        result = f"未被{there}接收" if returned else f"已被{there}接收"
        then = (
            "请与组织关系所在党支部联系，另选流入地党组织。"
            if returned
            else "欢迎参加当地的组织生活。"
        )
    else:
        result = "已被党支部退回" if returned else "已由党支部确认"
        then = "请补充信息后重新报到。" if returned else ""
    notify.notify(
        member=check_in.member,
        kind="check_in_decided",
        key=f"check-in:{check_in.pk}:{side}:{decision}",
        values={
            "result": result,
            "reason": notify.short(reason),
            "then": then,
            "destination": check_in.destination,
            "link": page_url(),
        },
    )


def _checked_reason(reason: str, *, needed: bool, most: int) -> str:
    reason = reason.strip()
    if needed and not reason:
        raise StepRefused("请写明原因。")
    if len(reason) > most:
        raise StepRefused(f"原因最多{most}个字。")
    return reason


@transaction.atomic
def decide_home(
    *, actor, check_in: CheckIn, confirm: bool, reason: str = "", mobility_type: str = ""
) -> CheckIn:
    """Confirm into the ledger (and the episode), or return with a reason."""
    check_in = CheckIn.objects.select_for_update().select_related("member").get(pk=check_in.pk)
    if not members_editable_by(actor).filter(pk=check_in.member_id).exists():
        raise StepRefused("只有组织关系所在党支部可以确认报到。")
    if check_in.status != Decision.PENDING:
        raise StepRefused("该报到已处理。")
    reason = _checked_reason(reason, needed=not confirm, most=REASON_MAX)
    if confirm:
        _apply_at_home(actor=actor, check_in=check_in, mobility_type=mobility_type)
    check_in.status = Decision.CONFIRMED if confirm else Decision.RETURNED
    check_in.reason = reason
    check_in.decided_by, check_in.decided_at = actor, timezone.now()
    check_in._history_user = actor
    check_in.save()
    _tell_member(check_in, side="home", decision=check_in.status, reason=reason)
    return check_in


@transaction.atomic
def decide_inflow(*, actor, check_in: CheckIn, accept: bool, reason: str = "") -> CheckIn:
    """The chosen organisation accepts the member (and hosts them once home has confirmed),
    or declines with a reason."""
    check_in = (
        CheckIn.objects.select_for_update(of=("self",))  # the inflow side is an outer join
        .select_related("member", "inflow_organisation")
        .get(pk=check_in.pk)
    )
    if not organisation_in_scope(actor, check_in.inflow_organisation):
        raise StepRefused("只有报到所选的党组织可以接收。")
    if check_in.inflow_status != Decision.PENDING:
        raise StepRefused("该报到已处理。")
    if check_in.status == Decision.RETURNED:
        raise StepRefused("党支部已退回该报到，无需接收。")
    reason = _checked_reason(reason, needed=not accept, most=INFLOW_REASON_MAX)
    check_in.inflow_status = Decision.CONFIRMED if accept else Decision.RETURNED
    check_in.inflow_decided_by, check_in.inflow_decided_at = actor, timezone.now()
    check_in.inflow_reason = reason
    check_in._history_user = actor
    check_in.save()
    if accept and check_in.status == Decision.CONFIRMED:
        _host_here(actor=actor, check_in=check_in)
    _tell_member(check_in, side="inflow", decision=check_in.inflow_status, reason=reason)
    return check_in


# --- what a confirmation writes --------------------------------------------------------------

CONFIRM, UPDATE = ledger_services.ledger_confirm, ledger_services.ledger_update_item
TYPE_NEEDED = "该党员尚未登记外出（或原登记在境外），请选择外出类型后再确认。"


def _elsewhere(episode: MobilityEpisode, place: places.Destination) -> bool:
    """The episode records another place: another city, another country, or abroad against
    in the mainland (a mainland episode with no place yet is filled in instead)."""
    if place.country:
        return episode.mobility_type != MobilityEpisode.Type.ABROAD or not _same_country(
            episode.destination_country, place.country
        )
    if episode.destination_country:
        return True
    if not episode.destination_province:
        return False
    here = _city_key(place.province, place.city)
    return _city_key(episode.destination_province, episode.destination_city) != here


def _where_changes(episode: MobilityEpisode, place: places.Destination) -> dict:
    """The place's fields that differ; a bare city keeps the district and address on record."""
    if place.country:  # the same stay abroad: the longer name says more
        longer = max(place.country, episode.destination_country, key=len)
        return {} if longer == episode.destination_country else {"destination_country": longer}
    fields = {"destination_province": place.province, "destination_city": place.city}
    if place.county or place.address:
        fields.update(destination_county=place.county, address=place.address)
    if episode.destination_country:
        fields["destination_country"] = ""
    current = {name: getattr(episode, name) for name in fields}
    current["destination_city"] = places.canonical_city(
        episode.destination_province, episode.destination_city
    )
    wanted = {**fields, "destination_city": places.canonical_city(place.province, place.city)}
    return wanted if wanted != current else {}


def _start_here(
    *, actor, check_in: CheckIn, place: places.Destination, episode, kind: str
) -> MobilityEpisode:
    """A new episode at the place: the member's first (left on the day they checked in) or a
    move from the current one (through the transfers app's services)."""
    kind = kind or (episode.mobility_type if episode is not None else "")
    if place.country:
        kind = MobilityEpisode.Type.ABROAD  # why abroad (Reg. art. 24) is recorded on its own
    elif kind not in MobilityEpisode.Type.values or kind == MobilityEpisode.Type.ABROAD:
        raise StepRefused(TYPE_NEEDED)
    arrived = timezone.localdate(check_in.submitted_at)
    new = MobilityEpisode(
        member=check_in.member,
        mobility_type=kind,
        left_on=arrived,
        employer=check_in.workplace[:100],
        **place.as_fields(),
    )
    if episode is None:
        return transfer_services.episode_start(actor=actor, episode=new)
    new.occupation, new.expected_return_on = episode.occupation, episode.expected_return_on
    moved_on = max(arrived, episode.left_on)
    return transfer_services.episode_move(
        actor=actor, episode=episode, moved_on=moved_on, new_episode=new
    )


def _set_inflow(*, actor, episode: MobilityEpisode, organisation=None, external=None) -> None:
    episode = MobilityEpisode.objects.select_for_update().get(pk=episode.pk)
    if (episode.inflow_organisation, episode.inflow_external) == (organisation, external):
        return
    episode.inflow_organisation, episode.inflow_external = organisation, external
    episode._history_user = actor
    episode.save()
    evidence_changed(member_ids=[episode.member_id])


def _apply_at_home(*, actor, check_in: CheckIn, mobility_type: str) -> None:
    """As an accepted self-report: where, what (the employer) and the phone into the ledger;
    an episode started or moved when the member is not recorded as away there."""
    member, today = check_in.member, timezone.localdate()
    try:
        place = stored_place(check_in)
    except ValueError as error:
        raise StepRefused(str(error)) from error
    episode = member.mobility_episodes.current().first()
    changes = {FiveClearsItem.WHERE: {}, FiveClearsItem.OCCUPATION: {}}
    if episode is None or _elsewhere(episode, place):
        episode = _start_here(
            actor=actor, check_in=check_in, place=place, episode=episode, kind=mobility_type
        )
    else:
        employer = check_in.workplace[:100]
        changes[FiveClearsItem.WHERE] = _where_changes(episode, place)
        if episode.employer != employer:
            changes[FiveClearsItem.OCCUPATION] = {"employer": employer}
    if member.phone != check_in.phone:
        changes[FiveClearsItem.CONTACT] = {"phone": check_in.phone}
    else:
        changes[FiveClearsItem.CONTACT] = {}
    for item, values in changes.items():
        if values:
            UPDATE(actor=actor, member=member, item=item, values=values, on=today)
        else:
            CONFIRM(actor=actor, member=member, items=[item], on=today)
    if check_in.inflow_organisation_id and check_in.inflow_status == Decision.CONFIRMED:
        _set_inflow(actor=actor, episode=episode, organisation=check_in.inflow_organisation)
    elif check_in.inflow_name and (external := _external_named(check_in.inflow_name)):
        _set_inflow(actor=actor, episode=episode, external=external)
    evidence_changed(member_ids=[member.pk])  # the five-clears alerts read the confirmations


def _host_here(*, actor, check_in: CheckIn) -> None:
    """The accepting organisation hosts the member, on the episode at the check-in's city."""
    episode = check_in.member.mobility_episodes.current().first()
    try:
        place = stored_place(check_in)
    except ValueError:
        return
    if episode is not None and not _elsewhere(episode, place):
        _set_inflow(actor=actor, episode=episode, organisation=check_in.inflow_organisation)
