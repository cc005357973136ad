"""The outcome model: a logistic regression that learns which items work for which businesses.

Labels come from outcomes: an approved or completed application, or a rating of 4-5, is a success; a
rejection or a rating of 1-2 a failure (ratings of 3 say nothing and are left out). For each success a
few items the organisation never tried are added as weak failures (weight ``IMPLICIT_WEIGHT``), so the
model also learns what businesses pick, not only whether what they picked went well.

The features of an (organisation, item) pair, in ``feature_names`` order:

- the organisation: pillar gaps, kind, size class, overall level;
- the item: partner or programme, pillars covered, sector-targeted, programme kind, price band, categories;
- crosses of the organisation's kind and size with the item's type, kind, price band and categories
  (households take to e-invoices and POS apps, larger firms to ERP);
- the pair: gap x coverage per pillar, the content model's parts and total, and what the outcomes say
  about the item: successes overall, and smoothed success rates among businesses of the same sector and
  of the same kind (computed leaving the row's own outcome out while training, so it cannot leak).

Because the model is linear, serving does not build that matrix: ``logits`` adds up the same terms
group by group with item-side products computed once per catalogue snapshot; a test holds it equal to
``estimator.decision_function`` on the explicit matrix.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import uuid4

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression

from app.recommender import content
from app.recommender.features import (
    ITEM_TYPES,
    ORG_KINDS,
    PRICE_BANDS,
    PROGRAMME_KINDS,
    SECTORS,
    SIZE_SLOTS,
    OrgBatch,
    OrgFeatures,
    org_feature_names,
    org_features,
)
from app.recommender.snapshot import CATEGORIES, Snapshot

#: Bump when the features change: a model file with another spec is refused.
FEATURE_SPEC_VERSION = 1
IMPLICIT_WEIGHT = 0.5
IMPLICIT_PER_SUCCESS = 2
#: Pseudo-outcomes at the overall success rate that a per-segment rate starts from.
SMOOTHING = 5.0
#: Share of the content score in the blended score (the rest is the model's probability).
CONTENT_SHARE = 0.5
_LOG_101 = math.log(101.0)


@dataclass(frozen=True)
class OutcomeRecord:
    """One labelled outcome with the organisation as it was (its assessment at the time)."""

    organisation_id: int
    item_type: str
    code: str
    label: int
    occurred_at: datetime
    kind: str
    sector: str
    size_class: str | None
    commune_code: str | None
    pillar_scores: dict[str, float]
    level: int
    needs: str
    #: Outcomes sharing a key share the organisation's features (one assessment).
    query_key: Any = None


@dataclass
class ItemStats:
    """Success counts per item: overall, by the organisation's sector, by its kind."""

    keys: tuple[tuple[str, str], ...]
    pos: np.ndarray
    n: np.ndarray
    pos_sector: np.ndarray
    n_sector: np.ndarray
    pos_kind: np.ndarray
    n_kind: np.ndarray
    prior: float

    @classmethod
    def from_records(cls, records: Sequence[OutcomeRecord]) -> ItemStats:
        keys = tuple(sorted({(r.item_type, r.code) for r in records}))
        index = {key: i for i, key in enumerate(keys)}
        k = len(keys)
        stats = cls(keys, np.zeros(k), np.zeros(k), np.zeros((k, len(SECTORS))), np.zeros((k, len(SECTORS))),
                    np.zeros((k, len(ORG_KINDS))), np.zeros((k, len(ORG_KINDS))),
                    prior=float(np.mean([r.label for r in records])) if records else 0.5)
        for r in records:
            i = index[(r.item_type, r.code)]
            stats.pos[i] += r.label
            stats.n[i] += 1
            if r.sector in SECTORS:
                s = SECTORS.index(r.sector)
                stats.pos_sector[i, s] += r.label
                stats.n_sector[i, s] += 1
            if r.kind in ORG_KINDS:
                j = ORG_KINDS.index(r.kind)
                stats.pos_kind[i, j] += r.label
                stats.n_kind[i, j] += 1
        return stats

    def aligned(self, snapshot: Snapshot) -> dict[str, np.ndarray]:
        """The counts in the snapshot's item order (zeros for items with no outcome yet)."""
        n_items = snapshot.n_items
        out = {"pos": np.zeros(n_items), "n": np.zeros(n_items),
               "pos_sector": np.zeros((n_items, len(SECTORS))), "n_sector": np.zeros((n_items, len(SECTORS))),
               "pos_kind": np.zeros((n_items, len(ORG_KINDS))), "n_kind": np.zeros((n_items, len(ORG_KINDS)))}
        rows, mine = [], []
        for i, key in enumerate(self.keys):
            j = snapshot.item_index.get(key)
            if j is not None:
                rows.append(j)
                mine.append(i)
        if rows:
            for name in out:
                out[name][rows] = getattr(self, name)[mine]
        return out

    def to_arrays(self) -> dict[str, Any]:
        return {"keys": [list(key) for key in self.keys], "prior": self.prior,
                **{name: getattr(self, name) for name in ("pos", "n", "pos_sector", "n_sector", "pos_kind",
                                                           "n_kind")}}


