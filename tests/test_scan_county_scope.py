"""A county part of the split scan (issue #18): the rules take the county's path (`within`)
into their own subqueries, and the part settles only the county's alerts.

A county part must find exactly what the single scan finds among the county's members, and
read no other county's rows: every query it sends is either scoped to the county's path or
looks rows up by id.
"""

import re
from datetime import timedelta

import pytest
from dateutil.relativedelta import relativedelta
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from activities import rules as activity_rules
from activities import services as activity_services
from activities.models import GoodReason
from alerts import scanning
from alerts.models import Alert
from alerts.registry import registered_rules, rule_for
from ledgers import rules as ledger_rules
from members.models import CorrectionTerm, Member, MembershipDecision, Organisation
from tests import scan_data
from transfers import rules as transfer_rules

TODAY = timezone.localdate()


@pytest.fixture
def province(county, settings):
    """scan_data's three townships, with what makes the rarer rules match in two of them: an
    excused month (the self-withdrawal count in Python), an ended correction term, and a
    removal due two years after a suspension for lost contact."""
    settings.ACTIVITIES_TRACKING_START = settings.DUES_TRACKING_START = "2000-01-01"
    scan_data.fill(county)
    county.sec = county.reviewer(county.county, "rev-scope")
    for branch in (county.branch_a, county.branch_b):
        excused = county.member(branch, name=f"请假{branch.pk}")
        activity_services.good_reason_record(
            actor=county.sec,
            member=excused,
            kind=GoodReason.Kind.ILLNESS,
            starts_on=TODAY - relativedelta(months=3),
            ends_on=TODAY - relativedelta(months=2),
            note="住院",
            approved_by="支部委员会",
        )
        CorrectionTerm.objects.create(
            member=county.member(branch, name=f"限期{branch.pk}"),
            condition="no_life_6_months",
            educated_on=TODAY - timedelta(days=100),
            ends_on=TODAY - timedelta(days=1),
            opened_by=county.sec,
        )
        suspended = county.member(branch, name=f"停止{branch.pk}", status=Member.Status.SUSPENDED)
        MembershipDecision.objects.create(
            member=suspended,
            kind=MembershipDecision.Kind.SUSPENSION,
            ground=MembershipDecision.Ground.LOST_CONTACT,
            decided_on=TODAY - relativedelta(years=3),
            deciding_organisation="丙镇党委",
            recorded_by=county.sec,
        )
    return county


def subtree_members(root: Organisation) -> set[int]:
    return set(
        Member.objects.filter(home_branch__path__startswith=root.path).values_list("pk", flat=True)
    )


def ids(members) -> set[int]:
    return set(members.values_list("pk", flat=True))


def test_every_rule_takes_the_scope_into_its_own_query(db):
    assert [rule.code for rule in registered_rules() if not rule.scopes] == []


def test_each_rule_within_a_county_finds_what_it_finds_there_in_the_whole(province):
    found = set()
    for township in (province.township_a, province.township_b, province.township_c):
        members = subtree_members(township)
        for rule in registered_rules():
            whole = ids(rule.matching(TODAY))
            scoped = ids(rule.matching(TODAY, within=township.path))
            assert scoped == whole & members, (rule.code, township.name)
            narrowed = ids(rule.matching(TODAY, within=township.path, among=sorted(members)[::2]))
            assert narrowed == whole & set(sorted(members)[::2]), (rule.code, township.name)
            if scoped:
                found.add(rule.code)
    # The data reaches the Python count of excused months, correction terms and removals.
    assert {
        "lost_contact",
        "no_life_6_months",
        "dues_unpaid_6_months",
        "correction_term_ended",
        "removal_due",
        "overseas_not_contacted",
    } <= found
    excused = Member.objects.get(name=f"请假{province.branch_a.pk}")
    assert excused.pk in ids(rule_for("no_life_6_months").matching(TODAY))


def test_the_rule_functions_still_take_today_alone(province):
    """What reports/dashboard.py calls, unchanged: one argument, every county."""
    lost = ids(ledger_rules.lost_contact(TODAY))
    assert lost and lost == ids(
        Member.objects.filter(pk__in=ledger_rules.lost_contact_episodes(TODAY).values("member_id"))
    )
    assert ids(activity_rules.no_life_6_months(TODAY))
    assert not transfer_rules.certificate_review_due(TODAY).exists()
    assert not transfer_rules.receipt_overdue(TODAY).exists()


def test_a_rule_without_within_is_filtered_outside(province, monkeypatch):
    """A rule registered without `within` (a plug-in, a test's) still gets the scope, outside."""
    from alerts import registry

    def plain(today):
        return Member.objects.all()

    monkeypatch.setitem(
        registry._rules, "aaa_plain", registry.Rule("aaa_plain", "", "notice", "", "", "", plain)
    )
    rule = rule_for("aaa_plain")
    assert not rule.scopes
    assert ids(rule.matching(TODAY, within=province.township_b.path)) == subtree_members(
        province.township_b
    )


