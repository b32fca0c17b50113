from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LedgersConfig(AppConfig):
    """Five-clears ledger, contact log, census campaigns, spreadsheet import/export (issue 4)."""

    name = "ledgers"
    verbose_name = _("Five-clears ledger")

    def ready(self):
        # Registers the alert inbox's nightly counts for large subtrees (members.alerts).
        from . import dashboard  # noqa: F401
