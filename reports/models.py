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
