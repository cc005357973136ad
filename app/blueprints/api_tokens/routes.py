"""API tokens, for administrators: the list, a new token (its secret shown on one page, once), a token's
usage log, and revoking a token after a confirmation."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import selectinload

from app.blueprints.api_tokens import bp
from app.blueprints.api_tokens.forms import RevokeForm, TokenForm
from app.extensions import db
from app.models.api_token import ApiToken
from app.models.user import Role, User
from app.security import roles_required
from app.services import api_tokens

PER_PAGE = 25
#: Deeper pages are never useful and a huge OFFSET only costs the database.
MAX_PAGE = 10_000


def _page() -> int:
    """The ``page`` query argument, clamped to 1..MAX_PAGE (anything unreadable is page 1)."""
    return min(max(request.args.get("page", 1, type=int), 1), MAX_PAGE)


def _paginate(query):
    return db.paginate(query, page=_page(), per_page=PER_PAGE, max_per_page=PER_PAGE, error_out=False)


def _actor() -> User:
    return current_user._get_current_object()


def _token(token_id: int) -> ApiToken:
    token = db.session.get(ApiToken, token_id)
    if token is None:
        abort(404)
    return token


def _render(template: str, status: int = 200, **context):
    return render_template(f"api_tokens/{template}", scope_labels=api_tokens.SCOPE_LABELS, **context), status


@bp.route("/")
@roles_required(Role.ADMIN)
def index():
    """Every token: its system, prefix, scopes, when it was last used, whether it is revoked."""
    query = api_tokens.tokens_query().options(selectinload(ApiToken.created_by), selectinload(ApiToken.revoked_by))
    return _render("index.html", pagination=_paginate(query))


@bp.route("/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def new():
    """Create a token; the answer is the only page that ever shows its secret."""
    form = TokenForm()
    if not form.validate_on_submit():
        return _render("new.html", form=form, status=400 if form.is_submitted() else 200)
    token, secret = api_tokens.create(_actor(), form.name.data, form.scopes.data, ip=request.remote_addr)
    db.session.commit()
    # Rendered here, not after a redirect: the secret is never put in the session or a URL.
    return _render("created.html", token=token, secret=secret)


@bp.route("/<int:token_id>")
@roles_required(Role.ADMIN)
def detail(token_id: int):
    """One token and every request made with it, newest first."""
    token = _token(token_id)
    return _render("detail.html", token=token, uses=_paginate(api_tokens.uses_query(token)))


@bp.route("/<int:token_id>/revoke", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def revoke(token_id: int):
    """Ask for confirmation, then refuse the token from now on."""
    token = _token(token_id)
    form = RevokeForm()
    if not form.validate_on_submit():
        return _render("revoke.html", token=token, form=form, status=400 if form.is_submitted() else 200)
    if api_tokens.revoke(_actor(), token, ip=request.remote_addr):
        db.session.commit()
        flash(_("The token of %(name)s was revoked. Requests made with it are now refused.", name=token.name),
              "success")
    else:
        flash(_("This token was already revoked."), "info")
    return redirect(url_for("api_tokens.detail", token_id=token.id), 303)
