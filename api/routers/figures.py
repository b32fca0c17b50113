from django.http import Http404
from django.utils import timezone
from ninja import Router

from members.models import Organisation
from members.selectors import organisation_get, scope_root_of, sees_everything
from reports import dashboard

from ..auth import ClientToken, user_of
from ..models import Scope
from ..schemas import Error, FiguresOut

router = Router(tags=["figures"], auth=ClientToken(Scope.FIGURES))
REFUSED = {401: Error, 403: Error, 429: Error}


def _figures(user, organisation: Organisation) -> dict:
    figures = dashboard.figures(user=user, organisation=organisation, today=timezone.localdate())
    lists = ("by_type", "by_province", "arrangements", "alerts_by_kind")
    for name in lists:  # labels are lazy translations
        figures[name] = [{**row, "label": str(row["label"])} for row in figures[name]]
    return {**figures, "organisation": organisation}


@router.get("", response={200: FiguresOut, 404: Error, **REFUSED}, url_name="figures")
def scope_figures(request):
    """The dashboard's figures of the client's whole scope."""
    user = user_of(request)
    root = scope_root_of(user)
    if root is None and sees_everything(user):
        root = Organisation.objects.get_first_root_node()
    if root is None:
        raise Http404
    return _figures(user, root)


@router.get(
    "/{organisation_id}",
    response={200: FiguresOut, 404: Error, **REFUSED},
    url_name="organisation_figures",
)
def organisation_figures(request, organisation_id: int):
    """The figures of one organisation's subtree inside the client's scope."""
    user = user_of(request)
    return _figures(user, organisation_get(user=user, pk=organisation_id))
