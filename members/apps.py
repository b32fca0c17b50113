from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MembersConfig(AppConfig):
    """The bottom layer: organisations, members, scoping, history. It registers nothing; the
    apps above register their rules, member-page sections and hosting with it in ready()."""

    name = "members"
    verbose_name = _("Organisations and members")
