"""History rows for bulk writes, copied by the database from the rows just written.

django-simple-history's bulk helpers build one Python history object per row and send every
value back over the wire; for a 10,000-row import that was the largest single cost. Here the
history is one INSERT … SELECT per chunk: the same rows, the same columns, the same user and
time, none of it passing through Python.
"""

from datetime import datetime

from django.db import connection

HISTORY_ONLY = {"history_id", "history_date", "history_change_reason", "history_type"}


def record_history(model, ids: list[int], *, user, when: datetime, history_type: str) -> None:
    """Write one history row per id ("+" created, "~" changed), as simple-history would."""
    if not ids:
        return
    history_model = model.history.model
    quote = connection.ops.quote_name
    copied = [
        field.column
        for field in history_model._meta.concrete_fields
        if field.attname not in HISTORY_ONLY and field.attname != "history_user_id"
    ]
    columns = ", ".join(quote(column) for column in copied)
    sql = (
        f"INSERT INTO {quote(history_model._meta.db_table)} "  # noqa: S608 - names from the models
        f"({columns}, history_date, history_change_reason, history_type, history_user_id) "
        f"SELECT {columns}, %s, NULL, %s, %s FROM {quote(model._meta.db_table)} "
        f"WHERE {quote(model._meta.pk.column)} IN ({', '.join(['%s'] * len(ids))})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [when, history_type, getattr(user, "pk", None), *ids])
