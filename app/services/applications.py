"""Support applications seen from the business: eligibility at the moment of applying, required
documents, the subsidy ceiling of an application.

The state machine is ``app.services.workflow``; this module holds the checks it calls and the
business's own operations on a draft (create, edit, documents).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from app.extensions import db
from app.models.application import Application, ApplicationDocument
from app.models.assessment import Assessment, AssessmentStatus
from app.models.catalogue import Programme
from app.models.organisation import Organisation
from app.services import eligibility

#: Document codes for the completion step (invoice and acceptance record), whatever the programme.
COMPLETION_DOCUMENTS = ("invoice", "acceptance")


def local_today() -> dt.date:
    """Today in the portal's time zone (Vietnam), not the server's: years and deadlines are local."""
    from zoneinfo import ZoneInfo

    from flask import current_app

    return dt.datetime.now(ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])).date()


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
    on_date = on_date or local_today()
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
    size = application.organisation.size_class
    return eligibility.subsidy(application.programme, size, application.planned_cost_vnd or 0)


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
