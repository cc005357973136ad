"""Security headers on every answer: for every GET route of ``app.url_map`` (with real objects in the URL),
anonymous and logged in with every role, whatever the status (page, redirect, 401, 403, 404, download, PDF,
JSON), and for error pages and static files too:

- ``Content-Security-Policy`` whose script-src (or default-src) allows no inline script and no eval,
  and no framing (``frame-ancestors`` or ``X-Frame-Options``);
- ``X-Content-Type-Options: nosniff`` and a ``Referrer-Policy`` that does not leak paths to other sites;
- cookies ``HttpOnly`` and ``SameSite``, ``Secure`` in production (with HSTS);
- pages for a logged-in user are not stored by the browser or proxies (``Cache-Control: no-store``).

tests/test_main.py checks the headers of the home page; this checks all of them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app import create_app
from config import ProductionConfig, TestConfig
from tests.security.helpers import (
    RULES,
    assert_secure_headers,
    is_api,
    keeper_fixtures,
    login,
    rule_id,
    url,
    values_for,
)

GET_RULES = [r for r in RULES if "GET" in r.methods]

#: Answers that are the same for everyone and hold nothing personal: they may be cached even when logged in.
PUBLIC_CACHEABLE = {"main.healthz", "opendata.download"}
#: One world for the module: GET requests only read (rebuilt if something is gone).
keeper, _clean_state, world = keeper_fixtures(strict=False, all_roles_owner=True)


def _get(app, client, rule, world_, headers=None):
    return client.get(url(app, rule, values_for(rule, world_, "A")), headers=headers or {})


GET_PARAMS = [pytest.param(r, id=rule_id(r)) for r in GET_RULES]


@pytest.mark.parametrize("rule", GET_PARAMS)
def test_every_page_carries_the_security_headers(app, client, world, rule):
    anonymous = _get(app, client, rule, world)
    assert anonymous.status_code < 500
    assert_secure_headers(anonymous, f"anonymous GET {rule.rule} ({anonymous.status_code})")
    login(client, world.a.owner_id)
    headers = {"Authorization": f"Bearer {world.token_secret}"} if is_api(rule) else None
    member = _get(app, client, rule, world, headers)
    assert member.status_code < 500
    where = f"logged-in GET {rule.rule} ({member.status_code})"
    assert_secure_headers(member, where)
    if not is_api(rule) and member.status_code == 200 and rule.endpoint not in PUBLIC_CACHEABLE:
        assert "no-store" in member.headers.get("Cache-Control", ""), (
            f"{where}: a logged-in answer may be stored ({member.headers.get('Cache-Control')!r})")


def test_error_pages_and_static_files_carry_them_too(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1024)
    folder = Path(app.static_folder)
    static = next(p for p in sorted(folder.rglob("*.css")) if p.is_file()).relative_to(folder).as_posix()
    checks = {
        "404 unknown page": client.get("/no-such-page"),
        "404 unknown API path": client.get("/api/v1/no-such-thing"),
        "405 wrong method": client.put("/auth/login"),
        "400 CSRF": client.post("/auth/login", data={}, csrf=False),
        "413 too large": client.post("/auth/login", data={"x": "y" * 2048}),
        "static file": client.get(f"/static/{static}"),
    }
    for where, response in checks.items():
        assert_secure_headers(response, where)


class _ErrorConfig(TestConfig):
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    PROPAGATE_TEST_ERRORS = False


def test_the_500_page_carries_them_too():
    """On an app of its own (the session's app is never given a route that fails on purpose)."""
    broken = create_app(_ErrorConfig)

    @broken.route("/boom")
    def boom():
        raise RuntimeError("boom")

    response = broken.test_client().get("/boom")
    assert response.status_code == 500
    assert_secure_headers(response, "500 page")


class _ProductionConfig(ProductionConfig):
    SECRET_KEY = "x" * 48
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    RATELIMIT_STORAGE_URI = "memory://"
    REDIS_URL = None


def test_production_adds_hsts_and_secure_cookies():
    production = create_app(_ProductionConfig)
    client = production.test_client()
    response = client.get("/auth/login", base_url="https://dxportal.example.vn")
    assert response.status_code == 200
    assert_secure_headers(response, "production login page")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert int(response.headers["Strict-Transport-Security"].split("=")[1].split(";")[0]) >= 15552000
    cookies = response.headers.getlist("Set-Cookie")
    assert cookies, "the login form puts its CSRF token in the session"
    assert all("Secure" in cookie for cookie in cookies), cookies
