"""``wsgi:app`` with a per-request record of server time, CPU time and SQL, for the load test's second table.

gunicorn serves ``bench.load.timed_app:app`` when ``LOAD_TIMING_DIR`` is set. Each request appends one line
(tab-separated: end time, endpoint, method, status, wall ms, CPU ms of the request's thread, SQL statements,
SQL ms) to ``<LOAD_TIMING_DIR>/<pid>.tsv``. CPU time is what the request itself cost; unlike the wall time it
does not grow when other processes (or the other threads of the worker) hold the CPU, so it tells what a page
costs on this machine even while the machine is shared. The hooks are added to the app object only: no
application code changes.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from flask import g, request
from sqlalchemy import event

from app.extensions import db
from wsgi import app

_folder = Path(os.environ.get("LOAD_TIMING_DIR", "."))
_out = None


def _file():
    """One file per worker process (opened after gunicorn forks)."""
    global _out
    if _out is None:
        _out = (_folder / f"{os.getpid()}.tsv").open("a", buffering=1, encoding="utf-8")
    return _out


@app.before_request
def _start() -> None:
    g.load_timing = [time.perf_counter(), time.thread_time(), 0, 0.0]


def _before_cursor(_conn, _cursor, _statement, _parameters, context, _executemany) -> None:
    context._load_started = time.perf_counter()


def _after_cursor(_conn, _cursor, _statement, _parameters, context, _executemany) -> None:
    timing = g.get("load_timing") if _has_request() else None
    if timing is not None:
        timing[2] += 1
        timing[3] += time.perf_counter() - getattr(context, "_load_started", time.perf_counter())


def _has_request() -> bool:
    from flask import has_request_context

    return has_request_context()


@app.teardown_request
def _record(_error) -> None:
    timing = g.pop("load_timing", None)
    if timing is None:
        return
    wall = (time.perf_counter() - timing[0]) * 1000
    cpu = (time.thread_time() - timing[1]) * 1000
    endpoint = request.endpoint or "(none)"
    status = getattr(g, "load_status", 0)
    _file().write(f"{time.time():.3f}\t{endpoint}\t{request.method}\t{status}\t{wall:.2f}\t{cpu:.2f}\t"
                  f"{timing[2]}\t{timing[3] * 1000:.2f}\n")


@app.after_request
def _status(response):
    g.load_status = response.status_code
    return response


with app.app_context():
    event.listen(db.engine, "before_cursor_execute", _before_cursor)
    event.listen(db.engine, "after_cursor_execute", _after_cursor)
