"""``flask recommender evaluate``: the recommender against a popularity baseline and random, on a time split.

The outcomes are ordered by time; the most recent ``test_share`` are the test set, the rest train the
outcome model (and count popularity). Each (organisation, item type) with at least one success in the test
period is a query: the organisation's profile and its assessment at its first test outcome, the items it
succeeded with are the relevant ones. Every method ranks the same candidates (programmes the organisation
is eligible for on its profile and level, vetted partners that serve it; the application window and
budget are left out, since history's windows have closed). Reported: nDCG@k and precision@k averaged over
queries, and catalogue coverage (share of the catalogue that appears in some top k).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from app.recommender import outcome_model
from app.recommender.base import Profile, Query
from app.recommender.engine import Engine
from app.recommender.outcome_model import OutcomeRecord
from app.recommender.snapshot import Snapshot
from app.recommender.training import time_split

TEST_SHARE = 0.2
K = 5


@dataclass(frozen=True)
class MethodResult:
    name: str
    ndcg: float
    precision: float
    coverage: float


@dataclass(frozen=True)
class Report:
    rows: tuple[MethodResult, ...]
    k: int
    n_train: int
    n_test: int
    n_queries: int
    model_trained: bool

    def row(self, name: str) -> MethodResult:
        return next(row for row in self.rows if row.name == name)


def ndcg_at(ranked: Sequence[int], relevant: set[int], k: int) -> float:
    gains = sum(1.0 / math.log2(position + 2) for position, item in enumerate(ranked[:k]) if item in relevant)
    ideal = sum(1.0 / math.log2(position + 2) for position in range(min(k, len(relevant))))
    return gains / ideal if ideal else 0.0


def precision_at(ranked: Sequence[int], relevant: set[int], k: int) -> float:
    return sum(1 for item in ranked[:k] if item in relevant) / k


def evaluate(records: Sequence[OutcomeRecord], snap: Snapshot, test_share: float = TEST_SHARE, seed: int = 0,
             k: int = K) -> Report:
    """Rank each test query with every method; the same split and candidates for all."""
    known = [r for r in records if (r.item_type, r.code) in snap.item_index]
    train, test = time_split(known, test_share)
    try:
        model = outcome_model.fit(train, snap, seed=seed)
    except ValueError:
        model = None
    engines = {"recommender": Engine(snap, model), "content only": Engine(snap, None)}
    popularity = Counter(snap.item_index[(r.item_type, r.code)] for r in train if r.label == 1)
    rng = np.random.default_rng(seed)
    first: dict[int, OutcomeRecord] = {}
    relevant: dict[tuple[int, str], set[int]] = {}
    for r in test:
        first.setdefault(r.organisation_id, r)
        if r.label == 1:
            relevant.setdefault((r.organisation_id, r.item_type), set()).add(snap.item_index[(r.item_type, r.code)])
    names = ("recommender", "content only", "popularity", "random")
    ndcg = {name: [] for name in names}
    precision = {name: [] for name in names}
    shown: dict[str, set[int]] = {name: set() for name in names}
    for (org_id, item_type), wanted in sorted(relevant.items()):
        r = first[org_id]
        query = Query(Profile(r.kind, r.sector, r.size_class, r.commune_code, org_id), r.pillar_scores, r.level,
                      r.needs)
        ranked: dict[str, list[int]] = {}
        for name, engine in engines.items():
            ranking = engine.rank(query, on_date=None)
            ranked[name] = (ranking.programmes if item_type == "programme" else ranking.partners).tolist()
        candidates = sorted(ranked["content only"])
        ranked["popularity"] = sorted(candidates, key=lambda item: (-popularity.get(item, 0), item))
        ranked["random"] = [candidates[i] for i in rng.permutation(len(candidates))]
        for name in names:
            ndcg[name].append(ndcg_at(ranked[name], wanted, k))
            precision[name].append(precision_at(ranked[name], wanted, k))
            shown[name].update(ranked[name][:k])
    active = int((~snap.arrays["p_retired"]).sum() + snap.arrays["q_ok"].sum())
    rows = tuple(MethodResult(name, float(np.mean(ndcg[name])) if ndcg[name] else 0.0,
                              float(np.mean(precision[name])) if precision[name] else 0.0,
                              len(shown[name]) / active if active else 0.0) for name in names)
    return Report(rows, k, len(train), len(test), len(relevant), model is not None)


def format_table(report: Report) -> str:
    """A plain-text table for the terminal."""
    k = report.k
    lines = [
        f"Time split: {report.n_train} training outcomes, {report.n_test} test outcomes, {report.n_queries} queries"
        + ("" if report.model_trained else " (too few outcomes to train: recommender = content model)"),
        f"{'method':<14} {f'nDCG@{k}':>8} {f'P@{k}':>8} {'coverage':>9}",
    ]
    for row in report.rows:
        lines.append(f"{row.name:<14} {row.ndcg:>8.3f} {row.precision:>8.3f} {row.coverage:>8.1%}")
    return "\n".join(lines)
