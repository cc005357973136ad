"""Whatever people (or bots) type into the accounts forms, the answer is a page, never a 500:
a success, a redirect, or a 400 that says what is wrong."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.extensions import limiter
from app.services import accounts, passwords
from tests.factories import DEFAULT_PASSWORD, UserFactory

OK_STATUSES = {200, 302, 303, 400, 429}
ERROR_MARKERS = ('class="error-summary"', 'class="error-message"', "flash-error", 'class="error-page"')
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

#: Anything people type: every Unicode character (incl. NUL and controls), and near-valid logins.
text = st.one_of(
    st.text(max_size=80),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
    st.sampled_from(["0912345678", "+84 912 345 678", "a@example.vn", " ", "@", "a@b", "84" * 30, "\u00a0"]),
)
#: Names as people (and copy-paste) produce them, with the characters databases choke on.
names = st.one_of(
    st.builds(lambda a, b, c: a + b + c, text, st.sampled_from(["\x00", "\x00\x00", "\u202e", "\ufeff", "\x1b"]),
              text),
    text,
)
#: Logins that pass validation, in several spellings, so the rest of the form reaches the database.
valid_logins = st.one_of(
    st.sampled_from(["0912345678", "+84 912 345 678", "0912.345.678"]),
    st.emails(),
)


@pytest.fixture(autouse=True)
def _no_rate_limits(monkeypatch):
    """Hundreds of posts in a second are the point here, not the limits (tested elsewhere)."""
    monkeypatch.setattr(limiter, "enabled", False)


def check(response) -> None:
    assert response.status_code in OK_STATUSES, response.status_code
    if response.status_code == 400:
        body = response.get_data(as_text=True)
        assert any(marker in body for marker in ERROR_MARKERS), body[:500]


@FUZZ
@given(login=text, password=text, remember=st.sampled_from(["", "y", "on"]), nxt=text)
def test_login_form(client, login, password, remember, nxt):
    check(client.post("/auth/login", data={"login": login, "password": password, "remember": remember, "next": nxt}))


@FUZZ
@given(name=text, login=text, password=text, confirm=text, terms=st.sampled_from(["", "y"]))
def test_register_form(client, name, login, password, confirm, terms):
    check(client.post("/auth/register", data={"full_name": name, "login": login, "password": password,
                                              "password_confirm": confirm, "accept_terms": terms}))


@FUZZ
@given(name=names, login=valid_logins)
def test_register_form_reaching_the_database(client, name, login):
    """Valid logins and passwords, so the name and login reach the database."""
    check(client.post("/auth/register", data={"full_name": name, "login": login, "password": "long enough pw",
                                              "password_confirm": "long enough pw", "accept_terms": "y"}))


@FUZZ
@given(login=text)
def test_reset_request_and_resend_forms(client, login):
    check(client.post("/auth/reset", data={"login": login}))
    check(client.post("/auth/confirm", data={"login": login}))


@FUZZ
@given(password=text, confirm=text, same=st.booleans())
def test_reset_form(app, client, password, confirm, same):
    user = UserFactory()
    with app.test_request_context():
        token = accounts.reset_token(user)
    check(client.post(f"/auth/reset/{token}", data={"password": password,
                                                    "password_confirm": password if same else confirm}))


@FUZZ
@given(token=text)
def test_link_tokens(client, token):
    for path in ("/auth/confirm/", "/auth/reset/", "/auth/invitations/"):
        response = client.get(path + token.replace("/", "").replace("?", "").replace("#", ""))
        assert response.status_code in {200, 302, 400, 404, 405}


@FUZZ
@given(current=text, new=text, confirm=text, same=st.booleans())
def test_change_password_form(app, current, new, confirm, same):
    user = UserFactory(password_hash=passwords.hash_password(DEFAULT_PASSWORD))
    browser = app.test_client()
    assert browser.post("/auth/login", data={"login": user.email, "password": DEFAULT_PASSWORD}).status_code == 302
    check(browser.post("/auth/account/password", data={
        "current_password": current, "new_password": new, "new_password_confirm": new if same else confirm}))


@FUZZ
@given(name=names, locale=st.one_of(text, st.sampled_from(["vi", "en"])))
def test_profile_form(app, name, locale):
    user = UserFactory()
    browser = app.test_client()
    assert browser.post("/auth/login", data={"login": user.email, "password": DEFAULT_PASSWORD}).status_code == 302
    check(browser.post("/auth/account/profile", data={"full_name": name, "locale": locale}))
