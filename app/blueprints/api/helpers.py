"""Reading API requests: strict JSON bodies and the fields of a score request, every fault named.

Malformed requests (size, content type, syntax, not an object) stop at the first fault with 400/413; a
well-formed object is checked field by field and all its faults come back together as 422.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from flask import current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from app.blueprints.api.errors import ApiError
from app.services import frameworks
from app.services.frameworks import Framework, UnknownFrameworkError
from app.services.scoring import NON_FIELD_ERRORS, AnswerError, ScoreResult, score

SCORE_FIELDS = ("framework", "track", "answers")


def choices(values: list[str] | tuple[str, ...]) -> str:
    """"'full' or 'short'" — the allowed values, for a message."""
    quoted = [f"'{value}'" for value in values]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


def current_framework() -> Framework:
    """The framework in force today; 404 (not 500) in the unlikely case that none is published yet."""
    try:
        return frameworks.current_framework()
    except UnknownFrameworkError:
        raise ApiError(404, "No framework has been published yet.") from None


def track_problem(framework: Framework, track: Any) -> str | None:
    """What is wrong with ``track`` for ``framework``, or None."""
    codes = [t.code for t in framework.tracks]
    if track is None:
        return f"required: {choices(codes)}"
    if track not in codes:
        return f"must be {choices(codes)}"
    return None


def province_today() -> dt.date:
    return dt.datetime.now(frameworks.PROVINCE_TZ).date()


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not allowed in JSON")


def json_object_body() -> dict[str, Any]:
    """The body as a JSON object, at most API_MAX_BODY_BYTES long; ApiError 413 or 400 otherwise."""
    limit = current_app.config["API_MAX_BODY_BYTES"]
    too_large = ApiError(413, f"The request body is larger than {limit} bytes.")
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    if not request.is_json:
        raise ApiError(400, "Send the body as JSON, with the header Content-Type: application/json.",
                       error="invalid_json")
    # A body sent without a Content-Length (chunked) is read one byte past the limit, no further:
    # Werkzeug stops quietly at max_content_length, so that extra byte is what reveals a longer body.
    request.max_content_length = limit + 1
    try:
        raw = request.get_data(cache=False)
    except RequestEntityTooLarge:
        raise too_large from None
    if len(raw) > limit:
        raise too_large
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "The body is not valid UTF-8 text.", error="invalid_json") from None
    try:
        body = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise ApiError(400, f"The body is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).",
                       error="invalid_json") from None
    except (ValueError, RecursionError) as exc:
        detail = "it is nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise ApiError(400, f"The body is not valid JSON: {detail}.", error="invalid_json") from None
    if not isinstance(body, dict):
        raise ApiError(400, "The body must be a JSON object, such as "
                            '{"track": "full", "answers": {}}.', error="invalid_json")
    return body


def _requested_framework(value: Any, fields: dict[str, str]) -> Framework | None:
    """The framework named by the request's ``framework`` field (published ones only), or None with a fault."""
    if not isinstance(value, str):
        fields["framework"] = "must be a string like 'dx-sme@1'"
        return None
    try:
        framework = frameworks.get_framework(value)
    except ValueError:
        fields["framework"] = f"must look like 'dx-sme@1', got {value!r}"
        return None
    except UnknownFrameworkError:
        framework = None
    # A version added ahead of its publication date is not public yet.
    if framework is None or framework.published > province_today():
        fields["framework"] = f"unknown framework {value!r}"
        return None
    return framework


def score_request(body: dict[str, Any]) -> ScoreResult:
    """Check a score request's fields and score it; ApiError 422 naming every bad field."""
    fields: dict[str, str] = {}
    for key in body:
        if key not in SCORE_FIELDS:
            fields[key] = "unknown field (allowed: framework, track, answers)"
    framework = _requested_framework(body["framework"], fields) if "framework" in body else current_framework()
    track = body.get("track")
    problem = track_problem(framework or current_framework(), track)
    if problem:
        fields["track"] = problem
    answers = body.get("answers")
    if answers is None:
        fields["answers"] = "required: an object mapping question ids to answers"
    elif not isinstance(answers, dict):
        fields["answers"] = "must be an object mapping question ids to answers"
    if not fields and framework is not None:
        try:
            return score(framework, track, answers)
        except AnswerError as exc:
            for key, message in exc.errors.items():
                fields["answers" if key == NON_FIELD_ERRORS else f"answers.{key}"] = message
    raise ApiError(422, "Some fields are invalid.", error="invalid_request", fields=fields)


def score_result_json(result: ScoreResult) -> dict[str, Any]:
    """The documented ScoreResult body."""
    return {
        "framework": result.framework_ref,
        "track": result.track,
        "pillars": result.pillar_scores,
        "overall_score": result.overall,
        "overall_level": result.level,
        "weakest": list(result.weakest),
        "unanswered": list(result.unanswered),
    }
