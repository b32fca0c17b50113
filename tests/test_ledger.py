"""The five-clears ledger, the contact log, exports, scan rules and census campaigns."""

import csv
import io
from datetime import timedelta

import pytest
from dateutil.relativedelta import relativedelta
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from infrastructure.steps import StepRefused
from ledgers import exporting, rules, services
from ledgers.models import CensusCampaign, ContactAttempt, LedgerRecord
from ledgers.selectors import completeness, ledger_rows
from members.models import SensitiveAccess
from transfers.models import MobilityEpisode

TODAY = timezone.localdate()
ALL = ["left", "where", "occupation", "contact", "conduct"]


@pytest.fixture
def ledger(county):
    county.sec_a = county.secretary(county.branch_a, "sec_a")
    county.sec_b = county.secretary(county.branch_b, "sec_b")
    county.rev = county.reviewer(county.county, "rev")
    county.away = county.member(county.branch_a, name="外出甲")
    county.episode = MobilityEpisode.objects.create(
        member=county.away,
        mobility_type="work",
        left_on=TODAY - timedelta(days=100),
        destination_province="广东省",
        destination_city="深圳市",
        occupation="电子厂工人",
    )
    county.other = county.member(county.branch_b, name="外出丙")
    MobilityEpisode.objects.create(
        member=county.other,
        mobility_type="temporary",
        left_on=TODAY - timedelta(days=30),
        destination_province="浙江省",
        inflow_organisation=county.branch_a,
    )
    return county


def row_for(user, member, side="outflow", today=TODAY):
    return ledger_rows(user=user, today=today, side=side).get(member=member)


def set_conduct(ledger):
    LedgerRecord.objects.update_or_create(
        member=ledger.away, defaults={"conduct_assessment": "good", "conduct_note": "积极"}
    )


def test_outflow_and_inflow_ledgers(ledger):
    outflow = ledger_rows(user=ledger.sec_a, today=TODAY, side="outflow")
    inflow = ledger_rows(user=ledger.sec_a, today=TODAY, side="inflow")
    assert [r.member.name for r in outflow] == ["外出甲"]
    assert [r.member.name for r in inflow] == ["外出丙"]


def test_items_are_clear_only_when_filled_and_recently_confirmed(ledger):
    set_conduct(ledger)
    row = row_for(ledger.sec_a, ledger.away)
    assert not row.all_clear and not row.left_clear
    services.ledger_confirm(actor=ledger.sec_a, member=ledger.away, items=ALL, on=TODAY)
    row = row_for(ledger.sec_a, ledger.away)
    assert row.all_clear
    # Contact details go stale after 6 months, the rest after 12.
    later = row_for(ledger.sec_a, ledger.away, today=TODAY + timedelta(days=200))
    assert (later.contact_clear, later.where_clear, later.all_clear) == (False, True, False)


def test_an_empty_item_is_never_clear(ledger):
    ledger.episode.occupation = ""
    ledger.episode.save()
    services.ledger_confirm(actor=ledger.sec_a, member=ledger.away, items=ALL, on=TODAY)
    row = row_for(ledger.sec_a, ledger.away)
    assert not row.occupation_clear and not row.conduct_clear


def test_completeness_figure_per_branch(ledger):
    set_conduct(ledger)
    services.ledger_confirm(actor=ledger.sec_a, member=ledger.away, items=ALL, on=TODAY)
    rows = ledger_rows(user=ledger.rev, today=TODAY)
    overall = completeness(rows)[0]
    assert (overall.total, overall.clear, overall.percent) == (2, 1, 50)
    per_branch = {c.name: (c.total, c.clear) for c in completeness(rows, group_by_branch=True)}
    assert per_branch == {"甲村党支部": (1, 1), "丙村党支部": (1, 0)}


def test_one_click_confirm_stamps_date_and_user(client, ledger):
    client.force_login(ledger.sec_a)
    client.post(reverse("ledgers:confirm", args=[ledger.away.pk]), {"item": ["where"]})
    record = LedgerRecord.objects.get(member=ledger.away)
    assert (record.where_confirmed_on, record.where_confirmed_by) == (TODAY, ledger.sec_a)
    assert record.left_confirmed_on is None


