"""Support applications seen from the business: eligibility at the moment of applying, required
documents, the subsidy ceiling of an application.

The state machine is ``app.services.workflow``; this module holds the checks it calls and the
business's own operations on a draft (create, edit, documents).
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.extensions import db
from app.models.application import (
    ActivityKind,
    Application,
    ApplicationActivity,
    ApplicationDocument,
    ApplicationStatus,
    Visibility,
)
from app.models.assessment import Assessment, AssessmentStatus
from app.models.catalogue import Partner, PartnerStatus, Programme
from app.models.organisation import Organisation
from app.models.outcome import Outcome, OutcomeKind
from app.models.types import utcnow
from app.models.user import User
from app.services import audit, eligibility, workflow
from app.services.catalogue import today
from app.services.formatting import format_number

#: Document codes for the completion step (invoice and acceptance record), whatever the programme.
COMPLETION_DOCUMENTS = ("invoice", "acceptance")


def latest_assessment(organisation_id: int) -> Assessment | None:
    """The organisation's most recent submitted self-assessment (its level decides eligibility)."""
    return db.session.scalars(
        select(Assessment)
        .where(Assessment.organisation_id == organisation_id, Assessment.status == AssessmentStatus.SUBMITTED)
        .order_by(Assessment.submitted_at.desc(), Assessment.id.desc())
        .limit(1)
    ).first()


@dataclass(frozen=True)
class ApplyCheck:
    """Whether the organisation may apply now, and why not (texts for the business)."""

    eligible: bool
    reasons: tuple[str, ...]
    assessment: Assessment | None


def check_eligibility(organisation: Organisation, programme: Programme, *, on_date: dt.date | None = None,
                      exclude_application_id: int | None = None, locale: str | None = None) -> ApplyCheck:
    """The catalogue's eligibility rules for this organisation today, with its latest assessment's level.

    Without a submitted self-assessment there is no level to check: the reason says to complete one.
    ``exclude_application_id`` leaves the application being submitted out of the once-a-year count.
    """
    on_date = on_date or today()
    assessment = latest_assessment(organisation.id)
    if assessment is None or assessment.overall_level is None:
        text = eligibility.translate(
            locale or eligibility._request_locale(),
            eligibility.N_("Complete your self-assessment first: the programme's conditions depend on your "
                           "digital maturity level."))
        return ApplyCheck(False, (text,), None)
    count = applications_this_year(organisation.id, programme.id, on_date.year, exclude_application_id)
    result = eligibility.check(programme, organisation, assessment.overall_level, on_date,
                               applications_this_year=count, locale=locale)
    return ApplyCheck(result.eligible, result.reasons, assessment)


def applications_this_year(organisation_id: int, programme_id: int, year: int,
                           exclude_application_id: int | None = None) -> int:
    """Applications the organisation sent to the programme in ``year`` (drafts and withdrawals do not count)."""
    from sqlalchemy import func

    from app.models.application import COUNTED_STATES

    query = select(func.count(Application.id)).where(
        Application.organisation_id == organisation_id, Application.programme_id == programme_id,
        Application.applied_year == year, Application.status.in_(COUNTED_STATES),
    )
    if exclude_application_id is not None:
        query = query.where(Application.id != exclude_application_id)
    return db.session.scalar(query) or 0


def max_request(application: Application) -> int:
    """The most the application may ask for: the programme's subsidy for its planned cost and size class."""
    return max_request_for(application.organisation, application.programme, application.planned_cost_vnd or 0)


def max_request_for(organisation: Organisation, programme: Programme, planned_cost_vnd: int) -> int:
    """The subsidy ``organisation`` could receive from ``programme`` for a project costing ``planned_cost_vnd``."""
    return eligibility.subsidy(programme, organisation.size_class, planned_cost_vnd)


def present_document_codes(application: Application) -> set[str]:
    """Codes of the documents currently attached (removed ones do not count)."""
    return set(db.session.scalars(
        select(ApplicationDocument.code).where(ApplicationDocument.application_id == application.id,
                                               ApplicationDocument.removed_at.is_(None))
    ))


def missing_required_documents(application: Application) -> list:
    """The programme's required documents the application does not have yet (``ProgrammeDocument`` rows)."""
    present = present_document_codes(application)
    return [document for document in application.programme.documents
            if document.required and document.code not in present]


