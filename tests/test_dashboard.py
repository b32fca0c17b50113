"""The reviewer's dashboard: figures against a hand-built county, scoping, exports, queries."""

import io
from datetime import date, datetime, timedelta

import pytest
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from activities.models import ExternalParticipation
from alerts.models import Alert
from ledgers.models import ContactAttempt, LedgerRecord
from ledgers.selectors import ITEMS
from members.models import ExternalOrganisation, Member
from reports import dashboard, yearly
from transfers.models import ActivityCertificate, MobilityEpisode, RelationshipTransfer

TODAY = timezone.localdate()


def away(member, *, days, kind="work", province="广东省", city="深圳市", **fields):
    return MobilityEpisode.objects.create(
        member=member,
        mobility_type=kind,
        left_on=TODAY - timedelta(days=days),
        destination_province=province,
        destination_city=city,
        occupation="工人",
        **fields,
    )


def lived(member, user, *, days=10):
    ExternalParticipation.objects.create(
        member=member,
        on=TODAY - timedelta(days=days),
        organisation="流入地党支部",
        kind="theme_day",
        recorded_by=user,
    )


@pytest.fixture
def board(county):
    """Township A: A1 and A2; township B: B1. Names say where each member is counted."""
    c = county
    c.rev = c.reviewer(c.county, "rev")
    c.rev_a = c.reviewer(c.township_a, "rev_a")
    c.rev_b = c.reviewer(c.township_b, "rev_b")
    c.sec_a = c.secretary(c.branch_a, "sec_a")
    a = c.branch_a
    # A1: three away in Shenzhen (transfer required / certificate / certificate), one at home.
    c.m1 = c.member(a, name="甲一")
    away(c.m1, days=300, is_fixed_place=True)
    LedgerRecord.objects.create(
        member=c.m1,
        conduct_assessment="good",
        **{f"{item}_confirmed_on": TODAY for item in ITEMS},
    )
    ContactAttempt.objects.create(
        member=c.m1,
        on=TODAY - timedelta(days=5),
        channel="phone",
        reached=True,
        recorded_by=c.sec_a,
    )
    lived(c.m1, c.sec_a)
    c.m2 = c.member(a, name="甲二")
    away(c.m2, days=30, kind="temporary")
    c.m3 = c.member(a, name="甲三")  # silent since leaving 200 days ago: lost contact
    away(c.m3, days=200)
    ActivityCertificate.objects.create(
        number="T-0001",
        member=c.m3,
        issuing_branch=a,
        stamping_committee=c.township_a,
        issued_on=TODAY - timedelta(days=400),
        reason="务工",
        destination="广东省深圳市",
    )
    Alert.objects.create(
        member=c.m3,
        kind="lost_contact",
        severity="serious",
        opened_at=timezone.now(),
        last_seen_at=timezone.now(),
    )
    c.m4 = c.member(
        a, name="甲四"
    )  # at home, has organisational life, a transfer waits for approval
    lived(c.m4, c.sec_a)
    external = ExternalOrganisation.objects.create(name="某市某支部", region="浙江省")
    RelationshipTransfer.objects.create(
        member=c.m4,
        from_branch=a,
        to_external=external,
        reason="定居",
        state="submitted",
        requested_by=c.sec_a,
    )
    # Not members: suspended (still with an open episode in Shenzhen) and transferred out.
    c.m5 = c.member(a, name="甲五停", status=Member.Status.SUSPENDED)
    away(c.m5, days=400)
    c.m6 = c.member(a, name="甲六转", status=Member.Status.TRANSFERRED_OUT)
    # A2: one abroad.
    c.m7 = c.member(c.branch_a2, name="乙一")
    away(c.m7, days=100, kind="abroad", province="", city="", destination_country="日本")
    # B1: one away in Hangzhou, hosted by A1 (inflow side for A), one at home.
    c.m8 = c.member(c.branch_b, name="丙一")
    away(c.m8, days=50, province="浙江省", city="杭州市", inflow_organisation=a)
    Alert.objects.create(
        member=c.m8,
        kind="lost_contact",
        severity="serious",
        opened_at=timezone.now(),
        last_seen_at=timezone.now(),
    )
    c.m9 = c.member(c.branch_b, name="丙二")
    return c


