"""Accounts: registration, confirmation, login, password reset and change, sessions, invitations.

Plain Python: callers pass the IP address and the acting user; nothing here reads ``request``.
Functions that change data do not commit: the view commits, and the messages queued with
``messaging.send_after_commit`` leave only then.

Two rules shape this module. It never reveals whether a login is registered: registration,
resending a confirmation and requesting a reset give the same answer and (for registration) do the
same work either way. And a session is bound to ``user.session_token``: rotating it ends every
session and remember-me cookie of the user at once.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import unicodedata
from dataclasses import dataclass

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import or_, select

from app.extensions import db, login_manager
from app.models.invitation import Invitation, InvitationKind
from app.models.types import utcnow
from app.models.user import Role, User, UserRole, new_session_token
from app.services import audit, invitations, passwords
from app.services.identifiers import parse_login
from app.services.messaging import portal_url, send_after_commit

login_manager.login_message = _l("Please log in to see this page.")
login_manager.login_message_category = "info"
#: Translate the message when it is flashed, in the visitor's language (the session stores a plain string).
login_manager.localize_callback = str

_CONFIRM_SALT = "dxportal.account-confirm"
_RESET_SALT = "dxportal.password-reset"


# Looking users up ------------------------------------------------------------------------------


def find_user_by_login(raw_login: str) -> User | None:
    """The user whose e-mail or mobile number matches what was typed, or None."""
    parsed = parse_login(raw_login)
    if parsed is None:
        return None
    kind, value = parsed
    column = User.email if kind == "email" else User.phone
    return db.session.scalar(select(User).where(column == value))


@login_manager.user_loader
def load_user(login_id: str) -> User | None:
    """Load from ``"<id>:<session token>"``; a rotated token means the session has ended."""
    user_id, _sep, token = (login_id or "").partition(":")
    if not user_id.isdigit() or not token:
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not hmac.compare_digest(user.session_token.encode(), token.encode()) or not user.is_active:
        return None
    return user


def rotate_session_token(user: User) -> None:
    """End every session of this user (the caller logs the current one in again if it should stay)."""
    user.session_token = new_session_token()


def clean_name(raw: str | None) -> str:
    """A display name as typed, in NFC, with runs of whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFC", raw or "").split())


def password_matches_login(password: str, *logins: str | None) -> bool:
    """True when the password is one of the logins, in any spelling (``+84 912…`` is ``0912…``)."""
    typed = (password or "").strip().lower()
    parsed_password = parse_login(password or "")
    for login in logins:
        if not login:
            continue
        if typed == login.strip().lower():
            return True
        if parsed_password is not None and parsed_password == parse_login(login):
            return True
    return False


# Signed links ----------------------------------------------------------------------------------


class LinkProblem(enum.StrEnum):
    """Why a link from a message cannot be used."""

    EXPIRED = "expired"
    INVALID = "invalid"


class LinkError(ValueError):
    """The link is expired, tampered with, or no longer valid for the account."""

    def __init__(self, problem: LinkProblem):
        super().__init__(problem.value)
        self.problem = problem


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def _fingerprint(user: User) -> str:
    """Changes whenever the password or the session token changes, which kills older links."""
    material = f"{user.id}|{user.password_hash}|{user.session_token}".encode()
    return hmac.new(current_app.config["SECRET_KEY"].encode(), material, hashlib.sha256).hexdigest()[:32]


def _make_token(user: User, salt: str) -> str:
    return _serializer(salt).dumps({"u": user.id, "f": _fingerprint(user)})


def _user_from_token(token: str, salt: str, max_age: int) -> User:
    try:
        payload = _serializer(salt).loads(token, max_age=max_age)
    except SignatureExpired as error:
        raise LinkError(LinkProblem.EXPIRED) from error
    except BadSignature as error:
        raise LinkError(LinkProblem.INVALID) from error
    if not isinstance(payload, dict) or not isinstance(payload.get("u"), int):
        raise LinkError(LinkProblem.INVALID)
    user = db.session.get(User, payload["u"])
    if user is None or not user.active:
        raise LinkError(LinkProblem.INVALID)
    if not hmac.compare_digest(str(payload.get("f")).encode(), _fingerprint(user).encode()):
        raise LinkError(LinkProblem.INVALID)
    return user


