"""Open data: the public page that explains the anonymised statistics, and their JSON and CSV downloads."""

from flask import Blueprint

bp = Blueprint("opendata", __name__)

from app.blueprints.opendata import routes  # noqa: E402,F401
