"""The import benchmark's own tree (基准测试县) in the bench database: made afresh for each
measurement, and everything an earlier run left there removed first (bench.import_export_bench).
"""

ROOT_NAME = "基准测试县委组织部"
BRANCH_NAME = "基准测试县城关镇东街社区党支部"
BRANCH_CODE = "BENCH01"
BENCH_USER = "bench-reviewer"
EXTERNAL_PREFIX = "基准·"


# --- the bench tree --------------------------------------------------------------------------


def _referencing(target, tables: set[str]) -> list[tuple[object, str]]:
    """(model, column) of every foreign key to `target` from a table migrated here (the code
    may be ahead of the database), history tables' copies included."""
    from django.apps import apps

    found = []
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if meta.proxy or not meta.managed or meta.db_table not in tables:
            continue
        for field in meta.concrete_fields:
            if field.is_relation and field.related_model is target:
                found.append((model, field.column))
    return found


def _history_of(model):
    """The django-simple-history model of `model`, or None."""
    manager = getattr(model, "history", None)
    return getattr(manager, "model", None) if manager is not None else None


def _delete_rows(cursor, model, where: str, *, tables: set[str], done: set, depth: int = 0) -> None:
    """Delete `model`'s rows matching `where`, after every row that refers to them (rows that
    refer to those, too, a few levels down), and their history rows. `done`: the models whose
    rows in question are gone already (the members, when the tree goes)."""
    from django.db import connection

    quote = connection.ops.quote_name
    table, pk = quote(model._meta.db_table), quote(model._meta.pk.column)
    selected = f"SELECT {pk} FROM {table} WHERE {where}"  # noqa: S608 - names from the models
    if depth < 3:
        for child, column in _referencing(model, tables):
            if child is model or child in done:
                continue
            where_child = f"{quote(column)} IN ({selected})"
            _delete_rows(cursor, child, where_child, tables=tables, done=done, depth=depth + 1)
    history = _history_of(model)
    if history is not None and history._meta.db_table in tables:
        cursor.execute(
            f"DELETE FROM {quote(history._meta.db_table)} WHERE {pk} IN ({selected})"  # noqa: S608
        )
    cursor.execute(f"DELETE FROM {table} WHERE {where}")  # noqa: S608


def clean_bench_data() -> None:
    """Remove what earlier runs created: the bench tree, its members and everything that refers
    to them (their episodes, ledger records, baselines, history; alerts or snapshots a scan or
    the dashboard made since), and the external organisations the bench's ledgers named."""
    from django.db import connection, transaction

    from ledgers.models import ContactAttempt, LedgerRecord
    from members.models import EvidenceBaseline, ExternalOrganisation, Member, Organisation
    from transfers.models import MobilityEpisode

    roots = list(
        Organisation.objects.get_root_nodes().filter(name=ROOT_NAME).values_list("path", flat=True)
    )
    org_ids = [
        pk
        for path in roots
        for pk in Organisation.objects.filter(path__startswith=path).values_list("pk", flat=True)
    ]

    def table(model) -> str:
        return connection.ops.quote_name(model._meta.db_table)

    # Every foreign key here is DEFERRABLE INITIALLY DEFERRED: checked at the commit, when
    # both the referring and the referred rows are gone.
    tables = set(connection.introspection.table_names())
    with transaction.atomic(), connection.cursor() as cursor:
        if org_ids:
            orgs = ", ".join(str(int(pk)) for pk in org_ids)
            where = f"home_branch_id IN ({orgs})"
            _delete_rows(cursor, Member, where, tables=tables, done=set())
            where = f"id IN ({orgs})"
            _delete_rows(cursor, Organisation, where, tables=tables, done={Member})
        externals = list(
            ExternalOrganisation.objects.filter(name__startswith=EXTERNAL_PREFIX).values_list(
                "pk", flat=True
            )
        )
        if externals:
            where = f"id IN ({', '.join(str(int(pk)) for pk in externals)})"
            _delete_rows(cursor, ExternalOrganisation, where, tables=tables, done=set())
    if connection.vendor == "postgresql":  # no dead rows from earlier runs in the timings
        models = (ContactAttempt, LedgerRecord, MobilityEpisode, Member, ExternalOrganisation)
        vacuumed = [table(model) for model in (*models, EvidenceBaseline)]
        vacuumed += [table(model.history.model) for model in models[1:]]
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM ANALYZE {', '.join(vacuumed)}")


def build_bench_tree():
    """A county with one township and one branch, and a county reviewer to import as."""
    from django.contrib.auth.models import User

    from members.models import Organisation, StaffAssignment

    tree, kind = Organisation.objects, Organisation.Kind
    root = tree.add_root({"name": ROOT_NAME, "kind": kind.COUNTY, "code": "BENCH"})
    township = tree.add_child(root, {"name": "基准测试县城关镇党委", "kind": kind.COMMITTEE})
    branch = tree.add_child(
        township, {"name": BRANCH_NAME, "kind": kind.BRANCH, "code": BRANCH_CODE}
    )
    user, _ = User.objects.get_or_create(username=BENCH_USER)
    StaffAssignment.objects.update_or_create(
        user=user, defaults={"organisation": root, "role": StaffAssignment.Role.REVIEWER}
    )
    return user, branch


def fresh_tree():
    clean_bench_data()
    return build_bench_tree()
