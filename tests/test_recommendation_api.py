"""POST /api/v1/recommendations/preview: a public, rate-limited preview that stores nothing.

Responses are checked against the OpenAPI document (tests/api_helpers.py); every bad field is named;
and a programme the posted organisation is not eligible for is never recommended.
"""

from __future__ import annotations

import copy
import datetime as dt
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from app.extensions import db
from app.services import geo, openapi
from app.services import organisations as organisation_service
from tests.api_helpers import assert_documented
from tests.recommendation_helpers import TODAY, programme, standard_catalogue, text

PREVIEW = "/api/v1/recommendations/preview"
PATH = "/recommendations/preview"
VIETNAMESE_LETTERS = "ạảãáàăâđêôơưếềệữ"
PILLARS = ["customer", "strategy", "infrastructure", "operations", "culture", "data"]
GOOD = {
    "organisation": {"kind": "enterprise", "sector": "G", "employees": 8, "revenue_vnd": 2_000_000_000,
                     "capital_vnd": 1_000_000_000, "commune": None},
    "pillar_scores": {"customer": 20, "strategy": 35, "infrastructure": 40, "operations": 25, "culture": 30,
                      "data": 10},
    "needs": "phần mềm quản lý dữ liệu",
    "locale": "vi",
    "limit": 5,
}


def body(**changes) -> dict:
    """GOOD with top-level changes; ``organisation__x=...`` changes a field of the organisation."""
    result = copy.deepcopy(GOOD)
    for key, value in changes.items():
        target, _, name = key.partition("__")
        if name:
            result[target][name] = value
        else:
            result[key] = value
    return result


def post(client, payload, **kwargs):
    return client.post(PREVIEW, json=payload, **kwargs)


@pytest.fixture
def catalogue():
    standard_catalogue()


