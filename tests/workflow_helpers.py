"""A small world for workflow tests: a programme, an applying business with a submitted assessment,
staff in each role, and applications moved to any state through the real workflow."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from app.extensions import db
from app.models import (
    Application,
    ApplicationDocument,
    ApplicationStatus,
    Assessment,
    AssessmentStatus,
    Organisation,
    Programme,
    Role,
    SizeClass,
    User,
)
from app.models.types import utcnow
from app.services import workflow
from tests.catalogue_helpers import make_programme
from tests.factories import OrganisationFactory, UserFactory

#: The actions that lead from a draft to each state, with the role that takes each one.
PATHS: dict[ApplicationStatus, tuple[str, ...]] = {
    ApplicationStatus.DRAFT: (),
    ApplicationStatus.SUBMITTED: ("submit",),
    ApplicationStatus.IN_REVIEW: ("submit", "start_review"),
    ApplicationStatus.INFO_REQUESTED: ("submit", "start_review", "request_info"),
    ApplicationStatus.RECOMMENDED: ("submit", "start_review", "recommend"),
    ApplicationStatus.APPROVED: ("submit", "start_review", "recommend", "approve"),
    ApplicationStatus.REJECTED: ("submit", "start_review", "reject"),
    ApplicationStatus.WITHDRAWN: ("withdraw",),
    ApplicationStatus.COMPLETED: ("submit", "start_review", "recommend", "approve", "complete"),
    ApplicationStatus.CANCELLED: ("submit", "start_review", "recommend", "approve", "cancel"),
}


@dataclass
class World:
    programme: Programme
    organisation: Organisation
    owner: User
    reviewer: User
    approver: User
    second_approver: User
    outsider: User
    admin: User


def make_assessment(organisation: Organisation, level: int = 2) -> Assessment:
    """A submitted assessment at ``level`` (scores are not needed by the workflow)."""
    assessment = Assessment(organisation_id=organisation.id, framework_id="dx-sme", framework_version=1,
                            track="full", status=AssessmentStatus.SUBMITTED, submitted_at=utcnow(),
                            overall_score=20.0 * level, overall_level=level, is_latest=True)
    db.session.add(assessment)
    db.session.commit()
    return assessment


def make_world(**programme_overrides) -> World:
    programme = make_programme(**programme_overrides)
    owner = UserFactory()
    organisation = OrganisationFactory(owner=owner, size_class=SizeClass.SMALL)
    make_assessment(organisation)
    other_owner = UserFactory()
    OrganisationFactory(owner=other_owner, size_class=SizeClass.SMALL)
    return World(programme=programme, organisation=organisation, owner=owner,
                 reviewer=UserFactory(roles=[Role.REVIEWER]), approver=UserFactory(roles=[Role.APPROVER]),
                 second_approver=UserFactory(roles=[Role.APPROVER]), outsider=other_owner,
                 admin=UserFactory(roles=[Role.ADMIN]))


def attach_document(application: Application, code: str) -> ApplicationDocument:
    """A document row (the workflow only looks at which codes are present, not at the file)."""
    document = ApplicationDocument(application_id=application.id, code=code, original_name=f"{code}.pdf",
                                   stored_name=secrets.token_hex(16) + ".pdf", content_type="application/pdf",
                                   size_bytes=10, sha256=hashlib.sha256(code.encode()).hexdigest())
    db.session.add(document)
    db.session.commit()
    return document


def make_draft(world: World, *, planned_cost: int = 60_000_000, requested: int = 30_000_000) -> Application:
    """A complete draft: cost, amount, description, declarations and the required documents."""
    application = Application(organisation_id=world.organisation.id, programme_id=world.programme.id,
                              planned_cost_vnd=planned_cost, requested_vnd=requested,
                              project_title="Phần mềm bán hàng", project_description="Mua phần mềm bán hàng.",
                              declarations_accepted=True, created_by_id=world.owner.id)
    db.session.add(application)
    db.session.commit()
    for document in world.programme.documents:
        if document.required:
            attach_document(application, document.code)
    return application


def actor_for(world: World, action: str) -> User:
    if action in ("submit", "resubmit", "withdraw"):
        return world.owner
    if action in ("start_review", "request_info", "recommend", "reject", "complete"):
        return world.reviewer
    return world.approver


def data_for(action: str, application: Application) -> dict:
    if action in ("request_info", "reject", "cancel", "send_back"):
        return {"reason": "Thiếu báo giá có chữ ký."}
    if action == "recommend":
        return {"amount_vnd": application.requested_vnd}
    if action == "complete":
        for code in ("invoice", "acceptance"):
            attach_document(application, code)
    return {}


def advance(world: World, application: Application, actions) -> Application:
    """Take ``actions`` in turn, each by its usual actor, committing after each."""
    for action in actions:
        workflow.perform_transition(application, action, actor_for(world, action), **data_for(action, application))
        db.session.commit()
    return application


def application_in(world: World, status: ApplicationStatus) -> Application:
    return advance(world, make_draft(world), PATHS[status])
