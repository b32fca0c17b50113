"""The attendance roster (issue #17): members away are marked and start as "away", presets keep
what the secretary typed, and "away" is neither attendance nor an excuse."""

import re
from datetime import timedelta

import pytest
from dateutil.relativedelta import relativedelta
from django.urls import reverse
from django.utils import timezone

from activities import rules, selectors, services, withdrawal
from activities.dues import first_of_month
from activities.models import Activity, Attendance
from transfers.models import MobilityEpisode

TODAY = timezone.localdate()
Status = Attendance.Status


@pytest.fixture
def branch(county):
    """Branch A: one member at home, one away (working in Shenzhen), one it hosts (home
    branch B, living here)."""
    county.sec_a = county.secretary(county.branch_a, "sec_a")
    county.sec_b = county.secretary(county.branch_b, "sec_b")
    county.home = county.member(county.branch_a, name="在家甲")
    county.away = county.member(county.branch_a, name="外出甲")
    MobilityEpisode.objects.create(
        member=county.away,
        mobility_type="work",
        left_on=TODAY - timedelta(days=120),
        destination_province="广东省",
        destination_city="深圳市",
    )
    county.hosted = county.member(county.branch_b, name="流入丙")
    MobilityEpisode.objects.create(
        member=county.hosted,
        mobility_type="work",
        left_on=TODAY - timedelta(days=200),
        destination_province="四川省",
        inflow_organisation=county.branch_a,
    )
    returned = county.member(county.branch_a, name="返乡丁")  # back home: not away
    MobilityEpisode.objects.create(
        member=returned,
        mobility_type="temporary",
        left_on=TODAY - timedelta(days=300),
        ended_on=TODAY - timedelta(days=30),
    )
    county.returned = returned
    return county


def create_url(branch):
    return reverse("activities:activity_create") + f"?branch={branch.pk}"


def lines(response) -> dict[str, dict]:
    """What the page shows on each line: status, reason, make-up, the away mark."""
    return {
        row.member.name: {
            "status": row["status"].value(),
            "reason": row["reason"].value() or "",
            "makeup": bool(row["makeup"].value()),
            "shown": row["shown"].value(),
            "away": row.away,
        }
        for row in response.context["roster"]
    }


def as_posted(response, **changes) -> dict:
    """The roster's POST data as the page shows it, with `changes` by name: {field: value}."""
    data = {}
    for row in response.context["roster"]:
        values = {
            "status": row["status"].value(),
            "reason": row["reason"].value() or "",
            "shown": row["shown"].value(),
            "makeup": bool(row["makeup"].value()),
        }
        values.update(changes.get(row.member.name, {}))
        for name in ("status", "reason", "shown"):
            data[f"{row.member.pk}-{name}"] = values[name]
        if values["makeup"]:
            data[f"{row.member.pk}-makeup"] = "on"
    return data


# --- defaults -----------------------------------------------------------------------------


def test_the_roster_knows_who_is_away_from_the_branch(branch):
    away = {m.name: m.away for m in selectors.roster_lines(branch.branch_a)}
    assert away == {"在家甲": False, "外出甲": True, "流入丙": False, "返乡丁": False}
    # Seen from the home branch, the hosted member is away.
    assert {m.name: m.away for m in selectors.roster_lines(branch.branch_b)} == {"流入丙": True}


def test_members_at_home_start_present_and_members_away_start_away(client, branch):
    client.force_login(branch.sec_a)
    response = client.get(create_url(branch.branch_a))
    assert response.status_code == 200
    shown = {name: (line["status"], line["away"]) for name, line in lines(response).items()}
    assert shown == {
        "在家甲": (Status.PRESENT, False),
        "外出甲": (Status.AWAY, True),
        "流入丙": (Status.PRESENT, False),  # hosted here: at home in this branch
        "返乡丁": (Status.PRESENT, False),
    }
    html = response.content.decode()
    assert html.count('class="status away"') == 1
    away_row = re.search(r"<tr[^>]*>\s*<th scope=\"row\">外出甲.*?</tr>", html, re.S).group(0)
    assert "流动在外" in away_row
    assert re.search(r'<option value="away" selected>', away_row)