@pytest.fixture(autouse=True)
def _generous_limit(app, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_API_PREVIEW", "100000 per minute")


# --- Good requests -------------------------------------------------------------------------------------------


def test_a_good_request_gets_documented_recommendations_best_first(client, catalogue):
    response = post(client, GOOD)
    assert response.status_code == 200, response.get_json()
    assert_documented(response, PATH, "post")
    assert response.headers["Cache-Control"] == "no-store"
    data = response.get_json()
    assert data["size_class"] == "micro"
    assert (data["overall_score"], data["overall_level"]) == (26.7, 1)
    codes = [p["code"] for p in data["programmes"]]
    assert set(codes) == {"DATA-TOOLS", "DX-TRAINING"}
    assert codes[0] == "DATA-TOOLS", "the weakest pillar (data) and the needs both point to it"
    for items in (data["programmes"], data["partners"]):
        scores = [item["score"] for item in items]
        assert scores == sorted(scores, reverse=True), "best first"
        assert all(1 <= len(item["reasons"]) <= 3 for item in items)
    by_code = {p["code"]: p for p in data["programmes"]}
    assert by_code["DATA-TOOLS"]["max_subsidy_vnd"] == 20_000_000
    assert by_code["DATA-TOOLS"]["name"] == "Hỗ trợ công cụ quản lý dữ liệu"
    assert not by_code["DX-TRAINING"]["max_subsidy_vnd"], "no cap for micro businesses: no money"
    assert {p["code"] for p in data["partners"]} == {"P-ACC-001", "P-WEB-002"}, "vetted partners only"
    assert {n["code"] for n in data["not_eligible"]} == {"COOP-ONLY", "CLOSED-2020", "NO-BUDGET"}
    assert all(n["reasons"] for n in data["not_eligible"])
    assert data["model_version"]


def test_reasons_and_names_follow_the_requested_language(client, catalogue):
    vietnamese = post(client, body(locale="vi")).get_json()
    english = post(client, body(locale="en")).get_json()
    assert [p["code"] for p in vietnamese["programmes"]] == [p["code"] for p in english["programmes"]]
    vi_first, en_first = vietnamese["programmes"][0], english["programmes"][0]
    assert en_first["name"] == "Support for data management tools"
    assert vi_first["reasons"] != en_first["reasons"]
    assert any(ch in "".join(vi_first["reasons"]) for ch in VIETNAMESE_LETTERS), "Vietnamese reasons"
    assert not any(ch in "".join(en_first["reasons"]) for ch in VIETNAMESE_LETTERS), "English reasons"
    no_locale = post(client, {k: v for k, v in GOOD.items() if k != "locale"}).get_json()
    assert no_locale["programmes"][0]["reasons"] == vi_first["reasons"], "Vietnamese by default"


def test_the_same_request_gets_the_same_answer(client, catalogue):
    assert post(client, GOOD).get_json() == post(client, GOOD).get_json()


def test_limit_caps_each_list(client, catalogue):
    for index in range(4):
        programme(f"EXTRA-{index}")
    db.session.commit()
    data = post(client, body(limit=2)).get_json()
    assert len(data["programmes"]) == 2 and len(data["partners"]) <= 2
    assert len(post(client, body(limit=20)).get_json()["programmes"]) == 6


def test_on_date_defaults_to_today_in_the_province(client, catalogue):
    programme("NEXT-YEAR", opens_on=TODAY + dt.timedelta(days=400), closes_on=TODAY + dt.timedelta(days=700))
    db.session.commit()
    today = post(client, {k: v for k, v in GOOD.items() if k != "on_date"}).get_json()
    assert "NEXT-YEAR" in {n["code"] for n in today["not_eligible"]}
    later = post(client, body(on_date=(TODAY + dt.timedelta(days=450)).isoformat(), limit=20)).get_json()
    assert "NEXT-YEAR" in {p["code"] for p in later["programmes"]}
    assert "DATA-TOOLS" in {n["code"] for n in later["not_eligible"]}, "closed by then"


def test_optional_fields_may_be_left_out(client, catalogue):
    minimal = {"organisation": {k: v for k, v in GOOD["organisation"].items() if k != "commune"},
               "pillar_scores": GOOD["pillar_scores"]}
    response = post(client, minimal)
    assert response.status_code == 200
    assert_documented(response, PATH, "post")


def test_a_household_without_capital_figure_and_a_commune(client, catalogue):
    commune = geo.communes()[0].code
    programme("HERE-ONLY", communes=[commune], org_kinds=["household_business"])
    programme("ELSEWHERE", communes=[geo.communes()[1].code])
    db.session.commit()
    household = body(organisation={"kind": "household_business", "sector": "G", "employees": 2,
                                   "revenue_vnd": 600_000_000, "capital_vnd": None, "commune": commune}, limit=20)
    data = post(client, household).get_json()
    assert data["size_class"] == "micro"
    assert "HERE-ONLY" in {p["code"] for p in data["programmes"]}
    assert "ELSEWHERE" in {n["code"] for n in data["not_eligible"]}
    household["organisation"]["commune"] = None
    unknown = post(client, household).get_json()
    assert "HERE-ONLY" in {n["code"] for n in unknown["not_eligible"]}, "a commune-limited programme needs one"


def test_the_size_class_is_worked_out_as_for_profiles(client, catalogue):
    large = body(organisation__employees=900, organisation__revenue_vnd=2_000_000_000_000,
                 organisation__capital_vnd=900_000_000_000)
    data = post(client, large).get_json()
    assert data["size_class"] == organisation_service.size_class("G", 900, 2_000_000_000_000,
                                                                 900_000_000_000).value == "large"
    data_tools = next(p for p in data["programmes"] if p["code"] == "DATA-TOOLS")
    assert not data_tools["max_subsidy_vnd"], "the programme has no cap for large enterprises: no money"


def test_the_documented_request_examples_are_answered(client, catalogue):
    examples = openapi.document()["paths"][PATH]["post"]["requestBody"]["content"]["application/json"]["examples"]
    for name, example in examples.items():
        response = post(client, example["value"])
        assert response.status_code == 200, f"{name}: {response.get_json()}"
        assert_documented(response, PATH, "post")


def test_the_demo_catalogue_answers_the_issues_example_with_eligible_programmes_only(client):
    """The shipped demo catalogue, through the import: the cooperative of the example gets programmes it can
    really apply to on the date it asked about, and traceability or e-commerce partners for its needs."""
    from app.models.catalogue import Programme
    from app.recommender import Profile
    from app.services import catalogue_io, eligibility

    catalogue_io.import_demo()
    db.session.commit()
    example = openapi.document()["paths"][PATH]["post"]["requestBody"]["content"]["application/json"][
        "examples"]["cooperative"]["value"]
    response = post(client, example)
    assert response.status_code == 200
    assert_documented(response, PATH, "post")
    data = response.get_json()
    # 12 people in agriculture is a small cooperative under Decree 80/2021 (micro stops at 10).
    assert (data["size_class"], data["overall_score"], data["overall_level"]) == ("small", 26.7, 1)
    assert data["programmes"] and data["partners"] and data["not_eligible"]
    profile = Profile(kind="cooperative", sector="A", size_class="small", commune_code=None)
    on_date = dt.date.fromisoformat(example["on_date"])
    programmes = {p.code: p for p in db.session.scalars(select(Programme))}
    for item in data["programmes"]:
        assert eligibility.check(programmes[item["code"]], profile, 1, on_date=on_date).eligible, item["code"]
        assert item["max_subsidy_vnd"] == eligibility.max_subsidy(programmes[item["code"]], "small")


def test_the_preview_stores_nothing_and_needs_no_session(client, catalogue):
    def counts():
        return {table.name: db.session.scalar(select(func.count()).select_from(table))
                for table in db.metadata.sorted_tables}

    before = counts()
    for payload in (GOOD, body(locale="en"), body(limit=0), body(organisation__kind="x")):
        post(client, payload)
    assert counts() == before
    assert "Set-Cookie" not in post(client, GOOD).headers


# --- Bad requests ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("payload, field", [
    (body(extra=1), "extra"),
    (body(organisation__size="micro"), "organisation.size"),
    (body(organisation__kind="company"), "organisation.kind"),
    (body(organisation__kind=None), "organisation.kind"),
    (body(organisation__sector="V"), "organisation.sector"),
    (body(organisation__sector="g"), "organisation.sector"),
    (body(organisation__sector=7), "organisation.sector"),
    (body(organisation__employees=-1), "organisation.employees"),
    (body(organisation__employees=2.5), "organisation.employees"),
    (body(organisation__employees="8"), "organisation.employees"),
    (body(organisation__employees=True), "organisation.employees"),
    (body(organisation__revenue_vnd=-5), "organisation.revenue_vnd"),
    (body(organisation__revenue_vnd=1.5e9), "organisation.revenue_vnd"),
    (body(organisation__revenue_vnd=False), "organisation.revenue_vnd"),
    (body(organisation__capital_vnd="800000000"), "organisation.capital_vnd"),
    (body(organisation__commune="99999"), "organisation.commune"),
    (body(organisation__commune=21211), "organisation.commune"),
    (body(organisation=[]), "organisation"),
    (body(pillar_scores={p: 50 for p in PILLARS[:-1]}), "pillar_scores.data"),
    (body(pillar_scores={**GOOD["pillar_scores"], "marketing": 10}), "pillar_scores.marketing"),
    (body(pillar_scores={**GOOD["pillar_scores"], "data": 100.5}), "pillar_scores.data"),
    (body(pillar_scores={**GOOD["pillar_scores"], "data": -1}), "pillar_scores.data"),
    (body(pillar_scores={**GOOD["pillar_scores"], "data": "10"}), "pillar_scores.data"),
    (body(pillar_scores={**GOOD["pillar_scores"], "data": True}), "pillar_scores.data"),
    (body(pillar_scores=[10, 20]), "pillar_scores"),
    (body(locale="fr"), "locale"),
    (body(locale="VI"), "locale"),
    (body(limit=0), "limit"),
    (body(limit=21), "limit"),
    (body(limit=5.0), "limit"),
    (body(limit="5"), "limit"),
    (body(on_date="15/06/2026"), "on_date"),
    (body(on_date="2026-02-30"), "on_date"),
    (body(on_date="20260615"), "on_date"),
    (body(on_date=20260615), "on_date"),
    (body(needs="x" * 1001), "needs"),
    (body(needs=["website"]), "needs"),
    ({"pillar_scores": GOOD["pillar_scores"]}, "organisation"),
    ({"organisation": GOOD["organisation"]}, "pillar_scores"),
])
def test_each_bad_field_is_422_naming_it(client, catalogue, payload, field):
    response = post(client, payload)
    assert response.status_code == 422, response.get_json()
    assert_documented(response, PATH, "post")
    data = response.get_json()
    assert data["error"] == "invalid_request"
    assert field in data["fields"], data["fields"]


