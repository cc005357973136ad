"""The catalogue: support programmes (with required documents) and vetted IT partners.

Field meanings follow the exchange format ``dxportal.catalogue/1`` (README): texts users read are
``{"vi": ..., "en": ...}`` objects, list fields (pillars, sectors, org kinds, size classes, communes,
categories) are JSON lists where ``[]`` means "all".
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, BigInteger, Boolean, Date, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.types import UTCDateTime, enum_type, utcnow
from app.models.user import User


class ProgrammeKind(enum.StrEnum):
    SUBSIDY = "subsidy"
    VOUCHER = "voucher"
    CONSULTING = "consulting"
    TRAINING = "training"
    PLATFORM = "platform"
    LOAN = "loan"

    @property
    def label(self):
        return {
            ProgrammeKind.SUBSIDY: _l("Subsidy"),
            ProgrammeKind.VOUCHER: _l("Voucher"),
            ProgrammeKind.CONSULTING: _l("Consulting"),
            ProgrammeKind.TRAINING: _l("Training"),
            ProgrammeKind.PLATFORM: _l("Digital platform"),
            ProgrammeKind.LOAN: _l("Preferential loan"),
        }[self]


class PartnerStatus(enum.StrEnum):
    """Vetting: only ``vetted`` partners are ever shown or recommended."""

    PENDING = "pending"
    VETTED = "vetted"
    SUSPENDED = "suspended"

    @property
    def label(self):
        return {
            PartnerStatus.PENDING: _l("Awaiting vetting"),
            PartnerStatus.VETTED: _l("Vetted"),
            PartnerStatus.SUSPENDED: _l("Suspended"),
        }[self]


class PriceBand(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"

    @property
    def label(self):
        return {PriceBand.LOW: _l("Low cost"), PriceBand.MEDIUM: _l("Medium cost"),
                PriceBand.HIGH: _l("High cost")}[self]


#: Partner solution categories (fixed list of the exchange format).
PARTNER_CATEGORIES = (
    "e_invoice", "accounting", "pos_sales", "ecommerce", "website", "digital_marketing", "crm", "erp",
    "hr_payroll", "digital_signature", "cloud_storage", "cybersecurity", "traceability", "booking",
    "logistics_tracking", "data_analytics", "training", "consulting",
)


class Programme(db.Model):
    """A support programme a business can apply to."""

    __tablename__ = "programme"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stable code, ``[A-Z0-9][A-Z0-9-]{1,39}``; imports upsert by it.
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[dict[str, str]] = mapped_column(JSON)
    sponsor: Mapped[dict[str, str]] = mapped_column(JSON)
    summary: Mapped[dict[str, str]] = mapped_column(JSON)
    kind: Mapped[ProgrammeKind] = mapped_column(enum_type(ProgrammeKind))
    pillars: Mapped[list[str]] = mapped_column(JSON, default=list)
    sectors: Mapped[list[str]] = mapped_column(JSON, default=list)
    org_kinds: Mapped[list[str]] = mapped_column(JSON, default=list)
    size_classes: Mapped[list[str]] = mapped_column(JSON, default=list)
    communes: Mapped[list[str]] = mapped_column(JSON, default=list)
    level_min: Mapped[int] = mapped_column(Integer, default=0)
    level_max: Mapped[int] = mapped_column(Integer, default=5)
    #: Share of the eligible cost paid, 0 < rate <= 1.
    support_rate: Mapped[float] = mapped_column(Float)
    #: {size class: cap in VND}; a size class missing here gets no money.
    caps_vnd: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    budget_vnd: Mapped[int] = mapped_column(BigInteger)
    #: Money committed by approved applications (kept by the applications workflow).
    committed_vnd: Mapped[int] = mapped_column(BigInteger, default=0)
    #: Money paid out to completed applications (part of ``committed_vnd``).
    disbursed_vnd: Mapped[int] = mapped_column(BigInteger, default=0)
    opens_on: Mapped[date] = mapped_column(Date)
    closes_on: Mapped[date] = mapped_column(Date)
    #: Retired programmes stay for history but are never shown, exported or recommended.
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    documents: Mapped[list[ProgrammeDocument]] = relationship(
        back_populates="programme", cascade="all, delete-orphan", lazy="selectin",
        order_by="ProgrammeDocument.position",
    )

    @property
    def budget_remaining_vnd(self) -> int:
        return self.budget_vnd - (self.committed_vnd or 0)

    @property
    def level_range(self) -> tuple[int, int]:
        return (self.level_min, self.level_max)

    def text(self, field: str, locale: str | None) -> str:
        """A user-facing text in ``locale``, falling back to Vietnamese."""
        value: dict[str, Any] = getattr(self, field) or {}
        return value.get((locale or "vi")[:2]) or value.get("vi", "")


class ProgrammeDocument(db.Model):
    """A document an application to the programme must (or may) include."""

    __tablename__ = "programme_document"
    __table_args__ = (UniqueConstraint("programme_id", "code", name="uq_programme_document_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[dict[str, str]] = mapped_column(JSON)
    required: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)

    programme: Mapped[Programme] = relationship(back_populates="documents")


class Partner(db.Model):
    """An IT partner (solution provider) that the department vets."""

    __tablename__ = "partner"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    tax_code: Mapped[str | None] = mapped_column(String(16))
    summary: Mapped[dict[str, str]] = mapped_column(JSON)
    website: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(30))
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    pillars: Mapped[list[str]] = mapped_column(JSON, default=list)
    sectors: Mapped[list[str]] = mapped_column(JSON, default=list)
    org_kinds: Mapped[list[str]] = mapped_column(JSON, default=list)
    communes: Mapped[list[str]] = mapped_column(JSON, default=list)
    price_band: Mapped[PriceBand] = mapped_column(enum_type(PriceBand))
    status: Mapped[PartnerStatus] = mapped_column(enum_type(PartnerStatus), default=PartnerStatus.PENDING)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    members: Mapped[list[PartnerMember]] = relationship(back_populates="partner", cascade="all, delete-orphan")

    def text(self, field: str, locale: str | None) -> str:
        value: dict[str, Any] = getattr(self, field) or {}
        return value.get((locale or "vi")[:2]) or value.get("vi", "")


class PartnerMember(db.Model):
    """A user (role ``partner``) who may propose edits to a partner's profile."""

    __tablename__ = "partner_member"
    __table_args__ = (UniqueConstraint("partner_id", "user_id", name="uq_partner_member_partner_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    partner: Mapped[Partner] = relationship(back_populates="members")
    user: Mapped[User] = relationship()


class RevisionStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class PartnerRevision(db.Model):
    """A partner user's proposed profile change; it shows only once staff approve it."""

    __tablename__ = "partner_revision"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id", ondelete="CASCADE"), index=True)
    #: The proposed values of the editable fields (same keys as the exchange format).
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[RevisionStatus] = mapped_column(enum_type(RevisionStatus), default=RevisionStatus.PENDING)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    review_note: Mapped[str | None] = mapped_column(String(500))

    partner: Mapped[Partner] = relationship()
    submitted_by: Mapped[User | None] = relationship(foreign_keys=[submitted_by_id])
