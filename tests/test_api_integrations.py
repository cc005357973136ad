"""The integration endpoints of the API (token-protected): the catalogue read and imported in the exchange
format, the open-data tables, and support applications without personal data. Every answer is checked against
the OpenAPI document; the document names each endpoint's scope, as the views require it."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select, update

from app.blueprints.api.auth import TokenAccessRule
from app.extensions import db
from app.models import ApiTokenUse, AuditEvent, OrganisationKind, Partner, Programme
from app.models.application import Application, ApplicationStatus
from app.models.types import utcnow
from app.services import catalogue_io, openapi, opendata
from tests.api_helpers import assert_documented
from tests.api_tokens_helpers import bearer, make_token
from tests.application_helpers import (
    make_business,
    make_draft,
    make_partner,
    make_programme,
    make_submitted,
    move_to,
    upload_dir,  # noqa: F401
)
from tests.catalogue_io_helpers import encoded, minimal
from tests.test_admin import count_queries

CATALOGUE = "/api/v1/catalogue"
APPLICATIONS = "/api/v1/applications"


@pytest.fixture
def secret():
    """A token with every scope."""
    return make_token()[1]


def get(client, path, secret, **kwargs):
    return client.get(path, headers={**bearer(secret), **kwargs.pop("headers", {})}, **kwargs)


def post_catalogue(client, secret, body, content_type="application/json"):
    data = body if isinstance(body, bytes | str) else encoded(body)
    return client.post(CATALOGUE, data=data, content_type=content_type, headers=bearer(secret))


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# The catalogue ----------------------------------------------------------------------------------------------


def test_the_catalogue_is_exported_in_the_exchange_format(client, secret):
    assert post_catalogue(client, secret, minimal()).status_code == 200
    retired = make_programme(code="OLD-PROGRAMME", retired_at=utcnow())
    response = get(client, CATALOGUE, secret)
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert_documented(response, "/catalogue", "get")
    assert response.get_data() == catalogue_io.export_text().encode("utf-8"), "what the CLI writes"
    document = response.get_json()
    assert document["schema"] == "dxportal.catalogue/1"
    assert [p["code"] for p in document["programmes"]] == ["ND80-SOLUTIONS"]
    assert retired.code not in response.get_data(as_text=True)
    assert [p["code"] for p in document["partners"]] == ["P-QNG-001"]


def test_the_catalogue_export_revalidates_with_its_etag(client, secret):
    first = get(client, CATALOGUE, secret)
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "private, no-cache"
    again = get(client, CATALOGUE, secret, headers={"If-None-Match": etag})
    assert again.status_code == 304 and not again.data
    assert post_catalogue(client, secret, minimal()).status_code == 200
    changed = get(client, CATALOGUE, secret, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_importing_changes_the_catalogue_and_is_audited(client):
    token, secret = make_token(["catalogue:write"], name="Sở KH&CN feed")
    response = post_catalogue(client, secret, minimal())
    assert response.status_code == 200, response.get_json()
    assert_documented(response, "/catalogue", "post")
    report = response.get_json()
    assert report["counts"] == {"programmes": {"created": 1, "updated": 0, "restored": 0, "unchanged": 0},
                                "partners": {"created": 1, "updated": 0, "restored": 0, "unchanged": 0}}
    assert [(c["section"], c["code"], c["outcome"]) for c in report["changed"]] == [
        ("programmes", "ND80-SOLUTIONS", "created"), ("partners", "P-QNG-001", "created")]
    programme = db.session.scalar(select(Programme).where(Programme.code == "ND80-SOLUTIONS"))
    assert programme.budget_vnd == 3_000_000_000 and [d.code for d in programme.documents] == ["QUOTE", "CONTRACT"]

    event = db.session.get(AuditEvent, report["audit_event_id"])
    assert event.action == "catalogue.import" and event.actor_id is None
    assert event.after["source"] == f"API token {token.prefix}… (Sở KH&CN feed)"
    assert event.after["programmes"]["created"] == 1
    creations = db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("%.create"))).all()
    assert sorted(creations) == ["api_token.create", "partner.create", "programme.create"]

    changed = minimal()
    changed["programmes"][0]["budget_vnd"] = 4_000_000_000
    update_report = post_catalogue(client, secret, changed).get_json()
    assert update_report["changed"] == [{"section": "programmes", "code": "ND80-SOLUTIONS", "outcome": "updated",
                                         "fields": ["budget_vnd"]}]
    db.session.expire_all()
    assert db.session.get(Programme, programme.id).budget_vnd == 4_000_000_000
    change = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "programme.update"))
    assert (change.before, change.after) == ({"budget_vnd": 3_000_000_000}, {"budget_vnd": 4_000_000_000})
    uses = db.session.scalars(select(ApiTokenUse.status)).all()
    assert uses == [200, 200]


def test_export_then_import_changes_nothing(client, secret):
    assert post_catalogue(client, secret, minimal()).status_code == 200
    exported = get(client, CATALOGUE, secret).get_data()
    events = count(AuditEvent)
    report = post_catalogue(client, secret, exported).get_json()
    assert report["changed"] == []
    assert report["counts"]["programmes"]["unchanged"] == 1 and report["counts"]["partners"]["unchanged"] == 1
    assert count(AuditEvent) == events + 1, "only the catalogue.import event itself"
    assert get(client, CATALOGUE, secret).get_data() == exported


def test_an_invalid_document_changes_nothing_and_lists_every_problem(client, secret):
    document = minimal()
    document["programmes"][0]["caps_vnd"]["small"] = -5
    document["partners"][0]["email"] = "not an address"
    document["partners"].append(dict(document["partners"][0], code="P-QNG-002", categories=["teleportation"]))
    response = post_catalogue(client, secret, document)
    assert response.status_code == 400
    assert_documented(response, "/catalogue", "post")
    body = response.get_json()
    assert body["error"] == "invalid_catalogue"
    paths = [problem["path"] for problem in body["problems"]]
    assert "programmes[0].caps_vnd.small" in paths
    assert "partners[0].email" in paths and "partners[1].email" in paths
    assert "partners[1].categories[0]" in paths
    assert all(problem["message"] for problem in body["problems"])
    assert "must be a positive integer" in [p["message"] for p in body["problems"]], "messages are English"
    assert count(Programme) == 0 and count(Partner) == 0
    assert not db.session.scalars(select(AuditEvent).where(AuditEvent.action.like("catalogue.%"))).all()
    use = db.session.scalar(select(ApiTokenUse))
    assert (use.method, use.status) == ("POST", 400)


def test_the_import_keeps_the_budget_above_what_is_committed(client, secret):
    assert post_catalogue(client, secret, minimal()).status_code == 200
    db.session.execute(update(Programme).values(committed_vnd=2_500_000_000))
    db.session.commit()
    document = minimal()
    document["programmes"][0]["budget_vnd"] = 2_000_000_000
    response = post_catalogue(client, secret, document)
    assert response.status_code == 400
    assert [p["path"] for p in response.get_json()["problems"]] == ["programmes[0].budget_vnd"]
    assert db.session.scalar(select(Programme.budget_vnd)) == 3_000_000_000


@pytest.mark.parametrize("body, content_type, error", [
    (b'{"schema": "dxportal.catalogue/1"}', "text/plain", "invalid_json"),
    (b'{"schema": "dxportal.catalogue/1"}', "application/x-www-form-urlencoded", "invalid_json"),
    (b"{not json", "application/json", "invalid_catalogue"),
    (b"", "application/json", "invalid_catalogue"),
    (b"[]", "application/json", "invalid_catalogue"),
    (b'{"schema": "dxportal.catalogue/2"}', "application/json", "invalid_catalogue"),
    (b'{"schema": "dxportal.catalogue/1", "schema": "dxportal.catalogue/1"}', "application/json",
     "invalid_catalogue"),
    (b'\xef\xbb\xbf{"schema": "\xff"}', "application/json", "invalid_catalogue"),
])
def test_malformed_bodies_are_400(client, secret, body, content_type, error):
    response = post_catalogue(client, secret, body, content_type=content_type)
    assert response.status_code == 400
    assert_documented(response, "/catalogue", "post")
    assert response.get_json()["error"] == error


def test_an_empty_document_is_imported_as_nothing(client, secret):
    response = post_catalogue(client, secret, {"schema": "dxportal.catalogue/1"})
    assert response.status_code == 200
    assert response.get_json()["changed"] == []


def test_the_catalogue_body_has_its_own_larger_limit(app, client, secret, monkeypatch):
    document = encoded(minimal())
    assert post_catalogue(client, secret, minimal()).status_code == 200
    monkeypatch.setitem(app.config, "API_CATALOGUE_MAX_BODY_BYTES", len(document) - 1)
    response = post_catalogue(client, secret, document)
    assert response.status_code == 413
    assert_documented(response, "/catalogue", "post")
    assert response.get_json()["error"] == "payload_too_large"


def test_the_default_catalogue_limit_is_the_upload_limit(app, client, secret):
    """5 MB, like the administrators' upload (a JSON body for the other endpoints stops at 64 KB)."""
    padding = " " * (app.config["API_MAX_BODY_BYTES"] * 2)
    document = encoded(minimal()).replace(b"{", b"{" + padding.encode(), 1)
    assert post_catalogue(client, secret, document).status_code == 200
    too_big = b" " * (catalogue_io.MAX_UPLOAD_BYTES + 1)
    assert post_catalogue(client, secret, too_big).status_code == 413


