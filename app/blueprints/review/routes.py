"""Staff review pages: the queue (filters, sort, counts, CSV), one application with its documents, timeline,
comments, assignment and the workflow actions the staff member may take.

Every action form carries the version the page showed. A refused action re-renders the page with the
staff member's text kept: 400 for missing or wrong data, 409 for a conflict (changed meanwhile, budget,
state), 403 for a role or four-eyes refusal. A successful one redirects (post/redirect/get).
"""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.blueprints.review import bp
from app.blueprints.review.forms import ActionForm, AssignForm, CommentForm, QueueFilterForm
from app.extensions import db
from app.models.application import ActivityKind, Application, ApplicationStatus, Visibility
from app.models.organisation import OrganisationKind, SizeClass
from app.models.types import utcnow
from app.models.user import Role, User
from app.security import roles_required
from app.services import applications, catalogue, documents, geo, review, sectors, workflow

STAFF = (Role.REVIEWER, Role.APPROVER, Role.ADMIN)
#: The amount field of each action that takes one, and the application's amount it starts from.
AMOUNT_ACTIONS = {"recommend": "requested_vnd", "approve": "recommended_vnd", "complete": "approved_vnd"}
AMOUNT_LABELS = {"recommend": _l("Recommended amount (đồng)"), "approve": _l("Approved amount (đồng)"),
                 "complete": _l("Amount paid (đồng)")}
REASON_LABELS = {"required": _l("Reason"), "internal": _l("Note for staff"), "shared": _l("Note to the business")}
COMPLETION_LABELS = {"invoice": _l("Invoice"), "acceptance": _l("Acceptance record"), "other": _l("Other document")}
DOCUMENT_ACTION_LABELS = {"upload": _l("Document added"), "remove": _l("Document removed")}
#: The button's words of each action (the first edge that has it).
ACTION_LABELS = {t.action: t.label for t in reversed(workflow.TRANSITIONS)}


def _locale() -> str:
    return str(get_locale() or "vi")


def _actor() -> User:
    return current_user._get_current_object()


def _ip() -> str | None:
    return request.remote_addr


def _page() -> int:
    return min(max(request.args.get("page", 1, type=int), 1), review.MAX_PAGE)


def _filter_form() -> QueueFilterForm:
    locale = _locale()
    return QueueFilterForm(formdata=request.args, programmes=review.programme_choices(locale), locale=locale)


def _label(enum_class, value):
    member = enum_class._value2member_map_.get(value) if isinstance(value, str) else value
    return member.label if member is not None else value


@bp.context_processor
def _helpers():
    locale = _locale()
    return {
        "commune_name": lambda code: geo.commune_name(code) or code or "—",
        "sector_name": lambda letter: sectors.name(letter, locale) or letter,
        "kind_label": lambda value: _label(OrganisationKind, value),
        "size_label": lambda value: _label(SizeClass, value) if value else "—",
        "local_text": lambda value: review.text_in(value, locale),
        "action_label": lambda action: ACTION_LABELS.get(action, action),
        "document_action_label": lambda action: DOCUMENT_ACTION_LABELS.get(action, ""),
        "level_name": lambda number: catalogue.level_name(number, locale),
        "ApplicationStatus": ApplicationStatus,
        "ActivityKind": ActivityKind,
        "Visibility": Visibility,
        "staff_states": review.STAFF_STATES,
        "visible_states": review.VISIBLE_STATES,
    }


# The queue ------------------------------------------------------------------------------------------


@bp.route("/")
@roles_required(*STAFF)
def queue():
    """Applications waiting for the department, filtered, sorted and counted per state."""
    form = _filter_form()
    if not form.validate():
        return render_template("review/queue.html", form=form, page=None), 400
    page = review.queue_page(form.filters(), _actor(), _page(), locale=_locale())
    export_args = {key: value for key, value in request.args.items() if key != "page"}
    return render_template("review/queue.html", form=form, page=page, export_args=export_args,
                           overdue_days=review.overdue_days())


