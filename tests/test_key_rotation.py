"""Rotating the field-encryption key: old rows stay readable meanwhile; afterwards the new key
alone reads everything, the digests follow, and a second run changes nothing."""

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection

from members import crypto
from members.models import Member

KEY_A = Fernet.generate_key().decode()
KEY_B = Fernet.generate_key().decode()


def raw_rows() -> dict[int, tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, national_id, national_id_digest FROM members_member")
        return {pk: (token, digest) for pk, token, digest in cursor.fetchall()}


def run(*args) -> str:

    out = StringIO()
    call_command("rotate_field_key", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def members_under_key_a(county, settings):
    settings.FIELD_ENCRYPTION_KEYS = [KEY_A]
    created = [county.member(county.branch_a, name=f"成员{n}") for n in range(5)]
    created[0].phone = "13900139000"
    created[0].save()  # a second history row for the same number
    return {m.pk: m.national_id for m in created}


def test_rotation_puts_every_row_under_the_new_key(members_under_key_a, settings):
    numbers = members_under_key_a
    settings.FIELD_ENCRYPTION_KEYS = [KEY_B, KEY_A]
    # During the rotation the old rows still read.
    assert {m.pk: m.national_id for m in Member.objects.all()} == numbers
    with pytest.raises(CommandError, match="5 rows"):
        run("--check")

    assert "5 rows re-encrypted" in run("--batch-size", "2")
    run("--check")

    settings.FIELD_ENCRYPTION_KEYS = [KEY_B]
    assert {m.pk: m.national_id for m in Member.objects.all()} == numbers
    for pk, (token, digest) in raw_rows().items():
        assert Fernet(KEY_B.encode()).decrypt(token.encode()).decode() == numbers[pk]
        assert digest == crypto.digest(numbers[pk])
    # Exact search by number finds each member under the new key.
    for pk, number in numbers.items():
        assert Member.objects.get(national_id_digest=crypto.digest(number)).pk == pk


def test_history_digests_follow_the_new_key(members_under_key_a, settings):
    settings.FIELD_ENCRYPTION_KEYS = [KEY_B, KEY_A]
    run()
    settings.FIELD_ENCRYPTION_KEYS = [KEY_B]
    for member in Member.objects.all():
        assert set(member.history.values_list("national_id_digest", flat=True)) == {
            member.national_id_digest
        }


def test_rotation_is_idempotent(members_under_key_a, settings):
    settings.FIELD_ENCRYPTION_KEYS = [KEY_B, KEY_A]
    run()
    before = raw_rows()
    assert "0 rows re-encrypted" in run()
    assert raw_rows() == before


def test_check_changes_nothing(members_under_key_a, settings):
    before = raw_rows()
    settings.FIELD_ENCRYPTION_KEYS = [KEY_B, KEY_A]
    with pytest.raises(CommandError):
        run("--check")
    assert raw_rows() == before


def test_rows_no_key_reads_are_reported(members_under_key_a, settings):
    settings.FIELD_ENCRYPTION_KEYS = [KEY_B]  # the old key dropped too early
    with pytest.raises(CommandError, match="cannot be decrypted"):
        run()
