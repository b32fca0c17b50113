"""Two people editing the same member: the second save never silently overwrites the first."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from ledgers.models import LedgerRecord
from members import conflicts, services
from members.forms import MemberForm
from members.models import Member
from transfers.models import MobilityEpisode


def edit_data(member: Member, **overrides) -> dict:
    data = {
        "name": member.name,
        "national_id_input": "",
        "gender": member.gender,
        "ethnicity": member.ethnicity,
        "birth_date": member.birth_date.isoformat(),
        "phone": member.phone,
        "email": member.email,
        "category": member.category,
        "joined_on": member.joined_on.isoformat(),
        "confirmed_on": member.confirmed_on.isoformat() if member.confirmed_on else "",
        "home_branch": member.home_branch_id,
        "status": member.status,
    }
    data.update(overrides)
    return data


def version_in(page: str) -> str:
    return re.search(r'name="version" value="(\d+)"', page).group(1)


@pytest.fixture
def two(county):
    county.first = county.secretary(county.branch_a, "wang")
    county.second = county.reviewer(county.township_a, "li")
    county.subject = county.member(county.branch_a, name="刘五", phone="13800000001")
    services.member_save(member=county.subject, actor=county.first)  # a first history row
    return county


def test_the_version_moves_with_every_save(two):
    before = conflicts.member_version(two.subject)
    services.member_save(member=two.subject, actor=two.first)
    assert conflicts.member_version(two.subject) > before


def test_a_stale_save_is_refused_and_writes_nothing(two):
    seen = conflicts.member_version(two.subject)
    theirs = Member.objects.get(pk=two.subject.pk)
    theirs.phone = "13800000002"
    services.member_save(member=theirs, actor=two.first, version=seen)

    mine = Member.objects.get(pk=two.subject.pk)
    mine.name = "刘武"
    mine.phone = "13800000001"
    history_rows = two.subject.history.count()
    with pytest.raises(services.EditConflict) as refused:
        services.member_save(member=mine, actor=two.second, version=seen)

    two.subject.refresh_from_db()
    assert (two.subject.name, two.subject.phone) == ("刘五", "13800000002")
    assert two.subject.history.count() == history_rows
    assert refused.value.version == conflicts.member_version(two.subject)
    [entry] = refused.value.entries
    assert entry.who == "wang"
    assert [(c.old, c.new) for c in entry.changes] == [("13800000001", "13800000002")]


def test_a_save_on_the_current_version_goes_through(two):
    seen = conflicts.member_version(two.subject)
    two.subject.phone = "13900000009"
    services.member_save(member=two.subject, actor=two.second, version=seen)
    two.subject.refresh_from_db()
    assert two.subject.phone == "13900000009"


def test_an_id_number_change_is_listed_masked(two):
    seen = conflicts.member_version(two.subject)
    old_number = two.subject.national_id
    theirs = Member.objects.get(pk=two.subject.pk)
    theirs.national_id = "11010519491231002X"
    services.member_save(member=theirs, actor=two.first)
    entries = conflicts.changes_since(member=two.subject, version=seen)
    shown = " ".join(f"{c.field} {c.old} {c.new}" for e in entries for c in e.changes)
    assert "••••" in shown
    assert old_number not in shown and "11010519491231002X" not in shown


def test_the_form_carries_the_version_it_was_opened_on(two):
    form = MemberForm(instance=two.subject, user=two.first)
    assert form["version"].value() == conflicts.member_version(two.subject)
    assert "version" not in MemberForm(user=two.first).fields  # adding a member: no version


def test_second_editor_sees_who_changed_what_and_keeps_their_input(client, two):
    url = reverse("members:edit", args=[two.subject.pk])
    client.force_login(two.first)
    first_version = version_in(client.get(url).content.decode())
    client.force_login(two.second)
    second_version = version_in(client.get(url).content.decode())
    assert first_version == second_version

    client.force_login(two.first)
    response = client.post(url, edit_data(two.subject, phone="13800000002", version=first_version))
    assert response.status_code == 302

    client.force_login(two.second)
    response = client.post(
        url, edit_data(two.subject, name="刘武", email="liu@example.org", version=second_version)
    )
    assert response.status_code == 200
    page = response.content.decode()
    conflict = page[page.index('id="conflict"') :]
    assert "wang" in conflict
    assert "13800000001 → 13800000002" in conflict
    assert response.context["form"].has_error("__all__", code="stale")
    # The input is kept, and the form now carries the newer version.
    assert 'value="刘武"' in page and 'value="liu@example.org"' in page
    assert version_in(page) == str(conflicts.member_version(two.subject))
    two.subject.refresh_from_db()
    assert (two.subject.name, two.subject.phone) == ("刘五", "13800000002")

    # Having seen it, the second editor saves again: their input on top of the first's.
    response = client.post(
        url,
        edit_data(two.subject, name="刘武", email="liu@example.org", version=version_in(page)),
    )
    assert response.status_code == 302
    two.subject.refresh_from_db()
    assert (two.subject.name, two.subject.phone, two.subject.email) == (
        "刘武",
        "13800000002",
        "liu@example.org",
    )


def test_a_ledger_import_in_between_is_a_conflict_too(two):
    """Bulk writes (the ledger import) record history, so they move the version as well."""
    from simple_history.utils import bulk_update_with_history

    seen = conflicts.member_version(two.subject)
    two.subject.phone = "13800000003"
    bulk_update_with_history([two.subject], Member, ["phone"], default_user=two.first)
    mine = Member.objects.get(pk=two.subject.pk)
    with pytest.raises(services.EditConflict):
        services.member_save(member=mine, actor=two.second, version=seen)


# --- the five-clears item edit ----------------------------------------------------------------


@pytest.fixture
def away(two):
    two.episode = MobilityEpisode.objects.create(
        member=two.subject,
        mobility_type="work",
        left_on=timezone.localdate() - timedelta(days=100),
        destination_province="广东省",
        destination_city="深圳市",
        occupation="电子厂工人",
        employer="甲厂",
    )
    return two


def seen_in(page: str) -> str:
    return re.search(r'name="seen" value="([^"]+)"', page).group(1)


def test_a_stale_ledger_item_edit_is_refused_with_the_change(client, away):
    url = reverse("ledgers:item_edit", args=[away.subject.pk, "occupation"])
    client.force_login(away.second)
    seen = seen_in(client.get(url).content.decode())

    client.force_login(away.first)
    response = client.post(url, {"occupation": "快递员", "employer": "乙公司"})
    assert response.status_code == 302

    client.force_login(away.second)
    response = client.post(url, {"occupation": "厨师", "employer": "丙饭店", "seen": seen})
    assert response.status_code == 200
    form = response.context["form"]
    assert form.has_error("__all__", code="stale")
    said = " ".join(form.non_field_errors())
    assert "电子厂工人 → 快递员" in said and "wang" in said
    away.episode.refresh_from_db()
    assert (away.episode.occupation, away.episode.employer) == ("快递员", "乙公司")
    page = response.content.decode()
    assert 'value="厨师"' in page  # the input is kept

    response = client.post(url, {"occupation": "厨师", "employer": "丙饭店", "seen": seen_in(page)})
    assert response.status_code == 302
    away.episode.refresh_from_db()
    assert away.episode.occupation == "厨师"


def test_a_confirmation_alone_is_not_a_conflict(client, away):
    url = reverse("ledgers:item_edit", args=[away.subject.pk, "conduct"])
    client.force_login(away.second)
    seen = seen_in(client.get(url).content.decode())
    client.force_login(away.first)
    client.post(reverse("ledgers:confirm", args=[away.subject.pk]), {"item": ["conduct"]})

    client.force_login(away.second)
    response = client.post(
        url, {"conduct_assessment": "good", "conduct_note": "表现好", "seen": seen}
    )
    assert response.status_code == 302
    assert LedgerRecord.objects.get(member=away.subject).conduct_note == "表现好"


def test_a_tampered_seen_value_is_treated_as_stale(client, away):
    url = reverse("ledgers:item_edit", args=[away.subject.pk, "contact"])
    client.force_login(away.first)
    response = client.post(url, {"phone": "13900001111", "seen": "forged"})
    assert response.context["form"].has_error("__all__", code="stale")
    away.subject.refresh_from_db()
    assert away.subject.phone == "13800000001"


@pytest.mark.django_db(transaction=True)
def test_two_saves_at_the_same_moment_one_wins_one_is_refused(county):
    """Both opened version v and save at once: the row lock lets one through, the other is told."""
    import threading

    from django.db import connection, connections

    from .conftest import require_service

    require_service("PostgreSQL", connection.vendor == "postgresql", "row locks need PostgreSQL")
    first = county.secretary(county.branch_a, "wang")
    second = county.reviewer(county.township_a, "li")
    subject = county.member(county.branch_a, name="刘五")
    services.member_save(member=subject, actor=first)
    seen = conflicts.member_version(subject)
    rows_before = subject.history.count()
    start = threading.Barrier(2)
    outcomes = []

    def save(actor, phone):
        try:
            mine = Member.objects.get(pk=subject.pk)
            mine.phone = phone
            start.wait()
            services.member_save(member=mine, actor=actor, version=seen)
            outcomes.append("saved")
        except services.EditConflict:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=save, args=(first, "13800000002")),
        threading.Thread(target=save, args=(second, "13800000003")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["refused", "saved"]
    assert subject.history.count() == rows_before + 1  # the winner's save only
