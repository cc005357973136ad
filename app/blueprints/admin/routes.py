"""Placeholder routes, replaced by the admin work."""

from app.blueprints.admin import bp
from app.models.user import Role
from app.security import roles_required, staff_required


@bp.route("/users")
@roles_required(Role.ADMIN)
def users():
    return "users"


@bp.route("/organisations")
@staff_required
def organisations():
    return "orgs"
