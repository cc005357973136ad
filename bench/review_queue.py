"""Staff review queue benchmark: 100,000 applications, the queue page and its CSV export.

Run from the project root (``make bench`` does): .venv/bin/python bench/review_queue.py
Builds a fresh database with the migrations (a temporary SQLite file, WAL; PostgreSQL when
BENCH_DATABASE_URL is set, e.g. postgresql://postgres@127.0.0.1:5432/dxportal_bench, created if missing and
emptied first), bulk-inserts 100,000 applications across 5,000 organisations and 20 programmes in every
state, commune, sector and kind, logs in as a reviewer and times ~50 requests of each: the unfiltered queue,
a filtered page (programme + commune + state), a deep page (page 50) and the CSV export of a filtered set.
Prints p50/p95 and the SQL queries per request. Targets: p95 <= 100 ms and <= 10 queries per page.
Prints figures only; it asserts nothing about speed.

``--proposed-indexes`` adds the two indexes proposed for the optional sorts (largest amount, newest) after
the migrations, to compare; without it the schema is exactly what the migrations build.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, insert, text

from app import create_app
from app.extensions import db
from app.models import Organisation, OrganisationKind, Programme, ProgrammeKind, Role, SizeClass, User, UserRole
from app.models.application import Application, ApplicationStatus
from app.models.types import utcnow
from app.services import geo
from app.services.passwords import hash_password
from bench.common import ensure_pg_database, percentile
from config import TestConfig, normalise_database_url

APPLICATIONS = 100_000
ORGANISATIONS = 5_000
PROGRAMMES = 20
REVIEWERS = 12
REQUESTS = 50
WARM_UP = 5
SECTORS = tuple("ACFGHIJKMNPQS")
#: Proposed for the "largest amount first" and "newest first" sorts (not in the migrations yet).
PROPOSED_INDEXES = (
    "CREATE INDEX ix_application_status_requested ON application (status, requested_vnd)",
    "CREATE INDEX ix_application_status_submitted ON application (status, submitted_at)",
)
#: Share of each state among the applications (drafts are few: most are sent).
STATE_WEIGHTS = {
    ApplicationStatus.DRAFT: 4, ApplicationStatus.SUBMITTED: 14, ApplicationStatus.IN_REVIEW: 14,
    ApplicationStatus.INFO_REQUESTED: 5, ApplicationStatus.RECOMMENDED: 8, ApplicationStatus.APPROVED: 10,
    ApplicationStatus.REJECTED: 15, ApplicationStatus.WITHDRAWN: 5, ApplicationStatus.COMPLETED: 20,
    ApplicationStatus.CANCELLED: 5,
}




def _seed(rnd: random.Random) -> tuple[User, dict]:
    """Programmes, organisations, reviewers and 100,000 applications, inserted in bulk (core INSERTs)."""
    now = utcnow()
    today = now.date()
    programme_rows = [{
        "code": f"BENCH-{n:02d}", "name": {"vi": f"Chương trình hỗ trợ chuyển đổi số {n}", "en": f"Programme {n}"},
        "sponsor": {"vi": "Sở Khoa học và Công nghệ", "en": "Department of Science and Technology"},
        "summary": {"vi": "Hỗ trợ doanh nghiệp.", "en": "Support."}, "kind": ProgrammeKind.SUBSIDY,
        "pillars": ["operations"], "sectors": [], "org_kinds": [], "size_classes": [], "communes": [],
        "level_min": 0, "level_max": 5, "support_rate": 0.5, "caps_vnd": {"micro": 20_000_000, "small": 50_000_000},
        "budget_vnd": 50_000_000_000, "committed_vnd": 0, "disbursed_vnd": 0,
        "opens_on": today - dt.timedelta(days=365), "closes_on": today + dt.timedelta(days=365),
        "created_at": now, "updated_at": now,
    } for n in range(1, PROGRAMMES + 1)]
    db.session.execute(insert(Programme), programme_rows)
    communes = [unit.code for unit in geo.communes()]
    kinds = list(OrganisationKind)
    org_rows = [{
        "kind": kinds[i % len(kinds)], "name": f"{('Công ty TNHH', 'Hợp tác xã', 'Hộ kinh doanh')[i % 3]} Số {i}",
        "sector": rnd.choice(SECTORS), "commune_code": rnd.choice(communes), "employees": rnd.randint(1, 80),
        "annual_revenue_vnd": rnd.randint(1, 50) * 100_000_000, "size_class": SizeClass.MICRO,
        "created_at": now, "updated_at": now,
    } for i in range(ORGANISATIONS)]
    db.session.execute(insert(Organisation), org_rows)
    password = hash_password("bench-password-1")
    reviewer_rows = [{"email": f"reviewer{n}@so.gov.vn", "full_name": f"Cán bộ thẩm định {n}",
                      "password_hash": password, "confirmed_at": now, "created_at": now, "locale": "vi",
                      "session_token": f"bench-token-{n}", "active": True}
                     for n in range(REVIEWERS)]
    db.session.execute(insert(User), reviewer_rows)
    user_ids = db.session.scalars(text("SELECT id FROM user_account ORDER BY id")).all()
    db.session.execute(insert(UserRole), [{"user_id": uid, "role": Role.REVIEWER, "granted_at": now}
                                          for uid in user_ids])
    org_ids = db.session.scalars(text("SELECT id FROM organisation ORDER BY id")).all()
    programme_ids = db.session.scalars(text("SELECT id FROM programme ORDER BY id")).all()
    states, weights = list(STATE_WEIGHTS), list(STATE_WEIGHTS.values())
    drafts: set[tuple[int, int]] = set()
    rows = []
    for _ in range(APPLICATIONS):
        org_id, programme_id = rnd.choice(org_ids), rnd.choice(programme_ids)
        state = rnd.choices(states, weights)[0]
        if state is ApplicationStatus.DRAFT:
            if (org_id, programme_id) in drafts:  # one draft per organisation and programme
                state = ApplicationStatus.SUBMITTED
            else:
                drafts.add((org_id, programme_id))
        changed = now - dt.timedelta(minutes=rnd.randint(0, 400 * 24 * 60))
        submitted = None if state is ApplicationStatus.DRAFT else changed - dt.timedelta(days=rnd.randint(0, 30))
        requested = rnd.randint(2, 50) * 1_000_000
        rows.append({
            "version": 1, "organisation_id": org_id, "programme_id": programme_id, "status": state,
            "status_changed_at": changed, "applied_year": submitted.year if submitted else None,
            "planned_cost_vnd": requested * 2, "requested_vnd": requested,
            "recommended_vnd": requested if state in (ApplicationStatus.RECOMMENDED, ApplicationStatus.APPROVED,
                                                      ApplicationStatus.COMPLETED) else None,
            "approved_vnd": requested if state in (ApplicationStatus.APPROVED, ApplicationStatus.COMPLETED) else None,
            "project_title": "Phần mềm quản lý bán hàng", "declarations_accepted": True,
            "reviewer_id": rnd.choice(user_ids) if state is not ApplicationStatus.SUBMITTED and rnd.random() < .8
            else None,
            "created_at": submitted or changed, "updated_at": changed, "submitted_at": submitted,
        })
    for start in range(0, len(rows), 10_000):
        db.session.execute(insert(Application), rows[start:start + 10_000])
    db.session.commit()
    commune_counts = Counter(row["commune_code"] for row in org_rows)
    reviewer = db.session.get(User, user_ids[0])
    filters = {"programme": str(programme_ids[0]), "commune": commune_counts.most_common(1)[0][0],
               "state": ApplicationStatus.SUBMITTED.value}
    return reviewer, filters


def _measure(client, url: str, params: dict, engine) -> tuple[list[float], int, int]:
    """Timings in ms of REQUESTS requests, the queries of one request, and the response's size."""
    for _ in range(WARM_UP):
        response = client.get(url, query_string=params)
        assert response.status_code == 200, (url, params, response.status_code)
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    response = client.get(url, query_string=params)
    size = len(response.get_data())
    event.remove(engine, "before_cursor_execute", count)
    timings = []
    for _ in range(REQUESTS):
        start = time.perf_counter()
        response = client.get(url, query_string=params)
        response.get_data()
        timings.append((time.perf_counter() - start) * 1000)
    return timings, len(statements), size


