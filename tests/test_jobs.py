"""The job queue behind the messages: inline, a message leaves once, after the commit, and never after a
rollback; with ``JOB_QUEUE=rq`` it waits on Redis until a worker runs, which delivers it exactly once.

The RQ tests need a Redis server (``TEST_REDIS_URL``, set in CI) and are skipped without one. Each test
uses a queue of its own and deletes it afterwards.
"""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import select

from app import jobs
from app.extensions import db
from app.models.notification import Notification
from app.services import workflow
from tests.application_helpers import upload_dir  # noqa: F401  (fixture)
from tests.notifications_helpers import act, draft, forget_everything, inbox, make_cast, messages_to, run

REDIS_URL = os.environ.get("TEST_REDIS_URL")
needs_redis = pytest.mark.skipif(not REDIS_URL, reason="TEST_REDIS_URL is not set")


@pytest.fixture
def cast(upload_dir):  # noqa: F811
    return make_cast()


@pytest.fixture
def in_review(cast, outbox):
    """An application under review, with everything its earlier steps sent already forgotten."""
    application = run(cast, draft(cast), ["submit", "start_review"])
    forget_everything(outbox)
    return application


@pytest.fixture
def rq_queue(app, monkeypatch):
    """Switch this app to RQ on a private queue; the queue is deleted afterwards."""
    monkeypatch.setitem(app.config, "REDIS_URL", REDIS_URL)
    monkeypatch.setitem(app.config, "JOB_QUEUE", "rq")
    monkeypatch.setitem(app.config, "JOB_QUEUE_NAME", f"dxportal-test-{uuid.uuid4().hex}")
    queue = jobs.queue(app)
    yield queue
    queue.delete(delete_jobs=True)
    queue.connection.close()


def _work(queue) -> None:
    """Run the queued jobs in this process, inside the test's app context (as ``flask jobs worker`` would)."""
    from rq import SimpleWorker

    SimpleWorker([queue], connection=queue.connection).work(burst=True)


def act_without_commit(cast, application, action, **data):
    """Take ``action`` as the reviewer and leave the transaction open."""
    workflow.perform_transition(application, action, cast.reviewer, **data)


# Inline (the embedded mode) -----------------------------------------------------------------------------


def test_inline_messages_leave_once_after_the_commit(app, cast, in_review, outbox):
    assert app.config["JOB_QUEUE"] == "inline"
    act_without_commit(cast, in_review, "request_info", reason="Thiếu báo giá.")
    assert outbox == [], "nothing leaves before the commit"
    db.session.commit()
    assert len(messages_to(outbox, cast.member)) == 1
    assert len(messages_to(outbox, cast.phone_member)) == 1
    assert len(outbox) == 3
    db.session.commit()
    assert len(outbox) == 3, "a later commit sends nothing again"


def test_inline_messages_are_dropped_with_a_rollback(cast, in_review, outbox):
    act_without_commit(cast, in_review, "request_info", reason="Thiếu báo giá.")
    db.session.rollback()
    db.session.commit()
    assert outbox == []
    assert db.session.scalars(select(Notification)).all() == [], "no in-app notification either"


# RQ -------------------------------------------------------------------------------------------------------


@needs_redis
def test_rq_messages_wait_for_the_worker_and_are_delivered_once(cast, in_review, outbox, rq_queue):
    act(cast, in_review, "request_info")
    assert outbox == [], "queued on Redis, not sent by the web process"
    assert rq_queue.count == 3
    job = rq_queue.jobs[0]
    assert job.args[0] == "app.services.messaging.deliver"
    assert isinstance(job.args[1], dict) and set(job.args[1]) == {"subject", "body", "email", "phone"}
    assert len(inbox(cast.member)) == 1, "the in-app notification is written with the change"
    _work(rq_queue)
    assert len(messages_to(outbox, cast.member)) == 1
    assert len(messages_to(outbox, cast.phone_member)) == 1
    assert len(messages_to(outbox, cast.owner)) == 1
    assert len(outbox) == 3
    _work(rq_queue)
    assert len(outbox) == 3, "a second run delivers nothing again"
    assert rq_queue.count == 0


@needs_redis
def test_rq_queues_nothing_for_a_rolled_back_change(cast, in_review, outbox, rq_queue):
    act_without_commit(cast, in_review, "request_info", reason="Thiếu báo giá.")
    db.session.rollback()
    db.session.commit()
    assert rq_queue.count == 0
    _work(rq_queue)
    assert outbox == []


def test_the_worker_command_needs_redis(app, runner, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", None)
    result = runner.invoke(args=["jobs", "worker", "--burst"])
    assert result.exit_code != 0
    assert "Set REDIS_URL to run a worker" in result.output
