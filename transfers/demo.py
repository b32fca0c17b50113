"""The demo county's mobile members: about 30% away, across provinces and abroad.

Then, through the services, activity certificates and relationship transfers in every state.
"""

from datetime import date, timedelta

from dateutil.relativedelta import relativedelta
from django.contrib.auth.models import User

from members.demo import SECRETARY_BRANCH, DemoCounty, demo_step
from members.models import Member, Organisation

from . import outposts, services
from .classification import Arrangement, EpisodeFacts, classify
from .models import ActivityCertificate, CertificateReview, MobilityEpisode, RelationshipTransfer

DESTINATIONS = [
    ("广东省", "深圳市", 5),
    ("广东省", "东莞市", 4),
    ("浙江省", "杭州市", 3),
    ("江苏省", "苏州市", 3),
    ("上海市", "市辖区", 3),
    ("四川省", "成都市", 6),
    ("重庆市", "市辖区", 4),
    ("北京市", "市辖区", 2),
    ("福建省", "厦门市", 1),
    ("新疆维吾尔自治区", "乌鲁木齐市", 1),
    ("湖北省", "武汉市", 1),
]
ABROAD = ["新加坡", "日本", "阿联酋", "澳大利亚"]
TYPES = [
    (MobilityEpisode.Type.WORK, 60),
    (MobilityEpisode.Type.STUDY, 10),
    (MobilityEpisode.Type.SETTLED, 10),
    (MobilityEpisode.Type.TEMPORARY, 15),
    (MobilityEpisode.Type.ABROAD, 5),
]
OCCUPATIONS = {
    MobilityEpisode.Type.WORK: [
        "电子厂工人",
        "快递员",
        "建筑工人",
        "个体经营",
        "企业职员",
        "外卖骑手",
    ],
    MobilityEpisode.Type.STUDY: ["在读研究生", "在读本科生", "应届毕业生"],
    MobilityEpisode.Type.SETTLED: ["随子女居住", "退休", "个体经营"],
    MobilityEpisode.Type.TEMPORARY: ["季节性务工", "短期外派", "项目施工"],
    MobilityEpisode.Type.ABROAD: ["劳务派遣", "留学", "外派技术员"],
}
# Why a member abroad is there, from the occupation (Reg. art. 24 depends on it).
ABROAD_PURPOSES = {
    "劳务派遣": MobilityEpisode.AbroadPurpose.WORK,
    "留学": MobilityEpisode.AbroadPurpose.STUDY,
    "外派技术员": MobilityEpisode.AbroadPurpose.WORK,
}


@demo_step
def seed_mobility(demo: DemoCounty) -> None:
    rng = demo.rng
    active = [m for m in demo.members if m.status == Member.Status.ACTIVE]
    mobile = rng.sample(active, k=int(len(active) * 0.3))
    places = [(p, c) for p, c, weight in DESTINATIONS for _ in range(weight)]
    types = [t for t, weight in TYPES for _ in range(weight)]
    episodes = []
    for member in mobile:
        kind = rng.choice(types)
        left = demo.today - timedelta(days=rng.randrange(20, 5 * 365))
        province, city = rng.choice(places)
        town = province if city == "市辖区" else city
        hosts = [org for org in demo.external if town and town.removesuffix("市") in org.region]
        external = rng.choice(hosts) if hosts and rng.random() < 0.6 else None
        if kind == MobilityEpisode.Type.ABROAD:
            province, city, external = "", "", None
        if rng.random() < 0.15:
            # An earlier stretch away that has ended.
            earlier = left - timedelta(days=rng.randrange(400, 1500))
            episodes.append(
                MobilityEpisode(
                    member=member,
                    mobility_type=MobilityEpisode.Type.TEMPORARY,
                    left_on=earlier,
                    destination_province="四川省",
                    destination_city="成都市",
                    occupation="季节性务工",
                    ended_on=earlier + timedelta(days=rng.randrange(60, 300)),
                    end_reason=MobilityEpisode.EndReason.RETURNED,
                )
            )
        # Drawn in this order (country, occupation, fixed place): the demo stays the same.
        country = rng.choice(ABROAD) if kind == MobilityEpisode.Type.ABROAD else ""
        occupation = rng.choice(OCCUPATIONS[kind])
        episodes.append(
            MobilityEpisode(
                member=member,
                mobility_type=kind,
                abroad_purpose=ABROAD_PURPOSES.get(occupation, "")
                if kind == MobilityEpisode.Type.ABROAD
                else "",
                left_on=left,
                destination_province=province,
                destination_city=city,
                destination_country=country,
                occupation=occupation,
                is_fixed_place=kind in (MobilityEpisode.Type.WORK, MobilityEpisode.Type.SETTLED)
                and rng.random() < 0.6,
                inflow_external=external,
            )
        )
    MobilityEpisode.objects.bulk_create(episodes, batch_size=500)


