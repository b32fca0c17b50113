"""学习打卡: publishing, the member's list and check-in, completion by branch."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from activities.models import Attendance
from ledgers.models import ContactAttempt
from selfservice import study
from selfservice.models import MemberMessage, StudyCheckIn, StudyItem
from tests.selfservice_helpers import sign_in
from transfers.models import MobilityEpisode

TODAY = timezone.localdate()


def away(member, **fields):
    return MobilityEpisode.objects.create(
        member=member,
        mobility_type="work",
        left_on=TODAY - timedelta(days=60),
        destination_province="广东省",
        **fields,
    )


class Scene:
    def __init__(self, county):
        self.county = county
        self.sec_a = county.secretary(county.branch_a)
        self.sec_b = county.secretary(county.branch_b)
        self.county_reviewer = county.reviewer(county.county)
        self.mobile_a = county.member(county.branch_a, name="李流动", phone="13900000001")
        self.mobile_a2 = county.member(county.branch_a, name="王流动", phone="13900000002")
        self.resident_a = county.member(county.branch_a, name="赵在家", phone="13900000003")
        self.mobile_b = county.member(county.branch_b, name="钱流动", phone="13900000004")
        for member in (self.mobile_a, self.mobile_a2, self.mobile_b):
            away(member)

    def item(self, organisation, *, audience=StudyItem.Audience.MOBILE, title="微党课第一讲"):
        return StudyItem.objects.create(
            organisation=organisation,
            audience=audience,
            title=title,
            body="学习内容",
            link="https://example.org/video/1",
            due_on=TODAY + timedelta(days=7),
            published_by=self.county_reviewer,
        )


@pytest.fixture
def scene(county):
    return Scene(county)


def publish_data(organisation, **changes):
    data = {
        "organisation": organisation.pk,
        "audience": StudyItem.Audience.MOBILE,
        "title": "学习二十大精神",
        "body": "请认真学习。",
        "link": "https://example.org/lesson",
        "due_on": (TODAY + timedelta(days=10)).isoformat(),
    }
    data.update(changes)
    return data


def test_publishing_tells_each_member_it_is_for(
    client, scene, django_capture_on_commit_callbacks, eager_celery
):
    client.force_login(scene.county_reviewer)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("selfservice:study_items"), publish_data(scene.county.county)
        )
    item = StudyItem.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("selfservice:study_item", args=[item.pk])
    told = MemberMessage.objects.filter(kind="study_published")
    assert {message.member_id for message in told} == {
        scene.mobile_a.pk,
        scene.mobile_a2.pk,
        scene.mobile_b.pk,
    }
    assert told.get(member=scene.mobile_a).key == f"study:{item.pk}:{scene.mobile_a.pk}"
    assert told.get(member=scene.mobile_a).values["title"] == "学习二十大精神"
    # A second run of the task sends nothing twice.
    study.notify_study_item(item.pk)
    assert told.count() == 3


def test_members_audience_reaches_residents_of_the_branch_only(scene):
    item = scene.item(scene.county.branch_a, audience=StudyItem.Audience.MEMBERS)
    assert set(study.members_for(item)) == {scene.mobile_a, scene.mobile_a2, scene.resident_a}


def test_due_date_in_the_past_is_refused(client, scene):
    client.force_login(scene.sec_a)
    data = publish_data(scene.county.branch_a, due_on=(TODAY - timedelta(days=1)).isoformat())
    response = client.post(reverse("selfservice:study_items"), data)
    assert response.status_code == 200
    assert response.context["form"].errors["due_on"]
    assert response.context["form"]["title"].value() == "学习二十大精神"  # nothing lost
    assert not StudyItem.objects.exists()


def test_publishing_outside_the_scope_is_refused(client, scene):
    client.force_login(scene.sec_a)
    response = client.post(reverse("selfservice:study_items"), publish_data(scene.county.branch_b))
    assert response.status_code == 200
    assert response.context["form"].errors["organisation"]
    assert not StudyItem.objects.exists()


def test_member_sees_only_items_meant_for_them(client, scene):
    for_branch = scene.item(
        scene.county.branch_a, audience=StudyItem.Audience.MEMBERS, title="本支部"
    )
    for_mobile = scene.item(scene.county.county, title="全县流动党员")
    other_branch = scene.item(
        scene.county.branch_b, audience=StudyItem.Audience.MEMBERS, title="丙村"
    )

    sign_in(client, scene.resident_a)
    page = client.get(reverse("selfservice:study_list")).content.decode()
    assert "本支部" in page and "全县流动党员" not in page and "丙村" not in page
    assert client.get(reverse("selfservice:study_detail", args=[for_mobile.pk])).status_code == 404

    sign_in(client, scene.mobile_a)
    page = client.get(reverse("selfservice:study_list")).content.decode()
    assert "本支部" in page and "全县流动党员" in page and "丙村" not in page
    assert client.get(reverse("selfservice:study_detail", args=[for_branch.pk])).status_code == 200
    response = client.post(reverse("selfservice:study_detail", args=[other_branch.pk]))
    assert response.status_code == 404
    assert not StudyCheckIn.objects.exists()


def test_the_link_does_not_leak_the_page_address(client, scene):
    item = scene.item(scene.county.county)
    sign_in(client, scene.mobile_a)
    page = client.get(reverse("selfservice:study_detail", args=[item.pk])).content.decode()
    assert '<a href="https://example.org/video/1" rel="noopener noreferrer"' in page


def test_check_in_end_to_end(client, scene, monkeypatch):
    item = scene.item(scene.county.county)
    changed = []
    monkeypatch.setattr(study, "evidence_changed", lambda member_ids: changed.append(member_ids))
    sign_in(client, scene.mobile_a)
    url = reverse("selfservice:study_detail", args=[item.pk])
    response = client.post(url, {"reflection": "  收获很大  "}, follow=True)
    assert "打卡成功" in response.content.decode()
    assert "已打卡" in response.content.decode()

    done = StudyCheckIn.objects.get()
    assert (done.member, done.item, done.reflection) == (scene.mobile_a, item, "收获很大")
    contact = ContactAttempt.objects.get(member=scene.mobile_a)
    assert contact.channel == ContactAttempt.Channel.STUDY
    assert contact.reached and contact.recorded_by is None and contact.on == TODAY
    assert changed == [[scene.mobile_a.pk]]
    assert not Attendance.objects.exists()  # a sign of life, not organisational life

    client.force_login(scene.sec_a)
    page = client.get(reverse("selfservice:study_item", args=[item.pk]))
    assert page.status_code == 200
    rows = {row.name: (row.total, row.done) for row in page.context["rows"]}
    assert rows == {"甲村党支部": (2, 1)}  # only the secretary's own branch
    assert "收获很大" in page.content.decode()


def test_a_repeated_check_in_gets_a_clear_message(client, scene):
    item = scene.item(scene.county.county)
    sign_in(client, scene.mobile_a)
    url = reverse("selfservice:study_detail", args=[item.pk])
    client.post(url, {"reflection": "第一次"})
    response = client.post(url, {"reflection": "第二次"}, follow=True)
    assert response.status_code == 200
    assert "您已完成本次学习打卡" in response.content.decode()
    assert list(StudyCheckIn.objects.values_list("reflection", flat=True)) == ["第一次"]
    assert ContactAttempt.objects.filter(member=scene.mobile_a).count() == 1


def test_the_service_refuses_a_second_check_in(scene):
    item = scene.item(scene.county.county)
    study.check_in(member=scene.mobile_a, item=item)
    with pytest.raises(study.StepRefused, match="您已完成本次学习打卡"):
        study.check_in(member=scene.mobile_a, item=item)


def test_a_long_reflection_is_refused_and_kept(client, scene):
    item = scene.item(scene.county.county)
    sign_in(client, scene.mobile_a)
    typed = "很" * 201
    response = client.post(
        reverse("selfservice:study_detail", args=[item.pk]), {"reflection": typed}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "学习心得请控制在200字以内" in page
    assert typed in page
    assert not StudyCheckIn.objects.exists()


def test_completion_by_branch_is_one_grouped_query(scene, django_assert_num_queries):
    item = scene.item(scene.county.county)
    study.check_in(member=scene.mobile_a, item=item)
    study.check_in(member=scene.mobile_b, item=item)
    study.completion_by_branch(user=scene.county_reviewer, item=item)  # the assignment, cached
    # The scope's organisation ids (read once per request on a page), then one grouped query.
    with django_assert_num_queries(2):
        rows = study.completion_by_branch(user=scene.county_reviewer, item=item)
    assert [(row.name, row.total, row.done, row.percent) for row in rows] == [
        ("甲村党支部", 2, 1, 50),
        ("丙村党支部", 1, 1, 100),
    ]


def test_staff_lists_own_items_and_those_published_above(client, scene):
    county_item = scene.item(scene.county.county, title="全县")
    own = scene.item(scene.county.branch_a, title="甲村自己的")
    other = scene.item(scene.county.branch_b, title="丙村自己的")
    client.force_login(scene.sec_a)
    listed = set(client.get(reverse("selfservice:study_items")).context["items"])
    assert listed == {county_item, own}
    assert client.get(reverse("selfservice:study_item", args=[other.pk])).status_code == 404
    client.force_login(scene.sec_b)
    assert client.get(reverse("selfservice:study_item", args=[own.pk])).status_code == 404


def test_tile_counts_open_and_overdue_items(scene):
    scene.item(scene.county.county)
    late = scene.item(scene.county.branch_a, audience=StudyItem.Audience.MEMBERS, title="迟")
    StudyItem.objects.filter(pk=late.pk).update(due_on=TODAY - timedelta(days=1))
    tile = study.tile(scene.mobile_a)
    assert tile["waiting"] == 2 and "1项已逾期" in tile["line"]
    assert tile["url"] == reverse("selfservice:study_list")
    study.check_in(member=scene.mobile_a, item=late)
    assert study.tile(scene.mobile_a)["waiting"] == 1


def test_member_pages_need_a_signed_in_device(client, scene):
    item = scene.item(scene.county.county)
    assert client.get(reverse("selfservice:study_list")).status_code == 403
    response = client.post(reverse("selfservice:study_detail", args=[item.pk]), {"reflection": ""})
    assert response.status_code == 403
    assert not StudyCheckIn.objects.exists()


def test_a_check_in_without_a_reflection(client, scene):
    item = scene.item(scene.county.county)
    sign_in(client, scene.mobile_a)
    response = client.post(reverse("selfservice:study_detail", args=[item.pk]))
    assert response.status_code == 302
    assert StudyCheckIn.objects.get().reflection == ""


def test_the_notices_read_each_members_preference_with_the_members_not_one_by_one(scene):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from selfservice.models import MessagePreference

    MessagePreference.objects.create(member=scene.mobile_a2, opted_out=True)
    item = scene.item(scene.county.county)
    with CaptureQueriesContext(connection) as queries:
        assert study.send_notices(item_id=item.pk) == 3
    reads = [q["sql"] for q in queries if "selfservice_messagepreference" in q["sql"]]
    assert len(reads) == 1 and "JOIN" in reads[0]  # the members' own query, not one per member
    told = MemberMessage.objects.filter(kind="study_published")
    assert told.get(member=scene.mobile_a2).status == "suppressed"  # the preference still holds
    assert told.get(member=scene.mobile_a).status != "suppressed"
