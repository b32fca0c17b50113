from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from members.demo import make_national_id
from members.models import Member, SensitiveAccess

VALID_ID = "11010519491231002X"


def form_data(county, **overrides):
    data = {
        "name": "赵六",
        "national_id_input": VALID_ID,
        "gender": "F",
        "ethnicity": "汉族",
        "birth_date": "1949-12-31",
        "phone": "13700137000",
        "email": "",
        "category": "full",
        "joined_on": "1970-07-01",
        "confirmed_on": "1971-07-01",
        "home_branch": county.branch_a.pk,
        "status": "active",
    }
    data.update(overrides)
    return data


@pytest.fixture
def secretary_client(client, county):
    client.force_login(county.secretary(county.branch_a, "sec"))
    return client


def test_secretary_adds_a_member(secretary_client, county):
    response = secretary_client.post(reverse("members:create"), form_data(county))
    member = Member.objects.get(name="赵六")
    assert response.status_code == 302
    assert response.url == reverse("members:detail", args=[member.pk])
    assert member.national_id == VALID_ID
    assert member.history.first().history_user.username == "sec"


@pytest.mark.parametrize(
    ("overrides", "field", "fragment"),
    [
        ({"national_id_input": "110105194912310021"}, "national_id_input", "校验码"),
        ({"birth_date": "1950-01-01"}, "birth_date", "不一致"),
        ({"birth_date": "1949-02-30"}, "birth_date", "有效的日期"),
        ({"phone": "12345"}, "phone", "手机"),
        ({"joined_on": "1960-01-01", "confirmed_on": ""}, "joined_on", "18"),
        ({"category": "probationary"}, "confirmed_on", "预备党员"),
        ({"confirmed_on": "1969-01-01"}, "confirmed_on", "入党日期"),
        ({"joined_on": "2999-01-01", "confirmed_on": ""}, "joined_on", "晚于今天"),
    ],
)
def test_bad_input_is_refused_next_to_the_field_in_chinese(
    secretary_client, county, overrides, field, fragment
):
    response = secretary_client.post(reverse("members:create"), form_data(county, **overrides))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors, errors
    assert fragment in " ".join(errors[field])
    assert not Member.objects.filter(name="赵六").exists()


def test_a_duplicate_id_number_is_refused(secretary_client, county):
    county.member(county.branch_a, national_id=VALID_ID, birth_date=date(1949, 12, 31))
    response = secretary_client.post(reverse("members:create"), form_data(county))
    # The secretary holds that member: the message may say so (tests/test_side_doors.py
    # covers a number held elsewhere, which is not named).
    assert "已有党员登记" in " ".join(response.context["form"].errors["national_id_input"])


def test_editing_keeps_the_id_number_when_left_blank(secretary_client, county):
    member = county.member(county.branch_a)
    data = form_data(
        county,
        national_id_input="",
        birth_date=member.birth_date.isoformat(),
        joined_on="2010-07-01",
        confirmed_on="2011-07-01",
        phone="13611112222",
    )
    response = secretary_client.post(reverse("members:edit", args=[member.pk]), data)
    assert response.status_code == 302, response.context["form"].errors
    member.refresh_from_db()
    assert member.phone == "13611112222"
    assert member.national_id == Member.objects.get(pk=member.pk).national_id


def test_edit_form_never_shows_the_clear_number(secretary_client, county):
    member = county.member(county.branch_a)
    body = secretary_client.get(reverse("members:edit", args=[member.pk])).content.decode()
    assert member.national_id not in body
    assert member.national_id_masked in body


def test_pages_show_the_number_masked(secretary_client, county):
    member = county.member(county.branch_a)
    for url in [reverse("members:list"), reverse("members:detail", args=[member.pk])]:
        body = secretary_client.get(url).content.decode()
        assert member.national_id not in body
        assert member.national_id_masked in body


def test_showing_the_number_is_logged(secretary_client, county):
    member = county.member(county.branch_a)
    response = secretary_client.post(reverse("members:reveal_national_id", args=[member.pk]))
    assert member.national_id in response.content.decode()
    entry = SensitiveAccess.objects.get()
    assert (entry.member, entry.user.username, entry.action) == (
        member,
        "sec",
        SensitiveAccess.Action.REVEAL_NATIONAL_ID,
    )


