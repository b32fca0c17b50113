"""The demo county's mobile members: about 30% away, across provinces and abroad."""

from datetime import timedelta

from members.demo import DemoCounty, demo_step
from members.models import Member

from .models import MobilityEpisode

DESTINATIONS = [
    ("广东省", "深圳市", 5),
    ("广东省", "东莞市", 4),
    ("浙江省", "杭州市", 3),
    ("江苏省", "苏州市", 3),
    ("上海市", "上海市", 3),
    ("四川省", "成都市", 6),
    ("重庆市", "重庆市", 4),
    ("北京市", "北京市", 2),
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
        external = rng.choice(demo.external) if rng.random() < 0.5 else None
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
                    returned_on=earlier + timedelta(days=rng.randrange(60, 300)),
                )
            )
        episodes.append(
            MobilityEpisode(
                member=member,
                mobility_type=kind,
                left_on=left,
                destination_province=province,
                destination_city=city,
                destination_country=rng.choice(ABROAD)
                if kind == MobilityEpisode.Type.ABROAD
                else "",
                occupation=rng.choice(OCCUPATIONS[kind]),
                is_fixed_place=kind in (MobilityEpisode.Type.WORK, MobilityEpisode.Type.SETTLED)
                and rng.random() < 0.6,
                inflow_external=external,
            )
        )
    MobilityEpisode.objects.bulk_create(episodes, batch_size=500)