def confirmation_token(user: User) -> str:
    """The token of the "confirm your account" link; dies when the pending password changes."""
    return _make_token(user, _CONFIRM_SALT)


def reset_token(user: User) -> str:
    """The token of a password-reset link: single-use, because using it changes the fingerprint."""
    return _make_token(user, _RESET_SALT)


def user_for_reset_token(token: str) -> User:
    """The account a reset link belongs to; raises ``LinkError`` when it is expired, used or forged."""
    return _user_from_token(token, _RESET_SALT, current_app.config["PASSWORD_RESET_MAX_AGE"])


# Messages --------------------------------------------------------------------------------------


def _hours(seconds: int) -> int:
    return max(1, round(seconds / 3600))


def _queue(user: User, subject: str, body: str) -> None:
    send_after_commit(subject=subject, body=body, email=user.email, phone=user.phone)


def _queue_confirmation(user: User) -> None:
    link = portal_url("auth.confirm", token=confirmation_token(user))
    with force_locale(user.locale):
        subject = _("Confirm your %(portal)s account", portal=current_app.config["PORTAL_NAME"])
        body = _(
            "Hello %(name)s, open this link to confirm your %(portal)s account: %(link)s\n"
            "The link works for %(hours)s hours. If you did not register, ignore this message.",
            name=user.full_name, portal=current_app.config["PORTAL_NAME"], link=link,
            hours=_hours(current_app.config["ACCOUNT_CONFIRM_MAX_AGE"]),
        )
    _queue(user, subject, body)


def _queue_already_registered(user: User) -> None:
    with force_locale(user.locale):
        subject = _("Someone tried to register with your address")
        body = _(
            "Hello %(name)s, someone (perhaps you) tried to register a new %(portal)s account with "
            "this address, which already has an account. Log in: %(login_link)s\n"
            "Forgot your password? Set a new one: %(reset_link)s\n"
            "If it was not you, you can ignore this message.",
            name=user.full_name, portal=current_app.config["PORTAL_NAME"],
            login_link=portal_url("auth.login"), reset_link=portal_url("auth.reset_request"),
        )
    _queue(user, subject, body)


