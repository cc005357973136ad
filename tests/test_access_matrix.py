"""The route-by-role matrix, built from ``app.url_map``: every route declares who may reach it, and
the declaration holds — anonymous visitors are sent to log in, users without an allowed role get 403,
users with one get through. A new route without an access decorator fails here, by name.

Form posts are sent with CSRF protection switched off for the request: CSRFProtect runs before the
view, so with it on an anonymous POST would stop at 400 and never reach the access check.
"""

from __future__ import annotations

import re
import uuid
from urllib.parse import urlsplit

import pytest
from flask import url_for

from app import create_app
from app.extensions import db
from app.models import Role
from app.security import AccessRule
from app.services import api_tokens, invitations
from config import TestConfig
from tests.factories import OrganisationFactory, UserFactory
from tests.test_admin import login_as


class _CollectConfig(TestConfig):
    """Only used to read the url_map at collection time; it never opens a connection."""

    SQLALCHEMY_DATABASE_URI = "sqlite://"


def _rules():
    collected = create_app(_CollectConfig)
    rules = sorted((r for r in collected.url_map.iter_rules() if r.endpoint != "static"),
                   key=lambda r: (r.endpoint, r.rule))
    return rules, {r.endpoint: getattr(collected.view_functions[r.endpoint], "access_rule", None) for r in rules}


def _ids(rules) -> list[str]:
    return [f"{r.endpoint} {r.rule}" for r in rules]


RULES, _DECLARED = _rules()
RULE_IDS = _ids(RULES)
#: Routes limited to some roles, routes for any logged-in user or some roles (not public, not for API tokens),
#: and API routes that want a bearer token with a scope (``app.blueprints.api.auth.require_scope``).
ROLE_RULES = [r for r in RULES if _DECLARED[r.endpoint] is not None and _DECLARED[r.endpoint].kind == "roles"]
PRIVATE_RULES = [r for r in RULES if _DECLARED[r.endpoint] is not None
                 and _DECLARED[r.endpoint].kind not in ("public", "token")]
TOKEN_RULES = [r for r in RULES if _DECLARED[r.endpoint] is not None and _DECLARED[r.endpoint].kind == "token"]
_ARGUMENT_RE = re.compile(r"<(?:(?P<converter>[a-zA-Z_]+)(?:\((?P<args>[^)]*)\))?:)?(?P<name>\w+)>")


def _sample_values(rule) -> dict:
    """A value for every URL argument, from its converter: ids of the objects ``sample_objects`` made."""
    values = {}
    for match in _ARGUMENT_RE.finditer(rule.rule):
        converter, args, name = match.group("converter") or "default", match.group("args"), match.group("name")
        if converter == "int":
            values[name] = 1
        elif converter == "float":
            values[name] = 1.0
        elif converter == "uuid":
            values[name] = uuid.UUID(int=1)
        elif converter == "any":
            values[name] = args.split(",")[0].strip().strip("'\"")
        else:
            values[name] = "x"
    return values


def _method(rule) -> str:
    methods = rule.methods - {"HEAD", "OPTIONS"}
    return "GET" if "GET" in methods else sorted(methods)[0]


def _request(app, client, rule, **kwargs):
    with app.test_request_context():
        url = url_for(rule.endpoint, **_sample_values(rule))
    return client.open(url, method=_method(rule), data={}, **kwargs)


def _access_rule(app, endpoint: str) -> AccessRule | None:
    return getattr(app.view_functions[endpoint], "access_rule", None)


def _is_login_redirect(app, response) -> bool:
    if response.status_code not in (301, 302, 303, 307, 308):
        return False
    with app.test_request_context():
        login_path = url_for("auth.login")
    return urlsplit(response.headers["Location"]).path == login_path


@pytest.fixture
def no_csrf(app, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)


@pytest.fixture
def sample_objects():
    """Id 1 of each kind of object exists, so routes with an ``<int:...>`` argument find something."""
    target = UserFactory(full_name="Sample target", roles=[Role.BUSINESS])
    organisation = OrganisationFactory(owner=target)
    inviter = UserFactory(roles=[Role.ADMIN])
    invitations.invite_staff(inviter, [Role.REVIEWER], email="sample@so.gov.vn")
    db.session.commit()
    assert (target.id, organisation.id) == (1, 1)


def test_the_matrix_covers_the_live_app(app):
    """The rules collected for the parametrised tests are exactly the routes of the app under test."""
    live = sorted(f"{r.endpoint} {r.rule}" for r in app.url_map.iter_rules() if r.endpoint != "static")
    assert live == RULE_IDS


