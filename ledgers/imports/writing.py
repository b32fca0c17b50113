"""Writing a clean plan in one transaction, with COPY and bulk history: `apply_import`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from infrastructure.bulk_copy import PLAIN
from infrastructure.bulk_history import HISTORY_ONLY, record_history
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
    collector_paused,
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


class _Columns:
    """How a model's new rows, given as {attname: value}, become its table's columns: every
    other field takes its default, as a model instance would (decided once per model)."""

    def __init__(self, model, now: datetime):
        fields = [field for field in model._meta.concrete_fields if not field.primary_key]
        quote = connection.ops.quote_name
        self.table = quote(model._meta.db_table)
        self.columns = ", ".join(quote(field.column) for field in [model._meta.pk, *fields])
        self.pairs = []  # (attname, the value when the row does not give one)
        self.per_row = []  # (position, field): a default to make for each row
        self.converted = []  # (position, field): a value the field converts (the ID number)
        for position, field in enumerate(fields, start=1):
            if isinstance(field, models.DateTimeField) and (field.auto_now or field.auto_now_add):
                default = now
            elif isinstance(field, models.DateField) and (field.auto_now or field.auto_now_add):
                default = date.today()  # as DateField.pre_save
            elif field.has_default() and callable(field.default):
                default = None
                self.per_row.append((position, field))
            else:
                default = field.get_default()
            self.pairs.append((field.attname, default))
            if type(field) not in PLAIN:  # exact types: a subclass may convert
                self.converted.append((position, field))

    def values(self, pk: int, row: dict) -> list:
        get = row.get
        values = [pk, *[get(name, default) for name, default in self.pairs]]
        for position, field in self.per_row:
            if field.attname not in row:
                values[position] = field.get_default()
        for position, field in self.converted:
            values[position] = field.get_db_prep_save(values[position], connection)
        return values


def copy_create(model, rows: list[dict], *, now: datetime, batch_size: int = CHUNK) -> list[int]:
    """Insert `rows` ({attname: value}; other fields their defaults) and return their ids.

    On PostgreSQL by COPY, the ids taken from the table's sequence first, with no model
    instance made (building them was a fifth of an import); elsewhere by bulk_create.
    """
    if not rows:
        return []
    if connection.vendor != "postgresql":
        objs = [model(**row) for row in rows]
        model.objects.bulk_create(objs, batch_size=batch_size)
        return [obj.pk for obj in objs]
    meta = model._meta
    columns = _Columns(model, now)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, len(rows)],
        )
        ids = [pk for (pk,) in cursor.fetchall()]
        copying = cursor.cursor.copy(f"COPY {columns.table} ({columns.columns}) FROM STDIN")
        # A row someone else has just written (the same ID number) is Django's IntegrityError,
        # as from bulk_create: the import says it conflicted and writes nothing.
        with connection.wrap_database_errors, copying as copy:
            write, values = copy.write_row, columns.values
            for pk, row in zip(ids, rows, strict=True):
                write(values(pk, row))
    return ids


def _history(model, ids: list[int], *, user, when: datetime, history_type: str) -> None:
    """One history row per id, copied by the database from the rows just written (as
    record_history; on PostgreSQL the ids go as one array, not a parameter each)."""
    if not ids:
        return
    if connection.vendor != "postgresql":
        record_history(model, ids, user=user, when=when, history_type=history_type)
        return
    history_model = model.history.model
    quote = connection.ops.quote_name
    copied = ", ".join(
        quote(field.column)
        for field in history_model._meta.concrete_fields
        if field.attname not in HISTORY_ONLY and field.attname != "history_user_id"
    )
    sql = (
        f"INSERT INTO {quote(history_model._meta.db_table)} "  # noqa: S608 - names from the models
        f"({copied}, history_date, history_change_reason, history_type, history_user_id) "
        f"SELECT {copied}, %s, NULL, %s, %s FROM {quote(model._meta.db_table)} "
        f"WHERE {quote(model._meta.pk.column)} = ANY(%s)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [when, history_type, getattr(user, "pk", None), ids])


def _create(rows: list[dict], model, user, when) -> list[int]:
    ids = copy_create(model, rows, now=when, batch_size=CHUNK)
    _history(model, ids, user=user, when=when, history_type="+")
    return ids


def _update(objs: list, model, user, when, extra=()) -> None:
    """bulk_update grouped by the set of changed fields (smaller CASE lists), then history."""
    groups: dict[tuple[str, ...], list] = {}
    for obj, fields in objs:
        groups.setdefault(tuple(sorted(fields)), []).append(obj)
    for fields, group in groups.items():
        model.objects.bulk_update(group, [*fields, *extra], batch_size=CHUNK)
    if objs:
        ids = [obj.pk for obj, _ in objs]
        _history(model, ids, user=user, when=when, history_type="~")


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
        created = [work for work in chunk if work.member is None]
        member_ids = _create(
            [
                {
                    "national_id": work.parsed.number,
                    "national_id_digest": work.parsed.digest,
                    **work.member_values,
                }
                for work in created
            ],
            Member,
            user,
            now,
        )
        for work, member_id in zip(created, member_ids, strict=True):
            work.member_id = member_id
        changed_members = []
        for work in chunk:
            if work.member is not None:
                work.member_id = work.member.pk
                if work.member_fields:
                    work.member.updated_at = now
                    changed_members.append((work.member, work.member_fields))
        _update(changed_members, Member, user, now, extra=("updated_at",))

        new_episodes, changed_episodes, new_records, changed_records, contacts = [], [], [], [], []
        # every member the import creates: the day their records start, and the sheet's evidence
        new_baselines = [
            {
                "member_id": work.member_id,
                "since": today,
                "last_contact_on": work.parsed.last_contact_on,
                "last_life_on": work.parsed.last_life_on,
                "dues_paid_to": work.parsed.dues_paid_to,
                "source": source,
            }
            for work in created
        ]
        changed_baselines: dict[tuple[str, ...], list[EvidenceBaseline]] = {}
        for work in chunk:
            if work.episode_new:
                episode = {"member_id": work.member_id, **work.episode_values}
                if work.external_key is not None:
                    episode["inflow_external_id"] = external_ids[work.external_key]
                new_episodes.append(episode)
            elif work.episode_fields:
                if work.external_key is not None:
                    work.episode.inflow_external_id = external_ids[work.external_key]
                changed_episodes.append((work.episode, work.episode_fields))
            if work.record_new:
                new_records.append({"member_id": work.member_id, **work.record_values})
            elif work.record_fields:
                changed_records.append((work.record, work.record_fields))
            if work.baseline_fields:
                changed_baselines.setdefault(tuple(work.baseline_fields), []).append(work.baseline)
            if work.contact_on:
                contacts.append(
                    ContactAttempt(
                        member_id=work.member_id,
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
        copy_create(EvidenceBaseline, new_baselines, now=now, batch_size=CHUNK)
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
    with collector_paused():
        return _apply(
            content=content,
            file_name=file_name,
            user=user,
            default_branch=default_branch,
            progress=progress,
            skip_broken=skip_broken,
        )


def _apply(*, content, file_name, user, default_branch, progress, skip_broken) -> ImportPlan:
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