def missing_completion_documents(application: Application) -> list[str]:
    """Which of the invoice and the acceptance record are still missing."""
    present = present_document_codes(application)
    return [code for code in COMPLETION_DOCUMENTS if code not in present]


# The business's own operations ------------------------------------------------------------------------

#: Longest project title and description, in characters (the columns and the form agree).
MAX_TITLE_LENGTH = 200
MAX_DESCRIPTION_LENGTH = 4000
MAX_COMMENT_LENGTH = 4000
#: Fields a business edits while the application is a draft (audited when they change).
DRAFT_FIELDS = ("project_title", "project_description", "planned_cost_vnd", "requested_vnd", "partner_id",
                "declarations_accepted")
#: Workflow actions the business takes (the buttons its pages show).
BUSINESS_ACTIONS = ("submit", "resubmit", "withdraw")


class ApplicationError(ValueError):
    """The business asked for something that cannot be done; ``errors`` maps a field (or None) to messages."""

    status_code = 400

    def __init__(self, errors: dict[str | None, list] | Any):
        if not isinstance(errors, dict):
            errors = {None: [errors]}
        super().__init__("; ".join(str(m) for messages in errors.values() for m in messages))
        self.errors = errors

    @property
    def message(self):
        return next(iter(self.errors.values()))[0]


def programme_by_code(code: str | None) -> Programme | None:
    """A programme that still exists for businesses (retired ones are history)."""
    if not code or len(code) > 40:
        return None
    return db.session.scalar(select(Programme).where(Programme.code == code, Programme.retired_at.is_(None)))


def list_for_organisation(organisation: Organisation) -> list[Application]:
    """The organisation's applications, newest first, with their programme and partner loaded."""
    from sqlalchemy.orm import selectinload

    return list(db.session.scalars(
        select(Application)
        .options(selectinload(Application.programme), selectinload(Application.partner))
        .where(Application.organisation_id == organisation.id)
        .order_by(Application.created_at.desc(), Application.id.desc())
    ))


def find_for_organisation(organisation: Organisation, application_id: int) -> Application | None:
    """One of the organisation's applications; another organisation's is None (the page says 404)."""
    return db.session.scalar(select(Application).where(Application.id == application_id,
                                                       Application.organisation_id == organisation.id))


def open_draft(organisation_id: int, programme_id: int) -> Application | None:
    return db.session.scalar(select(Application).where(
        Application.organisation_id == organisation_id, Application.programme_id == programme_id,
        Application.status == ApplicationStatus.DRAFT))


def create_draft(organisation: Organisation, programme: Programme, user: User,
                 ip: str | None = None) -> tuple[Application, bool]:
    """The organisation's draft for ``programme``: the open one, or a new one (second value True).

    Eligibility is the caller's check (``check_eligibility``). One draft per organisation and programme
    is a unique index, so two members pressing "Apply" at once end up in the same draft.
    """
    from sqlalchemy.exc import IntegrityError

    existing = open_draft(organisation.id, programme.id)
    if existing is not None:
        return existing, False
    latest = latest_assessment(organisation.id)
    application = Application(organisation_id=organisation.id, programme_id=programme.id,
                              status=ApplicationStatus.DRAFT, assessment_id=latest.id if latest else None,
                              created_by_id=user.id)
    try:
        with db.session.begin_nested():
            db.session.add(application)
    except IntegrityError:
        existing = open_draft(organisation.id, programme.id)
        if existing is None:
            raise
        return existing, False
    audit.record("application.create", "application", application.id, actor=user, ip=ip,
                 after={"organisation_id": organisation.id, "programme": programme.code,
                        "assessment_id": application.assessment_id, "status": "draft"})
    return application, True


def vetted_partners() -> list[Partner]:
    """The partners a business may name: vetted and not retired, by name."""
    return list(db.session.scalars(
        select(Partner).where(Partner.status == PartnerStatus.VETTED, Partner.retired_at.is_(None))
        .order_by(Partner.name, Partner.id)
    ))


def suggested_request(application: Application, planned_cost_vnd: int | None = None) -> int | None:
    """The pre-filled amount: the programme's subsidy for the planned cost (None without a cost)."""
    cost = planned_cost_vnd if planned_cost_vnd is not None else application.planned_cost_vnd
    if not cost:
        return None
    return eligibility.subsidy(application.programme, application.organisation.size_class, cost)


