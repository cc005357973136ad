"""The JSON API, version 1, mounted at ``/api/v1`` and described by ``/api/v1/openapi.json``.

CSRF protection is off for this blueprint: it reads JSON bodies and no view here acts on a session
cookie. An API view that ever changes state must authenticate by token (a header), never by cookie.
"""

from flask import Blueprint

from app.extensions import csrf

bp = Blueprint("api", __name__)
csrf.exempt(bp)

from app.blueprints.api import integrations, routes  # noqa: E402,F401