def bench(label: str, database_url: str, proposed_indexes: bool = False) -> None:
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
        if proposed_indexes:
            for statement in PROPOSED_INDEXES:
                db.session.execute(text(statement))
            db.session.commit()
            label += " + proposed indexes"
        started = time.perf_counter()
        reviewer, filters = _seed(random.Random(5))  # noqa: S311
        seeded = time.perf_counter() - started
        if database_url.startswith("postgresql"):
            # What autovacuum does soon after a bulk load: statistics and the visibility map (index-only scans).
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("VACUUM ANALYZE"))
        # SQLite: no ANALYZE, as in a fresh embedded installation (the planner works without statistics).
        login_id = reviewer.get_id()
        engine = db.engine
        open_count = db.session.scalar(text(
            "SELECT count(*) FROM application WHERE status IN ('submitted', 'in_review', 'recommended', 'approved')"))
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = login_id
        session["_fresh"] = True
    print(f"review queue, {label}: {APPLICATIONS:,} applications ({open_count:,} waiting for staff), "
          f"{ORGANISATIONS:,} organisations, {PROGRAMMES} programmes (seeded in {seeded:.1f} s)")
    cases = [
        ("queue, unfiltered", "/review/", {}),
        ("queue, programme+commune+state", "/review/", filters),
        ("queue, page 50", "/review/", {"page": "50"}),
        ("queue, all states, page 50", "/review/", {"state": "all", "page": "50"}),
        ("queue, largest amount first", "/review/", {"sort": "amount"}),
        ("queue, newest first", "/review/", {"sort": "newest"}),
        ("queue, by programme", "/review/", {"sort": "programme"}),
        ("queue, name search", "/review/", {"q": "Hợp tác xã Số 12"}),
        ("queue, sector+kind+waiting 30 d", "/review/", {"sector": "G", "kind": "cooperative", "waiting": "30"}),
        ("CSV, programme+commune+state", "/review/export.csv", filters),
        ("CSV, one programme, open states", "/review/export.csv", {"programme": filters["programme"]}),
    ]
    for name, url, params in cases:
        timings, queries, size = _measure(client, url, params, engine)
        print(f"  {name:33s} p50 {statistics.median(timings):6.1f} ms  p95 {percentile(timings, .95):6.1f} ms  "
              f"max {max(timings):6.1f} ms  {queries} queries  {size / 1024:,.0f} KB")
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def main() -> None:
    proposed = "--proposed-indexes" in sys.argv[1:]
    url = os.environ.get("BENCH_DATABASE_URL")
    if url:
        url = normalise_database_url(url)
        if not ensure_pg_database(url):
            raise SystemExit(f"PostgreSQL does not answer at {url}")
        bench("PostgreSQL", url, proposed)
        return
    with tempfile.TemporaryDirectory() as directory:
        bench("SQLite", f"sqlite:///{Path(directory) / 'bench.sqlite3'}", proposed)


if __name__ == "__main__":
    main()
