"""The OpenAPI schema of /api/v1/ is generated, valid, served, and lists every operation."""

import json

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from openapi_spec_validator import validate

from api.main import api


def generated() -> dict:
    """The schema as JSON has it (response codes become strings)."""
    return json.loads(json.dumps(api.get_openapi_schema(), cls=DjangoJSONEncoder))


def test_the_generated_schema_is_valid_openapi():
    schema = generated()
    validate(schema)  # raises on an invalid document
    assert schema["openapi"].startswith("3.")
    assert schema["components"]["securitySchemes"]["ClientToken"] == {
        "type": "http",
        "scheme": "bearer",
    }


@pytest.mark.django_db
def test_the_served_schema_is_the_generated_one(client):
    served = client.get("/api/v1/openapi.json")
    assert served.status_code == 200
    validate(served.json())
    assert served.json()["paths"].keys() == generated()["paths"].keys()


def test_every_operation_needs_a_token_and_documents_its_refusals():
    for path, operations in generated()["paths"].items():
        for method, operation in operations.items():
            assert operation["security"] == [{"ClientToken": []}], (method, path)
            assert {"401", "403"} <= operation["responses"].keys(), (method, path)
            if "{" in path:
                assert "404" in operation["responses"], (method, path)


def test_no_member_schema_has_a_full_id_number():
    members = generated()["components"]["schemas"]["MemberOut"]["properties"]
    assert "national_id_masked" in members
    assert "national_id" not in members and "birth_date" not in members
