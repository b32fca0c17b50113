"""A worker killed in the middle of the split scan (issue #9).

The parts are made to stop mid-scan by holding the alert table against writes from another
connection: each part has read the open alerts and waits at its first write, inside the
rule's transaction. Then a worker is killed with SIGKILL and the table let go.
"""

import os
import signal
import time
from contextlib import contextmanager

import psycopg
import pytest
from django.db import connection

from alerts import scanning
from alerts.models import ScanRun
from alerts.tasks import scan_alerts
from tests import scan_data
from tests.workers import celery_workers


@pytest.fixture
def filled(county):
    scan_data.fill(county)
    return county


@contextmanager
def alert_writes_held():
    db = connection.settings_dict
    with psycopg.connect(
        host=db["HOST"],
        port=db["PORT"],
        user=db["USER"],
        password=db["PASSWORD"] or None,
        dbname=db["NAME"],
    ) as holder:
        # EXCLUSIVE lets reads through and stops every write until the rollback.
        holder.execute("LOCK TABLE members_alert IN EXCLUSIVE MODE")
        try:
            yield
        finally:
            holder.rollback()


def wait_for_waiting_writers(count: int, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    waiting = 0
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            (waiting,) = cursor.fetchone()
        if waiting >= count:
            return
        time.sleep(0.2)
    raise AssertionError(f"{waiting} of {count} parts reached a write in {timeout} s")


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("split", ["rule", "county"])
def test_after_a_worker_is_killed_mid_scan_the_next_scan_completes_without_duplicates(
    filled, tmp_path, split
):
    scanning.scan()
    expected = scan_data.alert_rows()
    scan_data.reset(filled)
    ScanRun.objects.all().delete()

    with celery_workers("w1", "w2", tmp_path=tmp_path) as (queue, workers):
        with alert_writes_held():
            scan_alerts.apply_async(kwargs={"split": split}, queue=queue)
            wait_for_waiting_writers(2)  # each worker is inside a part
            workers["w1"].kill()
        result = scan_alerts.apply_async(kwargs={"split": split}, queue=queue).get(timeout=180)

    killed, run = ScanRun.objects.order_by("started_at")
    # The killed part's message stays unacknowledged (acks_late) until Redis's visibility
    # timeout (an hour) hands it out again: until then that run is not finished, and says so.
    assert killed.finished_at is None
    assert run.pk == result["run"] and run.finished_at and result["failed_rules"] == 0
    assert {part["worker"].split("@")[0] for part in result["parts"]} == {workers["w2"].name}
    assert scan_data.duplicate_open_alerts() == []
    assert scan_data.alert_rows() == expected


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_part_whose_pool_process_is_killed_runs_again_and_the_scan_finishes(filled, tmp_path):
    scanning.scan()
    expected = scan_data.alert_rows()
    scan_data.reset(filled)
    ScanRun.objects.all().delete()

    with celery_workers("w1", "w2", pool="prefork", tmp_path=tmp_path) as (queue, workers):
        with alert_writes_held():
            scan = scan_alerts.apply_async(queue=queue)
            wait_for_waiting_writers(2)
            (child,) = workers["w1"].children()
            os.kill(child, signal.SIGKILL)  # as the OOM killer would
        result = scan.get(timeout=180)
        log = workers["w1"].log.read_text()

    assert "WorkerLostError" in log  # the kill hit a part, which was sent again
    run = ScanRun.objects.get()
    assert run.pk == result["run"] and run.finished_at and result["failed_rules"] == 0
    assert len(result["parts"]) == len(scanning.scan_parts())
    assert scan_data.duplicate_open_alerts() == []
    assert scan_data.alert_rows() == expected
