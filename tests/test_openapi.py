"""The OpenAPI document: a valid OpenAPI 3.1 description that matches the routes that exist, whose
examples are true (the documented example request really gets the documented answer), and whose
HTML rendering lists every endpoint and schema."""

from __future__ import annotations

import re

import pytest
from openapi_spec_validator import validate

from app.services import frameworks, openapi
from tests.accounts_helpers import use_english
from tests.api_helpers import assert_documented, schema_validator

API_PREFIX = "/api/v1"
IGNORED_METHODS = {"HEAD", "OPTIONS"}


def _openapi_path(rule: str) -> str:
    """"/api/v1/things/<int:thing_id>" -> "/things/{thing_id}"."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.removeprefix(API_PREFIX))


def _routes(app) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(API_PREFIX + "/"):
            found.setdefault(_openapi_path(rule.rule), set()).update(rule.methods - IGNORED_METHODS)
    return found


def _documented() -> dict[str, set[str]]:
    return {
        path: {method.upper() for method in item if method in openapi.HTTP_METHODS}
        for path, item in openapi.document()["paths"].items()
    }


def test_the_document_is_valid_openapi_3_1():
    doc = openapi.document()
    assert doc["openapi"].startswith("3.1")
    validate(doc)


def test_the_served_document_is_the_document(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.get_json() == openapi.document()
    assert_documented(response, "/openapi.json", "get")


def test_the_path_conversion_used_below():
    assert _openapi_path("/api/v1/assessments/<int:assessment_id>/plan") == "/assessments/{assessment_id}/plan"
    assert _openapi_path("/api/v1/frameworks/<ref>") == "/frameworks/{ref}"


def test_every_api_route_is_documented_with_its_methods(app):
    routes, documented = _routes(app), _documented()
    assert routes, "no API routes found"
    for path, methods in routes.items():
        assert path in documented, f"{API_PREFIX}{path} is not in the OpenAPI document"
        assert documented[path] == methods, f"{path}: routes accept {methods}, the document says {documented[path]}"


def test_every_documented_path_exists(app):
    routes = _routes(app)
    for path, methods in _documented().items():
        assert path in routes, f"the document describes {path}, which is not a route"
        assert methods <= routes[path], f"{path}: documented {methods}, routed {routes[path]}"


def test_the_server_url_is_where_the_blueprint_is_mounted():
    assert openapi.server_url() == API_PREFIX


@pytest.mark.parametrize("name", ["Framework", "ScoreRequest", "ScoreResult", "Error"])
def test_the_main_schemas_are_components(name):
    assert name in openapi.document()["components"]["schemas"]


def test_every_operation_documents_its_errors():
    """Every operation names the schema of the errors it can return (a listed 4xx or the default)."""
    for path, item in openapi.document()["paths"].items():
        for method, operation in item.items():
            assert "default" in operation["responses"], f"{method} {path} has no default (error) response"
            assert operation.get("operationId") and operation.get("summary"), f"{method} {path}"


def test_enums_follow_the_framework():
    schemas = openapi.document()["components"]["schemas"]
    framework = frameworks.current_framework()
    assert schemas["TrackCode"]["enum"] == [t.code for t in framework.tracks]
    assert schemas["Question"]["properties"]["type"]["enum"] == list(frameworks.QUESTION_TYPES)
    assert schemas["TrackDetails"]["properties"]["organisation_kinds"]["items"]["enum"] == list(
        frameworks.ORGANISATION_KINDS
    )
    assert re.fullmatch(schemas["FrameworkRef"]["pattern"], framework.ref)


def _examples():
    """(where, schema, example value) for every example in the document."""
    doc = openapi.document()
    found = []

    def collect(where, media):
        if "example" in media:
            found.append((where, media["schema"], media["example"]))
        for name, example in (media.get("examples") or {}).items():
            found.append((f"{where} {name}", media["schema"], example["value"]))

    for path, item in doc["paths"].items():
        for method, operation in item.items():
            for media_type, media in operation.get("requestBody", {}).get("content", {}).items():
                collect(f"{method} {path} request {media_type}", media)
            for status, response in operation["responses"].items():
                while "$ref" in response:
                    response = openapi.resolve(response["$ref"])
                for media_type, media in response.get("content", {}).items():
                    collect(f"{method} {path} {status} {media_type}", media)
    for name, response in doc["components"]["responses"].items():
        for media_type, media in response.get("content", {}).items():
            collect(f"components/responses/{name} {media_type}", media)
    return found


EXAMPLES = _examples()


@pytest.mark.parametrize("where, schema, value", EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_every_example_matches_its_schema(where, schema, value):
    errors = list(schema_validator(schema).iter_errors(value))
    assert not errors, f"{where}: {errors[0].message}"


def test_the_request_examples_are_answered_as_documented(client):
    operation = openapi.document()["paths"]["/assessments/score"]["post"]
    requests = operation["requestBody"]["content"]["application/json"]["examples"]
    answers = operation["responses"]["200"]["content"]["application/json"]["examples"]
    assert set(answers) <= set(requests)
    for name, example in requests.items():
        response = client.post("/api/v1/assessments/score", json=example["value"])
        assert response.status_code == 200, f"{name}: {response.get_json()}"
        assert_documented(response, "/assessments/score", "post")
        if name in answers:
            assert response.get_json() == answers[name]["value"], f"the documented answer to {name!r} is stale"


def test_the_framework_example_uses_real_question_and_option_ids():
    example = openapi.document()["paths"]["/frameworks/current"]["get"]["responses"]["200"]["content"][
        "application/json"]["examples"]["shortened"]["value"]
    framework = frameworks.get_framework(example["ref"])
    for question in example["questions"]:
        real = framework.question(question["id"])
        assert (real.pillar, real.type) == (question["pillar"], question["type"])
        for option in question.get("options", []):
            assert framework.option(question["id"], option["id"]).score == option["score"]


# The page for people -------------------------------------------------------------------------------------


def test_the_docs_page_lists_every_endpoint_and_schema(client):
    use_english(client)
    response = client.get("/api/v1/docs")
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert_documented(response, "/docs", "get")
    html = response.get_data(as_text=True)
    for heading in ("API documentation", "Endpoints", "Parameters", "Request body", "Responses", "Schemas"):
        assert heading in html
    for path, methods in _documented().items():
        for method in methods:
            assert f'<span class="api-method">{method}</span> <code>{API_PREFIX}{path}</code>' in html
    for name in openapi.document()["components"]["schemas"]:
        assert f'id="schema-{name}"' in html
    assert 'href="#schema-ScoreResult"' in html, "types link to their schema"
    assert 'href="/api/v1/openapi.json"' in html
    assert "&#34;overall_score&#34;: 29.6" in html or "&quot;overall_score&quot;: 29.6" in html, "examples are shown"
    assert "<code>answers.&lt;question id&gt;</code>" in html, "`code` in descriptions is shown as code, escaped"


def test_the_docs_page_is_in_vietnamese_by_default(client):
    html = client.get("/api/v1/docs").get_data(as_text=True)
    assert '<html lang="vi">' in html
    assert "<h1>" in html and html.count("<h1>") == 1
    assert 'lang="en"' in html, "the English descriptions from the document are marked as English"


def test_the_docs_page_has_one_anchor_per_section(client):
    html = client.get("/api/v1/docs").get_data(as_text=True)
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), "ids on the page are unique"
    for target in re.findall(r'href="#([^"]+)"', html):
        assert target in ids, f"link to missing #{target}"
