from django.shortcuts import get_object_or_404
from ninja import Router
from ninja.pagination import paginate

from transfers.models import RelationshipTransfer
from transfers.selectors import transfers_visible_to

from ..auth import ClientToken, user_of
from ..models import Scope
from ..pagination import IdCursor
from ..schemas import Error, TransferOut

router = Router(tags=["transfers"], auth=ClientToken(Scope.TRANSFERS))
REFUSED = {401: Error, 403: Error, 429: Error}


@router.get("", response={200: list[TransferOut], **REFUSED}, url_name="transfers")
@paginate(IdCursor)
def list_transfers(request, state: RelationshipTransfer.State | None = None):
    """Transfers of members in scope, and those coming to an organisation in scope."""
    transfers = transfers_visible_to(user_of(request))
    return transfers.filter(state=state) if state else transfers


@router.get(
    "/{transfer_id}", response={200: TransferOut, 404: Error, **REFUSED}, url_name="transfer"
)
def get_transfer(request, transfer_id: int):
    # transfers.selectors.transfer_get also reads the letters and events the page shows.
    return get_object_or_404(transfers_visible_to(user_of(request)), pk=transfer_id)
