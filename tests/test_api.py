"""The JSON API v1: the current framework, scoring answers, and JSON errors on every /api/ path.

Responses are checked against the OpenAPI document (tests/api_helpers.py), so a client written from
the document can rely on them.
"""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from app.extensions import db
from app.models.assessment import Assessment
from app.models.audit import AuditEvent
from app.services import frameworks, scoring
from tests.api_helpers import assert_documented, component
from tests.assessment_helpers import full_answers

CURRENT = "/api/v1/frameworks/current"
SCORE = "/api/v1/assessments/score"


@pytest.fixture
def framework():
    return frameworks.current_framework()


def expected_body(result: scoring.ScoreResult) -> dict:
    """What the API must answer for a ScoreResult computed directly."""
    return {
        "framework": result.framework_ref,
        "track": result.track,
        "pillars": result.pillar_scores,
        "overall_score": result.overall,
        "overall_level": result.level,
        "weakest": list(result.weakest),
        "unanswered": list(result.unanswered),
    }


def post_score(client, body, **kwargs):
    return client.post(SCORE, json=body, **kwargs)


# GET /frameworks/current --------------------------------------------------------------------------


@pytest.mark.parametrize("track", ["full", "short"])
def test_current_framework_for_each_track(client, framework, track):
    response = client.get(f"{CURRENT}?track={track}")

    assert response.status_code == 200 and response.mimetype == "application/json"
    assert_documented(response, "/frameworks/current", "get")
    data = response.get_json()
    assert (data["id"], data["version"], data["ref"]) == (framework.id, framework.version, framework.ref)
    assert data["track"] == track
    details = framework.track(track)
    assert data["track_details"]["organisation_kinds"] == list(details.organisation_kinds)
    assert data["track_details"]["name"] == dict(details.name)
    assert [p["code"] for p in data["pillars"]] == [p.code for p in framework.pillars]
    assert all(set(p["name"]) == {"vi", "en"} for p in data["pillars"])
    assert [(lv["level"], lv["band"]) for lv in data["levels"]] == [
        (lv.level, [lv.lower, lv.upper]) for lv in framework.levels
    ]
    assert [q["id"] for q in data["questions"]] == [q.id for q in framework.questions_for(track)]
    for item, question in zip(data["questions"], framework.questions_for(track), strict=True):
        assert (item["pillar"], item["type"]) == (question.pillar, question.type)
        if question.type == "scale":
            assert "options" not in item and (item["min"], item["max"]) == (0, 5)
        else:
            assert [(o["id"], o["score"]) for o in item["options"]] == [(o.id, o.score) for o in question.options]


def test_the_tracks_ask_different_questions(client):
    full = client.get(f"{CURRENT}?track=full").get_json()
    short = client.get(f"{CURRENT}?track=short").get_json()
    assert len(short["questions"]) < len(full["questions"])
    assert {q["id"] for q in short["questions"]} != {q["id"] for q in full["questions"]}


@pytest.mark.parametrize("query, message", [
    ("", "required: 'full' or 'short'"),
    ("?track=", "must be 'full' or 'short'"),
    ("?track=long", "must be 'full' or 'short'"),
    ("?track=FULL", "must be 'full' or 'short'"),
])
def test_missing_or_invalid_track_is_400_naming_the_field(client, query, message):
    response = client.get(CURRENT + query)
    assert response.status_code == 400
    assert_documented(response, "/frameworks/current", "get")
    assert response.get_json()["fields"] == {"track": message}
    assert response.get_json()["error"] == "invalid_request"


def test_framework_is_cacheable_and_revalidated_with_its_etag(client):
    first = client.get(f"{CURRENT}?track=full")
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "public, max-age=300"
    assert "dx-sme@1" in etag and "full" in etag
    assert client.get(f"{CURRENT}?track=full").headers["ETag"] == etag, "the tag is stable"
    assert client.get(f"{CURRENT}?track=short").headers["ETag"] != etag, "each track has its own tag"

    revalidated = client.get(f"{CURRENT}?track=full", headers={"If-None-Match": etag})
    assert revalidated.status_code == 304
    assert revalidated.data == b""
    assert revalidated.headers["ETag"] == etag
    assert revalidated.headers["Cache-Control"] == "public, max-age=300"
    assert_documented(revalidated, "/frameworks/current", "get")

    weak = client.get(f"{CURRENT}?track=full", headers={"If-None-Match": f'"other", W/{etag}'})
    assert weak.status_code == 304, "If-None-Match compares weakly and accepts a list"
    stale = client.get(f"{CURRENT}?track=full", headers={"If-None-Match": '"dx-sme@0.full.0"'})
    assert stale.status_code == 200 and stale.get_json()["track"] == "full"
    other_track = client.get(f"{CURRENT}?track=short", headers={"If-None-Match": etag})
    assert other_track.status_code == 200


