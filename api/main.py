"""The API object: routers per resource, token auth, rate limits, Chinese error messages."""

from django.utils.translation import gettext as _
from ninja import NinjaAPI, Swagger
from ninja.errors import AuthenticationError, Throttled

from .routers import alerts, certificates, episodes, figures, members, transfers
from .throttling import TokenRateThrottle


class LiudongAPI(NinjaAPI):
    def get_openapi_operation_id(self, operation) -> str:
        return operation.view_func.__name__  # list_members, get_member: unique here


api = LiudongAPI(
    title="Liudong API",
    version="1",
    description=(
        "Read-only API of Liudong (流动党员管理). Send `Authorization: Bearer <token>`; "
        "a client sees what its user sees. Lists are cursor pages: follow `next`."
    ),
    urls_namespace="api",
    # validatorUrl: Swagger UI would otherwise send the schema to validator.swagger.io.
    docs=Swagger(settings={"validatorUrl": None}),
    throttle=[TokenRateThrottle()],
)
api.add_router("/members", members.router)
api.add_router("/episodes", episodes.router)
api.add_router("/certificates", certificates.router)
api.add_router("/transfers", transfers.router)
api.add_router("/alerts", alerts.router)
api.add_router("/figures", figures.router)


@api.exception_handler(AuthenticationError)
def unauthorised(request, exc):
    return api.create_response(request, {"detail": _("A valid API token is required.")}, status=401)


@api.exception_handler(Throttled)
def throttled(request, exc):
    return api.create_response(
        request, {"detail": _("Too many API calls; try again shortly.")}, status=429
    )
