"""Approvals racing for one programme's budget: the committed total never exceeds it.

Twenty-four recommended applications of 15 million each wait on a programme with a budget of
100 million; 24 threads, each with its own app context, session and connection, approve one each
at the same moment. Exactly six fit. Run on the suite's SQLite file and, in CI, on PostgreSQL.
"""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from app.extensions import db
from app.models import Application, ApplicationStatus, Programme, SizeClass
from app.services import workflow
from tests.factories import OrganisationFactory, UserFactory
from tests.workflow_helpers import advance, make_assessment, make_draft, make_world

APPLICATIONS = 24
AMOUNT = 15_000_000
BUDGET = 100_000_000


def _recommended_applications(world) -> list[int]:
    ids = []
    for _ in range(APPLICATIONS):
        owner = UserFactory()
        world.organisation = OrganisationFactory(owner=owner, size_class=SizeClass.SMALL)
        world.owner = owner
        make_assessment(world.organisation)
        application = make_draft(world, planned_cost=40_000_000, requested=AMOUNT)
        advance(world, application, ["submit", "start_review", "recommend"])
        ids.append(application.id)
    return ids


def _approve_all_at_once(app, ids: list[int], approver_id: int) -> dict[str, int]:
    barrier = threading.Barrier(len(ids))
    results: dict[str, int] = {"approved": 0, "budget": 0, "other": 0}
    errors: list[BaseException] = []
    lock = threading.Lock()

    def approve(application_id: int) -> None:
        outcome = "other"
        with app.app_context():
            try:
                barrier.wait(timeout=30)  # before taking a connection: the pool has fewer than 24
                application = db.session.get(Application, application_id)
                approver = db.session.get(workflow.User, approver_id)
                workflow.perform_transition(application, "approve", approver)
                db.session.commit()
                outcome = "approved"
            except workflow.BudgetExceeded:
                outcome = "budget"
            except Exception as error:  # reported by the assertion below, with the error itself
                errors.append(error)
            finally:
                db.session.rollback()
                db.session.remove()
        with lock:
            results[outcome] += 1

    threads = [threading.Thread(target=approve, args=(application_id,)) for application_id in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors[:3]
    return results


def test_concurrent_approvals_never_exceed_the_budget(app):
    world = make_world(budget_vnd=BUDGET, caps_vnd={"micro": 20_000_000, "small": 20_000_000})
    ids = _recommended_applications(world)
    approver_id, programme_id = world.approver.id, world.programme.id
    db.session.remove()  # the threads need the connections; this test's session holds none

    results = _approve_all_at_once(app, ids, approver_id)

    fits = BUDGET // AMOUNT
    assert results == {"approved": fits, "budget": APPLICATIONS - fits, "other": 0}
    programme = db.session.get(Programme, programme_id)
    approved_total = db.session.scalar(select(func.sum(Application.approved_vnd)).where(
        Application.status == ApplicationStatus.APPROVED))
    assert programme.committed_vnd == approved_total == fits * AMOUNT <= programme.budget_vnd
    statuses = db.session.scalars(select(Application.status).where(Application.id.in_(ids))).all()
    assert statuses.count(ApplicationStatus.APPROVED) == fits
    assert statuses.count(ApplicationStatus.RECOMMENDED) == APPLICATIONS - fits
