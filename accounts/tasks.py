from celery import shared_task

from . import housekeeping as tidying


@shared_task
def housekeeping() -> dict[str, int]:
    """Nightly: drop expired sessions and login attempts whose cool-off has passed."""
    return tidying.housekeeping()
