from django.db.models import QuerySet

from members.selectors import members_visible_to

from .models import MobilityEpisode


def current_episodes_visible_to(user) -> QuerySet[MobilityEpisode]:
    return MobilityEpisode.objects.filter(
        returned_on__isnull=True, member__in=members_visible_to(user)
    )
