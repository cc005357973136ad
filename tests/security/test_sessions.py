"""Sessions: Flask keeps the session in a signed cookie, so "the session id" is the cookie's content and the
login id inside it (``"<user id>:<session token>"``, ``User.get_id``). What must hold:

- logging in gives a new cookie, and a cookie captured before the login (fixation) never carries the
  identity, nor does any value planted in the session before the login (the CSRF token) survive it;
- logging out clears the identity from the cookie (and the remember-me cookie);
- "log out everywhere" (and a password change) rotate the session token: every cookie captured before,
  replayed from another browser, is anonymous; a tampered cookie is anonymous.

tests/test_auth.py covers the user-visible flows (log in and out, remember me, log out everywhere); these
tests replay cookies the way an attacker would.
"""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import Role, User
from tests.accounts_helpers import is_logged_in, use_english
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.security.helpers import assert_secure_headers

LOGIN = "phien@example.vn"
SESSION_COOKIE = "session"
REMEMBER_COOKIE = "remember_token"


@pytest.fixture
def user():
    return UserFactory(email=LOGIN, locale="en", roles=[Role.BUSINESS])


def _cookie(client, name: str = SESSION_COOKIE) -> str | None:
    cookie = client.get_cookie(name)
    return cookie.value if cookie else None


def _session(client) -> dict:
    with client.session_transaction() as session:
        return dict(session)


def _log_in(client, remember: bool = False):
    data = {"login": LOGIN, "password": DEFAULT_PASSWORD}
    if remember:
        data["remember"] = "y"
    response = client.post("/auth/login", data=data)
    assert response.status_code == 302, response.status_code
    return response


def _replay(app, cookies: dict[str, str]):
    """A fresh browser that sends exactly ``cookies`` (what an attacker who copied them would do)."""
    browser = app.test_client()
    for name, value in cookies.items():
        if value is not None:
            browser.set_cookie(name, value)
    return browser


def test_the_session_cookie_changes_at_login_and_a_captured_one_stays_anonymous(app, client, user):
    use_english(client)
    assert client.get("/auth/login").status_code == 200
    before = _cookie(client)
    assert before is not None and "_user_id" not in _session(client)
    response = _log_in(client, remember=True)
    assert_secure_headers(response, "login")  # the new session and remember-me cookies: HttpOnly, SameSite
    assert {c.split("=", 1)[0] for c in response.headers.getlist("Set-Cookie")} >= {SESSION_COOKIE, REMEMBER_COOKIE}
    after = _cookie(client)
    assert after != before
    assert _session(client)["_user_id"] == user.get_id()
    # The attacker who fixed (or copied) the pre-login cookie gets nothing from the victim's login.
    attacker = _replay(app, {SESSION_COOKIE: before})
    assert not is_logged_in(attacker)
    assert "_user_id" not in _session(attacker)


def test_nothing_planted_before_login_survives_it(app, client, user):
    """An attacker who gives the victim a session cookie knows its CSRF token: after the victim logs in, that
    token must no longer be valid (nor anything else planted in the session), or cross-site posts work."""
    use_english(client)
    client.get("/auth/login")
    token = client.csrf_token()  # also stores the raw token in the session
    with client.session_transaction() as session:
        planted_raw = session["csrf_token"]
        session["planted"] = "by the attacker"
    _log_in(client)
    after = _session(client)
    assert after.get("csrf_token") != planted_raw
    assert "planted" not in after
    # The known token no longer lets a form through.
    response = client.post("/notifications/read-all", data={"csrf_token": token}, csrf=False)
    assert response.status_code == 400


def test_logout_clears_the_identity_from_the_cookies(app, client, user):
    _log_in(client, remember=True)
    assert _cookie(client, REMEMBER_COOKIE)
    response = client.post("/auth/logout", data={})
    assert response.status_code == 302
    assert_secure_headers(response, "logout")
    assert "_user_id" not in _session(client)
    assert _cookie(client, REMEMBER_COOKIE) is None, "the remember-me cookie is removed too"
    assert not is_logged_in(client)
    # The cookie the browser now holds, copied elsewhere, is anonymous as well.
    assert not is_logged_in(_replay(app, {SESSION_COOKIE: _cookie(client)}))


@pytest.mark.parametrize("how", ["log out everywhere", "change password"])
def test_rotating_the_session_token_ends_every_captured_cookie(app, client, user, how):
    _log_in(client, remember=True)
    stolen = {SESSION_COOKIE: _cookie(client), REMEMBER_COOKIE: _cookie(client, REMEMBER_COOKIE)}
    assert is_logged_in(_replay(app, stolen)), "the copied cookies work until the token rotates"
    old_token = db.session.get(User, user.id).session_token
    if how == "log out everywhere":
        response = client.post("/auth/account/sessions", data={})
    else:
        response = client.post("/auth/account/password", data={
            "current_password": DEFAULT_PASSWORD, "new_password": "một mật khẩu mới rất dài 2026",
            "new_password_confirm": "một mật khẩu mới rất dài 2026"})
    assert response.status_code in (302, 303), response.status_code
    db.session.expire_all()
    new_token = db.session.get(User, user.id).session_token
    assert new_token != old_token
    assert is_logged_in(client), "this browser stays logged in"
    assert _session(client)["_user_id"] == f"{user.id}:{new_token}"
    assert not is_logged_in(_replay(app, stolen)), "the stolen cookies are dead"
    assert not is_logged_in(_replay(app, {REMEMBER_COOKIE: stolen[REMEMBER_COOKIE]}))
    assert not is_logged_in(_replay(app, {SESSION_COOKIE: stolen[SESSION_COOKIE]}))


def test_a_guessed_or_forged_login_id_is_anonymous(client, user):
    """The session token is part of the login id: the user id alone, or a wrong token, is nobody."""
    for forged in (str(user.id), f"{user.id}:", f"{user.id}:{'x' * 32}", f"{user.id}:{user.session_token}x", "1:"):
        with client.session_transaction() as session:
            session["_user_id"] = forged
            session["_fresh"] = True
        assert not is_logged_in(client), forged


def test_a_tampered_cookie_is_anonymous(app, client, user):
    _log_in(client)
    value = _cookie(client)
    payload, _, signature = value.rpartition(".")
    tampered = payload + "." + ("A" if signature[0] != "A" else "B") + signature[1:]
    assert not is_logged_in(_replay(app, {SESSION_COOKIE: tampered}))


def test_a_deactivated_users_sessions_end(app, client, user):
    _log_in(client)
    stolen = {SESSION_COOKIE: _cookie(client)}
    db.session.get(User, user.id).active = False
    db.session.commit()
    assert not is_logged_in(client)
    assert not is_logged_in(_replay(app, stolen))
