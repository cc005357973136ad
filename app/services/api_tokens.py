"""API tokens: create (the secret is returned once), find by secret, revoke, and log each use.

A secret is ``dxp_`` followed by ``secrets.token_urlsafe(32)`` (256 random bits). Only its SHA-256 is
stored (see app/models/api_token.py for why a fast hash is right for such a secret). A presented token is
found by its prefix, then its hash is compared with ``hmac.compare_digest``, so the comparison takes the
same time however many characters match. Creation and revocation are audited in the caller's transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from app.extensions import db
from app.models.api_token import ApiToken, ApiTokenUse
from app.models.types import utcnow
from app.models.user import User
from app.services import audit

TOKEN_PREFIX = "dxp_"  # noqa: S105  (a marker, not a secret)
#: ``dxp_`` and the first 8 random characters: enough to tell tokens apart on the admin page.
PREFIX_LENGTH = len(TOKEN_PREFIX) + 8
#: ``token_urlsafe(32)`` gives 43 characters of the URL-safe base64 alphabet.
TOKEN_RE = re.compile(r"dxp_[A-Za-z0-9_-]{43}")
MAX_NAME_LENGTH = 120

CATALOGUE_READ = "catalogue:read"
OPENDATA_READ = "opendata:read"
APPLICATIONS_READ = "applications:read"
CATALOGUE_WRITE = "catalogue:write"
#: Every scope, in the order the admin form lists them.
SCOPES = (CATALOGUE_READ, OPENDATA_READ, APPLICATIONS_READ, CATALOGUE_WRITE)
SCOPE_LABELS = {
    CATALOGUE_READ: _l("Read the catalogue of programmes and partners"),
    OPENDATA_READ: _l("Read the open data (aggregated statistics)"),
    APPLICATIONS_READ: _l("Read support applications (no personal data)"),
    CATALOGUE_WRITE: _l("Import the catalogue (create and change programmes and partners)"),
}


class TokenError(ValueError):
    """A token cannot be created as asked (no name, unknown scope...)."""


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_secret() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def create(actor: User, name: str, scopes: Iterable[str], *, ip: str | None = None) -> tuple[ApiToken, str]:
    """A new token for the system ``name`` and its secret, which exists nowhere else: show it once.

    Not committed; the ``api_token.create`` audit event (without the secret) joins the transaction.
    """
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        raise TokenError(f"the name must be 1 to {MAX_NAME_LENGTH} characters")
    wanted = set(scopes)
    unknown = wanted - set(SCOPES)
    if unknown or not wanted:
        raise TokenError(f"scopes must be some of {', '.join(SCOPES)}")
    secret = new_secret()
    token = ApiToken(name=name, prefix=secret[:PREFIX_LENGTH], token_hash=hash_secret(secret),
                     scopes=[scope for scope in SCOPES if scope in wanted], created_by_id=actor.id)
    db.session.add(token)
    db.session.flush()
    audit.record("api_token.create", "api_token", token.id, actor=actor, ip=ip,
                 after={"name": token.name, "prefix": token.prefix, "scopes": token.scopes})
    return token, secret


def find(secret: str | None) -> ApiToken | None:
    """The token (active or revoked) whose secret this is, or None."""
    if not secret or not TOKEN_RE.fullmatch(secret):
        return None
    digest = hash_secret(secret)
    for token in db.session.scalars(select(ApiToken).where(ApiToken.prefix == secret[:PREFIX_LENGTH])):
        if hmac.compare_digest(token.token_hash, digest):
            return token
    return None


def has_scope(token: ApiToken, scope: str) -> bool:
    return token.is_active and scope in (token.scopes or [])


def revoke(actor: User, token: ApiToken, *, ip: str | None = None) -> bool:
    """Refuse the token from now on; False if it was already revoked. Not committed; audited."""
    if token.revoked_at is not None:
        return False
    token.revoked_at = utcnow()
    token.revoked_by_id = actor.id
    audit.record("api_token.revoke", "api_token", token.id, actor=actor, ip=ip,
                 before={"revoked_at": None},
                 after={"name": token.name, "prefix": token.prefix, "revoked_at": token.revoked_at})
    return True


def record_use(token_id: int, *, method: str, path: str, status: int, ip: str | None) -> ApiTokenUse:
    """Log one request made with the token and mark it used now. Not committed.

    ``last_used_at`` is set with one UPDATE statement (no read first), so concurrent requests of the same
    system do not trip over each other's copy of the row.
    """
    now = utcnow()
    use = ApiTokenUse(token_id=token_id, used_at=now, method=method[:8], path=path[:255], status=status,
                      ip=ip[:45] if ip else None)
    db.session.add(use)
    db.session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now)
                       .execution_options(synchronize_session=False))
    return use


def uses_query(token: ApiToken):
    """The token's uses, newest first (for a paginated page)."""
    return select(ApiTokenUse).where(ApiTokenUse.token_id == token.id).order_by(
        ApiTokenUse.used_at.desc(), ApiTokenUse.id.desc())


def tokens_query():
    """Every token, active ones first, newest first."""
    return select(ApiToken).order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc(),
                                     ApiToken.id.desc())
