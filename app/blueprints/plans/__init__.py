"""The action plan pages: targets, the roadmap by phase, progress, and editing items."""

from flask import Blueprint

bp = Blueprint("plans", __name__)

from app.blueprints.plans import routes  # noqa: E402,F401
