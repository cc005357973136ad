"""Bearer tokens for the integration endpoints: ``require_scope("catalogue:read")``.

A token-protected view reads ``Authorization: Bearer dxp_...`` and nothing else: a session cookie never
opens it (the API blueprint is exempt from CSRF, so a cookie must never be enough to change anything).
Answers follow RFC 6750: 401 with ``WWW-Authenticate: Bearer`` when the token is missing, unknown or
revoked; 403 with ``error="insufficient_scope"`` when it lacks the scope. Every request that presents a
known token, accepted or refused, is logged with its status (``ApiTokenUse``).

The access rule is ``TokenAccessRule`` (kind ``"token"``, with the scope), so the route matrix knows these
views need a token rather than a logged-in user.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from flask import current_app, g, make_response, request
from werkzeug.exceptions import HTTPException

from app.blueprints.api.errors import ApiError, error_response, from_api_error, http_error_response
from app.extensions import db, limiter
from app.models.api_token import ApiToken
from app.security import AccessRule
from app.services import api_tokens

REALM = "dxportal"


@dataclass(frozen=True)
class TokenAccessRule(AccessRule):
    """An API token holding ``scope``; users' sessions and roles play no part."""

    scope: str = ""


def _bearer() -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


def _unauthorized(presented: bool, message: str):
    challenge = f'Bearer realm="{REALM}"' + (', error="invalid_token"' if presented else "")
    return error_response(401, message, error="unauthorized", headers={"WWW-Authenticate": challenge})


def _forbidden(scope: str):
    return error_response(
        403, f"This token does not have the scope {scope!r}. Ask the portal's administrators for a token with it.",
        error="forbidden",
        headers={"WWW-Authenticate": f'Bearer realm="{REALM}", error="insufficient_scope", scope="{scope}"'},
    )


def current_token() -> ApiToken:
    """The token of the request being served (inside a ``require_scope`` view)."""
    return g.api_token


def _token_limit() -> str:
    """Per token, read on every request like the other API limits."""
    return current_app.config.get("RATELIMIT_API_TOKEN", "300 per minute")


def _token_key() -> str:
    token = g.get("api_token")
    return f"token-{token.id}" if token is not None else (request.remote_addr or "unknown")


def _log(token_id: int, status: int) -> None:
    """Commit the use in its own transaction, after whatever the view committed or rolled back."""
    api_tokens.record_use(token_id, method=request.method, path=request.path, status=status,
                          ip=request.remote_addr)
    db.session.commit()


def _respond(view: Callable, args, kwargs):
    """The view's answer as a response, API errors included, so its status can be logged."""
    try:
        return make_response(view(*args, **kwargs))
    except ApiError as exc:
        db.session.rollback()
        return from_api_error(exc)
    except HTTPException as exc:
        db.session.rollback()
        return http_error_response(exc)


def require_scope(scope: str) -> Callable[[Callable], Callable]:
    """Only requests carrying an active token with ``scope``; each of them is logged."""
    if scope not in api_tokens.SCOPES:
        raise ValueError(f"unknown scope {scope!r}")

    def decorator(view: Callable) -> Callable:
        limited = limiter.limit(_token_limit, key_func=_token_key, scope="api-token")(view)

        @wraps(view)
        def wrapped(*args, **kwargs):
            secret = _bearer()
            if secret is None:
                return _unauthorized(False, "Send an API token in the header Authorization: Bearer dxp_...")
            token = api_tokens.find(secret)
            if token is None:
                return _unauthorized(True, "The API token is not valid.")
            token_id = token.id
            if not token.is_active:
                _log(token_id, 401)
                return _unauthorized(True, "The API token has been revoked.")
            if not api_tokens.has_scope(token, scope):
                _log(token_id, 403)
                return _forbidden(scope)
            g.api_token = token
            try:
                response = _respond(limited, args, kwargs)
            except Exception:
                db.session.rollback()
                _log(token_id, 500)
                raise
            _log(token_id, response.status_code)
            response.headers.setdefault("Cache-Control", "no-store")
            return response

        wrapped.access_rule = TokenAccessRule("token", scope=scope)
        wrapped.required_scope = scope
        return wrapped

    return decorator