def update_draft(application: Application, user: User, values: dict[str, Any], ip: str | None = None,
                 expected_version: Any = None) -> bool:
    """Save what the business typed into its draft; True when something changed. The caller commits.

    Missing values are fine (a half-filled draft is kept); wrong ones are refused: negative amounts,
    texts too long, a partner that is not vetted, and a requested amount above what the programme pays
    for the planned cost. An empty requested amount is filled with that maximum.
    """
    if application.status is not ApplicationStatus.DRAFT:
        raise ApplicationError(_l("Only an application that has not been sent yet can be changed."))
    workflow.check_version(application, expected_version)
    errors: dict[str | None, list] = {}
    cleaned: dict[str, Any] = {}
    for field, limit in (("project_title", MAX_TITLE_LENGTH), ("project_description", MAX_DESCRIPTION_LENGTH)):
        text = values.get(field)
        text = unicodedata.normalize("NFC", text.replace("\r\n", "\n")).strip() if isinstance(text, str) else None
        if text and len(text) > limit:
            errors.setdefault(field, []).append(_l("At most %(max)d characters.", max=limit))
        cleaned[field] = text or None
    for field in ("planned_cost_vnd", "requested_vnd"):
        amount = values.get(field)
        if amount is not None and amount < 0:
            errors.setdefault(field, []).append(_l("The amount cannot be negative."))
        cleaned[field] = amount
    partner_id = values.get("partner_id")
    if partner_id:
        partner = db.session.get(Partner, int(partner_id))
        if partner is None or partner.status is not PartnerStatus.VETTED or partner.retired_at is not None:
            errors.setdefault("partner_id", []).append(_l("Choose a partner from the list of vetted partners."))
        cleaned["partner_id"] = int(partner_id)
    else:
        cleaned["partner_id"] = None
    cleaned["declarations_accepted"] = bool(values.get("declarations_accepted"))
    cost = cleaned["planned_cost_vnd"]
    if cleaned["requested_vnd"] is None and cost:
        cleaned["requested_vnd"] = suggested_request(application, cost)
    requested = cleaned["requested_vnd"]
    if requested is not None and requested > 0 and "requested_vnd" not in errors:
        ceiling = eligibility.subsidy(application.programme, application.organisation.size_class, cost or 0)
        if not cost:
            errors.setdefault("requested_vnd", []).append(
                _l("Enter the planned cost first: the amount you may ask for depends on it."))
        elif requested > ceiling:
            errors.setdefault("requested_vnd", []).append(
                _l("You can ask for at most %(amount)s đồng: the programme pays %(rate)s of the cost, up to "
                   "its cap for your business size.", amount=format_number(ceiling),
                   rate=f"{round(application.programme.support_rate * 100, 1):g} %"))
    if errors:
        raise ApplicationError(errors)
    before = audit.snapshot(application, list(DRAFT_FIELDS))
    for field, value in cleaned.items():
        setattr(application, field, value)
    after = audit.snapshot(application, list(DRAFT_FIELDS))
    changed_before, changed_after = audit.changed_fields(before, after)
    if not changed_after:
        return False
    application.updated_at = utcnow()
    workflow.flush_versioned()
    audit.record("application.update", "application", application.id, actor=user, ip=ip,
                 before=changed_before, after=changed_after)
    return True


def business_actions(application: Application, user: User) -> list:
    """The workflow buttons the business sees now (submit, resubmit, withdraw)."""
    return [t for t in workflow.available_actions(application, user)
            if workflow.BUSINESS in t.actors and t.action in BUSINESS_ACTIONS]


def resubmit(application: Application, user: User, note: str | None, *, expected_version: Any = None,
             ip: str | None = None, locale: str | None = None):
    """Send the application back to the reviewer after they asked for more; required documents must be there."""
    if application.status is ApplicationStatus.INFO_REQUESTED:
        workflow.check_version(application, expected_version)
        missing = missing_required_documents(application)
        if missing:
            lang = (locale or "vi")[:2]
            raise workflow.InvalidData(_l("The application is not complete yet."), tuple(
                str(_l("Missing document: %(name)s", name=d.name.get(lang) or d.name.get("vi", d.code)))
                for d in missing))
    return workflow.perform_transition(application, "resubmit", user, expected_version=expected_version, ip=ip,
                                       locale=locale, note=note)


