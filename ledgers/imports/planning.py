"""Planning what each row changes, and the whole file's plan: `plan_import`."""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from itertools import islice

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from infrastructure.xlsx import write_table_xlsx
from members import national_id, phone
from members.models import EvidenceBaseline, Member
from transfers.models import MobilityEpisode
from transfers.places import Destination, parse_destination

from ..models import LedgerRecord
from .api import (
    ImportPlan,
    RowIssue,
    RowPlan,
)
from .headers import (
    ALIASES,
    CANNOT_IMPORT_HERE,
    CONFIRMATION_FIELDS,
    DESTINATION_FIELDS,
    EPISODE_LABELS,
    EVIDENCE_FIELDS,
    HEADER_SEARCH_ROWS,
    ITEM_LABELS,
    LABEL,
    MEMBER_LABELS,
    MIN_KNOWN_HEADERS,
    PHONE_IN_TEXT,
    QUERY_CHUNK,
    REQUIRED_COLUMNS,
    normalise_text,
)
from .matching import (
    _Context,
    _Existing,
    _Externals,
    _file_issue,
    _lookup_existing,
    _Work,
)
from .notices import Mappings, UnnamedColumns, unread_columns
from .reading import (
    Unreadable,
    _data_rows,
    _kind_of,
    _open_table,
)
from .rows import (
    _check_evidence_after_joining,
    _parse_row,
    _Row,
)
from .values import mobility_type_of


def _under_18(born: date, joined: date) -> bool:
    return joined.year - born.year - ((joined.month, joined.day) < (born.month, born.day)) < 18


def _plan_member(row: _Row, member: Member | None, branch_id: int | None):
    """(values, changed fields): all values for a new member; the filled ones for an existing."""
    values = {
        "name": row.name or None,
        "gender": row.gender,
        "ethnicity": row.ethnicity,
        "birth_date": row.birth_date,
        "phone": row.phone,
        "category": row.category,
        "joined_on": row.joined_on,
        "confirmed_on": row.confirmed_on,
        "home_branch_id": branch_id,
    }
    if member is None:
        if row.number_valid:
            if values["gender"] is None:
                values["gender"] = (
                    Member.Gender.MALE if int(row.number[16]) % 2 else Member.Gender.FEMALE
                )
            if values["birth_date"] is None:
                values["birth_date"] = national_id.birth_date_of(row.number)
        values["ethnicity"] = values["ethnicity"] or "汉族"
        values["category"] = values["category"] or Member.Category.FULL
        for name in ("phone", "joined_on"):
            if values[name] is None and not row.has_issue(name):
                absent = "" if name in row.headers else "（文件中没有这一列）"
                row.error(name, f"新党员须填写{LABEL[name]}{absent}")
        final = values
    else:
        final = {
            name: (value if value is not None else getattr(member, name))
            for name, value in values.items()
        }
    born, joined, confirmed = final["birth_date"], final["joined_on"], final["confirmed_on"]
    touched = row.birth_date or row.joined_on
    if born and joined and touched and _under_18(born, joined):
        row.error(
            "joined_on",
            f"入党时未满18周岁（出生日期 {born.isoformat()}，入党日期 {joined.isoformat()}）：请检查这两个日期",
        )
    if confirmed and joined and (row.confirmed_on or row.joined_on) and confirmed <= joined:
        row.error("confirmed_on", "转正日期应晚于入党日期")
    if final["category"] == Member.Category.PROBATIONARY and confirmed:
        if row.confirmed_on:
            row.error(
                "confirmed_on", "预备党员还没有转正日期：人员类别为“预备党员”时请不要填写转正日期"
            )
        else:
            row.error("category", "该党员已有转正日期，不能改为预备党员")
    if member is None:
        return values, []
    changed = [
        name
        for name, value in values.items()
        if value is not None and getattr(member, name) != value
    ]
    return values, changed


