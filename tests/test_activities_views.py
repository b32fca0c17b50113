"""The browser side of organisational life, attendance, dues and evaluations."""

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from dateutil.relativedelta import relativedelta
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from activities import services
from activities.dues import FIXED, first_of_month
from activities.models import Activity, Attendance, DuesAmount, DuesPayment
from transfers.models import MobilityEpisode

TODAY = timezone.localdate()
THIS_MONTH = first_of_month(TODAY)
LAST_MONTH = THIS_MONTH - relativedelta(months=1)
Status = Attendance.Status


@pytest.fixture(autouse=True)
def tracking(settings):
    """Dues and life tracked for the last year, whatever day the tests run."""
    settings.DUES_TRACKING_START = (THIS_MONTH - relativedelta(months=12)).isoformat()
    settings.ACTIVITIES_TRACKING_START = settings.DUES_TRACKING_START


@pytest.fixture
def life(county):
    """Branch A with two members of its own and one it hosts (home branch B)."""
    county.sec_a = county.secretary(county.branch_a, "sec_a")
    county.sec_a2 = county.secretary(county.branch_a2, "sec_a2")
    county.sec_b = county.secretary(county.branch_b, "sec_b")
    county.resident = county.member(county.branch_a, name="在家甲")
    county.away = county.member(county.branch_a, name="外出甲")
    county.hosted = county.member(county.branch_b, name="流入丙")
    MobilityEpisode.objects.create(
        member=county.hosted,
        mobility_type="work",
        left_on=TODAY - timedelta(days=200),
        destination_province="四川省",
        inflow_organisation=county.branch_a,
    )
    county.other = county.member(county.branch_b, name="丙村党员")
    return county


def activity_data(members, *, held_on=None, **rows):
    """POST data for the activity form: every member absent unless given in rows."""
    data = {
        "kind": Activity.Kind.THEME_DAY,
        "held_on": (held_on or TODAY - timedelta(days=3)).isoformat(),
        "title": "主题党日：学习党章",
        "place": "村委会会议室",
        "notes": "",
    }
    for member in members:
        status, reason, makeup = rows.get(member.name, (Status.ABSENT, "", False))
        data[f"{member.pk}-status"] = status
        data[f"{member.pk}-reason"] = reason
        if makeup:
            data[f"{member.pk}-makeup"] = "on"
    return data


def create_url(branch):
    return reverse("activities:activity_create") + f"?branch={branch.pk}"


def member_page(client, member):
    response = client.get(reverse("members:detail", args=[member.pk]))
    assert response.status_code == 200
    return response


# --- recording an activity ------------------------------------------------------------------


def test_roster_page_includes_hosted_members(client, life):
    client.force_login(life.sec_a)
    response = client.get(create_url(life.branch_a))
    assert response.status_code == 200
    rows = {form.member.name: form for form in response.context["roster"]}
    assert set(rows) == {"在家甲", "外出甲", "流入丙"}
    assert rows["流入丙"].hosted and not rows["在家甲"].hosted
    # Nobody here is away (外出甲 has no mobility episode): everyone starts as present.
    assert {name: row["status"].value() for name, row in rows.items()} == dict.fromkeys(
        rows, Status.PRESENT
    )
    html = response.content.decode()
    assert "流入丙" in html and life.branch_b.name in html  # marked with its home branch
    assert "丙村党员" not in html
    # Certificate rules: the hosted member takes part but does not vote or stand here.
    assert html.count('class="no-vote"') == 1


def test_recording_an_activity_creates_its_attendance(client, life):
    client.force_login(life.sec_a)
    members = [life.resident, life.away, life.hosted]
    data = activity_data(
        members,
        **{"在家甲": (Status.PRESENT, "", False), "外出甲": (Status.ONLINE, "", True)},
    )
    response = client.post(create_url(life.branch_a), data)
    activity = Activity.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("activities:activity_detail", args=[activity.pk])
    assert activity.branch == life.branch_a and activity.recorded_by == life.sec_a
    marks = {a.member.name: (a.status, a.makeup) for a in activity.attendance.all()}
    assert marks == {
        "在家甲": (Status.PRESENT, False),
        "外出甲": (Status.ONLINE, True),
        "流入丙": (Status.ABSENT, False),
    }
    detail = client.get(response.url)
    assert detail.status_code == 200
    assert detail.context["attended"] == 2
    assert "主题党日：学习党章" in detail.content.decode()


def test_an_excused_absence_without_a_reason_is_refused(client, life):
    client.force_login(life.sec_a)
    data = activity_data(
        [life.resident, life.away, life.hosted], 外出甲=(Status.EXCUSED, "", False)
    )
    response = client.post(create_url(life.branch_a), data)
    assert response.status_code == 200
    rows = {form.member.name: form for form in response.context["roster"]}
    errors = rows["外出甲"].errors["reason"]
    assert errors
    assert errors[0] in response.content.decode()
    assert not Activity.objects.exists()


