"""Reading a recommendation preview request and writing its answer (``POST /recommendations/preview``).

Every fault of a well-formed object is collected and reported at once as 422, nested fields named with a
dot (``organisation.sector``, ``pillar_scores.data``), as the score request names ``answers.<id>``.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from app.blueprints.api.errors import ApiError
from app.blueprints.api.helpers import choices, current_framework, province_today
from app.services import geo, sectors
from app.services.frameworks import ORGANISATION_KINDS
from app.services.recommendations import MAX_NEEDS_LENGTH, Preview, PreviewProfile, preview

PREVIEW_FIELDS = ("organisation", "pillar_scores", "needs", "locale", "limit", "on_date")
ORGANISATION_FIELDS = ("kind", "sector", "employees", "revenue_vnd", "capital_vnd", "commune")
REQUIRED_ORGANISATION_FIELDS = ("kind", "sector", "employees", "revenue_vnd", "capital_vnd")
LOCALES = ("vi", "en")
DEFAULT_LIMIT = 5
MAX_LIMIT = 20
_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def _whole(value: Any) -> bool:
    """A JSON whole number (``true`` is not one, although Python says bool is an int)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _unknown(body: dict[str, Any], allowed: tuple[str, ...], prefix: str, fields: dict[str, str]) -> None:
    for key in body:
        if key not in allowed:
            fields[f"{prefix}{key}"] = f"unknown field (allowed: {', '.join(allowed)})"


def _organisation(value: Any, fields: dict[str, str]) -> PreviewProfile | None:
    described = "an object with kind, sector, employees, revenue_vnd, capital_vnd and optionally commune"
    if value is None:
        fields["organisation"] = f"required: {described}"
        return None
    if not isinstance(value, dict):
        fields["organisation"] = f"must be {described}"
        return None
    before = len(fields)
    _unknown(value, ORGANISATION_FIELDS, "organisation.", fields)
    for name in REQUIRED_ORGANISATION_FIELDS:
        if name not in value:
            fields[f"organisation.{name}"] = "required"
    kind, sector, employees = value.get("kind"), value.get("sector"), value.get("employees")
    if "kind" in value and kind not in ORGANISATION_KINDS:
        fields["organisation.kind"] = f"must be {choices(ORGANISATION_KINDS)}"
    if "sector" in value and not (isinstance(sector, str) and sectors.is_valid(sector)):
        fields["organisation.sector"] = "must be a VSIC 2018 section letter, 'A' to 'U'"
    if "employees" in value and not (_whole(employees) and employees >= 0):
        fields["organisation.employees"] = "must be a whole number, 0 or more"
    for name in ("revenue_vnd", "capital_vnd"):
        amount = value.get(name)
        if amount is not None and not (_whole(amount) and amount >= 0):
            fields[f"organisation.{name}"] = "must be a whole number of VND, 0 or more, or null when unknown"
    if "revenue_vnd" in value and "capital_vnd" in value and value["revenue_vnd"] is None \
            and value["capital_vnd"] is None:
        for name in ("revenue_vnd", "capital_vnd"):
            fields[f"organisation.{name}"] = "revenue_vnd or capital_vnd must be given to work out the size class"
    commune = value.get("commune")
    if commune is not None and not (isinstance(commune, str) and geo.is_valid(commune)):
        fields["organisation.commune"] = "must be the code of a commune, ward or special zone of the province, or null"
    if len(fields) > before:
        return None
    return PreviewProfile(kind=kind, sector=sector, employees=employees, revenue_vnd=value["revenue_vnd"],
                          capital_vnd=value["capital_vnd"], commune_code=commune)


def _pillar_scores(value: Any, fields: dict[str, str]) -> dict[str, float] | None:
    codes = [pillar.code for pillar in current_framework().pillars]
    described = f"an object with a score from 0 to 100 for each pillar: {', '.join(codes)}"
    if value is None:
        fields["pillar_scores"] = f"required: {described}"
        return None
    if not isinstance(value, dict):
        fields["pillar_scores"] = f"must be {described}"
        return None
    before = len(fields)
    for key in value:
        if key not in codes:
            fields[f"pillar_scores.{key}"] = f"unknown pillar (pillars: {', '.join(codes)})"
    for code in codes:
        if code not in value:
            fields[f"pillar_scores.{code}"] = "required: a number from 0 to 100"
        elif not (_number(value[code]) and 0 <= value[code] <= 100):
            fields[f"pillar_scores.{code}"] = "must be a number from 0 to 100"
    if len(fields) > before:
        return None
    return {code: float(value[code]) for code in codes}


def _on_date(value: Any, fields: dict[str, str]) -> dt.date | None:
    if value is None:
        return province_today()
    if isinstance(value, str) and _ISO_DATE.match(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    fields["on_date"] = "must be a date written YYYY-MM-DD, like '2026-06-15'"
    return None


def preview_request(body: dict[str, Any]) -> Preview:
    """Check a preview request's fields and run the recommender; ApiError 422 naming every bad field."""
    fields: dict[str, str] = {}
    _unknown(body, PREVIEW_FIELDS, "", fields)
    organisation = _organisation(body.get("organisation"), fields)
    scores = _pillar_scores(body.get("pillar_scores"), fields)
    needs = body.get("needs")
    if needs is not None and not (isinstance(needs, str) and len(needs) <= MAX_NEEDS_LENGTH):
        fields["needs"] = f"must be a text of at most {MAX_NEEDS_LENGTH} characters"
    # Optional fields may be left out or sent as null: both mean the default.
    locale = "vi" if body.get("locale") is None else body["locale"]
    if locale not in LOCALES:
        fields["locale"] = f"must be {choices(LOCALES)}"
    limit = DEFAULT_LIMIT if body.get("limit") is None else body["limit"]
    if not (_whole(limit) and 1 <= limit <= MAX_LIMIT):
        fields["limit"] = f"must be a whole number from 1 to {MAX_LIMIT}"
    on_date = _on_date(body.get("on_date"), fields)
    if fields or organisation is None or scores is None or on_date is None:
        raise ApiError(422, "Some fields are invalid.", error="invalid_request", fields=fields)
    return preview(organisation, scores, needs=needs or "", locale=locale, limit=limit, on_date=on_date)


def preview_json(result: Preview) -> dict[str, Any]:
    """The documented RecommendationPreview body; every list best first, as the recommender ranks it."""
    found = result.recommendations
    return {
        "size_class": result.size_class,
        "overall_score": result.overall_score,
        "overall_level": result.overall_level,
        "programmes": [
            {"code": item.code, "name": item.name, "score": item.score, "max_subsidy_vnd": item.max_subsidy_vnd,
             "reasons": list(item.reasons)}
            for item in found.programmes
        ],
        "partners": [
            {"code": item.code, "name": item.name, "score": item.score, "categories": list(item.categories),
             "reasons": list(item.reasons)}
            for item in found.partners
        ],
        "not_eligible": [{"code": item.code, "reasons": list(item.reasons)} for item in found.not_eligible],
        "model_version": found.model_version,
    }
