"""`Authorization: Bearer <token>`: no or unknown token is a 401, a token whose client may
not read this resource a 403 (the resource exists, the client is told it may not)."""

from django.utils.translation import gettext as _
from ninja.errors import HttpError
from ninja.security import HttpBearer

from .models import ApiToken, Scope
from .selectors import token_lookup


class ClientToken(HttpBearer):
    def __init__(self, scope: Scope):
        self.scope = scope
        super().__init__()

    def authenticate(self, request, token: str) -> ApiToken | None:
        found = token_lookup(token)
        if found is None:
            return None
        request.api_token = found  # the access log names the client even when refused
        if not found.client.may_read(self.scope):
            raise HttpError(403, _("This API client may not read this resource."))
        return found


def user_of(request):
    """The user whose scope every read of this call goes through."""
    return request.auth.client.user
