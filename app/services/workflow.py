"""The support-application workflow: one declarative table and one entry point.

``TRANSITIONS`` lists every (state, action) -> (next state, who may act). ``perform_transition``
is the only code that changes an application's state: it checks the actor (role, membership, four
eyes), the version the actor saw, the data the action needs, commits or releases budget, and writes
the audit event, the timeline entry and the notifications in the caller's transaction. The caller
commits; on any ``WorkflowError`` nothing has been written and the session is clean.

Budget is committed with one conditional UPDATE (``committed + amount <= budget``), which is correct
under concurrency on PostgreSQL (the row lock re-evaluates the condition) and on SQLite (the write
lock serialises writers, and the condition is evaluated on the latest data), so no approval can
push the committed total over the budget.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import update
from sqlalchemy.orm.exc import StaleDataError

from app.extensions import db
from app.models.application import (
    ActivityKind,
    Application,
    ApplicationActivity,
    ApplicationStatus,
    Visibility,
)
from app.models.catalogue import Programme
from app.models.outcome import Outcome, OutcomeKind
from app.models.types import utcnow
from app.models.user import Role, User
from app.services import applications, audit
from app.services.catalogue import today
from app.services.formatting import format_number

S = ApplicationStatus

#: Who acts: a member of the applying organisation, or staff with a role.
BUSINESS = "business"
REVIEWER = Role.REVIEWER.value
APPROVER = Role.APPROVER.value

#: The longest reason, note or comment kept, in characters.
MAX_NOTE_LENGTH = 4000


@dataclass(frozen=True)
class Transition:
    """One edge of the workflow."""

    action: str
    source: ApplicationStatus
    target: ApplicationStatus
    actors: frozenset[str]
    #: The button's words.
    label: Any
    #: A reason the business will read is required (rejections, cancellations, requests for documents).
    needs_reason: bool = False
    #: Only staff see the timeline entry (the business sees the public state only).
    internal: bool = False


def _edges(action: str, sources: tuple[ApplicationStatus, ...], target: ApplicationStatus,
           actors: tuple[str, ...], label: Any, **options: Any) -> list[Transition]:
    return [Transition(action, source, target, frozenset(actors), label, **options) for source in sources]


#: The whole workflow. Read it as: in state ``source``, ``actors`` may ``action``, leading to ``target``.
TRANSITIONS: tuple[Transition, ...] = tuple(
    _edges("submit", (S.DRAFT,), S.SUBMITTED, (BUSINESS,), _l("Send the application"))
    + _edges("start_review", (S.SUBMITTED,), S.IN_REVIEW, (REVIEWER,), _l("Start the review"))
    + _edges("request_info", (S.IN_REVIEW,), S.INFO_REQUESTED, (REVIEWER,), _l("Ask for more documents"),
             needs_reason=True)
    + _edges("resubmit", (S.INFO_REQUESTED,), S.IN_REVIEW, (BUSINESS,), _l("Send the additional documents"))
    + _edges("recommend", (S.IN_REVIEW,), S.RECOMMENDED, (REVIEWER,), _l("Recommend for approval"),
             internal=True)
    + _edges("send_back", (S.RECOMMENDED,), S.IN_REVIEW, (APPROVER,), _l("Send back to the reviewer"),
             needs_reason=True, internal=True)
    + _edges("approve", (S.RECOMMENDED,), S.APPROVED, (APPROVER,), _l("Approve"))
    + _edges("reject", (S.IN_REVIEW, S.INFO_REQUESTED), S.REJECTED, (REVIEWER, APPROVER), _l("Reject"),
             needs_reason=True)
    + _edges("reject", (S.RECOMMENDED, S.APPROVED), S.REJECTED, (APPROVER,), _l("Reject"), needs_reason=True)
    + _edges("withdraw", (S.DRAFT, S.SUBMITTED, S.IN_REVIEW, S.INFO_REQUESTED, S.RECOMMENDED), S.WITHDRAWN,
             (BUSINESS,), _l("Withdraw the application"))
    + _edges("complete", (S.APPROVED,), S.COMPLETED, (REVIEWER, APPROVER), _l("Confirm completion"))
    + _edges("cancel", (S.APPROVED,), S.CANCELLED, (APPROVER,), _l("Cancel the support"), needs_reason=True)
)

_BY_KEY: dict[tuple[ApplicationStatus, str], Transition] = {(t.source, t.action): t for t in TRANSITIONS}
ACTIONS: tuple[str, ...] = tuple(dict.fromkeys(t.action for t in TRANSITIONS))


class WorkflowError(Exception):
    """A transition that cannot happen; ``message`` is for the user (translated lazily)."""

    status_code = 409

    def __init__(self, message: Any, details: tuple[str, ...] = ()):
        super().__init__(str(message))
        self.message = message
        self.details = details


class NotAllowed(WorkflowError):
    """The action does not exist in the application's current state."""


