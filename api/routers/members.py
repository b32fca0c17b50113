from ninja import Router
from ninja.pagination import paginate

from members.models import Member
from members.selectors import member_get, members_visible_to

from ..auth import ClientToken, user_of
from ..models import Scope
from ..pagination import IdCursor
from ..schemas import Error, MemberOut

router = Router(tags=["members"], auth=ClientToken(Scope.MEMBERS))
REFUSED = {401: Error, 403: Error, 429: Error}


@router.get("", response={200: list[MemberOut], **REFUSED}, url_name="members")
@paginate(IdCursor)
def list_members(request, status: Member.Status | None = None):
    """Members the client's user sees: their own (home side) and those they host."""
    members = members_visible_to(user_of(request)).select_related("home_branch")
    return members.filter(status=status) if status else members


@router.get("/{member_id}", response={200: MemberOut, 404: Error, **REFUSED}, url_name="member")
def get_member(request, member_id: int):
    return member_get(user=user_of(request), pk=member_id)
