"""Builders shared by the support-application tests (business side, staff review, notifications, bench).

Everything here is committed, so requests made through the test client see it. Function names are
stable: other test modules import them.

Typical use::

    business = make_business(level=2)                 # organisation + owner + submitted assessment
    programme = make_programme(budget_vnd=100_000_000)  # two required documents, one optional
    application = make_submitted(business, programme)  # every field and document, then "submit"
    reviewer, approver = make_reviewer(), make_approver()
    move_to(application, ApplicationStatus.APPROVED, reviewer=reviewer, approver=approver)

Uploading real files needs the ``upload_dir`` fixture (it points ``UPLOAD_DIR`` at a temporary folder);
import it into the test module: ``from tests.application_helpers import upload_dir  # noqa: F401``.
"""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest

from app.extensions import db
from app.models import Role
from app.models.application import Application, ApplicationDocument, ApplicationStatus
from app.models.assessment import Assessment, AssessmentPillarScore, AssessmentStatus
from app.models.catalogue import Partner, Programme
from app.models.organisation import MemberRole, Membership, Organisation
from app.models.types import utcnow
from app.models.user import User
from app.services import frameworks
from app.services import organisations as organisation_service
from tests import catalogue_helpers
from tests.factories import OrganisationFactory, UserFactory

# Minimal valid files ------------------------------------------------------------------------------

#: A one-page PDF that any reader opens: header, catalogue, page, trailer and the ``%%EOF`` marker.
PDF_BYTES = (
    b"%PDF-1.4\n"
    b"1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n"
    b"%%EOF\n"
)
#: A 1x1 red PNG (69 bytes).
PNG_BYTES = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR42mM4IScHAAK2AQUKW6YGAAAAAElFTkSuQmCC"
)
#: A 1x1 red baseline JPEG (287 bytes, made by Pillow).
JPEG_BYTES = base64.b64decode(
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8UHRofHh0aHBwgJC4nICIsIxwcKDcpLDAxNDQ0"
    "Hyc5PTgyPC4zNDL/2wBDAQkJCQwLDBgNDRgyIRwhMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIy"
    "MjL/wAARCAABAAEDASIAAhEBAxEB/8QAFQABAQAAAAAAAAAAAAAAAAAAAAb/xAAUEAEAAAAAAAAAAAAAAAAAAAAA/8QAFQEBAQAAAAAA"
    "AAAAAAAAAAAABQf/xAAUEQEAAAAAAAAAAAAAAAAAAAAA/9oADAMBAAIRAxEAPwCQACqY/9k="
)
#: An HTML page, the classic file that pretends to be a PDF.
HTML_BYTES = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>\n"


def pdf_bytes(padding: int = 0) -> bytes:
    """A valid PDF, optionally ``padding`` bytes bigger (a comment line), for size limits."""
    if padding <= 0:
        return PDF_BYTES
    return PDF_BYTES.replace(b"trailer", b"%" + b"x" * max(padding - 2, 0) + b"\ntrailer", 1)


@pytest.fixture
def upload_dir(app, tmp_path, monkeypatch):
    """Documents go to a temporary folder for the test (``UPLOAD_DIR``), never to ``instance/``."""
    folder = tmp_path / "uploads"
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(folder))
    return folder


# People -------------------------------------------------------------------------------------------


def login(client, user: User) -> None:
    """Log ``user`` in on ``client`` without going through the login form."""
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True


def logout(client) -> None:
    with client.session_transaction() as session:
        session.clear()


def make_user(*roles: Role | str, locale: str = "vi", **overrides: Any) -> User:
    """A confirmed user with ``roles`` (``business`` when none are given)."""
    return UserFactory(roles=list(roles) or [Role.BUSINESS], locale=locale, **overrides)


def make_staff(*roles: Role | str, locale: str = "vi", **overrides: Any) -> User:
    """A department staff member (``reviewer`` when no role is given)."""
    return UserFactory(roles=list(roles) or [Role.REVIEWER], locale=locale, **overrides)


def make_reviewer(**overrides: Any) -> User:
    return make_staff(Role.REVIEWER, **overrides)


def make_approver(**overrides: Any) -> User:
    return make_staff(Role.APPROVER, **overrides)


# Organisations ------------------------------------------------------------------------------------


@dataclass
class Business:
    """An organisation, the member who acts for it, and its latest submitted assessment (or None)."""

    organisation: Organisation
    user: User
    assessment: Assessment | None

    @property
    def id(self) -> int:
        return self.organisation.id


