"""What every benchmark needs: a percentile of timings and a PostgreSQL database to fill."""

from __future__ import annotations


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