def item_static(snapshot: Snapshot) -> np.ndarray:
    """Item-only features: partner?, pillars covered, sector-targeted, programme kind, price band, categories."""
    def build():
        a = snapshot.arrays
        return np.hstack([a["item_is_partner"][:, None], a["item_pillars_n"], (a["item_sectors"] != 0)[:, None],
                          a["item_kind"], a["item_price"], a["item_categories"]])
    return snapshot.cache_get("item_static", build)


def item_cat(snapshot: Snapshot) -> np.ndarray:
    """The item side of the crosses: type, programme kind, price band, categories."""
    def build():
        a = snapshot.arrays
        return np.hstack([(1.0 - a["item_is_partner"])[:, None], a["item_is_partner"][:, None], a["item_kind"],
                          a["item_price"], a["item_categories"]])
    return snapshot.cache_get("item_cat", build)


def _item_static_names(pillars: tuple[str, ...]) -> list[str]:
    return ["item:partner", *(f"item:pillar:{p}" for p in pillars), "item:sector_targeted",
            *(f"item:kind:{k}" for k in PROGRAMME_KINDS), *(f"item:price:{b}" for b in PRICE_BANDS),
            *(f"item:category:{c}" for c in CATEGORIES)]


def _item_cat_names() -> list[str]:
    return [*(f"type:{t}" for t in ITEM_TYPES), *(f"kind:{k}" for k in PROGRAMME_KINDS),
            *(f"price:{b}" for b in PRICE_BANDS), *(f"category:{c}" for c in CATEGORIES)]


PAIR_NAMES = ("pillar_fit", "needs_fit", "sector_match", "profile_fit", "content", "successes", "sector_rate",
              "kind_rate", "sector_successes")


def feature_names(pillars: tuple[str, ...]) -> tuple[str, ...]:
    org_cats = [*(f"kind:{k}" for k in ORG_KINDS), *(f"size:{s}" for s in SIZE_SLOTS)]
    return (*org_feature_names(pillars), *_item_static_names(pillars),
            *(f"cross:{a}x{c}" for a in org_cats for c in _item_cat_names()),
            *(f"pair:gap_x_pillar:{p}" for p in pillars), *(f"pair:{name}" for name in PAIR_NAMES))


def feature_spec(pillars: tuple[str, ...]) -> dict[str, Any]:
    return {"version": FEATURE_SPEC_VERSION, "pillars": list(pillars), "names": list(feature_names(pillars))}


def _segment(table: np.ndarray, idx: np.ndarray, segment: np.ndarray) -> np.ndarray:
    """table[idx[r], segment[r]] per row, 0 where the segment is unknown (-1)."""
    return np.where(segment >= 0, table[idx, np.maximum(segment, 0)], 0.0)