def test_editing_an_item_changes_it_and_confirms_it(client, ledger):
    client.force_login(ledger.sec_a)
    response = client.post(
        reverse("ledgers:item_edit", args=[ledger.away.pk, "contact"]), {"phone": "139 0000 1111"}
    )
    assert response.status_code == 302
    ledger.away.refresh_from_db()
    assert ledger.away.phone == "13900001111"
    assert LedgerRecord.objects.get(member=ledger.away).contact_confirmed_by == ledger.sec_a
    response = client.post(
        reverse("ledgers:item_edit", args=[ledger.away.pk, "contact"]), {"phone": "12345"}
    )
    assert "手机" in " ".join(response.context["form"].errors["phone"])


def test_reached_today_is_one_click_and_confirms_contact(client, ledger):
    client.force_login(ledger.sec_a)
    client.post(reverse("ledgers:reached_today", args=[ledger.away.pk]))
    attempt = ContactAttempt.objects.get()
    assert (attempt.on, attempt.channel, attempt.reached) == (TODAY, "phone", True)
    assert LedgerRecord.objects.get(member=ledger.away).contact_confirmed_on == TODAY
    assert row_for(ledger.sec_a, ledger.away).last_reached_on == TODAY


def test_unreachable_attempts_are_kept_as_evidence(client, ledger):
    client.force_login(ledger.sec_a)
    client.post(
        reverse("ledgers:contact_new", args=[ledger.away.pk]),
        {"on": TODAY.isoformat(), "channel": "wechat", "note": "无人应答"},
    )
    attempt = ContactAttempt.objects.get()
    assert attempt.reached is False
    page = client.get(reverse("members:detail", args=[ledger.away.pk])).content.decode()
    assert "无人应答" in page


def test_another_branch_cannot_confirm_or_edit(client, ledger):
    client.force_login(ledger.sec_b)
    assert client.post(reverse("ledgers:confirm", args=[ledger.away.pk])).status_code == 404
    url = reverse("ledgers:item_edit", args=[ledger.away.pk, "contact"])
    assert client.get(url).status_code == 404
    with pytest.raises(StepRefused):
        services.ledger_confirm(actor=ledger.sec_b, member=ledger.away, items=ALL, on=TODAY)


def test_export_xlsx_has_the_standard_headers_and_only_the_scope(client, ledger):
    ledger.episode.occupation = '=HYPERLINK("http://evil")'
    ledger.episode.save()
    client.force_login(ledger.sec_a)
    response = client.get(reverse("ledgers:export", args=["xlsx"]))
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.values)
    assert rows[0][0].endswith("五清台账") and rows[1][0].startswith("导出日期")
    assert list(rows[2]) == exporting.HEADERS
    assert [r[1] for r in rows[3:]] == ["外出甲"]
    occupation = rows[3][exporting.HEADERS.index("职业")]
    assert occupation.startswith("'=")
    assert SensitiveAccess.objects.get().action == SensitiveAccess.Action.EXPORT_LEDGER


def test_export_csv_escapes_formulas(client, ledger):
    for bad in ["+cmd", "-1+2", "@SUM(A1)"]:
        ledger.episode.occupation = bad
        ledger.episode.save()
        client.force_login(ledger.sec_a)
        content = client.get(reverse("ledgers:export", args=["csv"])).content
        assert content.startswith(b"\xef\xbb\xbf")
        rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
        assert rows[1][exporting.HEADERS.index("职业")] == "'" + bad


def test_export_respects_filters(client, ledger):
    set_conduct(ledger)
    services.ledger_confirm(actor=ledger.sec_a, member=ledger.away, items=ALL, on=TODAY)
    client.force_login(ledger.rev)
    content = client.get(reverse("ledgers:export", args=["csv"]), {"not_clear_only": "on"}).content
    names = [r[1] for r in csv.reader(io.StringIO(content.decode("utf-8-sig")))][1:]
    assert names == ["外出丙"]


def test_blank_template_has_headers_and_an_example(client, ledger):
    client.force_login(ledger.sec_a)
    sheet = load_workbook(io.BytesIO(client.get(reverse("ledgers:template")).content)).active
    rows = list(sheet.values)
    assert list(rows[0]) == exporting.HEADERS and len(rows) == 2


