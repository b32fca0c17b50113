"""The scan split into parts (issue #8), by rule or by county: a county part touches only its
own alerts, and the split scan, in process and on two real Celery workers, leaves exactly the
alerts of the single run."""

import pytest
from django.core.management import call_command

from alerts import scanning
from alerts.models import Alert, ScanRun
from alerts.registry import registered_rules
from alerts.tasks import scan_alerts
from members.models import Organisation
from tests import scan_data
from tests.workers import celery_workers


@pytest.fixture
def filled(county):
    scan_data.fill(county)
    return county


def open_members(**filters) -> set[int]:
    return set(
        Alert.objects.filter(closed_at__isnull=True, **filters).values_list("member_id", flat=True)
    )


def county_parts() -> list[int]:
    return [part["organisation"] for part in scanning.scan_parts(split="county")]


def test_the_county_parts_are_the_children_of_the_root(county):
    assert county_parts() == [county.township_a.pk, county.township_b.pk]


def test_a_root_that_holds_members_is_one_part(county):
    branch = Organisation.objects.add_root({"name": "直属党支部", "kind": "branch"})
    Organisation.objects.add_child(branch, {"name": "党小组", "kind": "group"})
    county.member(branch, name="直属")
    assert county_parts() == [county.township_a.pk, county.township_b.pk, branch.pk]


def test_the_rule_parts_are_the_registered_rules(db):
    codes = [rule.code for rule in registered_rules()]
    assert scanning.scan_parts() == [{"rule": code} for code in codes]


def test_a_part_opens_and_closes_only_its_own_alerts(filled):
    stale = Alert.objects.get(kind="lost_contact", closed_at__isnull=True)

    run = scanning.scan(root=filled.township_a)

    in_a = set(Organisation.objects.get_descendants(filled.township_a).values_list("pk", flat=True))
    opened = open_members().difference({stale.member_id})
    assert opened and all(
        branch in in_a
        for branch in Alert.objects.filter(member_id__in=opened).values_list(
            "member__home_branch", flat=True
        )
    )
    assert run.results["lost_contact"]["closed"] == 0  # township B's alert is not A's to close
    stale.refresh_from_db()
    assert stale.closed_at is None

    scanning.scan(root=filled.township_b)
    stale.refresh_from_db()
    assert stale.close_reason == "condition_cleared"
    assert not open_members(member__home_branch=filled.branch_c)  # C not scanned yet


@pytest.mark.parametrize("split", ["rule", "county"])
def test_the_split_scan_in_process_leaves_the_alerts_of_the_single_run(filled, eager_celery, split):
    single = scanning.scan()
    expected = scan_data.alert_rows()
    scan_data.reset(filled)

    result = scan_alerts.apply(kwargs={"split": split}).get()

    assert scan_data.alert_rows() == expected
    run = ScanRun.objects.get(pk=result["run"])
    assert run.finished_at and run.failed_rules == 0
    assert len(result["parts"]) == (3 if split == "county" else len(single.results))
    for code, counts in single.results.items():
        merged = run.results[code]
        assert [merged[n] for n in scanning.COUNTS] == [counts[n] for n in scanning.COUNTS]


def test_a_failing_rule_is_counted_once_with_the_parts_it_failed_in(filled, eager_celery):
    from alerts import registry as rules

    def broken(today):
        raise RuntimeError("boom")

    rules._rules["aaa_broken"] = rules.Rule("aaa_broken", "broken", "notice", "", "", "", broken)
    try:
        result = scan_alerts.apply(kwargs={"split": "county"}).get()
        by_rule = scan_alerts.apply(kwargs={"split": "rule"}).get()
    finally:
        del rules._rules["aaa_broken"]
    assert result["failed_rules"] == by_rule["failed_rules"] == 1
    assert result["results"]["aaa_broken"]["error"] == "RuntimeError: boom (in 3 of 3 parts)"
    assert by_rule["results"]["aaa_broken"]["error"] == "RuntimeError: boom"
    # 4 away a year; the 4 abroad were never searched for, so their half-yearly contact is due
    assert result["results"]["lost_contact"]["opened"] == 4
    assert result["results"]["overseas_not_contacted"]["opened"] == 4


def test_the_command_runs_the_split_scan(filled, eager_celery, capsys):
    call_command("scan_alerts", "--split", "county")
    out = capsys.readouterr().out
    assert out.count("part organisation") == 3 and "lost_contact" in out
    call_command("scan_alerts", "--split")
    out = capsys.readouterr().out
    assert "part lost_contact on" in out
    assert all(run.finished_at for run in ScanRun.objects.all())


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("split", ["rule", "county"])
def test_the_split_scan_on_two_workers_leaves_the_alerts_of_the_single_run(filled, tmp_path, split):
    scanning.scan()
    expected = scan_data.alert_rows()
    assert len({kind for _, kind, _, _ in expected}) >= 4
    scan_data.reset(filled)

    with celery_workers("w1", "w2", tmp_path=tmp_path) as (queue, workers):
        result = scan_alerts.apply_async(kwargs={"split": split}, queue=queue).get(timeout=180)

    assert scan_data.alert_rows() == expected
    assert result["failed_rules"] == 0
    assert ScanRun.objects.get(pk=result["run"]).finished_at
    done = sorted((part["organisation"] or 0, part["rule"]) for part in result["parts"])
    assert done == sorted(
        (part.get("organisation", 0), part.get("rule", ""))
        for part in scanning.scan_parts(split=split)
    )
    did_work = {part["worker"].split("@")[0] for part in result["parts"]}
    assert did_work == {workers["w1"].name, workers["w2"].name}
