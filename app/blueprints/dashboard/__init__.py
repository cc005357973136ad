"""The department's dashboard: progress of the province's businesses and use of support money (staff only)."""

from flask import Blueprint

bp = Blueprint("dashboard", __name__)

from app.blueprints.dashboard import routes  # noqa: E402,F401
