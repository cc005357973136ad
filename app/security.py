"""Access rules for views and the security headers on every response.

Every view declares who may reach it with one of ``public``, ``login_required`` or
``roles_required``; the route matrix test fails for a view that declares nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from urllib.parse import urlsplit

from flask import abort, current_app, jsonify, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.models.user import Role


@dataclass(frozen=True)
class AccessRule:
    """Who may reach a view: everyone, any logged-in user, or holders of one of ``roles``."""

    kind: str  # "public" | "login" | "roles"
    roles: frozenset[Role] = frozenset()


def wants_json() -> bool:
    """API calls and clients that prefer JSON get JSON errors instead of pages."""
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def _mark(view: Callable, rule: AccessRule) -> Callable:
    view.access_rule = rule
    return view


def public(view: Callable) -> Callable:
    """Anyone, logged in or not."""
    return _mark(view, AccessRule("public"))


def _deny_anonymous():
    if wants_json():
        response = jsonify(error="unauthorized", message=_("Please log in."))
        response.status_code = 401
        return response
    return current_app.login_manager.unauthorized()


def login_required(view: Callable) -> Callable:
    """Any logged-in, active user; anonymous visitors go to the login page (401 for API calls)."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return _deny_anonymous()
        return view(*args, **kwargs)

    return _mark(wrapped, AccessRule("login"))


def roles_required(*roles: Role) -> Callable[[Callable], Callable]:
    """Users holding at least one of ``roles``; others get 403 (JSON for API calls)."""
    allowed = frozenset(Role(r) for r in roles)

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return _deny_anonymous()
            if not current_user.has_role(*allowed):
                abort(403)
            return view(*args, **kwargs)

        return _mark(wrapped, AccessRule("roles", allowed))

    return decorator


def staff_required(view: Callable) -> Callable:
    """Any department staff member (reviewer, approver or admin)."""
    return roles_required(*Role.staff())(view)


def safe_next_url(target: str | None, fallback: str = "main.index") -> str:
    """Only relative paths on this site; anything else (other hosts, ``//``, schemes) goes to fallback."""
    if target:
        parts = urlsplit(target)
        if (
            not parts.scheme
            and not parts.netloc
            and target.startswith("/")
            and not target.startswith("//")
            and "\\" not in target
        ):
            return target
    return url_for(fallback)


CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def apply_security_headers(response):
    """CSP without inline script, no framing, no sniffing, a strict referrer; HSTS in production."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if current_app.config.get("ENV_NAME") == "production":
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if current_user and getattr(current_user, "is_authenticated", False):
        headers.setdefault("Cache-Control", "no-store")
    return response
