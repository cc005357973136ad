"""The organisations blueprint."""

from flask import Blueprint

bp = Blueprint("organisations", __name__)

from app.blueprints.organisations import routes  # noqa: E402,F401
