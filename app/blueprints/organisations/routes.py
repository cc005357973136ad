"""Placeholder routes, replaced by the organisations work."""

from app.blueprints.organisations import bp
from app.security import login_required


@bp.route("/")
@login_required
def list_mine():
    return "list"


@bp.route("/new")
@login_required
def create():
    return "new"


@bp.route("/<int:org_id>")
@login_required
def detail(org_id: int):
    return "detail"
