"""/api/v1/: ninja's patterns, each open to token holders (no login page) and logged."""

from functools import wraps

from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.views.decorators.http import require_safe

from infrastructure.client_address import client_address

from .main import api
from .services import record_call

app_name = "api"


def logged(view):
    """Every call into the access log, whatever the answer; a log that fails answers 500.

    Not atomic: the reads need no transaction, and a call that fails is still logged.
    """

    @wraps(view)
    def call(request, *args, **kwargs):
        try:
            response = view(request, *args, **kwargs)
        except Exception:
            _record(request, 500)
            raise
        _record(request, response.status_code)
        return response

    return login_not_required(transaction.non_atomic_requests(call))


def _record(request, status: int) -> None:
    record_call(
        token=getattr(request, "auth", None) or getattr(request, "api_token", None),
        method=request.method,
        path=request.path,
        query=request.META.get("QUERY_STRING", ""),
        status=status,
        ip_address=client_address(request),
    )


# The schema and its documentation are read-only pages; ninja would answer a POST too.
READ_ONLY_PAGES = {"openapi-json", "openapi-view"}

patterns, _app, _namespace = api.urls
for pattern in patterns:
    view = pattern.callback
    if pattern.name in READ_ONLY_PAGES:
        view = require_safe(view)
    pattern.callback = logged(view)
urlpatterns = patterns
