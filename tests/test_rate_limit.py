"""Rate limits on the login and the forms that send messages: per IP, and per login typed, so
spreading the attempts over many addresses does not help against one account. The 429 page is
the translated error page and is the same whether or not the login is registered."""

from __future__ import annotations

import pytest

from tests.accounts_helpers import main_html, use_english
from tests.factories import DEFAULT_PASSWORD, UserFactory


@pytest.fixture(autouse=True)
def _english(client):
    use_english(client)


def post_from(client, path, ip, **data):
    return client.post(path, data=data, environ_base={"REMOTE_ADDR": ip})


def test_login_is_limited_per_ip(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN_PER_IP", "3 per minute")
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN_PER_ACCOUNT", "100 per minute")

    statuses = [post_from(client, "/auth/login", "10.0.0.1", login=f"user{i}@example.vn", password="x" * 12)
                .status_code for i in range(4)]
    assert statuses == [400, 400, 400, 429]
    assert post_from(client, "/auth/login", "10.0.0.2", login="user9@example.vn",
                     password="x" * 12).status_code == 400, "another address is not affected"


def test_login_is_limited_per_account_across_ips_and_spellings(app, client, monkeypatch):
    UserFactory(email=None, phone="0912345678")
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN_PER_IP", "100 per minute")
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN_PER_ACCOUNT", "3 per minute")
    spellings = ["0912345678", "+84 912 345 678", "0912.345.678"]

    for i, spelling in enumerate(spellings):
        response = post_from(client, "/auth/login", f"10.0.1.{i}", login=spelling, password="wrong guess")
        assert response.status_code == 400
    blocked = post_from(client, "/auth/login", "10.0.1.99", login="84912345678", password=DEFAULT_PASSWORD)

    assert blocked.status_code == 429, "even the right password waits once the account is limited"
    assert post_from(client, "/auth/login", "10.0.1.99", login="0987654321", password="wrong guess").status_code == 400


def test_the_429_page_is_the_translated_error_page_and_reveals_nothing(app, client, monkeypatch):
    UserFactory(email="co@example.vn")
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN_PER_ACCOUNT", "1 per minute")
    answers = {}
    for login in ("co@example.vn", "khong@example.vn"):
        post_from(client, "/auth/login", "10.0.2.1", login=login, password="wrong guess")
        answers[login] = post_from(client, "/auth/login", "10.0.2.1", login=login, password="wrong guess")

    assert {r.status_code for r in answers.values()} == {429}
    assert main_html(answers["co@example.vn"]) == main_html(answers["khong@example.vn"])
    assert "Too many attempts" in answers["co@example.vn"].get_data(as_text=True)
    assert 'class="error-page"' in answers["co@example.vn"].get_data(as_text=True)

    vietnamese = app.test_client()
    post_from(vietnamese, "/auth/login", "10.0.2.2", login="khong@example.vn", password="wrong guess")
    assert "Thử quá nhiều lần" in post_from(vietnamese, "/auth/login", "10.0.2.2", login="khong@example.vn",
                                            password="wrong guess").get_data(as_text=True)


def test_showing_the_login_form_is_never_limited(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN_PER_IP", "1 per minute")
    post_from(client, "/auth/login", "10.0.3.1", login="a@example.vn", password="wrong guess")
    assert post_from(client, "/auth/login", "10.0.3.1", login="a@example.vn", password="wrong").status_code == 429
    assert all(client.get("/auth/login", environ_base={"REMOTE_ADDR": "10.0.3.1"}).status_code == 200
               for _ in range(5))


@pytest.mark.parametrize("path", ["/auth/reset", "/auth/confirm"])
def test_forms_that_send_messages_are_limited_per_ip(app, client, monkeypatch, path):
    monkeypatch.setitem(app.config, "RATELIMIT_SENSITIVE", "2 per minute")
    statuses = [post_from(client, path, "10.0.4.1", login=f"n{i}@example.vn").status_code for i in range(3)]
    assert statuses == [200, 200, 429]
    assert client.get(path, environ_base={"REMOTE_ADDR": "10.0.4.1"}).status_code == 200


def test_register_is_limited_per_ip(app, client, monkeypatch, outbox):
    monkeypatch.setitem(app.config, "RATELIMIT_SENSITIVE", "2 per minute")
    statuses = []
    for i in range(3):
        statuses.append(post_from(client, "/auth/register", "10.0.5.1", full_name="Tên", login=f"r{i}@example.vn",
                                  password="long enough pw", password_confirm="long enough pw",
                                  accept_terms="y").status_code)
    assert statuses == [200, 200, 429]
    assert len(outbox) == 2


def test_one_person_cannot_be_flooded_with_reset_messages_from_many_ips(app, client, monkeypatch, outbox):
    UserFactory(email="nan.nhan@example.vn")
    monkeypatch.setitem(app.config, "RATELIMIT_SENSITIVE", "2 per minute")
    statuses = [post_from(client, "/auth/reset", f"10.0.6.{i}", login="Nan.Nhan@example.vn").status_code
                for i in range(4)]
    assert statuses == [200, 200, 429, 429]
    assert len(outbox) == 2


def test_limits_can_be_switched_off(app, client, monkeypatch):
    from app.extensions import limiter

    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN_PER_IP", "1 per minute")
    monkeypatch.setattr(limiter, "enabled", False)
    statuses = {post_from(client, "/auth/login", "10.0.7.1", login="a@example.vn", password="wrong guess").status_code
                for _ in range(3)}
    assert statuses == {400}
