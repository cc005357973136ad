"""Translated error pages (HTML) and JSON errors for API clients."""

from flask import Flask, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from app.blueprints.api.errors import API_PREFIX, error_response, http_error_response
from app.extensions import db
from app.security import wants_json

ERROR_TEXTS = {
    400: (_l("Bad request"), _l("The request could not be understood. Please go back and try again.")),
    401: (_l("Please log in"), _l("You need to log in to see this page.")),
    403: (_l("Access denied"), _l("Your account does not have permission to open this page.")),
    404: (_l("Page not found"), _l("The page you asked for does not exist or has been moved.")),
    405: (_l("Not allowed"), _l("This action is not allowed here.")),
    413: (_l("File too large"), _l("The file you sent is larger than the portal accepts.")),
    429: (_l("Too many attempts"), _l("You have tried too many times. Please wait a few minutes and try again.")),
    500: (_l("Something went wrong"), _l("An unexpected error occurred. It has been logged; please try again later.")),
}
CSRF_TEXT = _l("Your form expired or was sent from another site. Please reload the page and try again.")


def _render(code: int, message=None):
    title, default_message = ERROR_TEXTS.get(code, ERROR_TEXTS[500] if code >= 500 else ERROR_TEXTS[400])
    message = message or default_message
    if request.path.startswith(API_PREFIX):
        return error_response(code)
    if wants_json():
        return jsonify(error=code, title=str(title), message=str(message)), code
    return render_template("errors/error.html", code=code, title=title, message=message), code


def register(app: Flask) -> None:
    """Register the handlers for HTTP errors, CSRF failures and unexpected exceptions."""

    @app.errorhandler(CSRFError)
    def handle_csrf(_error):
        return _render(400, CSRF_TEXT)

    @app.errorhandler(HTTPException)
    def handle_http(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        if request.path.startswith(API_PREFIX):
            return http_error_response(error)
        return _render(error.code)

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        db.session.rollback()
        app.logger.exception("Unhandled error", exc_info=error)
        if app.testing and app.config.get("PROPAGATE_TEST_ERRORS", True):
            raise error
        return _render(500)

    @app.errorhandler(InternalServerError)
    def handle_500(_error):
        db.session.rollback()
        return _render(500)
