from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TransfersConfig(AppConfig):
    name = "transfers"
    verbose_name = _("Mobility and transfers")

    def ready(self) -> None:
        # Registered with members/: the transfer rules, the member page's mobility section,
        # and which members an organisation hosts (the inflow side's scope).
        from . import rules, sections, selectors  # noqa: F401
