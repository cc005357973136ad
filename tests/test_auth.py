"""Accounts through the real pages: register, confirm, log in and out, reset and change passwords,
sessions that really end, and answers that never reveal whether a login is registered."""

from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Role, User
from app.models.types import utcnow
from app.services import passwords
from tests.accounts_helpers import fresh, is_logged_in, link_path, main_html, use_english
from tests.factories import DEFAULT_PASSWORD, UserFactory

NEW_PASSWORD = "a brand new passphrase"
GENERIC_FAILURE = "The login or password is incorrect."


@pytest.fixture(autouse=True)
def _english(client):
    use_english(client)


def register(client, login="chu.cua.hang@example.vn", password=NEW_PASSWORD, **extra):
    data = {"full_name": "Trần Thị Bích", "login": login, "password": password,
            "password_confirm": password, "accept_terms": "y", **extra}
    return client.post("/auth/register", data=data)


def audit_actions(user_id=None):
    db.session.rollback()
    query = select(AuditEvent.action).order_by(AuditEvent.id)
    if user_id is not None:
        query = query.where(AuditEvent.object_id == str(user_id))
    return list(db.session.scalars(query))


def user_by_email(email):
    db.session.rollback()
    return db.session.scalar(select(User).where(User.email == email))


# Registration and confirmation -------------------------------------------------------------------


def test_register_creates_unconfirmed_business_account_and_sends_confirmation(client, outbox):
    response = register(client)

    assert response.status_code == 200
    assert "We have sent an e-mail to chu.cua.hang@example.vn" in response.get_data(as_text=True)
    user = user_by_email("chu.cua.hang@example.vn")
    assert user.confirmed_at is None
    assert user.role_names == {Role.BUSINESS}
    assert user.full_name == "Trần Thị Bích"
    assert user.locale == "en"
    assert passwords.verify_password(user.password_hash, NEW_PASSWORD)
    assert [(m.channel, m.to) for m in outbox] == [("email", "chu.cua.hang@example.vn")]
    assert "/auth/confirm/" in link_path(outbox[0])
    assert "user.register" in audit_actions(user.id)


def test_new_account_gets_the_interface_language(app, outbox):
    """A visitor who never switched language registers in Vietnamese, the default."""
    vietnamese = app.test_client()
    assert register(vietnamese, login="khach@example.vn").status_code == 200
    assert user_by_email("khach@example.vn").locale == "vi"


def test_register_with_mobile_number_sends_sms(client, outbox):
    response = register(client, login="+84 912 345 678")

    assert response.status_code == 200
    assert "We have sent a text message to 0912 345 678" in response.get_data(as_text=True)
    db.session.rollback()
    user = db.session.scalar(select(User).where(User.phone == "0912345678"))
    assert user is not None and user.email is None
    assert [(m.channel, m.to) for m in outbox] == [("sms", "0912345678")]
    assert "/auth/confirm/" in outbox[0].body


def test_confirmation_link_uses_base_url_not_the_host_header(app, client, outbox):
    """A forged Host header must not put another site into the link."""
    token = client.csrf_token()
    client.set_cookie("session", client.get_cookie("session").value, domain="evil.example")
    response = client.post(
        "/auth/register",
        data={"full_name": "A", "login": "a@example.vn", "password": NEW_PASSWORD,
              "password_confirm": NEW_PASSWORD, "accept_terms": "y", "csrf_token": token},
        environ_overrides={"HTTP_HOST": "evil.example"},
    )
    assert response.status_code == 200
    assert outbox[0].body.count(app.config["BASE_URL"] + "/auth/confirm/") == 1
    assert "evil.example" not in outbox[0].body


