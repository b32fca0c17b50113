from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LedgersConfig(AppConfig):
    """Five-clears ledger, contact log, census campaigns, spreadsheet import/export (issue 4)."""

    name = "ledgers"
    verbose_name = _("Five-clears ledger")

    def ready(self) -> None:
        # Registered with members/: the contact and standing rules, the member page's ledger
        # and standing sections, and the alert inbox's nightly counts for large subtrees.
        from . import dashboard, rules, sections  # noqa: F401
