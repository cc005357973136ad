"""Accounts: looking users up by login, loading them for Flask-Login, rotating sessions."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db, login_manager
from app.models.user import User, new_session_token
from app.services.identifiers import parse_login


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
    user_id, _, token = (login_id or "").partition(":")
    if not user_id.isdigit() or not token:
        return None
    user = db.session.get(User, int(user_id))
    if user is None or user.session_token != token or not user.is_active:
        return None
    return user


def rotate_session_token(user: User) -> None:
    """End every session of this user (the caller logs the current one in again if it should stay)."""
    user.session_token = new_session_token()
