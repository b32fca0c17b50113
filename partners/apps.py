from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PartnersConfig(AppConfig):
    """Other Liudong deployments: electronic transfers and certificates between them (#20)."""

    name = "partners"
    verbose_name = _("Partner deployments")