def test_ledger_page_and_its_filters(client, ledger):
    client.force_login(ledger.sec_a)
    page = client.get(reverse("ledgers:ledger"))
    assert [r.member.name for r in page.context["page"]] == ["外出甲"]
    assert page.context["overall"].total == 1
    inflow = client.get(reverse("ledgers:ledger"), {"side": "inflow"})
    assert [r.member.name for r in inflow.context["page"]] == ["外出丙"]
    filtered = client.get(reverse("ledgers:ledger"), {"province": "浙江省"})
    assert list(filtered.context["page"]) == []


# --- scan rules ---------------------------------------------------------------------------


def contact(ledger, days_ago, reached=True):
    ContactAttempt.objects.create(
        member=ledger.away,
        on=TODAY - timedelta(days=days_ago),
        channel="phone",
        reached=reached,
        recorded_by=ledger.sec_a,
    )


def test_contact_rules_count_from_the_last_successful_contact(ledger):
    """Civil-Code periods: three (six) months after the last contact end on the corresponding
    day; the rule holds from the day after."""
    ledger.episode.left_on = TODAY - timedelta(days=400)
    ledger.episode.save()
    three, six = TODAY - relativedelta(months=3), TODAY - relativedelta(months=6)
    ContactAttempt.objects.create(
        member=ledger.away, on=three, channel="phone", reached=True, recorded_by=ledger.sec_a
    )
    assert ledger.away not in rules.contact_overdue(TODAY)  # the period ends today
    ContactAttempt.objects.all().delete()
    ContactAttempt.objects.create(
        member=ledger.away,
        on=three - timedelta(days=1),
        channel="phone",
        reached=True,
        recorded_by=ledger.sec_a,
    )
    contact(ledger, 10, reached=False)  # an unreachable attempt does not count
    assert ledger.away in rules.contact_overdue(TODAY)
    assert ledger.away not in rules.lost_contact(TODAY)
    ContactAttempt.objects.all().delete()
    ContactAttempt.objects.create(
        member=ledger.away,
        on=six - timedelta(days=1),
        channel="phone",
        reached=True,
        recorded_by=ledger.sec_a,
    )
    assert ledger.away in rules.lost_contact(TODAY)
    assert ledger.away not in rules.contact_overdue(TODAY)


def test_silence_counts_from_the_day_they_left_when_never_reached(ledger):
    left = TODAY - timedelta(days=60)
    ledger.episode.left_on = left
    ledger.episode.save()
    assert ledger.away not in rules.contact_overdue(TODAY)
    three, six = left + relativedelta(months=3), left + relativedelta(months=6)
    assert ledger.away not in rules.contact_overdue(three)
    assert ledger.away in rules.contact_overdue(three + timedelta(days=1))
    assert ledger.away not in rules.lost_contact(six)
    assert ledger.away in rules.lost_contact(six + timedelta(days=1))


def test_five_clears_rule(ledger):
    assert ledger.away in rules.five_clears_not_clear(TODAY)
    set_conduct(ledger)
    services.ledger_confirm(actor=ledger.sec_a, member=ledger.away, items=ALL, on=TODAY)
    assert ledger.away not in rules.five_clears_not_clear(TODAY)


def test_overseas_member_not_contacted(ledger):
    ledger.episode.mobility_type = "abroad"
    ledger.episode.left_on = TODAY - timedelta(days=400)
    ledger.episode.save()
    assert ledger.away in rules.overseas_not_contacted(TODAY)
    contact(ledger, 30)
    assert ledger.away not in rules.overseas_not_contacted(TODAY)


# --- census campaigns ---------------------------------------------------------------------


def test_only_reviewers_open_campaigns(ledger):
    kwargs = {"name": "春节摸排", "starts_on": TODAY, "ends_on": TODAY + timedelta(days=30)}
    with pytest.raises(StepRefused):
        services.campaign_open(actor=ledger.sec_a, organisation=ledger.branch_a, **kwargs)
    assert services.campaign_open(actor=ledger.rev, organisation=ledger.county, **kwargs)


