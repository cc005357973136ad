"""Home page, language switch, error pages, security headers and display formats."""

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent
from app.services.formatting import format_date, format_datetime, format_vnd
from config import BASE_DIR
from tests.factories import UserFactory


def test_home_is_vietnamese_by_default(client):
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="vi">' in page
    assert "Hỗ trợ chuyển đổi số cho doanh nghiệp, hợp tác xã và hộ kinh doanh" in page
    assert "Đăng ký cho cơ sở của bạn" in page


def test_language_switch_to_english_and_back(client):
    response = client.post("/language/en", data={"next": "/"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "Register your business" in page
    client.post("/language/vi", data={"next": "/"})
    assert '<html lang="vi">' in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"]
)
def test_language_switch_never_redirects_off_site(client, target):
    response = client.post("/language/en", data={"next": target})
    assert response.headers["Location"] == "/"


def test_unknown_language_is_404(client):
    assert client.post("/language/fr", data={"next": "/"}).status_code == 404


def test_logged_in_user_language_is_saved_and_audited(client, app):
    user = UserFactory(locale="vi")
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
    client.post("/language/en", data={"next": "/"})
    client2 = app.test_client()
    with client2.session_transaction() as session:
        session["_user_id"] = user.get_id()
    assert '<html lang="en">' in client2.get("/").get_data(as_text=True)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.locale_change"))
    assert event.actor_id == user.id and event.after == {"locale": "en"}


def test_404_page_is_translated(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "Không tìm thấy trang" in response.get_data(as_text=True)
    client.post("/language/en", data={"next": "/"})
    assert "Page not found" in client.get("/no-such-page").get_data(as_text=True)


def test_json_clients_get_json_errors(client):
    response = client.get("/no-such-page", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.is_json and response.json["error"] == 404


def test_security_headers(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_templates_have_no_inline_script_or_style():
    """The CSP forbids inline script and handlers; styles live in app.css (print templates excepted)."""
    offenders = []
    for path in Path(BASE_DIR / "templates").rglob("*.html"):
        text = path.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text):
            if "src=" not in tag:
                offenders.append(f"{path}: inline script")
        if re.search(r"\son[a-z]+\s*=", text):
            offenders.append(f"{path}: inline event handler")
        if "pdf" not in path.parts and (re.search(r"\sstyle\s*=", text) or "<style" in text):
            offenders.append(f"{path}: inline style")
    assert offenders == []


def test_healthz(client):
    assert client.get("/healthz").json == {"status": "ok"}


def test_vnd_and_dates_are_formatted_the_vietnamese_way(app):
    assert format_vnd(1_500_000) == "1.500.000\u00a0₫"
    assert format_vnd(0) == "0\u00a0₫"
    assert format_date(date(2025, 7, 1)) == "01/07/2025"
    # 20:30 UTC is 03:30 the next morning in Viet Nam.
    assert format_datetime(datetime(2025, 6, 30, 20, 30, tzinfo=UTC)) == "01/07/2025 03:30"


def test_ids_too_large_for_the_database_are_404_not_500(client):
    user = UserFactory()
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
    assert client.get("/organisations/99999999999999").status_code == 404
    assert client.get("/organisations/2147483648").status_code == 404


def test_translated_messages_with_user_text_are_escaped(app):
    """A lazy message carrying what a user typed must never reach the page as markup."""
    from flask import render_template_string
    from flask_babel import lazy_gettext

    with app.test_request_context("/"):
        message = lazy_gettext("Unknown value: %(value)s.", value="<script>alert(1)</script>")
        html = render_template_string("{{ message }}", message=message)
    assert "<script>" not in html and "&lt;script&gt;" in html
