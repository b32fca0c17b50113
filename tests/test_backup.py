"""Backup and restore: dump, restore into a fresh database, and every member is there with an
ID number the key still decrypts."""

import shutil
from io import StringIO

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from members import crypto
from members.models import Member

from .conftest import County, require_service


def pg_url(name: str) -> str:
    s = connection.settings_dict
    password = f":{s['PASSWORD']}" if s["PASSWORD"] else ""
    return f"postgres://{s['USER']}{password}@{s['HOST'] or 'localhost'}:{s['PORT'] or 5432}/{name}"


def pg_admin(sql: str) -> None:
    s = connection.settings_dict
    with psycopg.connect(
        dbname="postgres",
        user=s["USER"],
        password=s["PASSWORD"] or None,
        host=s["HOST"] or None,
        port=s["PORT"] or None,
        autocommit=True,
    ) as admin:
        admin.execute(sql)


@pytest.mark.django_db(transaction=True)
def test_dump_and_restore_into_a_fresh_postgresql_database(tmp_path):
    require_service(
        "PostgreSQL", connection.vendor == "postgresql", "the tests run on SQLite (no DATABASE_URL)"
    )
    require_service("pg_dump", bool(shutil.which("pg_dump") and shutil.which("pg_restore")))
    county = County()
    for n in range(20):
        county.member((county.branch_a, county.branch_a2, county.branch_b)[n % 3], name=f"成员{n}")
    expected = {m.pk: (m.name, m.national_id) for m in Member.objects.all()}
    assert len(expected) == 20

    dump = tmp_path / "liudong.dump"
    call_command("backup_db", str(dump), stdout=StringIO())
    assert dump.read_bytes()[:5] == b"PGDMP"

    restored = f"{connection.settings_dict['NAME']}_restored"
    pg_admin(f'DROP DATABASE IF EXISTS "{restored}"')
    pg_admin(f'CREATE DATABASE "{restored}"')
    try:
        call_command("restore_db", str(dump), "--database-url", pg_url(restored), stdout=StringIO())
        s = connection.settings_dict
        with psycopg.connect(
            dbname=restored,
            user=s["USER"],
            password=s["PASSWORD"] or None,
            host=s["HOST"] or None,
            port=s["PORT"] or None,
        ) as copy:
            rows = copy.execute(
                "SELECT id, name, national_id, national_id_digest FROM members_member"
            ).fetchall()
    finally:
        pg_admin(f'DROP DATABASE IF EXISTS "{restored}" WITH (FORCE)')

    found = {pk: (name, crypto.decrypt(token)) for pk, name, token, _ in rows}
    assert found == expected
    # The digests came along, so exact search by number works in the restored copy.
    assert {digest for *_, digest in rows} == {crypto.digest(n) for _, n in expected.values()}


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite path")
@pytest.mark.django_db(transaction=True)
def test_sqlite_backup_is_a_readable_copy(tmp_path):
    import sqlite3

    county = County()
    member = county.member(county.branch_a)
    # The test database may be in memory: back up a file-based copy of it instead.
    source = tmp_path / "source.sqlite3"
    with sqlite3.connect(source) as target:
        connection.ensure_connection()
        connection.connection.backup(target)
    from members import backups

    backup = tmp_path / "backup.sqlite3"
    backups.backup(database={"ENGINE": backups.SQLITE, "NAME": str(source)}, outfile=backup)
    restored = tmp_path / "restored.sqlite3"
    call_command(
        "restore_db", str(backup), "--database-url", f"sqlite:///{restored}", stdout=StringIO()
    )
    with sqlite3.connect(restored) as copy:
        (token,) = copy.execute(
            "SELECT national_id FROM members_member WHERE id = ?", [member.pk]
        ).fetchone()
    assert crypto.decrypt(token) == member.national_id


def test_restore_refuses_a_dump_of_the_wrong_kind(tmp_path):
    dump = tmp_path / "liudong.dump"
    dump.write_bytes(b"PGDMP\x01\x0e\x00")
    with pytest.raises(CommandError, match="PostgreSQL dump"):
        call_command(
            "restore_db", str(dump), "--database-url", f"sqlite:///{tmp_path / 'x.sqlite3'}"
        )


def test_restore_needs_a_target(tmp_path):
    with pytest.raises(CommandError, match="database-url"):
        call_command("restore_db", str(tmp_path / "none.dump"))