def test_figures_for_a_township_count_exactly_who_they_should(board):
    f = dashboard.figures(user=board.rev_a, organisation=board.township_a, today=TODAY)
    # Members: 甲一-甲四 and 乙一; not the suspended 甲五停, the transferred 甲六转, nor B's 丙一.
    assert f["members"] == 5
    # Mobile (outflow): 甲一 甲二 甲三 乙一; the suspended member's open episode does not count.
    assert f["mobile"] == 4
    # 丙一 (home branch in B, hosted by A1) counts only on the inflow side.
    assert f["hosted"] == 1
    assert {r["value"]: r["count"] for r in f["by_type"]} == {
        "work": 2,
        "study": 0,
        "settled": 0,
        "temporary": 1,
        "abroad": 1,
    }
    assert {r["value"]: r["count"] for r in f["by_province"]} == {"广东省": 3, "": 1}
    assert {r["value"]: r["count"] for r in f["arrangements"]} == {
        "transfer_required": 1,
        "certificate": 2,
        "overseas": 1,
        "graduate": 0,
    }
    assert (f["clear"], f["completeness_percent"]) == (1, 25)
    # No life for 6 months: 甲二 甲三 乙一 (甲一 and 甲四 reported life): 3 of 5.
    assert (f["no_life"], f["no_life_percent"], f["no_life_reference"]) == (3, 60.0, 14.5)
    assert f["lost_contact"] == 1  # 甲三 only (甲一 reached, 甲二 and 乙一 away < 180 days)
    assert f["certificates_due"] == 1
    assert (f["transfers_pending"], f["transfers_submitted"], f["receipts_overdue"]) == (1, 1, 0)
    assert f["alerts"] == 1
    assert [(r["value"], r["count"]) for r in f["alerts_by_kind"]] == [("lost_contact", 1)]


def test_county_figures_and_unit_table(board):
    f = dashboard.figures(user=board.rev, organisation=board.county, today=TODAY)
    assert (f["members"], f["mobile"], f["alerts"]) == (7, 5, 2)
    assert f["hosted"] == 0  # 丙一 is hosted from inside the county
    units = dashboard.unit_table(
        user=board.rev, organisation=board.county, today=TODAY, sort="-members"
    )
    assert [(u["name"], u["members"], u["mobile"], u["hosted"]) for u in units] == [
        ("甲镇党委", 5, 4, 1),
        ("丙镇党委", 2, 1, 0),
    ]
    units = dashboard.unit_table(
        user=board.rev_a, organisation=board.township_a, today=TODAY, sort="name"
    )
    by_name = {u["name"]: u for u in units}
    assert (by_name["甲村党支部"]["members"], by_name["乙村党支部"]["members"]) == (4, 1)
    assert by_name["乙村党支部"]["overseas"] == 1
    assert by_name["甲村党支部"]["no_life_percent"] == 50.0


