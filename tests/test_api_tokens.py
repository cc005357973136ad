"""API tokens: created by administrators with scopes, the secret shown once and stored only as a hash,
refused when wrong or revoked (401) or without the scope (403), every use logged, creation and revocation
audited. The endpoints themselves are tested in test_api_integrations.py."""

from __future__ import annotations

import hashlib
import re

import pytest
from sqlalchemy import func, select, text

from app.extensions import db
from app.models import ApiToken, ApiTokenUse, AuditEvent, Role
from app.services import api_tokens
from tests.api_tokens_helpers import ALL_SCOPES, bearer, make_admin, make_token
from tests.factories import UserFactory
from tests.test_admin import login_as

NEW = "/admin/api-tokens/new"
INDEX = "/admin/api-tokens/"
CATALOGUE = "/api/v1/catalogue"
SECRET_RE = re.compile(r"dxp_[A-Za-z0-9_-]{43}")


@pytest.fixture
def admin():
    return make_admin(locale="en", full_name="Admin One")


@pytest.fixture
def admin_client(client, admin):
    login_as(client, admin)
    return client


def create_through_the_page(client, name="Provincial reporting system", scopes=("catalogue:read",)):
    response = client.post(NEW, data={"name": name, "scopes": list(scopes)})
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    html = response.get_data(as_text=True)
    secrets = set(SECRET_RE.findall(html))
    assert len(secrets) == 1, "the page shows the one new secret"
    assert response.headers["Cache-Control"] == "no-store", "no cache keeps the page with the secret"
    return html, secrets.pop()


def every_stored_text() -> str:
    """Every value of every row of every table, as one text (to prove a secret is stored nowhere)."""
    parts = []
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(select(table)):
            parts.extend(str(value) for value in row)
    return "\n".join(parts)


# Creating ---------------------------------------------------------------------------------------------------


def test_a_token_is_shown_once_and_stored_hashed(admin_client, admin):
    html, secret = create_through_the_page(admin_client, scopes=("catalogue:read", "applications:read"))
    assert "This is the only time the token is shown" in html

    token = db.session.scalar(select(ApiToken))
    assert token.name == "Provincial reporting system"
    assert token.scopes == ["catalogue:read", "applications:read"]
    assert token.created_by_id == admin.id
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert token.prefix == secret[:12] and token.prefix.startswith("dxp_")
    assert secret not in every_stored_text(), "the database never holds the secret"

    listing = admin_client.get(INDEX).get_data(as_text=True)
    detail = admin_client.get(f"/admin/api-tokens/{token.id}").get_data(as_text=True)
    for page in (listing, detail):
        assert f"{token.prefix}…" in page, "the prefix identifies the token"
        assert secret not in page and not SECRET_RE.search(page), "the secret is never shown again"
        assert "catalogue:read" in page and "applications:read" in page


def test_creating_a_token_is_audited_without_the_secret(admin_client, admin):
    _html, secret = create_through_the_page(admin_client)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "api_token.create"))
    token = db.session.scalar(select(ApiToken))
    assert (event.actor_id, event.object_type, event.object_id) == (admin.id, "api_token", str(token.id))
    assert event.after == {"name": "Provincial reporting system", "prefix": token.prefix,
                           "scopes": ["catalogue:read"]}
    assert secret not in str(event.after)


def test_two_tokens_have_different_secrets(app):
    (first, one), (second, two) = make_token(), make_token()
    assert one != two and first.token_hash != second.token_hash
    assert SECRET_RE.fullmatch(one) and SECRET_RE.fullmatch(two)