def _inflow_of(row: _Row, ctx: _Context, destination: Destination | None):
    """("org", id) | ("ext", ExternalOrganisation) | ("new", key) for the 流入党组织 cell.

    An internal organisation by exact name; else an external one by name, or by
    "name（region）" as the exporter writes it; else a new external organisation, one per
    name in the file (its region is where the first row naming it is).
    """
    text = row.inflow
    internal = ctx.internal_by_name.get(text, [])
    if len(internal) == 1:
        return "org", internal[0]
    externals = ctx.externals
    name, region = text, ""
    match = re.fullmatch(r"(.+?)\s*\(([^()]*)\)", text)
    if match and text not in externals.by_name and text not in externals.new_by_name:
        name, region = match.group(1).strip(), match.group(2).strip()
        internal = ctx.internal_by_name.get(name, [])
        if len(internal) == 1:
            return "org", internal[0]
    where = (destination.region if destination else "") or row.destination_text or "未知"
    if region:
        if (name, region) in externals.by_key:
            return "ext", externals.by_key[(name, region)]
    else:
        same_name = externals.by_name.get(name, [])
        if same_name:
            chosen = next((o for o in same_name if normalise_text(o.region) == where), None)
            return "ext", chosen or same_name[0]
        if name in externals.new_by_name:
            return "new", externals.new_by_name[name]
    if len(name) > 100:
        row.error("inflow", "流入党组织名称过长：最多100个字")
        return None
    key = (name, (region or where)[:100])
    if key not in externals.new:
        person, number = _contact_of(row.inflow_contact)
        externals.new[key] = {
            "name": name,
            "region": key[1],
            "contact_person": person,
            "phone": number,
        }
        if not region:
            externals.new_by_name[name] = key
    return "new", key


def _contact_of(text: str) -> tuple[str, str]:
    """陈立新 0755-86012345 -> ("陈立新", "0755-86012345"); an unusable number is dropped."""
    if not text:
        return "", ""
    number = ""
    match = PHONE_IN_TEXT.search(text.replace(" ", ""))
    if match:
        try:
            number = phone.validate(match.group(0))
        except ValidationError:
            number = ""
        person = text.replace(match.group(0), "")
        if match.group(0) not in text:  # the number had spaces in it
            person = PHONE_IN_TEXT.sub("", text.replace(" ", ""))
    else:
        person = text
    person = re.sub(r"[\s:：,，;；/、()（）]+", " ", person).strip()
    return person[:50], number


def _plan_episode(row: _Row, work: _Work, ctx: _Context, current: MobilityEpisode | None):
    """Set work.episode/episode_fields; returns (changed items, episode labels)."""
    if not row.mobile:
        return set(), []
    if current is None and row.left_on is None:
        if not row.has_issue("left_on"):
            row.error(
                "left_on" if "left_on" in row.headers else "is_mobile",
                "流动党员须填写流出时间（如 2024-05-01）",
            )
        return set(), []
    mobility_type = mobility_type_of(row.mobility_text) if row.mobility_text else None
    values: dict[str, object] = {}
    if row.left_on is not None:
        values["left_on"] = row.left_on
    if mobility_type is not None:
        values["mobility_type"] = mobility_type
    destination = None
    if row.destination_text:
        kind = mobility_type or (current.mobility_type if current else "")
        destination = parse_destination(
            row.destination_text, abroad=kind == MobilityEpisode.Type.ABROAD
        )
        values.update(destination.as_fields())
    if row.occupation is not None:
        values["occupation"] = row.occupation
    inflow = _inflow_of(row, ctx, destination) if row.inflow else None
    if inflow is not None:
        how, target = inflow
        if how == "org":
            values["inflow_organisation_id"], values["inflow_external_id"] = target, None
        elif how == "ext":
            values["inflow_organisation_id"], values["inflow_external_id"] = None, target.pk
        else:
            values["inflow_organisation_id"] = values["inflow_external_id"] = None
            work.external_key = target
    if current is None:
        values.setdefault("mobility_type", MobilityEpisode.Type.WORK)
        work.episode_values = values
        work.episode_new = True
        changed_items = {"left", "where", "occupation"}
        return changed_items, ["新增流动记录"]
    changed = [name for name, value in values.items() if getattr(current, name) != value]
    if work.external_key is not None and "inflow_external_id" not in changed:
        changed.append("inflow_external_id")
    for name in changed:
        setattr(current, name, values[name])
    work.episode = current
    work.episode_fields = changed
    items, labels = set(), []
    if "left_on" in changed:
        items.add("left")
        labels.append(EPISODE_LABELS["left_on"])
    if "mobility_type" in changed:
        labels.append(EPISODE_LABELS["mobility_type"])
    if set(changed) & set(DESTINATION_FIELDS):
        items.add("where")
        labels.append(EPISODE_LABELS["destination"])
    if "occupation" in changed:
        items.add("occupation")
        labels.append(EPISODE_LABELS["occupation"])
    if {"inflow_organisation_id", "inflow_external_id"} & set(changed):
        labels.append(EPISODE_LABELS["inflow"])
    return items, labels


