from django.db import models


class FigureSnapshot(models.Model):
    """The dashboard's headline figures for one organisation on one day (written nightly)."""

    organisation = models.ForeignKey(
        "members.Organisation", on_delete=models.CASCADE, related_name="+"
    )
    day = models.DateField()
    figures = models.JSONField(default=dict)

    class Meta:
        db_table = "ledgers_figuresnapshot"  # moved from ledgers/; the table kept its name
        ordering = ["day"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "day"], name="one_snapshot_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.organisation} {self.day}"


class LiveFigures(models.Model):
    """The dashboard's figures for one organisation, kept current by the writes (reports.live).

    `direct` counts what the organisation holds itself (its members, their episodes, alerts and
    transfers; the members it hosts, by their home branch's path); `subtree` is `direct` plus
    its children's `subtree`; `ledger` is the outflow ledger's completeness of its own members.
    A write bumps `version`; a refresh records the version it counted
    (`counted_version`) and the day it counted on, so a row is current when both match.
    """

    organisation = models.OneToOneField(
        "members.Organisation", on_delete=models.CASCADE, primary_key=True, related_name="live"
    )
    day = models.DateField()
    direct = models.JSONField(default=dict)
    subtree = models.JSONField(default=dict)
    ledger = models.JSONField(default=dict)  # the outflow ledger's completeness, held directly
    version = models.PositiveBigIntegerField(default=1)
    counted_version = models.PositiveBigIntegerField(default=0)
    refreshed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.organisation_id} {self.day}"
