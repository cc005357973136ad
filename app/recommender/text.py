"""TF-IDF over character n-grams of folded text: the items' texts, and the business's own words.

The weighting is scikit-learn's: ``TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4),
sublinear_tf=True, max_df=0.3)`` on accent-folded text (a test holds this module to it). Two things make
it fast enough for thousands of items and one request in a few milliseconds:

- ``char_wb`` n-grams never cross a word boundary, so a document's counts are the sum of its parts'
  counts. An item's document is its own texts (names, summary) plus shared parts (the words of each
  category, pillar, programme kind and sector it lists); each part is counted once for the catalogue,
  and the item matrix is ``own counts + incidence @ part counts``, in sparse algebra.
- a needs text is turned into weights directly (vocabulary lookup, ``1 + log tf``, idf, L2 norm), not
  through ``transform``'s per-call validation; a batch of them meets the items in one sparse product.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfTransformer

from app.recommender import vocabulary
from app.recommender.features import fold
from app.services import frameworks, sectors

NGRAM_RANGE = (2, 4)
#: n-grams found in more than this share of the documents say nothing about any of them.
MAX_DF = 0.3


def char_wb_ngrams(text: str) -> list[str]:
    """scikit-learn's ``char_wb`` n-grams (2-4) of already folded text, in a faster loop."""
    grams: list[str] = []
    low, high = NGRAM_RANGE
    for word in text.split():
        padded = f" {word} "
        length = len(padded)
        for n in range(low, high + 1):
            if length <= n:
                grams.append(padded)
                break
            grams.extend([padded[i:i + n] for i in range(length - n + 1)])
    return grams


def part_texts(framework: frameworks.Framework) -> dict[tuple[str, str], str]:
    """The shared parts of item documents, folded: categories, pillars, programme kinds, sectors."""
    parts: dict[tuple[str, str], str] = {}
    for code, entry in vocabulary.CATEGORIES.items():
        parts[("category", code)] = fold(" ".join((entry["vi"], entry["en"], entry["words"])))
    names = {p.code: (p.name.vi, p.name.en) for p in framework.pillars}
    for code, entry in vocabulary.PILLARS.items():
        parts[("pillar", code)] = fold(" ".join((entry["vi"], entry["en"], entry["words"], *names.get(code, ()))))
    for code in names:
        parts.setdefault(("pillar", code), fold(" ".join(names[code])))
    for code, entry in vocabulary.PROGRAMME_KINDS.items():
        parts[("kind", code)] = fold(" ".join((entry["vi"], entry["en"], entry["words"])))
    for letter, section in sectors.load_sections().items():
        parts[("sector", letter)] = fold(" ".join((section.name_vi, section.name_en, section.plain_vi,
                                                   section.plain_en)))
    return parts


#: The parts a needs text is explained with ("you wrote that you need help with e-invoicing").
LABEL_GROUPS = ("category", "pillar", "kind")


@dataclass(frozen=True)
class Document:
    """An item's own text (folded) and the shared parts it lists."""

    own: str
    parts: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class NeedsVector:
    """A needs text as TF-IDF weights: the vocabulary indices it contains and their L2-normalised weights."""

    indices: np.ndarray
    values: np.ndarray


