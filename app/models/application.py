"""Support applications: an organisation asks a programme for money, staff review and decide.

The state machine itself lives in ``app.services.workflow`` (one declarative table); this module only
stores what it needs: the state, the amounts, who recommended and who decided, the documents and the
timeline (transitions, documents, comments).
"""

from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.catalogue import Partner, Programme
from app.models.organisation import Organisation
from app.models.types import UTCDateTime, enum_type, utcnow
from app.models.user import User


class ApplicationStatus(enum.StrEnum):
    """Where an application stands. ``label`` is the staff's word, ``public_label`` the business's."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    IN_REVIEW = "in_review"
    INFO_REQUESTED = "info_requested"
    RECOMMENDED = "recommended"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    COMPLETED = "completed"
    CANCELLED = "cancelled"

    @property
    def label(self):
        return {
            ApplicationStatus.DRAFT: _l("Draft"),
            ApplicationStatus.SUBMITTED: _l("Submitted"),
            ApplicationStatus.IN_REVIEW: _l("In review"),
            ApplicationStatus.INFO_REQUESTED: _l("Information requested"),
            ApplicationStatus.RECOMMENDED: _l("Recommended for approval"),
            ApplicationStatus.APPROVED: _l("Approved"),
            ApplicationStatus.REJECTED: _l("Rejected"),
            ApplicationStatus.WITHDRAWN: _l("Withdrawn"),
            ApplicationStatus.COMPLETED: _l("Completed"),
            ApplicationStatus.CANCELLED: _l("Cancelled"),
        }[self]

    @property
    def public_label(self):
        """What the business sees: internal review steps collapse into "being reviewed"."""
        return {
            ApplicationStatus.DRAFT: _l("Not sent yet"),
            ApplicationStatus.SUBMITTED: _l("Sent, waiting for review"),
            ApplicationStatus.IN_REVIEW: _l("Being reviewed"),
            ApplicationStatus.INFO_REQUESTED: _l("More documents needed"),
            ApplicationStatus.RECOMMENDED: _l("Being reviewed"),
            ApplicationStatus.APPROVED: _l("Approved"),
            ApplicationStatus.REJECTED: _l("Not approved"),
            ApplicationStatus.WITHDRAWN: _l("Withdrawn"),
            ApplicationStatus.COMPLETED: _l("Completed"),
            ApplicationStatus.CANCELLED: _l("Cancelled"),
        }[self]

    @property
    def public_status(self) -> ApplicationStatus:
        """The state a business is told about (``recommended`` is internal: it reads as ``in_review``)."""
        return ApplicationStatus.IN_REVIEW if self is ApplicationStatus.RECOMMENDED else self

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATES

    @property
    def is_open(self) -> bool:
        """Waiting for the department (what the staff queue shows by default)."""
        return self in QUEUE_STATES


FINAL_STATES = frozenset({ApplicationStatus.REJECTED, ApplicationStatus.WITHDRAWN, ApplicationStatus.COMPLETED,
                          ApplicationStatus.CANCELLED})
#: States in which the department has something to do.
QUEUE_STATES = frozenset({ApplicationStatus.SUBMITTED, ApplicationStatus.IN_REVIEW,
                          ApplicationStatus.RECOMMENDED, ApplicationStatus.APPROVED})
#: States that count as "applied" for the once-a-year eligibility rule (drafts and withdrawals do not).
COUNTED_STATES = frozenset(set(ApplicationStatus) - {ApplicationStatus.DRAFT, ApplicationStatus.WITHDRAWN})


class Application(db.Model):
    """One organisation's request for support from one programme."""

    __tablename__ = "application"
    __table_args__ = (
        Index("ix_application_status_changed", "status", "status_changed_at"),
        Index("ix_application_programme_status", "programme_id", "status"),
        Index("ix_application_org_year", "organisation_id", "applied_year"),
        #: The queue's "largest amount first" and "newest first" sorts read these in order.
        Index("ix_application_status_requested", "status", "requested_vnd"),
        Index("ix_application_status_submitted", "status", "submitted_at"),
        #: One draft per organisation and programme: "apply" reopens it instead of starting another.
        Index("uq_application_one_draft", "organisation_id", "programme_id", unique=True,
              sqlite_where=text("status = 'draft'"), postgresql_where=text("status = 'draft'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Bumped by every change; a change made from a stale copy is refused (optimistic locking).
    version: Mapped[int] = mapped_column(Integer, default=1)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="RESTRICT"))
    #: The vetted partner the business plans to work with (optional).
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partner.id", ondelete="SET NULL"))
    #: The submitted assessment the organisation had when it applied.
    assessment_id: Mapped[int | None] = mapped_column(ForeignKey("assessment.id", ondelete="SET NULL"))
    status: Mapped[ApplicationStatus] = mapped_column(enum_type(ApplicationStatus),
                                                      default=ApplicationStatus.DRAFT)
    #: When the state last changed (waiting time in the staff queue is measured from here).
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: Calendar year of the first submission (the once-a-year rule counts by it); None for drafts.
    applied_year: Mapped[int | None] = mapped_column(Integer)
    planned_cost_vnd: Mapped[int | None] = mapped_column(BigInteger)
    requested_vnd: Mapped[int | None] = mapped_column(BigInteger)
    #: The amount the reviewer proposes; the approver may approve it or less.
    recommended_vnd: Mapped[int | None] = mapped_column(BigInteger)
    #: Money committed against the programme's budget (set on approval, released on cancel).
    approved_vnd: Mapped[int | None] = mapped_column(BigInteger)
    #: Money paid out (set when staff confirm completion).
    disbursed_vnd: Mapped[int | None] = mapped_column(BigInteger)
    project_title: Mapped[str | None] = mapped_column(String(200))
    project_description: Mapped[str | None] = mapped_column(Text)
    #: The business confirmed the declarations (truthful information, no double funding).
    declarations_accepted: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Why it was rejected or cancelled (shown to the business).
    decision_reason: Mapped[str | None] = mapped_column(Text)
    #: The reviewer in charge (assigned from the queue).
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"), index=True)
    recommended_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    organisation: Mapped[Organisation] = relationship()
    programme: Mapped[Programme] = relationship()
    partner: Mapped[Partner | None] = relationship()
    reviewer: Mapped[User | None] = relationship(foreign_keys=[reviewer_id])
    recommended_by: Mapped[User | None] = relationship(foreign_keys=[recommended_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    documents: Mapped[list[ApplicationDocument]] = relationship(
        back_populates="application", order_by="ApplicationDocument.uploaded_at",
        primaryjoin="and_(ApplicationDocument.application_id == Application.id, "
                    "ApplicationDocument.removed_at.is_(None))",
        viewonly=True,
    )

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<Application {self.id} {self.status}>"


class ApplicationDocument(db.Model):
    """An uploaded file. Stored under ``instance/`` with a random name; removing only hides it."""

    __tablename__ = "application_document"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id", ondelete="CASCADE"), index=True)
    #: The programme's document code, or ``invoice`` / ``acceptance`` (completion) / ``other``.
    code: Mapped[str] = mapped_column(String(40))
    #: The name the user's file had (shown, and offered again on download); never used as a path.
    original_name: Mapped[str] = mapped_column(String(255))
    #: Random file name inside the upload folder.
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    content_type: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: Set when the business replaces or removes it; the file stays for the record.
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    application: Mapped[Application] = relationship(back_populates="documents")
    uploaded_by: Mapped[User | None] = relationship()


class ActivityKind(enum.StrEnum):
    TRANSITION = "transition"
    COMMENT = "comment"
    DOCUMENT = "document"
    ASSIGNMENT = "assignment"


class Visibility(enum.StrEnum):
    """Who reads a timeline entry: everyone on the application, or department staff only."""

    SHARED = "shared"
    INTERNAL = "internal"

    @property
    def label(self):
        return {Visibility.SHARED: _l("Shared with the business"), Visibility.INTERNAL: _l("Staff only")}[self]


class ApplicationActivity(db.Model):
    """One entry of an application's timeline: a transition, a document, a comment, an assignment."""

    __tablename__ = "application_activity"
    __table_args__ = (Index("ix_application_activity_app_time", "application_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id", ondelete="CASCADE"))
    kind: Mapped[ActivityKind] = mapped_column(enum_type(ActivityKind))
    visibility: Mapped[Visibility] = mapped_column(enum_type(Visibility), default=Visibility.SHARED)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    #: The workflow action (``submit``, ``approve``...) for transitions.
    action: Mapped[str | None] = mapped_column(String(32))
    from_status: Mapped[ApplicationStatus | None] = mapped_column(enum_type(ApplicationStatus))
    to_status: Mapped[ApplicationStatus | None] = mapped_column(enum_type(ApplicationStatus))
    #: A comment, a reason, or a note given with a transition.
    body: Mapped[str | None] = mapped_column(Text)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("application_document.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: For transitions: when the application entered ``from_status``, so the time it spent there is
    #: ``created_at - state_entered_at`` without pairing timeline rows (the dashboard's medians).
    state_entered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    actor: Mapped[User | None] = relationship()
    document: Mapped[ApplicationDocument | None] = relationship()