@pytest.mark.parametrize("data, field", [
    ({"name": "", "scopes": ["catalogue:read"]}, "name"),
    ({"name": "   ", "scopes": ["catalogue:read"]}, "name"),
    ({"name": "x" * 121, "scopes": ["catalogue:read"]}, "name"),
    ({"name": "Reporting"}, "scopes"),
    ({"name": "Reporting", "scopes": ["admin:everything"]}, "scopes"),
])
def test_bad_input_is_400_with_the_input_kept(admin_client, data, field):
    response = admin_client.post(NEW, data=data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert f'href="#{field}"' in html, "the error summary links to the field"
    assert not SECRET_RE.search(html)
    if data["name"].strip() and len(data["name"]) <= 120:
        assert f'value="{data["name"]}"' in html
    assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 0


def test_the_new_token_form_lists_every_scope(admin_client):
    html = admin_client.get(NEW).get_data(as_text=True)
    for scope in ALL_SCOPES:
        assert f'value="{scope}"' in html


def test_the_form_needs_its_csrf_token(admin_client):
    response = admin_client.post(NEW, data={"name": "Reporting", "scopes": ["catalogue:read"]}, csrf=False)
    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 0


def test_the_service_refuses_unknown_scopes_and_empty_names(app):
    admin = make_admin()
    for name, scopes in (("Reporting", ["catalogue:delete"]), ("Reporting", []), ("  ", ["catalogue:read"])):
        with pytest.raises(api_tokens.TokenError):
            api_tokens.create(admin, name, scopes)


# Who manages tokens -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [INDEX, NEW, "/admin/api-tokens/1", "/admin/api-tokens/1/revoke"])
def test_only_administrators_manage_tokens(client, path):
    token, _secret = make_token()
    path = path.replace("/1", f"/{token.id}")
    anonymous = client.get(path)
    assert anonymous.status_code == 302 and "/auth/login" in anonymous.headers["Location"]
    for roles in ([Role.REVIEWER], [Role.APPROVER], [Role.BUSINESS], [Role.REVIEWER, Role.APPROVER]):
        login_as(client, UserFactory(roles=roles))
        assert client.get(path).status_code == 403, roles
    login_as(client, UserFactory(roles=[Role.ADMIN]))
    assert client.get(path).status_code == 200


def test_a_reviewer_cannot_create_or_revoke(client):
    token, _secret = make_token()
    login_as(client, UserFactory(roles=[Role.REVIEWER, Role.APPROVER]))
    assert client.post(NEW, data={"name": "Mine", "scopes": ["catalogue:write"]}).status_code == 403
    assert client.post(f"/admin/api-tokens/{token.id}/revoke", data={}).status_code == 403
    assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 1
    assert db.session.get(ApiToken, token.id).revoked_at is None


def test_unknown_token_pages_are_404(admin_client):
    assert admin_client.get("/admin/api-tokens/999").status_code == 404
    assert admin_client.post("/admin/api-tokens/999/revoke", data={}).status_code == 404


# Using a token ----------------------------------------------------------------------------------------------


def test_a_valid_token_with_the_scope_gets_through(client):
    _token, secret = make_token(["catalogue:read"])
    assert client.get(CATALOGUE, headers=bearer(secret)).status_code == 200


@pytest.mark.parametrize("header", [
    None,
    "",
    "Bearer",
    "Bearer ",
    "Basic dXNlcjpwYXNz",
    "Bearer dxp_" + "A" * 43,
    "Bearer not-a-token",
    "Token {secret}",
    "Bearer {secret}x",
    "Bearer {short}",
])
def test_missing_or_wrong_tokens_get_401(client, header):
    _token, secret = make_token()
    headers = {}
    if header is not None:
        headers["Authorization"] = header.format(secret=secret, short=secret[:-1])
    response = client.get(CATALOGUE, headers=headers)
    assert response.status_code == 401
    assert response.is_json and response.get_json()["error"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="dxportal"')


def test_the_bearer_scheme_is_case_insensitive(client):
    _token, secret = make_token()
    assert client.get(CATALOGUE, headers={"Authorization": f"bearer {secret}"}).status_code == 200


def test_a_logged_in_administrator_without_a_token_gets_401(admin_client):
    """A session cookie never opens the token API (it is exempt from CSRF)."""
    response = admin_client.get(CATALOGUE)
    assert response.status_code == 401 and response.get_json()["error"] == "unauthorized"
    assert admin_client.post(CATALOGUE, json={"schema": "dxportal.catalogue/1"}).status_code == 401


@pytest.mark.parametrize("scope, path, method", [
    ("catalogue:read", "/api/v1/catalogue", "GET"),
    ("catalogue:write", "/api/v1/catalogue", "POST"),
    ("applications:read", "/api/v1/applications", "GET"),
    ("applications:read", "/api/v1/applications/1", "GET"),
    ("opendata:read", "/api/v1/open-data/maturity", "GET"),
    ("opendata:read", "/api/v1/open-data/uptake", "GET"),
])
def test_a_token_without_the_scope_gets_403(client, scope, path, method):
    others = [other for other in ALL_SCOPES if other != scope]
    token, secret = make_token(others)
    response = client.open(path, method=method, headers=bearer(secret), json={"schema": "dxportal.catalogue/1"})
    assert response.status_code == 403
    assert response.get_json()["error"] == "forbidden"
    assert f'scope="{scope}"' in response.headers["WWW-Authenticate"]
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
    use = db.session.scalar(select(ApiTokenUse))
    assert (use.token_id, use.method, use.path, use.status) == (token.id, method, path, 403)


def test_catalogue_read_does_not_allow_writing(client):
    _token, secret = make_token(["catalogue:read"])
    response = client.post(CATALOGUE, headers=bearer(secret), json={"schema": "dxportal.catalogue/1"})
    assert response.status_code == 403


def test_every_use_is_logged_and_last_used_is_updated(client):
    token, secret = make_token(["catalogue:read", "applications:read"])
    assert token.last_used_at is None
    client.get(CATALOGUE, headers=bearer(secret), environ_base={"REMOTE_ADDR": "203.0.113.7"})
    client.get("/api/v1/applications?page=0", headers=bearer(secret))
    client.get("/api/v1/applications/12345", headers=bearer(secret))
    client.post(CATALOGUE, headers=bearer(secret), json={})
    uses = db.session.scalars(select(ApiTokenUse).order_by(ApiTokenUse.id)).all()
    assert [(u.method, u.path, u.status) for u in uses] == [
        ("GET", "/api/v1/catalogue", 200),
        ("GET", "/api/v1/applications", 400),
        ("GET", "/api/v1/applications/12345", 404),
        ("POST", "/api/v1/catalogue", 403),
    ]
    assert uses[0].ip == "203.0.113.7"
    assert all(use.token_id == token.id for use in uses)
    stored = db.session.get(ApiToken, token.id)
    assert stored.last_used_at is not None
    assert stored.last_used_at >= uses[0].used_at


def test_unknown_tokens_are_not_logged_against_any_token(client):
    token, _secret = make_token()
    client.get(CATALOGUE, headers=bearer("dxp_" + "B" * 43))
    assert db.session.scalar(select(func.count()).select_from(ApiTokenUse)) == 0
    assert db.session.get(ApiToken, token.id).last_used_at is None


def test_the_usage_log_is_shown_newest_first_and_paginated(admin_client):
    token, secret = make_token(["catalogue:read"])
    for _ in range(27):
        admin_client.get(CATALOGUE, headers=bearer(secret))
    admin_client.get("/api/v1/applications", headers=bearer(secret))
    first = admin_client.get(f"/admin/api-tokens/{token.id}").get_data(as_text=True)
    assert first.count("<code>GET /api/v1/catalogue</code>") == 24
    assert first.index("<code>GET /api/v1/applications</code>") < first.index("<code>GET /api/v1/catalogue</code>")
    assert "403" in first
    assert f'href="/admin/api-tokens/{token.id}?page=2"' in first
    second = admin_client.get(f"/admin/api-tokens/{token.id}?page=2").get_data(as_text=True)
    assert second.count("<code>GET /api/v1/catalogue</code>") == 3


# Revoking ---------------------------------------------------------------------------------------------------


def test_revoking_asks_for_confirmation_then_refuses_the_token(admin_client, admin):
    token, secret = make_token()
    assert admin_client.get(CATALOGUE, headers=bearer(secret)).status_code == 200

    confirm = admin_client.get(f"/admin/api-tokens/{token.id}/revoke")
    assert confirm.status_code == 200
    assert "This cannot be undone" in confirm.get_data(as_text=True)
    assert db.session.get(ApiToken, token.id).revoked_at is None, "the confirmation page changes nothing"

    response = admin_client.post(f"/admin/api-tokens/{token.id}/revoke", data={})
    assert response.status_code == 303
    stored = db.session.get(ApiToken, token.id)
    assert stored.revoked_at is not None and stored.revoked_by_id == admin.id

    refused = admin_client.get(CATALOGUE, headers=bearer(secret))
    assert refused.status_code == 401
    assert refused.get_json()["message"] == "The API token has been revoked."
    assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
    last = db.session.scalar(select(ApiTokenUse).order_by(ApiTokenUse.id.desc()))
    assert (last.path, last.status) == ("/api/v1/catalogue", 401), "uses of a revoked token are logged too"

    page = admin_client.get(f"/admin/api-tokens/{token.id}").get_data(as_text=True)
    assert "Revoked" in page and "Revoke token" not in page


def test_revocation_is_audited_once(admin_client, admin):
    token, _secret = make_token()
    admin_client.post(f"/admin/api-tokens/{token.id}/revoke", data={})
    again = admin_client.post(f"/admin/api-tokens/{token.id}/revoke", data={}, follow_redirects=True)
    assert "already revoked" in again.get_data(as_text=True)
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "api_token.revoke")).all()
    assert len(events) == 1
    event = events[0]
    assert (event.actor_id, event.object_id) == (admin.id, str(token.id))
    assert event.before == {"revoked_at": None}
    assert event.after["prefix"] == token.prefix and event.after["revoked_at"]