def test_the_attendance_page_of_an_activity_keeps_marks_and_fills_the_rest(client, branch):
    activity = services.activity_record(
        actor=branch.sec_a,
        branch=branch.branch_a,
        kind=Activity.Kind.PARTY_LECTURE,
        held_on=TODAY - timedelta(days=2),
        title="党课",
        attendance={branch.home.pk: (Status.EXCUSED, "住院", False)},
    )
    client.force_login(branch.sec_a)
    response = client.get(reverse("activities:attendance_edit", args=[activity.pk]))
    assert {name: line["status"] for name, line in lines(response).items()} == {
        "在家甲": Status.EXCUSED,
        "外出甲": Status.AWAY,
        "流入丙": Status.PRESENT,
        "返乡丁": Status.PRESENT,
    }
    # Saved as shown.
    response = client.post(
        reverse("activities:attendance_edit", args=[activity.pk]), as_posted(response)
    )
    assert response.status_code == 302
    assert {a.member.name: (a.status, a.reason) for a in activity.attendance.all()} == {
        "在家甲": (Status.EXCUSED, "住院"),
        "外出甲": (Status.AWAY, ""),
        "流入丙": (Status.PRESENT, ""),
        "返乡丁": (Status.PRESENT, ""),
    }
    detail = client.get(response.url)
    assert detail.context["attended"] == 2
    assert "流动在外" in detail.content.decode()


def test_a_planned_activity_leaves_the_unchanged_lines_unmarked(client, branch):
    client.force_login(branch.sec_a)
    page = client.get(create_url(branch.branch_a))
    data = {
        "kind": Activity.Kind.GENERAL_MEETING,
        "held_on": (TODAY + timedelta(days=10)).isoformat(),
        "title": "支部党员大会",
        **as_posted(page, 在家甲={"status": Status.EXCUSED, "reason": "外地培训"}),
    }
    response = client.post(create_url(branch.branch_a), data)
    assert response.status_code == 302, response.context and response.context.get("form").errors
    activity = Activity.objects.get()
    assert {a.member.name: a.status for a in activity.attendance.all()} == {
        "在家甲": Status.EXCUSED  # asked ahead; nobody else is marked before the day
    }
    # Its attendance page starts everyone at home as absent until the day.
    edit = client.get(reverse("activities:attendance_edit", args=[activity.pk]))
    assert lines(edit)["返乡丁"]["status"] == Status.ABSENT
    assert lines(edit)["外出甲"]["status"] == Status.AWAY


# --- presets keep what was typed -----------------------------------------------------------


def test_a_preset_keeps_what_was_typed_and_saves_nothing(client, branch):
    client.force_login(branch.sec_a)
    page = client.get(create_url(branch.branch_a))
    typed = {
        "kind": Activity.Kind.PARTY_LECTURE,
        "held_on": (TODAY - timedelta(days=1)).isoformat(),
        "title": "党课：学习党章",
        "place": "村委会",
        "notes": "书记讲党课",
    }
    changes = {
        "在家甲": {"status": Status.EXCUSED, "reason": "住院"},
        "返乡丁": {"reason": "迟到半小时", "makeup": True},
    }
    response = client.post(
        create_url(branch.branch_a),
        {**typed, **as_posted(page, **changes), "preset": "online"},
    )
    assert response.status_code == 200
    assert not Activity.objects.exists()
    form = response.context["form"]
    assert not form.is_bound and not form.errors
    assert {name: form[name].value() for name in typed} == typed
    shown = lines(response)
    assert shown["在家甲"] | {"away": None} == {
        "status": Status.EXCUSED,  # changed by hand: kept
        "reason": "住院",
        "makeup": False,
        "shown": Status.PRESENT,  # what the page first showed: the line stays changed
        "away": None,
    }
    assert shown["返乡丁"]["reason"] == "迟到半小时" and shown["返乡丁"]["makeup"]
    assert shown["返乡丁"]["status"] == Status.ONLINE  # unchanged line: the preset
    assert shown["外出甲"]["status"] == Status.ONLINE and shown["外出甲"]["away"]
    html = response.content.decode()
    assert "党课：学习党章" in html and "住院" in html and "迟到半小时" in html

    # Back to the defaults: the lines the preset filled return; the one changed by hand stays.
    response = client.post(
        create_url(branch.branch_a),
        {**typed, **as_posted(response), "preset": "default"},
    )
    shown = lines(response)
    assert {name: line["status"] for name, line in shown.items()} == {
        "在家甲": Status.EXCUSED,
        "外出甲": Status.AWAY,
        "流入丙": Status.PRESENT,
        "返乡丁": Status.PRESENT,
    }

    # Saving records what is shown.
    response = client.post(create_url(branch.branch_a), {**typed, **as_posted(response)})
    assert response.status_code == 302
    activity = Activity.objects.get()
    assert activity.title == "党课：学习党章" and activity.notes == "书记讲党课"
    assert {a.member.name: (a.status, a.reason, a.makeup) for a in activity.attendance.all()} == {
        "在家甲": (Status.EXCUSED, "住院", False),
        "外出甲": (Status.AWAY, "", False),
        "流入丙": (Status.PRESENT, "", False),
        "返乡丁": (Status.PRESENT, "迟到半小时", True),
    }