@bp.route("/export.csv")
@roles_required(*STAFF)
def export():
    """Every application the current filter shows (all pages), as CSV that Excel opens with Vietnamese intact."""
    form = _filter_form()
    if not form.validate():
        return render_template("review/queue.html", form=form, page=None), 400
    filename = f"ho-so-ho-tro-{catalogue.today():%Y%m%d}.csv"
    stream = review.export_csv(form.filters(), _actor(), locale=_locale())
    return Response(stream, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


# One application ------------------------------------------------------------------------------------


def _application_or_404(app_id: int) -> Application:
    found = review.find_for_staff(app_id)
    if found is None:
        abort(404)
    return found


def _action_form(application: Application, action: str) -> ActionForm:
    """A fresh form for ``action``: the current version and the amount the step starts from."""
    source = AMOUNT_ACTIONS.get(action)
    data = {"version": str(application.version)}
    if source:
        data["amount_vnd"] = getattr(application, source)
    return ActionForm(prefix=action, formdata=None, data=data)


def _document_name(application: Application, code: str) -> str:
    locale = _locale()
    for document in application.programme.documents:
        if document.code == code:
            return review.text_in(document.name, locale) or code
    return str(COMPLETION_LABELS.get(code, code))


def _render(application: Application, *, posted: tuple[str, ActionForm] | None = None,
            comment_form: CommentForm | None = None, assign_form: AssignForm | None = None,
            error: workflow.WorkflowError | None = None, status: int = 200):
    """The review page; ``posted`` is the action form the staff member sent (kept with what they typed)."""
    user = _actor()
    transitions = workflow.available_actions(application, user)
    action_forms = []
    for transition in transitions:
        if posted is not None and posted[0] == transition.action:
            form = posted[1]
        else:
            form = _action_form(application, transition.action)
        form.reason.label.text = str(REASON_LABELS["required" if transition.needs_reason else
                                                  "internal" if transition.internal else "shared"])
        if transition.action in AMOUNT_LABELS:
            form.amount_vnd.label.text = str(AMOUNT_LABELS[transition.action])
        action_forms.append((transition, form))
    # The action the staff member typed for may be gone (someone else moved the application on):
    # their text is shown back so nothing is lost.
    lost = posted if posted is not None and posted[0] not in {t.action for t in transitions} else None
    reviewers = review.reviewers()
    now = utcnow()
    return render_template(
        "review/application.html",
        application=application,
        organisation=application.organisation,
        programme=application.programme,
        action_forms=action_forms,
        lost=lost,
        error=error,
        conflict=isinstance(error, workflow.VersionConflict),
        four_eyes=review.four_eyes_note(application, user),
        comment_form=comment_form or CommentForm(prefix="comment", formdata=None),
        assign_form=assign_form or AssignForm(prefix="assign", formdata=None, reviewers=reviewers,
                                              data={"version": str(application.version),
                                                    "reviewer": str(application.reviewer_id or "")}),
        timeline=review.timeline(application),
        assessment=review.assessment_of(application),
        eligibility=applications.check_eligibility(application.organisation, application.programme,
                                                   exclude_application_id=application.id, locale=_locale()),
        missing_completion=(applications.missing_completion_documents(application)
                            if application.status is ApplicationStatus.APPROVED else []),
        document_name=lambda code: _document_name(application, code),
        amount_actions=AMOUNT_ACTIONS,
        amount_labels=AMOUNT_LABELS,
        overdue=review.is_overdue(application.status, application.status_changed_at, now),
        waiting=review.waiting_days(application.status_changed_at, now),
        human_size=documents.human_size,
    ), status


@bp.route("/applications/<int:app_id>")
@roles_required(*STAFF)
def application(app_id: int):
    """Everything staff need to decide: the file, the budget, the documents, the whole timeline, the actions."""
    return _render(_application_or_404(app_id))


@bp.route("/applications/<int:app_id>/documents/<int:doc_id>")
@roles_required(*STAFF)
def document(app_id: int, doc_id: int):
    """Download one of the application's documents (removed ones too: staff keep the whole record)."""
    found = documents.find(_application_or_404(app_id), doc_id)
    if found is None:
        abort(404)
    return documents.send_document(found)


def _forbidden(error: workflow.WorkflowError):
    return render_template("errors/error.html", code=403, title=_("Access denied"), message=error.message), 403


@bp.route("/applications/<int:app_id>/actions/<action>", methods=["POST"])
@roles_required(*STAFF)
def act(app_id: int, action: str):
    """Take one workflow action (start the review, recommend, approve...) on the version the page showed."""
    application = _application_or_404(app_id)
    if action not in workflow.ACTIONS:
        abort(404)
    form = ActionForm(prefix=action)
    if not form.validate_on_submit():
        return _render(application, posted=(action, form), status=400)
    data = {"reason": form.reason.data}
    if action in AMOUNT_ACTIONS:
        data["amount_vnd"] = form.amount_vnd.data
    try:
        transition = review.perform(application, action, _actor(), expected_version=form.expected_version,
                                    ip=_ip(), locale=_locale(), **data)
        db.session.commit()
    except workflow.PermissionDenied as error:
        db.session.rollback()
        return _forbidden(error)
    except workflow.WorkflowError as error:
        db.session.rollback()
        fresh = _application_or_404(app_id)
        if isinstance(error, workflow.VersionConflict):
            # The page now shows the fresh data; sending again means "I have seen what changed".
            form.version.data = str(fresh.version)
        return _render(fresh, posted=(action, form), error=error, status=error.status_code)
    flash(_("Done: %(action)s. The application is now “%(state)s”.", action=transition.label,
            state=transition.target.label), "success")
    return redirect(url_for(".application", app_id=app_id), 303)


@bp.route("/applications/<int:app_id>/comments", methods=["POST"])
@roles_required(*STAFF)
def comment(app_id: int):
    """Add a comment to the timeline, for staff only or shared with the business."""
    application = _application_or_404(app_id)
    form = CommentForm(prefix="comment")
    if not form.validate_on_submit():
        return _render(application, comment_form=form, status=400)
    try:
        review.add_comment(application, _actor(), form.body.data, Visibility(form.visibility.data), ip=_ip())
        db.session.commit()
    except workflow.WorkflowError as error:
        db.session.rollback()
        form.body.errors = [*form.body.errors, error.message]
        return _render(_application_or_404(app_id), comment_form=form, status=error.status_code)
    flash(_("Your comment is on the timeline.") if form.visibility.data == Visibility.INTERNAL.value
          else _("Your comment is on the timeline; the business can read it."), "success")
    return redirect(url_for(".application", app_id=app_id, _anchor="timeline"), 303)


@bp.route("/applications/<int:app_id>/assign", methods=["POST"])
@roles_required(*STAFF)
def assign(app_id: int):
    """Put a reviewer in charge of the application (or nobody)."""
    application = _application_or_404(app_id)
    form = AssignForm(prefix="assign", reviewers=review.reviewers())
    if not form.validate_on_submit():
        return _render(application, assign_form=form, status=400)
    reviewer = db.session.get(User, int(form.reviewer.data)) if form.reviewer.data else None
    try:
        changed = review.assign(application, reviewer, _actor(), expected_version=form.expected_version, ip=_ip())
        db.session.commit()
    except workflow.WorkflowError as error:
        db.session.rollback()
        fresh = _application_or_404(app_id)
        if isinstance(error, workflow.VersionConflict):
            form.version.data = str(fresh.version)
        return _render(fresh, assign_form=form, error=error, status=error.status_code)
    if not changed:
        flash(_("Nothing was changed."), "success")
    elif reviewer is None:
        flash(_("Nobody is in charge of this application now."), "success")
    else:
        flash(_("%(name)s is now in charge of this application.", name=reviewer.full_name), "success")
    return redirect(url_for(".application", app_id=app_id), 303)