def _plan_record(row: _Row, work: _Work, record: LedgerRecord | None, changed_items: set, ctx):
    """Conduct and the five-clears confirmations the sheet vouches for."""
    filled = {
        "left": row.left_on is not None,
        "where": bool(row.destination_text),
        "occupation": bool(row.occupation),
        "contact": row.phone is not None,
        "conduct": row.conduct is not None,
    }
    values: dict[str, object] = {}
    if row.conduct is not None:
        assessment, note = row.conduct
        if record is None or (record.conduct_assessment, record.conduct_note) != (assessment, note):
            values["conduct_assessment"], values["conduct_note"] = assessment, note
            changed_items = changed_items | {"conduct"}
    confirmed = []
    for item, is_filled in filled.items():
        if not is_filled:
            continue
        never = record is None or getattr(record, CONFIRMATION_FIELDS[item][0]) is None
        if never or item in changed_items:
            on, by = CONFIRMATION_FIELDS[item]
            values[on], values[by] = ctx.today, ctx.user.pk
            confirmed.append(ITEM_LABELS[item])
    labels = ["思想动态"] if "conduct_note" in values else []
    if confirmed:
        labels.append("确认五清：" + "、".join(confirmed))
    if record is None:
        if values:
            work.record_values = values
            work.record_new = True
        return labels
    changed = [name for name, value in values.items() if getattr(record, name) != value]
    for name in changed:
        setattr(record, name, values[name])
    if changed:
        work.record, work.record_fields = record, changed
    return labels if changed else []


@dataclass
class _Prepared:
    plan: ImportPlan
    works: list[_Work] = field(default_factory=list)
    externals: _Externals | None = None


