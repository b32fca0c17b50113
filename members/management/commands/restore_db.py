"""Restore a backup made by backup_db into the database at --database-url."""

from pathlib import Path

import environ
from django.core.management.base import BaseCommand, CommandError

from members import backups


class Command(BaseCommand):
    help = (
        "Restore INFILE (from backup_db) into the database at --database-url, which must "
        "exist and be empty unless --clean is given. The target is named explicitly so that "
        "a restore never overwrites the running database by accident. Restore a PostgreSQL "
        "dump into PostgreSQL, a SQLite copy into SQLite."
    )

    def add_arguments(self, parser):
        parser.add_argument("infile", type=Path)
        parser.add_argument(
            "--database-url",
            required=True,
            help="Where to restore, e.g. postgres://user@host:5432/liudong_restored",
        )
        parser.add_argument(
            "--clean",
            action="store_true",
            help="Drop what the target already holds before restoring.",
        )

    def handle(self, *args, infile: Path, database_url: str, clean: bool, **options):
        try:
            database = environ.Env.db_url_config(database_url)
        except Exception as error:  # noqa: BLE001 - any unreadable URL gets the same message
            raise CommandError(f"Cannot read the database URL: {error}") from error
        try:
            backups.restore(database=database, infile=infile, clean=clean)
        except backups.BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"Restored {infile} into {database['NAME']}.")