def make_assessment(organisation: Organisation, user: User | None = None, level: int = 1,
                    score: float | None = None) -> Assessment:
    """A submitted assessment at maturity ``level`` (stored directly: the level is what eligibility reads)."""
    framework = frameworks.current_framework()
    track = framework.track_for_kind(organisation.kind.value).code
    score = float(score if score is not None else min(100.0, 10.0 + 20.0 * level))
    now = utcnow()
    for previous in db.session.scalars(db.select(Assessment).where(Assessment.organisation_id == organisation.id,
                                                                   Assessment.is_latest.is_(True))):
        previous.is_latest = False
    assessment = Assessment(
        organisation_id=organisation.id, framework_id=framework.id, framework_version=framework.version,
        track=track, status=AssessmentStatus.SUBMITTED, created_by_id=user.id if user else None,
        submitted_by_id=user.id if user else None, created_at=now, updated_at=now, submitted_at=now,
        overall_score=score, overall_level=level, is_latest=True,
    )
    for position, pillar in enumerate(framework.pillars):
        assessment.pillar_scores.append(AssessmentPillarScore(pillar=pillar.code, position=position, score=score))
    db.session.add(assessment)
    db.session.commit()
    return assessment


def make_business(level: int | None = 1, user: User | None = None, locale: str = "vi",
                  **organisation_fields: Any) -> Business:
    """An organisation (an enterprise in trade, micro-sized) with its owner and a submitted assessment.

    ``level=None`` leaves it without an assessment (so it may not apply). The size class is derived from
    the figures, as the organisation service does; override ``employees``/``annual_revenue_vnd`` for others.
    """
    user = user or make_user(Role.BUSINESS, locale=locale)
    organisation = OrganisationFactory(owner=user, **organisation_fields)
    organisation.size_class = organisation_service.size_class(
        organisation.sector, organisation.employees, organisation.annual_revenue_vnd, organisation.capital_vnd)
    db.session.commit()
    assessment = make_assessment(organisation, user, level) if level is not None else None
    return Business(organisation, user, assessment)


def add_member(organisation: Organisation, user: User | None = None,
               role: MemberRole = MemberRole.MEMBER) -> User:
    """Another member of ``organisation``."""
    user = user or make_user(Role.BUSINESS)
    db.session.add(Membership(organisation_id=organisation.id, user_id=user.id, role=role))
    db.session.commit()
    return user


# Catalogue ----------------------------------------------------------------------------------------

#: Two required documents and an optional one: (code, Vietnamese name, English name, required).
DEFAULT_DOCUMENTS = (
    ("QUOTE", "Báo giá của đơn vị cung cấp", "Supplier's quotation", True),
    ("LICENCE", "Giấy chứng nhận đăng ký kinh doanh", "Business registration certificate", True),
    ("PLAN", "Kế hoạch chuyển đổi số", "Digital transformation plan", False),
)


def make_programme(documents=DEFAULT_DOCUMENTS, **overrides: Any) -> Programme:
    """An open programme for every kind and size (50 % of the cost, caps 20/50/100 million đồng).

    ``documents`` are (code, vi, en, required) tuples; ``budget_vnd``, ``caps_vnd``, ``level_min``... override.
    """
    overrides.setdefault("caps_vnd", {"micro": 20_000_000, "small": 50_000_000, "medium": 100_000_000})
    return catalogue_helpers.make_programme(documents=list(documents), **overrides)


def make_partner(**overrides: Any) -> Partner:
    """A vetted partner (``status``/``retired_at`` override)."""
    return catalogue_helpers.make_partner(**overrides)


# Applications -------------------------------------------------------------------------------------

#: A planned cost whose subsidy (50 %) is above the micro cap: the cap (20 million) is the most one may ask.
PLANNED_COST = 60_000_000


def _org(target: Business | Organisation) -> Organisation:
    return target.organisation if isinstance(target, Business) else target


def _user(target: Business | Organisation, user: User | None) -> User:
    if user is not None:
        return user
    if isinstance(target, Business):
        return target.user
    return target.memberships[0].user


def make_draft(target: Business | Organisation, programme: Programme, user: User | None = None,
               **fields: Any) -> Application:
    """A draft application with nothing filled in unless ``fields`` say so (``planned_cost_vnd``...)."""
    from app.services import applications

    organisation = _org(target)
    user = _user(target, user)
    latest = applications.latest_assessment(organisation.id)
    application = Application(
        organisation_id=organisation.id, programme_id=programme.id, status=ApplicationStatus.DRAFT,
        assessment_id=latest.id if latest else None, created_by_id=user.id, **fields,
    )
    db.session.add(application)
    db.session.commit()
    return application


def add_document(application: Application, code: str, user: User | None = None, content: bytes = PDF_BYTES,
                 filename: str | None = None) -> ApplicationDocument:
    """Upload ``content`` as document ``code`` through the documents service (needs ``upload_dir``)."""
    import io

    from app.services import documents

    user = user or _user(application.organisation, None)
    document = documents.upload(application, code, io.BytesIO(content), filename or f"{code.lower()}.pdf", user,
                                check_state=False)
    db.session.commit()
    return document


