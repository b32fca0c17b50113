from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    """The top room: the dashboard, nightly snapshots, yearly statistics and the printable
    report. It reads every other app; none reads it."""

    name = "reports"
    verbose_name = _("Reports")

    def ready(self) -> None:
        # Last night's figures for large subtrees, offered to the pages below that count:
        # the alert inbox's counts per kind and the outflow ledger's completeness per branch.
        from ledgers.selectors import register_nightly_completeness

        from . import dashboard, nightly  # noqa: F401 - dashboard registers its alert counts

        register_nightly_completeness(nightly.nightly_completeness)
