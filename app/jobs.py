"""Background jobs: on an RQ worker when ``REDIS_URL`` is set, in-process otherwise.

Callers write ``jobs.enqueue("app.services.messaging.deliver", item)``: the job is named by its
dotted path (so the web process and the worker need not share objects) and its arguments must be
plain JSON-like data, never ORM objects (they would be stale, or from another session, by the time
the job runs). In the embedded mode the job runs at once, in the calling process; with
``JOB_QUEUE=rq`` it is queued on Redis and ``make worker`` (``flask jobs worker``) runs it inside an
app context of its own.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, has_app_context

QUEUE_NAME = "dxportal"

_worker_app: Flask | None = None


def resolve(path: str) -> Callable[..., Any]:
    """The function a dotted path names; only functions of this package can be jobs."""
    if not path.startswith("app."):
        raise ValueError(f"jobs must live in the app package, not {path!r}")
    module_name, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module_name), name)


def _app() -> Flask:
    """The app a worker runs jobs in (created once per worker process)."""
    global _worker_app
    if _worker_app is None:
        from app import create_app

        _worker_app = create_app()
    return _worker_app


def run(path: str, *args: Any, **kwargs: Any) -> Any:
    """Run a job by path inside an app context (the entry point RQ calls)."""
    if has_app_context():
        return resolve(path)(*args, **kwargs)
    with _app().app_context():
        return resolve(path)(*args, **kwargs)


def queue(app: Flask | None = None):
    """The RQ queue of this app (requires ``REDIS_URL``)."""
    from redis import Redis
    from rq import Queue

    app = app or current_app
    connection = Redis.from_url(app.config["REDIS_URL"])
    return Queue(app.config.get("JOB_QUEUE_NAME", QUEUE_NAME), connection=connection)


def is_async() -> bool:
    """True when jobs go to RQ workers rather than running in this process."""
    return current_app.config.get("JOB_QUEUE") == "rq" and bool(current_app.config.get("REDIS_URL"))


def enqueue(path: str, *args: Any, job_id: str | None = None, **kwargs: Any) -> str | None:
    """Run the job at ``path`` in the background (RQ) or now (embedded mode); returns the RQ job id."""
    resolve(path)  # fail here, in the caller, on a typo rather than later in a worker
    if not is_async():
        run(path, *args, **kwargs)
        return None
    from rq import Retry

    job = queue().enqueue(run, path, *args, job_id=job_id, retry=Retry(max=3, interval=[10, 60, 300]),
                          failure_ttl=7 * 24 * 3600, **kwargs)
    return job.id