def complete_fields(programme: Programme, organisation: Organisation, partner: Partner | None = None,
                    planned_cost_vnd: int = PLANNED_COST) -> dict[str, Any]:
    """Every field "submit" checks, with the requested amount at the most allowed."""
    from app.services import eligibility

    return {
        "planned_cost_vnd": planned_cost_vnd,
        "requested_vnd": eligibility.subsidy(programme, organisation.size_class, planned_cost_vnd),
        "project_title": "Phần mềm kế toán và hoá đơn điện tử",
        "project_description": "Triển khai phần mềm kế toán, hoá đơn điện tử và đào tạo nhân viên bán hàng.",
        "declarations_accepted": True,
        "partner_id": partner.id if partner else None,
    }


def make_complete_draft(target: Business | Organisation, programme: Programme, user: User | None = None,
                        partner: Partner | None = None, **fields: Any) -> Application:
    """A draft with every field and every required document: "submit" would succeed."""
    organisation = _org(target)
    values = complete_fields(programme, organisation, partner)
    values.update(fields)
    application = make_draft(target, programme, user, **values)
    for document in programme.documents:
        if document.required:
            add_document(application, document.code, _user(target, user))
    return application


def make_submitted(target: Business | Organisation, programme: Programme, user: User | None = None,
                   partner: Partner | None = None, **fields: Any) -> Application:
    """A complete application sent through the workflow ("submit"), committed."""
    from app.services import workflow

    user = _user(target, user)
    application = make_complete_draft(target, programme, user, partner, **fields)
    workflow.perform_transition(application, "submit", user)
    db.session.commit()
    return application


#: The actions that lead from ``submitted`` to each state, and who takes them.
_PATHS: dict[ApplicationStatus, tuple[tuple[str, str], ...]] = {
    ApplicationStatus.SUBMITTED: (),
    ApplicationStatus.IN_REVIEW: (("start_review", "reviewer"),),
    ApplicationStatus.INFO_REQUESTED: (("start_review", "reviewer"), ("request_info", "reviewer")),
    ApplicationStatus.RECOMMENDED: (("start_review", "reviewer"), ("recommend", "reviewer")),
    ApplicationStatus.APPROVED: (("start_review", "reviewer"), ("recommend", "reviewer"), ("approve", "approver")),
    ApplicationStatus.REJECTED: (("start_review", "reviewer"), ("reject", "reviewer")),
    ApplicationStatus.WITHDRAWN: (("withdraw", "business"),),
    ApplicationStatus.CANCELLED: (("start_review", "reviewer"), ("recommend", "reviewer"), ("approve", "approver"),
                                  ("cancel", "approver")),
    ApplicationStatus.COMPLETED: (("start_review", "reviewer"), ("recommend", "reviewer"), ("approve", "approver"),
                                  ("upload_completion", "business"), ("complete", "reviewer")),
}


def move_to(application: Application, target: ApplicationStatus, reviewer: User | None = None,
            approver: User | None = None, amount_vnd: int | None = None,
            reason: str = "Vui lòng bổ sung báo giá có chữ ký.") -> Application:
    """Take a *submitted* application to ``target`` through the real workflow, committing each step.

    Staff users are created when not given; ``amount_vnd`` is the recommended/approved amount (the
    requested amount by default). Completion uploads the invoice and the acceptance record (needs
    ``upload_dir``).
    """
    from app.services import workflow

    if application.status is ApplicationStatus.DRAFT:
        raise ValueError("move_to starts from a submitted application: use make_submitted first")
    reviewer = reviewer or make_reviewer()
    approver = approver or make_approver()
    business_user = _user(application.organisation, None)
    actors = {"reviewer": reviewer, "approver": approver, "business": business_user}
    for action, who in _PATHS[target]:
        if action == "upload_completion":
            from app.services.applications import COMPLETION_DOCUMENTS

            for code in COMPLETION_DOCUMENTS:
                add_document(application, code, business_user)
            continue
        data: dict[str, Any] = {}
        if action in ("recommend", "approve"):
            data["amount_vnd"] = amount_vnd if amount_vnd is not None else application.requested_vnd
        if action in ("request_info", "reject", "cancel", "send_back"):
            data["reason"] = reason
        workflow.perform_transition(application, action, actors[who], **data)
        db.session.commit()
    return application


def application_url(application: Application, suffix: str = "") -> str:
    """The business's page of ``application`` (``suffix`` like ``/documents/3``)."""
    return f"/organisations/{application.organisation_id}/applications/{application.id}{suffix}"


def applications_url(organisation: Organisation | Business, suffix: str = "") -> str:
    return f"/organisations/{_org(organisation).id}/applications/{suffix}"


def local_today() -> dt.date:
    return dt.datetime.now(frameworks.PROVINCE_TZ).date()
