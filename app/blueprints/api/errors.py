"""One error body for every response of the API, documented as ``Error`` in the OpenAPI document.

``{"error": "<code>", "title": "<HTTP reason>", "message": "<sentence>", "fields": {"<field>": "<problem>"}}``:
``error`` is a stable machine-readable code, ``fields`` (only when fields are at fault) names each bad field,
answers as ``answers.<question id>``. Texts are English whatever the interface language, so that clients
and logs see the same words; the portal's translated error pages are for people.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import Response, jsonify
from flask_limiter.errors import RateLimitExceeded
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

#: Path prefix under which every error is answered with this schema (app/blueprints/main/errors.py asks).
API_PREFIX = "/api/"

#: The ``error`` code for each status; 400 and 422 carry a more precise code where the view knows one.
ERROR_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    422: "invalid_request",
    429: "rate_limited",
    500: "server_error",
}

DEFAULT_MESSAGES = {
    400: "The request could not be understood.",
    401: "Please log in.",
    403: "You do not have permission to use this endpoint.",
    404: "There is no such endpoint or resource. The endpoints are listed at /api/v1/openapi.json.",
    405: "This endpoint does not accept that method.",
    413: "The request body is too large.",
    422: "Some fields are invalid.",
    429: "Too many requests. Please wait a minute and try again.",
    500: "An unexpected error occurred. It has been logged; please try again later.",
}


class ApiError(Exception):
    """Raised by API views and helpers; the blueprint turns it into an error response."""

    def __init__(self, status: int, message: str | None = None, *, error: str | None = None,
                 fields: Mapping[str, str] | None = None):
        self.status = status
        self.message = message
        self.error = error
        self.fields = dict(fields) if fields else None
        super().__init__(message or DEFAULT_MESSAGES.get(status, ""))


def error_code(status: int) -> str:
    return ERROR_CODES.get(status) or ("server_error" if status >= 500 else "bad_request")


def error_response(status: int, message: str | None = None, *, error: str | None = None,
                   fields: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None) -> Response:
    """A JSON error response in the API's schema."""
    body: dict = {
        "error": error or error_code(status),
        "title": HTTP_STATUS_CODES.get(status, "Error"),
        "message": message or DEFAULT_MESSAGES.get(status) or DEFAULT_MESSAGES[500 if status >= 500 else 400],
    }
    if fields:
        body["fields"] = dict(fields)
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def from_api_error(exc: ApiError) -> Response:
    return error_response(exc.status, exc.message, error=exc.error, fields=exc.fields)


def http_error_response(exc: HTTPException) -> Response:
    """An HTTP error raised anywhere under /api/ (no route, wrong method, rate limit...) as API JSON."""
    status = exc.code or 500
    headers = {name: value for name, value in exc.get_headers() if name.lower() in {"allow", "retry-after"}}
    message = None
    if isinstance(exc, RateLimitExceeded):
        message = f"Too many requests (limit: {exc.description}). Please wait a minute and try again."
    return error_response(status, message, headers=headers)