def test_a_preset_on_the_attendance_page_saves_nothing(client, branch):
    activity = services.activity_record(
        actor=branch.sec_a,
        branch=branch.branch_a,
        kind=Activity.Kind.THEME_DAY,
        held_on=TODAY,
        title="主题党日",
        attendance={branch.home.pk: (Status.ABSENT, "", False)},
    )
    url = reverse("activities:attendance_edit", args=[activity.pk])
    client.force_login(branch.sec_a)
    page = client.get(url)
    data = as_posted(page, 外出甲={"reason": "在深圳参加流入地支部活动"})
    response = client.post(url, {**data, "preset": "present"})
    assert response.status_code == 200
    assert list(activity.attendance.values_list("member__name", "status")) == [
        ("在家甲", Status.ABSENT)
    ]
    shown = lines(response)
    assert shown["在家甲"]["status"] == Status.PRESENT  # recorded absent, not changed: preset
    assert shown["外出甲"]["status"] == Status.PRESENT
    assert shown["外出甲"]["reason"] == "在深圳参加流入地支部活动"


def test_the_presets_are_buttons_of_the_form_and_enter_still_saves(client, branch):
    client.force_login(branch.sec_a)
    html = client.get(create_url(branch.branch_a)).content.decode()
    form = re.search(r'<form method="post".*?</form>', html, re.S).group(0)
    buttons = re.findall(r'<button[^>]*>|<input type="submit"[^>]*>', form)
    assert buttons[0].startswith('<input type="submit"') and "hidden" in buttons[0]
    assert "name=" not in buttons[0]  # the default button (Enter) saves, it is no preset
    assert {re.search(r'value="(\w+)"', b).group(1) for b in buttons if "preset" in b} == {
        "present",
        "online",
        "default",
    }
    assert "preset=" not in html  # no link that reloads the page and loses what was typed


# --- "away" is not attendance, and not an excuse ---------------------------------------------


def test_away_is_neither_attendance_nor_an_excused_month(branch, settings):
    settings.ACTIVITIES_TRACKING_START = "2000-01-01"
    this_month = first_of_month(TODAY)
    for n in range(1, 8):
        services.activity_record(
            actor=branch.sec_a,
            branch=branch.branch_a,
            kind=Activity.Kind.THEME_DAY,
            held_on=this_month - relativedelta(months=n),
            title="主题党日",
            attendance={branch.away.pk: (Status.AWAY, "", False)},
        )
    assert selectors.last_life_of(branch.away) is None
    counted = withdrawal.count(branch.away, withdrawal.LIFE, TODAY)
    assert counted.excused == [] and len(counted.counted) >= 6
    assert branch.away in rules.no_life_6_months(TODAY)
