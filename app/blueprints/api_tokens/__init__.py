"""Admin pages for the API tokens of other systems, mounted at ``/admin/api-tokens``."""

from flask import Blueprint

bp = Blueprint("api_tokens", __name__)

from app.blueprints.api_tokens import routes  # noqa: E402,F401
