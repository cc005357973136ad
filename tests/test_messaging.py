"""The channel layer: e-mail when there is an address, SMS otherwise; messages queued in a
transaction leave only when it commits; the real backends talk to real (local) servers."""

from __future__ import annotations

import json
import logging
import socket
import socketserver
import threading
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from app.extensions import db
from app.services import messaging
from tests.factories import UserFactory


def test_email_is_preferred_and_sms_is_the_fallback(outbox):
    messaging.send(subject="S", body="B", email="a@example.vn", phone="0912345678")
    messaging.send(subject="S", body="B", phone="0912345678")
    assert [(m.channel, m.to) for m in outbox] == [("email", "a@example.vn"), ("sms", "0912345678")]


def test_a_recipient_without_address_is_an_error(outbox):
    with pytest.raises(messaging.DeliveryError):
        messaging.send(subject="S", body="B")
    with pytest.raises(messaging.DeliveryError):
        messaging.send_after_commit(subject="S", body="B")
    assert outbox == []


def test_send_to_user_uses_the_phone_of_a_phone_only_user(outbox):
    user = UserFactory(email=None, phone="0387654321")
    messaging.send_to_user(user, subject="S", body="B")
    assert [(m.channel, m.to) for m in outbox] == [("sms", "0387654321")]


def test_queued_messages_leave_on_commit_only(outbox):
    messaging.send_after_commit(subject="S", body="sent", email="a@example.vn")
    assert outbox == []
    db.session.commit()
    assert [m.body for m in outbox] == ["sent"]
    db.session.commit()
    assert len(outbox) == 1, "a later commit does not send it again"


def test_queued_messages_are_dropped_on_rollback(outbox):
    messaging.send_after_commit(subject="S", body="never", email="a@example.vn")
    db.session.rollback()
    db.session.commit()
    assert outbox == []


def test_a_failed_delivery_after_commit_is_logged_not_raised(app, monkeypatch, caplog):
    monkeypatch.setitem(app.config, "MESSAGE_BACKEND", "smtp")
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", _closed_port())
    messaging.send_after_commit(subject="Lost", body="B", email="a@example.vn")
    with caplog.at_level(logging.ERROR):
        db.session.commit()
    assert "Could not deliver 'Lost'" in caplog.text


def test_unknown_backends_are_refused(app, monkeypatch):
    monkeypatch.setitem(app.config, "MESSAGE_BACKEND", "pigeon")
    monkeypatch.setitem(app.config, "SMS_BACKEND", "smoke")
    with pytest.raises(messaging.DeliveryError):
        messaging.send(subject="S", body="B", email="a@example.vn")
    with pytest.raises(messaging.DeliveryError):
        messaging.send(subject="S", body="B", phone="0912345678")


def test_log_backend_writes_the_message_to_the_log(app, monkeypatch, caplog):
    monkeypatch.setitem(app.config, "SMS_BACKEND", "log")
    with caplog.at_level(logging.INFO):
        messaging.send(subject="S", body="Mã: 123", phone="0912345678")
    assert "0912345678" in caplog.text and "Mã: 123" in caplog.text


def test_portal_url_comes_from_base_url(app, monkeypatch):
    monkeypatch.setitem(app.config, "BASE_URL", "https://dx.example.gov.vn/portal")
    with app.test_request_context("/", base_url="http://evil.example"):
        assert messaging.portal_url("auth.login") == "https://dx.example.gov.vn/portal/auth/login"
    assert messaging.portal_url("auth.reset_password", token="a.b") == "https://dx.example.gov.vn/portal/auth/reset/a.b"


# Real backends against local servers ------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP to accept one message (no TLS, no auth)."""

    def handle(self):
        self.wfile.write(b"220 test ESMTP\r\n")
        while line := self.rfile.readline():
            command = line.strip().upper()
            if command.startswith((b"EHLO", b"HELO")):
                self.wfile.write(b"250 test\r\n")
            elif command == b"DATA":
                self.wfile.write(b"354 go on\r\n")
                data = b""
                while (chunk := self.rfile.readline()) != b".\r\n":
                    data += chunk
                self.server.received.append(data)
                self.wfile.write(b"250 queued\r\n")
            elif command == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


@pytest.fixture
def smtp_server():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SMTPHandler)
    server.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_smtp_backend_sends_a_well_formed_mail(app, monkeypatch, smtp_server):
    monkeypatch.setitem(app.config, "MESSAGE_BACKEND", "smtp")
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", smtp_server.server_address[1])
    monkeypatch.setitem(app.config, "MAIL_USE_TLS", False)
    monkeypatch.setitem(app.config, "MAIL_SENDER", "Cổng DX <no-reply@dx.example.vn>")

    messaging.send(subject="Xác nhận tài khoản", body="Xin chào, mở liên kết này.", email="a@example.vn")

    assert len(smtp_server.received) == 1
    mail = message_from_bytes(smtp_server.received[0])
    assert mail["To"] == "a@example.vn"
    assert mail["Date"]
    assert mail["Message-ID"].endswith("@dx.example.vn>")
    assert "Xin chào" in mail.get_payload(decode=True).decode(mail.get_content_charset())


def test_smtp_failure_is_a_delivery_error(app, monkeypatch):
    monkeypatch.setitem(app.config, "MESSAGE_BACKEND", "smtp")
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", _closed_port())
    with pytest.raises(messaging.DeliveryError):
        messaging.send(subject="S", body="B", email="a@example.vn")


def test_http_sms_backend_posts_json_with_the_token(app, monkeypatch):
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers["Content-Length"])
            received.append((self.headers["Authorization"], json.loads(self.rfile.read(length))))
            self.send_response(202)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setitem(app.config, "SMS_BACKEND", "http")
        monkeypatch.setitem(app.config, "SMS_GATEWAY_URL", f"http://127.0.0.1:{server.server_address[1]}/send")
        monkeypatch.setitem(app.config, "SMS_GATEWAY_TOKEN", "sekret")
        messaging.send(subject="ignored", body="Mã xác nhận: 123", phone="0912345678")
    finally:
        server.shutdown()
        server.server_close()
    assert received == [("Bearer sekret", {"to": "0912345678", "text": "Mã xác nhận: 123"})]


def test_http_sms_gateway_down_is_a_delivery_error(app, monkeypatch):
    monkeypatch.setitem(app.config, "SMS_BACKEND", "http")
    monkeypatch.setitem(app.config, "SMS_GATEWAY_URL", f"http://127.0.0.1:{_closed_port()}/send")
    with pytest.raises(messaging.DeliveryError):
        messaging.send(subject="S", body="B", phone="0912345678")