def pair_rows(snapshot: Snapshot, orgs: OrgBatch, idx: np.ndarray, scores: content.ContentScores,
              stats: dict[str, np.ndarray], prior: float, own_label: np.ndarray | None = None) -> np.ndarray:
    """Pair features of (orgs row r, item idx[r]); ``own_label`` (NaN = not an outcome) is left out of counts."""
    pos, n = stats["pos"][idx], stats["n"][idx]
    pos_s, n_s = _segment(stats["pos_sector"], idx, orgs.sector), _segment(stats["n_sector"], idx, orgs.sector)
    pos_k, n_k = _segment(stats["pos_kind"], idx, orgs.kind), _segment(stats["n_kind"], idx, orgs.kind)
    if own_label is not None:
        real = ~np.isnan(own_label)
        label = np.where(real, own_label, 0.0)
        pos, n = pos - label, n - real
        pos_s, n_s = pos_s - label * (orgs.sector >= 0), n_s - real * (orgs.sector >= 0)
        pos_k, n_k = pos_k - label * (orgs.kind >= 0), n_k - real * (orgs.kind >= 0)
    return np.hstack([
        snapshot.arrays["item_pillars_n"][idx] * orgs.gaps,
        np.column_stack([
            scores.pillar, scores.needs, scores.sector_match, scores.profile, scores.total,
            np.log1p(np.maximum(pos, 0)) / _LOG_101,
            (pos_s + SMOOTHING * prior) / (n_s + SMOOTHING),
            (pos_k + SMOOTHING * prior) / (n_k + SMOOTHING),
            np.log1p(np.maximum(pos_s, 0)) / _LOG_101,
        ]),
    ])


def design_rows(snapshot: Snapshot, orgs: OrgBatch, idx: np.ndarray, scores: content.ContentScores,
                stats: dict[str, np.ndarray], prior: float, own_label: np.ndarray | None = None) -> sparse.csr_matrix:
    """The explicit feature rows (sparse: the crosses are mostly zeros), in ``feature_names`` order."""
    cats = sparse.csr_matrix(item_cat(snapshot)[idx])
    org_cats = orgs.categorical
    cross = sparse.hstack([sparse.diags(org_cats[:, a]) @ cats for a in range(org_cats.shape[1])])
    return sparse.hstack([
        sparse.csr_matrix(orgs.dense), sparse.csr_matrix(item_static(snapshot)[idx]), cross,
        sparse.csr_matrix(pair_rows(snapshot, orgs, idx, scores, stats, prior, own_label)),
    ]).tocsr()


