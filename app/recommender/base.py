"""The recommender's public data types (re-exported by ``app.recommender``); plain, frozen, hashable."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

#: How many programmes the business cannot get are listed by default (most relevant first); any other can
#: still say why not through ``why_not``.
NOT_ELIGIBLE_LIMIT = 20


@dataclass(frozen=True)
class Profile:
    """What eligibility and the recommender need to know about an organisation.

    ``kind`` is an ``OrganisationKind`` value, ``sector`` a VSIC section letter, ``size_class`` a
    ``SizeClass`` value or None when the figures are incomplete, ``commune_code`` None when unknown.
    ``organisation_id`` is None for a profile that is not registered (the public preview); it is what
    the one-application-per-year rule is checked against.
    """

    kind: str
    sector: str
    size_class: str | None
    commune_code: str | None
    organisation_id: int | None = None


@dataclass(frozen=True)
class RecommendedProgramme:
    """A programme the business can apply to now.

    ``score`` is in [0, 1], higher is better (a ranking score, not a probability). ``max_subsidy_vnd`` is
    the cap for the business's size class, i.e. the most it could receive: 0 when that size class gets no
    money (it may still join a training), None when the size class is unknown.
    """

    code: str
    name: str
    kind: str
    score: float
    max_subsidy_vnd: int | None
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class RecommendedPartner:
    """A vetted IT partner that serves this business; ``score`` in [0, 1] as for programmes."""

    code: str
    name: str
    score: float
    categories: tuple[str, ...]
    price_band: str
    website: str | None
    email: str | None
    phone: str | None
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class NotEligible:
    """A programme the business cannot get now, with every rule it fails, in plain words."""

    code: str
    name: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Recommendations:
    """Best first. ``model_version`` is ``content-1`` or the version of the trained model file in use."""

    programmes: tuple[RecommendedProgramme, ...]
    partners: tuple[RecommendedPartner, ...]
    not_eligible: tuple[NotEligible, ...]
    model_version: str


@dataclass(frozen=True)
class Query:
    """One business to recommend for: its profile, pillar scores (0-100), overall level (0-5), own words."""

    profile: Profile
    pillar_scores: Mapping[str, float]
    overall_level: int
    needs: str = ""
