"""Shared by the API token and integration tests: tokens made through the service, and the header to send."""

from __future__ import annotations

from collections.abc import Iterable

from app.extensions import db
from app.models import ApiToken, Role, User
from app.services import api_tokens
from tests.factories import UserFactory

ALL_SCOPES = api_tokens.SCOPES


def make_admin(**overrides) -> User:
    return UserFactory(roles=[Role.ADMIN], **overrides)


def make_token(scopes: Iterable[str] = ALL_SCOPES, name: str = "Hệ thống báo cáo tỉnh",
               admin: User | None = None) -> tuple[ApiToken, str]:
    """A committed token and its secret, created by ``admin`` (a new administrator when not given)."""
    token, secret = api_tokens.create(admin or make_admin(), name, list(scopes))
    db.session.commit()
    return token, secret


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}