def test_showing_the_number_needs_a_post(secretary_client, county):
    member = county.member(county.branch_a)
    response = secretary_client.get(reverse("members:reveal_national_id", args=[member.pk]))
    assert response.status_code == 405
    assert not SensitiveAccess.objects.exists()


def test_history_shows_who_changed_what(secretary_client, county):
    member = county.member(county.branch_a, phone="13800000001")
    data = form_data(
        county,
        name=member.name,
        national_id_input="",
        birth_date=member.birth_date.isoformat(),
        joined_on="2010-07-01",
        confirmed_on="2011-07-01",
        gender="M",
        phone="13800000002",
    )
    secretary_client.post(reverse("members:edit", args=[member.pk]), data)
    body = secretary_client.get(reverse("members:detail", args=[member.pk])).content.decode()
    history = body[body.index('id="history"') :]
    assert "13800000001 → 13800000002" in history
    assert "sec" in history
    assert member.national_id not in body


def test_list_filters_and_sorts(secretary_client, county):
    county.member(county.branch_a, name="甲", category="probationary", confirmed_on=None)
    county.member(county.branch_a, name="乙")
    response = secretary_client.get(reverse("members:list"), {"category": "probationary"})
    assert [m.name for m in response.context["page"]] == ["甲"]
    response = secretary_client.get(reverse("members:list"), {"sort": "-name"})
    assert [m.name for m in response.context["page"]] == sorted(["甲", "乙"], reverse=True)


def _list_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("members:list")).status_code == 200
    return len(queries)


def test_member_list_query_count_does_not_grow_with_rows(client, county):
    import random

    client.force_login(county.reviewer(county.county))
    county.member(county.branch_a)
    _list_queries(client)  # the first page of a session also asks about a second factor
    one = _list_queries(client)
    rng = random.Random(3)
    born = date(1980, 1, 1)
    branches = [county.branch_a, county.branch_a2, county.branch_b]
    Member.objects.bulk_create(
        [
            Member(
                name=f"党员{i}",
                gender="M",
                birth_date=born,
                national_id=(number := make_national_id(rng, born, True)),
                national_id_digest=f"{i:064d}",
                phone="13800138000",
                joined_on=date(2000, 1, 1),
                home_branch=branches[i % 3],
            )
            for i in range(120)
        ]
    )
    assert number
    many = _list_queries(client)
    assert one == many


def test_organisation_tree_counts_members_below(client, county):
    county.member(county.branch_a)
    county.member(county.branch_a2)
    client.force_login(county.reviewer(county.county))
    response = client.get(reverse("members:organisation_tree"))
    rows = {org.name: org for org in response.context["organisations"]}
    assert rows["甲镇党委"].subtree_members == 2
    assert rows["甲村党支部"].direct_members == 1
    assert rows["测试县委组织部"].subtree_members == 2


def test_home_lists_probation_that_has_ended(client, county):
    county.member(
        county.branch_a,
        name="待转正",
        category="probationary",
        confirmed_on=None,
        joined_on=date(2020, 1, 1),
    )
    county.member(
        county.branch_a,
        name="刚入党",
        category="probationary",
        confirmed_on=None,
        joined_on=date.today(),
    )
    client.force_login(county.secretary(county.branch_a))
    body = client.get(reverse("home")).content.decode()
    assert "待转正" in body
    assert "刚入党" not in body


def test_history_says_the_id_number_changed_without_showing_it(county):
    from members.selectors import member_history

    member = county.member(county.branch_a)
    old_number = member.national_id
    member.national_id = make_national_id(county._rng, member.birth_date, member.gender == "M")
    member.save()
    changes = member_history(member=member)[0].changes
    assert [(c.old, c.new) for c in changes if c.old == "••••"] == [("••••", "••••")]
    assert all(old_number not in (c.old + c.new) for c in changes)


