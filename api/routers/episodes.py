from ninja import Router
from ninja.pagination import paginate

from ..auth import ClientToken, user_of
from ..models import Scope
from ..pagination import IdCursor
from ..schemas import EpisodeOut, Error
from ..selectors import episode_get, episodes_visible_to

router = Router(tags=["episodes"], auth=ClientToken(Scope.EPISODES))
REFUSED = {401: Error, 403: Error, 429: Error}


@router.get("", response={200: list[EpisodeOut], **REFUSED}, url_name="episodes")
@paginate(IdCursor)
def list_episodes(request, current: bool | None = None):
    """Mobility episodes; `current=true` for the members away now."""
    episodes = episodes_visible_to(user_of(request))
    if current is not None:
        episodes = episodes.filter(ended_on__isnull=current)
    return episodes


@router.get("/{episode_id}", response={200: EpisodeOut, 404: Error, **REFUSED}, url_name="episode")
def get_episode(request, episode_id: int):
    return episode_get(user=user_of(request), pk=episode_id)
