"""Mobility episodes: leaving, moving, coming home, "cannot transfer for now", why abroad."""

from datetime import date

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from infrastructure.steps import StepRefused
from members.models import Member
from members.periods import months_after
from members.selectors import (
    require_editable,
)
from members.services import evidence_changed

from ..models import (
    ActivityCertificate,
    MobilityEpisode,
)
from .certificates import (
    certificate_end,
)

# --- mobility episodes -------------------------------------------------------------------


@transaction.atomic
def episode_start(*, actor, episode: MobilityEpisode) -> MobilityEpisode:
    """Record that a member has left (or moved on): `episode` is validated and unsaved."""
    member = Member.objects.select_for_update().get(pk=episode.member_id)
    require_editable(actor, member)
    if member.mobility_episodes.current().exists():
        raise StepRefused(_("This member is already recorded as away. Record a move or a return."))
    episode._history_user = actor
    episode.save()
    evidence_changed(member_ids=[member.pk])
    return episode


@transaction.atomic
def episode_end(*, actor, episode: MobilityEpisode, ended_on: date, reason: str) -> MobilityEpisode:
    episode = MobilityEpisode.objects.select_for_update().get(pk=episode.pk)
    require_editable(actor, episode.member)
    if episode.ended_on is not None:
        raise StepRefused(_("This stretch away has already ended."))
    if ended_on < episode.left_on:
        raise StepRefused(_("The end date cannot be before the date of leaving."))
    episode.ended_on, episode.end_reason = ended_on, reason
    episode._history_user = actor
    episode.save()
    if reason == MobilityEpisode.EndReason.RETURNED:
        for certificate in ActivityCertificate.objects.filter(
            member=episode.member, status=ActivityCertificate.Status.VALID
        ):
            certificate_end(
                actor=actor,
                certificate=certificate,
                ended_on=ended_on,
                status=ActivityCertificate.Status.RETURNED,
            )
    evidence_changed(member_ids=[episode.member_id])
    return episode


@transaction.atomic
def episode_move(
    *, actor, episode: MobilityEpisode, moved_on: date, new_episode: MobilityEpisode
) -> MobilityEpisode:
    """A move to a new place: the current stretch ends, a new one starts the same day."""
    episode_end(
        actor=actor, episode=episode, ended_on=moved_on, reason=MobilityEpisode.EndReason.MOVED
    )
    new_episode.member = episode.member
    new_episode.left_on = moved_on
    return episode_start(actor=actor, episode=new_episode)


# A "cannot transfer for now" is looked at again at least once a year.
DEFERRAL_MAX_MONTHS = 12


def deferral_latest_until(today: date) -> date:
    """The furthest until-date a "cannot transfer for now" may have: 12 months ahead."""
    return months_after(today, DEFERRAL_MAX_MONTHS)


@transaction.atomic
def episode_defer_transfer(
    *,
    actor,
    episode: MobilityEpisode,
    reason: str,
    until: date,
    note: str = "",
) -> MobilityEpisode:
    """暂时无法转移: the relationship cannot be transferred for now, for a reason, until a day.

    Until then (inclusive) the member carries the activity certificate and the "transfer
    required" alert stays quiet; the day after, it comes back. The episode's history keeps
    every reason recorded.
    """
    episode = MobilityEpisode.objects.select_for_update().get(pk=episode.pk)
    require_editable(actor, episode.member)
    if episode.ended_on is not None:
        raise StepRefused(_("This stretch away has already ended."))
    if episode.mobility_type == MobilityEpisode.Type.ABROAD:
        raise StepRefused(
            _("A member abroad keeps the relationship with the former unit: nothing to defer.")
        )
    if reason not in MobilityEpisode.DeferredReason.values:
        raise StepRefused(_("Choose why the relationship cannot be transferred for now."))
    note = note.strip()
    if reason == MobilityEpisode.DeferredReason.OTHER and not note:
        raise StepRefused(_("Explain the other reason."))
    today = timezone.localdate()
    if until <= today:
        raise StepRefused(_("The until-date must be after today."))
    if until > deferral_latest_until(today):
        raise StepRefused(
            _("The until-date can be at most %(months)d months ahead, by %(date)s.")
            % {
                "months": DEFERRAL_MAX_MONTHS,
                "date": deferral_latest_until(today).isoformat(),
            }
        )
    episode.transfer_deferred_reason = reason
    episode.transfer_deferred_note = note
    episode.transfer_deferred_until = until
    episode._history_user = actor
    episode.save()
    evidence_changed(member_ids=[episode.member_id])
    return episode


@transaction.atomic
def episode_record_abroad_purpose(
    *, actor, episode: MobilityEpisode, purpose: str
) -> MobilityEpisode:
    """Why the member is abroad: it decides whether Reg. art. 24 applies."""
    episode = MobilityEpisode.objects.select_for_update().get(pk=episode.pk)
    require_editable(actor, episode.member)
    if episode.ended_on is not None:
        raise StepRefused(_("This stretch away has already ended."))
    if episode.mobility_type != MobilityEpisode.Type.ABROAD:
        raise StepRefused(_("The member is not recorded as abroad."))
    if purpose not in MobilityEpisode.AbroadPurpose.values:
        raise StepRefused(_("Choose the purpose of the stay abroad."))
    episode.abroad_purpose = purpose
    episode._history_user = actor
    episode.save()
    evidence_changed(member_ids=[episode.member_id])
    return episode
