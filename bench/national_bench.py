"""The national format at county size (issue #20): export a branch's roll in the national
layout, then reconcile a sheet of it in which some rows differ, some are missing and some are
new. Times and peak memory go to bench/results/national.json.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/liudong_bench_national \
        python -m bench.national_bench --rows 50000

The reconciliation runs inside the request (ledgers/national_views.py); its figure says
whether a county-size sheet fits in a request's time.
"""

import argparse
import io
import json
import os
import platform
import random
import sys
import time
from datetime import datetime
from pathlib import Path

from bench.import_export_bench import ledger_xlsx, rss_mib, setup_django

RESULTS = Path(__file__).resolve().parent / "results" / "national.json"
CHANGED, DROPPED, ADDED = 0.01, 0.01, 0.01  # of the rows: differ, only in Liudong, only in file


def build_roll(rows: int, *, seed: int):
    """A fresh bench branch with `rows` members (through the ledger import, as in
    bench.import_export_bench), and its secretary."""
    from django.test.utils import override_settings

    from bench.bench_tree import fresh_tree
    from ledgers.imports import apply_import

    user, branch = fresh_tree()
    content = ledger_xlsx(rows, seed=seed)
    with override_settings(IMPORT_MAX_ROWS=rows):
        result = apply_import(content=content, file_name="roll.xlsx", user=user)
    assert result.ok, result.issues[:5]
    return user, branch


def national_sheet_with_changes(exported: bytes, *, seed: int) -> tuple[bytes, dict]:
    """The exported sheet as the national system might hold it: a phone number changed in
    some rows, some rows gone, some people added (valid ID numbers of nobody here)."""
    from datetime import date

    from python_calamine import CalamineWorkbook

    from bench.import_export_bench import bench_national_id
    from infrastructure.xlsx import XlsxBook
    from ledgers.national.columns import HEADERS

    rng = random.Random(seed)
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(exported)).get_sheet_by_index(0)
    table = sheet.to_python()
    start = next(i for i, row in enumerate(table) if "公民身份号码" in [str(c) for c in row])
    header, body = table[start], table[start + 1 :]
    phone = header.index("联系电话")
    rows = [list(row) for row in body if any(str(c).strip() for c in row)]
    count = len(rows)
    dropped = set(rng.sample(range(count), int(count * DROPPED)))
    kept = [row for i, row in enumerate(rows) if i not in dropped]
    changed = rng.sample(kept, int(count * CHANGED))
    for row in changed:
        row[phone] = f"139{rng.randrange(10**8):08d}"
    number = header.index("公民身份号码")
    for n in range(int(count * ADDED)):
        extra = list(kept[n % len(kept)])
        extra[number] = bench_national_id(rng, date(1980 + n % 20, 1 + n % 12, 1 + n % 28), n % 2)
        kept.append(extra)
    book = XlsxBook()
    book.add_sheet("党员信息", HEADERS, ([*row] for row in kept))
    return book.to_bytes(), {
        "rows": len(kept),
        "changed": len(changed),
        "dropped": len(dropped),
        "added": int(count * ADDED),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=50000, help="members on the roll")
    parser.add_argument("--seed", type=int, default=20261207)
    parser.add_argument("--force", action="store_true", help="run on any database")
    args = parser.parse_args(argv)

    setup_django()
    from django.db import connection
    from django.test.utils import override_settings

    from ledgers.national import export, reconcile

    name = str(connection.settings_dict["NAME"])
    if not Path(name).name.startswith("liudong_bench") and not args.force:
        print(f"Refusing to run on database {name!r} (not liudong_bench*).", file=sys.stderr)
        return 2

    started = time.perf_counter()
    user, _branch = build_roll(args.rows, seed=args.seed)
    build_seconds = time.perf_counter() - started

    started = time.perf_counter()
    exported = export.export_xlsx(user=user)
    export_seconds = time.perf_counter() - started
    export_rss = rss_mib()

    sheet, made = national_sheet_with_changes(exported, seed=args.seed)
    started = time.perf_counter()
    with override_settings(NATIONAL_RECONCILE_MAX_ROWS=max(made["rows"], 50000)):
        outcome = reconcile.reconcile(user=user, content=sheet, file_name="national.xlsx")
    reconcile_seconds = time.perf_counter() - started
    started = time.perf_counter()
    download = reconcile.result_xlsx(outcome)
    download_seconds = time.perf_counter() - started

    found = {
        "identical": outcome.identical,
        "differences": len(outcome.differences),
        "only_in_file": len(outcome.only_in_file),
        "only_in_liudong": len(outcome.only_in_liudong),
        "broken": len(outcome.broken),
    }
    # The bench proves what it times: every change it made is found, nothing else.
    assert found["differences"] == made["changed"], (found, made)
    assert found["only_in_file"] == made["added"], (found, made)
    assert found["only_in_liudong"] == made["dropped"], (found, made)
    assert found["broken"] == 0, outcome.broken[:5]

    result = {
        "database": f"{connection.vendor} {name}",
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "when": datetime.now().isoformat(timespec="seconds"),
        "roll": args.rows,
        "build_seconds": round(build_seconds, 1),
        "export": {
            "seconds": round(export_seconds, 2),
            "rows_per_s": round(args.rows / export_seconds),
            "mib": round(len(exported) / 2**20, 2),
            "peak_rss_mib": round(export_rss),
        },
        "reconcile": {
            "sheet_rows": made["rows"],
            "sheet_mib": round(len(sheet) / 2**20, 2),
            "seconds": round(reconcile_seconds, 2),
            "rows_per_s": round(made["rows"] / reconcile_seconds),
            "download_seconds": round(download_seconds, 2),
            "download_kib": round(len(download) / 1024),
            "peak_rss_mib": round(rss_mib()),
            "found": found,
        },
    }
    print(json.dumps(result, ensure_ascii=False, indent=2))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    stored = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    stored[str(args.rows)] = result
    RESULTS.write_text(json.dumps(stored, ensure_ascii=False, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