# Open data --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["maturity", "uptake"])
def test_the_open_data_tables_are_the_published_ones(client, secret, name):
    response = get(client, f"/api/v1/open-data/{name}", secret)
    assert response.status_code == 200, response.get_json()
    assert_documented(response, f"/open-data/{name}", "get")
    body = response.get_json()
    rows = opendata.maturity_rows("vi") if name == "maturity" else opendata.uptake_rows("vi")
    assert body["rows"] == json.loads(json.dumps(rows))
    assert (body["name"], body["language"], body["version"]) == (name, "vi", opendata.data_version())
    assert [field["name"] for field in body["fields"]] == [f.name for f in opendata.DATASETS[name].fields]
    english = get(client, f"/api/v1/open-data/{name}?locale=en", secret).get_json()
    assert english["language"] == "en" and english["title"] == opendata.DATASETS[name].title["en"]


@pytest.mark.parametrize("name", ["maturity", "uptake"])
def test_open_data_revalidates_with_the_data_version(client, secret, name):
    first = get(client, f"/api/v1/open-data/{name}", secret)
    again = get(client, f"/api/v1/open-data/{name}", secret, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    english = get(client, f"/api/v1/open-data/{name}?locale=en", secret,
                  headers={"If-None-Match": first.headers["ETag"]})
    assert english.status_code == 200, "another language is another copy"


def _into_the_last_ended_quarter() -> None:
    """Open data publishes ended quarters only: move what the test made into the previous quarter."""
    import datetime as dt

    from sqlalchemy import update

    from app.extensions import db
    from app.models import Application, ApplicationActivity, Assessment

    before = opendata.published_until() - dt.timedelta(days=1)
    db.session.execute(update(Assessment).values(submitted_at=before))
    db.session.execute(update(Application).values(submitted_at=before))
    db.session.execute(update(ApplicationActivity).values(created_at=before))
    db.session.commit()


def test_open_data_with_figures_matches_its_schema(client, secret, upload_dir):  # noqa: F811
    """With applications and assessments in the database (too few to publish: rows are suppressed)."""
    programme = make_programme()
    for _ in range(3):
        application = make_submitted(make_business(level=2), programme)
        move_to(application, ApplicationStatus.APPROVED)
    _into_the_last_ended_quarter()
    for name in ("maturity", "uptake"):
        response = get(client, f"/api/v1/open-data/{name}", secret)
        assert_documented(response, f"/open-data/{name}", "get")
        rows = response.get_json()["rows"]
        assert rows and all(row["suppressed"] and row["organisations"] is None for row in rows)


def test_a_bad_open_data_locale_is_400(client, secret):
    response = get(client, "/api/v1/open-data/maturity?locale=fr", secret)
    assert response.status_code == 400
    assert_documented(response, "/open-data/maturity", "get")
    assert response.get_json()["fields"] == {"locale": "must be 'vi' or 'en'"}


def test_the_documented_rows_are_the_data_dictionary():
    """The row schemas list exactly the fields opendata.DATASETS describes, in its order."""
    schemas = openapi.document()["components"]["schemas"]
    for name, schema in (("maturity", "OpenDataMaturityRow"), ("uptake", "OpenDataUptakeRow")):
        fields = [f.name for f in opendata.DATASETS[name].fields]
        assert list(schemas[schema]["properties"]) == fields
        assert schemas[schema]["required"] == fields


# Applications -----------------------------------------------------------------------------------------------


@pytest.fixture
def sent(upload_dir):  # noqa: F811
    """Applications in several states (and a draft) for two programmes, by an enterprise and a household."""
    first, second = make_programme(code="PRG-FIRST"), make_programme(code="PRG-SECOND")
    partner = make_partner(code="P-PARTNER-1")
    enterprise = make_business(level=2, tax_code="4300123458", contact_phone="0912345678",
                               contact_email="giamdoc@congty.vn", contact_name="Trần Thị Bích")
    household = make_business(level=1, kind=OrganisationKind.HOUSEHOLD_BUSINESS, name="Hộ kinh doanh Lê Văn Tám",
                              tax_code="051089001234", sector="G")
    approved = make_submitted(enterprise, first, partner=partner)
    move_to(approved, ApplicationStatus.APPROVED, amount_vnd=15_000_000)
    in_review = make_submitted(household, first)
    move_to(in_review, ApplicationStatus.IN_REVIEW)
    other = make_submitted(make_business(level=2), second)
    draft = make_draft(make_business(level=2), second, planned_cost_vnd=10_000_000)
    return {"approved": approved, "in_review": in_review, "other": other, "draft": draft,
            "enterprise": enterprise, "household": household}


def test_applications_are_listed_without_personal_data(client, secret, sent):
    response = get(client, APPLICATIONS, secret)
    assert response.status_code == 200, response.get_json()
    assert_documented(response, "/applications", "get")
    body = response.get_json()
    assert (body["total"], body["page"], body["per_page"], body["pages"]) == (3, 1, 50, 1)
    by_id = {item["id"]: item for item in body["items"]}
    assert set(by_id) == {sent["approved"].id, sent["in_review"].id, sent["other"].id}, "drafts are never listed"

    approved = by_id[sent["approved"].id]
    assert (approved["programme"], approved["partner"], approved["state"]) == ("PRG-FIRST", "P-PARTNER-1", "approved")
    assert approved["approved_vnd"] == 15_000_000 and approved["requested_vnd"] == sent["approved"].requested_vnd
    assert approved["organisation"]["name"] == sent["enterprise"].organisation.name
    assert approved["organisation"]["tax_code"] == "4300123458"
    assert approved["organisation"]["kind"] == "enterprise" and approved["organisation"]["sector"] == "G"
    assert approved["decided_at"] and approved["submitted_at"] and approved["applied_year"]

    household = by_id[sent["in_review"].id]["organisation"]
    assert household["kind"] == "household_business"
    assert household["name"] is None and household["tax_code"] is None

    text = response.get_data(as_text=True)
    for business in (sent["enterprise"], sent["household"]):
        assert business.user.email not in text and business.user.full_name not in text
    for personal in ("051089001234", "Lê Văn Tám", "0912345678", "giamdoc@congty.vn", "Trần Thị Bích",
                     sent["approved"].project_title, sent["approved"].project_description):
        assert personal not in text


@pytest.mark.parametrize("query, expected", [
    ("state=approved", ["approved"]),
    ("state=approved&state=in_review", ["approved", "in_review"]),
    ("state=submitted", ["other"]),
    ("state=rejected", []),
    ("programme=PRG-SECOND", ["other"]),
    ("programme=PRG-FIRST&state=in_review", ["in_review"]),
    ("programme=NO-SUCH-CODE", []),
])
def test_applications_can_be_filtered(client, secret, sent, query, expected):
    response = get(client, f"{APPLICATIONS}?{query}", secret)
    assert response.status_code == 200
    assert_documented(response, "/applications", "get")
    assert sorted(item["id"] for item in response.get_json()["items"]) == sorted(sent[key].id for key in expected)


def test_updated_since_gives_what_changed_since_and_pages_in_order(client, secret, sent):
    long_ago = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    db.session.execute(update(Application).where(Application.id != sent["other"].id).values(updated_at=long_ago))
    db.session.commit()
    since = "2021-06-01T07:00:00+07:00"
    response = get(client, APPLICATIONS, secret, query_string={"updated_since": since})
    assert [item["id"] for item in response.get_json()["items"]] == [sent["other"].id]
    everything = get(client, APPLICATIONS, secret, query_string={"updated_since": "2019-12-31T23:00:00Z"})
    items = everything.get_json()["items"]
    assert len(items) == 3 and items[-1]["id"] == sent["other"].id, "oldest change first"
    assert items[0]["updated_at"] == "2020-01-01T00:00:00Z"

    page_one = get(client, APPLICATIONS, secret, query_string={"per_page": 2}).get_json()
    page_two = get(client, APPLICATIONS, secret, query_string={"per_page": 2, "page": 2}).get_json()
    assert (page_one["pages"], len(page_one["items"]), len(page_two["items"])) == (2, 2, 1)
    assert [i["id"] for i in page_one["items"] + page_two["items"]] == [i["id"] for i in items]
    beyond = get(client, APPLICATIONS, secret, query_string={"page": 9}).get_json()
    assert beyond["items"] == [] and beyond["total"] == 3


@pytest.mark.parametrize("query, field", [
    ("state=draft", "state"),
    ("state=nonsense", "state"),
    ("updated_since=yesterday", "updated_since"),
    ("updated_since=2026-06-15", "updated_since"),
    ("updated_since=2026-06-15T08:00:00", "updated_since"),
    ("updated_since=9999-12-31T23:59:59-23:00", "updated_since"),
    ("updated_since=0001-01-01T00:00:00%2B05:00", "updated_since"),
    ("page=0", "page"),
    ("page=-1", "page"),
    ("page=1.5", "page"),
    ("per_page=201", "per_page"),
    ("per_page=%EF%BC%91", "per_page"),
    ("sort=id", "sort"),
])
def test_bad_filters_are_400_naming_the_parameter(client, secret, query, field):
    response = get(client, f"{APPLICATIONS}?{query}", secret)
    assert response.status_code == 400
    assert_documented(response, "/applications", "get")
    assert field in response.get_json()["fields"]


def test_the_list_runs_a_fixed_number_of_queries(client, secret, sent, upload_dir):  # noqa: F811
    def queries() -> int:
        with count_queries() as statements:
            assert get(client, APPLICATIONS, secret).status_code == 200
        return len(statements)

    before = queries()
    for _ in range(3):
        make_submitted(make_business(level=2), make_programme(), partner=make_partner())
    assert queries() == before


def test_one_application_with_its_history(client, secret, sent):
    application = sent["approved"]
    response = get(client, f"{APPLICATIONS}/{application.id}", secret)
    assert response.status_code == 200
    assert_documented(response, "/applications/{application_id}", "get")
    body = response.get_json()
    assert body["id"] == application.id and body["state"] == "approved"
    assert [(h["action"], h["from"], h["to"]) for h in body["history"]] == [
        ("submit", "draft", "submitted"), ("start_review", "submitted", "in_review"),
        ("recommend", "in_review", "recommended"), ("approve", "recommended", "approved")]
    listed = next(i for i in get(client, APPLICATIONS, secret).get_json()["items"] if i["id"] == application.id)
    assert {key: body[key] for key in listed} == listed


def test_drafts_and_unknown_applications_are_404(client, secret, sent):
    for path in (f"{APPLICATIONS}/{sent['draft'].id}", f"{APPLICATIONS}/999999", f"{APPLICATIONS}/99999999999"):
        response = get(client, path, secret)
        assert response.status_code == 404, path
        assert response.get_json()["error"] == "not_found"
        assert_documented(response, "/applications/{application_id}", "get", listed=path.endswith("999999"))


# The document names each endpoint's scope -------------------------------------------------------------------


def _operations(app):
    """(documented path, method, view's access rule) for every API route."""
    from tests.test_openapi import API_PREFIX, IGNORED_METHODS, _openapi_path

    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(API_PREFIX + "/"):
            for method in rule.methods - IGNORED_METHODS:
                yield _openapi_path(rule.rule), method.lower(), app.view_functions[rule.endpoint].access_rule


def test_every_token_endpoint_documents_its_scope_and_public_ones_none(app):
    doc = openapi.document()
    found = 0
    for path, method, rule in _operations(app):
        operation = doc["paths"][path][method]
        if isinstance(rule, TokenAccessRule):
            found += 1
            assert operation.get("security") == [{"bearerAuth": [rule.scope]}], f"{method} {path}"
            assert f"`{rule.scope}`" in operation["description"], f"{method} {path} names its scope for people"
            for status in ("401", "403"):
                assert status in operation["responses"], f"{method} {path} documents {status}"
        else:
            assert rule.kind == "public" and "security" not in operation, f"{method} {path}"
    assert found == 6
    assert "security" not in doc, "public endpoints need no token"
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_every_token_endpoint_refuses_a_missing_token_as_documented(app, client):
    for path, method, rule in _operations(app):
        if isinstance(rule, TokenAccessRule):
            url = "/api/v1" + path.replace("{application_id}", "1")
            response = client.open(url, method=method.upper())
            assert response.status_code == 401, url
            assert response.headers["WWW-Authenticate"] == 'Bearer realm="dxportal"'
            assert_documented(response, path, method)


def test_the_documented_import_example_is_answered_as_documented(client, secret):
    operation = openapi.document()["paths"]["/catalogue"]["post"]
    example = operation["requestBody"]["content"]["application/json"]["example"]
    answer = operation["responses"]["200"]["content"]["application/json"]["example"]
    response = post_catalogue(client, secret, example)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["counts"], body["changed"]) == (answer["counts"], answer["changed"])
