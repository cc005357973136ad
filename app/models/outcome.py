"""Outcomes the recommender learns from: approved or completed applications and partner ratings."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import UTCDateTime, enum_type, utcnow


class OutcomeKind(enum.StrEnum):
    """What happened: an application approved or completed, or a rating (1-5) of a partner's project."""

    APPROVED = "approved"
    COMPLETED = "completed"
    REJECTED = "rejected"
    RATING = "rating"


class Outcome(db.Model):
    """One observed outcome for an organisation and a catalogue item (programme or partner)."""

    __tablename__ = "outcome"
    __table_args__ = (Index("ix_outcome_item", "item_type", "item_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    #: ``programme`` or ``partner``.
    item_type: Mapped[str] = mapped_column(String(16))
    item_code: Mapped[str] = mapped_column(String(40))
    kind: Mapped[OutcomeKind] = mapped_column(enum_type(OutcomeKind))
    #: 1-5 for ratings, else None.
    rating: Mapped[int | None] = mapped_column(Integer)
    #: The assessment the organisation had when it applied (its pillar scores are the features).
    assessment_id: Mapped[int | None] = mapped_column(ForeignKey("assessment.id", ondelete="SET NULL"))
    #: ``demo`` for generated outcomes, ``application`` once the applications workflow records them.
    source: Mapped[str] = mapped_column(String(16), default="application")
    #: The application the outcome came from (None for demo outcomes).
    application_id: Mapped[int | None] = mapped_column(ForeignKey("application.id", ondelete="SET NULL"),
                                                       index=True)
    #: The business's words with a rating (optional).
    comment: Mapped[str | None] = mapped_column(Text)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