def test_registering_a_taken_login_looks_the_same_and_warns_the_owner(client, outbox):
    owner = UserFactory(email="owner@example.vn", locale="en")

    taken = register(client, login="owner@example.vn")
    fresh_login = register(client, login="nobody@example.vn")

    assert taken.status_code == fresh_login.status_code == 200
    assert main_html(taken, "owner@example.vn") == main_html(fresh_login, "nobody@example.vn")
    owner = fresh(User, owner.id)
    assert passwords.verify_password(owner.password_hash, DEFAULT_PASSWORD)
    assert db.session.scalar(select(db.func.count()).select_from(User).where(User.email == "owner@example.vn")) == 1
    notice = next(m for m in outbox if m.to == "owner@example.vn")
    assert "already has an account" in notice.body
    assert "/auth/confirm/" not in notice.body
    assert "/auth/reset" in notice.body


def test_registering_again_before_confirming_replaces_the_pending_password(client, outbox):
    """Whoever owns the address decides the password; the first link stops working."""
    register(client, login="twice@example.vn", password="first passphrase")
    first_link = link_path(outbox[0])
    register(client, login="twice@example.vn", password="second passphrase")

    user = user_by_email("twice@example.vn")
    assert passwords.verify_password(user.password_hash, "second passphrase")
    assert client.get(first_link).status_code == 400
    assert client.get(link_path(outbox[1])).status_code == 302
    assert is_logged_in(client)


@pytest.mark.parametrize(
    ("changes", "field_error"),
    [
        ({"password": "short", "password_confirm": "short"}, "between 10 and 256 characters"),
        ({"password_confirm": "something else entirely"}, "The two passwords are not the same."),
        ({"login": "12345"}, "Enter an e-mail address or a mobile number"),
        ({"login": "0123456789"}, "Enter an e-mail address or a mobile number"),
        ({"login": ""}, "Enter your e-mail address or mobile number."),
        ({"full_name": "   "}, "Enter your full name."),
        ({"full_name": "Tên\u0000lạ"}, "characters that cannot be used"),
        ({"accept_terms": ""}, "Please accept the terms of use"),
        ({"login": "Owner.Login@Example.vn", "password": "owner.login@example.vn",
          "password_confirm": "owner.login@example.vn"}, "must not be your e-mail address"),
        ({"login": "0912345678", "password": "+84 912 345 678", "password_confirm": "+84 912 345 678"},
         "must not be your e-mail address or mobile number"),
    ],
)
def test_register_rejects_bad_input_with_400(client, outbox, changes, field_error):
    data = {"full_name": "Lê Văn Cường", "login": "cuong@example.vn", "password": NEW_PASSWORD,
            "password_confirm": NEW_PASSWORD, "accept_terms": "y", **changes}
    response = client.post("/auth/register", data=data)

    assert response.status_code == 400
    assert 'class="error-summary"' in response.get_data(as_text=True)
    assert field_error in response.get_data(as_text=True)
    assert outbox == []
    assert db.session.scalar(select(db.func.count()).select_from(User)) == 0


def test_confirmation_link_activates_logs_in_and_can_be_clicked_again(client, outbox):
    register(client, login="moi@example.vn")
    link = link_path(outbox[0])

    response = client.get(link)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert is_logged_in(client)
    assert user_by_email("moi@example.vn").confirmed_at is not None
    assert "user.confirm" in audit_actions()

    again = client.get(link, follow_redirects=True)
    assert again.status_code == 200
    assert "already confirmed" in again.get_data(as_text=True)


def test_expired_confirmation_link_offers_a_new_one(app, client, outbox, monkeypatch):
    register(client, login="cham@example.vn")
    monkeypatch.setitem(app.config, "ACCOUNT_CONFIRM_MAX_AGE", -1)

    response = client.get(link_path(outbox[0]))

    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "This link has expired" in page
    assert 'action="/auth/confirm"' in page
    assert user_by_email("cham@example.vn").confirmed_at is None


def test_tampered_confirmation_link_is_refused(client, outbox):
    register(client, login="sua@example.vn")
    response = client.get(link_path(outbox[0])[:-3] + "abc")
    assert response.status_code == 400
    assert "This link cannot be used" in response.get_data(as_text=True)
    assert user_by_email("sua@example.vn").confirmed_at is None


