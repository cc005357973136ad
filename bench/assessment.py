"""Self-assessment benchmark: scoring throughput, and the results page with 10,000 peer assessments.

Run from the project root (``make bench`` does): .venv/bin/python bench/assessment.py
The results page is measured on SQLite (a temporary file, WAL) and, when PostgreSQL answers at
BENCH_DATABASE_URL (default: database ``dxportal_bench`` on 127.0.0.1, created if missing), on
PostgreSQL too. Prints figures only; it asserts nothing about speed.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, text

from app import create_app
from app.extensions import db
from app.models import (
    Assessment,
    AssessmentPillarScore,
    AssessmentStatus,
    MemberRole,
    Membership,
    Organisation,
    OrganisationKind,
    User,
    UserRole,
)
from app.models.types import utcnow
from app.services import assessments, frameworks
from app.services.passwords import hash_password
from bench.assessment_scoring import bench_track
from bench.common import on_sqlite_and_postgresql, percentile
from config import TestConfig

PEERS = 10_000
REQUESTS = 300




def _seed(framework, track: str) -> tuple[int, int, User]:
    """10,000 peers (latest submitted, same kind and sector) and one organisation with two assessments."""
    rnd = random.Random(7)  # noqa: S311
    now = utcnow()
    org_rows = [{"kind": OrganisationKind.HOUSEHOLD_BUSINESS, "name": f"Hộ kinh doanh {i}", "sector": "G",
                 "employees": 2, "annual_revenue_vnd": 500_000_000, "created_at": now, "updated_at": now}
                for i in range(PEERS)]
    db.session.execute(insert(Organisation), org_rows)
    org_ids = db.session.scalars(text("SELECT id FROM organisation ORDER BY id")).all()
    assessment_rows = []
    for org_id in org_ids:
        assessment_rows.append({"organisation_id": org_id, "framework_id": framework.id,
                                "framework_version": framework.version, "track": track,
                                "status": AssessmentStatus.SUBMITTED, "created_at": now, "updated_at": now,
                                "submitted_at": now, "overall_score": round(rnd.uniform(0, 100), 1),
                                "overall_level": rnd.randint(0, 5), "is_latest": True})
    db.session.execute(insert(Assessment), assessment_rows)
    assessment_ids = db.session.scalars(text("SELECT id FROM assessment ORDER BY id")).all()
    score_rows = [{"assessment_id": aid, "pillar": p.code, "position": i, "score": round(rnd.uniform(0, 100), 1)}
                  for aid in assessment_ids for i, p in enumerate(framework.pillars)]
    db.session.execute(insert(AssessmentPillarScore), score_rows)
    user = User(email="bench@example.vn", full_name="Bench", password_hash=hash_password("bench-password-1"),
                confirmed_at=now)
    user.roles.append(UserRole(role="business"))
    organisation = Organisation(kind=OrganisationKind.HOUSEHOLD_BUSINESS, name="Tạp hóa Đo Tốc Độ", sector="G",
                                employees=2, annual_revenue_vnd=500_000_000)
    organisation.memberships.append(Membership(user=user, role=MemberRole.OWNER))
    db.session.add(organisation)
    db.session.flush()
    subject = None
    for strength in (0, 1):
        draft = assessments.start(organisation, user)
        answers = {}
        for question in framework.questions_for(track):
            if question.type == "scale":
                answers[question.id] = 2 + strength * 2
            elif question.type == "single":
                answers[question.id] = sorted(question.options, key=lambda o: o.score)[strength].id
            else:
                answers[question.id] = [next(o.id for o in question.options if not o.exclusive)]
        assessments.save_answers(draft, user, answers)
        assessments.submit(draft, user)
        subject = draft
    db.session.commit()
    return organisation.id, subject.id, user


def bench_results_page(label: str, database_url: str) -> None:
    class BenchConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = database_url
        RATELIMIT_ENABLED = False

    app = create_app(BenchConfig)
    with app.app_context():
        if database_url.startswith("postgresql"):
            db.session.execute(text("DROP SCHEMA public CASCADE"))
            db.session.execute(text("CREATE SCHEMA public"))
            db.session.commit()
        from flask_migrate import upgrade

        upgrade()
        framework = frameworks.current_framework()
        started = time.perf_counter()
        org_id, assessment_id, user = _seed(framework, "short")
        seeded = time.perf_counter() - started
        login_id = user.get_id()
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = login_id
        session["_fresh"] = True
    url = f"/organisations/{org_id}/assessments/{assessment_id}/results"
    for _ in range(20):
        response = client.get(url)
        assert response.status_code == 200, response.status_code
    assert "10000" in response.get_data(as_text=True).replace(".", "").replace("\u00a0", "")
    timings = []
    for _ in range(REQUESTS):
        start = time.perf_counter()
        client.get(url)
        timings.append((time.perf_counter() - start) * 1000)
    print(f"results page, {label}, {PEERS:,} peer assessments (seeded in {seeded:.1f} s), {REQUESTS} requests: "
          f"p50 {statistics.median(timings):.1f} ms, p95 {percentile(timings, 0.95):.1f} ms, "
          f"max {max(timings):.1f} ms")
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def main() -> None:
    framework = frameworks.current_framework()
    rnd = random.Random(1)  # noqa: S311
    for track in ("full", "short"):
        per_second, _mean = bench_track(framework, track, 5000, rnd)
        print(f"scoring, {track} track ({len(framework.questions_for(track))} questions): "
              f"{per_second:,.0f} assessments/s")
    on_sqlite_and_postgresql(bench_results_page, "results page")


if __name__ == "__main__":
    main()
