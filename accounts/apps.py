from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    """Signing in: two-step login, the staff accounts and their import, the access-log page,
    and the nightly tidying of sessions and login attempts. Above members/, whose scoping
    rests on the staff assignment and which writes the access log."""

    name = "accounts"
    verbose_name = _("Accounts and sign-in")
