"""Builders for the staff review tests: many applications in chosen states, fast, and a query counter.

The workflow tests move applications through the real transitions (``tests.application_helpers``); the
queue tests need dozens of applications in given states and waiting times, so they are stored directly.
"""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from app.extensions import db
from app.models.application import Application, ApplicationStatus
from app.models.catalogue import Programme
from app.models.organisation import Organisation, OrganisationKind, SizeClass
from app.models.types import utcnow
from app.models.user import User
from app.services import geo
from tests.factories import OrganisationFactory

_counter = {"n": 0}


def commune_codes(count: int = 2) -> list[str]:
    """Codes of real communes of the configured province."""
    return [unit.code for unit in geo.communes()[:count]]


def make_org(name: str | None = None, kind: OrganisationKind = OrganisationKind.ENTERPRISE,
             commune: str | None = None, sector: str = "G", **overrides: Any) -> Organisation:
    """An organisation with no members (the queue does not need them)."""
    _counter["n"] += 1
    values: dict[str, Any] = {"name": name or f"Công ty TNHH Hàng đợi {_counter['n']}", "kind": kind,
                              "commune_code": commune, "sector": sector, "size_class": SizeClass.MICRO}
    values.update(overrides)
    return OrganisationFactory(**values)


def make_application(organisation: Organisation, programme: Programme,
                     status: ApplicationStatus = ApplicationStatus.SUBMITTED, *, days_waiting: float = 1,
                     requested_vnd: int = 10_000_000, reviewer: User | None = None,
                     submitted_days_ago: float | None = None, commit: bool = True, **fields: Any) -> Application:
    """An application stored directly in ``status``, its state unchanged for ``days_waiting`` days."""
    now = utcnow()
    changed = now - dt.timedelta(days=days_waiting)
    submitted = None
    if status is not ApplicationStatus.DRAFT:
        submitted = now - dt.timedelta(days=submitted_days_ago if submitted_days_ago is not None else days_waiting)
    application = Application(
        organisation_id=organisation.id, programme_id=programme.id, status=status, status_changed_at=changed,
        submitted_at=submitted, applied_year=submitted.year if submitted else None, planned_cost_vnd=requested_vnd * 2,
        requested_vnd=requested_vnd, reviewer_id=reviewer.id if reviewer else None, declarations_accepted=True,
        project_title="Phần mềm bán hàng", project_description="Mua phần mềm quản lý bán hàng.",
        created_at=changed, **fields,
    )
    db.session.add(application)
    if commit:
        db.session.commit()
    return application


@contextmanager
def count_queries():
    """The SQL statements run inside the block (an engine ``before_cursor_execute`` listener)."""
    statements: list[str] = []

    def before_cursor_execute(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", before_cursor_execute)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", before_cursor_execute)
