"""Telling people what happened to an application: the in-app feed (the bell) and their channels.

``application_transition`` is called by the workflow inside the transaction of the change.
"""

from __future__ import annotations

from typing import Any

from app.extensions import db
from app.models.application import Application
from app.models.notification import Notification
from app.models.user import User


def application_transition(application: Application, transition: Any, actor: User, note: str | None = None) -> None:
    """Tell the organisation's members about a change they can see (placeholder fan-out, in-app only)."""
    if transition.internal:
        return
    for membership in application.organisation.memberships:
        if membership.user_id == actor.id:
            continue
        db.session.add(Notification(user_id=membership.user_id, kind=f"application.{transition.action}",
                                    subject=str(transition.target.public_label), body=note or "",
                                    application_id=application.id))
