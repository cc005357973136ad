"""Organisations (enterprises, cooperatives, household businesses) and their members."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.types import UTCDateTime, enum_type, utcnow
from app.models.user import User


class OrganisationKind(enum.StrEnum):
    """The three kinds of organisation the provincial support policies name."""

    ENTERPRISE = "enterprise"
    COOPERATIVE = "cooperative"
    HOUSEHOLD_BUSINESS = "household_business"

    @property
    def label(self):
        return {
            OrganisationKind.ENTERPRISE: _l("Enterprise"),
            OrganisationKind.COOPERATIVE: _l("Cooperative"),
            OrganisationKind.HOUSEHOLD_BUSINESS: _l("Household business"),
        }[self]


class SizeClass(enum.StrEnum):
    """Size class under Decree 80/2021/NĐ-CP Art. 5, always derived from the figures."""

    MICRO = "micro"
    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"

    @property
    def label(self):
        return {
            SizeClass.MICRO: _l("Micro"),
            SizeClass.SMALL: _l("Small"),
            SizeClass.MEDIUM: _l("Medium"),
            SizeClass.LARGE: _l("Large"),
        }[self]


class MemberRole(enum.StrEnum):
    """A user's role inside one organisation."""

    OWNER = "owner"
    MEMBER = "member"

    @property
    def label(self):
        return {MemberRole.OWNER: _l("Owner"), MemberRole.MEMBER: _l("Member")}[self]


class Organisation(db.Model):
    """A business that uses the portal."""

    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[OrganisationKind] = mapped_column(enum_type(OrganisationKind))
    name: Mapped[str] = mapped_column(String(200))
    #: MST (10 digits, optional ``-NNN`` branch) or, for a household business, the owner's 12-digit ID.
    tax_code: Mapped[str | None] = mapped_column(String(16), unique=True)
    #: VSIC 2018 section letter, A–U.
    sector: Mapped[str] = mapped_column(String(1))
    #: Commune/ward code from the administrative-unit data file; None when unknown.
    commune_code: Mapped[str | None] = mapped_column(String(10), index=True)
    address: Mapped[str | None] = mapped_column(String(255))
    employees: Mapped[int | None] = mapped_column(Integer)
    annual_revenue_vnd: Mapped[int | None] = mapped_column(BigInteger)
    capital_vnd: Mapped[int | None] = mapped_column(BigInteger)
    founded_year: Mapped[int | None] = mapped_column(Integer)
    #: Derived by ``services.organisations.size_class`` whenever the figures change; None if unknown.
    size_class: Mapped[SizeClass | None] = mapped_column(enum_type(SizeClass))
    contact_name: Mapped[str | None] = mapped_column(String(120))
    contact_phone: Mapped[str | None] = mapped_column(String(20))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    website: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="organisation", cascade="all, delete-orphan"
    )

    def member_role(self, user: User) -> MemberRole | None:
        """The user's role here, or None when they are not a member."""
        for membership in self.memberships:
            if membership.user_id == user.id:
                return membership.role
        return None

    def __repr__(self) -> str:
        return f"<Organisation {self.id} {self.name!r}>"


class Membership(db.Model):
    """A user belonging to an organisation."""

    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("organisation_id", "user_id", name="uq_membership_org_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    role: Mapped[MemberRole] = mapped_column(enum_type(MemberRole), default=MemberRole.MEMBER)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    organisation: Mapped[Organisation] = relationship(back_populates="memberships")
    user: Mapped[User] = relationship(back_populates="memberships")
