"""Reads for the API: the token's client, and the resources that pages have no selector for.

Everything else reuses the rooms' own scoping (members_visible_to, certificates_visible_to,
transfers_visible_to, alerts_visible_to): a client sees what its user sees.
"""

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from members.selectors import members_editable_by, members_visible_to
from transfers.models import MobilityEpisode

from .models import ApiToken
from .services import TOKEN_PREFIX, token_digest


def token_lookup(token: str) -> ApiToken | None:
    """The live token with its client, user and the user's assignment, in one query."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        return None
    return (
        ApiToken.objects.select_related(
            "client", "client__user", "client__user__assignment__organisation"
        )
        .filter(
            digest=token_digest(token),
            revoked_at__isnull=True,
            client__is_active=True,
            client__user__is_active=True,
        )
        .first()
    )


def episodes_visible_to(user) -> QuerySet[MobilityEpisode]:
    """The home side's episodes, all of them; the hosting side's, the current ones only
    (the episode is why it sees the member at all)."""
    return MobilityEpisode.objects.filter(
        Q(member__in=members_editable_by(user))
        | Q(ended_on__isnull=True, member__in=members_visible_to(user))
    ).select_related("member", "inflow_organisation", "inflow_external")


def episode_get(*, user, pk: int) -> MobilityEpisode:
    return get_object_or_404(episodes_visible_to(user), pk=pk)
