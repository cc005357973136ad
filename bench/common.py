"""What every benchmark needs: a percentile of timings and a PostgreSQL database to fill."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile (``fraction`` 0.95 for p95) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def ensure_pg_database(url: str) -> bool:
    """Create the benchmark database when PostgreSQL answers and it is missing; False when unreachable."""
    import psycopg

    base, _, name = url.rpartition("/")
    try:
        with psycopg.connect(base.replace("+psycopg", "") + "/postgres", autocommit=True, connect_timeout=3) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError:
        return False
    return True


#: Where a benchmark fills PostgreSQL unless BENCH_DATABASE_URL says otherwise (created when missing).
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/dxportal_bench"


def on_sqlite_and_postgresql(run: Callable[[str, str], None], what: str) -> None:
    """``run(label, database_url)`` on a temporary SQLite file, then on PostgreSQL when it answers."""
    from config import normalise_database_url

    with tempfile.TemporaryDirectory() as directory:
        run("SQLite", f"sqlite:///{Path(directory) / 'bench.sqlite3'}")
    pg_url = normalise_database_url(os.environ.get("BENCH_DATABASE_URL", DEFAULT_PG))
    if ensure_pg_database(pg_url):
        run("PostgreSQL", pg_url)
    else:
        print(f"{what}, PostgreSQL: skipped (no server at BENCH_DATABASE_URL)")
