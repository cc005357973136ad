"""Recommendations for people: the business's own words about its needs, and the public preview.

Plain Python around ``app.recommender``: the recommendations page saves the needs text on the latest
submitted assessment (audited, not committed), and the preview API scores a profile that is never stored.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from app.models.assessment import Assessment
from app.models.user import User
from app.services import audit, frameworks
from app.services import organisations as organisation_service

if TYPE_CHECKING:  # the recommender (scikit-learn) is imported when first used, not when the app starts
    from app.recommender import Recommendations

#: The longest needs text kept, in characters (the page's form and the API say so).
MAX_NEEDS_LENGTH = 1000


def clean_needs(text: str | None) -> str | None:
    """NFC, one kind of line break, no surrounding blanks; None when nothing is left."""
    if text is None:
        return None
    cleaned = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n")).strip()
    return cleaned or None


def update_needs(assessment: Assessment, actor: User, needs: str | None, ip: str | None = None) -> bool:
    """Keep the business's description of its needs on ``assessment`` and audit it (not committed).

    Returns False, writing nothing, when the text is unchanged. Raises ValueError for a text longer
    than ``MAX_NEEDS_LENGTH`` (the form stops it first).
    """
    cleaned = clean_needs(needs)
    if cleaned is not None and len(cleaned) > MAX_NEEDS_LENGTH:
        raise ValueError(f"needs must be at most {MAX_NEEDS_LENGTH} characters")
    if cleaned == assessment.needs:
        return False
    before = assessment.needs
    assessment.needs = cleaned
    audit.record("assessment.needs_update", "assessment", assessment.id, actor=actor, ip=ip,
                 before={"needs": before}, after={"needs": cleaned})
    return True


def overall_score(pillar_scores: dict[str, float]) -> float:
    """The mean of the pillar scores, rounded half up to one decimal, as the self-assessment rounds it."""
    total = sum((Decimal(str(value)) for value in pillar_scores.values()), Decimal(0))
    mean = total / len(pillar_scores)
    return float(mean.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class PreviewProfile:
    """What a visitor tells the preview about their organisation; checked already (see the API)."""

    kind: str
    sector: str
    employees: int
    revenue_vnd: int | None
    capital_vnd: int | None
    commune_code: str | None = None


@dataclass(frozen=True)
class Preview:
    size_class: str | None
    overall_score: float
    overall_level: int
    recommendations: Recommendations


def preview(organisation: PreviewProfile, pillar_scores: dict[str, float], *, needs: str = "",
            locale: str = "vi", limit: int = 5, on_date: dt.date | None = None) -> Preview:
    """Recommendations for an organisation that is not registered: nothing is read from or written to
    its records (there are none), so the one-application-per-year rule cannot apply."""
    from app.recommender import Profile, recommend

    size = organisation_service.size_class(organisation.sector, organisation.employees, organisation.revenue_vnd,
                                           organisation.capital_vnd)
    size_class = size.value if size is not None else None
    score = overall_score(pillar_scores)
    level = frameworks.current_framework().level_for(score)
    profile = Profile(kind=organisation.kind, sector=organisation.sector, size_class=size_class,
                      commune_code=organisation.commune_code, organisation_id=None)
    result = recommend(profile, dict(pillar_scores), level, needs=needs or "", locale=locale,
                       on_date=on_date, limit=limit)
    return Preview(size_class=size_class, overall_score=score, overall_level=level, recommendations=result)
