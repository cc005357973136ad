"""The recommendation pipeline over one catalogue snapshot and (optionally) one trained outcome model.

It works on a batch of businesses at once (one business is a batch of one, so both give the same
answer): eligibility bits for every (business, programme), the partner candidate mask, content scores and
model logits as (businesses x items) matrices, the blend, then per business a stable top-k (score
descending, then code), explanations for the items kept, and the reasons of the programmes not available.
"""

from __future__ import annotations

import gc
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

import numpy as np

from app.recommender import content, explanations
from app.recommender.base import (
    NOT_ELIGIBLE_LIMIT,
    NotEligible,
    Profile,
    Query,
    Recommendations,
    RecommendedPartner,
    RecommendedProgramme,
)
from app.recommender.features import OrgBatch, OrgFeatures, org_features
from app.recommender.outcome_model import OutcomeModel
from app.recommender.snapshot import RULE_BITS, Snapshot
from app.services import eligibility

#: Businesses scored together (bounds the size of the matrices).
CHUNK = 64


@dataclass(frozen=True)
class Ranking:
    """One business's candidates best first (item indices and scores), and what produced them."""

    programmes: np.ndarray
    programme_scores: np.ndarray
    partners: np.ndarray
    partner_scores: np.ndarray
    #: Failed-rule bits of every programme (0 = eligible).
    failures: np.ndarray
    org: OrgFeatures
    content: content.ContentScores
    #: The outcome model's probability for every item, or None without a model.
    probabilities: np.ndarray | None
    label_fit: dict
    #: Programmes not available (not retired), most relevant first, up to the limit asked.
    not_eligible: np.ndarray


def _name(row, locale: str) -> str:
    names = row.name or {}
    return names.get(locale) or names.get("vi", "")


@contextmanager
def _cyclic_gc_paused(pause: bool):
    """Pause Python's cycle collector during a large batch.

    A batch allocates hundreds of thousands of small immutable objects (tuples, frozen dataclasses) and
    no reference cycles; the collector's repeated scans of them, and of the memoised sentences, doubled
    the time of 10,000 recommendations. Reference counting still frees everything as usual.
    """
    if not pause or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def top_rows(scores: np.ndarray, allowed: np.ndarray, k: int | None) -> list[np.ndarray]:
    """Per row, the indices of the ``k`` best allowed scores (all when None): score descending, then index
    (= code), so ties never depend on the algorithm. The k-th best value of every row is found in one call."""
    rows, width = allowed.shape
    if (k is not None and k <= 0) or width == 0:
        return [np.zeros(0, dtype=np.int64) for _ in range(rows)]
    if k is None or k >= width:
        keep = allowed
    else:
        masked = np.where(allowed, scores, -np.inf)
        kth = np.partition(masked, width - k, axis=1)[:, width - k]
        keep = allowed & (masked >= kth[:, None])
    out = []
    for r in range(rows):
        candidates = np.flatnonzero(keep[r])
        ranked = candidates[np.lexsort((candidates, -scores[r, candidates]))]
        out.append(ranked if k is None else ranked[:k])
    return out


