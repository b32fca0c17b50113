from django.db import connection

from members import crypto
from members.models import Member
from members.services import member_find_by_national_id


def test_the_database_column_never_holds_the_clear_number(county):
    member = county.member(county.branch_a)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT national_id, national_id_digest FROM members_member WHERE id = %s",
            [member.pk],
        )
        stored, digest = cursor.fetchone()
    assert member.national_id not in stored
    assert crypto.decrypt(stored) == member.national_id
    assert digest == crypto.digest(member.national_id)
    assert member.national_id not in digest


def test_history_rows_never_hold_the_number(county):
    member = county.member(county.branch_a)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM members_historicalmember")
        rows = cursor.fetchall()
    assert rows
    assert all(member.national_id not in str(row) for row in rows)


def test_the_number_reads_back_in_clear(county):
    member = county.member(county.branch_a)
    assert Member.objects.get(pk=member.pk).national_id == member.national_id


def test_exact_id_search_goes_through_the_digest(county):
    wanted = county.member(county.branch_a, name="李四")
    county.member(county.branch_a, name="王五")
    admin = county.user("root", county.county, "administrator")
    found = member_find_by_national_id(
        actor=admin, number=wanted.national_id.lower(), ip_address=None
    )
    assert found == wanted


def test_old_keys_still_decrypt_after_a_new_key_is_added(county, settings):
    member = county.member(county.branch_a)
    from cryptography.fernet import Fernet

    settings.FIELD_ENCRYPTION_KEYS = [
        Fernet.generate_key().decode(),
        *settings.FIELD_ENCRYPTION_KEYS,
    ]
    assert Member.objects.get(pk=member.pk).national_id == member.national_id
