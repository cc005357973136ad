"""The catalogue blueprint: public catalogue pages, staff management, partner self-service."""

from flask import Blueprint

bp = Blueprint("catalogue", __name__)

from app.blueprints.catalogue import routes  # noqa: E402,F401
