"""Benchmark: importing (and exporting) five-clears ledgers at county scale.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/liudong_bench \\
        .venv/bin/python -m bench.import_export_bench --rows 10000 [--export-rows 20000]

It generates a realistic N-row ledger (.xlsx, one title row, valid ID numbers, Chinese
names, mobile columns), then times:

* `ledgers.importing.apply_import` end to end (read, check, match, write with history),
  plus the preview (`plan_import`) and a re-import of the same file (all unchanged);
* a plain django-import-export `ModelResource` for Member at default settings importing the
  same rows into a fresh tree (members only: no episodes, ledger records or contacts);
* with --export-rows, `ledgers.exporting.export_ledger_xlsx` over that many ledger rows.

It refuses a database whose name does not start with "liudong_bench" unless --force, builds
its own tree (基准测试县) and removes what an earlier run left there. Results are printed
and merged into bench/results/import_export.json (keyed by row count).
"""

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import random
import resource
import sys
import time
from datetime import date, datetime, timedelta
from datetime import time as time_of_day_type
from pathlib import Path

from bench.bench_tree import (
    BENCH_USER,
    BRANCH_CODE,
    BRANCH_NAME,
    EXTERNAL_PREFIX,
    fresh_tree,
)

MIDNIGHT = time_of_day_type(0, 0)
RESULTS = Path(__file__).resolve().parent / "results" / "import_export.json"

TITLE = "基准测试县城关镇东街社区党支部流动党员五清台账"
HEADERS = [
    "序号",
    "姓名",
    "性别",
    "民族",
    "出生日期",
    "公民身份号码",
    "手机号码",
    "所在党支部",
    "入党日期",
    "转正日期",
    "人员类别",
    "是否流动党员",
    "流出时间",
    "流动类型",
    "去向",
    "职业",
    "流入党组织",
    "流入地联系人",
    "流动证号",
    "思想动态",
]
DESTINATIONS = [
    "广东省深圳市南山区科技园",
    "广东省东莞市长安镇",
    "广东深圳宝安区福永街道",
    "浙江省杭州市余杭区仓前街道",
    "江苏省苏州市工业园区",
    "上海市浦东新区张江镇",
    "四川省成都市武侯区",
    "重庆市渝北区回兴街道",
    "北京市海淀区中关村街道",
    "福建省厦门市湖里区",
    "湖北省武汉市洪山区",
    "新疆维吾尔自治区乌鲁木齐市天山区",
]
ABROAD = ["新加坡", "日本东京", "阿联酋迪拜", "澳大利亚悉尼"]
TYPES = [
    ("就业流动", 60),
    ("学习流动", 10),
    ("随子女定居", 10),
    ("临时务工", 15),
    ("出国（境）", 5),
]
OCCUPATIONS = ["电子厂工人", "快递员", "建筑工人", "个体经营", "企业职员", "外卖骑手", "学生"]
INFLOW = [
    ("深圳市南山区科技园流动党员党支部", "陈立新 0755-86012345"),
    ("东莞市长安镇非公企业联合党委", "黄伟 0769-85531234"),
    ("杭州市余杭区物流园区党支部", "沈佳 0571-88123456"),
    ("成都市武侯区快递行业党委", "刘洋 028-85012345"),
    ("", ""),
]
CONDUCT = ["良好：积极参加流入地组织生活", "良好", "一般：很少参加组织生活", "表现优秀", ""]