# --- certificates and transfers -----------------------------------------------------------
#
# Everything below goes through `services`, so numbers, events and side effects are real.
# The services take the business dates (issued_on, arrived_on...) as arguments; only the
# bookkeeping timestamps (TransferEvent.at, RelationshipTransfer.created_at, history dates)
# are "now", since they are auto_now_add and no service can backdate them.

COUNTY_CODE = "511925"
CERTIFICATE_REASONS = {
    MobilityEpisode.Type.WORK: "外出务工",
    MobilityEpisode.Type.STUDY: "外出求学",
    MobilityEpisode.Type.SETTLED: "随子女异地居住",
    MobilityEpisode.Type.TEMPORARY: "短期外出务工",
}
# Division codes of the demo's external organisations, for incoming letter numbers.
EXTERNAL_CODES = {
    "广东省深圳市": "440305",
    "广东省东莞市": "441900",
    "浙江省杭州市": "330110",
    "江苏省苏州市": "320571",
    "上海市": "310115",
    "四川省成都市": "510107",
    "重庆市": "500112",
    "北京市": "110108",
}
PARTICIPATION = "按时参加流入地党组织的组织生活，参加志愿服务活动，表现良好。"


def _demo_actor(username: str, first_name: str) -> User:
    """A user the demo acts as. Inactive with no usable password: nobody logs in with it.

    It is a superuser rather than holding a StaffAssignment, so that the demo keeps exactly
    the assignments of its logins; the services treat a superuser as county-wide.
    """
    user, _ = User.objects.get_or_create(username=username)
    user.first_name = first_name
    user.is_active = False
    user.is_superuser = True
    user.set_unusable_password()
    user.save()
    return user


def _arrangement(episode: MobilityEpisode, today: date) -> str:
    facts = EpisodeFacts(
        episode.mobility_type, episode.left_on, episode.is_fixed_place, episode.graduated_on
    )
    return classify(episode=facts, member_active=True, today=today).arrangement


def _region(episode: MobilityEpisode) -> str:
    """The region as the demo's external organisations give it: 广东省深圳市, 上海市."""
    province, city = episode.destination_province, episode.destination_city
    return province if city in ("", "市辖区", province) else province + city


def _place(branch: Organisation) -> str:
    return "清溪县" + branch.name.removesuffix("党支部")


def _contact(episode: MobilityEpisode) -> str:
    if episode.inflow_organisation is not None:
        return f"{episode.inflow_organisation.name}书记"
    external = episode.inflow_external
    return f"{external.contact_person} {external.phone}".strip()