# POST /assessments/score: good input ----------------------------------------------------------------


@pytest.mark.parametrize("track", ["full", "short"])
@pytest.mark.parametrize("strength", ["best", "middle", "worst"])
def test_scores_equal_the_scoring_service(client, framework, track, strength):
    answers = full_answers(framework, track, strength)
    response = post_score(client, {"track": track, "answers": answers})

    assert response.status_code == 200
    assert_documented(response, "/assessments/score", "post")
    assert response.get_json() == expected_body(scoring.score(framework, track, answers))


def test_partial_answers_list_the_unanswered_questions(client, framework):
    questions = framework.questions_for("short")
    answers = full_answers(framework, "short", "middle")
    answers = {q.id: answers[q.id] for q in questions[:3]} | {questions[3].id: None}

    data = post_score(client, {"framework": framework.ref, "track": "short", "answers": answers}).get_json()

    assert data == expected_body(scoring.score(framework, "short", answers))
    assert data["unanswered"] == [q.id for q in questions[3:]]
    assert list(data["pillars"]) == [p.code for p in framework.pillars], "pillars keep the framework's order"
    assert data["framework"] == framework.ref


def test_no_answers_scores_zero(client, framework):
    data = post_score(client, {"track": "full", "answers": {}}).get_json()
    assert data["overall_score"] == 0 and data["overall_level"] == 0
    assert set(data["pillars"].values()) == {0}
    assert len(data["unanswered"]) == len(framework.questions_for("full"))


def test_scoring_stores_nothing_and_needs_no_session_or_csrf(client, framework):
    """A cookie-less JSON client, no CSRF token, and nothing written to the database."""
    response = client.post(SCORE, data=json.dumps({"track": "full", "answers": {}}),
                           headers={"Content-Type": "application/json; charset=utf-8"})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers
    assert db.session.scalar(select(func.count()).select_from(Assessment)) == 0
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 0


# POST /assessments/score: bad input -------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, words", [
    ({"data": {"track": "full"}}, "Content-Type: application/json"),
    ({"data": '{"track": "full", "answers": {}}', "content_type": "text/plain"}, "Content-Type: application/json"),
    ({}, "Content-Type: application/json"),
    ({"data": "", "content_type": "application/json"}, "not valid JSON"),
    ({"data": "[1, 2]", "content_type": "application/json"}, "must be a JSON object"),
    ({"data": '"full"', "content_type": "application/json"}, "must be a JSON object"),
    ({"data": "null", "content_type": "application/json"}, "must be a JSON object"),
    ({"data": '{"track": "full",', "content_type": "application/json"}, "not valid JSON"),
    ({"data": '{"track": NaN, "answers": {}}', "content_type": "application/json"}, "NaN is not allowed"),
    ({"data": "[" * 20000 + "]" * 20000, "content_type": "application/json"}, "nested too deeply"),
    ({"data": b'{"track": "\xff"}', "content_type": "application/json"}, "UTF-8"),
], ids=["form", "text-plain", "no-body", "empty-json", "array", "string", "null", "broken", "nan", "deep",
        "not-utf8"])
def test_malformed_bodies_are_400(client, kwargs, words):
    response = client.post(SCORE, **kwargs)
    assert response.status_code == 400
    assert_documented(response, "/assessments/score", "post")
    body = response.get_json()
    assert body["error"] == "invalid_json"
    assert words in body["message"]


