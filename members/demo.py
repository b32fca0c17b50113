"""A believable demo county: 清溪县, ten townships, ~60 branches, ~1,500 members.

Deterministic (seeded random), and idempotent: if the county exists, nothing is added
twice. Other apps add their part (mobility, ledgers, life...) with @demo_step in their
own `demo.py`, so that members/ imports none of them.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules

from . import crypto, national_id
from .models import ExternalOrganisation, Member, Organisation, StaffAssignment
from .signals import evidence_quiet

COUNTY_NAME = "清溪县委组织部"
SECRETARY_BRANCH = "城关镇东街社区党支部"

TOWNSHIPS = [
    "城关镇",
    "青山镇",
    "白石乡",
    "河口镇",
    "龙泉镇",
    "桃源乡",
    "新华镇",
    "东岭乡",
    "石门镇",
    "柳溪乡",
]
VILLAGES = [
    "东街",
    "西街",
    "南山",
    "北岭",
    "河湾",
    "杨柳",
    "石桥",
    "新村",
    "竹林",
    "高坪",
    "长岗",
    "枫树",
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余杜叶程魏苏吕丁任"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红玉文斌海燕鹏飞辉俊峰琳宇晨浩然子涵欣怡思远德"
ETHNICITIES = ["汉族"] * 18 + ["土家族", "苗族", "回族", "彝族"]
REGION_CODES = ["511921", "511922", "511902", "510107", "500101"]  # where members were born

EXTERNAL_ORGANISATIONS = [
    ("深圳市南山区科技园流动党员党支部", "广东省深圳市", "陈立新", "0755-86012345"),
    ("东莞市长安镇非公企业联合党委", "广东省东莞市", "黄伟", "0769-85531234"),
    ("杭州市余杭区物流园区党支部", "浙江省杭州市", "沈佳", "0571-88123456"),
    ("苏州工业园区某电子有限公司党支部", "江苏省苏州市", "顾明", "0512-62581234"),
    ("上海市浦东新区张江镇流动党员服务站", "上海市", "陆婷", "021-58951234"),
    ("成都市武侯区快递行业党委", "四川省成都市", "刘洋", "028-85012345"),
    ("重庆市渝北区建筑行业党支部", "重庆市", "何强", "023-67812345"),
    ("北京市海淀区中关村街道流动党员党支部", "北京市", "张岚", "010-62551234"),
]

DEMO_USERS = {
    "secretary": StaffAssignment.Role.SECRETARY,
    "reviewer": StaffAssignment.Role.REVIEWER,
    "admin": StaffAssignment.Role.ADMINISTRATOR,
    # The secretary of the county's outpost in 深圳 (transfers/demo.py sets it up).
    "outpost": StaffAssignment.Role.SECRETARY,
}


@dataclass
class DemoCounty:
    county: Organisation
    branches: list[Organisation]
    members: list[Member]
    external: list[ExternalOrganisation]
    rng: random.Random
    today: date
    # Members the ledger step left with only unanswered calls; later steps keep them quiet.
    unreachable: set[int] = field(default_factory=set)


DemoStep = Callable[[DemoCounty], None]
_steps: list[tuple[int, DemoStep]] = []


def demo_step(fn: DemoStep | None = None, *, order: int = 50):
    """Register an app's part of the demo. It runs once, when the county is first built;
    steps with a higher `order` run later (after the data they summarise)."""

    def register(step: DemoStep) -> DemoStep:
        _steps.append((order, step))
        return step

    return register(fn) if fn is not None else register


def make_national_id(rng: random.Random, born: date, male: bool) -> str:
    sequence = rng.randrange(500) * 2 + (1 if male else 0)  # odd = male (GB 11643)
    first17 = f"{rng.choice(REGION_CODES)}{born:%Y%m%d}{sequence:03d}"
    return first17 + national_id.check_char(first17)


def _random_date(rng: random.Random, start: date, end: date) -> date:
    return start + timedelta(days=rng.randrange(max((end - start).days, 1)))


def _build_tree() -> tuple[Organisation, list[Organisation]]:
    tree, kind = Organisation.objects, Organisation.Kind
    county = tree.add_root(
        {
            "name": COUNTY_NAME,
            "kind": kind.COUNTY,
            "region": "四川省清溪县",
            "contact_person": "赵明",
            "phone": "0818-2212345",
        }
    )
    branches = []
    for t_index, township in enumerate(TOWNSHIPS):
        committee = tree.add_child(
            county,
            {
                "name": f"{township}党委",
                "kind": kind.COMMITTEE,
                "region": f"清溪县{township}",
                "phone": f"0818-22{t_index:02d}100",
            },
        )
        branches.append(
            tree.add_child(committee, {"name": f"{township}机关党支部", "kind": kind.BRANCH})
        )
        parent = committee
        if t_index == 0:
            # One township has a general branch over two of its community branches.
            parent = tree.add_child(
                committee, {"name": "城关镇社区党总支", "kind": kind.GENERAL_BRANCH}
            )
        for v_index in range(5):
            village = VILLAGES[(t_index * 5 + v_index) % len(VILLAGES)]
            suffix = "社区" if t_index == 0 else "村"
            name = f"{township}{village}{suffix}党支部"
            branches.append(tree.add_child(parent, {"name": name, "kind": kind.BRANCH}))
            if t_index == 0 and v_index == 1:
                parent = committee
    tree.add_child(branches[1], {"name": f"{branches[1].name}第一党小组", "kind": kind.GROUP})
    county.refresh_from_db()
    return county, branches


def _build_members(
    rng: random.Random, branches: list[Organisation], count: int, today: date
) -> list[Member]:
    members, seen_digests = [], set()
    while len(members) < count:
        male = rng.random() < 0.7
        born = _random_date(rng, date(1948, 1, 1), date(2004, 6, 30))
        number = make_national_id(rng, born, male)
        digest = crypto.digest(number)
        if digest in seen_digests:
            continue
        seen_digests.add(digest)
        eighteen = born.replace(year=born.year + 18, day=min(born.day, 28))
        joined = _random_date(rng, max(eighteen, date(1970, 1, 1)), today - timedelta(days=30))
        probationary = joined > today - timedelta(days=540) and rng.random() < 0.8
        confirmed = None if probationary else joined + timedelta(days=365 + rng.randrange(30))
        if confirmed and confirmed >= today:
            confirmed, probationary = None, True
        status_roll = rng.random()
        status = (
            Member.Status.ACTIVE
            if status_roll < 0.95
            else Member.Status.SUSPENDED
            if status_roll < 0.97
            else Member.Status.DECEASED
            if status_roll < 0.99
            else Member.Status.TRANSFERRED_OUT
        )
        given = rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.7 else "")
        members.append(
            Member(
                name=rng.choice(SURNAMES) + given,
                gender=Member.Gender.MALE if male else Member.Gender.FEMALE,
                ethnicity=rng.choice(ETHNICITIES),
                birth_date=born,
                national_id=number,
                national_id_digest=digest,
                phone=f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}",
                category=Member.Category.PROBATIONARY if probationary else Member.Category.FULL,
                joined_on=joined,
                confirmed_on=confirmed,
                home_branch=rng.choice(branches),
                status=status,
            )
        )
    return Member.objects.bulk_create(members, batch_size=500)


def _ensure_users(county: Organisation, secretary_branch: Organisation) -> None:
    outpost = (
        Organisation.objects.filter(path__startswith=county.path, kind=Organisation.Kind.OUTPOST)
        .order_by("path")
        .first()
    )
    for username, role in DEMO_USERS.items():
        if username == "outpost" and outpost is None:
            continue  # a demo county built before outposts
        user, _ = User.objects.get_or_create(username=username)
        user.set_password(settings.DEMO_PASSWORD)
        user.is_staff = user.is_superuser = role == StaffAssignment.Role.ADMINISTRATOR
        user.save()
        organisation = secretary_branch if role == StaffAssignment.Role.SECRETARY else county
        if username == "outpost":
            organisation = outpost
        StaffAssignment.objects.update_or_create(
            user=user, defaults={"organisation": organisation, "role": role}
        )


@transaction.atomic
def seed_demo(*, member_count: int = 1500, seed: int = 20261101) -> bool:
    """Build the demo county if it is not there; always (re)set the demo logins.

    Returns True if the county was built now, False if it already existed.
    """
    autodiscover_modules("demo")
    county = Organisation.objects.get_root_nodes().filter(name=COUNTY_NAME).first()
    created = county is None
    if created:
        rng = random.Random(seed)
        county, branches = _build_tree()
        external = [
            ExternalOrganisation.objects.create(
                name=name, region=region, contact_person=person, phone=phone
            )
            for name, region, person, phone in EXTERNAL_ORGANISATIONS
        ]
        # Dated from today, so the demo looks current whenever it is loaded; the random
        # seed keeps names, numbers and proportions the same on every machine.
        today = timezone.localdate()
        members = _build_members(rng, branches, member_count, today)
        demo = DemoCounty(county, branches, members, external, rng, today)
        with evidence_quiet():  # the last step is the full scan
            for _order, step in sorted(_steps, key=lambda pair: pair[0]):
                step(demo)
    secretary_branch = Organisation.objects.get_descendants(county).get(name=SECRETARY_BRANCH)
    _ensure_users(county, secretary_branch)
    return created
