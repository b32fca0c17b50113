from django.apps import AppConfig, apps
from django.utils.translation import gettext_lazy as _

# The names the admin index shows for the sign-in libraries, which ship no Chinese: axes's own
# msgids (translated in our catalogue, which Django reads first), and names of our own where
# the library's are plain strings.
AXES_NAMES = (
    _("access attempt"),
    _("access attempts"),
    _("access failure"),
    _("access failures"),
    _("access log"),
    _("access logs"),
    _("access attempt expiration"),
    _("access attempt expirations"),
)


class AccountsConfig(AppConfig):
    """Signing in: two-step login, the staff accounts and their import, the access-log page,
    and the nightly tidying of sessions and login attempts. Above members/, whose scoping
    rests on the staff assignment and which writes the access log."""

    name = "accounts"
    verbose_name = _("Accounts and sign-in")

    def ready(self) -> None:
        from django_otp.plugins.otp_totp.models import TOTPDevice

        apps.get_app_config("axes").verbose_name = _("Login protection (failed logins)")
        apps.get_app_config("otp_totp").verbose_name = _("Two-step login")
        TOTPDevice._meta.verbose_name = _("authenticator app")
        TOTPDevice._meta.verbose_name_plural = _("authenticator apps")
