from ninja import Router
from ninja.pagination import paginate

from alerts.selectors import alert_get, alerts_visible_to

from ..auth import ClientToken, user_of
from ..models import Scope
from ..pagination import IdCursor
from ..schemas import AlertOut, Error

router = Router(tags=["alerts"], auth=ClientToken(Scope.ALERTS))
REFUSED = {401: Error, 403: Error, 429: Error}


@router.get("", response={200: list[AlertOut], **REFUSED}, url_name="alerts")
@paginate(IdCursor)
def list_alerts(request):
    """Open alerts of members in scope (snoozed ones hide until their date, as in the inbox)."""
    return alerts_visible_to(user_of(request))


@router.get("/{alert_id}", response={200: AlertOut, 404: Error, **REFUSED}, url_name="alert")
def get_alert(request, alert_id: int):
    """One alert, open or closed."""
    return alert_get(user=user_of(request), pk=alert_id)
