from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AlertsConfig(AppConfig):
    """The alert engine: the rule registry, the nightly scan, the inbox, reminder e-mails and
    digests. The domain apps register their rules here from their own ready(); members/ tells
    it about changed evidence by a signal, since it may not import this room."""

    name = "alerts"
    verbose_name = _("Alerts")

    def ready(self) -> None:
        from members.signals import evidence_changed

        from . import services

        evidence_changed.connect(services.reevaluate_soon, dispatch_uid="alerts.reevaluate_soon")
