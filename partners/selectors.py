"""Reads of partners/: the incoming electronic letters and certificates a user may see and
act on (the receiving or inflow organisation's subtree)."""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from members.selectors import scope_root_of, sees_everything

from .models import IncomingCertificate, IncomingTransfer, OutgoingMessage


def incoming_visible_to(user) -> QuerySet[IncomingTransfer]:
    """Letters to a branch in the user's subtree (its secretary, the reviewers above it)."""
    return _in_scope(user, IncomingTransfer.objects.select_related("partner", "to_organisation"))


def _in_scope(user, incoming: QuerySet) -> QuerySet:
    if sees_everything(user):
        return incoming
    root = scope_root_of(user)
    if root is None:
        return incoming.none()
    return incoming.filter(to_organisation__path__startswith=root.path)


def incoming_get(*, user, pk: int) -> IncomingTransfer:
    """Outside the user's scope: 404, never 403."""
    return get_object_or_404(incoming_visible_to(user), pk=pk)


def incoming_pending_count(*, user) -> int:
    return incoming_visible_to(user).filter(state=IncomingTransfer.State.PENDING).count()


def outbox_for_transfer(transfer_id: int) -> QuerySet[OutgoingMessage]:
    return OutgoingMessage.objects.filter(transfer_id=transfer_id).select_related("partner")


def certificates_visible_to(user) -> QuerySet[IncomingCertificate]:
    """Certificates naming an organisation in the user's subtree as the inflow side."""
    return _in_scope(user, IncomingCertificate.objects.select_related("partner", "to_organisation"))


def certificate_get(*, user, pk: int) -> IncomingCertificate:
    """Outside the user's scope: 404, never 403."""
    return get_object_or_404(certificates_visible_to(user), pk=pk)
