"""Printed documents: the action plan's PDF (prepared as a job, then downloaded) and decision letters."""

from flask import Blueprint

bp = Blueprint("printing", __name__)

from app.blueprints.printing import routes  # noqa: E402,F401
