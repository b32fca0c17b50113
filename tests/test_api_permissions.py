"""Every API operation, found from ninja's routers (so a new one cannot be left out), against
every kind of caller: no token (401), a token without the resource's scope (403), the token of
another partner whose user's scope does not hold the object (404, or a list without it), and
the right token (200, with the object).

These are the API's rows of the permission matrix (tests/matrix.py walks the HTML pages).
"""

from dataclasses import dataclass

import pytest
from django.core.cache import cache
from ninja.constants import NOT_SET

from api.main import api
from tests.matrix import url_patterns
from tests.test_api import Partners, get

PREFIX = "/api/v1"
# ninja's own patterns: the schema and its documentation (public: no data), and the root
# (a 404 naming the docs' address).
NOT_OPERATIONS = {"api:openapi-json", "api:openapi-view", "api:api-root"}


@pytest.fixture
def partners(db) -> Partners:
    cache.clear()  # the rate limit's counts
    return Partners()


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # as in the schema, with {name} for path parameters
    name: str  # the view function: the schema's operationId
    url_name: str
    scope: str

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def operations() -> list[Operation]:
    found = []
    for prefix, router in api._routers:
        for path, view in router.path_operations.items():
            for operation in view.operations:
                auth = operation.auth_param if operation.auth_param is not NOT_SET else router.auth
                for method in operation.methods:
                    found.append(
                        Operation(
                            method=method,
                            path=PREFIX + prefix + path,
                            name=operation.view_func.__name__,
                            url_name=operation.url_name,
                            scope=auth.scope,
                        )
                    )
    return found


OPERATIONS = operations()

# What stands for county A's object behind each path parameter and in each scope's lists. A new
# parameter or scope fails here (KeyError) until the test knows which object to ask for.
PARAMETERS = {
    "member_id": lambda p: p.member.pk,
    "episode_id": lambda p: p.member.mobility_episodes.get().pk,
    "certificate_id": lambda p: p.member.certificates.get().pk,
    "transfer_id": lambda p: p.member.transfers.get().pk,
    "alert_id": lambda p: p.member.alerts.get().pk,
    "organisation_id": lambda p: p.a.county.pk,
}
IN_LISTS = {
    "members": PARAMETERS["member_id"],
    "episodes": PARAMETERS["episode_id"],
    "certificates": PARAMETERS["certificate_id"],
    "transfers": PARAMETERS["transfer_id"],
    "alerts": PARAMETERS["alert_id"],
    "figures": PARAMETERS["organisation_id"],
}


def url_of(operation: Operation, partners: Partners) -> tuple[str, int | None]:
    """The operation's URL for county A's object, and the object's id when it names one."""
    if "{" not in operation.path:
        return operation.path, None
    name = operation.path.split("{", 1)[1].split("}", 1)[0]
    pk = PARAMETERS[name](partners)
    return operation.path.replace("{" + name + "}", str(pk)), pk


def ids_in(body: dict) -> list[int]:
    """The ids of the objects an answer shows: a cursor page's rows, or one object."""
    if "results" in body:
        return [row["id"] for row in body["results"]]
    if "organisation" in body:  # figures: of one organisation's subtree
        return [body["organisation"]["id"]]
    return [body["id"]]


def test_every_operation_is_found_and_is_in_the_schema():
    schema = api.get_openapi_schema()["paths"]
    in_schema = {
        (m.upper(), path, o["operationId"]) for path, ops in schema.items() for m, o in ops.items()
    }
    assert in_schema == {(o.method, o.path, o.name) for o in OPERATIONS}
    assert len(OPERATIONS) >= 12


def test_every_api_url_pattern_is_an_operation_here():
    """The URL names tests/matrix.py sees under api: are these operations' (and ninja's own)."""
    names = {name for name, _route in url_patterns() if name.startswith("api:")}
    assert names == {f"api:{o.url_name}" for o in OPERATIONS} | NOT_OPERATIONS


@pytest.mark.parametrize("operation", OPERATIONS, ids=str)
def test_without_a_token_it_is_401(client, partners, operation):
    url, _pk = url_of(operation, partners)
    assert get(client, url).status_code == 401


@pytest.mark.parametrize("operation", OPERATIONS, ids=str)
def test_a_token_without_the_scope_is_403(client, partners, operation):
    url, _pk = url_of(operation, partners)
    assert get(client, url, partners.token_none).status_code == 403
    # Every scope but this one is not enough either.
    partners.client_none.scopes = [s for s in IN_LISTS if s != operation.scope]
    partners.client_none.save()
    assert get(client, url, partners.token_none).status_code == 403


@pytest.mark.parametrize("operation", OPERATIONS, ids=str)
def test_the_right_token_is_200_with_the_object(client, partners, operation):
    url, _pk = url_of(operation, partners)
    answer = get(client, url, partners.token_a)
    assert answer.status_code == 200
    assert IN_LISTS[operation.scope](partners) in ids_in(answer.json())


@pytest.mark.parametrize("operation", OPERATIONS, ids=str)
def test_another_partners_token_does_not_see_the_object(client, partners, operation):
    url, pk = url_of(operation, partners)
    answer = get(client, url, partners.token_b)
    if pk is not None:
        assert answer.status_code == 404
    else:
        assert answer.status_code == 200
        assert IN_LISTS[operation.scope](partners) not in ids_in(answer.json())
