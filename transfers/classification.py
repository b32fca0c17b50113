"""What arrangement the rules require for a member who is away. Pure: no database.

Periods count as the Civil Code counts them (arts. 200-203, `members/periods.py`): "six months
after D" ends on the corresponding day six months later (or that month's last day), and the
six months "have passed" from the day after. The SQL twin in `selectors.arrangement_expression`
compares the date with `period_cutoff`, built from the same helper, so the member page, the
lists and the rules always agree.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from members.periods import months_after, period_over

# MobilityEpisode.AbroadPurpose values (kept here as strings: this module reads no models).
ABROAD_STUDY = "study"
ABROAD_SETTLED_PRIVATELY = "settled_privately"


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
    abroad_purpose: str = ""
    # 暂时无法转移: the reason in words and the last day it holds.
    transfer_deferred: str = ""
    transfer_deferred_until: date | None = None


@dataclass(frozen=True)
class Classification:
    arrangement: Arrangement
    due_on: date | None
    explanation: str
    next_step: str
    suspension_due: bool = False


def months_passed(since: date, today: date, months: int) -> bool:
    """The period of `months` months after `since` is over on `today` (Civil Code)."""
    return period_over(since, months, today=today)


def first_day_passed(since: date, months: int) -> date:
    """The first day on which `months_passed(since, day, months)` holds: the day after the
    period's last day."""
    return months_after(since, months) + timedelta(days=1)


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
        return _classify_abroad(episode, today, t)

    if episode.mobility_type == "study" and episode.graduated_on:
        # The retention's last day; it has ended from the day after.
        ends_on = months_after(episode.graduated_on, 12 * t.graduate_retention_years)
        if period_over(episode.graduated_on, 12 * t.graduate_retention_years, today=today):
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
    deferred = (
        episode.transfer_deferred_until is not None and episode.transfer_deferred_until >= today
    )
    if episode.is_fixed_place and today >= transfer_on and deferred:
        return Classification(
            Arrangement.CERTIFICATE,
            episode.transfer_deferred_until,
            _(
                "Away for %(months)d months or more at a relatively fixed place, but the "
                "relationship cannot be transferred for now (%(reason)s), until %(date)s. Under "
                "the rules on the mobile Party member activity certificate, a member away long "
                "who cannot transfer for now carries the certificate and joins organisational "
                "life where they are; the home branch stays responsible."
            )
            % {
                "months": t.transfer_after_months,
                "reason": episode.transfer_deferred,
                "date": episode.transfer_deferred_until.isoformat(),
            },
            _(
                "Make sure the member holds a valid activity certificate. After %(date)s, "
                "transfer the relationship or record why it still cannot be transferred."
            )
            % {"date": episode.transfer_deferred_until.isoformat()},
        )
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


def _classify_abroad(episode: EpisodeFacts, today: date, t: Thresholds) -> Classification:
    """Reg. art. 34 keeps the relationship of a member abroad with the former unit, which
    contacts them every half year; art. 24 normally suspends membership after more than five
    years of study or research abroad without returning, and for a member who went abroad
    privately and settled there. Work abroad (e.g. posted by an employer) is not covered."""
    years = t.overseas_suspension_years
    if episode.abroad_purpose == ABROAD_SETTLED_PRIVATELY:
        return Classification(
            Arrangement.OVERSEAS,
            None,
            _(
                "Went abroad privately and settled there. Under Article 24 of the Regulations on "
                "the Education and Management of Party Members, membership is normally "
                "suspended; the organisation holding the relationship decides."
            ),
            _("The branch should contact the member, then decide on suspension."),
            suspension_due=True,
        )
    suspension_on = first_day_passed(episode.left_on, 12 * years)
    if episode.abroad_purpose == ABROAD_STUDY and today >= suspension_on:
        return Classification(
            Arrangement.OVERSEAS,
            suspension_on,
            _(
                "Studying or researching abroad for more than %(years)d years without "
                "returning. Under Article 24 of the Regulations on the Education and Management "
                "of Party Members, membership is normally suspended; the organisation holding "
                "the relationship decides."
            )
            % {"years": years},
            _("The branch should contact the member, then decide on suspension."),
            suspension_due=True,
        )
    since = episode.last_contact_on or episode.left_on
    contact_due = months_after(since, t.overseas_contact_months)  # the half year's last day
    next_step = _("Contact the member by %(date)s.") % {"date": contact_due.isoformat()}
    if episode.abroad_purpose == ABROAD_STUDY:
        next_step += " " + _(
            "If still studying abroad after %(date)s, membership is normally suspended "
            "(Article 24)."
        ) % {"date": months_after(episode.left_on, 12 * years).isoformat()}
    elif not episode.abroad_purpose:
        next_step += " " + _(
            "Record why the member is abroad: Article 24 applies to study or research over "
            "%(years)d years and to settling abroad privately, not to work abroad."
        ) % {"years": years}
    return Classification(
        Arrangement.OVERSEAS,
        contact_due,
        _(
            "Studying, working or living abroad: under Article 34 of the Regulations on "
            "the Education and Management of Party Members the relationship stays with the "
            "former unit, which contacts the member at least every %(months)d months."
        )
        % {"months": t.overseas_contact_months},
        next_step,
    )
