from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LedgersConfig(AppConfig):
    """Five-clears ledger, contact log, census campaigns, spreadsheet import/export (issue 4)."""

    name = "ledgers"
    verbose_name = _("Five-clears ledger")

    def ready(self) -> None:
        # Registered with alerts/ and members/: the contact and standing rules, the member
        # page's ledger and standing sections.
        from . import rules, sections  # noqa: F401