class PermissionDenied(WorkflowError):
    """The user may not take this action (role, membership or four eyes)."""

    status_code = 403


class FourEyesViolation(PermissionDenied):
    """The approver is the staff member who recommended the application."""


class VersionConflict(WorkflowError):
    """The application changed since the user opened it."""


class BudgetExceeded(WorkflowError):
    """The programme's remaining budget cannot cover the amount."""


class InvalidData(WorkflowError):
    """The action needs data it was not given (a reason, an amount, documents, eligibility)."""

    status_code = 400


def transition_for(application: Application, action: str) -> Transition | None:
    """The edge ``action`` takes from the application's state, or None."""
    return _BY_KEY.get((application.status, action))


def is_member(application: Application, user: User) -> bool:
    """Whether ``user`` belongs to the applying organisation."""
    return application.organisation.member_role(user) is not None


def may_act(transition: Transition, application: Application, user: User) -> bool:
    """Role and membership (not four eyes, which ``check_four_eyes`` explains separately)."""
    if not getattr(user, "is_authenticated", False):
        return False
    if BUSINESS in transition.actors and is_member(application, user):
        return True
    return any(user.has_role(role) for role in transition.actors if role != BUSINESS)


def four_eyes_blocks(transition: Transition, application: Application, user: User) -> bool:
    """An approval by the same person who recommended it."""
    return transition.action == "approve" and application.recommended_by_id == user.id


def available_actions(application: Application, user: User) -> list[Transition]:
    """The transitions ``user`` may take now (the buttons to show), four eyes included."""
    return [t for t in TRANSITIONS if t.source == application.status and may_act(t, application, user)
            and not four_eyes_blocks(t, application, user)]


def _clean_note(value: Any) -> str | None:
    if value is None:
        return None
    import unicodedata

    text = unicodedata.normalize("NFC", str(value).replace("\r\n", "\n")).strip()
    if len(text) > MAX_NOTE_LENGTH:
        raise InvalidData(_l("Please keep the text under %(count)s characters.", count=MAX_NOTE_LENGTH))
    return text or None


def _check_data(transition: Transition, application: Application, data: dict[str, Any],
                locale: str | None) -> dict[str, Any]:
    """Validate what the action needs; returns the cleaned values."""
    cleaned: dict[str, Any] = {"note": _clean_note(data.get("reason") or data.get("note"))}
    if transition.needs_reason and not cleaned["note"]:
        raise InvalidData(_l("Please give a reason: the business will read it."))
    action = transition.action
    if action == "submit":
        _check_submission(application, locale)
    elif action == "recommend":
        amount = _amount(data.get("amount_vnd"))
        ceiling = min(application.requested_vnd or 0, applications.max_request(application))
        if amount is None or amount <= 0:
            raise InvalidData(_l("Enter the amount you recommend, in đồng."))
        if amount > ceiling:
            raise InvalidData(_l("The recommended amount cannot be more than %(amount)s đồng (the amount "
                                 "requested, within the programme's cap).", amount=format_number(ceiling)))
        cleaned["amount"] = amount
    elif action == "approve":
        amount = _amount(data.get("amount_vnd"))
        recommended = application.recommended_vnd or 0
        if amount is None:
            amount = recommended
        if amount <= 0 or amount > recommended:
            raise InvalidData(_l("The approved amount must be more than 0 and at most the recommended "
                                 "%(amount)s đồng.", amount=format_number(recommended)))
        cleaned["amount"] = amount
    elif action == "complete":
        missing = applications.missing_completion_documents(application)
        if missing:
            raise InvalidData(_l("The business has not uploaded the invoice and the acceptance record yet."))
        amount = _amount(data.get("amount_vnd"))
        approved = application.approved_vnd or 0
        if amount is None:
            amount = approved
        if amount < 0 or amount > approved:
            raise InvalidData(_l("The amount paid must be between 0 and the approved %(amount)s đồng.",
                                 amount=format_number(approved)))
        cleaned["amount"] = amount
    return cleaned