def test_resend_confirmation_answers_the_same_and_sends_only_to_pending_accounts(client, outbox):
    register(client, login="cho@example.vn")
    UserFactory(email="xong@example.vn")
    outbox.clear()

    answers = {login: client.post("/auth/confirm", data={"login": login})
               for login in ("cho@example.vn", "xong@example.vn", "khong@example.vn")}

    assert {r.status_code for r in answers.values()} == {200}
    assert len({main_html(r, login) for login, r in answers.items()}) == 1
    assert [m.to for m in outbox] == ["cho@example.vn"]
    assert client.get(link_path(outbox[0])).status_code == 302


def test_unconfirmed_account_cannot_log_in(client, auth, outbox):
    register(client, login="chua@example.vn")

    right = auth.login("chua@example.vn", NEW_PASSWORD)
    assert right.status_code == 400
    assert "not confirmed yet" in right.get_data(as_text=True)
    assert 'href="/auth/confirm"' in right.get_data(as_text=True)
    assert not is_logged_in(client)

    wrong = auth.login("chua@example.vn", "not the password")
    assert wrong.status_code == 400
    assert GENERIC_FAILURE in wrong.get_data(as_text=True)
    assert "not confirmed" not in wrong.get_data(as_text=True)


# Logging in and out ----------------------------------------------------------------------------


def test_login_and_logout(client, auth):
    user = UserFactory(email="an@example.vn", locale="en")

    response = auth.login("An@Example.vn")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert is_logged_in(client)
    assert fresh(User, user.id).last_login_at is not None
    assert "user.login" in audit_actions(user.id)

    assert auth.logout().status_code == 302
    assert not is_logged_in(client)


def test_logout_needs_the_csrf_token(client, auth):
    UserFactory(email="an@example.vn", locale="en")
    auth.login("an@example.vn")
    assert client.post("/auth/logout", data={}, csrf=False).status_code == 400
    assert is_logged_in(client)


@pytest.mark.parametrize("spelling", ["0912345678", "0912 345 678", "0912.345.678", "+84 912 345 678",
                                      "+84912345678", "84912345678", " 091-234-5678 "])
def test_login_with_mobile_number_in_any_spelling(client, auth, spelling):
    UserFactory(email=None, phone="0912345678", locale="en")
    response = auth.login(spelling)
    assert response.status_code == 302
    assert is_logged_in(client)


def test_failures_look_the_same_for_wrong_password_unknown_and_deactivated_logins(client, auth):
    UserFactory(email="co@example.vn")
    UserFactory(email="khoa@example.vn", active=False)

    wrong_password = auth.login("co@example.vn", "wrong password!")
    unknown = auth.login("khong.co@example.vn", "wrong password!")
    deactivated = auth.login("khoa@example.vn", DEFAULT_PASSWORD)

    for response in (wrong_password, unknown, deactivated):
        assert response.status_code == 400
        assert GENERIC_FAILURE in response.get_data(as_text=True)
    assert (main_html(wrong_password, "co@example.vn") == main_html(unknown, "khong.co@example.vn")
            == main_html(deactivated, "khoa@example.vn"))
    assert not is_logged_in(client)


@pytest.mark.parametrize("target", ["//evil.com", "https://evil.com/", "/\\evil.com", "javascript:alert(1)",
                                    "http:/evil.com", "\\\\evil.com", " //evil.com"])
