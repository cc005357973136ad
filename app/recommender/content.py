"""The content model: how well each catalogue item fits a business, from what is known before any outcome.

Three parts, each in [0, 1], for every item of the snapshot in one vectorised pass:

- ``pillar``: cosine between the business's gap weights (gap², so the weakest pillars dominate) and the
  pillars the item covers;
- ``needs``: cosine between the TF-IDF character n-grams of the business's own words and the item's texts
  (names, summaries, category and pillar words, in both languages);
- ``profile``: sector fit (made for the business's sector > open to every sector), and for programmes a
  size-class target, for partners a price band that suits the business's size.

``total`` = weighted sum; without a needs text its weight goes to the pillars.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.recommender.features import ORG_KINDS, SIZE_CLASSES, OrgBatch, OrgFeatures
from app.recommender.snapshot import Snapshot
from app.recommender.text import NeedsVector

VERSION = "content-1"
WEIGHTS = {"pillar": 0.55, "needs": 0.30, "profile": 0.15}
WEIGHTS_WITHOUT_NEEDS = {"pillar": 0.75, "needs": 0.0, "profile": 0.25}
#: Price band fit (low, medium, high) by the business's size; households and unknown sizes as micro.
PRICE_FIT = {
    "micro": (1.0, 0.6, 0.2),
    "small": (0.9, 1.0, 0.5),
    "medium": (0.6, 1.0, 1.0),
    "large": (0.6, 1.0, 1.0),
}


@dataclass(frozen=True)
class ContentScores:
    """The content model's parts and total, one value per scored item."""

    pillar: np.ndarray
    needs: np.ndarray
    profile: np.ndarray
    sector_match: np.ndarray
    total: np.ndarray
    #: The weights of the parts: floats for one business, arrays (one per row) for a batch.
    weights: dict


#: Price band fit rows in SIZE_SLOTS order (micro, small, medium, large, unknown as micro).
_PRICE_TABLE = np.array([PRICE_FIT["micro"], PRICE_FIT["small"], PRICE_FIT["medium"], PRICE_FIT["large"],
                         PRICE_FIT["micro"]])
_HOUSEHOLD = ORG_KINDS.index("household_business")


def _price_fit_rows(snapshot: Snapshot, idx: np.ndarray, orgs: OrgBatch) -> np.ndarray:
    """How well each item's price band suits each business's size (households are priced as micro)."""
    slot = np.where(orgs.kind == _HOUSEHOLD, 0, orgs.size)
    price = snapshot.arrays["item_price"][idx]
    fit = (price * _PRICE_TABLE[slot]).sum(axis=1)
    return np.where(price.sum(axis=1) > 0, fit, 0.5)


def score_rows(snapshot: Snapshot, idx: np.ndarray, orgs: OrgBatch, needs: np.ndarray,
               has_needs: np.ndarray) -> ContentScores:
    """Content scores of pairs (``orgs`` row r, item ``idx[r]``); ``needs`` is each pair's needs cosine."""
    a = snapshot.arrays
    pillar = (a["item_pillars_n"][idx] * orgs.gap_weights).sum(axis=1)
    item_sectors = a["item_sectors"][idx]
    sector_bits = np.where(orgs.sector >= 0, np.left_shift(1, np.maximum(orgs.sector, 0)), 0)
    sector_match = (item_sectors & sector_bits) != 0
    sector_term = np.where(item_sectors == 0, 0.5, np.where(sector_match, 1.0, 0.0))
    sizes = a["item_sizes"][idx]
    size_bits = np.where(orgs.size < len(SIZE_CLASSES), np.left_shift(1, orgs.size), 0)
    size_term = np.where(sizes == 0, 0.5, np.where((sizes & size_bits) != 0, 1.0, 0.0))
    fit = np.where(a["item_is_partner"][idx] > 0, _price_fit_rows(snapshot, idx, orgs), size_term)
    profile = 0.5 * sector_term + 0.5 * fit
    weights = {part: np.where(has_needs, WEIGHTS[part], WEIGHTS_WITHOUT_NEEDS[part]) for part in WEIGHTS}
    total = weights["pillar"] * pillar + weights["needs"] * needs + weights["profile"] * profile
    return ContentScores(pillar=pillar, needs=needs, profile=profile, sector_match=sector_match, total=total,
                         weights=weights)