def test_campaign_progress_counts_members_verified_inside_the_period(client, ledger):
    campaign = services.campaign_open(
        actor=ledger.rev,
        organisation=ledger.county,
        name="2027年春节集中摸排",
        starts_on=TODAY - timedelta(days=5),
        ends_on=TODAY + timedelta(days=30),
    )
    set_conduct(ledger)
    services.ledger_confirm(
        actor=ledger.sec_a, member=ledger.away, items=ALL, on=TODAY - timedelta(days=10)
    )
    client.force_login(ledger.rev)
    detail = client.get(reverse("ledgers:campaign_detail", args=[campaign.pk]))
    assert detail.context["verified"] == 0 and detail.context["total"] == 2
    services.ledger_confirm(actor=ledger.sec_a, member=ledger.away, items=ALL, on=TODAY)
    detail = client.get(reverse("ledgers:campaign_detail", args=[campaign.pk]))
    progress = {p.name: (p.clear, p.total, p.percent) for p in detail.context["progress"]}
    assert progress == {"甲村党支部": (1, 1, 100), "丙村党支部": (0, 1, 0)}
    exported = load_workbook(
        io.BytesIO(client.get(reverse("ledgers:campaign_export", args=[campaign.pk])).content)
    ).active
    assert list(exported.values)[0] == ("党支部", "流动党员数", "已核实", "完成率")
    # The branch secretary sees the campaign and only their own members in the checklist.
    client.force_login(ledger.sec_a)
    checklist = client.get(reverse("ledgers:campaign_detail", args=[campaign.pk])).context[
        "checklist"
    ]
    assert [row.member.name for row in checklist] == ["外出甲"]
    services.campaign_close(actor=ledger.rev, campaign=campaign, on=TODAY)
    assert CensusCampaign.objects.get().closed_on == TODAY


def test_campaigns_are_scoped(client, ledger):
    campaign = services.campaign_open(
        actor=ledger.reviewer(ledger.township_b, "rev_b"),
        organisation=ledger.township_b,
        name="丙镇摸排",
        starts_on=TODAY,
        ends_on=TODAY,
    )
    client.force_login(ledger.sec_a)
    assert client.get(reverse("ledgers:campaign_detail", args=[campaign.pk])).status_code == 404


def test_ledger_page_query_count_does_not_grow_with_rows(client, ledger):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(ledger.rev)

    def count_queries():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("ledgers:ledger")).status_code == 200
        return len(queries)

    count_queries()  # the first page of a session also asks about a second factor
    one = count_queries()
    for i in range(25):
        member = ledger.member(ledger.branch_a2, name=f"外出{i}")
        MobilityEpisode.objects.create(member=member, mobility_type="work", left_on=TODAY)
        LedgerRecord.objects.create(member=member, conduct_assessment="good")
    assert count_queries() == one


def test_the_ledger_shows_the_last_organisational_life(ledger):
    from activities.models import Activity, Attendance, ExternalParticipation

    activity = Activity.objects.create(
        branch=ledger.branch_a,
        kind="theme_day",
        held_on=TODAY - timedelta(days=40),
        title="主题党日",
        recorded_by=ledger.sec_a,
    )
    Attendance.objects.create(activity=activity, member=ledger.away, status="online")
    assert row_for(ledger.sec_a, ledger.away).last_life == TODAY - timedelta(days=40)
    ExternalParticipation.objects.create(
        member=ledger.away,
        on=TODAY - timedelta(days=5),
        organisation="深圳某党支部",
        kind="theme_day",
        recorded_by=ledger.sec_a,
    )
    assert row_for(ledger.sec_a, ledger.away).last_life == TODAY - timedelta(days=5)
    activity.held_on = TODAY - timedelta(days=2)  # now the branch's own is the later one
    activity.save()
    assert row_for(ledger.sec_a, ledger.away).last_life == TODAY - timedelta(days=2)
    Attendance.objects.all().delete()  # only the participation elsewhere
    assert row_for(ledger.sec_a, ledger.away).last_life == TODAY - timedelta(days=5)
    ExternalParticipation.objects.all().delete()
    assert row_for(ledger.sec_a, ledger.away).last_life is None


