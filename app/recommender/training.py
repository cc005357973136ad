"""``flask recommender train``: outcomes from the database -> a fitted outcome model -> a signed model file."""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import log_loss, roc_auc_score
from sqlalchemy import select

from app.recommender import outcome_model, persistence
from app.recommender import snapshot as snapshots
from app.recommender.outcome_model import OutcomeModel, OutcomeRecord
from app.recommender.snapshot import Snapshot

#: The most recent share of outcomes (by time) held out to measure the model before the final fit.
HOLDOUT_SHARE = 0.2
MIN_OUTCOMES = 20


class TrainingError(ValueError):
    """There is not enough to learn from (the content model stays in use)."""


@dataclass(frozen=True)
class Dataset:
    records: tuple[OutcomeRecord, ...]
    #: SHA-256 of the outcome rows used, recorded with the model.
    hash: str
    n_outcomes: int


def label_of(kind: Any, rating: int | None) -> int | None:
    """1 for a success, 0 for a failure, None for an outcome that says neither (a rating of 3)."""
    kind = getattr(kind, "value", kind)
    if kind in ("approved", "completed"):
        return 1
    if kind == "rejected":
        return 0
    if kind == "rating" and rating is not None:
        if rating >= 4:
            return 1
        if rating <= 2:
            return 0
    return None


def load_dataset(session=None) -> Dataset:
    """Every labelled outcome with its organisation and the assessment it had then (else its latest)."""
    from app.extensions import db
    from app.models import Assessment, AssessmentPillarScore, AssessmentStatus, Organisation, Outcome

    session = session or db.session
    rows = session.execute(
        select(Outcome.id, Outcome.organisation_id, Outcome.item_type, Outcome.item_code, Outcome.kind,
               Outcome.rating, Outcome.assessment_id, Outcome.occurred_at, Organisation.kind, Organisation.sector,
               Organisation.size_class, Organisation.commune_code)
        .join(Organisation, Organisation.id == Outcome.organisation_id)
        .order_by(Outcome.occurred_at, Outcome.id)
    ).all()
    latest_query = select(Assessment.organisation_id, Assessment.id).where(
        Assessment.is_latest.is_(True), Assessment.status == AssessmentStatus.SUBMITTED,
        Assessment.organisation_id.in_(select(Outcome.organisation_id).where(Outcome.assessment_id.is_(None))))
    latest = dict(session.execute(latest_query).all())
    used = select(Outcome.assessment_id).where(Outcome.assessment_id.is_not(None))
    wanted = Assessment.id.in_(used) | Assessment.id.in_(latest_query.with_only_columns(Assessment.id))
    assessments = {row.id: row for row in session.execute(
        select(Assessment.id, Assessment.overall_level, Assessment.needs, Assessment.status)
        .where(wanted, Assessment.status == AssessmentStatus.SUBMITTED))}
    scores: dict[int, dict[str, float]] = {}
    for assessment_id, pillar, score in session.execute(
            select(AssessmentPillarScore.assessment_id, AssessmentPillarScore.pillar, AssessmentPillarScore.score)
            .where(AssessmentPillarScore.assessment_id.in_(select(Assessment.id).where(wanted)))):
        scores.setdefault(assessment_id, {})[pillar] = float(score)
    digest = hashlib.sha256()
    records = []
    for row in rows:
        (outcome_id, org_id, item_type, code, kind, rating, assessment_id, occurred_at, org_kind, sector,
         size_class, commune) = row
        digest.update(repr((outcome_id, org_id, item_type, code, getattr(kind, "value", kind), rating,
                            assessment_id, occurred_at.isoformat())).encode())
        label = label_of(kind, rating)
        assessment = assessments.get(assessment_id if assessment_id is not None else latest.get(org_id))
        if label is None or assessment is None or assessment.overall_level is None:
            continue
        records.append(OutcomeRecord(
            organisation_id=org_id, item_type=item_type, code=code, label=label, occurred_at=occurred_at,
            kind=getattr(org_kind, "value", org_kind), sector=sector,
            size_class=getattr(size_class, "value", size_class), commune_code=commune,
            pillar_scores=scores.get(assessment.id, {}), level=int(assessment.overall_level),
            needs=assessment.needs or "", query_key=assessment.id))
    return Dataset(tuple(records), digest.hexdigest(), len(rows))


def time_split(records: Sequence[OutcomeRecord], test_share: float) -> tuple[list, list]:
    """Oldest (1 - share) for training, the most recent share for testing."""
    ordered = sorted(records, key=lambda r: (r.occurred_at, r.organisation_id, r.item_type, r.code))
    cut = len(ordered) - max(1, math.ceil(len(ordered) * test_share)) if ordered else 0
    return ordered[:cut], ordered[cut:]


def predict_records(model: OutcomeModel, snap: Snapshot, records: Sequence[OutcomeRecord]) -> np.ndarray:
    """The model's probability of success for each record's (organisation, item)."""
    if not records:
        return np.zeros(0)
    pairs = outcome_model.pairs_of(snap, [(r, np.array([snap.item_index[(r.item_type, r.code)]])) for r in records])
    x = outcome_model.design_rows(snap, pairs.orgs, pairs.idx, pairs.content(snap), model.aligned(snap),
                                  model.stats.prior)
    return model.estimator.predict_proba(x)[:, 1]


def holdout_metrics(records: Sequence[OutcomeRecord], snap: Snapshot, seed: int = 0) -> dict[str, Any]:
    """Fit on the older outcomes, measure on the most recent ones (AUC, log loss)."""
    known = [r for r in records if (r.item_type, r.code) in snap.item_index]
    train, test = time_split(known, HOLDOUT_SHARE)
    metrics: dict[str, Any] = {"holdout_share": HOLDOUT_SHARE, "holdout_outcomes": len(test)}
    try:
        model = outcome_model.fit(train, snap, seed=seed)
    except ValueError:
        return metrics
    labels = np.array([r.label for r in test])
    if len(set(labels.tolist())) == 2:
        predicted = predict_records(model, snap, test)
        metrics["holdout_auc"] = round(float(roc_auc_score(labels, predicted)), 4)
        metrics["holdout_log_loss"] = round(float(log_loss(labels, predicted, labels=[0, 1])), 4)
    return metrics


@dataclass(frozen=True)
class TrainResult:
    version: str
    path: Path
    metadata: dict[str, Any]


def train(seed: int = 0, session=None, directory: Path | None = None) -> TrainResult:
    """Train on every outcome and write a new model file; raises TrainingError when there is too little."""
    dataset = load_dataset(session)
    snap = snapshots.current(session)
    records = [r for r in dataset.records if (r.item_type, r.code) in snap.item_index]
    if len(records) < MIN_OUTCOMES or len({r.label for r in records}) < 2:
        raise TrainingError(f"{len(records)} usable outcomes: at least {MIN_OUTCOMES} with both successes and "
                            "failures are needed")
    started = time.perf_counter()
    metrics = holdout_metrics(records, snap, seed)
    model = outcome_model.fit(records, snap, seed=seed)
    metrics.update({"training_outcomes": len(records), "positive_share": round(float(np.mean(
        [r.label for r in records])), 4), "seconds": round(time.perf_counter() - started, 2)})
    version, path, metadata = persistence.save(model, training_data_hash=dataset.hash, metrics=metrics,
                                               n_outcomes=dataset.n_outcomes, directory=directory)
    persistence.prune(directory)
    return TrainResult(version, path, metadata)
