"""CSRF, for every state-changing route of ``app.url_map``: a request without the token, or with another
session's token, is refused with the translated 400 page before the view runs — even for a logged-in user
with every role, who could otherwise do anything there. A new form route is covered as soon as it exists.

The JSON API under /api/v1 is the one exemption, by design: it authenticates by an ``Authorization`` header,
never by the session cookie; the tests below check the exemption is that blueprint alone and that a session
cookie opens nothing there. tests/test_csrf.py has the single-form version of the first test.
"""

from __future__ import annotations

import inspect

import pytest
from flask_wtf import FlaskForm

from app.extensions import csrf
from app.models import Role
from tests.factories import UserFactory
from tests.security.helpers import (
    API_PREFIX,
    assert_secure_headers,
    audit_count,
    is_api,
    keeper_fixtures,
    login,
    pair_id,
    placeholder_world,
    unsafe_pairs,
    url,
    values_for,
)

#: The tables are kept between this module's tests (each makes its own user; the refused requests change
#: nothing) and emptied at the end, which spares a database clean-up per route.
keeper, _clean_state, _world = keeper_fixtures(strict=False)
FORM_PAIRS = unsafe_pairs(api=False)
API_PAIRS = unsafe_pairs(api=True)
CSRF_PAGE = "Your form expired or was sent from another site"


@pytest.fixture
def everyone(client):
    """Logged in with every role, in English (to read the refusal)."""
    user = UserFactory(roles=list(Role), locale="en")
    login(client, user.id)
    return user


def _url(app, rule) -> str:
    return url(app, rule, values_for(rule, placeholder_world()))


def test_there_are_form_routes_to_check():
    assert len(FORM_PAIRS) > 50 and API_PAIRS


@pytest.mark.parametrize("pair", FORM_PAIRS, ids=[pair_id(p) for p in FORM_PAIRS])
def test_a_form_post_without_a_valid_token_is_refused(app, client, everyone, pair):
    rule, method = pair
    target = _url(app, rule)
    before = audit_count()
    missing = client.open(target, method=method, data={}, csrf=False)
    assert missing.status_code == 400, f"{method} {target} without a token: {missing.status_code}"
    assert CSRF_PAGE in missing.get_data(as_text=True)
    assert_secure_headers(missing, f"{method} {target} refused")
    # A real token, but of another browser's session (what a forged cross-site form would carry).
    other = app.test_client()
    foreign = client.open(target, method=method, data={"csrf_token": other.csrf_token()}, csrf=False)
    assert foreign.status_code == 400 and CSRF_PAGE in foreign.get_data(as_text=True), (
        f"{method} {target} with another session's token: {foreign.status_code}")
    assert audit_count() == before, f"{method} {target} changed something without a valid token"
    # The same request with this session's token is not stopped by CSRF (the test's control).
    accepted = client.open(target, method=method, data={})
    assert CSRF_PAGE not in accepted.get_data(as_text=True), f"{method} {target} refused a valid token"


def test_csrf_protection_is_on_for_every_request(app):
    assert app.config["WTF_CSRF_ENABLED"] is True
    assert app.config["WTF_CSRF_CHECK_DEFAULT"] is True
    assert {"POST", "PUT", "PATCH", "DELETE"} <= set(app.config["WTF_CSRF_METHODS"])


def test_the_only_exemption_is_the_api_blueprint(app):
    """No single view is exempt, and the one exempt blueprint is the API, mounted at /api/v1 only."""
    assert csrf._exempt_views == set()
    exempt = [name for name, blueprint in app.blueprints.items() if blueprint in csrf._exempt_blueprints]
    assert exempt == ["api"]
    api_rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("api.")]
    assert api_rules and all(r.rule.startswith(API_PREFIX + "/") for r in api_rules)
    assert all(r.endpoint.startswith("api.") for r in app.url_map.iter_rules() if is_api(r))


def _form_classes(base=FlaskForm):
    for sub in base.__subclasses__():
        yield sub
        yield from _form_classes(sub)


def test_only_get_filter_forms_turn_csrf_off():
    """A form class with ``Meta.csrf = False`` must be a search/filter form read from the query string."""
    import app.blueprints  # noqa: F401  (the forms are imported with their blueprints)

    without = [form for form in _form_classes() if inspect.getmodule(form).__name__.startswith("app.")
               and getattr(form.Meta, "csrf", True) is False]
    assert without, "the filter forms were not found"
    for form in without:
        names = [cls.__name__ for cls in form.__mro__]
        assert any(name.endswith(("SearchForm", "FilterForm")) for name in names), (
            f"{form.__module__}.{form.__name__} turns CSRF off but is not a GET search/filter form")


@pytest.mark.parametrize("pair", API_PAIRS, ids=[pair_id(p) for p in API_PAIRS])
def test_a_session_cookie_opens_nothing_in_the_exempt_api(app, client, everyone, pair):
    """Without a token an API post changes nothing, however powerful the logged-in browser that sends it."""
    rule, method = pair
    target = _url(app, rule)
    before = audit_count()
    response = client.open(target, method=method, json={"schema": "dxportal.catalogue/1"}, csrf=False)
    assert response.status_code < 500
    assert audit_count() == before, f"{method} {target} acted on a session cookie"