def _prepare(
    *,
    content: bytes,
    file_name: str,
    user,
    default_branch,
    for_writing: bool = False,
    skip: frozenset[int] = frozenset(),
) -> _Prepared:
    """The plan of every row (but the sheet rows in `skip`); for writing, the work of a clean
    plan too."""
    plan = ImportPlan(rows=[], file_issues=[])
    prepared = _Prepared(plan)
    try:
        table = _open_table(content, file_name)
    except Unreadable as error:
        plan.file_issues.append(_file_issue(str(error)))
        return prepared
    if table is None:
        plan.file_issues.append(
            _file_issue(
                f"找不到表头：前{HEADER_SEARCH_ROWS}行中没有一行同时包含“姓名”和至少"
                f"{MIN_KNOWN_HEADERS}个台账列名（如“公民身份号码”“手机号码”“流出时间”）"
            )
        )
        return prepared
    for name in REQUIRED_COLUMNS:
        if name not in table.columns:
            others = "、".join(f"“{alias}”" for alias in ALIASES[name][1:3])
            also = f"（也可写作{others}）" if others else ""
            plan.file_issues.append(_file_issue(f"缺少“{LABEL[name]}”列{also}", LABEL[name]))
    today = timezone.localdate()
    plan.today = today
    plan.unread_columns = unread_columns(table)
    plan.evidence_columns = [name for name in EVIDENCE_FIELDS if name in table.columns]
    ctx = _Context(user=user, default_branch=default_branch, today=today)
    if default_branch is not None and default_branch.pk not in ctx.branch_ids:
        plan.file_issues.append(
            _file_issue(f"所选的党组织“{default_branch.name}”不在您的管理范围内，或不是党支部")
        )
    elif default_branch is None and "branch" not in table.columns:
        plan.file_issues.append(
            _file_issue("文件中没有“所在党支部”列：请选择这些党员所在的党支部后再导入")
        )
    if plan.file_issues:
        return prepared

    from_xlsx = _kind_of(content, file_name) != "csv"  # a workbook: dates may be day numbers
    limit = settings.IMPORT_MAX_ROWS
    unnamed = UnnamedColumns(table)
    numbered = unnamed.watch(_data_rows(table))
    if skip:
        numbered = (item for item in numbered if item[0] not in skip)
    try:
        # Read one row past the limit and stop: a huge file costs no more than that.
        rows = [
            _parse_row(number, values, table, today, from_xlsx)
            for number, values in islice(numbered, limit + 1)
        ]
    except Unreadable as error:
        plan.file_issues.append(_file_issue(str(error)))
        return prepared
    if len(rows) > limit:
        plan.file_issues.append(
            _file_issue(
                f"文件超过{limit}行党员数据：请按党支部分成几个文件分别导入"
                f"（一个党支部的台账通常不过几千行）"
            )
        )
        return prepared
    if not rows:
        plan.file_issues.append(_file_issue("表头下面没有党员数据"))
        return prepared

    plan.unread_columns += unnamed.said()
    _same_number_twice(rows)
    mappings = Mappings(table)
    works: list[_Work] = []
    for start in range(0, len(rows), QUERY_CHUNK):  # a few queries per thousand rows
        chunk = rows[start : start + QUERY_CHUNK]
        existing = _lookup_existing(ctx, [row.digest for row in chunk if row.digest])
        for row in chunk:
            work = _plan_row(row, ctx, existing)
            masked = national_id.mask(row.number) if len(row.number) >= 8 else ""
            if row.issues:
                plan.rows.append(RowPlan(row.row, "error", row.name, masked, [], row.issues))
            elif work.member is None:
                plan.rows.append(RowPlan(row.row, "create", row.name, masked, [], []))
                works.append(work)
            elif work.writes:
                plan.rows.append(RowPlan(row.row, "update", row.name, masked, work.labels, []))
                works.append(work)
            else:
                plan.rows.append(RowPlan(row.row, "unchanged", row.name, masked, [], []))
            _plan_evidence(plan, row, work, existing)
            mappings.add(row)
            if not for_writing or plan.rows[-1].action == "error":
                works.clear()  # a preview, or a file that will not be written: keep nothing
                for_writing = False
        rows[start : start + QUERY_CHUNK] = [None] * len(chunk)
    plan.held_elsewhere = ctx.held_elsewhere
    plan.mappings = mappings.result()
    if plan.ok:
        prepared.works, prepared.externals = works, ctx.externals
    return prepared


def _same_number_twice(rows: list[_Row]) -> None:
    """An ID number on two rows breaks both: neither is imported, each names the other."""
    first_seen: dict[str, int] = {}  # digest -> index of its first row
    repeats: dict[int, list[int]] = {}  # that index -> the indexes of the rows repeating it
    for index, row in enumerate(rows):
        if row.digest:
            first = first_seen.setdefault(row.digest, index)
            if first != index:
                repeats.setdefault(first, []).append(index)
    del first_seen
    for first, later in repeats.items():
        head = rows[first]
        named = "、".join(str(rows[index].row) for index in later[:10])
        more = f"等{len(later)}行" if len(later) > 10 else "行"
        head.error("national_id", f"与第{named}{more}的公民身份号码重复：同一党员只能出现一次")
        head.digest = ""
        for index in later:
            rows[index].error(
                "national_id", f"与第{head.row}行的公民身份号码重复：同一党员只能出现一次"
            )
            rows[index].digest = ""


def _plan_evidence(plan: ImportPlan, row: _Row, work: _Work, existing: _Existing) -> None:
    """The row's evidence on its RowPlan, and the count of new members without it."""
    plan_row = plan.rows[-1]
    given = row.has_evidence
    if plan_row.action == "create":
        if not given:
            plan.evidence_missing += 1
        elif given < len(EVIDENCE_FIELDS):
            plan.evidence_partial += 1
    if not given:
        return
    plan_row.last_contact_on = row.last_contact_on
    plan_row.last_life_on = row.last_life_on
    plan_row.dues_paid_to = row.dues_paid_to
    member = work.member
    plan_row.evidence_unused = member is not None and member.pk not in existing.baselines


