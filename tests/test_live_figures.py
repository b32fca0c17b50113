"""The dashboard's kept figures (reports.live): equal to the live count, with or without a
nightly snapshot, and still equal after a day of writes through the services."""

from datetime import timedelta

import pytest

from activities.services import external_participation_record
from alerts.models import Alert
from alerts.services import alert_resolve
from ledgers.services import contact_record
from members.models import Member
from reports import dashboard, live
from reports.models import FigureSnapshot, LiveFigures
from reports.snapshots import take_snapshots
from tests import test_dashboard
from transfers.models import MobilityEpisode, RelationshipTransfer
from transfers.services.episodes import episode_end, episode_start
from transfers.services.transfers import transfer_withdraw

TODAY = test_dashboard.TODAY
board = test_dashboard.board  # the hand-built county, as a fixture here too
LARGE = 0  # DASHBOARD_LIVE_MAX_MEMBERS: every subtree reads the kept figures
SMALL = 10**9  # every subtree is counted live


def shown(report):
    figures = {k: v for k, v in report.figures.items() if k not in ("as_of", "campaign", "kept")}
    units = [{k: v for k, v in u.items() if k != "organisation"} for u in report.units]
    return figures, units


def reports(board, settings, size):
    settings.DASHBOARD_LIVE_MAX_MEMBERS = size
    return {
        org.name: dashboard.report(user=board.rev, organisation=org, today=TODAY, sort="name")
        for org in (board.county, board.township_a, board.township_b, board.branch_a)
    }


def assert_kept_equal_live(board, settings):
    counted = {name: shown(r) for name, r in reports(board, settings, SMALL).items()}
    kept = reports(board, settings, LARGE)
    for name, report in kept.items():
        assert report.figures["kept"], name
        assert report.figures["as_of"] is None, name
        assert shown(report) == counted[name], name


def test_without_any_snapshot_a_large_subtree_reads_the_kept_figures(
    board, settings, django_capture_on_commit_callbacks, monkeypatch
):
    from django.core.cache import cache

    cache.clear()
    assert not FigureSnapshot.objects.exists()
    settings.DASHBOARD_LIVE_MAX_MEMBERS = LARGE
    queued = []
    monkeypatch.setattr(live, "_queue_subtree", queued.append)
    with django_capture_on_commit_callbacks(execute=True):
        first = dashboard.report(user=board.rev, organisation=board.county, today=TODAY)
    assert not first.figures["kept"]  # nothing kept yet: counted live, a recount queued
    assert queued == [board.county.pk]
    live.refresh_subtree(board.county, today=TODAY)  # what the worker does
    assert_kept_equal_live(board, settings)


def test_the_nightly_snapshot_is_taken_from_the_kept_figures(board, settings):
    take_snapshots(today=TODAY)
    snapshot = FigureSnapshot.objects.get(organisation=board.county, day=TODAY)
    counted = reports(board, settings, SMALL)[board.county.name].figures
    for key in ("members", "mobile", "no_life", "lost_contact", "alerts", "transfers_pending"):
        assert snapshot.figures[key] == counted[key], key
    assert_kept_equal_live(board, settings)


def suspend(member):
    member = Member.objects.get(pk=member.pk)
    member.status = Member.Status.SUSPENDED
    member.save()


def test_kept_figures_follow_a_day_of_writes(board, settings, django_capture_on_commit_callbacks):
    live.refresh_all(today=TODAY)
    m2_away = MobilityEpisode.objects.get(member=board.m2)
    writes = {
        "a contact reaches the member lost for 200 days": lambda: contact_record(
            actor=board.sec_a, member=board.m3, on=TODAY, channel="phone", reached=True
        ),
        "a member comes home": lambda: episode_end(
            actor=board.sec_a,
            episode=m2_away,
            ended_on=TODAY,
            reason=MobilityEpisode.EndReason.RETURNED,
        ),
        "a member at home leaves": lambda: episode_start(
            actor=board.sec_a,
            episode=MobilityEpisode(
                member=board.m4,
                mobility_type="work",
                left_on=TODAY,
                destination_province="江苏省",
                destination_city="苏州市",
                occupation="工人",
            ),
        ),
        "organisational life elsewhere": lambda: external_participation_record(
            actor=board.sec_a, member=board.m2, on=TODAY, organisation="某党支部", kind="theme_day"
        ),
        "a transfer is withdrawn": lambda: transfer_withdraw(
            actor=board.sec_a, transfer=RelationshipTransfer.objects.get(member=board.m4)
        ),
        "an alert is resolved": lambda: alert_resolve(
            actor=board.rev,
            alert=Alert.objects.filter(member=board.m3, closed_at=None).first(),
            note="已联系",
        ),
        "a new member": lambda: board.member(board.branch_b, name="丙三"),
        "a member is suspended": lambda: suspend(board.m9),
    }
    for _what, write in writes.items():
        with django_capture_on_commit_callbacks(execute=True):
            write()
        assert_kept_equal_live(board, settings)
    # A member moves branch (township B to A): both sides are recounted.
    moved = Member.objects.get(pk=board.m9.pk)
    moved.home_branch = board.branch_a
    moved.save()
    assert_kept_equal_live(board, settings)