def test_every_bad_field_is_named_at_once(client):
    payload = {
        "organisation": {"kind": "company", "sector": "Z", "employees": -3, "revenue_vnd": "a lot", "capital_vnd": 1,
                         "commune": "00000", "founded": 1999},
        "pillar_scores": {"customer": 200, "strategy": 10, "infrastructure": 10, "operations": 10, "culture": 10,
                          "marketing": 5},
        "locale": "de", "limit": 50, "on_date": "tomorrow", "needs": 5, "token": "x",
    }
    fields = post(client, payload).get_json()["fields"]
    assert set(fields) == {
        "organisation.kind", "organisation.sector", "organisation.employees", "organisation.revenue_vnd",
        "organisation.commune", "organisation.founded", "pillar_scores.customer", "pillar_scores.marketing",
        "pillar_scores.data", "locale", "limit", "on_date", "needs", "token",
    }


def test_missing_organisation_fields_are_named_and_one_money_figure_is_needed(client):
    fields = post(client, body(organisation={"kind": "enterprise"})).get_json()["fields"]
    assert {"organisation.sector", "organisation.employees", "organisation.revenue_vnd",
            "organisation.capital_vnd"} <= set(fields)
    both_unknown = post(client, body(organisation__revenue_vnd=None, organisation__capital_vnd=None))
    assert both_unknown.status_code == 422
    assert "size class" in both_unknown.get_json()["fields"]["organisation.revenue_vnd"]