def test_the_organisation_filter_lists_the_top_levels_and_the_chosen_one(client, county):
    client.force_login(county.reviewer(county.county))
    form = client.get(reverse("members:list")).context["form"]
    listed = {label.strip("\u3000") for _value, label in form.fields["branch"].widget.choices}
    assert {"测试县委组织部", "甲镇党委", "丙镇党委"} <= listed
    assert "甲村党支部" not in listed  # a branch two levels down is not listed
    form = client.get(reverse("members:list"), {"branch": county.branch_a.pk}).context["form"]
    listed = {label.strip("\u3000") for _value, label in form.fields["branch"].widget.choices}
    assert "甲村党支部" in listed and "乙村党支部" not in listed
    assert form.cleaned_data["branch"] == county.branch_a


@pytest.mark.parametrize("sort", ["name", "-name", "joined_on", "-joined_on", "branch"])
def test_the_member_list_walks_every_member_once_page_by_page(client, county, settings, sort):
    settings.MEMBER_LIST_PAGE_SIZE = 3
    rng_names = ["甲", "乙", "丙", "丁"]
    for i in range(11):  # equal names and dates, so the id must break the ties
        branch = county.branch_a if i % 2 else county.branch_a2
        county.member(branch, name=rng_names[i % 4], joined_on=date(2000 + i % 3, 7, 1))
    client.force_login(county.reviewer(county.county))
    seen, url, params = [], reverse("members:list"), {"sort": sort}
    while True:
        page = client.get(url, params).context["page"]
        assert page.count == 11 and page.start == len(seen) + 1
        seen += [member.pk for member in page]
        if not page.has_next:
            break
        params = {"sort": sort, "after": page.next_cursor}
    ordered = selectors_order(sort)
    assert seen == ordered  # every member once, in the list's order


def selectors_order(sort):
    from members.selectors import member_order

    return list(Member.objects.order_by(*member_order(sort)).values_list("pk", flat=True))


def test_a_tampered_cursor_shows_the_first_page(client, county):
    county.member(county.branch_a)
    client.force_login(county.reviewer(county.county))
    page = client.get(reverse("members:list"), {"after": "forged:cursor"}).context["page"]
    assert page.start == 1 and len(page) == 1


def test_a_member_without_history_has_an_empty_history(county):
    from members.selectors import member_history

    member = county.member(county.branch_a)
    member.history.all().delete()  # as after a COPY load
    assert member_history(member=member) == []


@pytest.mark.parametrize(
    ("viewer", "hosted"),
    [("home secretary", False), ("county reviewer", False), ("hosting secretary", True)],
)
def test_member_get_knows_who_only_hosts_the_member_without_asking_again(
    county, django_assert_num_queries, viewer, hosted
):
    """The member came through the user's scope with its home branch: the page's sections ask
    whether the user only hosts it (read-only) without another scope query (issue #18)."""
    from members.selectors import member_get, member_is_hosted_for
    from transfers.models import MobilityEpisode

    member = county.member(county.branch_a)
    MobilityEpisode.objects.create(
        member=member,
        mobility_type=MobilityEpisode.Type.WORK,
        left_on=date(2024, 3, 1),
        inflow_organisation=county.branch_b,
    )
    user = {
        "home secretary": lambda: county.secretary(county.branch_a),
        "county reviewer": lambda: county.reviewer(county.county),
        "hosting secretary": lambda: county.secretary(county.branch_b),
    }[viewer]()
    found = member_get(user=user, pk=member.pk)
    with django_assert_num_queries(0):
        assert member_is_hosted_for(user=user, member=found) is hosted
    # The same answer as asking the scope afresh.
    assert member_is_hosted_for(user=user, member=Member.objects.get(pk=member.pk)) is hosted


def test_history_names_the_home_branch_read_with_the_member(county, django_assert_num_queries):
    """A member who stayed in one branch: the history names it from the member's own join; a
    branch the member left is still looked up by name."""
    from members.selectors import member_get, member_history

    user = county.reviewer(county.county)
    stayed = county.member(county.branch_a)
    stayed.phone = "13900001111"
    stayed.save()
    member = member_get(user=user, pk=stayed.pk)
    with django_assert_num_queries(1):  # the history rows only
        entries = member_history(member=member)
    assert len(entries) == 2
    moved = county.member(county.branch_a2, phone="13900002222")
    moved.home_branch = county.branch_a
    moved.save()
    changes = member_history(member=member_get(user=user, pk=moved.pk))[0].changes
    assert ("乙村党支部", "甲村党支部") in [(c.old, c.new) for c in changes]