def test_a_refusal_from_the_service_is_shown_on_the_form(client, life, monkeypatch):
    def refuse(**kwargs):
        raise services.StepRefused("拒绝的原因")

    monkeypatch.setattr(services, "activity_record", refuse)
    client.force_login(life.sec_a)
    response = client.post(create_url(life.branch_a), activity_data([life.resident]))
    assert response.status_code == 200
    assert "拒绝的原因" in response.context["form"].non_field_errors()
    assert "拒绝的原因" in response.content.decode()


def test_editing_attendance_through_the_view(client, life):
    activity = services.activity_record(
        actor=life.sec_a,
        branch=life.branch_a,
        kind=Activity.Kind.THEME_DAY,
        held_on=TODAY - timedelta(days=3),
        title="主题党日",
        attendance={life.resident.pk: (Status.ABSENT, "", False)},
    )
    client.force_login(life.sec_a)
    url = reverse("activities:attendance_edit", args=[activity.pk])
    response = client.get(url)
    assert {form.member.name for form in response.context["roster"]} == {
        "在家甲",
        "外出甲",
        "流入丙",
    }
    data = {
        f"{life.resident.pk}-status": Status.EXCUSED,
        f"{life.resident.pk}-reason": "生病",
        f"{life.away.pk}-status": Status.ONLINE,
        f"{life.hosted.pk}-status": Status.PRESENT,
    }
    response = client.post(url, data)
    assert response.status_code == 302
    marks = {a.member.name: (a.status, a.reason) for a in activity.attendance.all()}
    assert marks == {
        "在家甲": (Status.EXCUSED, "生病"),
        "外出甲": (Status.ONLINE, ""),
        "流入丙": (Status.PRESENT, ""),
    }


# --- the member page ------------------------------------------------------------------------


def test_member_page_shows_last_life_after_attendance_and_participation_elsewhere(client, life):
    client.force_login(life.sec_a)
    assert member_page(client, life.away).context["last_life"] is None
    held_on = TODAY - timedelta(days=40)
    client.post(
        create_url(life.branch_a),
        activity_data([life.away], held_on=held_on, 外出甲=(Status.PRESENT, "", False)),
    )
    response = member_page(client, life.away)
    assert response.context["last_life"] == held_on
    assert held_on.isoformat() in response.content.decode()

    elsewhere_on = TODAY - timedelta(days=2)
    response = client.post(
        reverse("activities:participation_new", args=[life.away.pk]),
        {
            "on": elsewhere_on.isoformat(),
            "organisation": "深圳市南山区科技园流动党员党支部",
            "kind": Activity.Kind.THEME_DAY,
            "note": "",
        },
    )
    assert response.status_code == 302
    response = member_page(client, life.away)
    assert response.context["last_life"] == elsewhere_on
    html = response.content.decode()
    assert elsewhere_on.isoformat() in html and "深圳市南山区科技园流动党员党支部" in html


def test_inflow_secretary_records_attendance_of_a_hosted_member_but_not_their_dues(client, life):
    client.force_login(life.sec_a)
    response = client.post(
        create_url(life.branch_a),
        activity_data([life.hosted], 流入丙=(Status.PRESENT, "", False)),
    )
    assert response.status_code == 302
    assert Attendance.objects.get(member=life.hosted).status == Status.PRESENT
    assert member_page(client, life.hosted).context["last_life"] == TODAY - timedelta(days=3)

    assert client.get(reverse("activities:dues_amount_set", args=[life.hosted.pk])).status_code == (
        404
    )
    assert client.get(
        reverse("activities:participation_new", args=[life.hosted.pk])
    ).status_code == (404)
    # The inflow side may still evaluate and assign work.
    assert (
        client.get(reverse("activities:evaluation_new", args=[life.hosted.pk])).status_code == 200
    )
    assert client.get(reverse("activities:work_new", args=[life.hosted.pk])).status_code == 200


def test_another_branch_gets_404_on_activity_and_member_life_pages(client, life):
    activity = services.activity_record(
        actor=life.sec_a,
        branch=life.branch_a,
        kind=Activity.Kind.THEME_DAY,
        held_on=TODAY - timedelta(days=3),
        title="主题党日",
        attendance={life.resident.pk: (Status.PRESENT, "", False)},
    )
    client.force_login(life.sec_a2)
    urls = [
        reverse("activities:activity_detail", args=[activity.pk]),
        reverse("activities:attendance_edit", args=[activity.pk]),
        create_url(life.branch_a),
        reverse("activities:activity_list") + f"?branch={life.branch_a.pk}",
        reverse("activities:dues_ledger") + f"?branch={life.branch_a.pk}",
        reverse("activities:dues_export") + f"?branch={life.branch_a.pk}",
    ] + [
        reverse(f"activities:{name}", args=[life.resident.pk])
        for name in (
            "participation_new",
            "dues_amount_set",
            "dues_payment_new",
            "evaluation_new",
            "work_new",
            "service_request_new",
            "honour_new",
        )
    ]
    for url in urls:
        assert client.get(url).status_code == 404, url
    response = client.post(
        reverse("activities:attendance_edit", args=[activity.pk]),
        {f"{life.resident.pk}-status": Status.ABSENT},
    )
    assert response.status_code == 404
    assert Attendance.objects.get().status == Status.PRESENT


