"""Back up the whole database to a file (pg_dump -Fc on PostgreSQL; a copy on SQLite)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from members import backups


class Command(BaseCommand):
    help = (
        "Write a backup of the database in DATABASE_URL to OUTFILE: pg_dump's custom format "
        "on PostgreSQL (restore with restore_db), a consistent copy of the file on SQLite. "
        "ID numbers stay encrypted: keep FIELD_ENCRYPTION_KEY with the backups."
    )

    def add_arguments(self, parser):
        parser.add_argument("outfile", type=Path)

    def handle(self, *args, outfile: Path, **options):
        try:
            backups.backup(database=connections["default"].settings_dict, outfile=outfile)
        except backups.BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"Backup written to {outfile} ({outfile.stat().st_size:,} bytes).")
