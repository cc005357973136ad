"""Random input to every endpoint of the JSON API, from ``app.url_map``: random JSON bodies (nested, huge and
negative numbers, unicode and control characters, near-real keys), raw bodies that are not JSON at all, random
query strings and headers, with a token holding every scope — the answer is never a server error and is JSON.

tests/test_schemathesis.py fuzzes the API from its OpenAPI document (and checks the answers against it); this
is generated from the url_map instead, so an endpoint missing from the document is fuzzed too, and it adds the
hostile bodies a schema-driven generator does not send.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from app.extensions import limiter
from app.services import openapi
from tests.security.helpers import RULES, is_api, keeper_fixtures, methods, url, values_for

API_PAIRS = [(rule, method) for rule in RULES if is_api(rule) for method in methods(rule)]
FUZZ = settings(max_examples=15, deadline=None, derandomize=True, database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])
#: Keys the endpoints read, so that random bodies reach past "unknown field" now and then.
KEYS = ["track", "answers", "framework", "needs", "organisation", "kind", "sector", "size_class", "commune",
        "employees", "annual_revenue_vnd", "schema", "programmes", "partners", "code", "name", "limit", "locale",
        "level", "state", "programme", "updated_since", "page", "per_page", "year", "group_by"]

#: One world for the module (the API only reads, except the catalogue import), with a token of every scope.
keeper, _clean_state, world = keeper_fixtures(strict=False)

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=False, allow_infinity=False), st.text(st.characters(exclude_categories=["Cs"]), max_size=60),
    st.sampled_from(["", "full", "short", "dx-sme@1", "dx-sme@999", "household_business", "enterprise", "G", "Z",
                     "micro", "dxportal.catalogue/1", "\x00", "\u202e", "2026-01-01", "9999-99-99", "-1", "1e309"]),
)
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=12)), inner, max_size=5)), max_leaves=25)
bodies = st.one_of(st.dictionaries(st.sampled_from(KEYS), json_values, max_size=6), json_values)
raw_bodies = st.tuples(st.binary(max_size=200), st.sampled_from([
    "application/json", "application/json; charset=utf-16", "text/plain", "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x", "application/xml", ""]))
query_names = st.one_of(st.sampled_from([*KEYS, "If-None-Match", "fmt"]), st.text(min_size=1, max_size=10))
queries = st.dictionaries(query_names, st.one_of(scalars.map(str), st.lists(scalars.map(str), max_size=3)),
                          max_size=5)


@pytest.fixture
def no_rate_limits(monkeypatch):
    monkeypatch.setattr(limiter, "enabled", False)


def _assert_json_answer(response, where: str) -> None:
    assert response.status_code < 500, f"{where}: {response.status_code} {response.get_data(as_text=True)[:300]}"
    if response.status_code != 304 and not where.endswith("/api/v1/docs"):
        assert response.is_json, f"{where}: answered {response.mimetype}"


def test_every_api_endpoint_is_fuzzed_here():
    """Every documented operation is an API route of the url_map (and so fuzzed below)."""
    routed = {(method, rule.rule.removeprefix("/api/v1").replace("<int:", "{").replace(">", "}"))
              for rule, method in API_PAIRS}
    documented = {(method.upper(), path) for path, item in openapi.document()["paths"].items() for method in item
                  if method in openapi.HTTP_METHODS}
    assert documented <= routed


@pytest.mark.parametrize("pair", API_PAIRS, ids=[f"{m} {r.rule}" for r, m in API_PAIRS])
def test_random_requests_never_cause_a_server_error(app, client, world, no_rate_limits, pair):
    rule, method = pair
    target = url(app, rule, values_for(rule, world, "A"))
    token = {"Authorization": f"Bearer {world.token_secret}"}

    @FUZZ
    @given(body=bodies, raw=raw_bodies, use_raw=st.booleans(), query=queries, etag=st.text(max_size=30),
           with_token=st.booleans())
    def call(body, raw, use_raw, query, etag, with_token):
        headers = {**(token if with_token else {}), "If-None-Match": etag, "Accept": "application/json"}
        if method == "GET":
            response = client.get(target, query_string=query, headers=headers)
        elif use_raw:
            content, content_type = raw
            response = client.open(target, method=method, data=content, content_type=content_type or None,
                                   headers=headers, query_string=query)
        else:
            response = client.open(target, method=method, json=body, headers=headers, query_string=query)
        _assert_json_answer(response, f"{method} {target}")

    call()


HOSTILE = [
    pytest.param(b"[" * 50_000 + b"]" * 50_000, "application/json", id="nested-50000-deep"),
    pytest.param(b'{"a":' * 50_000 + b"1" + b"}" * 50_000, "application/json", id="objects-50000-deep"),
    pytest.param(b'{"answers": ' + b"9" * 5000 + b"}", "application/json", id="5000-digit-integer"),
    pytest.param(b'{"answers": 1e400, "track": -1e400}', "application/json", id="float-overflow"),
    pytest.param(b'{"answers": NaN, "track": Infinity}', "application/json", id="nan-infinity"),
    pytest.param(b'{"track": "full", "track": "short"}', "application/json", id="duplicate-keys"),
    pytest.param(b"\xff\xfe{\x00}\x00", "application/json", id="invalid-utf8"),
    pytest.param(json.dumps({"track": "full"}).encode("utf-16"), "application/json; charset=utf-16", id="utf16"),
    pytest.param(b"", "application/json", id="empty"),
    pytest.param(b"null", "application/json", id="null"),
    pytest.param(b'"' + b"\\u0000" * 1000 + b'"', "application/json", id="nul-string"),
    pytest.param(b'{"answers": {"' + b"q" * 10_000 + b'": 1}}', "application/json", id="long-key"),
    pytest.param(b'{"answers": [' + b"1," * 100_000 + b"1]}", "application/json", id="100000-item-list"),
    pytest.param(json.dumps({"track": "full"}).encode(), "text/plain", id="json-as-text-plain"),
]
POST_PAIRS = [(rule, method) for rule, method in API_PAIRS if method != "GET"]


@pytest.mark.parametrize("pair", POST_PAIRS, ids=[f"{m} {r.rule}" for r, m in POST_PAIRS])
@pytest.mark.parametrize(("content", "content_type"), HOSTILE)
def test_hostile_bodies_are_refused_with_json(app, client, world, no_rate_limits, pair, content, content_type):
    rule, method = pair
    target = url(app, rule, values_for(rule, world, "A"))
    response = client.open(target, method=method, data=content, content_type=content_type,
                           headers={"Authorization": f"Bearer {world.token_secret}"})
    _assert_json_answer(response, f"{method} {target}")
    assert response.status_code in (400, 413, 415, 422), response.status_code
