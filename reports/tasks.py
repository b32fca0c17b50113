from celery import shared_task
from django.utils import timezone

from members.models import Organisation

from . import live, snapshots


@shared_task
def take_snapshots() -> int:
    """Nightly, after the scan: every organisation's figures counted again (time alone changes
    them), then the day's snapshot of each for the trends."""
    return snapshots.take_snapshots(today=timezone.localdate())


@shared_task
def refresh_live_figures(organisation_ids: list[int]) -> int:
    """After a write: recount the organisations it touched and roll their ancestors up."""
    return live.refresh(organisation_ids=organisation_ids, today=timezone.localdate())


@shared_task
def refresh_live_subtree(organisation_id: int) -> int:
    """A page found many stale rows (a new day, a worker that was down): recount its subtree."""
    organisation = Organisation.objects.filter(pk=organisation_id).first()
    if organisation is None:
        return 0
    return live.refresh_subtree(organisation, today=timezone.localdate())


@shared_task
def refresh_live_everything() -> int:
    """After the scan: every organisation recounted (its alerts went in by bulk writes)."""
    return live.refresh_all(today=timezone.localdate())


# live.py asks for recounts through these (it does not import this module).
live.register_queues(
    organisations=lambda ids: refresh_live_figures.delay(ids),
    subtree=lambda organisation_id: refresh_live_subtree.delay(organisation_id),
    everything=lambda: refresh_live_everything.delay(),
)