def _plan_row(row: _Row, ctx: _Context, existing: _Existing) -> _Work:
    """Check one row against the database and work out what it changes."""
    member = existing.editable.get(row.digest) if row.digest else None
    if row.digest and member is None and row.digest in existing.digests:
        # Held outside the user's scope: no more than that it cannot be imported here.
        row.error("national_id", CANNOT_IMPORT_HERE)
        ctx.held_elsewhere.append((existing.digests[row.digest], row.name))
    branch_id = None
    if row.branch:
        branch_id, problem = ctx.branch_of(row.branch)
        if problem:
            row.error("branch", problem)
    elif member is None and row.digest not in existing.digests:
        if ctx.default_branch is not None:
            branch_id = ctx.default_branch.pk
        else:
            row.error("branch", "所在党支部未填写，导入时也没有选择党支部")
    work = _Work(parsed=row)
    values, member_changes = _plan_member(row, member, branch_id)
    current = existing.episodes.get(member.pk) if member is not None else None
    changed_items, episode_labels = _plan_episode(row, work, ctx, current)
    if row.phone is not None and (member is None or "phone" in member_changes):
        changed_items.add("contact")
    record_labels = []
    if row.mobile and (current is not None or work.episode_new):
        record = existing.records.get(member.pk) if member is not None else None
        record_labels = _plan_record(row, work, record, changed_items, ctx)
    _check_evidence_after_joining(
        row, row.joined_on or (member.joined_on if member is not None else None)
    )
    contact_labels = []
    if row.lost:
        on = row.lost_on or ctx.today
        seen = existing.lost.get(member.pk, set()) if member is not None else set()
        already = (on in seen) if row.lost_on else bool(seen)
        if not already:
            work.contact_on = on
            contact_labels = ["失联记录"]
    if member is None:
        work.member_values = values
        return work
    for name in member_changes:
        setattr(member, name, values[name])
    work.member, work.member_fields = member, member_changes
    baseline_labels = _plan_baseline(
        row, work, existing.baselines.get(member.pk), existing.last_reached.get(member.pk)
    )
    work.labels = [MEMBER_LABELS[name] for name in member_changes]
    work.labels += episode_labels + record_labels + contact_labels + baseline_labels
    return work


def _plan_baseline(
    row: _Row, work: _Work, baseline: EvidenceBaseline | None, last_reached: date | None
) -> list[str]:
    """An existing member's baseline takes each of the sheet's dates that is later; a member
    without one keeps none (Liudong already held their records).

    最近联系时间 counts as later only if it is also later than the last successful contact
    recorded here: the exported ledger carries that date, and re-imports unchanged.
    """
    if baseline is None or not row.has_evidence:
        return []
    changed, labels = [], []
    for name, attname in EVIDENCE_FIELDS.items():
        on = getattr(row, attname)
        current = getattr(baseline, attname)
        if name == "last_contact" and last_reached is not None:
            current = max(current or last_reached, last_reached)
        if on is not None and (current is None or on > current):
            setattr(baseline, attname, on)
            changed.append(attname)
            labels.append(LABEL[name])
    if changed:
        work.baseline, work.baseline_fields = baseline, changed
    return labels


def errors_kept(issues: list[RowIssue], limit: int) -> list[dict]:
    """The problems stored with an import job: the first `limit`, then how many more."""
    kept = [issue.__dict__ for issue in issues[:limit]]
    if len(issues) > limit:
        more = len(issues) - limit
        kept.append({"row": None, "column": "", "message": f"另有{more}个问题，见预览中的问题清单"})
    return kept


def errors_xlsx(issues: list[RowIssue]) -> bytes:
    """Every problem of a file, to fix it row by row."""
    rows = ([issue.row or "", issue.column, issue.message] for issue in issues)
    return write_table_xlsx(["行", "列", "问题"], rows, title="导入问题清单")


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cycle collector off while a file is read, planned and written.

    An import makes several objects a cell and lets few go until it ends, so the collector's
    full passes walk the same millions of objects again and again: a quarter of the Python
    time of a 100,000-row import. Its objects hold no cycles that matter meanwhile: the peak
    memory of that import is the same with the collector off. (Nothing is done if the
    collector is off already, e.g. in an import around this one.)
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def plan_import(*, content: bytes, file_name: str, user, default_branch=None) -> ImportPlan:
    """Read, check and match the file. Writes nothing."""
    with collector_paused():
        return _prepare(
            content=content, file_name=file_name, user=user, default_branch=default_branch
        ).plan
