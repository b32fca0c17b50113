from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ActivitiesConfig(AppConfig):
    """Organisational life, attendance, dues and evaluations (issue 5)."""

    name = "activities"
    verbose_name = _("Organisational life and dues")

    def ready(self) -> None:
        # Registered with members/: the life, dues and work rules and the member page's section.
        from . import rules, sections  # noqa: F401
