"""Issue #18, the ledger import's speed: the faster paths write and read what the slower did.

Rows are written without model instances (COPY on PostgreSQL), history is copied by the
database, lookups send one array instead of a parameter per value, the sheet's repeated texts
cross from the reading child once, and the cycle collector rests during an import. Also the
benchmark's own data: its people never share an ID number with the province's.
"""

import gc
import io
import random
from datetime import date, timedelta

import pytest
from django.db import connection
from django.utils import timezone
from openpyxl import Workbook

from bench import bench_tree
from bench import import_export_bench as bench
from ledgers import imports as importing
from ledgers.imports import headers, matching, planning, reading, writing
from ledgers.models import LedgerRecord
from members import crypto, national_id
from members.demo import REGION_CODES, make_national_id
from members.models import EvidenceBaseline, ExternalOrganisation, Member, Organisation
from transfers.models import MobilityEpisode

from .test_ledger_import import HEADERS, apply, ident, person, xlsx


@pytest.fixture
def secretary(county):
    return county.secretary(county.branch_a)


# --- the benchmark's people --------------------------------------------------------------------


def test_the_bench_people_never_share_an_id_number_with_the_province():
    """bench/province.py draws every number from members.demo.REGION_CODES; the import bench
    from region codes outside them, so on a province of any size no row is refused as held by
    another organisation."""
    numbers = [row[5] for row in bench.generate_rows(3000, seed=20261101)]
    assert len(set(numbers)) == len(numbers)
    for number in numbers:
        assert national_id.validate(number) == number  # valid, with the right check character
        assert number[:6] in bench.BENCH_REGION_CODES
        assert number[:6] not in REGION_CODES
    rng = random.Random(1)
    for _ in range(2000):  # the province's generator, as bench/province.py calls it
        born = date(1950, 1, 1) + timedelta(days=rng.randrange(19000))
        assert make_national_id(rng, born, rng.random() < 0.7)[:6] in REGION_CODES


@pytest.mark.django_db(transaction=True)  # VACUUM, on PostgreSQL, runs outside a transaction
def test_the_bench_removes_what_an_earlier_run_left_and_nothing_else(county):
    province_member = county.member(county.branch_a)
    user, branch = bench_tree.build_bench_tree()
    result = importing.apply_import(
        content=bench.ledger_xlsx(6, seed=3), file_name="bench.xlsx", user=user
    )
    assert result.ok and result.counts["create"] == 6
    assert EvidenceBaseline.objects.filter(member__home_branch=branch).count() == 6

    bench_tree.clean_bench_data()  # baselines, episodes, records, history, the tree, the externals

    assert list(Member.objects.values_list("pk", flat=True)) == [province_member.pk]
    assert not EvidenceBaseline.objects.exists()
    assert not MobilityEpisode.objects.exists() and not LedgerRecord.objects.exists()
    assert not Member.history.exclude(id=province_member.pk).exists()
    assert not Organisation.objects.filter(name__startswith="基准测试").exists()
    assert not ExternalOrganisation.objects.filter(
        name__startswith=bench_tree.EXTERNAL_PREFIX
    ).exists()
    assert Organisation.objects.filter(pk=county.branch_b.pk).exists()


# --- writing ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_rows_written_without_model_instances_take_the_model_defaults(county):
    number = ident(seq=5)
    before = timezone.now()
    [pk] = writing.copy_create(
        Member,
        [
            {
                "name": "王五",
                "gender": Member.Gender.MALE,
                "birth_date": date(1985, 3, 14),
                "national_id": number,
                "national_id_digest": crypto.digest(number),
                "phone": "13900139000",
                "joined_on": date(2010, 7, 1),
                "home_branch_id": county.branch_a.pk,
            }
        ],
        now=timezone.now(),
    )
    after = timezone.now()
    member = Member.objects.get(pk=pk)
    assert (member.ethnicity, member.category, member.status, member.email) == (
        "汉族",
        Member.Category.FULL,
        Member.Status.ACTIVE,
        "",
    )
    assert member.confirmed_on is None
    assert before <= member.created_at <= after and before <= member.updated_at <= after
    assert member.national_id == number
    with connection.cursor() as cursor:  # encrypted at rest, as a model's save writes it
        cursor.execute("SELECT national_id FROM members_member WHERE id = %s", [pk])
        (stored,) = cursor.fetchone()
    assert stored != number and crypto.decrypt(stored) == number

    [episode_pk] = writing.copy_create(
        MobilityEpisode,
        [{"member_id": pk, "left_on": date(2024, 5, 1), "mobility_type": "work"}],
        now=timezone.now(),
    )
    episode = MobilityEpisode.objects.get(pk=episode_pk)
    assert episode.is_fixed_place is False and episode.occupation == "" and episode.ended_on is None


@pytest.mark.django_db
def test_each_imported_row_has_one_history_row_with_its_values_and_importer(county, secretary):
    result = apply(xlsx([person(ident(seq=seq), 姓名=f"李{seq}") for seq in (1, 2, 3)]), secretary)
    assert result.applied and result.counts["create"] == 3
    fields = ("name", "national_id_digest", "birth_date", "phone", "home_branch_id", "joined_on")
    for member in Member.objects.all():
        [history] = member.history.all()
        assert (history.history_type, history.history_user) == ("+", secretary)
        assert [getattr(history, name) for name in fields] == [
            getattr(member, name) for name in fields
        ]
    for model in (MobilityEpisode, LedgerRecord):
        assert model.objects.count() == 3
        for obj in model.objects.all():
            [history] = obj.history.all()
            assert (history.history_type, history.history_user) == ("+", secretary)
            assert history.member_id == obj.member_id