@pytest.mark.parametrize("rule", RULES, ids=RULE_IDS)
def test_every_route_declares_its_access_rule(app, rule):
    assert isinstance(_access_rule(app, rule.endpoint), AccessRule), (
        f"{rule.endpoint} ({rule.rule}) has no access decorator from app.security"
    )


@pytest.mark.parametrize("rule", RULES, ids=RULE_IDS)
def test_anonymous_visitors(app, client, no_csrf, sample_objects, rule):
    access = _access_rule(app, rule.endpoint)
    assert access is not None, f"{rule.endpoint} has no access rule"
    response = _request(app, client, rule)
    if access.kind == "public":
        assert response.status_code not in (401, 403), rule.endpoint
        assert not _is_login_redirect(app, response), rule.endpoint
    elif rule.rule.startswith("/api/"):
        assert response.status_code == 401, rule.endpoint
        assert response.is_json and response.get_json()["error"] == "unauthorized"
    else:
        assert _is_login_redirect(app, response), f"{rule.endpoint}: {response.status_code}"
        assert "next=" in response.headers["Location"]


@pytest.mark.parametrize("rule", ROLE_RULES, ids=_ids(ROLE_RULES))
def test_users_without_an_allowed_role_get_403(app, client, no_csrf, sample_objects, rule):
    access = _access_rule(app, rule.endpoint)
    others = [role for role in Role if role not in access.roles]
    login_as(client, UserFactory(roles=others))
    assert _request(app, client, rule).status_code == 403, f"{rule.endpoint} let in {others}"
    login_as(client, UserFactory(roles=[]))
    assert _request(app, client, rule).status_code == 403, f"{rule.endpoint} let in a user without roles"


@pytest.mark.parametrize("rule", PRIVATE_RULES, ids=_ids(PRIVATE_RULES))
def test_users_with_an_allowed_role_get_through(app, client, no_csrf, sample_objects, rule):
    access = _access_rule(app, rule.endpoint)
    holders = [[role] for role in sorted(access.roles)] if access.kind == "roles" else [list(Role), []]
    for roles in holders:
        login_as(client, UserFactory(roles=roles))
        response = _request(app, client, rule)
        assert response.status_code not in (401, 403), f"{rule.endpoint} refused {roles}: {response.status_code}"
        assert not _is_login_redirect(app, response), f"{rule.endpoint} sent {roles} to the login page"


@pytest.mark.parametrize("rule", TOKEN_RULES, ids=_ids(TOKEN_RULES))
def test_token_routes_want_a_token_with_their_scope(app, client, no_csrf, sample_objects, rule):
    """A session never opens them, whatever its roles; a token without the route's scope gets 403."""
    scope = _access_rule(app, rule.endpoint).scope
    login_as(client, UserFactory(roles=list(Role)))
    assert _request(app, client, rule).status_code == 401, f"{rule.endpoint} let a session in"
    admin = UserFactory(roles=[Role.ADMIN])
    _token, without = api_tokens.create(admin, "Other scopes", [s for s in api_tokens.SCOPES if s != scope])
    _token, holder = api_tokens.create(admin, "Holder", [scope])
    db.session.commit()
    assert _request(app, client, rule, headers={"Authorization": f"Bearer {without}"}).status_code == 403
    response = _request(app, client, rule, headers={"Authorization": f"Bearer {holder}"})
    assert response.status_code not in (401, 403), f"{rule.endpoint} refused its scope {scope}"


# JSON clients --------------------------------------------------------------------------------

JSON = {"Accept": "application/json"}


def test_json_client_gets_401_json_when_anonymous(client):
    response = client.get("/admin/users", headers=JSON)
    assert response.status_code == 401
    assert response.is_json
    assert response.get_json()["error"] == "unauthorized"


@pytest.mark.parametrize("path", ["/admin/users", "/admin/audit", "/admin/organisations"])
def test_json_client_gets_403_json_without_the_role(client, path):
    login_as(client, UserFactory(roles=[Role.BUSINESS, Role.PARTNER]))
    response = client.get(path, headers=JSON)
    assert response.status_code == 403
    assert response.is_json
    assert response.get_json()["error"] == 403


def test_browser_gets_pages_not_json(client):
    anonymous = client.get("/admin/users", headers={"Accept": "text/html"})
    assert anonymous.status_code == 302 and not anonymous.is_json
    login_as(client, UserFactory(roles=[Role.REVIEWER]))
    denied = client.get("/admin/users", headers={"Accept": "text/html,application/xhtml+xml"})
    assert denied.status_code == 403
    assert denied.mimetype == "text/html"