def _amount(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError) as error:
        raise InvalidData(_l("Enter the amount as a whole number of đồng.")) from error


def _check_submission(application: Application, locale: str | None) -> None:
    """Eligibility again, the amounts, the declarations and every required document (texts in ``locale``)."""
    check = applications.check_eligibility(application.organisation, application.programme,
                                           exclude_application_id=application.id, locale=locale)
    if not check.eligible:
        raise InvalidData(_l("You cannot apply to this programme now."), check.reasons)
    if locale:
        from flask_babel import force_locale

        with force_locale(locale):
            return _check_completeness(application, locale)
    return _check_completeness(application, locale)


def _check_completeness(application: Application, locale: str | None) -> None:
    """Everything the department needs to start reviewing; every gap is listed at once."""
    from app.services.eligibility import _request_locale, normalise_locale

    lang = normalise_locale(locale) if locale else _request_locale()
    problems: list[str] = []
    if not application.planned_cost_vnd or application.planned_cost_vnd <= 0:
        problems.append(str(_l("Enter the planned cost of the project.")))
    ceiling = applications.max_request(application)
    if not application.requested_vnd or application.requested_vnd <= 0:
        problems.append(str(_l("Enter the amount you ask for.")))
    elif application.requested_vnd > ceiling:
        problems.append(str(_l("You can ask for at most %(amount)s đồng for this cost.",
                               amount=format_number(ceiling))))
    if not (application.project_description or "").strip():
        problems.append(str(_l("Describe your project in a few sentences.")))
    if not application.declarations_accepted:
        problems.append(str(_l("Please confirm the declarations.")))
    for document in applications.missing_required_documents(application):
        problems.append(str(_l("Missing document: %(name)s", name=document.name.get(lang)
                               or document.name.get("vi", document.code))))
    if problems:
        raise InvalidData(_l("The application is not complete yet."), tuple(problems))