def test_a_county_part_leaves_the_alerts_of_the_single_scan_in_that_county(province):
    scanning.scan()
    single = scan_data.alert_rows()
    scan_data.reset(province)

    for township in (province.township_a, province.township_b, province.township_c):
        run = scanning.scan(root=township)
        assert run.failed_rules == 0
        members = subtree_members(township)
        assert [row for row in scan_data.alert_rows() if row[0] in members] == [
            row for row in single if row[0] in members
        ]
    assert scan_data.alert_rows() == single


def test_a_county_part_neither_closes_nor_opens_another_countys_alerts(province):
    stale = Alert.objects.get(kind="lost_contact", closed_at__isnull=True)  # at home, township B
    b_lost = Member.objects.get(name="失联2")  # township B, lost contact, no alert yet
    assert stale.member.home_branch == province.branch_b

    run = scanning.scan(root=province.township_a)

    assert run.results["lost_contact"]["closed"] == 0
    stale.refresh_from_db()
    assert stale.closed_at is None
    assert not Alert.objects.filter(member=b_lost).exists()
    a_members = subtree_members(province.township_a)
    assert set(Alert.objects.values_list("member_id", flat=True)) - {stale.member_id} <= a_members

    scanning.scan(root=province.township_b)
    stale.refresh_from_db()
    assert stale.close_reason == "condition_cleared"
    assert Alert.objects.filter(member=b_lost, kind="lost_contact", closed_at__isnull=True)


def subqueries(sql: str) -> list[str]:
    """The text of every `IN (SELECT ...)` in `sql`, nested ones too."""
    found = []
    for match in re.finditer(r"IN \(SELECT", sql):
        depth, start = 0, match.start() + 3
        for end in range(start, len(sql)):
            depth += {"(": 1, ")": -1}.get(sql[end], 0)
            if depth == 0:
                found.append(sql[start : end + 1])
                break
    return found


def test_the_scope_is_inside_every_subquery_that_drives_a_rule(province, settings):
    """Not a filter on the outer members only: each `IN (SELECT ...)` (the episodes, letters,
    transfers, evaluations, terms a rule starts from) carries the county's path itself."""
    settings.EVALUATION_SEASON_END = "01-01"  # evaluation_missing runs a query every day
    today = TODAY.replace(day=2) if TODAY.month == 1 and TODAY.day == 1 else TODAY
    township = province.township_b
    for rule in registered_rules():
        sql = str(rule.matching(today, within=township.path).query)
        assert f"{township.path}%" in sql, rule.code
        for subquery in subqueries(sql):
            assert f"{township.path}%" in subquery, (rule.code, subquery)


ID_LOOKUP = re.compile(r'"(id|member_id)" (IN \(\d|= \d)')


def test_a_county_part_sends_no_query_that_reads_other_counties(province):
    """Every query of a county part is scoped to its path, or looks rows up by id (the writes,
    a member's count in Python); none reads a table and filters the county at the end."""
    scanning.scan()  # open alerts to refresh and close
    township = province.township_b
    Member.objects.filter(name="失联2").update(status=Member.Status.DECEASED)

    with CaptureQueriesContext(connection) as captured:
        scanning.scan_rules(today=TODAY, root=township)

    unscoped = []
    for query in captured.captured_queries:
        sql = query["sql"]
        if not sql.lstrip().upper().startswith("SELECT"):
            continue  # writes by id, savepoints
        if f"{township.path}%" in sql or ID_LOOKUP.search(sql):
            continue
        unscoped.append(sql)
    assert unscoped == []
    # Every rule sent its query with the scope inside: its path appears once per rule at least.
    scoped = [q["sql"] for q in captured.captured_queries if f"{township.path}%" in q["sql"]]
    assert len(scoped) >= len(registered_rules())


def test_an_alert_opened_meanwhile_makes_the_rule_read_its_alerts_again(province, monkeypatch):
    """The part reads its open alerts once; should a member's re-evaluation open one before
    the rule writes, the insert meets the constraint and the rule runs again, settled."""
    township = province.township_a
    lost = Member.objects.get(name="失联0")
    real = scanning._open_alerts

    def read_then_raced(**kwargs):
        found = real(**kwargs)
        if kwargs["within"] and not kwargs.get("kind"):  # the part's one read, first
            scanning.scan_members(member_ids=[lost.pk])  # a write's re-evaluation, meanwhile
        return found

    monkeypatch.setattr(scanning, "_open_alerts", read_then_raced)
    results = scanning.scan_rules(today=TODAY, root=township)

    assert all("error" not in counts for counts in results.values())
    assert results["lost_contact"]["refreshed"] >= 1
    assert Alert.objects.filter(member=lost, kind="lost_contact").count() == 1
