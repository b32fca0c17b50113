from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from members.models import ExternalOrganisation, Member, Organisation


class MobilityEpisode(models.Model):
    """One stretch of time a member lives, works or studies away from their home branch."""

    class Type(models.TextChoices):
        WORK = "work", _("Work")
        STUDY = "study", _("Study")
        SETTLED = "settled", _("Settled (family or housing)")
        TEMPORARY = "temporary", _("Temporary")
        ABROAD = "abroad", _("Abroad")

    member = models.ForeignKey(
        Member, on_delete=models.CASCADE, related_name="mobility_episodes", verbose_name=_("member")
    )
    mobility_type = models.CharField(_("mobility type"), max_length=20, choices=Type.choices)
    left_on = models.DateField(_("left on"))
    destination_province = models.CharField(_("province"), max_length=30, blank=True)
    destination_city = models.CharField(_("city"), max_length=30, blank=True)
    destination_country = models.CharField(_("country or region"), max_length=50, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    employer = models.CharField(_("employer or school"), max_length=100, blank=True)
    occupation = models.CharField(_("occupation"), max_length=50, blank=True)
    is_fixed_place = models.BooleanField(_("relatively fixed place"), default=False)
    expected_return_on = models.DateField(_("expected return"), null=True, blank=True)
    inflow_organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="hosted_episodes",
        verbose_name=_("inflow organisation (ours)"),
    )
    inflow_external = models.ForeignKey(
        ExternalOrganisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="hosted_episodes",
        verbose_name=_("inflow organisation (external)"),
    )
    returned_on = models.DateField(_("returned on"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("mobility episode")
        verbose_name_plural = _("mobility episodes")
        constraints = [
            models.UniqueConstraint(
                fields=["member"],
                condition=Q(returned_on__isnull=True),
                name="one_current_episode_per_member",
            ),
            models.CheckConstraint(
                condition=Q(inflow_organisation__isnull=True) | Q(inflow_external__isnull=True),
                name="episode_one_inflow_side",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member} · {self.get_mobility_type_display()} · {self.destination}"

    @property
    def is_current(self) -> bool:
        return self.returned_on is None

    @property
    def destination(self) -> str:
        return " ".join(
            part
            for part in (self.destination_country, self.destination_province, self.destination_city)
            if part
        )

    @property
    def inflow(self):
        return self.inflow_organisation or self.inflow_external