class Engine:
    def __init__(self, snapshot: Snapshot, model: OutcomeModel | None = None, version: str | None = None):
        self.snapshot = snapshot
        self.model = model
        self.version = version or (model.version if model is not None else content.VERSION)

    def rank_many(self, queries: Sequence[Query], on_date: date | None,
                  applied: Sequence[frozenset[str]] | None = None, limit: int | None = None,
                  use_model: bool = True, not_eligible_limit: int | None = NOT_ELIGIBLE_LIMIT) -> list[Ranking]:
        """Rankings of ``queries``; ``on_date`` None skips the date and budget rules (evaluation)."""
        out: list[Ranking] = []
        for start in range(0, len(queries), CHUNK):
            chunk = list(queries[start:start + CHUNK])
            chunk_applied = list(applied[start:start + CHUNK]) if applied else None
            out.extend(self._rank_chunk(chunk, on_date, chunk_applied, limit, use_model, not_eligible_limit))
        return out

    def rank(self, query: Query, on_date: date | None, applied: frozenset[str] = frozenset(),
             limit: int | None = None, use_model: bool = True) -> Ranking:
        return self.rank_many([query], on_date, [applied], limit, use_model)[0]

    def _rank_chunk(self, queries: list[Query], on_date: date | None, applied, limit: int | None,
                    use_model: bool, not_eligible_limit: int | None) -> list[Ranking]:
        snap = self.snapshot
        profiles = [q.profile for q in queries]
        orgs = [org_features(p.kind, p.sector, p.size_class, q.pillar_scores, q.overall_level, snap.pillars)
                for p, q in zip(profiles, queries, strict=True)]
        batch = OrgBatch.of(orgs)
        vectors = [snap.text.vector(q.needs) for q in queries]
        scores = content.score_matrix(snap, batch, content.needs_matrix(snap, vectors),
                                      np.array([v is not None for v in vectors]))
        fails = snap.programme_failures(profiles, [q.overall_level for q in queries], on_date, applied)
        partners_ok = snap.partner_candidates(profiles)
        final = scores.total
        probabilities = None
        model = self.model if use_model else None
        if model is not None:
            probabilities = 1.0 / (1.0 + np.exp(-model.logits_matrix(snap, batch, scores)))
            final = model.content_share * final + (1.0 - model.content_share) * probabilities
        final = np.clip(final, 0.0, 1.0)
        n_p = snap.n_programmes
        programmes = top_rows(final[:, :n_p], fails == 0, limit)
        partners = top_rows(final[:, n_p:], partners_ok, limit)
        # Not available: blocked but not retired (retired programmes are never shown), most relevant first.
        blocked = (fails != 0) & ((fails & RULE_BITS[eligibility.RETIRED]) == 0)
        unavailable = top_rows(scores.total[:, :n_p], blocked,
                               None if not_eligible_limit is None else max(0, not_eligible_limit))
        rankings = []
        for r, org in enumerate(orgs):
            shown_partners = partners[r] + n_p
            rankings.append(Ranking(
                programmes[r], final[r, programmes[r]], shown_partners, final[r, shown_partners], fails[r], org,
                content.row(scores, r), probabilities[r] if probabilities is not None else None,
                explanations.label_fit(snap, vectors[r]), unavailable[r]))
        return rankings

    def recommend_many(self, queries: Sequence[Query], *, locale: str, on_date: date, limit: int,
                       applied: Sequence[frozenset[str]] | None = None,
                       not_eligible_limit: int | None = NOT_ELIGIBLE_LIMIT) -> list[Recommendations]:
        locale = eligibility.normalise_locale(locale)
        limit = max(0, int(limit))
        with _cyclic_gc_paused(len(queries) > CHUNK):
            out = []
            for start in range(0, len(queries), CHUNK):
                chunk = queries[start:start + CHUNK]
                rankings = self.rank_many(chunk, on_date, applied[start:start + CHUNK] if applied else None, limit,
                                          not_eligible_limit=not_eligible_limit)
                out.extend(self._recommendations(q, ranking, locale, not_eligible_limit)
                           for q, ranking in zip(chunk, rankings, strict=True))
            return out

    def recommend(self, query: Query, *, locale: str, on_date: date, limit: int,
                  applied: frozenset[str] = frozenset(),
                  not_eligible_limit: int | None = NOT_ELIGIBLE_LIMIT) -> Recommendations:
        return self.recommend_many([query], locale=locale, on_date=on_date, limit=limit, applied=[applied],
                                   not_eligible_limit=not_eligible_limit)[0]

    def _recommendations(self, query: Query, ranking: Ranking, locale: str,
                         not_eligible_limit: int | None) -> Recommendations:
        snap = self.snapshot
        profile = query.profile
        small = profile.kind == "household_business" or profile.size_class in (None, "micro")
        model_share = (1.0 - self.model.content_share) if self.model is not None else 0.0
        shown = np.concatenate([ranking.programmes, ranking.partners])
        peers = (dict(zip(shown.tolist(), self.model.peer_successes(snap, ranking.org, shown).tolist(), strict=True))
                 if self.model is not None and len(shown) else {})
        c = ranking.content
        pillar_scores = dict(query.pillar_scores)

        def reasons(item: int) -> tuple[str, ...]:
            probability = float(ranking.probabilities[item]) if ranking.probabilities is not None else 0.0
            return explanations.reasons_for(
                snap, item, locale=locale, pillar_scores=pillar_scores, sector=profile.sector,
                content_weights=c.weights, pillar_fit=float(c.pillar[item]), needs_fit=float(c.needs[item]),
                sector_match=bool(c.sector_match[item]),
                small_business=small, label_fit=ranking.label_fit, peer_successes=int(peers.get(item, 0)),
                model_share=model_share * probability)

        programmes = tuple(
            RecommendedProgramme(code=row.code, name=_name(row, locale), kind=row.kind, score=round(score, 4),
                                 max_subsidy_vnd=eligibility.max_subsidy(row, profile.size_class),
                                 reasons=reasons(item))
            for item, score in zip(ranking.programmes.tolist(), ranking.programme_scores.tolist(), strict=True)
            for row in (snap.programmes[item],))
        partners = tuple(
            RecommendedPartner(code=row.code, name=row.name, score=round(score, 4), categories=tuple(row.categories),
                               price_band=row.price_band, website=row.website, email=row.email, phone=row.phone,
                               reasons=reasons(item))
            for item, score in zip(ranking.partners.tolist(), ranking.partner_scores.tolist(), strict=True)
            for row in (snap.partners[item - snap.n_programmes],))
        return Recommendations(programmes=programmes, partners=partners,
                               not_eligible=self.not_eligible(query, ranking, locale, not_eligible_limit),
                               model_version=self.version)

    def not_eligible(self, query: Query, ranking: Ranking, locale: str,
                     limit: int | None = NOT_ELIGIBLE_LIMIT) -> tuple[NotEligible, ...]:
        """Programmes (not retired) this business cannot get, most relevant first, each with its reasons."""
        fails = ranking.failures
        chosen = ranking.not_eligible if limit is None else ranking.not_eligible[:max(0, limit)]
        profile = query.profile
        size, sector, commune, level = profile.size_class, profile.sector, profile.commune_code, query.overall_level
        size_bit, sector_bit = RULE_BITS[eligibility.SIZE], RULE_BITS[eligibility.SECTOR]
        commune_bit, level_bit = RULE_BITS[eligibility.COMMUNE], RULE_BITS[eligibility.LEVEL]
        memo = self.snapshot.cache.setdefault("not-eligible", {})
        entries = []
        for item in chosen.tolist():
            bits = int(fails[item])
            # Memoised on what the sentences depend on: the programme, the failed rules, and the business's
            # own size, sector, commune or level where a failed rule names it.
            key = (item, bits, locale, size if bits & size_bit else None, sector if bits & sector_bit else None,
                   commune if bits & commune_bit else None, level if bits & level_bit else None)
            found = memo.get(key)
            if found is None:
                row = self.snapshot.programmes[item]
                reasons = tuple(self._rule_reason(rule, item, row, profile, query.overall_level, locale)
                                for rule in eligibility.RULES if bits & RULE_BITS[rule])
                if len(memo) > 200_000:
                    memo.clear()
                found = memo[key] = NotEligible(code=row.code, name=_name(row, locale), reasons=reasons)
            entries.append(found)
        return tuple(entries)

    def _rule_reason(self, rule: str, item: int, row, profile: Profile, level: int, locale: str) -> str:
        """One failed rule's sentence, memoised on the programme and what the sentence says of the business."""
        personal = {eligibility.SIZE: profile.size_class, eligibility.SECTOR: profile.sector,
                    eligibility.COMMUNE: profile.commune_code, eligibility.LEVEL: level}.get(rule)
        key = (rule, item, personal, locale)
        memo = self.snapshot.cache.setdefault("rule-reasons", {})
        found = memo.get(key)
        if found is None:
            if len(memo) > 200_000:
                memo.clear()
            found = memo[key] = eligibility.reason(rule, row, profile, level, locale)
        return found
