from datetime import date

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from members.models import ExternalOrganisation
from transfers.models import MobilityEpisode


def episode(member, **fields):
    values = {"member": member, "mobility_type": "work", "left_on": date(2025, 3, 1)}
    values.update(fields)
    return MobilityEpisode.objects.create(**values)


def test_member_page_shows_current_and_past_episodes(client, county):
    member = county.member(county.branch_a)
    episode(member, left_on=date(2020, 1, 1), ended_on=date(2020, 9, 1), destination_city="成都市")
    episode(member, destination_province="广东省", destination_city="深圳市")
    client.force_login(county.secretary(county.branch_a))
    body = client.get(reverse("members:detail", args=[member.pk])).content.decode()
    mobility = body[body.index('id="mobility"') : body.index('id="history"')]
    assert "广东省 深圳市" in mobility
    assert "就业流动" in mobility
    assert "成都市" in mobility
    assert mobility.count("进行中") == 1


def test_one_current_episode_per_member_is_a_database_constraint(county):
    member = county.member(county.branch_a)
    episode(member)
    with pytest.raises(IntegrityError), transaction.atomic():
        episode(member, left_on=date(2025, 6, 1))
    episode(member, left_on=date(2019, 1, 1), ended_on=date(2019, 6, 1))
    assert member.mobility_episodes.count() == 2


def test_an_episode_has_one_inflow_side_only(county):
    member = county.member(county.branch_a)
    external = ExternalOrganisation.objects.create(name="深圳某党支部", region="广东省深圳市")
    with pytest.raises(IntegrityError), transaction.atomic():
        episode(member, inflow_organisation=county.branch_b, inflow_external=external)


def test_home_counts_mobile_members_in_scope(client, county):
    episode(county.member(county.branch_a))
    episode(county.member(county.branch_b))
    client.force_login(county.secretary(county.branch_a))
    assert client.get(reverse("home")).context["mobile_count"] == 1