def test_figures_counted_yesterday_are_recounted_today(board, settings):
    live.refresh_all(today=TODAY - timedelta(days=1))
    assert set(LiveFigures.objects.values_list("day", flat=True)) == {TODAY - timedelta(days=1)}
    assert_kept_equal_live(board, settings)  # a few stale rows: the page recounts them first
    assert set(LiveFigures.objects.values_list("day", flat=True)) == {TODAY}


def test_with_many_stale_rows_the_page_says_from_when_and_queues_a_recount(
    board, settings, monkeypatch, django_capture_on_commit_callbacks
):
    from django.core.cache import cache

    cache.clear()  # no recount queued by an earlier test
    yesterday = TODAY - timedelta(days=1)
    live.refresh_all(today=yesterday)
    monkeypatch.setattr(live, "INLINE_REFRESH_MAX", 0)
    queued = []
    monkeypatch.setattr(live, "_queue_subtree", queued.append)
    settings.DASHBOARD_LIVE_MAX_MEMBERS = LARGE
    with django_capture_on_commit_callbacks(execute=True):
        report = dashboard.report(user=board.rev, organisation=board.county, today=TODAY)
    assert report.figures["kept"]
    assert report.figures["as_of"] == yesterday
    assert queued == [board.county.pk]


@pytest.mark.parametrize("branches", [1, 30])
def test_the_kept_dashboard_reads_the_same_queries_for_any_number_of_branches(
    board, settings, branches, django_assert_max_num_queries
):
    from members.models import Organisation

    tree = Organisation.objects

    for index in range(branches):
        branch = tree.add_child(
            board.township_b, {"name": f"丙{index}支部", "kind": Organisation.Kind.BRANCH}
        )
        board.member(branch, name=f"丙{index}")
    live.refresh_all(today=TODAY)
    settings.DASHBOARD_LIVE_MAX_MEMBERS = LARGE
    with django_assert_max_num_queries(6):
        dashboard.report(user=board.rev, organisation=board.township_b, today=TODAY)


def test_the_scan_has_everything_recounted_after_it(
    board, monkeypatch, django_capture_on_commit_callbacks
):
    from alerts import scanning
    from reports import tasks

    queued = []
    monkeypatch.setattr(tasks.refresh_live_everything, "delay", lambda: queued.append("all"))
    with django_capture_on_commit_callbacks(execute=True):
        scanning.scan(today=TODAY)
    assert queued == ["all"]


def test_a_re_evaluation_marks_its_members_branches(board, monkeypatch):
    from alerts import scanning

    marked = []
    monkeypatch.setattr(live, "mark_changed", lambda ids: marked.append(set(ids)))
    scanning.scan_members(member_ids=[board.m3.pk], today=TODAY)
    assert any(board.branch_a.pk in ids for ids in marked)


def test_one_transaction_of_many_saves_is_one_recount(county, monkeypatch):
    """A plain spreadsheet import saves member by member in one transaction, a savepoint a
    row: one recount of the branches it touched at the commit, not one per member."""
    from django.db import transaction

    live.refresh_all(today=TODAY)
    live._Recount._waiting().clear()  # left by the earlier tests' transactions, never committed
    queued = []
    monkeypatch.setattr(live, "_queue_refresh", queued.append)
    connection = transaction.get_connection()
    before = len(connection.run_on_commit)
    with transaction.atomic():
        for n in range(20):
            with transaction.atomic():  # as django-import-export does
                county.member(county.branch_b, name=f"丙新{n}")
        county.member(county.branch_a, name="甲新")
    # What the commit does: takes the callbacks off the connection, then runs them in turn.
    registered = connection.run_on_commit[before:]
    del connection.run_on_commit[before:]
    assert len(registered) > 1  # one per savepoint that wrote
    for _savepoints, callback, _robust in registered:
        callback()
    assert queued == [sorted({county.branch_a.pk, county.branch_b.pk})]


def test_a_recount_of_a_branch_deleted_since_is_skipped(county):
    from members.models import Organisation

    gone = Organisation.objects.add_child(
        county.township_b, {"name": "撤销的支部", "kind": "branch"}
    )
    gone_pk = gone.pk
    gone.delete()
    live.refresh(organisation_ids=[gone_pk, county.branch_a.pk], today=TODAY)  # no error
    assert not LiveFigures.objects.filter(organisation_id=gone_pk).exists()
    assert LiveFigures.objects.filter(organisation=county.branch_a).exists()
