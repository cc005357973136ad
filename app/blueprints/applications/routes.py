"""The business's application pages, nested under an organisation: /organisations/<org_id>/applications/...

Only members of the organisation reach them; everyone else (another business, staff) gets 404, whatever
ids they try. Staff review applications in the review area. A page that refuses something re-renders
with the user's typed values and the reason (400, or 409 for a state or version conflict); nothing
already saved or uploaded is lost. Every change carries the version of the application the page showed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from app.blueprints.applications import bp
from app.blueprints.applications.forms import (
    ACCEPT,
    ApplyForm,
    CommentForm,
    DraftForm,
    RatingForm,
    RemoveDocumentForm,
    ResubmitForm,
    UploadForm,
    WithdrawForm,
    file_field_name,
)
from app.extensions import db
from app.models.application import ActivityKind, Application, ApplicationStatus
from app.models.organisation import Organisation
from app.security import login_required
from app.services import applications as service
from app.services import documents, eligibility, workflow
from app.services import organisations as organisation_service
from app.services.catalogue import format_rate


@dataclass(frozen=True)
class UploadProblem:
    """A file that was not accepted, and why (shown next to the upload fields)."""

    code: str
    filename: str
    message: Any


def _lang() -> str:
    return str(get_locale() or "vi")


def _ip() -> str | None:
    return request.remote_addr


def _user():
    return current_user._get_current_object()


def _organisation(org_id: int) -> Organisation:
    """The one gate: members only; anyone else gets 404."""
    found = organisation_service.find_for_member(org_id, current_user)
    if found is None:
        abort(404)
    return found[0]


def _load(org_id: int, app_id: int) -> tuple[Organisation, Application]:
    organisation = _organisation(org_id)
    application = service.find_for_organisation(organisation, app_id)
    if application is None:
        abort(404)
    return organisation, application


def _reload(org_id: int, app_id: int) -> tuple[Organisation, Application]:
    """After a rollback: fresh copies of what the page shows."""
    db.session.rollback()
    db.session.expire_all()
    return _load(org_id, app_id)


def _detail_url(application: Application, **values) -> str:
    return url_for(".detail", org_id=application.organisation_id, app_id=application.id, **values)


def _document_name(document, lang: str) -> str:
    return (document.name or {}).get(lang[:2]) or (document.name or {}).get("vi") or document.code


def _code_names(application: Application) -> dict[str, str]:
    """Document code → the name the business reads (the programme's names and the completion documents)."""
    lang = _lang()
    names = {document.code: _document_name(document, lang) for document in application.programme.documents}
    names.update({"invoice": _("Invoice"), "acceptance": _("Acceptance record (biên bản nghiệm thu)"),
                  "other": _("Other document")})
    return names


def _upload_files(application: Application, codes) -> list[UploadProblem]:
    """Store every file the form sent for ``codes``; the ones refused are returned, the others kept."""
    problems: list[UploadProblem] = []
    for code in codes:
        for storage in request.files.getlist(file_field_name(code)):
            if storage is None or not storage.filename:
                continue  # the input was left empty
            try:
                documents.upload(application, code, storage.stream, storage.filename, _user(), _ip())
            except documents.UploadRejected as error:
                problems.append(UploadProblem(code, error.filename or documents.sanitize_filename(storage.filename),
                                              error.message))
    return problems


def _version_into(form, application: Application) -> None:
    """A re-rendered form carries the version now stored, so the next try is not refused again."""
    if form is not None and hasattr(form, "version"):
        form.version.data = application.version


# List and start -------------------------------------------------------------------------------------


@bp.route("/")
@login_required
def index(org_id: int):
    """The organisation's applications with the state the business understands and the amounts."""
    organisation = _organisation(org_id)
    return render_template("applications/index.html", organisation=organisation,
                           applications=service.list_for_organisation(organisation), lang=_lang())


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new(org_id: int):
    """Apply to ``?programme=CODE``: the eligibility check runs again; an open draft is reopened."""
    organisation = _organisation(org_id)
    programme = service.programme_by_code(request.args.get("programme", type=str))
    if programme is None:
        abort(404)
    draft = service.open_draft(organisation.id, programme.id)
    if draft is not None:
        return redirect(_detail_url(draft), 303)
    check = service.check_eligibility(organisation, programme, locale=_lang())
    form = ApplyForm()
    context = {"organisation": organisation, "programme": programme, "check": check, "form": form,
               "lang": _lang(), "max_subsidy": eligibility.max_subsidy(programme, organisation.size_class)}
    if not check.eligible:
        return render_template("applications/new.html", **context), 409 if request.method == "POST" else 200
    if request.method == "POST":
        if not form.validate_on_submit():
            return render_template("applications/new.html", **context), 400
        application, created = service.create_draft(organisation, programme, _user(), ip=_ip())
        db.session.commit()
        if created:
            flash(_("Your application has been started. Fill it in at your own pace: it is kept as a draft until "
                    "you send it."), "success")
        return redirect(_detail_url(application), 303)
    return render_template("applications/new.html", **context)


# One application ------------------------------------------------------------------------------------


def _draft_form(application: Application, partners) -> DraftForm:
    form = DraftForm(formdata=None, obj=application)
    form.set_partner_choices(partners)
    form.partner_id.data = str(application.partner_id) if application.partner_id else ""
    if application.requested_vnd is None:
        form.requested_vnd.data = service.suggested_request(application)
    _version_into(form, application)
    return form


def _render(organisation: Organisation, application: Application, status: int = 200, *,
            draft_form: DraftForm | None = None, problems: list[UploadProblem] = (), missing: tuple = (),
            message: Any = None, **forms: Any):
    """The application page: the draft form while it is a draft, the follow-up page afterwards."""
    lang = _lang()
    partners = service.vetted_partners() if application.status is ApplicationStatus.DRAFT else []
    if application.status is ApplicationStatus.DRAFT and draft_form is None:
        draft_form = _draft_form(application, partners)
    if draft_form is not None and draft_form.partner_id.choices is None:
        draft_form.set_partner_choices(partners)
    defaults = {"withdraw_form": WithdrawForm, "resubmit_form": ResubmitForm, "upload_form": UploadForm,
                "comment_form": CommentForm, "rating_form": RatingForm, "remove_form": RemoveDocumentForm}
    for name, form_class in defaults.items():
        if forms.get(name) is None:
            forms[name] = form_class(formdata=None)
        _version_into(forms[name], application)
    _version_into(draft_form, application)
    actions = {t.action for t in service.business_actions(application, _user())}
    timeline = service.shared_timeline(application)
    info_requests = [entry for entry in timeline
                     if entry.kind is ActivityKind.TRANSITION and entry.action == "request_info"]
    context = {
        "organisation": organisation,
        "application": application,
        "status": application.status.public_status,
        "programme": application.programme,
        "lang": lang,
        "draft_form": draft_form,
        "documents": application.documents,
        "code_names": _code_names(application),
        "programme_documents": application.programme.documents,
        "upload_codes": documents.allowed_codes(application),
        "missing_completion": service.missing_completion_documents(application)
        if application.status is ApplicationStatus.APPROVED else [],
        "problems": problems,
        "missing": missing,
        "message": message,
        "actions": actions,
        "timeline": timeline,
        "last_request": info_requests[-1] if info_requests else None,
        "member_ids": {m.user_id for m in organisation.memberships},
        "max_request": service.max_request(application) if application.planned_cost_vnd else None,
        "max_subsidy": eligibility.max_subsidy(application.programme, organisation.size_class),
        "rating": service.partner_rating(application),
        "can_rate": service.can_rate(application),
        "accept": ACCEPT,
        "file_field_name": file_field_name,
        "max_upload": documents.human_size(documents.max_bytes()),
        "human_size": documents.human_size,
        "removable": lambda document: documents.removable(application, document),
        "rate": format_rate(application.programme.support_rate),
        "max_description": service.MAX_DESCRIPTION_LENGTH,
        **forms,
    }
    template = "applications/edit.html" if application.status is ApplicationStatus.DRAFT else \
        "applications/detail.html"
    return render_template(template, **context), status


@bp.route("/<int:app_id>", methods=["GET", "POST"])
@login_required
def detail(org_id: int, app_id: int):
    """A draft: the form (save, upload, send). Afterwards: the state, amounts, documents, timeline, actions."""
    organisation, application = _load(org_id, app_id)
    if request.method == "GET":
        return _render(organisation, application)
    if application.status is not ApplicationStatus.DRAFT:
        return _render(organisation, application, 409,
                       message=_("This application has been sent, so it can no longer be edited."))
    form = DraftForm()
    form.set_partner_choices(service.vetted_partners())
    if not form.validate_on_submit():
        return _render(organisation, application, 400, draft_form=form)
    try:
        service.update_draft(application, _user(), form.values(), ip=_ip(), expected_version=form.version.data)
    except service.ApplicationError as error:
        organisation, application = _reload(org_id, app_id)
        for field, messages in error.errors.items():
            if field and field in form:
                form[field].errors = [*form[field].errors, *messages]
            else:
                form.form_errors.extend(messages)
        return _render(organisation, application, 400, draft_form=form)
    except workflow.VersionConflict as error:
        organisation, application = _reload(org_id, app_id)
        return _render(organisation, application, 409, draft_form=form, message=error.message)
    problems = _upload_files(application, documents.allowed_codes(application))
    db.session.commit()
    if problems:
        return _render(organisation, application, 400, draft_form=form, problems=problems,
                       message=_("Your changes were saved, but some files were not accepted. The reasons are "
                                 "below; the other files were kept."))
    if not form.send.data:
        flash(_("Your draft has been saved. You can come back and send it later."), "success")
        return redirect(_detail_url(application, _anchor="application-form"), 303)
    try:
        workflow.perform_transition(application, "submit", _user(), expected_version=application.version,
                                    ip=_ip(), locale=_lang())
        db.session.commit()
    except workflow.WorkflowError as error:
        organisation, application = _reload(org_id, app_id)
        return _render(organisation, application, error.status_code, draft_form=form,
                       message=error.message, missing=error.details)
    flash(_("Your application has been sent. We will let you know when the department starts the review."),
          "success")
    return redirect(_detail_url(application), 303)


@bp.route("/<int:app_id>/documents", methods=["POST"])
@login_required
def upload(org_id: int, app_id: int):
    """Add files outside the draft form: the invoice and acceptance record once approved."""
    organisation, application = _load(org_id, app_id)
    form = UploadForm()
    if not form.validate_on_submit():
        return _render(organisation, application, 400, upload_form=form)
    codes = documents.allowed_codes(application)
    if not codes:
        return _render(organisation, application, 409, message=_(
            "Documents cannot be added or removed while the application is “%(state)s”.",
            state=application.status.public_label))
    try:
        workflow.check_version(application, form.version.data)
    except workflow.VersionConflict as error:
        return _render(organisation, application, 409, message=error.message)
    problems = _upload_files(application, codes)
    db.session.commit()
    if problems:
        return _render(organisation, application, 400, problems=problems,
                       message=_("Some files were not accepted. The reasons are below; the other files were kept."))
    flash(_("The files have been uploaded."), "success")
    return redirect(_detail_url(application, _anchor="documents-heading"), 303)


@bp.route("/<int:app_id>/documents/<int:doc_id>")
@login_required
def download(org_id: int, app_id: int, doc_id: int):
    """A document of the application, as a download (members only; staff download from the review pages)."""
    _org, application = _load(org_id, app_id)
    document = documents.find(application, doc_id, include_removed=False)
    if document is None:
        abort(404)
    return documents.send_document(document)


@bp.route("/<int:app_id>/documents/<int:doc_id>/remove", methods=["POST"])
@login_required
def remove_document(org_id: int, app_id: int, doc_id: int):
    """Take a document off the application (the file is kept for the record)."""
    organisation, application = _load(org_id, app_id)
    document = documents.find(application, doc_id, include_removed=False)
    if document is None:
        abort(404)
    form = RemoveDocumentForm()
    if not form.validate_on_submit():
        return _render(organisation, application, 400)
    try:
        workflow.check_version(application, form.version.data)
        documents.remove(document, _user(), ip=_ip())
        db.session.commit()
    except (documents.UploadRejected, workflow.VersionConflict) as error:
        organisation, application = _reload(org_id, app_id)
        return _render(organisation, application, 409, message=error.message)
    flash(_("The document “%(name)s” has been removed.", name=document.original_name), "success")
    return redirect(_detail_url(application, _anchor="documents-heading"), 303)


@bp.route("/<int:app_id>/withdraw", methods=["POST"])
@login_required
def withdraw(org_id: int, app_id: int):
    """Withdraw the application (after ticking the confirmation box)."""
    organisation, application = _load(org_id, app_id)
    form = WithdrawForm()
    if not form.validate_on_submit():
        return _render(organisation, application, 400, withdraw_form=form)
    try:
        workflow.perform_transition(application, "withdraw", _user(), expected_version=form.version.data,
                                    ip=_ip(), locale=_lang())
        db.session.commit()
    except workflow.WorkflowError as error:
        organisation, application = _reload(org_id, app_id)
        return _render(organisation, application, error.status_code, withdraw_form=form, message=error.message,
                       missing=error.details)
    flash(_("Your application has been withdrawn."), "success")
    return redirect(_detail_url(application), 303)


@bp.route("/<int:app_id>/resubmit", methods=["POST"])
@login_required
def resubmit(org_id: int, app_id: int):
    """Send the additional documents (and a note) after the reviewer asked for more."""
    organisation, application = _load(org_id, app_id)
    form = ResubmitForm()
    if not form.validate_on_submit():
        return _render(organisation, application, 400, resubmit_form=form)
    try:
        workflow.check_version(application, form.version.data)
    except workflow.VersionConflict as error:
        return _render(organisation, application, 409, resubmit_form=form, message=error.message)
    problems: list[UploadProblem] = []
    if application.status is ApplicationStatus.INFO_REQUESTED:
        problems = _upload_files(application, documents.allowed_codes(application))
        db.session.commit()
    if problems:
        return _render(organisation, application, 400, resubmit_form=form, problems=problems,
                       message=_("Some files were not accepted, so nothing was sent yet. The reasons are below; "
                                 "the other files were kept."))
    try:
        service.resubmit(application, _user(), form.note.data, expected_version=application.version, ip=_ip(),
                         locale=_lang())
        db.session.commit()
    except workflow.WorkflowError as error:
        organisation, application = _reload(org_id, app_id)
        return _render(organisation, application, error.status_code, resubmit_form=form, message=error.message,
                       missing=error.details)
    flash(_("Thank you. The reviewer has your additional documents and continues the review."), "success")
    return redirect(_detail_url(application), 303)


@bp.route("/<int:app_id>/comments", methods=["POST"])
@login_required
def comment(org_id: int, app_id: int):
    """A message to the department (always visible to both sides)."""
    organisation, application = _load(org_id, app_id)
    form = CommentForm()
    if not form.validate_on_submit():
        return _render(organisation, application, 400, comment_form=form)
    try:
        service.add_comment(application, _user(), form.body.data, ip=_ip())
        db.session.commit()
    except service.ApplicationError as error:
        organisation, application = _reload(org_id, app_id)
        form.body.errors = [*form.body.errors, *error.errors.get("body", [])]
        return _render(organisation, application, 400, comment_form=form,
                       message=None if "body" in error.errors else error.message)
    flash(_("Your message has been sent to the department."), "success")
    return redirect(_detail_url(application, _anchor="timeline-heading"), 303)


@bp.route("/<int:app_id>/rating", methods=["POST"])
@login_required
def rate(org_id: int, app_id: int):
    """Rate the partner once the project is completed (1-5 stars, optional comment)."""
    organisation, application = _load(org_id, app_id)
    form = RatingForm()
    if not form.validate_on_submit():
        return _render(organisation, application, 400, rating_form=form)
    try:
        service.rate_partner(application, _user(), form.rating.data, form.comment.data, ip=_ip(),
                             expected_version=form.version.data)
        db.session.commit()
    except (service.ApplicationError, workflow.VersionConflict) as error:
        organisation, application = _reload(org_id, app_id)
        status = 409 if isinstance(error, workflow.VersionConflict) else 400
        return _render(organisation, application, status, rating_form=form, message=error.message)
    flash(_("Thank you for your rating. It helps other businesses choose a partner."), "success")
    return redirect(_detail_url(application, _anchor="rating-heading"), 303)
