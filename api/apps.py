from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    """/api/v1/: the JSON API for partner deployments and clients (issue #20)."""

    name = "api"
    verbose_name = _("API")