@demo_step
def seed_certificates_and_transfers(demo: DemoCounty) -> None:
    rng, today = demo.rng, demo.today
    demo.county.code = COUNTY_CODE  # certificate and letter numbers start with it
    demo.county.save(update_fields=["code"])
    operator = _demo_actor("demo-operator", "演示操作员")
    approver = _demo_actor("demo-reviewer2", "演示审批员")  # nobody approves their own request

    # Members hosted by one of our branches (a few are away inside the county).
    secretary_branch = next(b for b in demo.branches if b.name == SECRETARY_BRANCH)
    other_host = rng.choice([b for b in demo.branches if not b.name.startswith("城关镇")])
    ever_away = set(MobilityEpisode.objects.values_list("member_id", flat=True))
    at_home = [
        m for m in demo.members if m.status == Member.Status.ACTIVE and m.pk not in ever_away
    ]
    at_home = rng.sample(at_home, k=8)
    hosted = {}
    for key, branch, days_ago, fixed in [
        ("secretary_transfer", secretary_branch, 270, True),
        ("secretary_arrived", secretary_branch, 100, False),
        ("secretary_new", secretary_branch, 45, True),
        ("other_transfer", other_host, 300, True),
        ("other_arrived", other_host, 150, False),
    ]:
        member = next(m for m in at_home if m.home_branch_id != branch.pk)
        at_home.remove(member)
        hosted[key] = services.episode_start(
            actor=operator,
            episode=MobilityEpisode(
                member=member,
                mobility_type=MobilityEpisode.Type.WORK,
                left_on=today - timedelta(days=days_ago),
                destination_province="四川省",
                destination_city="巴中市",
                address=_place(branch),
                occupation=rng.choice(["个体经营", "企业职员", "建筑工人"]),
                is_fixed_place=fixed,
                inflow_organisation=branch,
            ),
        )

    current = list(
        MobilityEpisode.objects.away_now()
        .select_related("member", "inflow_organisation", "inflow_external")
        .order_by("pk")
    )
    hosted_ids = {e.pk for e in hosted.values()}
    by_arrangement: dict[str, list[MobilityEpisode]] = {}
    for episode in current:
        if episode.pk not in hosted_ids:
            by_arrangement.setdefault(_arrangement(episode, today), []).append(episode)

    # Activity certificates: about half of those who should carry one, in date order.
    certified = by_arrangement[Arrangement.CERTIFICATE]
    plans = [(e, e.left_on + timedelta(days=rng.randrange(0, 8))) for e in certified]
    plans = rng.sample(plans, k=len(plans) // 2)
    plans += [(e, e.left_on + timedelta(days=2)) for e in hosted.values()]
    plans.sort(key=lambda plan: (plan[1], plan[0].pk))
    certificates = {}
    for episode, issued_on in plans:
        certificates[episode.pk] = services.certificate_issue(
            actor=operator,
            member=episode.member,
            issued_on=issued_on,
            reason=CERTIFICATE_REASONS[episode.mobility_type],
            destination=episode.destination,
            inflow_organisation=episode.inflow_organisation,
            inflow_external=episode.inflow_external,
        )
    for episode, _issued_on in plans:
        certificate = certificates[episode.pk]
        # Some arrivals are not registered yet, one of them at the secretary's branch.
        registers = episode.inflow is not None and episode != hosted["secretary_new"]
        if registers and (rng.random() < 0.7 or episode.pk in hosted_ids):
            arrived_on = certificate.issued_on + timedelta(days=rng.randrange(2, 10))
            services.certificate_register_arrival(
                actor=operator,
                certificate=certificate,
                arrived_on=min(arrived_on, today),
                inflow_contact=_contact(episode),
            )
        # Yearly reviews (年审) on each anniversary; about one in four has the last one to do.
        reviews = []
        years = 1
        while (anniversary := certificate.issued_on + relativedelta(years=years)) <= today:
            reviews.append((anniversary.year, anniversary))
            years += 1
        if reviews and rng.random() < 0.25:
            reviews.pop()
        for year, anniversary in reviews:
            failed = rng.random() < 0.05
            result = CertificateReview.Result
            services.certificate_review(
                actor=operator,
                certificate=certificate,
                year=year,
                reviewed_on=min(anniversary + timedelta(days=rng.randrange(0, 15)), today),
                result=result.FAILED if failed else result.PASSED,
                note="未按规定参加组织生活，已谈话提醒" if failed else "",
            )

    # One member came home (the certificate is returned), one lost theirs.
    plain = [
        certificates[e.pk].pk
        for e, _issued_on in plans
        if e.pk not in hosted_ids and e.left_on <= today - timedelta(days=120)
    ]
    arrived = ActivityCertificate.objects.filter(pk__in=plain, arrived_on__isnull=False)
    returned = arrived.order_by("pk")[rng.randrange(arrived.count())]
    services.certificate_record_departure(
        actor=operator,
        certificate=returned,
        departed_on=today - timedelta(days=12),
        participation=PARTICIPATION,
        dues="党费已交至2026年10月",
    )
    services.episode_end(
        actor=operator,
        episode=returned.episode,
        ended_on=today - timedelta(days=10),
        reason=MobilityEpisode.EndReason.RETURNED,
    )
    lost = ActivityCertificate.objects.filter(pk__in=plain).exclude(pk=returned.pk).order_by("pk")
    services.certificate_reissue_lost(
        actor=operator,
        certificate=lost[rng.randrange(lost.count())],
        reported_on=today - timedelta(days=20),
    )

    # Relationship transfers in every state; letters are approved in date order.
    # External destinations are where the member is: an organisation of that region.
    externals = {e.region: e for e in demo.external}
    required = [
        e
        for e in by_arrangement[Arrangement.TRANSFER_REQUIRED]
        if _region(e) in externals and e.inflow_external in (None, externals[_region(e)])
    ]
    required = rng.sample(required, k=11)

    def draft(episode: MobilityEpisode, to_organisation: Organisation | None = None):
        to_external = None if to_organisation else externals[_region(episode)]
        settled = episode.mobility_type == MobilityEpisode.Type.SETTLED
        place = episode.address or _region(episode)
        return services.transfer_draft(
            actor=operator,
            member=episode.member,
            reason=f"在{place}{'定居' if settled else '相对固定工作'}已满六个月，转接组织关系",
            to_organisation=to_organisation,
            to_external=to_external,
        )

    def submitted(episode: MobilityEpisode, to_organisation: Organisation | None = None):
        return services.transfer_submit(actor=operator, transfer=draft(episode, to_organisation))

    def approved(transfer: RelationshipTransfer, days_ago: int, valid_days: int):
        issued_on = today - timedelta(days=days_ago)
        services.transfer_approve(
            actor=approver,
            transfer=transfer,
            issued_on=issued_on,
            valid_days=valid_days,
            dues_paid_until=issued_on - timedelta(days=rng.randrange(0, 40)),
        )
        return transfer

    to_reissue = approved(submitted(required[0]), days_ago=100, valid_days=30)
    received = approved(submitted(required[1]), days_ago=75, valid_days=30)
    services.letter_record_received(
        actor=operator, transfer=received, received_on=today - timedelta(days=70)
    )
    services.transfer_record_receipt(
        actor=operator, transfer=received, returned_on=today - timedelta(days=55)
    )
    approved(submitted(required[2]), days_ago=60, valid_days=30)  # expired, not reissued yet
    # Received by the other side six days after issue; the receipt is now overdue.
    overdue = approved(submitted(required[3]), days_ago=50, valid_days=45)
    services.letter_record_received(
        actor=operator, transfer=overdue, received_on=today - timedelta(days=44)
    )
    accepted = approved(submitted(hosted["other_transfer"], other_host), days_ago=40, valid_days=30)
    services.transfer_accept(actor=operator, transfer=accepted, on=today - timedelta(days=33))
    services.letter_reissue(
        actor=approver,
        transfer=to_reissue,
        issued_on=today - timedelta(days=10),
        valid_days=60,
    )
    # Handed over two days ago: the receipt is due a month after that.
    services.letter_record_received(
        actor=operator,
        transfer=approved(submitted(required[4]), days_ago=7, valid_days=60),
        received_on=today - timedelta(days=2),
    )
    # For the `secretary` login to accept: valid 90 days, so live well past the demo's today.
    approved(submitted(hosted["secretary_transfer"], secretary_branch), days_ago=0, valid_days=90)
    draft(required[5])
    for episode in required[6:9]:
        submitted(episode)  # for the `reviewer` login to decide
    services.transfer_reject(
        actor=approver,
        transfer=submitted(required[9]),
        reason="接收党组织名称与所在单位不符，请核实后重新申请",
    )
    services.transfer_withdraw(actor=operator, transfer=submitted(required[10]))

    # 暂时无法转移: a member on a short-term contract whose transfer waits (no rng: the demo
    # stays the same), and one where the receiving side has no Party organisation yet.
    waiting = [
        e
        for e in by_arrangement[Arrangement.TRANSFER_REQUIRED]
        if e not in required and not e.member.transfers.exists()
    ]
    if waiting:
        services.episode_defer_transfer(
            actor=operator,
            episode=waiting[0],
            reason=MobilityEpisode.DeferredReason.SHORT_CONTRACT,
            note="劳动合同至年底到期，续签后再转接",
            until=today + relativedelta(months=4),
        )
    if len(waiting) > 1:
        services.episode_defer_transfer(
            actor=operator,
            episode=waiting[1],
            reason=MobilityEpisode.DeferredReason.NO_ORGANISATION,
            until=today + timedelta(days=20),
        )

    # A member who came from outside with an introduction letter.
    newcomer = next(m for m in at_home if m.joined_on <= today - timedelta(days=3 * 365))
    origin = rng.choice(demo.external)
    arrived_on = today - timedelta(days=rng.randrange(60, 700))
    code = EXTERNAL_CODES.get(origin.region, "000000")
    services.incoming_register(
        actor=operator,
        member=newcomer,
        from_external=origin,
        letter_number=f"{code}-{arrived_on.year}-J{rng.randrange(1, 400):04d}",
        arrived_on=arrived_on,
    )


# --- an outpost in 深圳 -------------------------------------------------------------------

OUTPOST_PROVINCE, OUTPOST_CITY = "广东省", "深圳市"


@demo_step(order=52)  # after the episodes and certificates; before organisational life (55)
def seed_outpost(demo: DemoCounty) -> None:
    """The county's outpost in 深圳 with a mobile-member branch hosting the members there who
    named no inflow organisation, from several home branches (the `outpost` login)."""
    operator = _demo_actor("demo-operator", "演示操作员")
    outpost = outposts.outpost_set_up(
        actor=operator,
        county=demo.county,
        province=OUTPOST_PROVINCE,
        city=OUTPOST_CITY,
        contact_person="林晓东",
        phone="0755-26881234",
    )
    proposal = outposts.group_proposal(
        user=operator, root=demo.county, province=OUTPOST_PROVINCE, city=OUTPOST_CITY
    )
    joining = [e for e in proposal.joining if e.inflow_external_id is None]
    outposts.unit_form(
        actor=operator,
        outpost=outpost,
        kind=proposal.suggested_kind,
        name=proposal.suggested_name(proposal.suggested_kind),
        episodes=joining,
    )