def price_fit_matrix(snapshot: Snapshot, orgs: OrgBatch) -> np.ndarray:
    """(businesses x items) price-band fit (0.5 for items without a price band)."""
    slot = np.where(orgs.kind == _HOUSEHOLD, 0, orgs.size)
    fit = _PRICE_TABLE[slot] @ snapshot.arrays["item_price"].T
    return np.where(snapshot.cache_get("item_has_price", lambda: snapshot.arrays["item_price"].sum(axis=1) > 0),
                    fit, 0.5)


def needs_matrix(snapshot: Snapshot, vectors: list[NeedsVector | None]) -> np.ndarray:
    """(businesses x items) cosine of each business's needs text with each item's text, in one product."""
    return snapshot.text.similarity_matrix(vectors)


def _profile_parts(snapshot: Snapshot, orgs: OrgBatch) -> tuple[np.ndarray, np.ndarray]:
    """(businesses x items) sector match and profile fit: they depend only on sector, kind and size."""
    a = snapshot.arrays
    item_sectors = a["item_sectors"][None, :]
    sector_bits = np.where(orgs.sector >= 0, np.left_shift(1, np.maximum(orgs.sector, 0)), 0)[:, None]
    sector_match = (item_sectors & sector_bits) != 0
    sector_term = np.where(item_sectors == 0, 0.5, np.where(sector_match, 1.0, 0.0))
    sizes = a["item_sizes"][None, :]
    size_bits = np.where(orgs.size < len(SIZE_CLASSES), np.left_shift(1, np.minimum(orgs.size, 62)), 0)[:, None]
    size_term = np.where(sizes == 0, 0.5, np.where((sizes & size_bits) != 0, 1.0, 0.0))
    fit = np.where(a["item_is_partner"][None, :] > 0, price_fit_matrix(snapshot, orgs), size_term)
    return sector_match, 0.5 * sector_term + 0.5 * fit


def segment_rows(snapshot: Snapshot, orgs: OrgBatch, name: str, build) -> np.ndarray:
    """Stack, per business, an item vector that depends only on its (sector, kind, size): each is built once
    per snapshot by ``build(sector, kind, size)`` and reused for every business in that segment."""
    rows = []
    for key in zip(orgs.sector.tolist(), orgs.kind.tolist(), orgs.size.tolist(), strict=True):
        rows.append(snapshot.cache_get((name, *key), lambda key=key: build(*key)))
    return np.stack(rows) if rows else np.zeros((0, snapshot.n_items))


def segment_profile(snapshot: Snapshot, sector: int, kind: int, size: int) -> np.ndarray:
    """Sector match and profile fit of one (sector, kind, size), as a (2 x items) array."""
    one = OrgBatch(np.zeros((1, 0)), np.zeros((1, 0)), np.array([kind]), np.array([size]), np.array([sector]),
                   np.zeros(1))
    match, profile = _profile_parts(snapshot, one)
    return np.vstack([match[0], profile[0]])


def score_matrix(snapshot: Snapshot, orgs: OrgBatch, needs: np.ndarray, has_needs: np.ndarray) -> ContentScores:
    """Content scores of every item for each business: (businesses x items) arrays, one pass for all."""
    pillar = orgs.gap_weights @ snapshot.arrays["item_pillars_n"].T
    parts = segment_rows(snapshot, orgs, "content-profile",
                         lambda sector, kind, size: segment_profile(snapshot, sector, kind, size))
    sector_match = parts[:, 0, :] > 0 if len(parts) else np.zeros((0, snapshot.n_items), dtype=bool)
    profile = parts[:, 1, :] if len(parts) else np.zeros((0, snapshot.n_items))
    weights = {part: np.where(has_needs, WEIGHTS[part], WEIGHTS_WITHOUT_NEEDS[part]) for part in WEIGHTS}
    total = (weights["pillar"][:, None] * pillar + weights["needs"][:, None] * needs
             + weights["profile"][:, None] * profile)
    return ContentScores(pillar=pillar, needs=needs, profile=profile, sector_match=sector_match, total=total,
                         weights=weights)


def row(scores: ContentScores, r: int) -> ContentScores:
    """One business's scores out of a matrix (weights as floats)."""
    return ContentScores(scores.pillar[r], scores.needs[r], scores.profile[r], scores.sector_match[r],
                         scores.total[r], {part: float(value[r]) for part, value in scores.weights.items()})


def score(snapshot: Snapshot, org: OrgFeatures, needs_vector: NeedsVector | None = None) -> ContentScores:
    """Content scores of every item (programmes then partners) for one business."""
    matrix = score_matrix(snapshot, OrgBatch.of([org]), needs_matrix(snapshot, [needs_vector]),
                          np.array([needs_vector is not None]))
    return row(matrix, 0)
