"""A secretary sees their branch; a reviewer their subtree; others' members do not exist (404)."""

import re

import pytest
from django.urls import reverse

from members.selectors import members_visible_to, organisations_visible_to


@pytest.fixture
def two_branches(county):
    county.ours = county.member(county.branch_a, name="甲党员")
    county.theirs = county.member(county.branch_b, name="丙党员", phone="13900139000")
    county.sec_a = county.secretary(county.branch_a)
    return county


@pytest.mark.parametrize("view", ["members:detail", "members:edit", "members:reveal_national_id"])
def test_secretary_gets_404_for_another_branchs_member(client, two_branches, view):
    client.force_login(two_branches.sec_a)
    url = reverse(view, args=[two_branches.theirs.pk])
    response = client.post(url) if view.endswith("national_id") else client.get(url)
    assert response.status_code == 404
    assert "丙党员" not in response.content.decode()


def test_secretary_can_open_their_own_member(client, two_branches):
    client.force_login(two_branches.sec_a)
    response = client.get(reverse("members:detail", args=[two_branches.ours.pk]))
    assert response.status_code == 200
    assert "甲党员" in response.content.decode()


def test_editing_another_branchs_member_by_post_changes_nothing(client, two_branches):
    client.force_login(two_branches.sec_a)
    response = client.post(
        reverse("members:edit", args=[two_branches.theirs.pk]), {"name": "被改了"}
    )
    assert response.status_code == 404
    two_branches.theirs.refresh_from_db()
    assert two_branches.theirs.name == "丙党员"


@pytest.mark.parametrize(
    "query",
    [{}, {"q": "丙党员"}, {"q": "13900139000"}, {"q": "党员"}, {"status": "active"}],
)
def test_lists_and_search_never_show_another_branch(client, two_branches, query):
    client.force_login(two_branches.sec_a)
    response = client.get(reverse("members:list"), query)
    listed = [member.name for member in response.context["page"]]
    assert "丙党员" not in listed
    assert reverse("members:detail", args=[two_branches.theirs.pk]) not in response.content.decode()
    if query.get("q") in (None, "党员"):
        assert listed == ["甲党员"]


def test_search_by_another_branchs_id_number_finds_nothing(client, two_branches):
    client.force_login(two_branches.sec_a)
    response = client.get(reverse("members:list"), {"q": two_branches.theirs.national_id})
    assert "丙党员" not in response.content.decode()
    assert response.context["page"].count == 0


def test_filtering_by_a_branch_out_of_scope_is_refused(client, two_branches):
    client.force_login(two_branches.sec_a)
    response = client.get(reverse("members:list"), {"branch": two_branches.branch_b.pk})
    assert response.status_code == 404  # refused, not silently ignored (#15)


def test_reviewer_sees_their_subtree_only(two_branches):
    township_reviewer = two_branches.reviewer(two_branches.township_a)
    county_reviewer = two_branches.reviewer(two_branches.county)
    assert set(members_visible_to(township_reviewer)) == {two_branches.ours}
    assert set(members_visible_to(county_reviewer)) == {two_branches.ours, two_branches.theirs}
    assert two_branches.township_b not in organisations_visible_to(township_reviewer)


def test_reviewer_gets_404_outside_their_subtree(client, two_branches):
    client.force_login(two_branches.reviewer(two_branches.township_a))
    assert client.get(reverse("members:detail", args=[two_branches.theirs.pk])).status_code == 404
    url = reverse("members:organisation_detail", args=[two_branches.branch_b.pk])
    assert client.get(url).status_code == 404


def test_user_without_an_assignment_sees_nothing(client, two_branches):
    from django.contrib.auth.models import User

    nobody = User.objects.create_user("nobody", password="x")
    assert not members_visible_to(nobody).exists()
    client.force_login(nobody)
    assert client.get(reverse("members:detail", args=[two_branches.ours.pk])).status_code == 404


def test_secretary_cannot_create_a_member_in_another_branch(client, two_branches):
    client.force_login(two_branches.sec_a)
    response = client.get(reverse("members:create"))
    branches = list(response.context["form"].fields["home_branch"].queryset)
    assert branches == [two_branches.branch_a]


def test_anonymous_users_are_sent_to_login(client, two_branches):
    for url in [reverse("home"), reverse("members:list"), reverse("members:organisation_tree")]:
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))


def test_a_page_reads_the_users_scope_once(client, two_branches):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(two_branches.sec_a)
    with CaptureQueriesContext(connection) as queries:
        page = client.get(reverse("members:detail", args=[two_branches.ours.pk]))
    assert page.status_code == 200
    scope_read = re.compile(
        r'AS "pk" FROM "members_organisation" WHERE "members_organisation"\."path"(::text)? LIKE'
    )
    scope_reads = [q["sql"] for q in queries.captured_queries if scope_read.search(q["sql"])]
    assert len(scope_reads) == 1, scope_reads


def test_require_all_editable_refuses_when_any_one_member_is_not_theirs(county):
    from infrastructure.steps import StepRefused
    from members.selectors import require_all_editable

    secretary = county.secretary(county.branch_a, "sec-all")
    mine, other = county.member(county.branch_a), county.member(county.branch_b)
    require_all_editable(secretary, {mine.pk})
    with pytest.raises(StepRefused):
        require_all_editable(secretary, {mine.pk, other.pk})
