"""The recommendations page: support programmes and IT partners for an organisation, with reasons."""

from flask import Blueprint

bp = Blueprint("recommendations", __name__)

from app.blueprints.recommendations import routes  # noqa: E402,F401
