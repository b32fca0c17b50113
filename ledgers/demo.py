"""The demo county's five-clears ledger and contact log: mostly kept, with gaps to find."""

from datetime import timedelta

from dateutil.relativedelta import relativedelta
from django.contrib.auth.models import User

from members import periods
from members.demo import SECRETARY_BRANCH, DemoCounty, demo_step
from members.models import CorrectionTerm, Member, MembershipDecision
from transfers.models import MobilityEpisode

from .models import ContactAttempt, LedgerRecord, SelfReport

NOTES = [
    "积极参加流入地组织生活",
    "工作稳定，按时交纳党费",
    "思想稳定",
    "与支部保持联系",
    "近期换了工作",
]


@demo_step
def seed_ledger(demo: DemoCounty) -> None:
    rng = demo.rng
    clerk, _ = User.objects.get_or_create(username="demo-clerk", defaults={"is_active": False})
    # In a fixed order: PostgreSQL returns unordered rows in whatever order its pages hold
    # them, and the seeded random draws would go to other members.
    episodes = MobilityEpisode.objects.current().select_related("member").order_by("member_id")
    records, contacts = [], []
    for episode in episodes:
        kept = rng.random()
        if kept < 0.1:
            continue  # never confirmed: the gaps a census must close

        oldest = 500 if kept < 0.3 else 200

        def confirmed(oldest=oldest):
            return demo.today - timedelta(days=rng.randrange(0, oldest))

        records.append(
            LedgerRecord(
                member=episode.member,
                left_confirmed_on=confirmed(),
                left_confirmed_by=clerk,
                where_confirmed_on=confirmed(),
                where_confirmed_by=clerk,
                occupation_confirmed_on=confirmed(),
                occupation_confirmed_by=clerk,
                contact_confirmed_on=confirmed(),
                contact_confirmed_by=clerk,
                conduct_confirmed_on=confirmed(),
                conduct_confirmed_by=clerk,
                conduct_assessment=rng.choice(["good"] * 6 + ["fair"] * 3 + ["concern"]),
                conduct_note=rng.choice(NOTES),
            )
        )
        silent = kept < 0.2  # some have gone quiet: only unanswered calls lately
        for _ in range(rng.randrange(1, 4)):
            day = demo.today - timedelta(
                days=rng.randrange(200, 400) if silent else rng.randrange(0, 150)
            )
            contacts.append(
                ContactAttempt(
                    member=episode.member,
                    on=max(day, episode.left_on),
                    channel=rng.choice(["phone", "phone", "wechat", "sms", "home"]),
                    reached=not silent and rng.random() < 0.85,
                    recorded_by=clerk,
                )
            )
        if silent:
            demo.unreachable.add(episode.member_id)
            for days in (20, 45, 90):
                contacts.append(
                    ContactAttempt(
                        member=episode.member,
                        on=demo.today - timedelta(days=days),
                        channel="phone",
                        reached=False,
                        note="无人接听",
                        recorded_by=clerk,
                    )
                )
    LedgerRecord.objects.bulk_create(records, batch_size=500)
    ContactAttempt.objects.bulk_create(contacts, batch_size=500)


@demo_step(order=60)
def seed_reasons_and_decisions(demo: DemoCounty) -> None:
    """One of each record the rules follow, in the demo secretary's branch, so that they are
    seen at once: good reasons, a suspension two years old (removal due), correction terms."""
    from activities.models import Attendance, DuesPayment, ExternalParticipation, GoodReason
    from activities.rules import dues_unpaid_6_months, no_life_6_months

    clerk = User.objects.get(username="demo-clerk")
    today = demo.today
    branch = next(b for b in demo.branches if b.name == SECRETARY_BRANCH)
    away = list(
        MobilityEpisode.objects.current()
        .filter(member__home_branch=branch)
        .select_related("member")
        .order_by("member_id")
    )
    reached = set(ContactAttempt.objects.filter(reached=True).values_list("member_id", flat=True))
    silent = [e.member for e in away if e.member_id not in reached]
    quiet = [
        (member, condition)
        for rule, condition in (
            (no_life_6_months, "no_life_6_months"),
            (dues_unpaid_6_months, "dues_unpaid_6_months"),
        )
        for member in rule(today).filter(home_branch=branch).order_by("pk")[:2]
    ]
    last_month = today.replace(day=1) - relativedelta(months=1)
    for member, kind, starts, ends, note in [
        (
            away[0].member,
            GoodReason.Kind.EXCUSED_ABSENCE,
            last_month,
            last_month,
            "在外地加班，事先向支部书记请假",
        ),
        (
            away[1].member,
            GoodReason.Kind.ILLNESS,
            today - relativedelta(months=4),
            today + relativedelta(months=2),
            "骨折住院治疗，家属来电说明",
        ),
        (
            away[2].member,
            GoodReason.Kind.ABROAD_PAUSED,
            today - relativedelta(years=1),
            today + relativedelta(years=2),
            "出国攻读学位，组织生活暂停（条例第三十四条）",
        ),
    ]:
        GoodReason.objects.create(
            member=member,
            kind=kind,
            starts_on=starts,
            ends_on=ends,
            note=note,
            approved_by="支部委员会",
            recorded_by=clerk,
        )
    if silent:
        # Suspended two years ago and silent since: nothing of theirs after the decision.
        member, decided_on = silent[-1], today - relativedelta(years=2, months=1)
        Attendance.objects.filter(member=member, activity__held_on__gte=decided_on).delete()
        ExternalParticipation.objects.filter(member=member, on__gte=decided_on).delete()
        DuesPayment.objects.filter(member=member, paid_on__gte=decided_on).delete()
        MembershipDecision.objects.create(
            member=member,
            kind=MembershipDecision.Kind.SUSPENSION,
            decided_on=decided_on,
            deciding_organisation="城关镇党委",
            ground=MembershipDecision.Ground.LOST_CONTACT,
            document_number="城关党委〔2024〕12号",
            note="失去联系六个月以上，经多方寻找仍无音讯",
            recorded_by=clerk,
        )
        Member.objects.filter(pk=member.pk).update(status=Member.Status.SUSPENDED)
    terms = [(2, 6), (13, 12)]  # one running, one ended with the condition still there
    for (member, condition), (educated_months_ago, term_months) in zip(quiet, terms, strict=False):
        educated = today - relativedelta(months=educated_months_ago)
        CorrectionTerm.objects.create(
            member=member,
            condition=condition,
            educated_on=educated,
            ends_on=periods.months_after(educated, term_months),
            note="支部书记谈心谈话，批评教育，限期改正",
            opened_by=clerk,
        )


@demo_step(order=95)
def seed_self_reports(demo: DemoCounty) -> None:
    """The self-report flow to try from the browser: three members of the demo secretary's
    branch away now have an e-mail address (the monthly link goes to the console or the mail
    catcher), and the first has sent this month's report, waiting for the secretary."""
    away = list(
        MobilityEpisode.objects.current()
        .filter(member__home_branch__name=SECRETARY_BRANCH, member__status=Member.Status.ACTIVE)
        .select_related("member")
        .order_by("member_id")[:3]
    )
    for n, episode in enumerate(away, start=1):
        Member.objects.filter(pk=episode.member_id).update(email=f"member{n}@example.org")
    if away:
        first = away[0]
        SelfReport.objects.get_or_create(
            member=first.member,
            period=f"{demo.today:%Y-%m}",
            defaults={
                "where": first.destination or "深圳市南山区",
                "occupation": "换了工作：快递站点负责人",
                "phone": first.member.phone or "13800138000",
                "note": "已在流入地党支部报到，参加了本月主题党日。",
            },
        )