def test_the_member_page_reads_confirmers_and_scope_once(client, ledger):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    set_conduct(ledger)
    services.ledger_confirm(actor=ledger.sec_a, member=ledger.away, items=ALL, on=TODAY)
    client.force_login(ledger.sec_a)
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("members:detail", args=[ledger.away.pk]))
    user_lookups = [
        q for q in queries.captured_queries if q["sql"].startswith('SELECT "auth_user"')
    ]
    assert len(user_lookups) <= 1  # the session's user, not one per confirmed item
    scope_checks = [q for q in queries.captured_queries if q["sql"].startswith("SELECT 1 AS")]
    assert len(scope_checks) <= 1  # "home side or hosting side?" asked once for the page


# --- a large subtree's ledger figures from the night -----------------------------------------


def completeness_on_page(response) -> dict:
    overall = response.context["overall"]
    return {
        "overall": (overall.total, overall.clear, overall.per_item),
        "per_branch": [
            (c.name, c.total, c.clear, c.per_item) for c in response.context["per_branch"]
        ],
    }


def test_a_large_subtree_reads_the_kept_figures_equal_to_the_live_ones(
    client, ledger, settings, django_capture_on_commit_callbacks
):
    from reports import live

    set_conduct(ledger)
    services.ledger_confirm(actor=ledger.sec_a, member=ledger.away, items=ALL, on=TODAY)
    client.force_login(ledger.rev)
    url = reverse("ledgers:ledger")
    counted = client.get(url)
    assert counted.context["as_of"] is None
    live.refresh_all(today=TODAY)
    settings.DASHBOARD_LIVE_MAX_MEMBERS = 0  # every subtree counts as large
    kept = client.get(url)
    assert kept.context["as_of"] is None
    assert completeness_on_page(kept) == completeness_on_page(counted)
    township = client.get(url, {"branch": ledger.township_a.pk})
    assert township.context["overall"].total == 1

    # A change shows in the figures as soon as it is committed, as in the list.
    with django_capture_on_commit_callbacks(execute=True):
        services.ledger_confirm(actor=ledger.sec_b, member=ledger.other, items=ALL, on=TODAY)
    after = completeness_on_page(client.get(url))
    settings.DASHBOARD_LIVE_MAX_MEMBERS = 10**9
    assert after == completeness_on_page(client.get(url))
    assert after != completeness_on_page(counted)


@pytest.mark.parametrize(
    "narrowing", [{"not_clear_only": "on"}, {"mobility_type": "work"}, {"side": "inflow"}]
)
def test_a_narrowed_or_inflow_ledger_is_counted_live(client, ledger, settings, narrowing):
    from reports.snapshots import take_snapshots

    take_snapshots(today=TODAY)
    settings.DASHBOARD_LIVE_MAX_MEMBERS = 0
    client.force_login(ledger.rev)
    assert client.get(reverse("ledgers:ledger"), narrowing).context["as_of"] is None


def test_figures_kept_from_an_earlier_day_are_recounted_before_they_are_shown(
    client, ledger, settings
):
    from reports.models import LiveFigures
    from reports.snapshots import take_snapshots

    take_snapshots(today=TODAY - timedelta(days=2))
    settings.DASHBOARD_LIVE_MAX_MEMBERS = 0
    client.force_login(ledger.rev)
    assert client.get(reverse("ledgers:ledger")).context["as_of"] is None
    assert set(LiveFigures.objects.values_list("day", flat=True)) == {TODAY}


def test_a_long_list_of_branches_shows_those_furthest_behind_first(client, ledger, monkeypatch):
    from ledgers import views

    set_conduct(ledger)
    services.ledger_confirm(actor=ledger.sec_a, member=ledger.away, items=ALL, on=TODAY)
    monkeypatch.setattr(views, "BRANCHES_SHOWN", 1)
    client.force_login(ledger.rev)
    url = reverse("ledgers:ledger")
    shown = client.get(url)
    assert [(c.name, c.percent) for c in shown.context["per_branch"]] == [("丙村党支部", 0)]
    assert shown.context["branches_total"] == 2
    assert "branches=all" in shown.content.decode()
    every = client.get(url, {"branches": "all"}).context["per_branch"]
    assert [c.name for c in every] == ["丙村党支部", "甲村党支部"]  # by name, as always
