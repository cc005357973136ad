"""Invitations: admins invite staff, owners invite members of their organisation."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.organisation import MemberRole, Organisation
from app.models.types import UTCDateTime, enum_type, utcnow
from app.models.user import User


class InvitationKind(enum.StrEnum):
    STAFF = "staff"
    MEMBER = "member"


class Invitation(db.Model):
    """A single-use link sent to an e-mail address or phone; only the token's hash is stored."""

    __tablename__ = "invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[InvitationKind] = mapped_column(enum_type(InvitationKind))
    #: SHA-256 of the token in the link (the token itself is only ever in the message sent).
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(10))
    #: Staff roles granted on acceptance (staff invitations).
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    member_role: Mapped[MemberRole | None] = mapped_column(enum_type(MemberRole))
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    organisation: Mapped[Organisation | None] = relationship()
    invited_by: Mapped[User | None] = relationship(foreign_keys=[invited_by_id])

    def is_open(self, now: datetime | None = None) -> bool:
        """Still usable: not accepted, not revoked, not expired."""
        now = now or utcnow()
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > now
