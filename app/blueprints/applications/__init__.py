"""Support applications seen by the business: apply, documents, send, follow, comment, rate the partner."""

from flask import Blueprint

bp = Blueprint("applications", __name__)

from app.blueprints.applications import routes  # noqa: E402,F401
