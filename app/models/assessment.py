"""Digital-maturity self-assessments, their answers and their per-pillar scores."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.organisation import Organisation
from app.models.types import UTCDateTime, enum_type, utcnow
from app.models.user import User


class AssessmentStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"

    @property
    def label(self):
        return {AssessmentStatus.DRAFT: _l("Draft"), AssessmentStatus.SUBMITTED: _l("Submitted")}[self]


class Assessment(db.Model):
    """One self-assessment of an organisation, answered under one framework version and track."""

    __tablename__ = "assessment"
    __table_args__ = (
        Index("ix_assessment_org_status", "organisation_id", "status"),
        Index("ix_assessment_latest", "is_latest", "status"),
        #: At most one draft per organisation: members share it.
        Index("uq_assessment_one_draft", "organisation_id", unique=True,
              sqlite_where=text("status = 'draft'"), postgresql_where=text("status = 'draft'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    #: The framework id and version the answers were given under; never changed afterwards.
    framework_id: Mapped[str] = mapped_column(String(40))
    framework_version: Mapped[int] = mapped_column(Integer)
    #: ``full`` (enterprises, cooperatives) or ``short`` (household businesses).
    track: Mapped[str] = mapped_column(String(16))
    status: Mapped[AssessmentStatus] = mapped_column(enum_type(AssessmentStatus), default=AssessmentStatus.DRAFT)
    #: The submitted assessment this one was pre-filled from and is compared with.
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("assessment.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    overall_score: Mapped[float | None] = mapped_column(Float)
    overall_level: Mapped[int | None] = mapped_column(Integer)
    #: The business's own words about what it needs help with (used by the recommender).
    needs: Mapped[str | None] = mapped_column(Text)
    #: True on the most recent submitted assessment of its organisation (peer statistics use these).
    is_latest: Mapped[bool] = mapped_column(Boolean, default=False)

    organisation: Mapped[Organisation] = relationship()
    previous: Mapped[Assessment | None] = relationship(remote_side=[id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    submitted_by: Mapped[User | None] = relationship(foreign_keys=[submitted_by_id])
    answers: Mapped[list[AssessmentAnswer]] = relationship(
        back_populates="assessment", cascade="all, delete-orphan", lazy="selectin"
    )
    pillar_scores: Mapped[list[AssessmentPillarScore]] = relationship(
        back_populates="assessment", cascade="all, delete-orphan", lazy="selectin",
        order_by="AssessmentPillarScore.position",
    )

    @property
    def framework_ref(self) -> str:
        return f"{self.framework_id}@{self.framework_version}"

    @property
    def answer_map(self) -> dict[str, Any]:
        """{question id: value} of the answers given so far."""
        return {a.question_id: a.value for a in self.answers if a.value is not None}

    @property
    def pillar_score_map(self) -> dict[str, float]:
        return {p.pillar: p.score for p in self.pillar_scores}


class AssessmentAnswer(db.Model):
    """The answer to one question; saved per question so two members editing a draft lose nothing."""

    __tablename__ = "assessment_answer"
    __table_args__ = (UniqueConstraint("assessment_id", "question_id", name="uq_assessment_answer_question"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessment.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[str] = mapped_column(String(60))
    #: An option id, a list of option ids, or a 0-5 scale value (JSON).
    value: Mapped[Any] = mapped_column(JSON, nullable=True)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    assessment: Mapped[Assessment] = relationship(back_populates="answers")


class AssessmentPillarScore(db.Model):
    """A submitted assessment's score on one pillar: a row each, so peer quartiles are computed in SQL."""

    __tablename__ = "assessment_pillar_score"
    __table_args__ = (Index("ix_assessment_pillar_score_pillar_score", "pillar", "score"),)

    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessment.id", ondelete="CASCADE"), primary_key=True)
    pillar: Mapped[str] = mapped_column(String(40), primary_key=True)
    #: Order of the pillar in the framework, for display.
    position: Mapped[int] = mapped_column(Integer, default=0)
    score: Mapped[float] = mapped_column(Float)

    assessment: Mapped[Assessment] = relationship(back_populates="pillar_scores")
