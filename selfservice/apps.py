from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SelfServiceConfig(AppConfig):
    """The member's own phone page: a personal link, and what the member does there."""

    name = "selfservice"
    verbose_name = _("The member's own page")

    def ready(self) -> None:
        # The member page's section on the personal link (members/ never imports this room).
        from . import checks, sections, tasks  # noqa: F401 - tasks registers its sender with notify
