"""The in-app notifications: the feed behind the bell, marking read, and each person's channel settings."""

from flask import Blueprint

bp = Blueprint("notifications", __name__)

from app.blueprints.notifications import routes  # noqa: E402,F401