@pytest.mark.parametrize("body, fields", [
    ({"track": "medium", "answers": {}}, {"track": "must be 'full' or 'short'"}),
    ({"track": ["full"], "answers": {}}, {"track": "must be 'full' or 'short'"}),
    ({"answers": {}}, {"track": "required: 'full' or 'short'"}),
    ({"track": "full"}, {"answers": "required: an object mapping question ids to answers"}),
    ({"track": "full", "answers": [["cus_payments", "card"]]},
     {"answers": "must be an object mapping question ids to answers"}),
    ({"track": "full", "answers": {"no_such_question": 1}}, {"answers.no_such_question": "unknown question"}),
    ({"track": "short", "answers": {"cus_payments": ["card"]}},
     {"answers.cus_payments": "not a question of the 'short' track"}),
    ({"track": "full", "answers": {"cus_online_presence": "x"}}, {"answers.cus_online_presence": "unknown option 'x'"}),
    ({"track": "full", "answers": {"cus_payments": ["card", "x"]}}, {"answers.cus_payments": "unknown option 'x'"}),
    ({"track": "full", "answers": {"cus_digital_care": 7}},
     {"answers.cus_digital_care": "expected a whole number from 0 to 5, got 7"}),
    ({"track": "full", "answers": {"cus_digital_care": 2.5}},
     {"answers.cus_digital_care": "expected a whole number from 0 to 5, got float"}),
    ({"track": "full", "answers": {"cus_payments": ["cash_only", "card"]}},
     {"answers.cus_payments": "option 'cash_only' cannot be combined with other options"}),
    ({"track": "full", "answers": {"cus_payments": []}},
     {"answers.cus_payments": "choose at least one option (there is a 'none of these' option)"}),
    ({"framework": "dx-sme@99", "track": "full", "answers": {}}, {"framework": "unknown framework 'dx-sme@99'"}),
    ({"framework": "other@1", "track": "full", "answers": {}}, {"framework": "unknown framework 'other@1'"}),
    ({"framework": "dx-sme", "track": "full", "answers": {}}, {"framework": "must look like 'dx-sme@1', got 'dx-sme'"}),
    ({"framework": 1, "track": "full", "answers": {}}, {"framework": "must be a string like 'dx-sme@1'"}),
    ({"track": "full", "answers": {}, "answer": {}}, {"answer": "unknown field (allowed: framework, track, answers)"}),
], ids=["unknown-track", "track-list", "no-track", "no-answers", "answers-list", "unknown-question",
        "other-track-question", "unknown-option", "unknown-option-in-list", "scale-7", "scale-float",
        "exclusive-combined", "nothing-ticked", "unknown-framework", "unknown-framework-id", "malformed-ref",
        "ref-not-string", "unknown-field"])
def test_invalid_fields_are_422_naming_the_field(client, body, fields):
    response = post_score(client, body)
    assert response.status_code == 422
    assert_documented(response, "/assessments/score", "post")
    data = response.get_json()
    assert data["error"] == "invalid_request"
    assert data["fields"] == fields


def test_every_bad_field_is_named_at_once(client):
    response = post_score(client, {"framework": "dx-sme@7", "track": "tiny", "answers": {}, "extra": True})
    assert set(response.get_json()["fields"]) == {"framework", "track", "extra"}

    response = post_score(client, {"track": "full", "answers": {
        "cus_payments": ["x"], "cus_digital_care": 7, "cus_sales_channels": ["none", "website"], "nope": "a",
        "str_plan": "approved",
    }})
    assert response.status_code == 422
    assert set(response.get_json()["fields"]) == {
        "answers.cus_payments", "answers.cus_digital_care", "answers.cus_sales_channels", "answers.nope",
    }


def test_unpublished_framework_versions_are_unknown(client, monkeypatch, framework):
    """A version filed ahead of its publication date is not served before that date."""
    monkeypatch.setattr("app.blueprints.api.helpers.province_today",
                        lambda: framework.published - dt.timedelta(days=1))
    response = post_score(client, {"framework": framework.ref, "track": "full", "answers": {}})
    assert response.status_code == 422
    assert response.get_json()["fields"] == {"framework": f"unknown framework {framework.ref!r}"}


def test_bodies_over_64_kb_are_413(app, client):
    limit = app.config["API_MAX_BODY_BYTES"]
    assert limit == 64 * 1024
    padding = "x" * limit
    response = post_score(client, {"track": "full", "answers": {}, "padding": padding})
    assert response.status_code == 413
    assert_documented(response, "/assessments/score", "post")
    assert response.get_json()["error"] == "payload_too_large"

    just_under = json.dumps({"track": "full", "answers": {}, "p": ""})
    just_under = just_under.replace('"p": ""', '"p": "' + "x" * (limit - len(just_under)) + '"')
    assert len(just_under.encode()) == limit
    assert client.post(SCORE, data=just_under, content_type="application/json").status_code == 422, \
        "a body of exactly the limit is read (and its unknown field reported)"


def test_bodies_without_a_length_are_cut_at_64_kb(app, client):
    """A chunked body declares no Content-Length; reading stops at the limit all the same."""
    body = json.dumps({"track": "full", "answers": {}, "padding": "x" * (70 * 1024)}).encode()
    response = client.post(SCORE, input_stream=io.BytesIO(body),
                           headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
                           environ_overrides={"wsgi.input_terminated": True})
    assert response.status_code == 413
    assert response.get_json()["error"] == "payload_too_large"

    limit = app.config["API_MAX_BODY_BYTES"]
    exact = json.dumps({"track": "full", "answers": {}, "p": "x" * (limit - 41)}).encode()
    assert len(exact) == limit
    response = client.post(SCORE, input_stream=io.BytesIO(exact),
                           headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
                           environ_overrides={"wsgi.input_terminated": True})
    assert response.status_code == 422 and "p" in response.get_json()["fields"], "exactly the limit is read whole"


