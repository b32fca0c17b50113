"""A large export started in a request is picked up by a real worker, every time (issue #16).

Before, the view created the job inside the request's transaction and sent the task at once:
a worker quicker than the rest of the request did not find the job, and the export stayed
"running" for ever. The request is slowed here after the task is sent, so that the worker is
always the quicker one.
"""

import time
from datetime import date

import pytest
from django.contrib import messages
from django.urls import reverse

from ledgers import tasks
from ledgers.models import LedgerExport
from tests.workers import celery_workers
from transfers.models import MobilityEpisode


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_an_export_started_in_a_request_is_picked_up_by_a_real_worker(
    tmp_path, county, client, settings, monkeypatch
):
    settings.EXPORT_BACKGROUND_ROWS = 0
    member = county.member(county.branch_a, name="外出甲")
    MobilityEpisode.objects.create(
        member=member, mobility_type="work", left_on=date(2025, 3, 1), destination_province="广东省"
    )
    client.force_login(county.secretary(county.branch_a, "sec"))
    info = messages.info

    def slow_info(*args, **kwargs):
        time.sleep(2)  # the rest of the request, after the task went out
        return info(*args, **kwargs)

    monkeypatch.setattr(messages, "info", slow_info)
    with celery_workers("exports", tmp_path=tmp_path) as (queue, _workers):
        monkeypatch.setattr(tasks.export_ledger, "_exec_options", {"queue": queue})
        for _ in range(3):
            response = client.get(reverse("ledgers:export", args=["csv"]))
            assert response.url == reverse("ledgers:jobs")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            states = list(LedgerExport.objects.values_list("status", flat=True))
            if states and all(state != LedgerExport.Status.RUNNING for state in states):
                break
            time.sleep(0.2)
    assert states == [LedgerExport.Status.READY] * 3
