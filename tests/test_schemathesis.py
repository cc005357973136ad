"""Schemathesis against the OpenAPI document the app serves: for every JSON operation, generated requests
(valid and invalid, a bounded and reproducible number per operation) never get a server error, and every
answer has a documented status code, content type and a body that validates against its schema.

The document is read from the app's own ``/api/v1/openapi.json`` when the module is collected, through a
collection-only app that opens no database (as tests/test_access_matrix.py does); the requests go to the
session's app with its real database, each in its own app context as the test client's requests are.
Token-protected operations get a token holding every scope, made fresh for each operation's test.

Only ``GET /docs`` is left out: it is the HTML page for people, not a JSON API.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app import create_app
from app.extensions import db, limiter
from app.models import ApplicationStatus, OrganisationKind
from app.services import catalogue_io, openapi
from config import TestConfig
from tests.api_tokens_helpers import bearer, make_token
from tests.application_helpers import (
    make_business,
    make_partner,
    make_programme,
    make_submitted,
    move_to,
    upload_dir,  # noqa: F401
)

#: Examples per operation in the fuzzing phase; the examples and coverage phases add their own few cases.
MAX_EXAMPLES = 25
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
#: Operations that do not answer JSON.
NOT_JSON_APIS = ["/docs"]


class _CollectConfig(TestConfig):
    """Only serves the OpenAPI document at collection time; it never opens a connection."""

    SQLALCHEMY_DATABASE_URI = "sqlite://"


CONFIG = schemathesis.Config.from_dict({
    # Fixed seed and derandomised generation: every run sends the same requests, so a failure reproduces.
    "seed": 20261126,
    "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
})
#: Read through the test client rather than ``schemathesis.openapi.from_wsgi``, which drops the operation that
#: serves the document itself; ``GET /openapi.json`` is a JSON operation like the others.
_SERVED = create_app(_CollectConfig).test_client().get("/api/v1/openapi.json").get_json()
schema = schemathesis.openapi.from_dict(_SERVED, config=CONFIG).exclude(path=NOT_JSON_APIS)


@pytest.fixture
def token_headers():
    """A token with every scope (sent to public operations too, where it changes nothing)."""
    return bearer(make_token(name="Schemathesis")[1])


@pytest.fixture
def sample_data(upload_dir):  # noqa: F811
    """Something to answer with: the demo catalogue and applications of an enterprise and a household business
    (ids from 1, the smallest id Schemathesis tries), so the checks see full bodies, not only empty lists."""
    catalogue_io.import_demo()
    db.session.commit()
    programme = make_programme(code="FUZZ-PROGRAMME")
    approved = make_submitted(make_business(level=2), programme, partner=make_partner(code="FUZZ-PARTNER"))
    move_to(approved, ApplicationStatus.APPROVED)
    household = make_business(level=1, kind=OrganisationKind.HOUSEHOLD_BUSINESS, tax_code="051089001234")
    move_to(make_submitted(household, programme), ApplicationStatus.IN_REVIEW)


@pytest.fixture
def no_rate_limits(monkeypatch):
    """Generated requests come from one address; the limits have their own tests (test_rate_limit.py)."""
    monkeypatch.setattr(limiter, "enabled", False)


@schema.parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much, HealthCheck.data_too_large])
def test_the_api_answers_as_documented(case, app, token_headers, sample_data, no_rate_limits):
    with app.app_context():
        response = case.call(app=app, headers=token_headers)
    case.validate_response(response, checks=CHECKS)


def test_every_json_operation_is_tested():
    """Nothing but the HTML page is left out, so a new endpoint is fuzzed as soon as it is documented."""
    tested = {(op.ok().method.upper(), op.ok().path) for op in schema.get_all_operations()}
    documented = {(method.upper(), path) for path, item in openapi.document()["paths"].items()
                  for method in item if method in openapi.HTTP_METHODS}
    assert tested == documented - {("GET", "/docs")}
