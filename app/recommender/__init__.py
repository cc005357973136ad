"""Recommendations of support programmes and vetted IT partners, with the reasons behind them.

Public API (stable; pages, the JSON API and batch jobs use only this)::

    Profile(kind, sector, size_class, commune_code, organisation_id=None)
    profile_of(organisation) -> Profile
    recommend(profile, pillar_scores, overall_level, needs="", locale="vi", on_date=None, limit=5,
              *, not_eligible_limit=20) -> Recommendations
    recommend_for_assessment(assessment, locale="vi", on_date=None, limit=5) -> Recommendations
    recommend_many(queries, locale="vi", on_date=None, limit=5, *, not_eligible_limit=20) -> list[Recommendations]
        with Query(profile, pillar_scores, overall_level, needs="") per business; same answers as recommend
    why_not(profile, programme_code, overall_level, locale="vi", on_date=None) -> NotEligible | None
    current_engine() -> engine.Engine   (the snapshot and model in use; evaluation and benchmarks)

    Recommendations(programmes, partners, not_eligible, model_version)
    RecommendedProgramme(code, name, kind, score, max_subsidy_vnd, reasons)
    RecommendedPartner(code, name, score, categories, price_band, website, email, phone, reasons)
    NotEligible(code, name, reasons)

Meaning:

- ``programmes``: only programmes the business is eligible for on ``on_date`` (default: today in the
  province), as ``app.services.eligibility`` decides; ``partners``: only vetted, current partners that
  serve its kind, sector and commune (a partner limited to some communes is left out when the commune is
  unknown). Both best first, at most ``limit`` each; ties are broken by code, so the same input always
  gives the same ranking.
- ``score``: in [0, 1], higher is better; a ranking score, not a probability (rounded to 4 decimals).
- ``max_subsidy_vnd``: the programme's cap for the business's size class, i.e. the most it could get;
  0 when that size class gets no money (it may still join, e.g. a training), None when the size class is
  unknown.
- ``reasons``: 1-3 sentences in ``locale`` (``vi`` default, ``en``), from what drove the score: the weakest
  pillar the item covers with its level, a match with the business's own words, good outcomes of similar
  businesses, sector fit, price.
- ``not_eligible``: programmes (not retired) the business cannot get now, most relevant first, each with
  every reason why not; at most ``not_eligible_limit`` (None = all). ``why_not`` answers for any programme.
- ``model_version``: ``content-1`` when no trained model is in use, else the trained file's version
  (``recommender-<UTC timestamp>``).
- ``pillar_scores``: {pillar code: 0-100}; ``overall_level``: 0-5 as the framework computes it;
  ``needs``: the business's own words (Vietnamese or English, accents optional).
- The one-application-per-year rule uses ``profile.organisation_id`` (``eligibility.application_counts``);
  a profile without one (the public preview) is never held to it.
- Catalogue changes made by this process are seen by the next call; other processes' changes within
  ``RECOMMENDER_CATALOGUE_RECHECK_SECONDS`` (2 s by default). Trained models are read from
  ``RECOMMENDER_MODEL_DIR`` (``instance/models/``); see ``persistence``.

How it works: ``snapshot`` (the catalogue as arrays, cached per catalogue version), ``text`` (TF-IDF over
character n-grams), ``content`` (pillar gaps, needs text, profile), ``outcome_model`` (logistic regression
on outcomes, blended with the content score), ``engine`` (eligibility masks, scoring as matrices, stable
top-k), ``explanations``, ``persistence`` (signed model files), ``training`` and ``evaluation`` (the CLI
commands), ``demo_outcomes`` (plausible outcomes for the demo). Importing this package is cheap: scikit-learn
loads on the first recommendation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING

from app.recommender.base import (
    NOT_ELIGIBLE_LIMIT,
    NotEligible,
    Profile,
    Query,
    Recommendations,
    RecommendedPartner,
    RecommendedProgramme,
)

if TYPE_CHECKING:  # scikit-learn and the matrices load on first use, not when the app starts
    from app.recommender.engine import Engine

__all__ = [
    "NotEligible",
    "Profile",
    "Query",
    "Recommendations",
    "RecommendedPartner",
    "RecommendedProgramme",
    "current_engine",
    "profile_of",
    "recommend",
    "recommend_for_assessment",
    "recommend_many",
    "why_not",
]


def _today() -> date:
    from app.services.frameworks import PROVINCE_TZ

    return datetime.now(PROVINCE_TZ).date()


def profile_of(organisation) -> Profile:
    """The recommender's view of an ``Organisation``."""
    return Profile(
        kind=getattr(organisation.kind, "value", organisation.kind),
        sector=organisation.sector,
        size_class=getattr(organisation.size_class, "value", organisation.size_class),
        commune_code=organisation.commune_code or None,
        organisation_id=organisation.id,
    )


