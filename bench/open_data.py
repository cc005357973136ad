"""Open data and dashboard benchmark: 100,000 submitted assessments of ~60,000 organisations over 8 quarters.

Run from the project root (``make bench`` does): .venv/bin/python bench/open_data.py
Measures, on SQLite (a temporary file, WAL) and, when PostgreSQL answers at BENCH_DATABASE_URL (default:
database ``dxportal_bench`` on 127.0.0.1, created if missing), on PostgreSQL too:

- the one-off publication of each ended quarter (``opendata.publish_quarter``: freezing its cells) and the
  writing of the download files (``opendata.prepare_files``), as ``flask opendata publish`` does;
- ``/open-data/maturity.json`` cold: the server-side cache (Redis or in-process) and everything this process
  remembers cleared before each request, as after a restart, with the quarters published (snapshots and
  stored files in the database): a version check and a read of the stored file;
- the same with the stored files deleted too (rendering from the snapshots, as after a change of names),
  and cached;
- ``/open-data/uptake.json`` the same;
- the full rebuild of the dashboard's fact table (``dashboard.rebuild_facts``), then the staff dashboard
  ``/dashboard/`` cold (its server cache cleared before each request, the fact table up to date, as it is
  after any view following a change) and cached.

On PostgreSQL the database is vacuumed and analysed after the seeding and after the rebuild, as autovacuum
leaves it in production.

Targets (issue 7): open data p95 <= 200 ms cold and <= 10 ms cached; dashboard p95 <= 300 ms. Prints
figures only; it asserts nothing about speed.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import delete, insert, select, text

from app import create_app
from app.extensions import db
from app.models import (
    ActivityKind,
    Application,
    ApplicationActivity,
    ApplicationStatus,
    Assessment,
    AssessmentPillarScore,
    AssessmentStatus,
    OpenDataFile,
    Organisation,
    OrganisationKind,
    Programme,
    ProgrammeKind,
    User,
    UserRole,
    Visibility,
)
from app.services import dashboard, frameworks, geo, opendata
from app.services.passwords import hash_password
from app.worker import settle
from bench.common import on_sqlite_and_postgresql, percentile
from config import TestConfig

ASSESSMENTS = int(os.environ.get("BENCH_ASSESSMENTS", 100_000))
ORGANISATIONS = int(os.environ.get("BENCH_ORGANISATIONS", 60_000))
APPLICATIONS = int(os.environ.get("BENCH_APPLICATIONS", 6_000))
QUARTERS = 8
#: Enough cold requests for the 95th percentile to be more than the slowest one or two.
COLD_REQUESTS = int(os.environ.get("BENCH_COLD_REQUESTS", 30))
CACHED_REQUESTS = int(os.environ.get("BENCH_CACHED_REQUESTS", 300))

#: Rough shares of VSIC sections among small businesses (trade, manufacturing, food and lodging lead).
SECTOR_WEIGHTS = {"G": 34, "C": 12, "I": 11, "A": 8, "F": 6, "H": 5, "S": 5, "M": 3, "N": 3, "J": 2, "P": 2,
                  "Q": 2, "R": 2, "L": 2, "K": 1, "E": 1, "D": 1}
KIND_WEIGHTS = {OrganisationKind.HOUSEHOLD_BUSINESS: 60, OrganisationKind.ENTERPRISE: 36,
                OrganisationKind.COOPERATIVE: 4}




def _quarters(today: dt.date) -> list[int]:
    """The last ``QUARTERS`` quarter keys, oldest first, ending with the current one."""
    key = opendata.quarter_key(today.year, (today.month + 2) // 3)
    keys = [key]
    while len(keys) < QUARTERS:
        year, quarter = divmod(keys[-1], 10)
        keys.append(opendata.quarter_key(year - 1, 4) if quarter == 1 else keys[-1] - 1)
    return list(reversed(keys))


def _moment(rnd: random.Random, quarter: int, now: dt.datetime) -> dt.datetime:
    """A random instant inside the quarter (never in the future)."""
    start = opendata.quarter_start(quarter)
    end = min(opendata.quarter_start(opendata.next_quarter(quarter)), now)
    return start + dt.timedelta(seconds=rnd.uniform(0, (end - start).total_seconds()))


def _chunks(rows: list[dict], size: int = 20_000):
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def seed(rnd: random.Random) -> dict[str, int]:
    """Organisations, their submitted assessments with pillar scores, programmes and applications."""
    framework = frameworks.current_framework()
    now = dt.datetime.now(dt.UTC)
    quarters = _quarters(now.date())
    communes = [unit.code for unit in geo.communes()]
    # A few towns hold most businesses: commune weights fall off like 1/rank.
    commune_weights = [1 / (rank + 1) ** 0.9 for rank in range(len(communes))]
    sectors_, sector_weights = zip(*SECTOR_WEIGHTS.items(), strict=True)
    kinds, kind_weights = zip(*KIND_WEIGHTS.items(), strict=True)
    org_rows = []
    for i in range(ORGANISATIONS):
        org_rows.append({
            "kind": rnd.choices(kinds, kind_weights)[0], "name": f"Cơ sở kinh doanh {i}",
            "tax_code": f"{8_000_000_000 + i}", "sector": rnd.choices(sectors_, sector_weights)[0],
            "commune_code": rnd.choices(communes, commune_weights)[0], "employees": rnd.randint(1, 60),
            "annual_revenue_vnd": rnd.randint(1, 50) * 100_000_000, "created_at": now, "updated_at": now,
        })
    for chunk in _chunks(org_rows):
        db.session.execute(insert(Organisation), chunk)
    org_ids = db.session.scalars(select(Organisation.id).order_by(Organisation.id)).all()
    # Every organisation submits once; the rest are re-assessments of random organisations.
    per_org = {org_id: 1 for org_id in org_ids}
    for org_id in rnd.choices(org_ids, k=ASSESSMENTS - len(org_ids)):
        per_org[org_id] += 1
    assessment_rows = []
    for org_id, count in per_org.items():
        picked = sorted(rnd.sample(range(QUARTERS), min(count, QUARTERS)) if count <= QUARTERS
                        else rnd.choices(range(QUARTERS), k=count))
        base = rnd.uniform(5, 75)
        for n, index in enumerate(picked):
            moment = _moment(rnd, quarters[index], now)
            overall = round(min(100.0, base + n * rnd.uniform(0, 8)), 1)
            assessment_rows.append({
                "organisation_id": org_id, "framework_id": framework.id, "framework_version": framework.version,
                "track": "short", "status": AssessmentStatus.SUBMITTED, "created_at": moment,
                "updated_at": moment, "submitted_at": moment, "overall_score": overall,
                "overall_level": framework.level_for(overall), "is_latest": n == len(picked) - 1,
            })
    assessment_rows.sort(key=lambda row: row["submitted_at"])
    for chunk in _chunks(assessment_rows):
        db.session.execute(insert(Assessment), chunk)
    assessments = db.session.execute(select(Assessment.id, Assessment.overall_score)).all()
    score_rows = []
    for assessment_id, overall in assessments:
        for position, pillar in enumerate(framework.pillars):
            score = round(max(0.0, min(100.0, overall + rnd.uniform(-15, 15))), 1)
            score_rows.append({"assessment_id": assessment_id, "pillar": pillar.code, "position": position,
                               "score": score})
    for chunk in _chunks(score_rows, 50_000):
        db.session.execute(insert(AssessmentPillarScore), chunk)
    _seed_applications(rnd, org_ids, quarters, now)
    db.session.commit()
    return {"organisations": len(org_ids), "assessments": len(assessment_rows), "pillar_scores": len(score_rows)}


def _seed_applications(rnd: random.Random, org_ids: list[int], quarters: list[int], now: dt.datetime) -> None:
    """Eight programmes and applications that walk the workflow, with their timeline transitions."""
    today = now.date()
    for n in range(8):
        db.session.add(Programme(
            code=f"BENCH-{n + 1:02d}", name={"vi": f"Chương trình {n + 1}", "en": f"Programme {n + 1}"},
            sponsor={"vi": "Sở", "en": "Department"}, summary={"vi": "Hỗ trợ.", "en": "Support."},
            kind=ProgrammeKind.SUBSIDY, support_rate=0.5, caps_vnd={"micro": 50_000_000},
            budget_vnd=50_000_000_000, committed_vnd=0, disbursed_vnd=0,
            opens_on=today - dt.timedelta(days=800), closes_on=today + dt.timedelta(days=200),
        ))
    db.session.flush()
    programme_ids = db.session.scalars(select(Programme.id).order_by(Programme.id)).all()
    path = [("submit", ApplicationStatus.DRAFT, ApplicationStatus.SUBMITTED),
            ("start_review", ApplicationStatus.SUBMITTED, ApplicationStatus.IN_REVIEW),
            ("recommend", ApplicationStatus.IN_REVIEW, ApplicationStatus.RECOMMENDED),
            ("approve", ApplicationStatus.RECOMMENDED, ApplicationStatus.APPROVED),
            ("complete", ApplicationStatus.APPROVED, ApplicationStatus.COMPLETED)]
    app_rows, timelines = [], []
    for org_id in rnd.sample(org_ids, APPLICATIONS):
        submitted = _moment(rnd, rnd.choice(quarters), now)
        steps = rnd.choices([1, 2, 3, 4, 5], [10, 15, 10, 25, 40])[0]
        moment, times = submitted, []
        for _ in range(steps):
            times.append(moment)
            moment = moment + dt.timedelta(days=rnd.uniform(1, 20))
        times = [t for t in times if t <= now] or [submitted]
        status = path[len(times) - 1][2]
        approved = rnd.randint(5, 50) * 1_000_000 if len(times) >= 4 else None
        app_rows.append({
            "organisation_id": org_id, "programme_id": rnd.choice(programme_ids), "status": status,
            "status_changed_at": times[-1], "applied_year": submitted.year, "planned_cost_vnd": 100_000_000,
            "requested_vnd": 50_000_000, "recommended_vnd": approved, "approved_vnd": approved,
            "disbursed_vnd": approved if len(times) == 5 else None, "submitted_at": submitted,
            "decided_at": times[3] if len(times) >= 4 else None, "completed_at": times[4] if len(times) == 5 else None,
            "project_title": "Dự án", "declarations_accepted": True, "created_at": submitted,
            "updated_at": times[-1],
        })
        timelines.append(times)
    db.session.execute(insert(Application), app_rows)
    app_ids = db.session.scalars(select(Application.id).order_by(Application.id)).all()
    activity_rows = []
    for app_id, times in zip(app_ids, timelines, strict=True):
        entered = times[0]
        for (action, source, target), moment in zip(path, times, strict=False):
            activity_rows.append({"application_id": app_id, "kind": ActivityKind.TRANSITION, "action": action,
                                  "from_status": source, "to_status": target, "created_at": moment,
                                  "state_entered_at": entered, "visibility": Visibility.SHARED})
            entered = moment
    for chunk in _chunks(activity_rows):
        db.session.execute(insert(ApplicationActivity), chunk)
    # The programmes' money as the workflow keeps it: committed = approved (still open) + paid (completed).
    db.session.execute(text(
        "UPDATE programme SET "
        "committed_vnd = (SELECT COALESCE(SUM(CASE WHEN a.status = 'approved' THEN a.approved_vnd "
        "WHEN a.status = 'completed' THEN a.disbursed_vnd END), 0) FROM application a "
        "WHERE a.programme_id = programme.id), "
        "disbursed_vnd = (SELECT COALESCE(SUM(a.disbursed_vnd), 0) FROM application a "
        "WHERE a.programme_id = programme.id)"
    ))


def _timed(client, url: str, runs: int, before=None) -> list[float]:
    """Milliseconds per request; like a browser, the client accepts gzip."""
    timings = []
    for _ in range(runs):
        if before is not None:
            before()
        start = time.perf_counter()
        response = client.get(url, headers={"Accept-Encoding": "gzip, deflate"})
        timings.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return timings


def _report(what: str, label: str, timings: list[float], target: float | None) -> None:
    p95 = percentile(timings, 0.95)
    verdict = "" if target is None else f" (target <= {target:.0f} ms: {'met' if p95 <= target else 'MISSED'})"
    print(f"{what}, {label}, {len(timings)} requests: p50 {statistics.median(timings):.1f} ms, "
          f"p95 {p95:.1f} ms, max {max(timings):.1f} ms{verdict}")


def _vacuum_analyze() -> None:
    """What autovacuum does within a minute of a bulk change: statistics for the planner, and the visibility
    map that lets index-only scans skip the table. Measuring before it would time a state that passes."""
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))


def bench(label: str, database_url: str) -> None:
    class BenchConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = database_url
        RATELIMIT_ENABLED = False
        REDIS_URL = os.environ.get("BENCH_REDIS_URL") or None
        #: The production default: the data version is re-read at most every 2 seconds.
        OPENDATA_RECHECK_SECONDS = 2.0

    app = create_app(BenchConfig)
    with app.app_context():
        if database_url.startswith("postgresql"):
            db.session.execute(text("DROP SCHEMA public CASCADE"))
            db.session.execute(text("CREATE SCHEMA public"))
            db.session.commit()
        from flask_migrate import upgrade

        upgrade()
        started = time.perf_counter()
        sizes = seed(random.Random(7))  # noqa: S311
        if database_url.startswith("postgresql"):
            _vacuum_analyze()
        seeded = time.perf_counter() - started
        staff = User(email="bench-staff@so.gov.vn", full_name="Bench", confirmed_at=dt.datetime.now(dt.UTC),
                     password_hash=hash_password("bench-password-1"))
        staff.roles.append(UserRole(role="reviewer"))
        db.session.add(staff)
        db.session.commit()
        login_id = staff.get_id()
    print(f"{label}: {sizes['organisations']:,} organisations, {sizes['assessments']:,} submitted assessments, "
          f"{sizes['pillar_scores']:,} pillar scores, {APPLICATIONS:,} applications (seeded in {seeded:.1f} s)")

    def clear_open_data():
        with app.app_context():
            opendata.clear_cache()

    def clear_stored_files():
        with app.app_context():
            opendata.clear_cache()
            db.session.execute(delete(OpenDataFile))
            db.session.commit()

    with app.app_context():
        # The one-off publication of each ended quarter, as `flask opendata publish` runs it.
        for quarter, source in sorted(opendata._quarter_sources().items()):
            started = time.perf_counter()
            opendata.publish_quarter(quarter, source)
            print(f"{label}: published {opendata.quarter_label(quarter)} ({source['count']:,} submissions) in "
                  f"{(time.perf_counter() - started) * 1000:.0f} ms")
        started = time.perf_counter()
        files = opendata.prepare_files()
        print(f"{label}: wrote {files} download files in {(time.perf_counter() - started) * 1000:.0f} ms")

    def clear_dashboard():
        with app.app_context():
            dashboard.clear_cache()

    settle()  # as gunicorn.conf.py settles each worker before it serves
    anonymous = app.test_client()
    for dataset in opendata.DATASETS:
        url = f"/open-data/{dataset}.json?lang=vi"
        _timed(anonymous, url, 2, clear_open_data)  # warm the connection pool and the SQL plans
        _report(f"open data {dataset}.json cold", label, _timed(anonymous, url, COLD_REQUESTS, clear_open_data), 200)
        _report(f"open data {dataset}.json stored files deleted too (rendered from the snapshots)", label,
                _timed(anonymous, url, max(3, COLD_REQUESTS // 8), clear_stored_files), None)
        _report(f"open data {dataset}.json cached", label, _timed(anonymous, url, CACHED_REQUESTS), 10)
    staff_client = app.test_client()
    with staff_client.session_transaction() as session:
        session["_user_id"] = login_id
        session["_fresh"] = True
    with app.app_context():
        # The dashboard's fact table, as after a deployment that changes its layout (normally it is kept in
        # step incrementally: only the organisations with new submissions or edited profiles are recomputed).
        started = time.perf_counter()
        dashboard.rebuild_facts()
        print(f"{label}: dashboard fact table rebuilt in full ({sizes['assessments']:,} rows) in "
              f"{(time.perf_counter() - started) * 1000:.0f} ms")
        if database_url.startswith("postgresql"):
            _vacuum_analyze()
    for url in ("/dashboard/", "/dashboard/?start=2026-Q1&end=2026-Q4&kind=household_business"):
        _timed(staff_client, url, 2, clear_dashboard)
        _report(f"dashboard {url} cold (server cache cleared before each request, fact table up to date)", label,
                _timed(staff_client, url, COLD_REQUESTS, clear_dashboard), 300)
        _report(f"dashboard {url} cached", label, _timed(staff_client, url, CACHED_REQUESTS // 3), 300)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def main() -> None:
    on_sqlite_and_postgresql(bench, "open data")


if __name__ == "__main__":
    main()