def test_revoking_needs_the_csrf_token(admin_client):
    token, _secret = make_token()
    response = admin_client.post(f"/admin/api-tokens/{token.id}/revoke", data={}, csrf=False)
    assert response.status_code == 400
    assert db.session.get(ApiToken, token.id).revoked_at is None


def test_the_list_shows_scopes_last_use_and_revocation(admin_client):
    _used, secret = make_token(["opendata:read"], name="Open data portal")
    make_token(["catalogue:write"], name="Catalogue feed")
    revoked, _ = make_token(["applications:read"], name="Old reporting")
    admin_client.get("/api/v1/applications", headers=bearer(secret))
    admin_client.post(f"/admin/api-tokens/{revoked.id}/revoke", data={})
    html = admin_client.get(INDEX).get_data(as_text=True)
    assert html.index(">Open data portal</a>") < html.index(">Old reporting</a>"), "active tokens first"
    assert html.count("Never") == 2
    assert "Revoked" in html
    for scope in ("opendata:read", "catalogue:write", "applications:read"):
        assert f"<code>{scope}</code>" in html


def test_a_revoked_token_row_keeps_its_history(app):
    token, secret = make_token()
    api_tokens.record_use(token.id, method="GET", path="/api/v1/catalogue", status=200, ip=None)
    assert api_tokens.revoke(make_admin(), token)
    db.session.commit()
    assert api_tokens.find(secret).id == token.id, "still found, to log the refused use"
    assert not api_tokens.has_scope(api_tokens.find(secret), "catalogue:read")
    assert db.session.scalar(select(func.count()).select_from(ApiTokenUse)) == 1
    raw = db.session.execute(text("SELECT token_hash FROM api_token")).scalar_one()
    assert raw == hashlib.sha256(secret.encode()).hexdigest()


def test_each_token_has_its_own_rate_limit(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_API_TOKEN", "2 per minute")
    token, secret = make_token(["catalogue:read"])
    _other, other = make_token(["catalogue:read"])
    statuses = [client.get(CATALOGUE, headers=bearer(secret)).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    refused = client.get(CATALOGUE, headers=bearer(secret))
    assert refused.get_json()["error"] == "rate_limited" and "Retry-After" in refused.headers
    assert client.get(CATALOGUE, headers=bearer(other)).status_code == 200, "another system is not held back"
    logged = db.session.scalars(select(ApiTokenUse.status).where(ApiTokenUse.token_id == token.id)
                                .order_by(ApiTokenUse.id)).all()
    assert logged == [200, 200, 429, 429]