@pytest.mark.parametrize("kwargs", [
    {"data": "{", "content_type": "application/json"},
    {"data": "[1, 2]", "content_type": "application/json"},
    {"data": '"text"', "content_type": "application/json"},
    {"data": "NaN", "content_type": "application/json"},
    {"data": json.dumps(GOOD), "content_type": "text/plain"},
    {"data": b"\xff\xfe", "content_type": "application/json"},
])
def test_malformed_bodies_are_400(client, kwargs):
    response = client.post(PREVIEW, **kwargs)
    assert response.status_code == 400
    assert_documented(response, PATH, "post")
    assert response.get_json()["error"] == "invalid_json"


def test_bodies_over_the_limit_are_413(app, client):
    response = post(client, body(needs="x" * (app.config["API_MAX_BODY_BYTES"] + 1)))
    assert response.status_code == 413
    assert_documented(response, PATH, "post")


def test_only_post_is_allowed(client):
    response = client.get(PREVIEW)
    assert response.status_code == 405 and response.get_json()["error"] == "method_not_allowed"


def test_the_preview_is_rate_limited_per_address_with_json_429(app, client, catalogue, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_API_PREVIEW", "2 per minute")
    here = {"REMOTE_ADDR": "10.8.0.1"}
    assert [post(client, GOOD, environ_base=here).status_code for _ in range(2)] == [200, 200]
    limited = post(client, GOOD, environ_base=here)
    assert limited.status_code == 429
    assert_documented(limited, PATH, "post")
    assert limited.get_json()["error"] == "rate_limited" and int(limited.headers["Retry-After"]) > 0
    assert post(client, GOOD, environ_base={"REMOTE_ADDR": "10.8.0.2"}).status_code == 200
    assert client.post("/api/v1/assessments/score", json={"track": "full", "answers": {}},
                       environ_base=here).status_code == 200, "scoring has its own limit"


def test_the_default_limit_is_30_a_minute():
    from config import Config

    assert Config.RATELIMIT_API_PREVIEW == "30 per minute"


# --- Never an ineligible programme; any body gets a documented answer ----------------------------------------------

_COMMUNES = ["21211", "21172", "21034"]

organisations = st.fixed_dictionaries({
    "kind": st.sampled_from(["enterprise", "cooperative", "household_business"]),
    "sector": st.sampled_from(list("ABCGHIJ")),
    "employees": st.integers(min_value=0, max_value=400),
    "revenue_vnd": st.none() | st.integers(min_value=0, max_value=500_000_000_000),
    "capital_vnd": st.integers(min_value=0, max_value=200_000_000_000),
    "commune": st.none() | st.sampled_from(_COMMUNES),
})
scores = st.fixed_dictionaries({p: st.integers(0, 100) | st.floats(0, 100) for p in PILLARS})
valid_bodies = st.fixed_dictionaries(
    {"organisation": organisations, "pillar_scores": scores},
    optional={"locale": st.sampled_from(["vi", "en"]), "limit": st.integers(1, 20),
              "needs": st.sampled_from(["", "website bán hàng", "hoá đơn điện tử", "đào tạo kỹ năng số"]),
              "on_date": st.dates(dt.date(2019, 1, 1), dt.date(2031, 12, 31)).map(dt.date.isoformat)},
)


def varied_catalogue() -> None:
    """Programmes whose rules cut across kinds, sizes, sectors, communes, levels and dates."""
    standard_catalogue()
    programme("AGRI-COOP", sectors=["A"], org_kinds=["cooperative"], pillars=["data"])
    programme("SMALL-ONLY", size_classes=["small", "medium"], caps_vnd={"small": 50_000_000})
    programme("LEVEL-2-UP", level_min=2, level_max=5, pillars=["strategy"])
    programme("COMMUNE-21211", communes=["21211"], org_kinds=["household_business", "enterprise"])
    programme("OLD-WINDOW", opens_on=dt.date(2019, 1, 1), closes_on=dt.date(2024, 6, 30))
    programme("TOURISM", sectors=["I", "H"], name=text("Du lịch số", "Digital tourism"))
    db.session.commit()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=valid_bodies)
