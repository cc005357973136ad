"""Features shared by the content model, the outcome model, training and serving.

An organisation becomes an ``OrgFeatures`` (pillar gaps and their weights, kind, size, sector, level), and
several an ``OrgBatch`` of arrays; a catalogue item becomes a row of the snapshot's item matrices
(``snapshot.py``). Text is folded the same way everywhere:
NFC, lower case, Vietnamese ``đ`` -> ``d``, accents removed, so "hoá đơn", "hóa đơn" and "hoa don" are the
same words to the character n-gram TF-IDF (no word segmenter needed for Vietnamese).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

ORG_KINDS = ("enterprise", "cooperative", "household_business")
#: Size classes, then "unknown" (figures incomplete).
SIZE_CLASSES = ("micro", "small", "medium", "large")
SIZE_SLOTS = (*SIZE_CLASSES, "unknown")
SECTORS = tuple("ABCDEFGHIJKLMNOPQRSTU")
PROGRAMME_KINDS = ("subsidy", "voucher", "consulting", "training", "platform", "loan")
PRICE_BANDS = ("low", "medium", "high")
ITEM_TYPES = ("programme", "partner")
#: A pillar the business did not score is treated as half-way (gap 0.5).
MISSING_PILLAR_SCORE = 50.0

_NON_WORD = re.compile(r"[^0-9a-z]+")
_FOLD_TABLE = str.maketrans({"đ": "d", "Đ": "d"})


def fold(text: str | None) -> str:
    """Accent-folded, NFC-normalised, lower-cased text with one space between words."""
    if not text:
        return ""
    text = unicodedata.normalize("NFC", text).lower().translate(_FOLD_TABLE)
    stripped = "".join(ch for ch in unicodedata.normalize("NFD", text) if not unicodedata.combining(ch))
    return _NON_WORD.sub(" ", stripped).strip()


@dataclass(frozen=True)
class OrgFeatures:
    """An organisation at the time of a query: what every model reads about it."""

    #: (100 - score) / 100 per pillar, in the snapshot's pillar order, within [0, 1].
    gaps: np.ndarray
    #: gap², normalised to unit length: weak pillars weigh most (zeros when every pillar is at 100).
    gap_weights: np.ndarray
    kind: str
    size_slot: str
    sector: str
    level: int


def org_features(kind, sector: str, size_class, pillar_scores: Mapping[str, float], level: int,
                 pillars: tuple[str, ...]) -> OrgFeatures:
    scores = np.array([float(pillar_scores.get(code, MISSING_PILLAR_SCORE)) for code in pillars])
    gaps = np.clip((100.0 - scores) / 100.0, 0.0, 1.0)
    weights = gaps ** 2
    norm = float(np.sqrt((weights ** 2).sum()))
    kind = getattr(kind, "value", kind)
    size = getattr(size_class, "value", size_class)
    return OrgFeatures(gaps=gaps, gap_weights=weights / norm if norm > 0 else weights, kind=kind,
                       size_slot=size if size in SIZE_CLASSES else "unknown", sector=sector, level=int(level))


def org_feature_names(pillars: tuple[str, ...]) -> tuple[str, ...]:
    return (*(f"gap:{p}" for p in pillars), *(f"kind:{k}" for k in ORG_KINDS), *(f"size:{s}" for s in SIZE_SLOTS),
            "level")


@dataclass(frozen=True)
class OrgBatch:
    """Many organisations (or one, repeated) as arrays, one row each: what the batched features read."""

    gaps: np.ndarray
    gap_weights: np.ndarray
    #: Indices into ORG_KINDS, SIZE_SLOTS and SECTORS (-1: unknown kind or sector).
    kind: np.ndarray
    size: np.ndarray
    sector: np.ndarray
    level: np.ndarray

    @classmethod
    def of(cls, orgs: list[OrgFeatures]) -> OrgBatch:
        if not orgs:
            empty = np.zeros((0, 0))
            return cls(empty, empty, np.zeros(0, int), np.zeros(0, int), np.zeros(0, int), np.zeros(0))
        return cls(
            gaps=np.vstack([o.gaps for o in orgs]),
            gap_weights=np.vstack([o.gap_weights for o in orgs]),
            kind=np.array([ORG_KINDS.index(o.kind) if o.kind in ORG_KINDS else -1 for o in orgs]),
            size=np.array([SIZE_SLOTS.index(o.size_slot) for o in orgs]),
            sector=np.array([SECTORS.index(o.sector) if o.sector in SECTORS else -1 for o in orgs]),
            level=np.array([float(o.level) for o in orgs]),
        )

    def take(self, rows: np.ndarray) -> OrgBatch:
        return OrgBatch(self.gaps[rows], self.gap_weights[rows], self.kind[rows], self.size[rows],
                        self.sector[rows], self.level[rows])

    @property
    def kind_onehot(self) -> np.ndarray:
        return (self.kind[:, None] == np.arange(len(ORG_KINDS))[None, :]).astype(float)

    @property
    def size_onehot(self) -> np.ndarray:
        return (self.size[:, None] == np.arange(len(SIZE_SLOTS))[None, :]).astype(float)

    @property
    def dense(self) -> np.ndarray:
        """The organisation-only features, in ``org_feature_names`` order."""
        return np.hstack([self.gaps, self.kind_onehot, self.size_onehot, (self.level / 5.0)[:, None]])

    @property
    def categorical(self) -> np.ndarray:
        """Kind and size one-hots: the organisation side of the crosses."""
        return np.hstack([self.kind_onehot, self.size_onehot])