def rss_mib() -> float:
    """Peak resident set size of this process so far (ru_maxrss is KiB on Linux)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django
    from django.conf import settings

    django.setup()
    # As in production: with DEBUG on, Django keeps the text of every query (the bulk
    # inserts' arrays too), which costs time and, over 100,000 rows, a few hundred MiB.
    settings.DEBUG = False


# --- data ------------------------------------------------------------------------------------


# Where the bench's people were born: region codes (Hainan's county-level cities) that
# members.demo.REGION_CODES, and so bench/province.py, never uses. The province's members and
# the import's generated people can then never share an ID number, whatever the province's
# size: a shared number is refused as held by another organisation (issue #18).
BENCH_REGION_CODES = ("469001", "469002", "469005", "469006", "469007")


def bench_national_id(rng: random.Random, born: date, male: bool) -> str:
    """A valid ID number (GB 11643 check character) from one of BENCH_REGION_CODES."""
    from members import national_id

    sequence = rng.randrange(500) * 2 + (1 if male else 0)  # odd = male
    first17 = f"{rng.choice(BENCH_REGION_CODES)}{born:%Y%m%d}{sequence:03d}"
    return first17 + national_id.check_char(first17)


def generate_rows(count: int, *, seed: int):
    """Ledger rows as lists of cells (mixed date spellings, as real sheets have)."""
    from members.demo import ETHNICITIES, GIVEN, REGION_CODES, SURNAMES

    assert not set(BENCH_REGION_CODES) & set(REGION_CODES)
    rng = random.Random(seed)
    seen: set[str] = set()
    number = 0
    weights = [weight for _, weight in TYPES]
    while number < count:
        male = rng.random() < 0.7
        born = date(1950, 1, 1) + timedelta(days=rng.randrange(365 * 54))
        national = bench_national_id(rng, born, male)
        if national in seen:
            continue
        seen.add(national)
        number += 1
        joined = born + timedelta(days=6575 + 30 + rng.randrange(365 * 20))  # 18 + years
        joined = min(joined, date(2024, 6, 30))
        probationary = rng.random() < 0.05
        kind = rng.choices([name for name, _ in TYPES], weights)[0]
        mobile = rng.random() < 0.9
        left = date(2015, 1, 1) + timedelta(days=rng.randrange(3500))
        left_cell = rng.choice(
            [
                datetime(left.year, left.month, left.day),
                left.isoformat(),
                f"{left.year}/{left.month}/{left.day}",
                f"{left.year}年{left.month}月{left.day}日",
                f"{left:%Y%m%d}",
            ]
        )
        inflow, contact = rng.choice(INFLOW)
        yield [
            number,
            rng.choice(SURNAMES)
            + rng.choice(GIVEN)
            + (rng.choice(GIVEN) if rng.random() < 0.7 else ""),
            "男" if male else "女",
            rng.choice(ETHNICITIES),
            datetime(born.year, born.month, born.day),
            national,
            f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}",
            BRANCH_NAME,
            datetime(joined.year, joined.month, joined.day),
            None if probationary else datetime.combine(joined + timedelta(days=366), MIDNIGHT),
            "预备党员" if probationary else "正式党员",
            "是" if mobile else "否",
            left_cell if mobile else None,
            kind if mobile else None,
            (rng.choice(ABROAD) if kind.startswith("出国") else rng.choice(DESTINATIONS))
            if mobile
            else None,
            rng.choice(OCCUPATIONS) if mobile else None,
            (EXTERNAL_PREFIX + inflow if inflow else None) if mobile else None,
            contact or None,
            None,
            rng.choice(CONDUCT) or None,
        ]


def ledger_xlsx(count: int, *, seed: int) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("五清台账")
    sheet.append([TITLE])
    sheet.append(HEADERS)
    for row in generate_rows(count, seed=seed):
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# --- the three measurements ------------------------------------------------------------------


def import_benchmark(content: bytes, rows: int, *, profile: bool, repeat: int = 1) -> dict:
    """Preview, import and re-import `repeat` times (fresh tree each time); median and best."""
    import statistics

    from ledgers.imports import apply_import, plan_import

    rss_before = rss_mib()
    previews, imports, reimports = [], [], []
    for attempt in range(repeat):
        user, _branch = fresh_tree()
        started = time.perf_counter()
        preview = plan_import(content=content, file_name="bench.xlsx", user=user)
        previews.append(time.perf_counter() - started)
        assert preview.ok, preview.issues[:5]
        del preview
        rss_preview = rss_mib()

        profiler = cProfile.Profile() if profile and attempt == 0 else None
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        result = apply_import(content=content, file_name="bench.xlsx", user=user)
        if profiler:
            profiler.disable()
        imports.append(time.perf_counter() - started)
        rss_after = rss_mib()
        assert result.ok and result.counts["create"] == rows, (result.counts, result.issues[:5])
        del result
        if profiler:
            profiler.dump_stats(RESULTS.parent / f"import_profile_{rows}.prof")
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)

        started = time.perf_counter()
        again = apply_import(content=content, file_name="bench.xlsx", user=user)
        reimports.append(time.perf_counter() - started)
        assert again.counts["unchanged"] == rows, again.counts
        del again
    seconds = statistics.median(imports)
    return {
        "repeat": repeat,
        "seconds": round(seconds, 3),
        "rows_per_s": round(rows / seconds),
        "best_rows_per_s": round(rows / min(imports)),
        "all_seconds": [round(value, 3) for value in imports],
        "preview_seconds": round(statistics.median(previews), 3),
        "reimport_unchanged_seconds": round(statistics.median(reimports), 3),
        "rss_before_mib": round(rss_before),
        "peak_rss_after_preview_mib": round(rss_preview),
        "peak_rss_mib": round(rss_after),
    }


def preview_at_limit(*, seed: int, over: int) -> dict:
    """Peak memory of a preview at the row limit (IMPORT_MAX_ROWS), and of a file `over` rows
    longer, which is refused while reading. Run in a process of its own (ru_maxrss only grows)."""
    from django.conf import settings

    from ledgers.imports import plan_import

    limit = settings.IMPORT_MAX_ROWS
    user, _branch = fresh_tree()
    results = {"limit": limit}
    for label, rows in (("at_limit", limit), ("over_limit", limit + over)):
        content = ledger_xlsx(rows, seed=seed)
        before = rss_mib()
        started = time.perf_counter()
        plan = plan_import(content=content, file_name="bench.xlsx", user=user)
        results[label] = {
            "rows": rows,
            "file_mib": round(len(content) / 2**20, 2),
            "seconds": round(time.perf_counter() - started, 3),
            "refused": bool(plan.file_issues),
            "peak_rss_mib": round(rss_mib()),
            "rss_before_mib": round(before),
        }
        del plan, content
    return results


def _resource_dataset(content: bytes, rows: int, branch_id: int):
    """The same sheet for a plain ModelResource: headers renamed to fields, values mapped."""
    import tablib

    from members import crypto, national_id

    sheet = tablib.Dataset().load(io.BytesIO(content), format="xlsx", skip_lines=1)
    columns = {
        "姓名": "name",
        "性别": "gender",
        "民族": "ethnicity",
        "出生日期": "birth_date",
        "公民身份号码": "national_id",
        "手机号码": "phone",
        "入党日期": "joined_on",
        "转正日期": "confirmed_on",
        "人员类别": "category",
    }
    dataset = tablib.Dataset(headers=[*columns.values(), "national_id_digest", "home_branch"])
    values = {"男": "M", "女": "F", "正式党员": "full", "预备党员": "probationary"}
    for row in sheet.dict[:rows]:
        cells = [values.get(row[header], row[header]) for header in columns]
        number = national_id.normalise(row["公民身份号码"])
        dataset.append([*cells, crypto.digest(number), branch_id])
    return dataset


def resource_benchmark(content: bytes, rows: int) -> dict:
    from import_export import resources

    from members.models import Member

    class MemberResource(resources.ModelResource):
        class Meta:
            model = Member
            fields = (
                "name",
                "gender",
                "ethnicity",
                "birth_date",
                "national_id",
                "national_id_digest",
                "phone",
                "category",
                "joined_on",
                "confirmed_on",
                "home_branch",
            )
            import_id_fields = ("national_id_digest",)

    _user, branch = fresh_tree()
    dataset = _resource_dataset(content, rows, branch.pk)
    # As in production, where a broker takes the tasks a save queues (the recount of the
    # branch's figures) and a worker runs them elsewhere: here, without REDIS_URL, Celery would
    # run each in this process, on every one of the saves, and time the recounts instead.
    from celery import current_app

    eager = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = False
    try:
        started = time.perf_counter()
        result = MemberResource().import_data(dataset, dry_run=False, raise_errors=True)
        seconds = time.perf_counter() - started
    finally:
        current_app.conf.task_always_eager = eager
    assert not result.has_errors() and Member.objects.filter(home_branch=branch).count() == rows
    return {"rows": rows, "seconds": round(seconds, 3), "rows_per_s": round(rows / seconds)}


def export_benchmark(rows: int) -> dict | None:
    """Time ledgers.exporting.export_ledger_xlsx over `rows` ledger rows (skips if absent)."""
    try:
        from ledgers.exporting import export_ledger_xlsx
        from ledgers.selectors import ledger_rows
    except ImportError as error:
        print(f"export benchmark skipped: {error}")
        return None
    from django.conf import settings
    from django.test.utils import override_settings
    from django.utils import timezone

    from ledgers.imports import apply_import
    from members.models import Organisation
    from transfers.models import MobilityEpisode

    branch = Organisation.objects.filter(code=BRANCH_CODE, name=BRANCH_NAME).first()
    if branch is None:
        user, branch = fresh_tree()
    else:
        from django.contrib.auth.models import User

        user = User.objects.get(username=BENCH_USER)
    have = MobilityEpisode.objects.filter(member__home_branch=branch, ended_on__isnull=True).count()
    if have < rows:  # refill from a clean tree (random ID numbers could meet earlier ones)
        user, branch = fresh_tree()
        extra = int(rows / 0.85) + 100  # about 90% of generated rows are mobile
        content = ledger_xlsx(extra, seed=int(time.time()))
        # One file of more rows than IMPORT_MAX_ROWS allows: raised as an operator would.
        with override_settings(IMPORT_MAX_ROWS=max(extra, settings.IMPORT_MAX_ROWS)):
            result = apply_import(content=content, file_name="top-up.xlsx", user=user)
        assert result.ok, result.issues[:5]
        del content, result
    episodes = ledger_rows(user=user, today=timezone.localdate(), branch=branch, life=False)[:rows]
    started = time.perf_counter()
    data = export_ledger_xlsx(episodes.iterator(chunk_size=2000))
    seconds = time.perf_counter() - started
    return {
        "rows": rows,
        "seconds": round(seconds, 3),
        "rows_per_s": round(rows / seconds),
        "bytes": len(data),
        "peak_rss_mib": round(rss_mib()),
    }


# --- main ------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10000, help="rows to import (0: skip)")
    parser.add_argument("--export-rows", type=int, default=0, help="ledger rows to export")
    parser.add_argument(
        "--resource-rows",
        type=int,
        default=None,
        help="rows for the plain ModelResource (default: --rows; it is slow)",
    )
    parser.add_argument("--skip-resource", action="store_true")
    parser.add_argument("--profile", action="store_true", help="cProfile the import")
    parser.add_argument(
        "--repeat", type=int, default=1, help="import this many times; report the median"
    )
    parser.add_argument("--seed", type=int, default=20261101)
    parser.add_argument("--force", action="store_true", help="run on any database")
    parser.add_argument(
        "--preview-at-limit",
        action="store_true",
        help="only the memory of a preview at IMPORT_MAX_ROWS and of a longer file (issue #15)",
    )
    args = parser.parse_args(argv)

    setup_django()
    from django.db import connection

    name = str(connection.settings_dict["NAME"])
    if not Path(name).name.startswith("liudong_bench") and not args.force:
        print(
            f"Refusing to run on database {name!r}: its name must start with 'liudong_bench' "
            "(or pass --force).",
            file=sys.stderr,
        )
        return 2

    if args.preview_at_limit:
        found = preview_at_limit(seed=args.seed, over=100_000)
        for label in ("at_limit", "over_limit"):
            part = found[label]
            print(
                f"preview of {part['rows']} rows ({part['file_mib']} MiB .xlsx): "
                f"{part['seconds']} s, peak RSS {part['peak_rss_mib']} MiB"
                + (", refused while reading" if part["refused"] else "")
            )
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        stored = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
        stored["preview_at_limit"] = found | {"when": datetime.now().isoformat(timespec="seconds")}
        RESULTS.write_text(json.dumps(stored, ensure_ascii=False, indent=2) + "\n")
        return 0

    results: dict = {
        "database": f"{connection.vendor} {name}",
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "when": datetime.now().isoformat(timespec="seconds"),
        "rows": args.rows,
    }
    if args.rows:
        started = time.perf_counter()
        content = ledger_xlsx(args.rows, seed=args.seed)
        results["generate_seconds"] = round(time.perf_counter() - started, 3)
        results["file_mib"] = round(len(content) / 2**20, 2)
        results["import"] = import_benchmark(
            content, args.rows, profile=args.profile, repeat=max(args.repeat, 1)
        )
    if args.export_rows:
        results["export"] = export_benchmark(args.export_rows)
    if args.rows and not args.skip_resource:
        resource_rows = min(args.resource_rows or args.rows, args.rows)
        results["plain_resource"] = resource_benchmark(content, resource_rows)
        results["ratio"] = round(
            results["import"]["rows_per_s"] / results["plain_resource"]["rows_per_s"], 1
        )

    print()
    print(f"{'measurement':<44}{'rows':>9}{'seconds':>10}{'rows/s':>10}")
    lines = []
    if "import" in results:
        imp = results["import"]
        lines.append(("apply_import (plan + write, end to end)", args.rows, imp["seconds"]))
        lines.append(("plan_import (preview only)", args.rows, imp["preview_seconds"]))
        lines.append(("re-import, all unchanged", args.rows, imp["reimport_unchanged_seconds"]))
    if "plain_resource" in results:
        res = results["plain_resource"]
        lines.append(("plain ModelResource (members only)", res["rows"], res["seconds"]))
    if results.get("export"):
        exp = results["export"]
        lines.append(("export_ledger_xlsx", exp["rows"], exp["seconds"]))
    for label, rows, seconds in lines:
        print(f"{label:<44}{rows:>9}{seconds:>10.2f}{rows / seconds:>10.0f}")
    if "ratio" in results:
        print(f"apply_import vs plain resource: {results['ratio']}x")
    if "import" in results and results["import"]["repeat"] > 1:
        imp = results["import"]
        print(
            f"apply_import over {imp['repeat']} runs: median shown, best {imp['best_rows_per_s']} rows/s"
        )
    if "import" in results:
        imp = results["import"]
        print(
            f"peak RSS: {imp['peak_rss_mib']} MiB (before: {imp['rss_before_mib']} MiB, "
            f"after the preview: {imp['peak_rss_after_preview_mib']} MiB)"
        )

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    stored = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    stored.setdefault("runs", {})[str(args.rows or f"export-{args.export_rows}")] = results
    RESULTS.write_text(json.dumps(stored, ensure_ascii=False, indent=2) + "\n")
    print(f"results written to {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