# Errors on any /api/ path ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/nothing-here", "/api/v1/frameworks", "/api/v2/frameworks/current",
                                  "/api/v1/frameworks/current/extra"])
def test_unknown_api_paths_are_404_json(client, path):
    response = client.get(path, headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert response.is_json
    assert response.get_json()["error"] == "not_found"
    assert component("Error").is_valid(response.get_json())


@pytest.mark.parametrize("method, path, allowed", [
    ("post", CURRENT, {"GET", "HEAD", "OPTIONS"}),
    ("get", SCORE, {"POST", "OPTIONS"}),
    ("delete", SCORE, {"POST", "OPTIONS"}),
    ("put", "/api/v1/openapi.json", {"GET", "HEAD", "OPTIONS"}),
])
def test_wrong_methods_are_405_json_with_allow(client, method, path, allowed):
    response = getattr(client, method)(path)
    assert response.status_code == 405
    assert response.get_json()["error"] == "method_not_allowed"
    assert component("Error").is_valid(response.get_json())
    assert set(response.headers["Allow"].replace(" ", "").split(",")) == allowed


def test_pages_outside_the_api_keep_their_html_error_pages(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404 and response.mimetype == "text/html"


def test_unexpected_failures_are_500_json(app, client, monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("app.blueprints.api.helpers.score", broken)
    monkeypatch.setitem(app.config, "PROPAGATE_TEST_ERRORS", False)
    response = post_score(client, {"track": "full", "answers": {}})
    assert response.status_code == 500
    body = response.get_json()
    assert body["error"] == "server_error" and "boom" not in json.dumps(body)
    assert_documented(response, "/assessments/score", "post", listed=False)


def test_scoring_is_rate_limited_per_address_with_json_429(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_API_SCORE", "3 per minute")
    body = {"track": "full", "answers": {}}
    statuses = [post_score(client, body, environ_base={"REMOTE_ADDR": "10.9.0.1"}).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]

    limited = post_score(client, body, environ_base={"REMOTE_ADDR": "10.9.0.1"})
    assert limited.status_code == 429
    assert_documented(limited, "/assessments/score", "post")
    assert limited.get_json()["error"] == "rate_limited"
    assert "3 per 1 minute" in limited.get_json()["message"]
    assert int(limited.headers["Retry-After"]) > 0
    bad = client.post(SCORE, data="[", content_type="application/json", environ_base={"REMOTE_ADDR": "10.9.0.1"})
    assert bad.status_code == 429, "bad requests count and are refused too"

    assert post_score(client, body, environ_base={"REMOTE_ADDR": "10.9.0.2"}).status_code == 200
    assert client.get(f"{CURRENT}?track=full", environ_base={"REMOTE_ADDR": "10.9.0.1"}).status_code == 200, \
        "reading the framework is not limited by scoring"


# Any JSON body: never a 500, always the documented schema ---------------------------------------------------

_FRAMEWORK = frameworks.current_framework()
_QUESTION_IDS = [q.id for q in _FRAMEWORK.questions]
_OPTION_IDS = sorted({o.id for q in _FRAMEWORK.questions for o in q.options})

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=25,
)
answer_values = (
    st.sampled_from(_OPTION_IDS) | st.lists(st.sampled_from(_OPTION_IDS), max_size=4)
    | st.integers(min_value=-2, max_value=7) | st.none() | json_values
)
score_like_bodies = st.fixed_dictionaries(
    {"answers": st.dictionaries(st.sampled_from(_QUESTION_IDS) | st.text(max_size=8), answer_values, max_size=8)},
    optional={
        "track": st.sampled_from(["full", "short"]) | json_values,
        "framework": st.sampled_from([_FRAMEWORK.ref, "dx-sme@2", "x"]) | json_values,
        "extra": json_values,
    },
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=json_values | score_like_bodies)
def test_any_json_body_gets_a_documented_answer(app, client, monkeypatch, body):
    monkeypatch.setitem(app.config, "RATELIMIT_API_SCORE", "100000 per minute")
    response = client.post(SCORE, data=json.dumps(body), content_type="application/json")

    assert response.status_code in {200, 400, 422}, response.get_data(as_text=True)
    assert_documented(response, "/assessments/score", "post")
    if response.status_code == 200:
        framework = frameworks.get_framework(body.get("framework", _FRAMEWORK.ref))
        assert response.get_json() == expected_body(scoring.score(framework, body["track"], body["answers"]))
