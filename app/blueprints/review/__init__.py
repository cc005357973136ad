"""The staff review blueprint: the queue of support applications, its CSV export and the review page."""

from flask import Blueprint

bp = Blueprint("review", __name__)

from app.blueprints.review import routes  # noqa: E402,F401