@pytest.mark.django_db
def test_the_same_person_recorded_meanwhile_is_a_conflict_not_a_crash(
    county, secretary, monkeypatch
):
    """Between the plan and the write another branch records one of the file's people: the
    COPY meets the unique ID number and the import says so, writing nothing."""
    number = ident(seq=7)
    planned = writing._prepare

    def and_meanwhile(**kwargs):
        prepared = planned(**kwargs)
        county.member(county.branch_b, national_id=number)
        return prepared

    monkeypatch.setattr(writing, "_prepare", and_meanwhile)
    result = apply(xlsx([person(ident(seq=6)), person(number)]), secretary)
    assert not result.applied
    assert "没有导入任何数据" in result.file_issues[0].message
    assert list(Member.objects.values_list("national_id_digest", flat=True)) == [
        crypto.digest(number)
    ]


@pytest.mark.django_db
def test_the_cycle_collector_rests_during_an_import_and_wakes_after(county, secretary):
    assert gc.isenabled()
    seen = []
    apply(xlsx([person(ident(seq=1))]), secretary, progress=lambda *_: seen.append(gc.isenabled()))
    assert seen and not any(seen)
    assert gc.isenabled()

    def failing(*_):
        raise RuntimeError("progress failed")

    with pytest.raises(RuntimeError):
        apply(xlsx([person(ident(seq=2))]), secretary, progress=failing)
    assert gc.isenabled()  # back on after a failure too

    gc.disable()  # off already (an import around this one): left as it was
    try:
        assert apply(xlsx([person(ident(seq=3))]), secretary).applied
        assert not gc.isenabled()
    finally:
        gc.enable()


# --- matching ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_one_of_finds_what_in_finds(county):
    members = [county.member(county.branch_a) for _ in range(3)]
    digests = [member.national_id_digest for member in members] + ["0" * 64]
    found = Member.objects.filter(matching._one_of("national_id_digest", digests))
    assert sorted(found.values_list("pk", flat=True)) == sorted(member.pk for member in members)
    ids = [member.pk for member in members[:2]]
    found = Member.objects.filter(matching._one_of("pk", ids))
    assert sorted(found.values_list("pk", flat=True)) == sorted(ids)
    assert not Member.objects.filter(matching._one_of("pk", [])).exists()


@pytest.mark.django_db
def test_a_reimport_across_lookup_chunks_matches_every_row(county, secretary, monkeypatch):
    """Lookups a few rows at a time (a thousand in use): chunks of members known, new, and held
    by another branch are each matched as before."""
    monkeypatch.setattr(matching, "QUERY_CHUNK", 2)
    monkeypatch.setattr(planning, "QUERY_CHUNK", 2)
    known = [person(ident(seq=seq)) for seq in (1, 2, 3)]
    assert apply(xlsx(known), secretary).applied
    elsewhere = county.member(county.branch_b, national_id=ident(seq=9))
    rows = [*known, person(ident(seq=9)), person(ident(seq=4)), person(ident(seq=5))]
    result = importing.plan_import(content=xlsx(rows), file_name="台账.xlsx", user=secretary)
    assert [row.action for row in result.rows] == [
        "unchanged",
        "unchanged",
        "unchanged",
        "error",
        "create",
        "create",
    ]
    assert result.rows[3].issues[0].message == headers.CANNOT_IMPORT_HERE
    assert result.held_elsewhere == [(elsewhere.pk, "李四")]


# --- reading ---------------------------------------------------------------------------------------


def _book(rows: list[list]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_a_text_repeated_down_a_column_crosses_from_the_reader_once():
    content = _book(
        [["姓名", "所在党支部"], ["甲", "甲村党支部"], ["乙", "甲村党支部"], ["丙", "甲村党支部"]]
    )
    rows = list(next(reading._workbook_sheets(content, "xlsx")))
    branches = [values[1] for _number, values in rows[1:]]
    assert branches == ["甲村党支部"] * 3
    assert branches[0] is branches[1] is branches[2]
    assert [values[0] for _number, values in rows[1:]] == ["甲", "乙", "丙"]


def test_repeated_header_rows_are_skipped_however_written_and_names_are_not():
    content = _book(
        [
            ["姓名", "公民身份号码", "手机号码"],
            ["姓小明", "x", None],
            ["姓 名", "公民身份号码", None],
            ["姓名(必填)", None, None],
            ["＊姓名", None, None],
            ["名字", "y", None],
        ]
    )
    table = reading._open_table(content, "台账.xlsx")
    assert [values[0] for _number, values in reading._data_rows(table)] == ["姓小明", "名字"]


@pytest.mark.parametrize(
    "text",
    ["  李　四 ", "１３９００１３９０００", "Ａ\u00a0B", "", "x\ty\nz", "ｶﾞｯｺｳ", "甲村党支部"],
)
def test_a_text_cell_is_normalised_as_any_other_value(text):
    class Text(str):
        """Not exactly str: normalise_text takes its general path."""

    assert headers.normalise_text(text) == headers.normalise_text(Text(text))


@pytest.mark.django_db
def test_a_field_in_several_columns_takes_the_first_filled_and_names_it(county, secretary):
    """Most fields are read straight from their one column; one in several columns still takes
    the first filled one, and its errors name that column."""
    good = ident(seq=1)
    typo = good[:-1] + ("1" if good[-1] != "1" else "2")  # a wrong check character
    header = [*HEADERS, "身份证号"]
    result = apply(xlsx([person("", 身份证号=typo)], header), secretary)
    [issue] = result.issues
    assert (issue.column, issue.message) == ("身份证号", "校验码不正确，请检查号码是否输入有误。")
    result = apply(xlsx([person("", 身份证号=good)], header), secretary)
    assert result.applied
    assert Member.objects.get().national_id_digest == crypto.digest(good)
