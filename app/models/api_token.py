"""API tokens for the integrations of other systems (the provincial reporting system, a partner's catalogue
feed...), and the log of every request made with one.

A token is created by an administrator for one named system with a set of scopes; the secret is shown once
and only its SHA-256 is kept. SHA-256 and not a slow password hash (argon2id): the secret is 256 random bits
from ``secrets``, so guessing it from the hash is as hopeless as guessing the token itself, and a slow hash
would only add its cost (64 MB and tens of milliseconds) to every API request. Slow hashes exist to protect
low-entropy passwords; a token is not one.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.types import UTCDateTime, utcnow
from app.models.user import User


class ApiToken(db.Model):
    """A bearer token of one named system, with scopes; revoked, never deleted, so its uses stay explained."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The system that holds the token ("Hệ thống báo cáo của tỉnh").
    name: Mapped[str] = mapped_column(String(120))
    #: The start of the secret (``dxp_`` and its first 8 random characters), shown to tell tokens apart
    #: and used to find the token before its hash is compared.
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    #: SHA-256 of the whole secret, hex; the secret itself is never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: Scopes granted, from ``app.services.api_tokens.SCOPES``.
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Set once; a revoked token is refused (401) but its history stays.
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    revoked_by: Mapped[User | None] = relationship(foreign_keys=[revoked_by_id])

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def __repr__(self) -> str:
        return f"<ApiToken {self.id} {self.prefix} {self.name!r}>"


class ApiTokenUse(db.Model):
    """One request made with a token (accepted or refused), newest first on the admin page."""

    __tablename__ = "api_token_use"
    __table_args__ = (Index("ix_api_token_use_token_time", "token_id", "used_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("api_token.id", ondelete="CASCADE"))
    used_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    method: Mapped[str] = mapped_column(String(8))
    #: The path without the query string (which may be long), e.g. ``/api/v1/applications``.
    path: Mapped[str] = mapped_column(String(255))
    #: The HTTP status answered: 2xx, or 401 (revoked), 403 (scope missing), 4xx/5xx.
    status: Mapped[int] = mapped_column(Integer)
    ip: Mapped[str | None] = mapped_column(String(45))

    token: Mapped[ApiToken] = relationship()
