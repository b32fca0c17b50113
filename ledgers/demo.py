"""The demo county's five-clears ledger and contact log: mostly kept, with gaps to find."""

from datetime import timedelta

from dateutil.relativedelta import relativedelta
from django.contrib.auth.models import User

from members.demo import DemoCounty, demo_step
from transfers.models import MobilityEpisode

from .models import ContactAttempt, LedgerRecord
from .snapshots import take_snapshots

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
    episodes = MobilityEpisode.objects.filter(ended_on__isnull=True).select_related("member")
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


@demo_step(order=90)
def seed_trends(demo: DemoCounty) -> None:
    """A year of monthly snapshots, recomputed from the demo's records as of each month."""
    for months_ago in range(12, -1, -1):
        take_snapshots(today=demo.today - relativedelta(months=months_ago))
