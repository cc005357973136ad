"""Placeholder routes, replaced by the accounts work."""

from app.blueprints.auth import bp
from app.security import login_required, public


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    return "login"


@bp.route("/register", methods=["GET", "POST"])
@public
def register():
    return "register"


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    return "logout"


@bp.route("/account")
@login_required
def account():
    return "account"