def current_engine() -> Engine:
    """The catalogue as it is now and the newest valid trained model (or the content model)."""
    from app.recommender import persistence, snapshot
    from app.recommender.engine import Engine

    snap = snapshot.current()
    model = persistence.current_model()
    # A model trained under other pillars (a new framework version) cannot score this catalogue.
    return Engine(snap, model if model is not None and model.pillars == snap.pillars else None)


def _applied(profile: Profile, on_date: date) -> frozenset[str]:
    from app.services import eligibility

    if profile.organisation_id is None:
        return frozenset()
    counts = eligibility.application_counts(profile.organisation_id, on_date.year)
    return frozenset(code for code, count in counts.items() if count >= 1)


def recommend(profile: Profile, pillar_scores: Mapping[str, float], overall_level: int, needs: str = "",
              locale: str = "vi", on_date: date | None = None, limit: int = 5, *,
              not_eligible_limit: int | None = NOT_ELIGIBLE_LIMIT) -> Recommendations:
    """Programmes and partners for this business, best first, with reasons (see the module docstring)."""
    on_date = on_date or _today()
    engine = current_engine()
    query = Query(profile, dict(pillar_scores), int(overall_level), needs or "")
    return engine.recommend(query, locale=locale, on_date=on_date, limit=limit,
                            applied=_applied(profile, on_date), not_eligible_limit=not_eligible_limit)


def recommend_many(queries: Iterable[Query], locale: str = "vi", on_date: date | None = None, limit: int = 5, *,
                   not_eligible_limit: int | None = NOT_ELIGIBLE_LIMIT) -> list[Recommendations]:
    """``recommend`` for many businesses at once (one snapshot and model; scored together in matrices)."""
    on_date = on_date or _today()
    queries = list(queries)
    engine = current_engine()
    return engine.recommend_many(queries, locale=locale, on_date=on_date, limit=limit,
                                 applied=[_applied(q.profile, on_date) for q in queries],
                                 not_eligible_limit=not_eligible_limit)


def recommend_for_assessment(assessment, locale: str = "vi", on_date: date | None = None,
                             limit: int = 5) -> Recommendations:
    """Recommendations for a submitted assessment: its organisation's profile, its scores, its needs text."""
    if assessment.overall_level is None:
        raise ValueError("only a submitted assessment has scores to recommend from")
    return recommend(profile_of(assessment.organisation), assessment.pillar_score_map, assessment.overall_level,
                     needs=assessment.needs or "", locale=locale, on_date=on_date, limit=limit)


def why_not(profile: Profile, programme_code: str, overall_level: int, locale: str = "vi",
            on_date: date | None = None) -> NotEligible | None:
    """Why this business cannot get the programme now; None when it can (or no such programme exists)."""
    from app.recommender import snapshot
    from app.services import eligibility

    on_date = on_date or _today()
    snap = snapshot.current()
    row = next((row for row in snap.programmes if row.code == programme_code), None)
    if row is None:
        return None
    count = 1 if programme_code in _applied(profile, on_date) else 0
    result = eligibility.check(row, profile, overall_level, on_date, count, locale=locale)
    if result.eligible:
        return None
    return NotEligible(code=row.code, name=row.text("name", locale), reasons=result.reasons)