def test_scoping_a_reviewer_never_sees_another_township(board, client):
    with pytest.raises(Http404):
        dashboard.figures(user=board.rev_a, organisation=board.township_b, today=TODAY)
    with pytest.raises(Http404):
        dashboard.destinations(user=board.rev_a, organisation=board.county, places={})
    client.force_login(board.rev_a)
    page = client.get(reverse("reports:dashboard"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "甲村党支部" in html and "丙村党支部" not in html and "丙二" not in html
    for name in (
        "reports:dashboard",
        "reports:dashboard_export",
        "reports:dashboard_print",
        "reports:dashboard_yearly",
        "reports:dashboard_yearly_export",
    ):
        assert client.get(reverse(name), {"org": board.township_b.pk}).status_code == 404
        assert client.get(reverse(name), {"org": board.county.pk}).status_code == 404
    # Drill-down into one's own branch works.
    branch = client.get(reverse("reports:dashboard"), {"org": board.branch_a2.pk})
    assert branch.status_code == 200 and "乙村党支部" in branch.content.decode()
    export = client.get(reverse("reports:dashboard_export"))
    workbook = load_workbook(io.BytesIO(export.content))
    cells = [str(c) for sheet in workbook for row in sheet.iter_rows(values_only=True) for c in row]
    assert "甲镇党委" in cells and not any("丙" in c for c in cells)
    assert not any(name in cells for name in ("甲一", "甲二", "甲三"))  # no names in the export
    assert workbook.sheetnames[0] == "概况" and "下级单位" in workbook.sheetnames


def test_every_figure_links_to_its_list(board, client):
    client.force_login(board.rev)
    html = client.get(reverse("reports:dashboard")).content.decode()
    assert f'href="/members/?branch={board.county.pk}&amp;status=active"' in html
    assert f'href="/dashboard/?org={board.township_a.pk}"' in html
    assert f"/members/?branch={board.township_a.pk}&amp;status=active" in html
    assert f"/ledger/?branch={board.county.pk}&amp;arrangement=transfer_required" in html
    assert "<svg" in html and "<script>" not in html  # charts need no script


def test_each_rule_figure_links_to_exactly_the_members_it_counts(board, client):
    client.force_login(board.rev)
    page = client.get(reverse("reports:dashboard"), {"org": board.township_a.pk})
    figures, links = page.context["figures"], page.context["links"]
    expected = {"no_life": {"甲二", "甲三", "乙一"}, "lost_contact": {"甲三"}}
    expected |= {"certificates_due": {"甲三"}, "receipts_overdue": set()}
    for figure, names in expected.items():
        listed = client.get(links[figure])
        assert listed.status_code == 200, figure
        members = listed.context["page"].object_list
        assert {m.name for m in members} == names, figure
        assert listed.context["page"].paginator.count == figures[figure], figure


def test_alert_and_transfer_links_are_filtered_to_the_unit(board, client):
    client.force_login(board.rev)
    links = client.get(reverse("reports:dashboard"), {"org": board.township_b.pk}).context["links"]
    inbox = client.get(links["alerts"])
    assert [a.member.name for a in inbox.context["page"]] == ["丙一"]  # not A's 甲三
    by_kind = client.get(reverse("alerts:inbox"), {"org": board.township_a.pk})
    assert [a.member.name for a in by_kind.context["page"]] == ["甲三"]
    transfers = client.get(links["transfers_submitted"])
    assert list(transfers.context["page"]) == []  # 甲四's transfer leaves from township A
    transfers = client.get(
        reverse("transfers:transfer_list"), {"org": board.township_a.pk, "state": "submitted"}
    )
    assert [t.member.name for t in transfers.context["page"]] == ["甲四"]


def test_figure_lists_and_filters_stay_in_scope(board, client):
    client.force_login(board.rev_a)
    url = reverse("reports:dashboard_members")
    assert client.get(url, {"org": board.township_b.pk, "figure": "no_life"}).status_code == 404
    assert client.get(url, {"org": board.township_a.pk, "figure": "nonsense"}).status_code == 404
    assert client.get(url, {"org": board.township_a.pk, "figure": "no_life"}).status_code == 200
    for name in ("alerts:inbox", "transfers:transfer_list"):
        assert client.get(reverse(name), {"org": board.township_b.pk}).status_code == 404
        assert client.get(reverse(name), {"org": "x"}).status_code == 404


def test_a_secretary_sees_their_branch(board, client):
    client.force_login(board.sec_a)
    page = client.get(reverse("reports:dashboard"))
    assert page.status_code == 200
    assert page.context["figures"]["members"] == 4
    assert client.get(reverse("reports:dashboard"), {"org": board.township_a.pk}).status_code == 404


def places_of(user, organisation):
    figures = dashboard.figures(user=user, organisation=organisation, today=TODAY)
    return dashboard.destinations(user=user, organisation=organisation, places=figures["places"])


def test_destinations_three_in_one_city_can_form_a_group(board):
    places = places_of(board.rev_a, board.township_a)
    assert [(p["label"], p["count"], p["can_form_group"]) for p in places] == [
        ("广东省深圳市", 3, True),
        ("日本", 1, False),
    ]
    assert sorted(n["name"] for n in places[0]["names"]) == ["甲一", "甲三", "甲二"]
    MobilityEpisode.objects.filter(member=board.m3).update(destination_city="广州市")
    places = places_of(board.rev_a, board.township_a)
    assert places[0]["count"] == 2 and not places[0]["can_form_group"]
    # B sees only its own: 丙一 in Hangzhou.
    places = places_of(board.rev_b, board.township_b)
    assert [(p["label"], [n["name"] for n in p["names"]]) for p in places] == [
        ("浙江省杭州市", ["丙一"])
    ]


def test_a_municipality_is_one_row_however_its_city_was_typed(board):
    """#17: "上海市 32" and "上海市 1" were the same city, stored as "上海市" and "市辖区"."""
    MobilityEpisode.objects.filter(member__in=[board.m1, board.m2, board.m3]).delete()
    away(board.m1, days=30, province="上海市", city="上海市")
    away(board.m2, days=30, province="上海市", city="市辖区")
    away(board.m3, days=30, province="上海市", city="")
    places = places_of(board.rev_a, board.township_a)
    shanghai = [p for p in places if p["label"] == "上海市"]
    assert [(p["count"], p["can_form_group"]) for p in shanghai] == [(3, True)]


def _at(member, when: datetime) -> None:
    latest = member.history.order_by("-history_date").first()
    member.history.filter(pk=latest.pk).update(history_date=when)


def test_yearly_statistics(county):
    c = county
    year = TODAY.year - 1
    tz = timezone.get_current_timezone()
    rev_a = c.reviewer(c.township_a, "rev_a")
    sec = c.secretary(c.branch_a, "sec_a")
    external = ExternalOrganisation.objects.create(name="外省支部", region="浙江省")
    stays = c.member(c.branch_a, name="年一")
    MobilityEpisode.objects.create(
        member=stays,
        mobility_type="work",
        left_on=date(year, 3, 1),
        destination_province="广东省",
        is_fixed_place=True,
    )
    back = c.member(c.branch_a, name="年二")
    MobilityEpisode.objects.create(
        member=back,
        mobility_type="study",
        left_on=date(year, 3, 1),
        ended_on=date(year, 8, 1),
        end_reason="returned",
        destination_province="北京市",
    )
    earlier = c.member(c.branch_a2, name="年三")
    MobilityEpisode.objects.create(
        member=earlier,
        mobility_type="temporary",
        left_on=date(year - 1, 5, 1),
        destination_province="广东省",
    )
    # Transfers completed in the year: out to another province, in from one, and a move inside A.
    out = c.member(c.branch_a, name="转出", status=Member.Status.TRANSFERRED_OUT)
    RelationshipTransfer.objects.create(
        member=out,
        from_branch=c.branch_a,
        to_external=external,
        reason="r",
        state="completed",
        completed_on=date(year, 5, 1),
        requested_by=sec,
    )
    came = c.member(c.branch_a2, name="转入")
    RelationshipTransfer.objects.create(
        member=came,
        direction="incoming",
        from_external=external,
        to_organisation=c.branch_a2,
        reason="r",
        state="completed",
        completed_on=date(year, 6, 1),
        requested_by=sec,
    )
    moved = c.member(c.branch_a2, name="内部")
    RelationshipTransfer.objects.create(
        member=moved,
        from_branch=c.branch_a,
        to_organisation=c.branch_a2,
        reason="r",
        state="completed",
        completed_on=date(year, 7, 1),
        requested_by=sec,
    )
    RelationshipTransfer.objects.create(
        member=c.member(c.branch_b, name="丙转"),
        from_branch=c.branch_b,
        to_external=external,
        reason="r",
        state="completed",
        completed_on=date(year, 7, 1),
        requested_by=sec,
    )
    # Suspended in the year; removed in the year; already suspended before (an edit in the year).
    suspended = c.member(c.branch_a, name="停一")
    _at(suspended, datetime(year - 1, 1, 1, tzinfo=tz))
    suspended.status = Member.Status.SUSPENDED
    suspended.save()
    _at(suspended, datetime(year, 4, 1, tzinfo=tz))
    removed = c.member(c.branch_a2, name="除一", status=Member.Status.SUSPENDED)
    _at(removed, datetime(year - 1, 1, 1, tzinfo=tz))
    removed.status = Member.Status.REMOVED
    removed.save()
    _at(removed, datetime(year, 9, 1, tzinfo=tz))
    old = c.member(c.branch_a, name="停久", status=Member.Status.SUSPENDED)
    _at(old, datetime(year - 2, 1, 1, tzinfo=tz))
    old.phone = "13900139000"
    old.save()
    _at(old, datetime(year, 2, 1, tzinfo=tz))
    b_suspended = c.member(c.branch_b, name="丙停")
    _at(b_suspended, datetime(year - 1, 1, 1, tzinfo=tz))
    b_suspended.status = Member.Status.SUSPENDED
    b_suspended.save()
    _at(b_suspended, datetime(year, 4, 1, tzinfo=tz))

    s = yearly.yearly_statistics(user=rev_a, organisation=c.township_a, year=year, today=TODAY)
    assert s["mobile"] == 2  # 年一 and 年三 were away at the end of the year; 年二 came home
    assert {r["value"]: r["count"] for r in s["by_type"]}["work"] == 1
    assert {r["value"]: r["count"] for r in s["by_province"]} == {"广东省": 2}
    assert {r["value"]: r["count"] for r in s["by_arrangement"]}["transfer_required"] == 1
    assert (s["new_outflows"], s["returns"]) == (2, 1)
    assert (s["transfers_out"], s["transfers_in"]) == (1, 1)
    assert (s["suspensions"], s["removals"]) == (1, 1)
    branch = yearly.yearly_statistics(user=rev_a, organisation=c.branch_a, year=year, today=TODAY)
    assert (branch["transfers_out"], branch["transfers_in"], branch["suspensions"]) == (2, 0, 1)


def test_yearly_pages_and_export(board, client):
    client.force_login(board.rev_a)
    page = client.get(reverse("reports:dashboard_yearly"), {"year": TODAY.year})
    assert page.status_code == 200 and page.context["stats"]["year"] == TODAY.year
    export = client.get(reverse("reports:dashboard_yearly_export"), {"year": TODAY.year})
    workbook = load_workbook(io.BytesIO(export.content))
    assert workbook.sheetnames == ["年度统计", "流动类型", "流入省份", "管理方式"]
    assert client.get(reverse("reports:dashboard_yearly"), {"year": "1800"}).status_code == 404


def test_print_page_names_organisation_date_and_printer(board, client):
    client.force_login(board.rev_a)
    html = client.get(reverse("reports:dashboard_print")).content.decode()
    assert "甲镇党委" in html and "rev_a" in html and TODAY.isoformat() in html


def _add_members(county, n: int) -> None:
    for i in range(n):
        member = county.member(county.branch_a2 if i % 2 else county.branch_a, name=f"批量{i}")
        episode = away(
            member, days=20 + i * 13, kind="work" if i % 3 else "study", city=f"城{i % 4}"
        )
        LedgerRecord.objects.create(
            member=member, conduct_assessment="good", left_confirmed_on=TODAY
        )
        ContactAttempt.objects.create(
            member=member,
            on=episode.left_on,
            channel="phone",
            reached=bool(i % 2),
            recorded_by=county.sec_a,
        )
        Alert.objects.create(
            member=member,
            kind="contact_overdue",
            severity="warning",
            opened_at=timezone.now(),
            last_seen_at=timezone.now(),
        )


def test_queries_do_not_grow_with_members(board, client):
    client.force_login(board.rev)
    url = reverse("reports:dashboard")
    client.get(url)  # warm up sessions and caches
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    _add_members(board, 40)
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert response.context["figures"]["members"] == 47
    assert len(many.captured_queries) == len(few.captured_queries)
    assert len(few.captured_queries) < 40


def test_nightly_snapshots_feed_the_trend_charts(client, db):
    from datetime import timedelta

    from django.utils import timezone

    from members.models import Organisation
    from reports.models import FigureSnapshot
    from reports.snapshots import take_snapshots
    from tests.conftest import County

    county = County()
    member = county.member(county.branch_a)
    from transfers.models import MobilityEpisode

    today = timezone.localdate()
    MobilityEpisode.objects.create(member=member, mobility_type="work", left_on=today)
    assert take_snapshots(today=today - timedelta(days=30)) == Organisation.objects.count()
    assert take_snapshots(today=today) == Organisation.objects.count()
    take_snapshots(today=today)  # the same day twice: still one row per organisation
    assert FigureSnapshot.objects.filter(day=today).count() == Organisation.objects.count()
    snapshot = FigureSnapshot.objects.get(organisation=county.township_a, day=today)
    assert (snapshot.figures["members"], snapshot.figures["mobile"]) == (1, 1)
    client.force_login(county.reviewer(county.county))
    page = client.get("/dashboard/").content.decode()
    assert page.count('<svg class="chart"') == 4


def test_each_place_lists_its_members(board, client):
    client.force_login(board.rev_a)
    page = client.get(reverse("reports:dashboard"), {"org": board.township_a.pk})
    shenzhen = page.context["destinations"][0]
    assert shenzhen["place"] == "|广东省|深圳市"
    listed = client.get(
        reverse("reports:dashboard_members"),
        {"org": board.township_a.pk, "figure": "place", "place": shenzhen["place"]},
    )
    assert {m.name for m in listed.context["page"]} == {"甲一", "甲二", "甲三"}
    assert "深圳" in listed.context["title"]
    outside = {"org": board.township_b.pk, "figure": "place", "place": shenzhen["place"]}
    assert client.get(reverse("reports:dashboard_members"), outside).status_code == 404
    broken = {"org": board.township_a.pk, "figure": "place", "place": "no-bars"}
    assert client.get(reverse("reports:dashboard_members"), broken).status_code == 404


def test_report_exports_are_logged(board, client):
    from members.models import SensitiveAccess

    client.force_login(board.rev)
    client.get(reverse("reports:dashboard_export"))
    client.get(reverse("reports:dashboard_yearly_export"))
    logged = SensitiveAccess.objects.filter(
        user=board.rev, action=SensitiveAccess.Action.EXPORT_REPORT
    )
    assert sorted(entry.detail.split(" ")[0] for entry in logged) == [
        "dashboard.xlsx",
        "yearly.xlsx",
    ]


def test_members_abroad_are_a_row_of_their_own_not_not_given(board, client):
    """#17: "未填写" is never the label of a known group."""
    rows = {
        str(r["label"]): r["count"]
        for r in dashboard.figures(user=board.rev_a, organisation=board.township_a, today=TODAY)[
            "by_province"
        ]
    }
    assert rows.get("出国（境）") == 1 and "未填写" not in rows
    stats = yearly.yearly_statistics(
        user=board.rev_a, organisation=board.township_a, year=TODAY.year, today=TODAY
    )
    assert "出国（境）" in [str(r["label"]) for r in stats["by_province"]]


def test_lost_contact_has_one_definition_on_the_dashboard_its_units_and_the_inbox(board):
    """#17: the headline, the unit table and the inbox count 失联 the same way."""
    from alerts import scanning
    from alerts.models import Alert

    scanning.scan()
    report = dashboard.report(user=board.rev_a, organisation=board.township_a, today=TODAY)
    inbox = Alert.objects.filter(
        kind="lost_contact",
        closed_at__isnull=True,
        member__home_branch__path__startswith=board.township_a.path,
    ).count()
    units = sum(unit["lost_contact"] for unit in report.units)
    assert report.figures["lost_contact"] == units == inbox > 0
