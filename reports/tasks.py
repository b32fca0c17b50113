from celery import shared_task
from django.utils import timezone

from . import snapshots


@shared_task
def take_snapshots() -> int:
    """Nightly, after the scan: the dashboard figures of every organisation, for the trends."""
    return snapshots.take_snapshots(today=timezone.localdate())
