"""Which writes make which kept figures stale (reports.live.mark_changed).

Writes through the services send members.signals.evidence_changed after their commit; single
saves of members, episodes, transfers and alerts are caught by Django's model signals. Bulk
work that bypasses both (an import, the scan) marks or recounts by itself.
"""

from django.db import transaction
from django.db.models.signals import post_delete, post_init, post_save

from alerts.models import Alert
from ledgers.models import LedgerRecord
from members.models import Member
from members.signals import bulk_changed, evidence_changed
from transfers.models import ActivityCertificate, MobilityEpisode, RelationshipTransfer

from . import live


def _homes(member_ids) -> set[int]:
    return set(Member.objects.filter(pk__in=member_ids).values_list("home_branch_id", flat=True))


def members_changed(sender, *, member_ids, **kwargs) -> None:
    """Their home branches, and the organisations hosting them now."""
    hosts = MobilityEpisode.objects.away_now().filter(member_id__in=member_ids)
    live.mark_changed(
        _homes(member_ids) | set(hosts.values_list("inflow_organisation_id", flat=True))
    )


def bulk_written(sender, *, member_ids=None, organisation_id=None, **kwargs) -> None:
    """An import or the scan: those members, else the subtree, else everything, recounted."""
    if member_ids is not None:
        members_changed(sender, member_ids=member_ids)
        return

    def queue():
        if organisation_id is None:
            live.queue_everything()
        else:
            live._queue_subtree(organisation_id)

    transaction.on_commit(queue)


def _remember_home(sender, instance: Member, **kwargs) -> None:
    instance._counted_home = instance.__dict__.get("home_branch_id")


def member_saved(sender, instance: Member, **kwargs) -> None:
    live.mark_changed({instance.home_branch_id, getattr(instance, "_counted_home", None)})
    instance._counted_home = instance.home_branch_id


def episode_saved(sender, instance: MobilityEpisode, **kwargs) -> None:
    live.mark_changed(_homes([instance.member_id]) | {instance.inflow_organisation_id})


def transfer_saved(sender, instance: RelationshipTransfer, **kwargs) -> None:
    live.mark_changed({instance.from_branch_id, instance.to_organisation_id})


def member_record_saved(sender, instance, **kwargs) -> None:
    """An alert, a five-clears record, a certificate: the member's home branch."""
    live.mark_changed(_homes([instance.member_id]))


def connect() -> None:
    evidence_changed.connect(members_changed, dispatch_uid="reports.members_changed")
    bulk_changed.connect(bulk_written, dispatch_uid="reports.bulk_written")
    post_init.connect(_remember_home, sender=Member, dispatch_uid="reports.remember_home")
    for model, receiver in (
        (Member, member_saved),
        (MobilityEpisode, episode_saved),
        (RelationshipTransfer, transfer_saved),
        (Alert, member_record_saved),
        (LedgerRecord, member_record_saved),
        (ActivityCertificate, member_record_saved),
    ):
        post_save.connect(receiver, sender=model, dispatch_uid=f"reports.{receiver.__name__}")
        post_delete.connect(
            receiver, sender=model, dispatch_uid=f"reports.{receiver.__name__}_gone"
        )