def _queue_reset_link(user: User) -> None:
    link = portal_url("auth.reset_password", token=reset_token(user))
    with force_locale(user.locale):
        subject = _("Set a new password for %(portal)s", portal=current_app.config["PORTAL_NAME"])
        body = _(
            "Hello %(name)s, open this link to set a new password: %(link)s\n"
            "The link works once, for %(minutes)s minutes. If you did not ask for it, ignore this "
            "message: your password stays the same.",
            name=user.full_name, link=link,
            minutes=max(1, current_app.config["PASSWORD_RESET_MAX_AGE"] // 60),
        )
    _queue(user, subject, body)


def _queue_password_changed(user: User) -> None:
    with force_locale(user.locale):
        subject = _("Your %(portal)s password was changed", portal=current_app.config["PORTAL_NAME"])
        body = _(
            "Hello %(name)s, the password of your %(portal)s account was just changed and all other "
            "sessions were logged out. If it was not you, set a new password now: %(link)s",
            name=user.full_name, portal=current_app.config["PORTAL_NAME"],
            link=portal_url("auth.reset_request"),
        )
    _queue(user, subject, body)


# Registration and confirmation -----------------------------------------------------------------


class RegistrationOutcome(enum.StrEnum):
    """What registration did; never shown to the visitor (they all get the same answer)."""

    CREATED = "created"
    RENEWED = "renewed"
    ALREADY_REGISTERED = "already_registered"
    IGNORED = "ignored"


def register(*, full_name: str, raw_login: str, password: str, locale: str,
             ip: str | None = None) -> RegistrationOutcome:
    """Register a business owner, or message the owner of an existing account instead.

    - new login: an unconfirmed account with the ``business`` role and a confirmation link;
    - an unconfirmed account with that login: its pending name and password are replaced and a new
      link is sent (links sent earlier die), so whoever owns the address decides the password;
    - a confirmed account: its owner gets a notice, nothing changes;
    - a deactivated account: nothing happens.
    The password is hashed in every case so the answer takes the same time.
    """
    parsed = parse_login(raw_login)
    if parsed is None:
        raise ValueError("not an e-mail address or mobile number")
    kind, value = parsed
    password_hash = passwords.hash_password(password)
    name = clean_name(full_name)
    user = find_user_by_login(value)
    if user is None:
        user = User(full_name=name, password_hash=password_hash, locale=locale,
                    email=value if kind == "email" else None, phone=value if kind == "phone" else None)
        user.roles.append(UserRole(role=Role.BUSINESS))
        db.session.add(user)
        db.session.flush()
        audit.record("user.register", "user", user.id, actor=user, ip=ip,
                     after={"login": value, "full_name": name, "locale": locale, "roles": ["business"]})
        _queue_confirmation(user)
        return RegistrationOutcome.CREATED
    if not user.active:
        return RegistrationOutcome.IGNORED
    if user.confirmed_at is None:
        before = audit.snapshot(user, ["full_name", "locale"])
        user.full_name, user.password_hash, user.locale = name, password_hash, locale
        rotate_session_token(user)
        audit.record("user.register_renew", "user", user.id, actor=None, ip=ip,
                     before=before, after=audit.snapshot(user, ["full_name", "locale"]))
        _queue_confirmation(user)
        return RegistrationOutcome.RENEWED
    _queue_already_registered(user)
    return RegistrationOutcome.ALREADY_REGISTERED


class ConfirmOutcome(enum.StrEnum):
    CONFIRMED = "confirmed"
    ALREADY_CONFIRMED = "already_confirmed"


def confirm_account(token: str, ip: str | None = None) -> tuple[User, ConfirmOutcome]:
    """Activate the account of a confirmation link; a second click finds it already confirmed."""
    user = _user_from_token(token, _CONFIRM_SALT, current_app.config["ACCOUNT_CONFIRM_MAX_AGE"])
    if user.confirmed_at is not None:
        return user, ConfirmOutcome.ALREADY_CONFIRMED
    user.confirmed_at = utcnow()
    audit.record("user.confirm", "user", user.id, actor=user, ip=ip, after={"confirmed_at": user.confirmed_at})
    return user, ConfirmOutcome.CONFIRMED


def resend_confirmation(raw_login: str) -> bool:
    """Send a new confirmation link when the login belongs to an unconfirmed, active account."""
    user = find_user_by_login(raw_login)
    if user is None or not user.active or user.confirmed_at is not None:
        return False
    _queue_confirmation(user)
    return True


# Logging in ------------------------------------------------------------------------------------


class LoginProblem(enum.StrEnum):
    """Why a login attempt failed. Only ``UNCONFIRMED`` is told apart, after a correct password."""

    BAD_CREDENTIALS = "bad_credentials"
    UNCONFIRMED = "unconfirmed"


@dataclass
class LoginAttempt:
    user: User | None
    problem: LoginProblem | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def authenticate(raw_login: str, password: str) -> LoginAttempt:
    """Check a login and password; unknown logins cost one hash too, so timing tells nothing."""
    user = find_user_by_login(raw_login)
    valid = passwords.verify_password(user.password_hash if user else None, password)
    if user is None or not valid or not user.active:
        return LoginAttempt(None, LoginProblem.BAD_CREDENTIALS)
    if user.confirmed_at is None:
        return LoginAttempt(user, LoginProblem.UNCONFIRMED)
    return LoginAttempt(user, None)


def record_login(user: User, password: str, ip: str | None = None) -> None:
    """Note the login, and upgrade the password hash when the argon2 cost has gone up."""
    user.last_login_at = utcnow()
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    audit.record("user.login", "user", user.id, actor=user, ip=ip)


# Passwords and sessions ------------------------------------------------------------------------


def request_password_reset(raw_login: str) -> bool:
    """Send a reset link when the login belongs to an active account; the caller answers the same."""
    user = find_user_by_login(raw_login)
    if user is None or not user.active:
        return False
    _queue_reset_link(user)
    return True


def _set_password(user: User, new_password: str) -> None:
    user.password_hash = passwords.hash_password(new_password)
    rotate_session_token(user)
    _queue_password_changed(user)


def reset_password(user: User, new_password: str, ip: str | None = None) -> None:
    """Set the password from a reset link: ends every session; the link proves the address too."""
    _set_password(user, new_password)
    after = {"sessions": "ended"}
    if user.confirmed_at is None:
        user.confirmed_at = utcnow()
        after["confirmed_at"] = user.confirmed_at
    audit.record("user.password_reset", "user", user.id, actor=user, ip=ip, after=after)


def change_password(user: User, current_password: str, new_password: str, ip: str | None = None) -> bool:
    """Change the password when ``current_password`` is right; ends every session of the user."""
    if not passwords.verify_password(user.password_hash, current_password):
        return False
    _set_password(user, new_password)
    audit.record("user.password_change", "user", user.id, actor=user, ip=ip, after={"sessions": "ended"})
    return True


def log_out_everywhere(user: User, ip: str | None = None) -> None:
    """End every session and remember-me cookie (the caller logs the current session in again)."""
    rotate_session_token(user)
    audit.record("user.sessions_end", "user", user.id, actor=user, ip=ip, after={"sessions": "ended"})


def update_profile(user: User, *, full_name: str, locale: str, ip: str | None = None) -> bool:
    """Change the display name and language; returns False when nothing changed."""
    fields = ["full_name", "locale"]
    before = audit.snapshot(user, fields)
    user.full_name = clean_name(full_name)
    user.locale = locale
    changed_before, changed_after = audit.changed_fields(before, audit.snapshot(user, fields))
    if not changed_after:
        return False
    audit.record("user.profile_update", "user", user.id, actor=user, ip=ip,
                 before=changed_before, after=changed_after)
    return True


# Invitations -----------------------------------------------------------------------------------


class InvitationSignupError(ValueError):
    """An account already exists for the invited address: its owner should log in to accept."""


def register_from_invitation(invitation: Invitation, *, full_name: str, password: str, locale: str,
                             ip: str | None = None) -> User:
    """Create the invited person's account, confirmed (the link proves the address), and accept.

    An unconfirmed account with that address is taken over instead of duplicated: it was never
    used, and whoever holds the invitation owns the address. The account gets only what the
    invitation grants (no ``business`` role for staff).
    """
    conditions = []
    if invitation.email:
        conditions.append(User.email == invitation.email)
    if invitation.phone:
        conditions.append(User.phone == invitation.phone)
    existing = list(db.session.scalars(select(User).where(or_(*conditions)))) if conditions else []
    if len(existing) > 1 or (existing and (existing[0].confirmed_at is not None or not existing[0].active)):
        raise InvitationSignupError("an account with this address already exists")
    name = clean_name(full_name)
    if existing:
        user = existing[0]
        user.full_name, user.locale = name, locale
        user.password_hash = passwords.hash_password(password)
        user.roles.clear()
        db.session.flush()
        if invitation.email and not user.email:
            user.email = invitation.email
        if invitation.phone and not user.phone:
            user.phone = invitation.phone
        rotate_session_token(user)
    else:
        user = User(full_name=name, email=invitation.email, phone=invitation.phone, locale=locale,
                    password_hash=passwords.hash_password(password))
        db.session.add(user)
    user.confirmed_at = utcnow()
    db.session.flush()
    audit.record("user.register", "user", user.id, actor=user, ip=ip,
                 after={"login": user.login_name, "full_name": name, "locale": locale,
                        "via": f"invitation:{invitation.id}",
                        "took_over_unconfirmed": bool(existing)})
    invitations.accept(invitation, user, ip=ip)
    return user


def invitation_offer(invitation: Invitation) -> dict:
    """What the invitation grants, for the page that asks to accept it."""
    if invitation.kind is InvitationKind.STAFF:
        return {"kind": "staff", "roles": [Role(r) for r in invitation.roles]}
    return {"kind": "member", "organisation": invitation.organisation, "member_role": invitation.member_role}
