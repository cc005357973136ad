"""In-app notifications (the bell) and each user's choice of channels per kind of message."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import UTCDateTime, utcnow


class Notification(db.Model):
    """A message in a user's in-app feed, written in the recipient's language when it was sent."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_user_unread", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    #: The kind of message (``application_decision``, ``review_tasks``...): preferences are per kind.
    kind: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)
    #: A path inside the portal (``/organisations/3/applications/7``), never an outside address.
    link: Mapped[str | None] = mapped_column(String(255))
    application_id: Mapped[int | None] = mapped_column(ForeignKey("application.id", ondelete="CASCADE"),
                                                       index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class NotificationPreference(db.Model):
    """One user's choice for one kind of message on one channel (``in_app``, ``email``, ``sms``).

    No row means the channel is on: people are told by default and opt out.
    """

    __tablename__ = "notification_preference"
    __table_args__ = (UniqueConstraint("user_id", "kind", "channel", name="uq_notification_preference"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
