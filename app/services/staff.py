"""Staff administration: the first administrator, role changes, (de)activation and staff invitations.

Plain Python: callers pass the acting user and the request's IP. Functions change the session and
write their audit records; the caller commits (``create_admin`` commits itself: it is a whole CLI
command). On a ``StaffError`` the caller rolls back and shows ``error.message``.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app.extensions import db
from app.models.invitation import Invitation, InvitationKind
from app.models.types import utcnow
from app.models.user import Role, User, UserRole
from app.services import audit, invitations
from app.services.accounts import clean_name, rotate_session_token
from app.services.identifiers import normalise_email
from app.services.passwords import MIN_PASSWORD_LENGTH, hash_password

#: Roles an administrator can grant on the user page.
ASSIGNABLE_ROLES: tuple[Role, ...] = (Role.BUSINESS, Role.PARTNER, Role.REVIEWER, Role.APPROVER, Role.ADMIN)
#: Roles a staff invitation can carry, in display order.
STAFF_ROLES: tuple[Role, ...] = (Role.REVIEWER, Role.APPROVER, Role.ADMIN)


class StaffError(ValueError):
    """A change the rules forbid; ``message`` is the translatable text for the administrator."""

    message = _l("This change is not allowed.")

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.__class__.__doc__)


class NotAdminError(StaffError):
    """Only administrators manage staff."""

    message = _l("Only administrators can change roles or accounts.")


class LastAdminError(StaffError):
    """The portal must keep at least one active administrator."""

    message = _l("This is the last active administrator. Give another active account the administrator "
                 "role first.")


class SelfDemotionError(StaffError):
    """Administrators cannot remove their own administrator role."""

    message = _l("You cannot remove your own administrator role. Ask another administrator.")


class SelfDeactivationError(StaffError):
    """Administrators cannot deactivate their own account."""

    message = _l("You cannot deactivate your own account. Ask another administrator.")


def role_list(user: User) -> list[str]:
    """The user's roles as sorted strings, the form the audit trail keeps."""
    return sorted(r.value for r in user.role_names)


def _counts_as_admin(user: User) -> bool:
    return user.has_role(Role.ADMIN) and user.is_active


def _lock_admin_rows() -> None:
    """Serialise changes that could remove the last administrator.

    On PostgreSQL this locks every admin role row (and its user) until commit, so two administrators
    demoting each other at the same moment cannot both succeed. SQLite ignores ``FOR UPDATE`` but
    takes its single write lock at the first flush, before ``_check_admin_remains`` counts.
    """
    db.session.execute(
        select(UserRole.user_id).join(User).where(UserRole.role == Role.ADMIN).with_for_update()
    ).all()


def _active_admin_count(exclude_user_id: int | None = None) -> int:
    query = (
        select(func.count())
        .select_from(UserRole)
        .join(User)
        .where(UserRole.role == Role.ADMIN, User.active.is_(True), User.confirmed_at.is_not(None))
    )
    if exclude_user_id is not None:
        query = query.where(User.id != exclude_user_id)
    return db.session.scalar(query) or 0


def _check_admin_remains() -> None:
    """After the change is flushed: refuse it if no active administrator is left."""
    db.session.flush()
    if _active_admin_count() == 0:
        raise LastAdminError("the change would leave no active administrator")


def _require_admin(actor: User | None) -> None:
    if actor is not None and not actor.has_role(Role.ADMIN):
        raise NotAdminError(f"user {actor.id} is not an administrator")


def create_admin(*, email: str, full_name: str, password: str) -> User:
    """Create a confirmed, active administrator from the command line, and commit.

    Raises ``ValueError`` with a plain message for a bad or taken e-mail, an empty name or a short password.
    """
    normalised = normalise_email(email)
    if normalised is None:
        raise ValueError(f"{email!r} is not a valid e-mail address.")
    full_name = clean_name(full_name)
    if not full_name:
        raise ValueError("The name must not be empty.")
    if len(full_name) > 120:
        raise ValueError("The name must be at most 120 characters.")
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise ValueError(f"The password must be at least {MIN_PASSWORD_LENGTH} characters.")
    if db.session.scalar(select(User.id).where(User.email == normalised)) is not None:
        raise ValueError(f"A user with the e-mail address {normalised} already exists.")
    user = User(email=normalised, full_name=full_name, password_hash=hash_password(password),
                confirmed_at=utcnow(), active=True)
    user.roles.append(UserRole(role=Role.ADMIN))
    db.session.add(user)
    db.session.flush()
    audit.record("user.create", "user", user.id, actor=None,
                 after={"email": normalised, "full_name": full_name, "roles": [Role.ADMIN.value], "via": "cli"})
    db.session.commit()
    return user