@dataclass
class OutcomeModel:
    """A fitted estimator with the item statistics it was trained with."""

    estimator: LogisticRegression
    pillars: tuple[str, ...]
    stats: ItemStats
    version: str = "untrained"
    content_share: float = CONTENT_SHARE
    #: Keys this model's arrays in a snapshot's cache.
    token: str = field(default_factory=lambda: uuid4().hex, repr=False)

    @property
    def spec(self) -> dict[str, Any]:
        return feature_spec(self.pillars)

    def aligned(self, snapshot: Snapshot) -> dict[str, np.ndarray]:
        """The item statistics in the snapshot's item order."""
        return snapshot.cache_get(("model-stats", self.token), lambda: self.stats.aligned(snapshot))

    def design(self, snapshot: Snapshot, org: OrgFeatures, scores: content.ContentScores,
               idx: np.ndarray) -> np.ndarray:
        """The explicit feature rows of one business with items ``idx`` (``scores`` over every item)."""
        orgs = OrgBatch.of([org]).take(np.zeros(len(idx), dtype=int))
        subset = _subset(scores, idx)
        return design_rows(snapshot, orgs, idx, subset, self.aligned(snapshot), self.stats.prior).toarray()

    def _weights(self, snapshot: Snapshot) -> dict[str, Any]:
        """The coefficients split by feature group, with the item-side products done once per snapshot."""
        def build():
            w = self.estimator.coef_.ravel()
            sizes = {"org": len(org_feature_names(self.pillars)), "static": len(_item_static_names(self.pillars)),
                     "cross": (len(ORG_KINDS) + len(SIZE_SLOTS)) * len(_item_cat_names()),
                     "pair": len(self.pillars) + len(PAIR_NAMES)}
            parts, start = {}, 0
            for name, size in sizes.items():
                parts[name] = w[start:start + size]
                start += size
            return {
                "org": parts["org"],
                "static_logit": item_static(snapshot) @ parts["static"],
                "cross": parts["cross"].reshape(len(ORG_KINDS) + len(SIZE_SLOTS), len(_item_cat_names())),
                "pair": parts["pair"],
                "intercept": float(self.estimator.intercept_[0]),
            }
        return snapshot.cache_get(("model-weights", self.token), build)

    def _item_rates(self, snapshot: Snapshot) -> dict[str, np.ndarray]:
        """What the outcomes say about each item, per sector and kind, as the pair features read it."""
        def build():
            stats, prior = self.aligned(snapshot), self.stats.prior
            return {
                "successes": np.log1p(np.maximum(stats["pos"], 0)) / _LOG_101,
                "sector_rate": ((stats["pos_sector"] + SMOOTHING * prior) / (stats["n_sector"] + SMOOTHING)).T,
                "kind_rate": ((stats["pos_kind"] + SMOOTHING * prior) / (stats["n_kind"] + SMOOTHING)).T,
                "sector_successes": (np.log1p(np.maximum(stats["pos_sector"], 0)) / _LOG_101).T,
            }
        return snapshot.cache_get(("model-rates", self.token), build)

    def _segment_base(self, snapshot: Snapshot, sector: int, kind: int, size: int) -> np.ndarray:
        """The logit terms that depend only on the item and the business's sector, kind and size."""
        w = self._weights(snapshot)
        rates = self._item_rates(snapshot)
        pair, p, prior = w["pair"], len(self.pillars), self.stats.prior
        match, profile = content.segment_profile(snapshot, sector, kind, size)
        categorical = np.zeros(len(ORG_KINDS) + len(SIZE_SLOTS))
        if kind >= 0:
            categorical[kind] = 1.0
        categorical[len(ORG_KINDS) + size] = 1.0
        return (w["static_logit"] + item_cat(snapshot) @ (categorical @ w["cross"])
                + pair[p + 2] * match + pair[p + 3] * profile + pair[p + 5] * rates["successes"]
                + pair[p + 6] * (rates["sector_rate"][sector] if sector >= 0 else prior)
                + pair[p + 7] * (rates["kind_rate"][kind] if kind >= 0 else prior)
                + pair[p + 8] * (rates["sector_successes"][sector] if sector >= 0 else 0.0))

    def logits_matrix(self, snapshot: Snapshot, orgs: OrgBatch, scores: content.ContentScores) -> np.ndarray:
        """(businesses x items) ``decision_function`` of the explicit rows, added up group by group: the terms
        of a business segment once per snapshot, the pillar, needs and content terms per business."""
        w = self._weights(snapshot)
        pair, p = w["pair"], len(self.pillars)
        total = content.segment_rows(snapshot, orgs, ("model-base", self.token),
                                     lambda sector, kind, size: self._segment_base(snapshot, sector, kind, size))
        total = total + (orgs.gaps * pair[:p]) @ snapshot.arrays["item_pillars_n"].T
        total += pair[p] * scores.pillar + pair[p + 1] * scores.needs + pair[p + 4] * scores.total
        total += ((orgs.dense @ w["org"]) + w["intercept"])[:, None]
        return total

    def logits(self, snapshot: Snapshot, org: OrgFeatures, scores: content.ContentScores,
               idx: np.ndarray) -> np.ndarray:
        """One business's logits for items ``idx`` (``scores`` over every item)."""
        matrix = content.ContentScores(scores.pillar[None, :], scores.needs[None, :], scores.profile[None, :],
                                       scores.sector_match[None, :], scores.total[None, :], scores.weights)
        return self.logits_matrix(snapshot, OrgBatch.of([org]), matrix)[0, idx]

    def probabilities(self, snapshot: Snapshot, org: OrgFeatures, scores: content.ContentScores,
                      idx: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.logits(snapshot, org, scores, idx)))

    def peer_successes(self, snapshot: Snapshot, org: OrgFeatures, idx: np.ndarray) -> np.ndarray:
        """Successes with each item among businesses of the same sector (else of the same kind)."""
        stats = self.aligned(snapshot)
        same_sector = (stats["pos_sector"][idx, SECTORS.index(org.sector)] if org.sector in SECTORS
                       else np.zeros(len(idx)))
        same_kind = stats["pos_kind"][idx, ORG_KINDS.index(org.kind)] if org.kind in ORG_KINDS else np.zeros(len(idx))
        return np.where(same_sector >= 2, same_sector, same_kind)


