"""Name search: the same answers on every database, through an index on PostgreSQL."""

import pytest
from django.db import connection

from members.models import Member
from members.name_search import filter_by_name
from tests.conftest import require_service

NAMES = ["张伟", "张伟明", "李明伟", "欧阳娜娜", "王芳", "Ayşe Smith", "买买提·艾力"]


@pytest.fixture
def named(county):
    for name in NAMES:
        county.member(county.branch_a, name=name)
    return county


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("张伟", {"张伟", "张伟明"}),  # two characters, at the start
        ("伟明", {"张伟明"}),  # in the middle of a name: order matters, 李明伟 has both
        ("明伟", {"李明伟"}),
        ("伟", {"张伟", "张伟明", "李明伟"}),  # one character
        ("娜娜", {"欧阳娜娜"}),  # a repeated character
        ("欧阳娜娜", {"欧阳娜娜"}),  # a whole name of four
        ("smith", {"Ayşe Smith"}),  # Latin letters, whatever the case
        ("·艾", {"买买提·艾力"}),
        ("张芳", set()),  # both characters occur, never together
        ("赵", set()),
    ],
)
def test_name_search_finds_exactly_the_names_containing_the_query(named, query, found):
    members = filter_by_name(Member.objects.all(), query=query)
    assert {member.name for member in members} == found


def test_name_search_reads_the_name_index_on_postgresql(named):
    require_service("PostgreSQL", connection.vendor == "postgresql", "the index is PostgreSQL's")
    members = filter_by_name(Member.objects.all(), query="张伟")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a handful of rows: force the choice
        plan = members.explain()
    assert "member_name_grams" in plan