def set_roles(actor: User | None, user: User, roles: Iterable[Role | str], ip: str | None = None) -> bool:
    """Give ``user`` exactly ``roles``; returns False when nothing changed (no audit record then).

    Refuses (``StaffError``) when an administrator would remove their own admin role or the last
    active administrator would lose it.
    """
    _require_admin(actor)
    wanted = {Role(r) for r in roles}
    unknown = wanted - set(ASSIGNABLE_ROLES)
    if unknown:
        raise StaffError(f"roles cannot be assigned: {sorted(unknown)}")
    before = role_list(user)
    if set(before) == {r.value for r in wanted}:
        return False
    loses_admin = user.has_role(Role.ADMIN) and Role.ADMIN not in wanted
    was_counted = loses_admin and _counts_as_admin(user)
    if loses_admin:
        _lock_admin_rows()
        if was_counted and _active_admin_count(exclude_user_id=user.id) == 0:
            raise LastAdminError(f"user {user.id} is the last active administrator")
        if actor is not None and actor.id == user.id:
            raise SelfDemotionError(f"user {user.id} tried to remove their own admin role")
    for held in list(user.roles):
        if Role(held.role) not in wanted:
            user.roles.remove(held)
    for role in sorted(wanted - user.role_names):
        user.roles.append(UserRole(role=role))
    if was_counted:
        _check_admin_remains()
    audit.record("user.roles_change", "user", user.id, actor=actor, ip=ip,
                 before={"roles": before}, after={"roles": role_list(user)})
    return True


def set_active(actor: User | None, user: User, active: bool, ip: str | None = None) -> bool:
    """Deactivate (ending every session of the user) or reactivate an account; False when unchanged."""
    _require_admin(actor)
    if user.active == active:
        return False
    was_counted = not active and _counts_as_admin(user)
    if was_counted:
        _lock_admin_rows()
        if _active_admin_count(exclude_user_id=user.id) == 0:
            raise LastAdminError(f"user {user.id} is the last active administrator")
    if not active and actor is not None and actor.id == user.id:
        raise SelfDeactivationError(f"user {user.id} tried to deactivate themselves")
    user.active = active
    if not active:
        rotate_session_token(user)
    if was_counted:
        _check_admin_remains()
    audit.record("user.activate" if active else "user.deactivate", "user", user.id, actor=actor, ip=ip,
                 before={"active": not active}, after={"active": active})
    return True


def open_staff_invitations(email: str) -> list[Invitation]:
    """Staff invitations to ``email`` that can still be accepted."""
    candidates = db.session.scalars(
        select(Invitation).where(
            Invitation.kind == InvitationKind.STAFF,
            Invitation.email == email,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
    ).all()
    now = utcnow()
    return [invitation for invitation in candidates if invitation.is_open(now)]


def invite_staff(actor: User, email: str, roles: Iterable[Role | str],
                 ip: str | None = None) -> tuple[Invitation, str, list[Invitation]]:
    """Invite ``email`` to join the staff with ``roles`` (not committed).

    An open staff invitation to the same address is revoked first, so only the newest link works.
    Returns the invitation, the token for the link and the invitations it replaced.
    """
    _require_admin(actor)
    normalised = normalise_email(email)
    if normalised is None:
        raise StaffError(f"{email!r} is not a valid e-mail address")
    replaced = open_staff_invitations(normalised)
    for old in replaced:
        invitations.revoke(old, actor, ip=ip)
    invitation, token = invitations.invite_staff(actor, [Role(r) for r in roles], email=normalised, ip=ip)
    return invitation, token, replaced


def revoke_invitation(actor: User, invitation: Invitation, ip: str | None = None) -> bool:
    """Revoke a staff invitation; False when it was no longer open (accepted, revoked or expired)."""
    _require_admin(actor)
    if not invitation.is_open():
        return False
    invitations.revoke(invitation, actor, ip=ip)
    return True
