"""A cast for the notification tests: an organisation with three members (one reachable by phone only),
two reviewers and two approvers, and a way to take an application through the real workflow."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import Role
from app.models.application import Application
from app.models.notification import Notification
from app.models.user import User
from app.services import workflow
from tests.application_helpers import (
    Business,
    add_document,
    add_member,
    make_business,
    make_complete_draft,
    make_programme,
    make_user,
)
from tests.factories import UserFactory

#: Who takes each action in the ordinary run of an application.
ACTORS = {"submit": "owner", "resubmit": "owner", "withdraw": "owner", "start_review": "reviewer",
          "request_info": "reviewer", "recommend": "reviewer", "complete": "reviewer", "reject": "reviewer",
          "send_back": "approver", "approve": "approver", "cancel": "approver"}
REASON = "Báo giá chưa có chữ ký và con dấu."


@dataclass
class Cast:
    business: Business
    owner: User
    member: User
    phone_member: User
    reviewer: User
    other_reviewer: User
    approver: User
    other_approver: User
    programme: Any

    def people(self) -> dict[str, User]:
        return {name: getattr(self, name) for name in ("owner", "member", "phone_member", "reviewer",
                                                        "other_reviewer", "approver", "other_approver")}


def make_cast(member_locale: str = "vi") -> Cast:
    business = make_business(level=1)
    member = add_member(business.organisation, make_user(Role.BUSINESS, locale=member_locale))
    phone_member = add_member(business.organisation, make_user(Role.BUSINESS, email=None, phone="0912345678"))
    return Cast(
        business=business, owner=business.user, member=member, phone_member=phone_member,
        reviewer=UserFactory(roles=[Role.REVIEWER]), other_reviewer=UserFactory(roles=[Role.REVIEWER]),
        approver=UserFactory(roles=[Role.APPROVER]), other_approver=UserFactory(roles=[Role.APPROVER]),
        programme=make_programme(),
    )


def draft(cast: Cast) -> Application:
    """A draft that "submit" accepts (needs the ``upload_dir`` fixture for its documents)."""
    return make_complete_draft(cast.business, cast.programme)


def act(cast: Cast, application: Application, action: str, actor: str | None = None, **data: Any) -> None:
    """Take ``action`` as its usual actor (or ``actor``), with the data it needs, and commit."""
    user = getattr(cast, actor or ACTORS[action])
    if action in ("request_info", "reject", "cancel", "send_back"):
        data.setdefault("reason", REASON)
    if action in ("recommend",):
        data.setdefault("amount_vnd", application.requested_vnd)
    if action == "complete":
        for code in ("invoice", "acceptance"):
            add_document(application, code, cast.owner)
    workflow.perform_transition(application, action, user, **data)
    db.session.commit()


def run(cast: Cast, application: Application, steps) -> Application:
    """Take each step: an action name, or (action, actor name)."""
    for step in steps:
        action, actor = (step, None) if isinstance(step, str) else step
        act(cast, application, action, actor)
    return application


def inbox(user: User) -> list[Notification]:
    """The user's in-app notifications, oldest first."""
    return list(db.session.scalars(select(Notification).where(Notification.user_id == user.id)
                                   .order_by(Notification.id)))


def messages_to(outbox, user: User) -> list:
    """Messages delivered to the user's e-mail address or phone."""
    return [m for m in outbox if m.to in {user.email, user.phone} - {None}]


def forget_everything(outbox) -> None:
    """Start counting afresh: no notifications stored, nothing in the outbox."""
    db.session.execute(Notification.__table__.delete())
    db.session.commit()
    outbox.clear()