@dataclass(frozen=True)
class TextIndex:
    """The fitted weighting and the items' and labels' TF-IDF rows."""

    vocabulary: dict[str, int]
    transformer: TfidfTransformer
    #: n_items x n_grams, rows L2-normalised.
    items: sparse.csr_matrix
    label_keys: tuple[tuple[str, str], ...]
    labels: np.ndarray
    _columns: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def idf(self) -> np.ndarray:
        return self.transformer.idf_

    def vector(self, text: str | None) -> NeedsVector | None:
        """The text's TF-IDF weights, as ``transform`` would give them; None when nothing known is in it."""
        folded = fold(text)
        if not folded:
            return None
        counts = Counter(char_wb_ngrams(folded))
        vocab = self.vocabulary
        found = {vocab[gram]: count for gram, count in counts.items() if gram in vocab}
        if not found:
            return None
        indices = np.fromiter(sorted(found), dtype=np.int64, count=len(found))
        values = (1.0 + np.log(np.array([found[i] for i in indices.tolist()], dtype=float))) * self.idf[indices]
        return NeedsVector(indices, values / math.sqrt(float(values @ values)))

    def similarity_matrix(self, vectors: Sequence[NeedsVector | None]) -> np.ndarray:
        """(texts x items) cosines: the needs vectors as one sparse matrix times the items' transpose."""
        n_items = self.items.shape[0]
        if not any(v is not None for v in vectors) or n_items == 0:
            return np.zeros((len(vectors), n_items))
        transposed = self._columns.get("items_t")
        if transposed is None:
            transposed = self._columns["items_t"] = self.items.T.tocsr()
        present = [v for v in vectors if v is not None]
        indptr = np.concatenate([[0], np.cumsum([len(v.indices) if v is not None else 0 for v in vectors])])
        needs = sparse.csr_matrix((np.concatenate([v.values for v in present]),
                                   np.concatenate([v.indices for v in present]), indptr),
                                  shape=(len(vectors), self.items.shape[1]))
        return (needs @ transposed).toarray()

    def pair_similarity(self, needs: NeedsVector | None, idx: np.ndarray) -> np.ndarray:
        """Cosine of the needs text with the items ``idx`` only (training featurises a few items per text)."""
        if needs is None:
            return np.zeros(len(idx))
        dense = np.zeros(self.items.shape[1])
        dense[needs.indices] = needs.values
        return self.items[idx] @ dense

    def label_similarity(self, needs: NeedsVector | None) -> np.ndarray:
        if needs is None:
            return np.zeros(len(self.label_keys))
        return self.labels[:, needs.indices] @ needs.values


def _count_rows(texts: Sequence[str], vocab: dict[str, int]) -> sparse.csr_matrix:
    """n-gram counts of each text (growing ``vocab``); identical texts are counted once."""
    seen: dict[str, Counter] = {}
    indptr, indices, data = [0], [], []
    for text in texts:
        counts = seen.get(text)
        if counts is None:
            counts = seen[text] = Counter(char_wb_ngrams(text))
        for gram, count in counts.items():
            index = vocab.get(gram)
            if index is None:
                index = vocab[gram] = len(vocab)
            indices.append(index)
            data.append(count)
        indptr.append(len(indices))
    return sparse.csr_matrix((np.array(data, dtype=float), np.array(indices, dtype=np.int64),
                              np.array(indptr, dtype=np.int64)), shape=(len(texts), max(len(vocab), 1)))


def fit(documents: Sequence[Document], framework: frameworks.Framework) -> TextIndex:
    """Fit the weighting on the items' documents and the labels, and weight both."""
    parts = part_texts(framework)
    part_keys = list(parts)
    part_index = {key: i for i, key in enumerate(part_keys)}
    vocab: dict[str, int] = {}
    own = _count_rows([d.own for d in documents], vocab)
    shared = _count_rows([parts[key] for key in part_keys], vocab)
    n_grams = max(len(vocab), 1)
    own = sparse.csr_matrix((own.data, own.indices, own.indptr), shape=(len(documents), n_grams))
    shared = sparse.csr_matrix((shared.data, shared.indices, shared.indptr), shape=(len(part_keys), n_grams))
    rows = [i for i, d in enumerate(documents) for key in d.parts if key in part_index]
    cols = [part_index[key] for d in documents for key in d.parts if key in part_index]
    incidence = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(documents), len(part_keys)))
    item_counts = (own + incidence @ shared).tocsr()
    label_keys = tuple(key for key in part_keys if key[0] in LABEL_GROUPS)
    label_counts = shared[[part_index[key] for key in label_keys]]
    corpus = sparse.vstack([item_counts, label_counts]).tocsr()
    # The corpus's n-grams, less those above max_df, as the vectoriser keeps them (all if none would be left).
    document_frequency = np.bincount(corpus.indices, minlength=n_grams)
    present = document_frequency > 0
    keep = present & (document_frequency <= MAX_DF * corpus.shape[0])
    if not keep.any():
        keep = present
    kept = np.flatnonzero(keep)
    position = np.cumsum(keep) - 1
    vocabulary_ = {gram: int(position[index]) for gram, index in vocab.items() if keep[index]}
    corpus = corpus[:, kept]
    transformer = TfidfTransformer(sublinear_tf=True).fit(corpus)
    items = transformer.transform(item_counts[:, kept]).tocsr() if documents else sparse.csr_matrix((0, len(kept)))
    labels = np.asarray(transformer.transform(label_counts[:, kept]).todense(), dtype=float)
    return TextIndex(vocabulary_, transformer, items, label_keys, labels)