def test_no_recommended_programme_is_ever_ineligible_for_the_posted_profile(app, client, payload):
    from app.models.catalogue import Programme
    from app.recommender import Profile
    from app.services import eligibility

    if not db.session.scalar(select(func.count()).select_from(Programme)):
        varied_catalogue()
    response = post(client, payload)
    assert response.status_code == 200, response.get_json()
    assert_documented(response, PATH, "post")
    data = response.get_json()
    organisation = payload["organisation"]
    profile = Profile(kind=organisation["kind"], sector=organisation["sector"], size_class=data["size_class"],
                      commune_code=organisation["commune"])
    on_date = dt.date.fromisoformat(payload["on_date"]) if "on_date" in payload else TODAY
    by_code = {p.code: p for p in db.session.scalars(select(Programme))}
    for item in data["programmes"]:
        verdict = eligibility.check(by_code[item["code"]], profile, data["overall_level"], on_date=on_date)
        assert verdict.eligible, f"{item['code']} recommended although: {verdict.reasons}"
    for item in data["not_eligible"]:
        verdict = eligibility.check(by_code[item["code"]], profile, data["overall_level"], on_date=on_date)
        assert not verdict.eligible, f"{item['code']} said to be out of reach but is eligible"
    recommended = {p["code"] for p in data["programmes"]}
    assert not recommended & {n["code"] for n in data["not_eligible"]}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=25,
)
near_misses = st.fixed_dictionaries(
    {},
    optional={
        "organisation": st.fixed_dictionaries({}, optional={
            "kind": st.sampled_from(["enterprise", "cooperative", "household_business"]) | json_values,
            "sector": st.sampled_from(list("AGUVZ")) | json_values,
            "employees": st.integers(-5, 10**6) | json_values,
            "revenue_vnd": st.integers(-5, 10**15) | json_values,
            "capital_vnd": st.integers(-5, 10**15) | json_values,
            "commune": st.sampled_from([*_COMMUNES, "00000"]) | json_values,
        }) | json_values,
        "pillar_scores": st.dictionaries(st.sampled_from([*PILLARS, "other"]),
                                         st.floats(-10, 110) | st.integers(-10, 110) | json_values) | json_values,
        "needs": st.text(max_size=30) | json_values,
        "locale": st.sampled_from(["vi", "en", "fr"]) | json_values,
        "limit": st.integers(-1, 25) | json_values,
        "on_date": st.dates().map(dt.date.isoformat) | json_values,
        "other": json_values,
    },
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=json_values | near_misses | valid_bodies)
def test_any_json_body_gets_a_documented_answer_never_a_500(app, client, payload):
    from app.models.catalogue import Programme

    if not db.session.scalar(select(func.count()).select_from(Programme)):
        varied_catalogue()
    response = client.post(PREVIEW, data=json.dumps(payload), content_type="application/json")
    assert response.status_code in {200, 400, 422}, response.get_data(as_text=True)
    assert_documented(response, PATH, "post")
