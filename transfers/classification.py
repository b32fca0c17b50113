"""What arrangement the rules require for a member who is away. Pure: no database.

"N months have passed since D" means D <= today - N months (calendar months, clamped at
month ends). The SQL filters in `selectors.py` use the same cut-off, so the member page
and the lists always agree.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


class Arrangement(models.TextChoices):
    TRANSFER_REQUIRED = "transfer_required", gettext_lazy("Transfer required")
    CERTIFICATE = "certificate", gettext_lazy("Activity certificate")
    OVERSEAS = "overseas", gettext_lazy("Abroad, relationship retained")
    GRADUATE = "graduate", gettext_lazy("Graduate, relationship retained")
    NONE = "none", gettext_lazy("No arrangement needed")


@dataclass(frozen=True)
class Thresholds:
    transfer_after_months: int = 6
    overseas_contact_months: int = 6
    overseas_suspension_years: int = 5
    graduate_retention_years: int = 2

    @classmethod
    def from_settings(cls) -> "Thresholds":
        return cls(
            transfer_after_months=settings.TRANSFER_AFTER_MONTHS,
            overseas_contact_months=settings.OVERSEAS_CONTACT_MONTHS,
            overseas_suspension_years=settings.OVERSEAS_SUSPENSION_YEARS,
            graduate_retention_years=settings.GRADUATE_RETENTION_YEARS,
        )


@dataclass(frozen=True)
class EpisodeFacts:
    mobility_type: str
    left_on: date
    is_fixed_place: bool
    graduated_on: date | None = None
    last_contact_on: date | None = None


@dataclass(frozen=True)
class Classification:
    arrangement: Arrangement
    due_on: date | None
    explanation: str
    next_step: str
    suspension_due: bool = False


def months_passed(since: date, today: date, months: int) -> bool:
    return since <= today - relativedelta(months=months)


def first_day_passed(since: date, months: int) -> date:
    """The first day on which `months_passed(since, day, months)` holds."""
    day = since + relativedelta(months=months)
    while not months_passed(since, day, months):
        day += timedelta(days=1)
    return day


def classify(
    *,
    episode: EpisodeFacts | None,
    member_active: bool,
    today: date,
    thresholds: Thresholds | None = None,
) -> Classification:
    t = thresholds or Thresholds.from_settings()
    if episode is None or not member_active:
        return Classification(
            Arrangement.NONE,
            None,
            _("The member is not away, or is no longer an active member."),
            "",
        )

    if episode.mobility_type == "abroad":
        suspension_on = first_day_passed(episode.left_on, 12 * t.overseas_suspension_years)
        if today >= suspension_on:
            return Classification(
                Arrangement.OVERSEAS,
                suspension_on,
                _(
                    "Abroad for %(years)d years or more without returning. Under Article 24 of "
                    "the Regulations on the Education and Management of Party Members, "
                    "membership is normally suspended."
                )
                % {"years": t.overseas_suspension_years},
                _("The branch should contact the member, then decide on suspension."),
                suspension_due=True,
            )
        since = episode.last_contact_on or episode.left_on
        contact_due = first_day_passed(since, t.overseas_contact_months)
        return Classification(
            Arrangement.OVERSEAS,
            contact_due,
            _(
                "Studying, working or living abroad: under Article 34 of the Regulations on "
                "the Education and Management of Party Members the relationship stays with the "
                "former unit, which contacts the member at least every %(months)d months."
            )
            % {"months": t.overseas_contact_months},
            _("Contact the member by %(date)s.") % {"date": contact_due.isoformat()},
        )

    if episode.mobility_type == "study" and episode.graduated_on:
        ends_on = first_day_passed(episode.graduated_on, 12 * t.graduate_retention_years)
        if today >= ends_on:
            next_step = _(
                "The retention period has ended: help the member transfer the relationship."
            )
        else:
            next_step = _(
                "Transfer the relationship once the job is settled, by %(date)s at the latest."
            ) % {"date": ends_on.isoformat()}
        return Classification(
            Arrangement.GRADUATE,
            ends_on,
            _(
                "A graduate whose job is not yet settled: under Article 34 of the Regulations "
                "on the Education and Management of Party Members the university keeps the "
                "relationship, normally for no more than %(years)d years."
            )
            % {"years": t.graduate_retention_years},
            next_step,
        )

    transfer_on = first_day_passed(episode.left_on, t.transfer_after_months)
    if episode.is_fixed_place and today >= transfer_on:
        return Classification(
            Arrangement.TRANSFER_REQUIRED,
            transfer_on,
            _(
                "Away for %(months)d months or more at a relatively fixed place: under Article "
                "25 of the Regulations on the Education and Management of Party Members the "
                "organisational relationship should be transferred there."
            )
            % {"months": t.transfer_after_months},
            _("Start the transfer of the organisational relationship."),
        )
    if episode.is_fixed_place:
        return Classification(
            Arrangement.CERTIFICATE,
            transfer_on,
            _(
                "Away for less than %(months)d months: under Article 32 of the Regulations on "
                "the Education and Management of Party Members the member carries the activity "
                "certificate and joins organisational life where they are; the home branch "
                "stays responsible."
            )
            % {"months": t.transfer_after_months},
            _(
                "Issue the activity certificate. If still there on %(date)s, transfer the relationship."
            )
            % {"date": transfer_on.isoformat()},
        )
    return Classification(
        Arrangement.CERTIFICATE,
        None,
        _(
            "No relatively fixed place: under Article 32 of the Regulations on the Education "
            "and Management of Party Members the member carries the activity certificate and "
            "joins organisational life where they are; the home branch stays responsible."
        ),
        _("Issue the activity certificate and keep in touch."),
    )
