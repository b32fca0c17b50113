"""Re-encrypt every encrypted column under the first key of FIELD_ENCRYPTION_KEY.

A rotation: put the new key first, keep the old one after it ("NEW,OLD"), restart, run this
command, check with --check, then drop the old key. Rows a running site writes meanwhile are
already under the new key; old rows stay readable throughout. The ID-number digest beside an
encrypted column (and in its history) is keyed by the first key too, so it is recomputed.
"""

from cryptography.fernet import InvalidToken
from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.models import Model

from members import crypto
from members.fields import EncryptedTextField


def encrypted_columns() -> list[tuple[type[Model], str, str | None]]:
    """(model, encrypted column, digest column or None) for every EncryptedTextField."""
    found = []
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        for field in model._meta.concrete_fields:
            if isinstance(field, EncryptedTextField):
                names = {f.name: f.column for f in model._meta.concrete_fields}
                found.append((model, field.column, names.get(f"{field.name}_digest")))
    return found


def _batches(model: type[Model], column: str, digest_column: str | None, size: int):
    """Raw (pk, token, digest) rows by primary key: the clear text never goes through the ORM."""
    quote = connection.ops.quote_name
    table, pk = quote(model._meta.db_table), quote(model._meta.pk.column)
    digest = quote(digest_column) if digest_column else "NULL"
    last = None
    while True:
        where = "" if last is None else f"WHERE {pk} > %s"
        sql = (
            f"SELECT {pk}, {quote(column)}, {digest} FROM {table} {where} "  # noqa: S608 - quoted names
            f"ORDER BY {pk} LIMIT %s"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, ([] if last is None else [last]) + [size])
            rows = cursor.fetchall()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted column (and recompute the ID-number digests) under the "
        "first key of FIELD_ENCRYPTION_KEY. Safe to run again; --check only counts."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--check",
            action="store_true",
            help="Change nothing; report rows still under an old key and fail if there are any.",
        )
        parser.add_argument("--batch-size", type=int, default=1000)

    def handle(self, *args, check: bool, batch_size: int, **options):
        behind = unreadable = 0
        for model, column, digest_column in encrypted_columns():
            label = f"{model._meta.label}.{column}"
            changed = failed = 0
            for rows in _batches(model, column, digest_column, batch_size):
                updates, history_moves = [], []
                for pk, token, digest in rows:
                    if not token:
                        continue
                    try:
                        plain = crypto.decrypt(token)
                    except InvalidToken:
                        failed += 1
                        continue
                    new_digest, *old_digests = crypto.digests(plain)
                    # Edits during the rotation left history rows under old-key digests too.
                    history_moves += [(new_digest, old) for old in old_digests]
                    if crypto.under_first_key(token) and digest in (None, new_digest):
                        continue
                    if not crypto.under_first_key(token):
                        token = crypto.rotate(token)
                    updates.append((pk, token, new_digest))
                changed += len(updates)
                if not check:
                    self._write(model, column, digest_column, updates, history_moves)
            behind += changed
            unreadable += failed
            verb = "still under an old key" if check else "re-encrypted"
            self.stdout.write(f"{label}: {changed} rows {verb}")
            if failed:
                self.stderr.write(f"{label}: {failed} rows that no listed key decrypts")
        if unreadable:
            raise CommandError(f"{unreadable} rows cannot be decrypted with any listed key.")
        if check and behind:
            raise CommandError(f"{behind} rows are not under the first key yet.")

    @staticmethod
    def _write(model, column, digest_column, updates, history_moves) -> None:
        quote = connection.ops.quote_name
        table, pk = quote(model._meta.db_table), quote(model._meta.pk.column)
        with transaction.atomic(), connection.cursor() as cursor:
            if updates and digest_column is None:
                cursor.executemany(
                    f"UPDATE {table} SET {quote(column)} = %s WHERE {pk} = %s",  # noqa: S608
                    [(token, row_pk) for row_pk, token, _ in updates],
                )
            elif updates:
                cursor.executemany(
                    f"UPDATE {table} SET {quote(column)} = %s, {quote(digest_column)} = %s "  # noqa: S608
                    f"WHERE {pk} = %s",
                    [(token, digest, row_pk) for row_pk, token, digest in updates],
                )
            # History rows keep the digest of the number they recorded: move it to the new key.
            history = getattr(model, "history", None)
            if digest_column and history is not None and history_moves:
                cursor.executemany(
                    f"UPDATE {quote(history.model._meta.db_table)} "  # noqa: S608
                    f"SET {quote(digest_column)} = %s WHERE {quote(digest_column)} = %s",
                    history_moves,
                )