def test_login_never_redirects_off_site(client, target):
    UserFactory(email="an@example.vn")
    response = client.post("/auth/login", data={"login": "an@example.vn", "password": DEFAULT_PASSWORD,
                                                      "next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_login_returns_to_the_page_that_asked_for_it(client, auth):
    UserFactory(email="an@example.vn", locale="en")
    asked = client.get("/auth/account")
    assert asked.status_code == 302
    login_page = client.get(asked.headers["Location"])
    assert 'name="next" type="hidden" value="/auth/account"' in login_page.get_data(as_text=True)

    response = client.post("/auth/login", data={"login": "an@example.vn", "password": DEFAULT_PASSWORD,
                                                "next": "/auth/account"})
    assert response.headers["Location"] == "/auth/account"


def test_login_upgrades_a_weaker_password_hash(app, auth):
    weak = PasswordHasher(time_cost=2, memory_cost=1024, parallelism=1).hash(DEFAULT_PASSWORD)
    user = UserFactory(email="cu@example.vn", password_hash=weak)
    assert auth.login("cu@example.vn").status_code == 302
    stored = fresh(User, user.id).password_hash
    assert stored != weak
    assert not passwords.needs_rehash(stored)
    assert passwords.verify_password(stored, DEFAULT_PASSWORD)


def test_remember_me_cookie_lasts_at_most_30_days_and_is_http_only(client, auth):
    UserFactory(email="nho@example.vn")
    response = auth.login("nho@example.vn", remember=True)
    header = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("remember_token="))
    assert "HttpOnly" in header
    cookie = client.get_cookie("remember_token")
    assert utcnow() + timedelta(days=29) < cookie.expires <= utcnow() + timedelta(days=30, minutes=1)


def test_login_page_does_not_reveal_more_for_unconfirmed_with_wrong_password(client, auth):
    """Only the right password shows "confirm first"; otherwise the generic answer."""
    user = UserFactory(email="cho@example.vn", confirmed_at=None)
    assert user.confirmed_at is None
    unknown = auth.login("khac@example.vn", "wrong password!")
    unconfirmed_wrong = auth.login("cho@example.vn", "wrong password!")
    assert main_html(unknown, "khac@example.vn") == main_html(unconfirmed_wrong, "cho@example.vn")


# Sessions that really end ----------------------------------------------------------------------


def _client_logged_in(app, login, remember=False):
    browser = app.test_client()
    use_english(browser)
    data = {"login": login, "password": DEFAULT_PASSWORD}
    if remember:
        data["remember"] = "y"
    assert browser.post("/auth/login", data=data).status_code == 302
    return browser


def _restart_browser(browser):
    """Closing the browser drops the session cookie; only the remember-me cookie is left."""
    browser.delete_cookie("session")


def test_log_out_everywhere_ends_other_sessions_and_remember_me_cookies(app):
    UserFactory(email="chu@example.vn", locale="en")
    here = _client_logged_in(app, "chu@example.vn")
    laptop = _client_logged_in(app, "chu@example.vn")
    phone = _client_logged_in(app, "chu@example.vn", remember=True)
    _restart_browser(phone)
    assert is_logged_in(phone), "the remember-me cookie alone logs the phone in"
    _restart_browser(phone)

    response = here.post("/auth/account/sessions", data={})

    assert response.status_code == 302
    assert is_logged_in(here)
    assert not is_logged_in(laptop)
    assert not is_logged_in(phone)
    assert "user.sessions_end" in audit_actions()


def test_remembered_browser_stays_remembered_after_logging_out_the_others(app):
    UserFactory(email="chu@example.vn", locale="en")
    here = _client_logged_in(app, "chu@example.vn", remember=True)
    here.post("/auth/account/sessions", data={})
    _restart_browser(here)
    assert is_logged_in(here)


def test_change_password_keeps_this_session_and_ends_the_others(app, outbox):
    user = UserFactory(email="doi@example.vn", locale="en")
    here = _client_logged_in(app, "doi@example.vn")
    other = _client_logged_in(app, "doi@example.vn", remember=True)

    response = here.post("/auth/account/password", data={
        "current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD})

    assert response.status_code == 302
    assert is_logged_in(here)
    assert not is_logged_in(other)
    _restart_browser(other)
    assert not is_logged_in(other)
    user = fresh(User, user.id)
    assert passwords.verify_password(user.password_hash, NEW_PASSWORD)
    assert "user.password_change" in audit_actions(user.id)
    assert [m.to for m in outbox] == ["doi@example.vn"]
    assert "password" in outbox[0].subject
    fresh_browser = app.test_client()
    assert fresh_browser.post("/auth/login", data={"login": "doi@example.vn",
                                                   "password": DEFAULT_PASSWORD}).status_code == 400
    assert fresh_browser.post("/auth/login", data={"login": "doi@example.vn",
                                                   "password": NEW_PASSWORD}).status_code == 302


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"current_password": "not my password", "new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD},
         "The current password is not correct."),
        ({"current_password": DEFAULT_PASSWORD, "new_password": "short", "new_password_confirm": "short"},
         "between 10 and 256 characters"),
        ({"current_password": DEFAULT_PASSWORD, "new_password": "doi@example.vn",
          "new_password_confirm": "doi@example.vn"}, "must not be your e-mail address"),
    ],
)
def test_change_password_refuses_bad_input(app, outbox, data, message):
    user = UserFactory(email="doi@example.vn", locale="en")
    here = _client_logged_in(app, "doi@example.vn")

    response = here.post("/auth/account/password", data=data)

    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert passwords.verify_password(fresh(User, user.id).password_hash, DEFAULT_PASSWORD)
    assert outbox == []
    assert is_logged_in(here)


