"""What the portal itself opens: the SMS gateway is an operator setting, but a mistyped or planted
``file:`` (or ``ftp:``) address must never make it read a local file or speak another protocol (the bandit
finding B310 on ``urllib.request.urlopen``, fixed rather than silenced)."""

from __future__ import annotations

import pytest

from app.services import messaging


@pytest.mark.parametrize("address", ["file:///etc/passwd", "ftp://127.0.0.1/x", "/etc/passwd", ""])
def test_the_sms_gateway_speaks_only_http(app, monkeypatch, address):
    monkeypatch.setitem(app.config, "SMS_BACKEND", "http")
    monkeypatch.setitem(app.config, "SMS_GATEWAY_URL", address)
    with pytest.raises(messaging.DeliveryError, match="http"):
        messaging.send(subject="S", body="Mã xác nhận: 123", phone="0912345678")
