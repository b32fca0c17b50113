"""Backup and restore of the whole database: pg_dump's custom format on PostgreSQL, an online
copy (SQLite's backup API) on SQLite. Used by the backup_db and restore_db commands.

A dump holds national ID numbers encrypted: keep FIELD_ENCRYPTION_KEY (every key listed) with
the backups, or they cannot be read back.
"""

import os
import shutil
import sqlite3
import subprocess  # noqa: S404 - pg_dump / pg_restore with argument lists, no shell
from pathlib import Path

POSTGRESQL = "django.db.backends.postgresql"
SQLITE = "django.db.backends.sqlite3"


class BackupError(Exception):
    pass


def _pg_command(program: str, database: dict) -> tuple[list[str], dict]:
    """The client program's connection arguments; the password travels in the environment."""
    path = shutil.which(program)
    if path is None:
        raise BackupError(f"{program} not found: install the PostgreSQL client tools.")
    args = [path, "--no-password"]
    for flag, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER")):
        if database.get(key):
            args += [flag, str(database[key])]
    env = {**os.environ}
    if database.get("PASSWORD"):
        env["PGPASSWORD"] = database["PASSWORD"]
    return args, env


def _run(args: list[str], env: dict) -> None:
    result = subprocess.run(args, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise BackupError(f"{Path(args[0]).name} failed: {result.stderr.strip()}")


def _sqlite_copy(source: str, target: str) -> None:
    """A consistent copy even while the site writes (unlike copying the file)."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


def backup(*, database: dict, outfile: Path) -> None:
    engine = database["ENGINE"]
    if engine == POSTGRESQL:
        args, env = _pg_command("pg_dump", database)
        _run([*args, "--format=custom", "--file", str(outfile), database["NAME"]], env)
    elif engine == SQLITE:
        _sqlite_copy(str(database["NAME"]), str(outfile))
    else:
        raise BackupError(f"No backup for the database engine {engine}.")


def restore(*, database: dict, infile: Path, clean: bool) -> None:
    """Restore into the database described; it must exist and be empty unless clean is set."""
    if not infile.is_file():
        raise BackupError(f"{infile} is not a file.")
    engine = database["ENGINE"]
    with infile.open("rb") as file:
        is_pg_dump = file.read(5) == b"PGDMP"
    if engine == POSTGRESQL:
        if not is_pg_dump:
            raise BackupError(f"{infile} is not a pg_dump custom-format file.")
        args, env = _pg_command("pg_restore", database)
        args += ["--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"]
        if clean:
            args += ["--clean", "--if-exists"]
        _run([*args, "--dbname", database["NAME"], str(infile)], env)
    elif engine == SQLITE:
        if is_pg_dump:
            raise BackupError(f"{infile} is a PostgreSQL dump; restore it into PostgreSQL.")
        target = Path(database["NAME"])
        if target.exists() and target.stat().st_size and not clean:
            raise BackupError(f"{target} exists and is not empty; pass --clean to replace it.")
        _sqlite_copy(str(infile), str(target))
    else:
        raise BackupError(f"No restore for the database engine {engine}.")
