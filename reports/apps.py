from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    """The top room: the dashboard, its figures kept current by the writes, nightly snapshots
    for the trends, yearly statistics and the printable report. It reads every other app;
    none reads it."""

    name = "reports"
    verbose_name = _("Reports")

    def ready(self) -> None:
        # The kept figures of large subtrees, offered to the pages below that count: the alert
        # inbox's counts per kind (live.py registers them) and the ledger's completeness.
        from ledgers.selectors import register_kept_completeness

        from . import live, receivers, tasks  # noqa: F401 - tasks registers its queues with live

        receivers.connect()  # writes mark the kept figures stale
        register_kept_completeness(live.kept_completeness)