def _subset(scores: content.ContentScores, idx: np.ndarray) -> content.ContentScores:
    return content.ContentScores(scores.pillar[idx], scores.needs[idx], scores.profile[idx],
                                 scores.sector_match[idx], scores.total[idx], scores.weights)


@dataclass(frozen=True)
class Pairs:
    """(organisation, item) pairs to featurise: one row per pair, organisations by group."""

    orgs: OrgBatch
    idx: np.ndarray
    needs: np.ndarray
    has_needs: np.ndarray

    def content(self, snapshot: Snapshot) -> content.ContentScores:
        return content.score_rows(snapshot, self.idx, self.orgs, self.needs, self.has_needs)


def pairs_of(snapshot: Snapshot, groups: list[tuple[OutcomeRecord, np.ndarray]]) -> Pairs:
    """Rows for each group's items, with the group's organisation and its needs text's cosine per item."""
    pillars = snapshot.pillars
    orgs = [org_features(r.kind, r.sector, r.size_class, r.pillar_scores, r.level, pillars) for r, _ in groups]
    batch = OrgBatch.of(orgs)
    counts = np.array([len(items) for _, items in groups], dtype=int)
    row_group = np.repeat(np.arange(len(groups)), counts)
    idx = np.concatenate([items for _, items in groups]) if groups else np.zeros(0, dtype=int)
    needs = np.zeros(len(idx))
    has_needs = np.zeros(len(idx), dtype=bool)
    vectors: dict[str, Any] = {}
    start = 0
    for (r, items), count in zip(groups, counts.tolist(), strict=True):
        if r.needs not in vectors:
            vectors[r.needs] = snapshot.text.vector(r.needs)
        vector = vectors[r.needs]
        if vector is not None:
            needs[start:start + count] = snapshot.text.pair_similarity(vector, items)
            has_needs[start:start + count] = True
        start += count
    return Pairs(batch.take(row_group), idx, needs, has_needs)


def fit(records: Sequence[OutcomeRecord], snapshot: Snapshot, seed: int = 0, c: float = 1.0) -> OutcomeModel:
    """Train on ``records`` against the items of ``snapshot`` (outcomes on unknown items are skipped)."""
    index = snapshot.item_index
    records = [r for r in records if (r.item_type, r.code) in index]
    if {r.label for r in records} != {0, 1}:
        raise ValueError("training needs both successes and failures among the outcomes")
    model = OutcomeModel(LogisticRegression(C=c, max_iter=2000), snapshot.pillars, ItemStats.from_records(records))
    rng = np.random.default_rng(seed)
    type_items = {"programme": (0, snapshot.n_programmes), "partner": (snapshot.n_programmes, snapshot.n_items)}
    tried: dict[int, set[int]] = {}
    for r in records:
        tried.setdefault(r.organisation_id, set()).add(index[(r.item_type, r.code)])
    grouped: dict[Any, list[tuple[int, float, float]]] = {}
    first: dict[Any, OutcomeRecord] = {}
    for r in records:
        key = (r.organisation_id, r.query_key)
        first.setdefault(key, r)
        rows = grouped.setdefault(key, [])
        rows.append((index[(r.item_type, r.code)], float(r.label), 1.0))
        if r.label == 1:
            low, high = type_items[r.item_type]
            for pick in rng.integers(low, high, size=IMPLICIT_PER_SUCCESS).tolist():
                if pick not in tried[r.organisation_id]:
                    rows.append((pick, math.nan, IMPLICIT_WEIGHT))
    keys = list(grouped)
    pairs = pairs_of(snapshot, [(first[key], np.array([row[0] for row in grouped[key]])) for key in keys])
    own = np.array([row[1] for key in keys for row in grouped[key]])
    weights = np.array([row[2] for key in keys for row in grouped[key]])
    x = design_rows(snapshot, pairs.orgs, pairs.idx, pairs.content(snapshot), model.aligned(snapshot),
                    model.stats.prior, own_label=own)
    model.estimator.fit(x, np.nan_to_num(own, nan=0.0).astype(int), sample_weight=weights)
    return model
