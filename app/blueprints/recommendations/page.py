"""What the recommendations page shows, as plain rows: the recommender's lists joined with the
catalogue facts the page needs (kind, closing date, price band, contacts) and their labels."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import current_app, url_for
from sqlalchemy import select

from app.extensions import db
from app.models.assessment import Assessment
from app.models.catalogue import Partner, PriceBand, Programme, ProgrammeKind
from app.services.catalogue import category_label

#: How many programmes and partners the page recommends.
PAGE_LIMIT = 5


def apply_url(programme_id: int | None, organisation_id: int | None = None, code: str | None = None) -> str | None:
    """Members go to their application form for the programme; others (staff) to its public page."""
    if organisation_id is not None and code and "applications.new" in current_app.view_functions:
        return url_for("applications.new", org_id=organisation_id, programme=code)
    return _catalogue_url("catalogue.programme", programme_id=programme_id)


def partner_url(partner_id: int | None) -> str | None:
    """The partner's public profile in the catalogue."""
    return _catalogue_url("catalogue.partner", partner_id=partner_id)


def _catalogue_url(endpoint: str, **values: int | None) -> str | None:
    if None in values.values() or endpoint not in current_app.view_functions:
        return None
    return url_for(endpoint, **values)


def safe_website(url: str | None) -> str | None:
    """Only http(s) addresses become links (a ``javascript:`` URL in the catalogue must never run)."""
    if url and url.lower().startswith(("https://", "http://")):
        return url
    return None


@dataclass(frozen=True)
class ProgrammeRow:
    code: str
    name: str
    kind_label: str
    max_subsidy_vnd: int | None
    closes_on: date | None
    reasons: tuple[str, ...]
    apply_url: str | None


@dataclass(frozen=True)
class PartnerRow:
    code: str
    name: str
    categories: tuple[str, ...]
    price_band_label: str
    website: str | None
    email: str | None
    phone: str | None
    reasons: tuple[str, ...]
    url: str | None


@dataclass(frozen=True)
class NotEligibleRow:
    code: str
    name: str
    reasons: tuple[str, ...]


def _label(enum_class, value: Any) -> str:
    try:
        return str(enum_class(value).label)
    except ValueError:
        return str(value)


def build(assessment: Assessment, lang: str, member: bool = True) -> dict[str, Any]:
    """The page's three lists for the assessment, in the user's language (``member``: the viewer can apply)."""
    from app.recommender import recommend_for_assessment

    found = recommend_for_assessment(assessment, locale=lang, limit=PAGE_LIMIT)
    programme_facts: dict[str, tuple[int, date]] = {}
    if found.programmes:
        rows = db.session.execute(select(Programme.code, Programme.id, Programme.closes_on)
                                  .where(Programme.code.in_([item.code for item in found.programmes])))
        programme_facts = {code: (programme_id, closes_on) for code, programme_id, closes_on in rows}
    partner_ids: dict[str, int] = {}
    if found.partners:
        rows = db.session.execute(select(Partner.code, Partner.id)
                                  .where(Partner.code.in_([item.code for item in found.partners])))
        partner_ids = {code: partner_id for code, partner_id in rows}
    programmes = []
    for item in found.programmes:
        programme_id, closes_on = programme_facts.get(item.code, (None, None))
        programmes.append(ProgrammeRow(item.code, item.name, _label(ProgrammeKind, item.kind),
                                       item.max_subsidy_vnd or None, closes_on, tuple(item.reasons),
                                       apply_url(programme_id, assessment.organisation_id if member else None,
                                                 item.code)))
    partners = [
        PartnerRow(item.code, item.name, tuple(category_label(c, lang) for c in item.categories),
                   _label(PriceBand, item.price_band), safe_website(item.website), item.email, item.phone,
                   tuple(item.reasons), partner_url(partner_ids.get(item.code)))
        for item in found.partners
    ]
    not_eligible = [NotEligibleRow(item.code, item.name, tuple(item.reasons)) for item in found.not_eligible]
    return {"programmes": programmes, "partners": partners, "not_eligible": not_eligible,
            "model_version": found.model_version}

