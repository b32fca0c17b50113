"""Writing a clean plan in one transaction, with COPY and bulk history: `apply_import`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from django.db import IntegrityError, transaction
from django.utils import timezone

from infrastructure.bulk_copy import copy_create
from infrastructure.bulk_history import record_history
from members.models import EvidenceBaseline, ExternalOrganisation, Member
from transfers.models import MobilityEpisode

from ..models import ContactAttempt, LedgerRecord
from .api import (
    ImportPlan,
    RowPlan,
)
from .headers import (
    CHUNK,
    IMPORT_LOST_NOTE,
    IMPORT_SOURCE,
)
from .matching import (
    _Externals,
    _file_issue,
    _Work,
)
from .planning import (
    _prepare,
)

# --- writing ---------------------------------------------------------------------------------


def _create_externals(new: dict[tuple[str, str], dict], user) -> dict[tuple[str, str], int]:
    created: dict[tuple[str, str], int] = {}
    for key, values in new.items():
        organisation = ExternalOrganisation.objects.filter(
            name=values["name"], region=values["region"]
        ).first()
        if organisation is None:
            organisation = ExternalOrganisation(**values)
            organisation._history_user = user
            organisation.save()
        created[key] = organisation.pk
    return created


def _create(objs: list, model, user, when) -> None:
    if objs:
        copy_create(model, objs, batch_size=CHUNK)
        record_history(model, [obj.pk for obj in objs], user=user, when=when, history_type="+")


def _update(objs: list, model, user, when, extra=()) -> None:
    """bulk_update grouped by the set of changed fields (smaller CASE lists), then history."""
    groups: dict[tuple[str, ...], list] = {}
    for obj, fields in objs:
        groups.setdefault(tuple(sorted(fields)), []).append(obj)
    for fields, group in groups.items():
        model.objects.bulk_update(group, [*fields, *extra], batch_size=CHUNK)
    if objs:
        ids = [obj.pk for obj, _ in objs]
        record_history(model, ids, user=user, when=when, history_type="~")


def _write(
    works: list[_Work],
    externals: _Externals,
    *,
    user,
    progress,
    total: int,
    today: date,
    source: str,
) -> None:
    """Write the planned rows, CHUNK at a time; instances live only while their chunk is written."""
    now = timezone.now()
    external_ids = _create_externals(externals.new, user)
    count = len(works)
    for start in range(0, count, CHUNK):
        chunk = works[start : start + CHUNK]
        new_members, changed_members, created = [], [], []
        for work in chunk:
            if work.member is None:
                row = work.parsed
                work.member = Member(
                    national_id=row.number, national_id_digest=row.digest, **work.member_values
                )
                new_members.append(work.member)
                created.append(work)
            elif work.member_fields:
                work.member.updated_at = now
                changed_members.append((work.member, work.member_fields))
        _create(new_members, Member, user, now)
        _update(changed_members, Member, user, now, extra=("updated_at",))

        new_episodes, changed_episodes, new_records, changed_records, contacts = [], [], [], [], []
        # every member the import creates: the day their records start, and the sheet's evidence
        new_baselines = [
            EvidenceBaseline(
                member=work.member,
                since=today,
                last_contact_on=work.parsed.last_contact_on,
                last_life_on=work.parsed.last_life_on,
                dues_paid_to=work.parsed.dues_paid_to,
                source=source,
            )
            for work in created
        ]
        changed_baselines: dict[tuple[str, ...], list[EvidenceBaseline]] = {}
        for work in chunk:
            if work.episode_new:
                episode = MobilityEpisode(member=work.member, **work.episode_values)
                new_episodes.append(episode)
            elif work.episode_fields:
                episode = work.episode
                changed_episodes.append((episode, work.episode_fields))
            if work.external_key is not None:
                episode.inflow_external_id = external_ids[work.external_key]
            if work.record_new:
                new_records.append(LedgerRecord(member=work.member, **work.record_values))
            elif work.record_fields:
                changed_records.append((work.record, work.record_fields))
            if work.baseline_fields:
                changed_baselines.setdefault(tuple(work.baseline_fields), []).append(work.baseline)
            if work.contact_on:
                contacts.append(
                    ContactAttempt(
                        member=work.member,
                        on=work.contact_on,
                        channel=ContactAttempt.Channel.PHONE,
                        reached=False,
                        note=IMPORT_LOST_NOTE,
                        recorded_by=user,
                    )
                )
        _create(new_episodes, MobilityEpisode, user, now)
        _update(changed_episodes, MobilityEpisode, user, now)
        _create(new_records, LedgerRecord, user, now)
        _update(changed_records, LedgerRecord, user, now)
        if contacts:
            ContactAttempt.objects.bulk_create(contacts, batch_size=CHUNK)
        copy_create(EvidenceBaseline, new_baselines, batch_size=CHUNK)
        for fields, baselines in changed_baselines.items():  # the model keeps no history
            EvidenceBaseline.objects.bulk_update(baselines, list(fields), batch_size=CHUNK)
        works[start : start + CHUNK] = [None] * len(chunk)  # let the chunk's objects go
        if progress is not None:  # unchanged rows need no writes: count them along the way
            progress(round(total * min(start + CHUNK, count) / count), total)
    if progress is not None and not count:
        progress(total, total)


PASSES = 3  # plans of the rows still without errors, should rows break between them
CHANGED_MEANWHILE = (
    "导入期间，表中党员的数据被其他人修改，没有导入任何数据：请重新上传文件，查看预览后再导入"
)


def apply_import(
    *,
    content: bytes,
    file_name: str,
    user,
    default_branch=None,
    progress: Callable[[int, int], None] | None = None,
    skip_broken: bool = False,
) -> ImportPlan:
    """Plan again; if the plan is clean, write every row in one transaction, else nothing.

    With `skip_broken` (the user chose it on the preview) the rows without errors are written
    and the broken ones left out, each row whole: the rows without errors are planned again on
    their own, so nothing of a row left out (not even the region it gives a new external
    organisation) is written. The plan returned has every row, the ones left out as errors.
    """
    earlier: list[RowPlan] = []  # rows left out by the plans before this one
    for attempt in range(1, PASSES + 1):
        prepared = _prepare(
            content=content,
            file_name=file_name,
            user=user,
            default_branch=default_branch,
            for_writing=True,
            skip=frozenset(row.row for row in earlier),
        )
        plan = prepared.plan
        broken = [row for row in plan.rows if row.action == "error"]
        if not skip_broken or plan.file_issues or not broken or len(broken) == len(plan.rows):
            break  # clean: written below; else refused whole, or nothing left to import
        if attempt == PASSES:  # rows keep breaking: someone is changing these members now
            plan.file_issues.append(_file_issue(CHANGED_MEANWHILE))
            break
        earlier += broken
    if not plan.ok:
        return _with_rows_left_out(plan, earlier)
    try:
        with transaction.atomic():
            _write(
                prepared.works,
                prepared.externals,
                user=user,
                progress=progress,
                total=len(plan.rows),
                today=plan.today,
                source=IMPORT_SOURCE.format(file_name=file_name)[:200],
            )
        plan.applied = True
    except IntegrityError:
        plan.file_issues.append(
            _file_issue(
                "写入时与其他人同时进行的修改冲突（例如同一党员刚被录入），"
                "没有导入任何数据：请重新导入"
            )
        )
    return _with_rows_left_out(plan, earlier)


def _with_rows_left_out(plan: ImportPlan, earlier: list[RowPlan]) -> ImportPlan:
    """The last plan, with the rows the plans before it left out: every row of the file."""
    if earlier:
        plan.rows = sorted(plan.rows + earlier, key=lambda row: row.row)
    return plan
