"""Who may call the API (clients and their tokens) and what each call was (the access log)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class Scope(models.TextChoices):
    """The resources a client may read; each router asks for one."""

    MEMBERS = "members", _("Members")
    EPISODES = "episodes", _("Mobility episodes")
    CERTIFICATES = "certificates", _("Activity certificates")
    TRANSFERS = "transfers", _("Relationship transfers")
    ALERTS = "alerts", _("Alerts")
    FIGURES = "figures", _("Dashboard figures")


class ApiClient(models.Model):
    """A partner deployment or another program reading the API, scoped like its user.

    Every read goes through the user's scope (members.selectors), so a client sees what its
    user would see on the pages and nothing more; `scopes` narrows that to some resources.
    """

    class Kind(models.TextChoices):
        PARTNER = "partner", _("Partner deployment")
        CLIENT = "client", _("Client program")

    name = models.CharField(_("name"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="api_clients",
        verbose_name=_("acts as user"),
        help_text=_("The client sees what this user sees (their staff assignment)."),
    )
    scopes = models.JSONField(_("may read"), default=list, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    history = HistoricalRecords(excluded_fields=["last_used_at"])

    class Meta:
        verbose_name = _("API client")
        verbose_name_plural = _("API clients")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def may_read(self, scope: str) -> bool:
        return scope in (self.scopes or [])


class ApiToken(models.Model):
    """A bearer token; only its SHA-256 digest is kept (the token is shown once)."""

    client = models.ForeignKey(
        ApiClient, on_delete=models.CASCADE, related_name="tokens", verbose_name=_("API client")
    )
    digest = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(_("begins with"), max_length=12, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.client} · {self.prefix}…"


class ApiCall(models.Model):
    """One call of the API, whatever its answer (401, 403, 404 and 429 included)."""

    client = models.ForeignKey(
        ApiClient,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="calls",
        verbose_name=_("API client"),
    )
    token = models.ForeignKey(
        ApiToken, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    method = models.CharField(_("method"), max_length=10)
    path = models.CharField(_("path"), max_length=300)
    query = models.CharField(_("query"), max_length=300, blank=True)
    status = models.PositiveSmallIntegerField(_("status"))
    at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    class Meta:
        verbose_name = _("API call")
        verbose_name_plural = _("API calls")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["client", "at"], name="api_call_client_at")]

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.status}"
