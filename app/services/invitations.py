"""Invitations by e-mail or mobile: admins invite staff, owners invite members of their organisation.

The token travels only in the message; the database keeps its SHA-256. Accepting an invitation
is audited, as are the role or membership it grants.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.models.invitation import Invitation, InvitationKind
from app.models.organisation import MemberRole, Membership, Organisation
from app.models.types import utcnow
from app.models.user import Role, User, UserRole
from app.services import audit


class InvitationError(ValueError):
    """The invitation cannot be used (expired, revoked, already used, or for someone else)."""


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new(kind: InvitationKind, inviter: User, email: str | None, phone: str | None, **fields) -> tuple[Invitation, str]:
    if not email and not phone:
        raise InvitationError("an invitation needs an e-mail address or a mobile number")
    token = secrets.token_urlsafe(32)
    invitation = Invitation(
        kind=kind,
        token_hash=_hash(token),
        email=email,
        phone=phone,
        invited_by_id=inviter.id,
        expires_at=utcnow() + timedelta(days=current_app.config["INVITATION_MAX_AGE_DAYS"]),
        **fields,
    )
    db.session.add(invitation)
    db.session.flush()
    return invitation, token


def invite_staff(inviter: User, roles: list[Role], *, email: str | None = None, phone: str | None = None,
                 ip: str | None = None) -> tuple[Invitation, str]:
    """Create a staff invitation (not committed); returns it with the token to put in the link."""
    staff_roles = sorted({Role(r).value for r in roles} & {r.value for r in Role.staff()})
    if not staff_roles:
        raise InvitationError("a staff invitation needs at least one staff role")
    invitation, token = _new(InvitationKind.STAFF, inviter, email, phone, roles=staff_roles)
    audit.record("invitation.create", "invitation", invitation.id, actor=inviter, ip=ip,
                 after={"kind": "staff", "email": email, "phone": phone, "roles": staff_roles})
    return invitation, token


def invite_member(inviter: User, organisation: Organisation, *, email: str | None = None, phone: str | None = None,
                  member_role: MemberRole = MemberRole.MEMBER, ip: str | None = None) -> tuple[Invitation, str]:
    """Create an invitation to join ``organisation`` (not committed)."""
    invitation, token = _new(InvitationKind.MEMBER, inviter, email, phone,
                             organisation_id=organisation.id, member_role=member_role, roles=[])
    audit.record("invitation.create", "invitation", invitation.id, actor=inviter, ip=ip,
                 after={"kind": "member", "organisation_id": organisation.id, "email": email, "phone": phone,
                        "member_role": member_role.value})
    return invitation, token


def find_by_token(token: str) -> Invitation | None:
    """The invitation behind a link, whatever its state (callers check ``is_open``)."""
    if not token:
        return None
    return db.session.scalar(select(Invitation).where(Invitation.token_hash == _hash(token)))


def accept(invitation: Invitation, user: User, ip: str | None = None) -> None:
    """Grant what the invitation promises to ``user`` (not committed)."""
    if not invitation.is_open():
        raise InvitationError("this invitation has expired, was revoked or was already used")
    if invitation.kind is InvitationKind.STAFF:
        before = sorted(r.value for r in user.role_names)
        for role in invitation.roles:
            if not user.has_role(role):
                user.roles.append(UserRole(role=Role(role)))
        after = sorted(set(before) | set(invitation.roles))
        audit.record("user.roles_change", "user", user.id, actor=user, ip=ip,
                     before={"roles": before}, after={"roles": after})
    else:
        organisation = invitation.organisation
        if organisation.member_role(user) is None:
            membership = Membership(organisation=organisation, user=user,
                                    role=invitation.member_role or MemberRole.MEMBER)
            db.session.add(membership)
            if not user.has_role(Role.BUSINESS):
                user.roles.append(UserRole(role=Role.BUSINESS))
            audit.record("organisation.member_add", "organisation", organisation.id, actor=user, ip=ip,
                         after={"user_id": user.id, "role": membership.role.value, "via": "invitation"})
    invitation.accepted_at = utcnow()
    invitation.accepted_by_id = user.id
    audit.record("invitation.accept", "invitation", invitation.id, actor=user, ip=ip)


def revoke(invitation: Invitation, actor: User, ip: str | None = None) -> None:
    """Make an open invitation unusable (not committed)."""
    if invitation.accepted_at is None and invitation.revoked_at is None:
        invitation.revoked_at = utcnow()
        audit.record("invitation.revoke", "invitation", invitation.id, actor=actor, ip=ip)