def commit_budget(programme_id: int, amount: int) -> bool:
    """Add ``amount`` to the programme's committed total if it still fits the budget (atomically)."""
    result = db.session.execute(
        update(Programme)
        .where(Programme.id == programme_id, Programme.committed_vnd + amount <= Programme.budget_vnd)
        .values(committed_vnd=Programme.committed_vnd + amount, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def release_budget(programme_id: int, amount: int, disbursed: int = 0) -> None:
    """Give back ``amount`` of committed money (cancel, reject after approval, paid less than approved);
    ``disbursed`` is what was paid out."""
    db.session.execute(
        update(Programme)
        .where(Programme.id == programme_id)
        .values(committed_vnd=Programme.committed_vnd - amount,
                disbursed_vnd=Programme.disbursed_vnd + disbursed, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )


_AUDITED = ["status", "version", "requested_vnd", "recommended_vnd", "approved_vnd", "disbursed_vnd",
            "reviewer_id", "decision_reason"]


CHANGED_MEANWHILE = _l("This application changed while you were looking at it. Check what changed, then try "
                       "again.")


def check_version(application: Application, expected_version: Any) -> None:
    """Refuse a change made from a page that showed another version (no version sent: not checked).

    Anything that is not a whole number is a conflict, never a crash.
    """
    if expected_version in (None, ""):
        return
    try:
        seen = int(expected_version)
    except (TypeError, ValueError):
        seen = -1
    if seen != application.version:
        raise VersionConflict(CHANGED_MEANWHILE)


def flush_versioned() -> None:
    """Flush, turning a concurrent change (the ``UPDATE ... WHERE version = :seen``) into a VersionConflict."""
    try:
        db.session.flush()
    except StaleDataError as error:
        db.session.rollback()
        raise VersionConflict(CHANGED_MEANWHILE) from error


def perform_transition(application: Application, action: str, user: User, *,
                       expected_version: int | None = None, ip: str | None = None,
                       locale: str | None = None, **data: Any) -> Transition:
    """Take ``action`` on ``application`` as ``user``; raises a ``WorkflowError`` subclass if it cannot.

    ``expected_version`` is the version the user's page showed (staff forms send it back); ``data``
    carries ``reason``/``note`` and ``amount_vnd`` where the action uses them. Writes the change, the
    audit event, the timeline entry, any outcome for the recommender and the notifications; the caller
    commits.
    """
    check_version(application, expected_version)  # first: a stale page is told so, whatever else changed
    transition = transition_for(application, action)
    if transition is None:
        if action not in ACTIONS:
            raise NotAllowed(_l("Unknown action."))
        raise NotAllowed(_l("This action is not possible while the application is “%(state)s”.",
                            state=application.status.label))
    if not may_act(transition, application, user):
        raise PermissionDenied(_l("You are not allowed to do this."))
    if four_eyes_blocks(transition, application, user):
        raise FourEyesViolation(_l("You recommended this application, so another approver must decide on it."))
    cleaned = _check_data(transition, application, data, locale)
    before = audit.snapshot(application, _AUDITED)
    now = utcnow()
    previous, entered_previous = application.status, application.status_changed_at
    application.status = transition.target
    application.status_changed_at = now
    _apply_effects(transition, application, user, cleaned, now)
    flush_versioned()
    if transition.action == "approve" and not commit_budget(application.programme_id, cleaned["amount"]):
        db.session.rollback()
        raise BudgetExceeded(_l("The programme's remaining budget cannot cover this amount. Approve a smaller "
                                "amount or reject the application."))
    _money_after(transition, application, previous)
    if transition.action in ("approve", "cancel", "reject", "complete"):
        db.session.expire(application.programme, ["committed_vnd", "disbursed_vnd", "updated_at"])
    db.session.add(ApplicationActivity(
        application_id=application.id, kind=ActivityKind.TRANSITION, actor_id=user.id, action=transition.action,
        from_status=previous, to_status=transition.target, body=cleaned["note"], created_at=now,
        state_entered_at=entered_previous, visibility=Visibility.INTERNAL if transition.internal else Visibility.SHARED,
    ))
    audit.record(f"application.{transition.action}", "application", application.id, actor=user, ip=ip,
                 before=before, after=audit.snapshot(application, _AUDITED))
    _record_outcome(transition, application, now)
    from app.services import notifications

    notifications.application_transition(application, transition, user, note=cleaned["note"])
    return transition


def _apply_effects(transition: Transition, application: Application, user: User, cleaned: dict[str, Any],
                   now: dt.datetime) -> None:
    action = transition.action
    if action == "submit":
        application.submitted_at = now
        if application.applied_year is None:
            application.applied_year = today().year
    elif action == "start_review" and application.reviewer_id is None:
        application.reviewer_id = user.id
    elif action == "recommend":
        application.recommended_vnd = cleaned["amount"]
        application.recommended_by_id = user.id
    elif action == "send_back":
        application.recommended_by_id = None
        application.recommended_vnd = None
    elif action == "approve":
        application.approved_vnd = cleaned["amount"]
        application.decided_by_id = user.id
        application.decided_at = now
    elif action in ("reject", "cancel"):
        application.decision_reason = cleaned["note"]
        application.decided_by_id = user.id
        application.decided_at = now
    elif action == "complete":
        application.disbursed_vnd = cleaned["amount"]
        application.completed_at = now


def _money_after(transition: Transition, application: Application, previous: ApplicationStatus) -> None:
    """Release committed money when an approved application is cancelled, rejected or paid in full."""
    if previous is not S.APPROVED:
        return
    approved = application.approved_vnd or 0
    if transition.action in ("cancel", "reject"):
        release_budget(application.programme_id, approved)
    elif transition.action == "complete":
        paid = application.disbursed_vnd or 0
        release_budget(application.programme_id, approved - paid, disbursed=paid)


_OUTCOMES = {"approve": OutcomeKind.APPROVED, "complete": OutcomeKind.COMPLETED, "reject": OutcomeKind.REJECTED}


def _record_outcome(transition: Transition, application: Application, now: dt.datetime) -> None:
    """Approvals, rejections and completions are what ``flask recommender train`` learns from."""
    kind = _OUTCOMES.get(transition.action)
    if kind is None:
        return
    items = [("programme", application.programme.code)]
    if application.partner is not None and kind is not OutcomeKind.REJECTED:
        items.append(("partner", application.partner.code))
    for item_type, code in items:
        db.session.add(Outcome(organisation_id=application.organisation_id, item_type=item_type, item_code=code,
                               kind=kind, assessment_id=application.assessment_id, source="application",
                               application_id=application.id, occurred_at=now))