# Password reset --------------------------------------------------------------------------------


def test_reset_request_answers_the_same_for_known_and_unknown_logins(client, outbox):
    UserFactory(email="co@example.vn")

    known = client.post("/auth/reset", data={"login": "co@example.vn"})
    unknown = client.post("/auth/reset", data={"login": "khong@example.vn"})

    assert known.status_code == unknown.status_code == 200
    assert main_html(known, "co@example.vn") == main_html(unknown, "khong@example.vn")
    assert [m.to for m in outbox] == ["co@example.vn"]


def test_password_reset_link_sets_password_ends_sessions_and_works_once(app, client, outbox):
    user = UserFactory(email="quen@example.vn", locale="en")
    elsewhere = _client_logged_in(app, "quen@example.vn", remember=True)
    client.post("/auth/reset", data={"login": "quen@example.vn"})
    link = link_path(outbox[0])

    assert client.get(link).status_code == 200
    response = client.post(link, data={"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})

    assert response.status_code == 302
    assert is_logged_in(client)
    assert not is_logged_in(elsewhere)
    user = fresh(User, user.id)
    assert passwords.verify_password(user.password_hash, NEW_PASSWORD)
    assert "user.password_reset" in audit_actions(user.id)
    assert "was changed" in outbox[-1].subject
    used = client.get(link)
    assert used.status_code == 400
    assert "already used" in used.get_data(as_text=True)
    assert client.post(link, data={"password": "another passphrase",
                                   "password_confirm": "another passphrase"}).status_code == 400
    assert passwords.verify_password(fresh(User, user.id).password_hash, NEW_PASSWORD)


def test_password_reset_link_expires(app, client, outbox, monkeypatch):
    UserFactory(email="tre@example.vn")
    client.post("/auth/reset", data={"login": "tre@example.vn"})
    monkeypatch.setitem(app.config, "PASSWORD_RESET_MAX_AGE", -1)

    response = client.get(link_path(outbox[0]))

    assert response.status_code == 400
    assert "This link has expired" in response.get_data(as_text=True)
    assert 'action="/auth/reset"' in response.get_data(as_text=True)


def test_reset_link_dies_when_the_password_changes_another_way(app, client, outbox):
    UserFactory(email="hai@example.vn", locale="en")
    client.post("/auth/reset", data={"login": "hai@example.vn"})
    link = link_path(outbox[0])
    here = _client_logged_in(app, "hai@example.vn")
    here.post("/auth/account/password", data={"current_password": DEFAULT_PASSWORD,
                                              "new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD})
    assert client.get(link).status_code == 400


def test_reset_for_a_phone_account_goes_by_sms(client, outbox):
    UserFactory(email=None, phone="0987654321")
    client.post("/auth/reset", data={"login": "+84 98 765 4321"})
    assert [(m.channel, m.to) for m in outbox] == [("sms", "0987654321")]
    assert "/auth/reset/" in outbox[0].body


def test_reset_refuses_mismatched_passwords(client, outbox):
    user = UserFactory(email="sai@example.vn")
    client.post("/auth/reset", data={"login": "sai@example.vn"})
    response = client.post(link_path(outbox[0]), data={"password": NEW_PASSWORD, "password_confirm": "other one!!"})
    assert response.status_code == 400
    assert "The two passwords are not the same." in response.get_data(as_text=True)
    assert passwords.verify_password(fresh(User, user.id).password_hash, DEFAULT_PASSWORD)


def test_reset_confirms_a_pending_account(client, outbox):
    """The reset link reaches the same mailbox a confirmation link would."""
    register(client, login="quen.xac.nhan@example.vn")
    client.post("/auth/reset", data={"login": "quen.xac.nhan@example.vn"})
    response = client.post(link_path(outbox[-1]), data={"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert user_by_email("quen.xac.nhan@example.vn").confirmed_at is not None
    assert is_logged_in(client)


def test_deactivated_accounts_get_no_reset_link(client, outbox):
    UserFactory(email="tat@example.vn", active=False)
    assert client.post("/auth/reset", data={"login": "tat@example.vn"}).status_code == 200
    assert outbox == []


# The account page ------------------------------------------------------------------------------


def test_account_page_shows_name_login_roles_and_language(app):
    UserFactory(email="xem@example.vn", full_name="Phạm Minh Đức", locale="en", roles=[Role.REVIEWER])
    browser = _client_logged_in(app, "xem@example.vn")

    page = browser.get("/auth/account").get_data(as_text=True)

    assert "Phạm Minh Đức" in page
    assert "xem@example.vn" in page
    assert "Reviewer" in page
    assert "English" in page
    assert 'autocomplete="current-password"' in page
    assert 'autocomplete="new-password"' in page


def test_account_page_needs_login(client):
    response = client.get("/auth/account")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login?next=")
    assert "Please log in to see this page." in client.get(response.headers["Location"]).get_data(as_text=True)


def test_profile_update_changes_name_and_language_with_audit(app):
    user = UserFactory(email="sua@example.vn", full_name="Tên Cũ", locale="en")
    browser = _client_logged_in(app, "sua@example.vn")

    response = browser.post("/auth/account/profile", data={"full_name": "  Tên   Mới ", "locale": "vi"})

    assert response.status_code == 302
    user = fresh(User, user.id)
    assert (user.full_name, user.locale) == ("Tên Mới", "vi")
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.profile_update"))
    assert event.before == {"full_name": "Tên Cũ", "locale": "en"}
    assert event.after == {"full_name": "Tên Mới", "locale": "vi"}
    assert '<html lang="vi">' in browser.get("/auth/account").get_data(as_text=True)


@pytest.mark.parametrize("data", [{"full_name": "", "locale": "en"}, {"full_name": "Ok", "locale": "fr"}])
def test_profile_update_refuses_bad_input(app, data):
    user = UserFactory(email="sua@example.vn", full_name="Tên Cũ", locale="en")
    browser = _client_logged_in(app, "sua@example.vn")
    response = browser.post("/auth/account/profile", data=data)
    assert response.status_code == 400
    assert 'class="error-summary"' in response.get_data(as_text=True)
    assert fresh(User, user.id).full_name == "Tên Cũ"


def test_forms_are_mobile_friendly(client):
    """The login field brings up a keyboard with @ and digits; password managers know the fields."""
    login_page = client.get("/auth/login").get_data(as_text=True)
    register_page = client.get("/auth/register").get_data(as_text=True)
    assert 'inputmode="email"' in login_page and 'autocomplete="username"' in login_page
    assert 'autocomplete="current-password"' in login_page
    assert 'autocomplete="new-password"' in register_page and 'autocomplete="name"' in register_page
