"""API v1 views. Each one is described in app/api_spec/openapi.yaml; tests keep the two in step."""

from __future__ import annotations

import functools
import hashlib
import json

from flask import Response, current_app, render_template, request
from flask_limiter.util import get_remote_address

from app.blueprints.api import bp
from app.blueprints.api.errors import ApiError, from_api_error
from app.blueprints.api.helpers import (
    current_framework,
    json_object_body,
    score_request,
    score_result_json,
    track_problem,
)
from app.blueprints.api.preview import preview_json, preview_request
from app.extensions import limiter
from app.security import public
from app.services import openapi
from app.services.frameworks import Framework, get_framework

#: Framework data changes only with a new version, so clients and proxies may keep it a while.
FRAMEWORK_CACHE_CONTROL = "public, max-age=300"


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError):
    return from_api_error(exc)


def _score_limit() -> str:
    """Read on every request, so an operator (or a test) can change it in the config."""
    return current_app.config["RATELIMIT_API_SCORE"]


def framework_json(framework: Framework, track: str) -> dict:
    """Framework.to_dict with ``track`` as the track code and the track's details beside it."""
    data = framework.to_dict(track)
    details = data.pop("track")
    data["track"] = details.pop("code")
    data["track_details"] = details
    return data


@functools.lru_cache(maxsize=64)
def _framework_body(ref: str, track: str) -> tuple[bytes, str]:
    """The serialised body and its ETag: the framework ref and track, plus a digest of the body, so
    a change in how the API writes a framework also changes the tag. Frameworks never change in place."""
    body = json.dumps(framework_json(get_framework(ref), track), ensure_ascii=False).encode("utf-8")
    digest = hashlib.sha256(body).hexdigest()[:12]
    return body, f"{ref}.{track}.{digest}"


@bp.route("/frameworks/current")
@public
def current_framework_view():
    """The current framework's questionnaire for one track, cacheable and revalidated by ETag."""
    framework = current_framework()
    track = request.args.get("track")
    problem = track_problem(framework, track)
    if problem:
        raise ApiError(400, "Some parameters are missing or invalid.", error="invalid_request",
                       fields={"track": problem})
    body, etag = _framework_body(framework.ref, track)
    if request.if_none_match.contains_weak(etag):
        response = Response(status=304)
    else:
        response = Response(body, mimetype="application/json")
    response.set_etag(etag)
    response.headers["Cache-Control"] = FRAMEWORK_CACHE_CONTROL
    return response


@bp.route("/assessments/score", methods=["POST"])
@public
@limiter.limit(_score_limit, key_func=get_remote_address, scope="api-score")
def score_view():
    """Score answers without storing anything."""
    result = score_request(json_object_body())
    # Serialised here rather than by jsonify, which sorts keys: pillars keep the framework's order.
    body = json.dumps(score_result_json(result), ensure_ascii=False)
    return Response(body, mimetype="application/json", headers={"Cache-Control": "no-store"})


@bp.route("/openapi.json")
@public
def openapi_json():
    """The OpenAPI 3.1 description of this API."""
    return Response(openapi.document_json(), mimetype="application/json")


@bp.route("/docs")
@public
def docs():
    """The OpenAPI description rendered for people."""
    return render_template("api/docs.html", api=openapi.describe())


def _preview_limit() -> str:
    """Read on every request, like the scoring limit."""
    return current_app.config["RATELIMIT_API_PREVIEW"]


@bp.route("/recommendations/preview", methods=["POST"])
@public
@limiter.limit(_preview_limit, key_func=get_remote_address, scope="api-preview")
def recommendations_preview():
    """Recommend programmes and partners for an organisation described in the body, storing nothing."""
    result = preview_request(json_object_body())
    body = json.dumps(preview_json(result), ensure_ascii=False)
    return Response(body, mimetype="application/json", headers={"Cache-Control": "no-store"})
