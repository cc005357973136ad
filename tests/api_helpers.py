"""Checking real API responses against the OpenAPI document: the documented status, schema and $refs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from app.services import openapi

_DOC_URI = "urn:dxportal:openapi"


def _rebase(node: Any) -> Any:
    """Point local ``$ref``s ("#/components/...") at the registered document so any schema resolves them."""
    if isinstance(node, Mapping):
        return {key: (_DOC_URI + value if key == "$ref" and isinstance(value, str) and value.startswith("#/")
                      else _rebase(value)) for key, value in node.items()}
    if isinstance(node, list):
        return [_rebase(item) for item in node]
    return node


def schema_validator(schema: Mapping[str, Any]) -> Draft202012Validator:
    """A JSON Schema 2020-12 validator (OpenAPI 3.1's dialect) resolving $ref within the document."""
    registry = Registry().with_resource(_DOC_URI, Resource(contents=openapi.document(), specification=DRAFT202012))
    return Draft202012Validator(_rebase(schema), registry=registry)


def component(name: str) -> Draft202012Validator:
    return schema_validator({"$ref": f"#/components/schemas/{name}"})


def documented_response(path: str, method: str, status: int) -> dict[str, Any]:
    """The response object the document gives for ``status`` (or ``default``), $ref resolved."""
    responses = openapi.document()["paths"][path][method.lower()]["responses"]
    response = responses.get(str(status), responses.get("default"))
    assert response is not None, f"{method} {path} does not document status {status}"
    while "$ref" in response:
        response = openapi.resolve(response["$ref"])
    return response


def assert_documented(response, path: str, method: str, *, listed: bool = True) -> None:
    """The response's status is documented for the operation (listed explicitly unless ``listed=False``)
    and its body validates against the documented schema."""
    responses = openapi.document()["paths"][path][method.lower()]["responses"]
    if listed:
        assert str(response.status_code) in responses, f"{method} {path} does not list {response.status_code}"
    documented = documented_response(path, method, response.status_code)
    content = documented.get("content")
    if not content:
        assert not response.data, f"{response.status_code} is documented without a body"
        return
    assert response.mimetype in content, f"{response.mimetype} is not documented for {response.status_code}"
    if response.mimetype == "application/json":
        errors = sorted(schema_validator(content["application/json"]["schema"]).iter_errors(response.get_json()),
                        key=str)
        assert not errors, "; ".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])
