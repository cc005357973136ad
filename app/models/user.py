"""User accounts and their roles."""

from __future__ import annotations

import enum
import secrets
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.types import UTCDateTime, enum_type, utcnow


class Role(enum.StrEnum):
    """What a user may do in the portal; staff roles can be combined."""

    BUSINESS = "business"
    PARTNER = "partner"
    REVIEWER = "reviewer"
    APPROVER = "approver"
    ADMIN = "admin"

    @property
    def label(self):
        return ROLE_LABELS[self]

    @classmethod
    def staff(cls) -> frozenset[Role]:
        return frozenset({cls.REVIEWER, cls.APPROVER, cls.ADMIN})


ROLE_LABELS = {
    Role.BUSINESS: _l("Business"),
    Role.PARTNER: _l("IT partner"),
    Role.REVIEWER: _l("Reviewer"),
    Role.APPROVER: _l("Approver"),
    Role.ADMIN: _l("Administrator"),
}


def new_session_token() -> str:
    """A random token; rotating it ends every session that carries the old one."""
    return secrets.token_urlsafe(24)


class User(db.Model):
    """A person who logs in with an e-mail address or a Vietnamese mobile number."""

    __tablename__ = "user_account"
    __table_args__ = (CheckConstraint("email IS NOT NULL OR phone IS NOT NULL", name="has_login"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Lower-cased e-mail address; optional for people who only have a phone.
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    #: Mobile number normalised to 10 digits starting with 0 (``0912345678``).
    phone: Mapped[str | None] = mapped_column(String(10), unique=True)
    full_name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    locale: Mapped[str] = mapped_column(String(5), default="vi")
    #: Part of the login id; rotated on password change and "log out everywhere".
    session_token: Mapped[str] = mapped_column(String(64), default=new_session_token)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: When the user proved they own their e-mail or phone; unconfirmed accounts cannot log in.
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    roles: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )
    memberships: Mapped[list[Membership]] = relationship(  # noqa: F821
        back_populates="user", cascade="all, delete-orphan"
    )

    # Flask-Login protocol -------------------------------------------------
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active and self.confirmed_at is not None

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    # Roles ----------------------------------------------------------------
    @property
    def role_names(self) -> frozenset[Role]:
        return frozenset(Role(r.role) for r in self.roles)

    def has_role(self, *roles: Role | str) -> bool:
        return bool(self.role_names & {Role(r) for r in roles})

    @property
    def is_staff(self) -> bool:
        return bool(self.role_names & Role.staff())

    @property
    def login_name(self) -> str:
        """What the user types to log in, for display."""
        return self.email or self.phone or ""

    def __repr__(self) -> str:
        return f"<User {self.id} {self.login_name}>"


class UserRole(db.Model):
    """One role held by one user."""

    __tablename__ = "user_role"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[Role] = mapped_column(enum_type(Role), primary_key=True)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User] = relationship(back_populates="roles")