def shared_timeline(application: Application) -> list[ApplicationActivity]:
    """The timeline the business reads: entries shared with it, oldest first (internal ones never)."""
    from sqlalchemy.orm import selectinload

    return list(db.session.scalars(
        select(ApplicationActivity)
        .options(selectinload(ApplicationActivity.actor), selectinload(ApplicationActivity.document))
        .where(ApplicationActivity.application_id == application.id,
               ApplicationActivity.visibility == Visibility.SHARED)
        .order_by(ApplicationActivity.created_at, ApplicationActivity.id)
    ))


def add_comment(application: Application, user: User, body: str | None, ip: str | None = None) -> ApplicationActivity:
    """A business comment: always shared with the department; audit record and timeline entry."""
    text = unicodedata.normalize("NFC", (body or "").replace("\r\n", "\n")).strip()
    if not text:
        raise ApplicationError({"body": [_l("Write your message first.")]})
    if len(text) > MAX_COMMENT_LENGTH:
        raise ApplicationError({"body": [_l("At most %(max)d characters.", max=MAX_COMMENT_LENGTH)]})
    if application.status is ApplicationStatus.DRAFT:
        raise ApplicationError(_l("Send the application first: the department only reads sent applications."))
    activity = ApplicationActivity(application_id=application.id, kind=ActivityKind.COMMENT,
                                   visibility=Visibility.SHARED, actor_id=user.id, body=text, created_at=utcnow())
    db.session.add(activity)
    db.session.flush()
    audit.record("application.comment", "application", application.id, actor=user, ip=ip,
                 after={"activity_id": activity.id, "visibility": Visibility.SHARED.value, "length": len(text)})
    from app.services import notifications

    notifications.comment_added(application, activity, user)
    return activity


def partner_rating(application: Application) -> Outcome | None:
    """The business's rating of the partner on this application, if it gave one."""
    return db.session.scalar(select(Outcome).where(Outcome.application_id == application.id,
                                                   Outcome.kind == OutcomeKind.RATING,
                                                   Outcome.item_type == "partner"))


def can_rate(application: Application) -> bool:
    """A completed application with a partner, not rated yet."""
    return (application.status is ApplicationStatus.COMPLETED and application.partner_id is not None
            and partner_rating(application) is None)


def rate_partner(application: Application, user: User, rating: Any, comment: str | None, ip: str | None = None,
                 expected_version: Any = None) -> Outcome:
    """Store the business's 1-5 rating of the partner (once), for the recommender; audit record.

    The application's version moves on with it, so two clicks at once store one rating.
    """
    if application.status is not ApplicationStatus.COMPLETED or application.partner is None:
        raise ApplicationError(_l("You can rate the partner once the project is completed."))
    if partner_rating(application) is not None:
        raise ApplicationError(_l("You have already rated the partner for this project."))
    try:
        stars = int(rating)
    except (TypeError, ValueError):
        stars = 0
    if not 1 <= stars <= 5:
        raise ApplicationError({"rating": [_l("Choose from 1 to 5 stars.")]})
    text = unicodedata.normalize("NFC", (comment or "").replace("\r\n", "\n")).strip() or None
    if text and len(text) > MAX_COMMENT_LENGTH:
        raise ApplicationError({"comment": [_l("At most %(max)d characters.", max=MAX_COMMENT_LENGTH)]})
    workflow.check_version(application, expected_version)
    application.updated_at = utcnow()
    workflow.flush_versioned()
    outcome = Outcome(organisation_id=application.organisation_id, item_type="partner",
                      item_code=application.partner.code, kind=OutcomeKind.RATING, rating=stars, comment=text,
                      assessment_id=application.assessment_id, source="application", application_id=application.id,
                      occurred_at=utcnow())
    db.session.add(outcome)
    db.session.flush()
    audit.record("application.rate_partner", "application", application.id, actor=user, ip=ip,
                 after={"partner": application.partner.code, "rating": stars, "outcome_id": outcome.id,
                        "comment": bool(text)})
    return outcome
