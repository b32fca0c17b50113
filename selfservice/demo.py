"""The demo county's part of the member's own page (issue #19): personal links for the demo
secretary's mobile members, study items with some check-ins, a meeting to reply to, and a
check-in, a dues payment with its receipt, an excuse and a request for help waiting for the
secretary, so every step can be tried from the browser."""

import io
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageDraw

from activities.models import Activity, ServiceRequest
from members.demo import SECRETARY_BRANCH, DemoCounty, demo_step
from members.models import Member
from members.periods import first_of_month
from transfers.models import MobilityEpisode

from . import access, check_in, dues, help, meetings, study
from .models import MessagePreference, StudyItem

DEMO_MEMBER_EMAIL = "member1@example.org"  # ledgers/demo.py gives the first away member this


def demo_receipt() -> SimpleUploadedFile:
    """A small picture standing in for a phone screenshot of a payment."""
    image = Image.new("RGB", (360, 200), "white")
    ImageDraw.Draw(image).text((20, 80), "Party dues paid 30.00", fill="black")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return SimpleUploadedFile("receipt.png", buffer.getvalue(), content_type="image/png")


@demo_step(order=96)  # after the self-reports (which give the first members their e-mail)
def seed_own_pages(demo: DemoCounty) -> None:
    today = demo.today
    clerk, _ = User.objects.get_or_create(username="demo-clerk", defaults={"is_active": False})
    away = list(
        MobilityEpisode.objects.current()
        .filter(member__home_branch__name=SECRETARY_BRANCH, member__status=Member.Status.ACTIVE)
        .select_related("member", "member__home_branch")
        .order_by("member_id")
    )
    for episode in away:
        access.issue_link(member=episode.member, actor=clerk)
    # Check-ins and study are signs of life: leave alone the members earlier steps keep quiet
    # (their lost-contact alerts and correction terms are part of the demo).
    talking = [episode.member for episode in away if episode.member_id not in demo.unreachable]
    if len(talking) < 4:
        return
    first, second, third, fourth = talking[:4]
    branch = first.home_branch

    # Made directly: the demo's clerk has no scope to publish in, and nobody is to be messaged.
    county_item = StudyItem.objects.create(
        published_by=clerk,
        organisation=demo.county,
        audience="mobile",
        title="微党课：流动党员如何过好组织生活",
        body="学习《中国共产党党员教育管理工作条例》关于流动党员的规定，了解在流入地参加组织生活、按时交纳党费的要求。",
        link="https://www.12371.cn/",
        due_on=today + timedelta(days=14),
    )
    StudyItem.objects.create(
        published_by=clerk,
        organisation=branch,
        audience="members",
        title="本月主题党日学习材料",
        body="请结合本职工作，写一句学习体会。",
        due_on=today + timedelta(days=7),
    )
    for member in (second, third):
        study.check_in(member=member, item=county_item, reflection="在外务工也要按时参加组织生活。")

    meeting = Activity.objects.create(
        branch=branch,
        kind=Activity.Kind.THEME_DAY,
        held_on=today + timedelta(days=5),
        title="主题党日：学习流动党员管理规定",
        place="社区党群服务中心",
        online=True,
        recorded_by=clerk,
    )
    meetings.record_reply(member=first, activity=meeting, answer="online", today=today)
    meetings.record_reply(
        member=second,
        activity=meeting,
        answer="excused",
        reason="当天在工地值班，无法请假，会后补学。",
        today=today,
    )

    check_in.submit(
        member=third,
        place=check_in.read_place("广东省深圳市南山区"),
        workplace="深圳某物流公司",
        phone=third.phone,
        inflow_organisation=None,
        inflow_name="南山区物流行业党委",
    )
    month = first_of_month(today)
    dues.submit_claim(
        member=first,
        from_month=month,
        to_month=month,
        amount=Decimal("30.00"),
        paid_on=today,
        receipt=demo_receipt(),
        today=today,
    )
    help.raise_request(
        member=fourth,
        kind=ServiceRequest.Kind.SOCIAL_SECURITY,
        description="想把社保从老家转到务工城市，不知道需要哪些材料。",
    )
    MessagePreference.objects.get_or_create(
        member=fourth, defaults={"channel": MessagePreference.Channel.SMS}
    )


def demo_member() -> Member | None:
    """The member the README's walk-through opens: the first with a personal link and e-mail."""
    return (
        Member.objects.filter(own_link__revoked_at__isnull=True, email=DEMO_MEMBER_EMAIL)
        .order_by("pk")
        .first()
    )
