"""The demo county's Party life: a year of meetings with attendance, dues, two-way evaluations,
assigned work, service requests and honours — mostly kept, with some members gone quiet.

Everything is written with bulk_create in a handful of queries; the demo clerk (inactive, as in
ledgers/demo.py) records it. Who goes quiet follows the ledger: most of the members the ledger
step left with only unanswered calls take no part in anything while they are away.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from math import log

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.contrib.auth.models import User

from members.demo import DemoCounty, demo_step
from members.models import Member
from transfers.models import MobilityEpisode

from . import dues
from .models import (
    Activity,
    AssignedWork,
    Attendance,
    DuesAmount,
    DuesPayment,
    Evaluation,
    ExternalParticipation,
    Honour,
    ServiceRequest,
    Side,
)

Kind, Status = Activity.Kind, Attendance.Status
ZERO = Decimal("0")

THEMES = [
    "学习贯彻党的二十届四中全会精神",
    "重温入党誓词",
    "学习《中国共产党章程》",
    "乡村振兴政策宣讲",
    "学习《中国共产党纪律处分条例》",
    "党员志愿服务：清理河道",
    "学习习近平总书记重要讲话精神",
    "庆祝建党105周年",
    "防汛救灾动员",
    "学习《中国共产党党员教育管理工作条例》",
    "人居环境整治志愿服务",
    "缅怀革命先烈",
]
RESIDENT_EXCUSES = ["生病住院", "家中有事", "农忙", "外出办事", "照顾老人"]
AWAY_EXCUSES = ["在外务工，已请假", "工作原因无法参加", "在外地，已向支部请假"]
FRAIL = "年老体弱，行动不便"
EVALUATION_REMARKS = {
    Evaluation.Grade.EXCELLENT: "积极参加组织生活，在流入地发挥先锋模范作用",
    Evaluation.Grade.QUALIFIED: "能按要求参加组织生活，按时交纳党费",
    Evaluation.Grade.BASIC: "参加组织生活不够经常，需加强联系",
    Evaluation.Grade.UNQUALIFIED: "长期不参加组织生活，已谈话提醒",
}
WORK = [
    "联系一户家乡困难群众",
    "收集流入地用工信息反馈支部",
    "参加流入地社区志愿服务",
    "宣传家乡乡村振兴政策",
    "为家乡特产销售牵线",
    "撰写一篇学习心得",
    "动员一名青年递交入党申请书",
]
SERVICES = [
    (ServiceRequest.Kind.EMPLOYMENT, "工厂停工，希望介绍就近工作", "县人社局就业服务中心"),
    (ServiceRequest.Kind.EMPLOYMENT, "返乡创业，咨询贷款贴息政策", "乡镇党委组织委员"),
    (ServiceRequest.Kind.LEGAL, "被拖欠工资三个月", "县司法局法律援助中心"),
    (ServiceRequest.Kind.LEGAL, "工伤认定遇到困难", "流入地工会"),
    (ServiceRequest.Kind.SOCIAL_SECURITY, "养老保险关系转移接续", "县社保局"),
    (ServiceRequest.Kind.SOCIAL_SECURITY, "异地就医备案", "县医保局"),
    (ServiceRequest.Kind.OTHER, "子女在流入地入学", "流入地社区党组织"),
    (ServiceRequest.Kind.OTHER, "留守老人需定期探望", "村党支部"),
]


@dataclass
class Profile:
    """How a member lives the year: what they do while away, and when (if ever) they stop."""

    online: float = 0.0  # chance of joining a home-branch meeting online while away
    elsewhere: float = 0.0  # chance per month of life reported by an external host
    quiet_from: date | None = None  # while away, nothing from this day on
    frail: bool = False  # at home but always excused
    returns: bool = False  # home for the Spring Festival, makes up what was missed
    episodes: list = field(default_factory=list)

    def away_on(self, day: date) -> MobilityEpisode | None:
        for episode in self.episodes:
            if episode.left_on <= day and (episode.ended_on is None or episode.ended_on >= day):
                return episode
        return None

    def quiet_on(self, day: date) -> bool:
        return self.quiet_from is not None and day >= self.quiet_from


def _day(month: date, first: int, last: int, rng) -> date:
    return month.replace(day=rng.randint(first, last))


@demo_step(order=55)  # after the ledger, whose unanswered calls it follows
def seed_party_life(demo: DemoCounty) -> None:
    today = demo.today
    clerk, _ = User.objects.get_or_create(username="demo-clerk", defaults={"is_active": False})
    branch_ids = {b.pk for b in demo.branches}
    members = list(
        Member.objects.filter(status=Member.Status.ACTIVE, home_branch__in=branch_ids)
        .only("pk", "name", "home_branch", "joined_on", "birth_date")
        .order_by("pk")
    )
    profiles = _profiles(demo, members)
    months = [dues.first_of_month(today) - relativedelta(months=n) for n in range(12, 0, -1)]

    _seed_activities(demo, members, profiles, months, clerk)
    _seed_participation_elsewhere(demo, members, profiles, months, clerk)
    _seed_dues(demo, members, profiles, clerk)
    _seed_evaluations_and_honours(demo, members, profiles, clerk)
    _seed_work_and_services(demo, members, profiles, clerk)


def _profiles(demo: DemoCounty, members: list[Member]) -> dict[int, Profile]:
    rng, today = demo.rng, demo.today
    profiles = {m.pk: Profile() for m in members}
    for episode in MobilityEpisode.objects.filter(member__in=profiles).order_by("left_on", "pk"):
        profiles[episode.member_id].episodes.append(episode)
    silent = demo.unreachable
    for member in members:
        profile = profiles[member.pk]
        current = profile.away_on(today)
        if current is None:
            profile.frail = member.birth_date.year < 1953 and rng.random() < 0.2
            continue
        profile.online = rng.uniform(0.55, 0.92)
        if current.inflow_external_id:
            profile.elsewhere = rng.uniform(0.6, 0.95)
        roll = rng.random()
        if (member.pk in silent and roll < 0.8) or (member.pk not in silent and roll < 0.1):
            profile.quiet_from = current.left_on  # gone quiet: never takes part while away
        elif rng.random() < 0.08:  # drifting away: took part for a while, then stopped
            profile.quiet_from = today - timedelta(days=rng.randrange(100, 300))
        profile.returns = (
            current.mobility_type != MobilityEpisode.Type.ABROAD
            and profile.quiet_from is None
            and rng.random() < 0.45
        )
    return profiles


def _seed_activities(demo, members, profiles, months, clerk) -> None:
    rng = demo.rng
    own: dict[int, list[Member]] = {b.pk: [] for b in demo.branches}
    for member in members:
        own[member.home_branch_id].append(member)
    hosted: dict[int, list[tuple[Member, MobilityEpisode]]] = {}
    for member in members:
        for episode in profiles[member.pk].episodes:
            if episode.inflow_organisation_id:
                hosted.setdefault(episode.inflow_organisation_id, []).append((member, episode))

    february = next(m for m in months if m.month == 2)
    activities, rosters = [], []

    def add(branch, kind, day, title, online, marks):
        place = branch.name.removesuffix("党支部") + "党员活动室"
        activities.append(
            Activity(
                branch=branch,
                kind=kind,
                held_on=day,
                title=title,
                place=place,
                online=online,
                notes="线上线下同步，微信群视频连线" if online else "",
                recorded_by=clerk,
            )
        )
        rosters.append(marks)

    for branch in demo.branches:
        members_here = own[branch.pk]

        def roster(day, branch=branch, members_here=members_here):
            here = [m for m in members_here if m.joined_on <= day]
            for member, episode in hosted.get(branch.pk, []):
                if episode.left_on <= day and (episode.ended_on is None or episode.ended_on >= day):
                    here.append(member)
            return here

        def mark(member, day, online, returned=False, branch=branch):
            profile = profiles[member.pk]
            away = profile.away_on(day)
            if away is not None and profile.quiet_on(day):
                return Status.ABSENT, ""
            if away is None or away.inflow_organisation_id == branch.pk or returned:
                if profile.frail:
                    return Status.EXCUSED, FRAIL
                roll = rng.random()
                if roll < 0.87:
                    return Status.PRESENT, ""
                if roll < 0.95:
                    return Status.EXCUSED, rng.choice(RESIDENT_EXCUSES)
                return Status.ABSENT, ""
            if online and rng.random() < profile.online:
                return Status.ONLINE, ""
            if rng.random() < 0.6:
                return Status.EXCUSED, rng.choice(AWAY_EXCUSES)
            return Status.ABSENT, ""

        def everyone(day, online, returning=False):
            marks = {}
            for member in roster(day):
                back = returning and profiles[member.pk].returns
                marks[member.pk] = (*mark(member, day, online, back), False)
            return marks

        hybrid = rng.random() < 0.9  # most branches let members away join by video
        theme_day = rng.choice([1, 5, 10, 15, 20, 25])
        residents = [m for m in members_here if profiles[m.pk].away_on(demo.today) is None]
        committee = rng.sample(residents, k=min(3, len(residents)))
        for month in months:
            in_february = month == february
            if rng.random() < 0.9 or in_february:
                day = month.replace(day=theme_day)
                title = f"{month.month}月主题党日：{THEMES[(month.month - 1) % len(THEMES)]}"
                add(branch, Kind.THEME_DAY, day, title, hybrid, everyone(day, hybrid, in_february))
            if committee and rng.random() < 0.85:
                day = _day(month, 1, 28, rng)
                marks = {
                    m.pk: (Status.PRESENT, "", False)
                    if rng.random() < 0.95
                    else (Status.EXCUSED, rng.choice(RESIDENT_EXCUSES), False)
                    for m in committee
                    if m.joined_on <= day
                }
                add(branch, Kind.COMMITTEE_MEETING, day, f"{month.month}月支委会", False, marks)
            if month.month in (3, 6, 9, 12):
                day = _day(month, 20, 28, rng)
                quarter = (month.month - 1) // 3 + 1
                title = f"{month.year}年第{quarter}季度党员大会"
                add(branch, Kind.GENERAL_MEETING, day, title, hybrid, everyone(day, hybrid))
            if in_february:
                # After the Spring Festival: those home make up what they missed, then the
                # democratic evaluation and the organisational life meeting for last year.
                day = _day(month, 20, 23, rng)
                makeup = {
                    m.pk: (Status.PRESENT, "", True)
                    for m in roster(day)
                    if profiles[m.pk].returns
                    and (away := profiles[m.pk].away_on(day)) is not None
                    and away.inflow_organisation_id != branch.pk
                }
                if makeup:
                    add(branch, Kind.PARTY_LECTURE, day, "春节返乡流动党员集中补课", False, makeup)
                day = _day(month, 24, 26, rng)
                title = f"{month.year - 1}年度民主评议党员大会"
                marks = everyone(day, hybrid, returning=True)
                add(branch, Kind.EVALUATION_MEETING, day, title, hybrid, marks)
                day += timedelta(days=1)
                title = f"{month.year - 1}年度组织生活会"
                marks = everyone(day, hybrid, returning=True)
                add(branch, Kind.LIFE_MEETING, day, title, hybrid, marks)

    Activity.objects.bulk_create(activities, batch_size=500)
    Attendance.objects.bulk_create(
        [
            Attendance(activity=activity, member_id=pk, status=status, reason=reason, makeup=makeup)
            for activity, marks in zip(activities, rosters, strict=True)
            for pk, (status, reason, makeup) in marks.items()
        ],
        batch_size=1000,
    )


def _seed_participation_elsewhere(demo, members, profiles, months, clerk) -> None:
    rng = demo.rng
    names = {e.pk: e.name for e in demo.external}
    rows = []
    for member in members:
        profile = profiles[member.pk]
        if not profile.elsewhere:
            continue
        for month in months:
            day = _day(month, 1, 28, rng)
            away = profile.away_on(day)
            if away is None or not away.inflow_external_id or profile.quiet_on(day):
                continue
            if rng.random() < profile.elsewhere:
                kind = Kind.LIFE_MEETING if month.month == 1 else Kind.THEME_DAY
                rows.append(
                    ExternalParticipation(
                        member=member,
                        on=day,
                        organisation=names[away.inflow_external_id],
                        kind=kind,
                        note="流入地党组织反馈",
                        recorded_by=clerk,
                    )
                )
    ExternalParticipation.objects.bulk_create(rows, batch_size=1000)


def _basis_and_income(rng, member: Member, profile: Profile, year: int):
    away = profile.away_on(date(year, 6, 30))
    if away is not None and away.mobility_type == MobilityEpisode.Type.STUDY:
        return DuesAmount.Basis.STUDENT, None
    if member.birth_date.year >= 1960:
        roll = rng.random()
        if roll < 0.2 and away is None:
            return DuesAmount.Basis.FARMER, None
        if roll < 0.23:
            return DuesAmount.Basis.UNEMPLOYED, None
        if roll < 0.25:
            return DuesAmount.Basis.ALLOWANCE, None
    typical = 3000 if member.birth_date.year < 1960 else 5200 if away else 3800
    income = min(max(rng.lognormvariate(log(typical), 0.45), 1500), 40000)
    return DuesAmount.Basis.INCOME, Decimal(int(income / 10) * 10)


def _seed_dues(demo, members, profiles, clerk) -> None:
    rng, today = demo.rng, demo.today
    tracking = dues.first_of_month(date.fromisoformat(settings.DUES_TRACKING_START))
    last_month = dues.first_of_month(today) - relativedelta(months=1)
    amounts, payments = [], []
    for member in members:
        profile = profiles[member.pk]
        start = max(tracking, dues.first_of_month(member.joined_on))
        basis, income = _basis_and_income(rng, member, profile, today.year)
        monthly = {}
        for year in range(start.year, today.year + 1):
            year_income = income
            if income is not None and year < today.year:
                year_income = Decimal(int(income * Decimal("0.95") / 10) * 10)
            amount, _how = dues.monthly_dues(basis=basis, monthly_income=year_income)
            monthly[year] = amount
            amounts.append(
                DuesAmount(
                    member=member,
                    year=year,
                    basis=basis,
                    monthly_income=year_income,
                    monthly_amount=amount,
                    set_by=clerk,
                )
            )

        roll = rng.random()
        behind = rng.random() < (0.7 if profile.quiet_from else 0.06)
        if behind:
            through = last_month - relativedelta(months=rng.randint(3, 8))
        elif roll < 0.06:
            through = date(today.year, 12, 1)  # paid the whole year ahead
        elif roll < 0.2:
            through = last_month - relativedelta(months=rng.randint(1, 2))
        else:
            through = last_month
        current = profile.away_on(today)
        size = rng.choice([3, 6] if current else [1, 1, 3])
        method = (
            rng.choice(["wechat", "alipay", "bank"]) if current else rng.choice(["cash", "wechat"])
        )
        to_external = rng.random() < 0.3
        month = start
        while month <= through:
            end = min(month + relativedelta(months=size - 1), through)
            covered = dues.months_between(month, end)
            paid_on = min(_day(end, 1, 28, rng), today - timedelta(days=rng.randrange(1, 20)))
            paid_on = max(paid_on, month)
            # Certificate holders may pay the inflow side: our branch hosting them, or (for
            # some) the external organisation; everyone else pays the home branch.
            host = profile.away_on(paid_on)
            paid_to, paid_to_external = member.home_branch_id, None
            if host is not None and host.inflow_organisation_id:
                paid_to = host.inflow_organisation_id
            elif host is not None and host.inflow_external_id and to_external:
                paid_to, paid_to_external = None, host.inflow_external_id
            payments.append(
                DuesPayment(
                    member=member,
                    from_month=month,
                    to_month=end,
                    amount=sum((monthly.get(m.year, dues.FIXED) for m in covered), ZERO),
                    paid_to_id=paid_to,
                    paid_to_external_id=paid_to_external,
                    paid_on=paid_on,
                    method=method,
                    recorded_by=clerk,
                )
            )
            month = end + relativedelta(months=1)
    DuesAmount.objects.bulk_create(amounts, batch_size=1000)
    DuesPayment.objects.bulk_create(payments, batch_size=1000)


def _seed_evaluations_and_honours(demo, members, profiles, clerk) -> None:
    rng = demo.rng
    year = demo.today.year - 1
    year_end = date(year, 12, 31)
    branch_names = {b.pk: b.name for b in demo.branches}
    external_names = {e.pk: e.name for e in demo.external}
    grades = [Evaluation.Grade.EXCELLENT] * 2 + [Evaluation.Grade.QUALIFIED] * 7
    grades += [Evaluation.Grade.BASIC]
    evaluations, honours = [], []
    for member in members:
        profile = profiles[member.pk]
        away = profile.away_on(year_end)
        if away is None:
            if not profile.frail and rng.random() < 0.006:
                honours.append(
                    Honour(member=member, kind=Honour.Kind.MODEL_POST, year=year, side=Side.HOME)
                )
            continue
        quiet = profile.quiet_on(year_end)
        if quiet:
            grade = rng.choice([Evaluation.Grade.BASIC, Evaluation.Grade.UNQUALIFIED])
        else:
            grade = rng.choice(grades)
        if rng.random() < (0.5 if quiet else 0.88):
            evaluations.append(
                Evaluation(
                    member=member,
                    year=year,
                    side=Side.HOME,
                    evaluator=branch_names.get(member.home_branch_id, ""),
                    grade=grade,
                    remarks=EVALUATION_REMARKS[grade],
                    recorded_by=clerk,
                )
            )
        inflow = (
            branch_names.get(away.inflow_organisation_id)
            if away.inflow_organisation_id
            else external_names.get(away.inflow_external_id)
        )
        if inflow and not quiet and rng.random() < 0.6:
            inflow_grade = rng.choice(grades)
            evaluations.append(
                Evaluation(
                    member=member,
                    year=year,
                    side=Side.INFLOW,
                    evaluator=inflow,
                    grade=inflow_grade,
                    remarks=EVALUATION_REMARKS[inflow_grade],
                    recorded_by=clerk,
                )
            )
            if Evaluation.Grade.EXCELLENT in (grade, inflow_grade) and rng.random() < 0.2:
                honours.append(
                    Honour(
                        member=member,
                        kind=Honour.Kind.EXCELLENT_MOBILE,
                        year=year,
                        side=Side.INFLOW if inflow_grade == "excellent" else Side.HOME,
                    )
                )
    Evaluation.objects.bulk_create(evaluations, batch_size=1000)
    Honour.objects.bulk_create(honours, batch_size=1000)


def _seed_work_and_services(demo, members, profiles, clerk) -> None:
    rng, today = demo.rng, demo.today
    away = [m for m in members if profiles[m.pk].away_on(today) is not None]
    work = []
    for index, member in enumerate(rng.sample(away, k=min(40, len(away)))):
        episode = profiles[member.pk].away_on(today)
        long_ago = index < 6  # a few left undone for well over six months
        assigned_on = today - timedelta(
            days=rng.randrange(300, 420) if long_ago else rng.randrange(5, 300)
        )
        due_on = assigned_on + timedelta(days=rng.randrange(20, 90))
        if long_ago:
            status = rng.choice([AssignedWork.Status.OPEN, AssignedWork.Status.NOT_DONE])
        elif due_on >= today:
            status = AssignedWork.Status.OPEN
        else:
            status = rng.choice([AssignedWork.Status.DONE] * 8 + [AssignedWork.Status.OPEN])
        inflow_side = episode.inflow_organisation_id is not None and rng.random() < 0.5
        work.append(
            AssignedWork(
                member=member,
                side=Side.INFLOW if inflow_side else Side.HOME,
                title=rng.choice(WORK),
                assigned_on=assigned_on,
                due_on=due_on,
                status=status,
                note={"done": "已完成，支部已核实", "not_done": "多次提醒未完成"}.get(status, ""),
                recorded_by=clerk,
            )
        )
    AssignedWork.objects.bulk_create(work)

    requests = []
    for member in rng.sample(away, k=min(24, len(away))):
        kind, description, handler = rng.choice(SERVICES)
        raised_on = today - timedelta(days=rng.randrange(3, 360))
        age = (today - raised_on).days
        status = (
            ServiceRequest.Status.DONE
            if age > 90 or (age > 30 and rng.random() < 0.5)
            else rng.choice([ServiceRequest.Status.OPEN, ServiceRequest.Status.IN_PROGRESS])
        )
        requests.append(
            ServiceRequest(
                member=member,
                kind=kind,
                description=description,
                raised_on=raised_on,
                handler=handler,
                status=status,
                outcome="已协调解决，党员表示满意" if status == ServiceRequest.Status.DONE else "",
            )
        )
    ServiceRequest.objects.bulk_create(requests)
