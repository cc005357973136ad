"""Recommender benchmark: one recommendation's latency, batch throughput, training time.

Run from the project root (``make bench`` does): .venv/bin/python bench/recommender.py
On SQLite (a temporary file, WAL) with 1,000 programmes and 5,000 partners in the catalogue, 10,000
organisations with a submitted assessment each, and 50,000 outcomes. Prints figures only; it asserts
nothing about speed. Targets: p95 <= 10 ms for one recommendation (eligibility included, in-process,
through ``app.recommender.recommend``), 10,000 organisations <= 10 s, training on 50,000 outcomes <= 60 s.
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, text

from app import create_app, recommender
from app.extensions import db
from app.models import (
    Assessment,
    AssessmentPillarScore,
    AssessmentStatus,
    Organisation,
    OrganisationKind,
    Outcome,
    OutcomeKind,
    Partner,
    Programme,
)
from app.recommender import persistence, snapshot, training, vocabulary
from app.recommender.features import ORG_KINDS, PRICE_BANDS, PROGRAMME_KINDS, SIZE_CLASSES
from app.services import frameworks
from bench.common import percentile
from config import TestConfig

PROGRAMMES = 1_000
PARTNERS = 5_000
ORGANISATIONS = 10_000
OUTCOMES = 50_000
REQUESTS = 500
ON = date(2026, 6, 15)
SECTORS = tuple("ACFGHIJKMNPQS")
NEEDS = ("Cần phần mềm bán hàng và xuất hoá đơn điện tử", "muốn bán hàng online trên sàn thương mại điện tử",
         "Sổ sách kế toán còn ghi tay", "cần tem truy xuất nguồn gốc cho nông sản", "tập huấn kỹ năng số cho nhân viên",
         "sao lưu dữ liệu, xem báo cáo doanh thu", "đặt phòng homestay trực tuyến", "", "", "")



def _subset(rnd: random.Random, values, empty_share: float, most: int = 3) -> list:
    if rnd.random() < empty_share:
        return []
    return sorted(rnd.sample(list(values), rnd.randint(1, min(most, len(values)))))


def _seed(pillars: tuple[str, ...], communes: list[str]) -> None:
    rnd = random.Random(11)  # noqa: S311 (benchmark data)
    now = datetime.now(UTC)
    categories = list(vocabulary.CATEGORIES)
    programmes = []
    for i in range(PROGRAMMES):
        kind = rnd.choice(PROGRAMME_KINDS)
        words = rnd.sample(categories, 2)
        opens = date(2025, 1, 1) + timedelta(days=rnd.randrange(900))
        low = rnd.choice((0, 0, 1, 2))
        programmes.append({
            "code": f"BENCH-P{i:05d}",
            "name": {"vi": f"Chương trình {vocabulary.PROGRAMME_KINDS[kind]['vi']} {i}",
                     "en": f"Programme {i}: {vocabulary.PROGRAMME_KINDS[kind]['en']}"},
            "sponsor": {"vi": "Sở Khoa học và Công nghệ", "en": "Department of Science and Technology"},
            "summary": {"vi": " và ".join(vocabulary.CATEGORIES[w]["vi"] for w in words),
                        "en": " and ".join(vocabulary.CATEGORIES[w]["en"] for w in words)},
            "kind": kind, "pillars": _subset(rnd, pillars, 0.0), "sectors": _subset(rnd, SECTORS, 0.6),
            "org_kinds": _subset(rnd, ORG_KINDS, 0.0), "size_classes": _subset(rnd, SIZE_CLASSES, 0.4),
            "communes": _subset(rnd, communes, 0.8, 5), "level_min": low, "level_max": rnd.randint(low + 1, 5),
            "support_rate": rnd.choice((0.3, 0.5, 0.7)), "caps_vnd": {"micro": 20_000_000, "small": 50_000_000},
            "budget_vnd": 1_000_000_000, "committed_vnd": rnd.choice((0, 0, 0, 1_000_000_000)),
            "opens_on": opens, "closes_on": opens + timedelta(days=rnd.randint(90, 500)),
            "retired_at": now if rnd.random() < 0.05 else None, "created_at": now, "updated_at": now,
        })
    db.session.execute(insert(Programme), programmes)
    partners = []
    for i in range(PARTNERS):
        cats = rnd.sample(categories, rnd.randint(1, 3))
        partners.append({
            "code": f"BENCH-Q{i:05d}", "name": f"Công ty TNHH Giải pháp số {i}",
            "summary": {"vi": ", ".join(vocabulary.CATEGORIES[c]["vi"] for c in cats),
                        "en": ", ".join(vocabulary.CATEGORIES[c]["en"] for c in cats)},
            "website": f"https://q{i}.example.vn", "email": f"q{i}@example.vn", "phone": "0255 3 000 000",
            "categories": cats, "pillars": sorted({vocabulary.CATEGORIES[c]["pillar"] for c in cats}),
            "sectors": _subset(rnd, SECTORS, 0.7), "org_kinds": _subset(rnd, ORG_KINDS, 0.0),
            "communes": _subset(rnd, communes, 0.85, 5), "price_band": rnd.choice(PRICE_BANDS),
            "status": rnd.choice(("vetted",) * 8 + ("pending", "suspended")),
            "retired_at": now if rnd.random() < 0.03 else None, "created_at": now, "updated_at": now,
        })
    db.session.execute(insert(Partner), partners)
    organisations = [{"kind": OrganisationKind(rnd.choice(ORG_KINDS)), "name": f"Đơn vị {i}",
                      "sector": rnd.choice(SECTORS),
                      "commune_code": rnd.choice(communes) if rnd.random() < 0.9 else None,
                      "size_class": rnd.choice((*SIZE_CLASSES, None)), "created_at": now, "updated_at": now}
                     for i in range(ORGANISATIONS)]
    db.session.execute(insert(Organisation), organisations)
    org_ids = db.session.scalars(text("SELECT id FROM organisation ORDER BY id")).all()
    framework = frameworks.current_framework()
    db.session.execute(insert(Assessment), [
        {"organisation_id": org_id, "framework_id": framework.id, "framework_version": framework.version,
         "track": "full", "status": AssessmentStatus.SUBMITTED, "created_at": now, "updated_at": now,
         "submitted_at": now, "overall_score": 40.0, "overall_level": rnd.randint(0, 5), "is_latest": True,
         "needs": rnd.choice(NEEDS) or None} for org_id in org_ids])
    assessment_ids = db.session.scalars(text("SELECT id FROM assessment ORDER BY id")).all()
    db.session.execute(insert(AssessmentPillarScore), [
        {"assessment_id": aid, "pillar": p, "position": i, "score": round(rnd.uniform(0, 100), 1)}
        for aid in assessment_ids for i, p in enumerate(pillars)])
    outcomes = []
    for _ in range(OUTCOMES):
        position = rnd.randrange(ORGANISATIONS)
        when = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=rnd.randrange(1_400_000))
        if rnd.random() < 0.4:
            code = f"BENCH-P{rnd.randrange(PROGRAMMES):05d}"
            kind, rating, item_type = rnd.choice((OutcomeKind.APPROVED, OutcomeKind.COMPLETED,
                                                  OutcomeKind.REJECTED)), None, "programme"
        else:
            code = f"BENCH-Q{rnd.randrange(PARTNERS):05d}"
            kind, rating, item_type = OutcomeKind.RATING, rnd.randint(1, 5), "partner"
        outcomes.append({"organisation_id": org_ids[position], "item_type": item_type, "item_code": code,
                         "kind": kind, "rating": rating, "assessment_id": assessment_ids[position],
                         "source": "demo", "occurred_at": when})
    db.session.execute(insert(Outcome), outcomes)
    db.session.commit()


def _queries(rnd: random.Random, pillars: tuple[str, ...], communes: list[str], count: int) -> list[recommender.Query]:
    return [recommender.Query(
        recommender.Profile(kind=rnd.choice(ORG_KINDS), sector=rnd.choice(SECTORS),
                            size_class=rnd.choice((*SIZE_CLASSES, None)),
                            commune_code=rnd.choice(communes) if rnd.random() < 0.9 else None),
        {p: round(rnd.uniform(0, 100), 1) for p in pillars}, rnd.randint(0, 5), rnd.choice(NEEDS))
        for _ in range(count)]


def _latency(queries: list[recommender.Query]) -> list[float]:
    timings = []
    for q in queries:
        start = time.perf_counter()
        recommender.recommend(q.profile, q.pillar_scores, q.overall_level, q.needs, "vi", ON)
        timings.append((time.perf_counter() - start) * 1000)
    return timings


def _print_latency(label: str, timings: list[float]) -> None:
    print(f"one recommendation, {label}, {len(timings)} requests: p50 {statistics.median(timings):.2f} ms, "
          f"p95 {percentile(timings, 0.95):.2f} ms, max {max(timings):.1f} ms")


def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        class BenchConfig(TestConfig):
            SQLALCHEMY_DATABASE_URI = f"sqlite:///{Path(directory) / 'bench.sqlite3'}"
            RECOMMENDER_MODEL_DIR = str(Path(directory) / "models")
            #: The production default: other processes' catalogue changes are checked for every 2 s.
            RECOMMENDER_CATALOGUE_RECHECK_SECONDS = 2.0

        app = create_app(BenchConfig)
        with app.app_context():
            from flask_migrate import upgrade

            from app.services import geo

            upgrade()
            pillars = tuple(p.code for p in frameworks.current_framework().pillars)
            communes = [unit.code for unit in geo.communes()][:40]
            started = time.perf_counter()
            _seed(pillars, communes)
            print(f"seeded {PROGRAMMES:,} programmes, {PARTNERS:,} partners, {ORGANISATIONS:,} organisations, "
                  f"{OUTCOMES:,} outcomes in {time.perf_counter() - started:.1f} s (SQLite)")
            rnd = random.Random(5)  # noqa: S311

            started = time.perf_counter()
            snapshot.current()
            print(f"catalogue snapshot (cold: rows, TF-IDF fit, matrices): {time.perf_counter() - started:.2f} s")
            warm = _queries(rnd, pillars, communes, 50)
            _latency(warm)
            _print_latency("content model", _latency(_queries(rnd, pillars, communes, REQUESTS)))

            started = time.perf_counter()
            result = training.train()
            trained = time.perf_counter() - started
            metrics = result.metadata["metrics"]
            print(f"training on {OUTCOMES:,} outcomes ({metrics['training_outcomes']:,} labelled): {trained:.1f} s "
                  f"(load + holdout fit + final fit + save; holdout AUC {metrics.get('holdout_auc', 'n/a')})")
            assert persistence.current_model() is not None
            _latency(warm)
            _print_latency(f"trained model {result.version}", _latency(_queries(rnd, pillars, communes, REQUESTS)))
            app.config["RECOMMENDER_CATALOGUE_RECHECK_SECONDS"] = 0
            _print_latency("trained model, catalogue fingerprint read on every call",
                           _latency(_queries(rnd, pillars, communes, REQUESTS)))
            app.config["RECOMMENDER_CATALOGUE_RECHECK_SECONDS"] = 2.0

            batch = _queries(rnd, pillars, communes, ORGANISATIONS)
            started = time.perf_counter()
            results = recommender.recommend_many(batch, locale="vi", on_date=ON)
            seconds = time.perf_counter() - started
            assert len(results) == ORGANISATIONS
            print(f"batch, {ORGANISATIONS:,} organisations (trained model, top 5 + reasons + not-eligible list): "
                  f"{seconds:.1f} s ({ORGANISATIONS / seconds:,.0f} organisations/s)")
            db.session.remove()
            db.engine.dispose()


if __name__ == "__main__":
    main()
