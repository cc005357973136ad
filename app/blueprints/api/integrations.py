"""API endpoints for other systems, each behind a bearer token with one scope (see ``auth.require_scope``).

- ``GET /catalogue`` / ``POST /catalogue``: the catalogue in the exchange format ``dxportal.catalogue/1``,
  read and imported exactly as the CLI and the admin upload do (the whole file or nothing).
- ``GET /open-data/maturity`` and ``/open-data/uptake``: the published open-data tables.
- ``GET /applications`` and ``/applications/<id>``: support applications for the provincial reporting system.

Applications carry no personal data: no user names, e-mail addresses or phone numbers, no free text (titles,
descriptions and reasons may name people). The organisation's name and tax code are given for enterprises and
cooperatives only (they are public in the business register and the reporting system needs them to match the
recipients of public money); for a household business both are null, since its tax code is often the owner's
personal identification number and its name the owner's name. Drafts are never listed: the business has not
sent them.
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import UTC, datetime
from typing import Any

from flask import Response, current_app, request
from flask_babel import force_locale
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import RequestEntityTooLarge

from app.blueprints.api import bp
from app.blueprints.api.auth import current_token, require_scope
from app.blueprints.api.errors import ApiError, error_response
from app.blueprints.api.helpers import choices
from app.extensions import db
from app.models.application import ActivityKind, Application, ApplicationActivity, ApplicationStatus
from app.models.catalogue import Programme
from app.models.organisation import OrganisationKind
from app.services import api_tokens, catalogue_io, opendata

#: Applications a business has sent (every state but ``draft``).
LISTED_STATES = tuple(status.value for status in ApplicationStatus if status is not ApplicationStatus.DRAFT)
DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 200
MAX_PAGE = 100_000
APPLICATION_FILTERS = ("state", "programme", "updated_since", "page", "per_page")
OPEN_DATA_LOCALES = ("vi", "en")


def _json(body: Any, status: int = 200) -> Response:
    """JSON in the key order given (``jsonify`` would sort the keys), UTF-8 as it is."""
    return Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/json")


# Catalogue -------------------------------------------------------------------------------------------------


@bp.route("/catalogue", methods=["GET"])
@require_scope(api_tokens.CATALOGUE_READ)
def catalogue_export():
    """The active catalogue in the exchange format, byte for byte what ``flask catalogue export`` writes."""
    body = catalogue_io.export_text().encode("utf-8")
    etag = hashlib.sha256(body).hexdigest()[:32]
    response = Response(status=304) if request.if_none_match.contains_weak(etag) else Response(
        body, mimetype="application/json")
    response.set_etag(etag)
    # Stored by the client only with revalidation: the catalogue changes when staff edit it.
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def catalogue_body() -> bytes:
    """The raw body of a catalogue import, at most API_CATALOGUE_MAX_BODY_BYTES; ApiError otherwise."""
    limit = current_app.config.get("API_CATALOGUE_MAX_BODY_BYTES", catalogue_io.MAX_UPLOAD_BYTES)
    too_large = ApiError(413, f"The request body is larger than {limit} bytes.")
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    if request.mimetype != "application/json":
        raise ApiError(400, "Send the catalogue as JSON, with the header Content-Type: application/json.",
                       error="invalid_json")
    request.max_content_length = limit + 1
    try:
        raw = request.get_data(cache=False)
    except RequestEntityTooLarge:
        raise too_large from None
    if len(raw) > limit:
        raise too_large
    return raw


def _problems_response(error: catalogue_io.CatalogueError) -> Response:
    """400 listing every problem with its JSON path, in English like every API message."""
    with force_locale("en"):
        problems = [{"path": problem.path, "message": str(problem.message)} for problem in error.problems]
    response = error_response(400, f"The catalogue was not imported: {len(problems)} problem(s) found. "
                                   "Nothing was changed.", error="invalid_catalogue")
    body = response.get_json()
    body["problems"] = problems
    response.set_data(json.dumps(body, ensure_ascii=False))
    return response


@bp.route("/catalogue", methods=["POST"])
@require_scope(api_tokens.CATALOGUE_WRITE)
def catalogue_import():
    """Create or update every programme and partner of the document, or change nothing and list every problem."""
    raw = catalogue_body()
    token = current_token()
    source = f"API token {token.prefix}… ({token.name})"[:200]
    try:
        report = catalogue_io.import_bytes(raw, actor=None, ip=request.remote_addr, source=source)
        db.session.commit()
    except catalogue_io.CatalogueError as error:
        db.session.rollback()
        return _problems_response(error)
    except IntegrityError:
        # Another import (or a staff edit) created the same code at the same moment.
        db.session.rollback()
        raise ApiError(409, "The catalogue changed while this file was being imported. Nothing was changed; "
                            "send the file again.", error="conflict") from None
    return _json({
        "schema": catalogue_io.SCHEMA,
        "counts": report.counts(),
        "changed": [{"section": item.section, "code": item.code, "outcome": item.outcome,
                     "fields": list(item.fields)} for item in report.changed],
        "audit_event_id": report.event.id,
    })


# Open data -------------------------------------------------------------------------------------------------


def _open_data_locale() -> str:
    locale = request.args.get("locale", "vi")
    if locale not in OPEN_DATA_LOCALES:
        raise ApiError(400, "Some parameters are missing or invalid.", error="invalid_request",
                       fields={"locale": f"must be {choices(OPEN_DATA_LOCALES)}"})
    return locale


def _open_data(name: str) -> Response:
    """The dataset as the public JSON download writes it: its data dictionary, licence, data version and rows.

    The ETag is the data version, so a client that already holds the current version gets 304 without the
    rows being computed.
    """
    locale = _open_data_locale()
    version = opendata.data_version()
    etag = f"{name}-{locale}-{version}"
    if request.if_none_match.contains_weak(etag):
        response = Response(status=304)
    else:
        rows = opendata.maturity_rows(locale=locale) if name == "maturity" else opendata.uptake_rows(locale=locale)
        response = _json({**opendata.DATASETS[name].to_dict(locale), "language": locale, "version": version,
                          "rows": rows})
    response.set_etag(etag)
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@bp.route("/open-data/maturity")
@require_scope(api_tokens.OPENDATA_READ)
def open_data_maturity():
    """Aggregated maturity by quarter, commune, sector and kind, small cells suppressed (as published)."""
    return _open_data("maturity")


@bp.route("/open-data/uptake")
@require_scope(api_tokens.OPENDATA_READ)
def open_data_uptake():
    """Programme uptake by quarter (as published)."""
    return _open_data("uptake")


# Applications ----------------------------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    """RFC 3339 in UTC with a ``Z``, whole seconds."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def application_json(application: Application) -> dict[str, Any]:
    """The documented Application body: figures and states, no personal data."""
    organisation = application.organisation
    named = organisation.kind is not OrganisationKind.HOUSEHOLD_BUSINESS
    return {
        "id": application.id,
        "programme": application.programme.code,
        "partner": application.partner.code if application.partner is not None else None,
        "organisation": {
            "id": organisation.id,
            "kind": OrganisationKind(organisation.kind).value,
            "sector": organisation.sector,
            "commune": organisation.commune_code,
            "size_class": organisation.size_class.value if organisation.size_class is not None else None,
            "name": organisation.name if named else None,
            "tax_code": organisation.tax_code if named else None,
        },
        "state": ApplicationStatus(application.status).value,
        "applied_year": application.applied_year,
        "planned_cost_vnd": application.planned_cost_vnd,
        "requested_vnd": application.requested_vnd,
        "recommended_vnd": application.recommended_vnd,
        "approved_vnd": application.approved_vnd,
        "disbursed_vnd": application.disbursed_vnd,
        "created_at": _iso(application.created_at),
        "submitted_at": _iso(application.submitted_at),
        "status_changed_at": _iso(application.status_changed_at),
        "decided_at": _iso(application.decided_at),
        "completed_at": _iso(application.completed_at),
        "updated_at": _iso(application.updated_at),
    }