def test_a_dues_payment_through_the_view_lowers_the_arrears(client, life):
    client.force_login(life.sec_a)
    before = member_page(client, life.resident).context
    assert len(before["owed"]) == 12 and before["owed_total"] == 12 * FIXED
    response = client.post(
        reverse("activities:dues_payment_new", args=[life.resident.pk]),
        {
            "from_month": LAST_MONTH.isoformat(),
            "to_month": LAST_MONTH.isoformat(),
            "amount": "0.20",
            "paid_on": TODAY.isoformat(),
            "method": "wechat",
            "paid_to": life.branch_a.pk,
        },
    )
    assert response.status_code == 302
    assert DuesPayment.objects.get().member == life.resident
    after = member_page(client, life.resident)
    assert LAST_MONTH not in after.context["owed"]
    assert after.context["owed_total"] == 11 * FIXED
    assert str(11 * FIXED) in after.content.decode()


def test_dues_amount_from_income_is_explained_on_the_member_page(client, life):
    client.force_login(life.sec_a)
    response = client.post(
        reverse("activities:dues_amount_set", args=[life.resident.pk]),
        {"year": TODAY.year, "basis": "income", "monthly_income": "4000", "reason": ""},
    )
    assert response.status_code == 302
    assert DuesAmount.objects.get().monthly_amount == Decimal("40.00")
    html = member_page(client, life.resident).content.decode()
    assert "月税后收入4000.00元 × 1% = 40.00元" in html


def test_service_requests_and_honours_only_from_the_home_branch(client, life):
    client.force_login(life.sec_a)
    url = reverse("activities:service_request_new", args=[life.resident.pk])
    response = client.post(
        url,
        {
            "kind": "employment",
            "description": "帮助联系就业岗位",
            "raised_on": TODAY.isoformat(),
            "status": "open",
        },
    )
    assert response.status_code == 302
    assert life.resident.service_requests.get().description == "帮助联系就业岗位"
    assert client.get(reverse("activities:honour_new", args=[life.hosted.pk])).status_code == 404


# --- the dues ledger ------------------------------------------------------------------------


def test_dues_ledger_xlsx_has_the_headers_and_only_the_branch(client, life):
    services.dues_payment_record(
        actor=life.sec_a,
        member=life.resident,
        from_month=LAST_MONTH,
        to_month=LAST_MONTH,
        amount=Decimal("0.20"),
        paid_on=TODAY,
        method="cash",
    )
    client.force_login(life.sec_a)
    url = reverse("activities:dues_export") + f"?branch={life.branch_a.pk}&year={LAST_MONTH.year}"
    response = client.get(url)
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == ["姓名", "月交纳额"] + [f"{m}月" for m in range(1, 13)]
    by_name = {row[0]: row for row in rows[1:]}
    assert set(by_name) == {"在家甲", "外出甲"}  # not the hosted member, not branch B's
    assert by_name["在家甲"][1 + LAST_MONTH.month] == "✓"
    assert by_name["外出甲"][1 + LAST_MONTH.month] == "✗"


# --- query counts ---------------------------------------------------------------------------


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def hold(life, count):
    for day in range(count):
        services.activity_record(
            actor=life.sec_a,
            branch=life.branch_a,
            kind=Activity.Kind.GROUP_MEETING,
            held_on=THIS_MONTH - timedelta(days=day * 7 + 1),
            title=f"党小组会 {day}",
            attendance={
                life.resident.pk: (Status.PRESENT, "", False),
                life.away.pk: (Status.EXCUSED, "外出", False),
            },
        )


def test_activity_list_queries_do_not_grow_with_rows(client, life):
    client.force_login(life.sec_a)
    year = (THIS_MONTH - timedelta(days=1)).year
    url = reverse("activities:activity_list") + f"?branch={life.branch_a.pk}&year={year}"
    hold(life, 1)
    count_queries(client, url)  # warm up the session and the content types
    one = count_queries(client, url)
    hold(life, 4)
    assert count_queries(client, url) == one
    assert client.get(url).context["activities"][0].attended == 1


def test_dues_ledger_queries_do_not_grow_with_rows(client, life):
    client.force_login(life.sec_a)
    url = reverse("activities:dues_ledger") + f"?branch={life.branch_a.pk}&year={TODAY.year}"
    count_queries(client, url)
    one = count_queries(client, url)
    for number in range(6):
        member = life.member(life.branch_a, name=f"党员{number}")
        services.dues_amount_set(actor=life.sec_a, member=member, year=TODAY.year, basis="farmer")
        services.dues_payment_record(
            actor=life.sec_a,
            member=member,
            from_month=LAST_MONTH,
            to_month=THIS_MONTH,
            amount=Decimal("0.40"),
            paid_on=TODAY,
            method="cash",
        )
    assert count_queries(client, url) == one
    assert len(client.get(url).context["rows"]) == 8