def _invalid(fields: dict[str, str]) -> ApiError:
    return ApiError(400, "Some parameters are missing or invalid.", error="invalid_request", fields=fields)


def _whole_arg(name: str, default: int, low: int, high: int, fields: dict[str, str]) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if raw.isascii() and raw.isdigit() and len(raw) <= 9 and low <= int(raw) <= high:
        return int(raw)
    fields[name] = f"must be a whole number from {low} to {high}"
    return default


def _updated_since(fields: dict[str, str]) -> datetime | None:
    raw = request.args.get("updated_since")
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw)
        # Years 1 and 9999 with an offset fall outside what a datetime holds once moved to UTC.
        value = value.astimezone(UTC) if value.tzinfo is not None and "T" in raw.upper() else None
    except (ValueError, OverflowError):
        value = None
    if value is None:
        fields["updated_since"] = "must be a date and time with its offset, like 2026-06-15T08:00:00+07:00"
    return value


def _application_filters():
    """The list's filters from the query string; ApiError 400 naming every bad parameter."""
    fields: dict[str, str] = {}
    for key in request.args:
        if key not in APPLICATION_FILTERS:
            fields[key] = f"unknown parameter (allowed: {', '.join(APPLICATION_FILTERS)})"
    states = request.args.getlist("state")
    for state in states:
        if state not in LISTED_STATES:
            fields["state"] = f"must be {choices(LISTED_STATES)}"
    programme = request.args.get("programme")
    since = _updated_since(fields)
    page = _whole_arg("page", 1, 1, MAX_PAGE, fields)
    per_page = _whole_arg("per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE, fields)
    if fields:
        raise _invalid(fields)
    conditions = [Application.status != ApplicationStatus.DRAFT]
    if states:
        conditions.append(Application.status.in_([ApplicationStatus(state) for state in states]))
    if programme is not None:
        # A code no programme has matches nothing, as any other filter value would.
        conditions.append(Application.programme_id.in_(select(Programme.id).where(Programme.code == programme)))
    if since is not None:
        conditions.append(Application.updated_at >= since)
    return conditions, page, per_page


@bp.route("/applications")
@require_scope(api_tokens.APPLICATIONS_READ)
def applications_list():
    """Sent applications, oldest change first (so ``updated_since`` with the last ``updated_at`` seen resumes)."""
    conditions, page, per_page = _application_filters()
    total = db.session.scalar(select(func.count()).select_from(Application).where(*conditions))
    items = db.session.scalars(
        select(Application).where(*conditions)
        .options(selectinload(Application.organisation), selectinload(Application.programme),
                 selectinload(Application.partner))
        .order_by(Application.updated_at, Application.id)
        .limit(per_page).offset((page - 1) * per_page)
    ).all()
    return _json({
        "items": [application_json(item) for item in items],
        "page": page,
        "per_page": per_page,
        "total": total,
        "pages": math.ceil(total / per_page),
    })


@bp.route("/applications/<int:application_id>")
@require_scope(api_tokens.APPLICATIONS_READ)
def application_detail(application_id: int):
    """One sent application, with the dates of its state changes."""
    application = db.session.get(Application, application_id)
    if application is None or application.status is ApplicationStatus.DRAFT:
        raise ApiError(404, "There is no such application.")
    body = application_json(application)
    transitions = db.session.scalars(
        select(ApplicationActivity)
        .where(ApplicationActivity.application_id == application.id,
               ApplicationActivity.kind == ActivityKind.TRANSITION)
        .order_by(ApplicationActivity.created_at, ApplicationActivity.id)
    )
    body["history"] = [
        {"action": activity.action,
         "from": activity.from_status.value if activity.from_status is not None else None,
         "to": activity.to_status.value if activity.to_status is not None else None,
         "at": _iso(activity.created_at)}
        for activity in transitions
    ]
    return _json(body)
