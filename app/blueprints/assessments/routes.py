"""Self-assessment pages, nested under an organisation: /organisations/<org_id>/assessments/...

Members of the organisation answer, save, resume, submit and read results. Department staff may read
submitted results and the history, never drafts, and cannot change anything. Anyone else gets 404,
whatever ids they try. ``_access`` is the one gate every view goes through.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import lazyload

from app.blueprints.assessments import bp
from app.blueprints.assessments import results as results_page
from app.blueprints.assessments.forms import (
    ConfirmForm,
    StepForm,
    answer_message,
    field_name,
    read_action,
    read_answers,
    read_shown,
    shown_json,
)
from app.extensions import db
from app.models.assessment import Assessment, AssessmentStatus
from app.models.organisation import Organisation
from app.models.types import utcnow
from app.security import login_required
from app.services import assessments, plans
from app.services import organisations as organisation_service
from app.services.formatting import format_date, format_datetime
from app.services.frameworks import Framework

#: Ids above PostgreSQL's integer range would make the database raise instead of finding nothing.
MAX_ID = 2**31 - 1
ID = f"int(max={MAX_ID})"


@dataclass(frozen=True)
class Access:
    """Who is looking at what: the organisation, the assessment (when the URL names one), membership."""

    organisation: Organisation
    assessment: Assessment | None
    member: bool


def _access(org_id: int, assessment_id: int | None = None, *, edit: bool = False,
            with_answers: bool = True) -> Access:
    """The one access check: members do everything; staff read submitted assessments; others get 404.

    An assessment of another organisation than the one in the URL is 404 too, for everyone.
    """
    found = organisation_service.find_for_member(org_id, current_user)
    if found is not None:
        organisation, member = found[0], True
    elif current_user.is_staff and not edit:
        organisation, member = db.session.get(Organisation, org_id), False
        if organisation is None:
            abort(404)
    else:
        abort(404)
    assessment = None
    if assessment_id is not None:
        query = select(Assessment).where(Assessment.id == assessment_id, Assessment.organisation_id == organisation.id)
        if not with_answers:
            query = query.options(lazyload(Assessment.answers))
        assessment = db.session.scalar(query)
        if assessment is None or (not member and assessment.status is not AssessmentStatus.SUBMITTED):
            abort(404)
    return Access(organisation, assessment, member)


def _lang() -> str:
    return str(get_locale() or "vi")


def _ip() -> str | None:
    return request.remote_addr


def _is_fetch() -> bool:
    """The autosave script sends this header; it gets JSON instead of a redirect."""
    return request.headers.get("X-Requested-With") == "fetch"


def _url(endpoint: str, access: Access, **values) -> str:
    return url_for(f".{endpoint}", org_id=access.organisation.id, assessment_id=access.assessment.id, **values)


def _resume_url(access: Access, progress: assessments.Progress | None = None) -> str:
    """The step holding the first unanswered question, at that question; the review when all are answered."""
    progress = progress or assessments.progress(access.assessment)
    if progress.resume_step is None:
        return _url("review", access)
    return _url("step", access, step=progress.resume_step + 1, _anchor=f"q-{progress.first_unanswered}")


def _to_results_if_submitted(access: Access):
    """Editing a submitted assessment is not possible: show its results instead."""
    if access.assessment.status is AssessmentStatus.SUBMITTED:
        flash(_("This self-assessment has been submitted, so it can no longer be changed."), "info")
        return redirect(_url("results", access), 303)
    return None


def _pillar_status(framework: Framework, assessment: Assessment) -> list[dict[str, Any]]:
    """Each pillar with how many of its questions are answered, for the step list."""
    answered = assessment.answer_map
    items = []
    for number, pillar in enumerate(framework.pillars, start=1):
        questions = framework.pillar_questions(assessment.track, pillar.code)
        done = sum(1 for q in questions if q.id in answered)
        items.append({"number": number, "pillar": pillar, "answered": done, "total": len(questions)})
    return items


# --- Overview ----------------------------------------------------------------------------------------


@bp.route("/")
@login_required
def index(org_id: int):
    """The organisation's draft (for members) and its submitted assessments."""
    access = _access(org_id)
    draft = assessments.current_draft(access.organisation) if access.member else None
    history = assessments.history(access.organisation, with_answers=False)
    framework = assessments.framework_of(draft) if draft else None
    return render_template(
        "assessments/index.html",
        organisation=access.organisation,
        member=access.member,
        draft=draft,
        progress=assessments.progress(draft) if draft else None,
        track=framework.track(draft.track) if draft else None,
        history=results_page.history_rows(assessments.framework_of, history, None, _lang()),
        confirm_form=ConfirmForm(),
        score_text=results_page.score_text,
    )


@bp.route("/start", methods=["POST"])
@login_required
def start(org_id: int):
    """Open a draft (pre-filled from the last submission) or carry on with the one in progress."""
    access = _access(org_id, edit=True)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    existing = assessments.current_draft(access.organisation)
    draft = assessments.start(access.organisation, current_user, ip=_ip())
    db.session.commit()
    access = Access(access.organisation, draft, True)
    if existing is not None:
        flash(_("A self-assessment is already in progress for this organisation; you can carry on with it."), "info")
        return redirect(_resume_url(access), 303)
    return redirect(_url("step", access, step=1), 303)


@bp.route(f"/<{ID}:assessment_id>/continue")
@login_required
def resume(org_id: int, assessment_id: int):
    """Carry on where the draft was left: the first unanswered question."""
    access = _access(org_id, assessment_id, edit=True)
    return _to_results_if_submitted(access) or redirect(_resume_url(access), 303)


# --- The steps ---------------------------------------------------------------------------------------


def _render_step(access: Access, framework: Framework, step: int, values: dict[str, Any],
                 errors: dict[str, str], status: int = 200):
    assessment = access.assessment
    pillar = framework.pillars[step - 1]
    questions = framework.pillar_questions(assessment.track, pillar.code)
    saved = assessment.answer_map
    form = StepForm(formdata=None, shown=shown_json({q.id: saved.get(q.id) for q in questions}))
    return render_template(
        "assessments/step.html",
        organisation=access.organisation,
        assessment=assessment,
        framework=framework,
        track=framework.track(assessment.track),
        step=step,
        steps=len(framework.pillars),
        pillar=pillar,
        questions=questions,
        values=values,
        errors=errors,
        form=form,
        progress=assessments.progress(assessment),
        pillars=_pillar_status(framework, assessment),
        field_name=field_name,
        lang=_lang(),
    ), status


def _save(assessment: Assessment, answers: dict[str, Any], shown: dict[str, Any]) -> dict[str, str]:
    """Save a step and commit, trying once more on fresh data when a colleague's save collided with it.

    Two members answering the same blank question at the same moment both insert its row (the second
    breaks the unique constraint); on SQLite a write can also meet the other writer's lock. After the
    rollback the answers are read again, so the retry updates the row: the last save wins, as promised.
    """
    try:
        refused = assessments.save_answers(assessment, current_user, answers, shown, ip=_ip())
        db.session.commit()
        return refused
    except (IntegrityError, OperationalError):
        db.session.rollback()
    refused = assessments.save_answers(assessment, current_user, answers, shown, ip=_ip())
    db.session.commit()
    return refused


@bp.route(f"/<{ID}:assessment_id>/steps/<int(min=1, max=99):step>", methods=["GET", "POST"])
@login_required
def step(org_id: int, assessment_id: int, step: int):
    """One pillar's questions; posting saves them (valid answers always) and moves on (Post/Redirect/Get).

    The autosave script posts the same form with ``X-Requested-With: fetch`` and gets JSON back.
    """
    access = _access(org_id, assessment_id, edit=True)
    assessment = access.assessment
    if assessment.status is AssessmentStatus.SUBMITTED:
        if request.method == "POST" and _is_fetch():
            return jsonify(saved=False, submitted=True, results=_url("results", access),
                           message=_("This self-assessment has been submitted, so it can no longer be changed.")), 409
        return _to_results_if_submitted(access)
    framework = assessments.framework_of(assessment)
    steps = len(framework.pillars)
    if step > steps:
        abort(404)
    if request.method == "GET":
        return _render_step(access, framework, step, assessment.answer_map, {})

    form = StepForm()
    if not form.validate_on_submit():
        abort(400)
    questions = framework.pillar_questions(assessment.track, framework.pillars[step - 1].code)
    by_id = {q.id: q for q in questions}
    answers = read_answers(questions, request.form)
    shown = read_shown(form.shown.data, questions)
    try:
        refused = _save(assessment, answers, shown)
    except assessments.AssessmentError:
        # A colleague submitted the assessment while this page was open.
        if _is_fetch():
            return jsonify(saved=False, submitted=True, results=_url("results", access),
                           message=_("This self-assessment has been submitted, so it can no longer be changed.")), 409
        return _to_results_if_submitted(access)
    lang = _lang()
    errors = {qid: answer_message(by_id[qid], answers.get(qid), reason, lang)
              for qid, reason in refused.items() if qid in by_id}

    if _is_fetch():
        progress = assessments.progress(assessment)
        now_shown = {qid: (shown.get(qid) if qid in errors else value) for qid, value in answers.items()}
        return jsonify(
            saved=True,
            errors=errors,
            shown=shown_json(now_shown),
            saved_at=format_datetime(utcnow())[-5:],
            progress={"answered": progress.answered, "total": progress.total, "percent": progress.percent},
        )
    if errors:
        values = {**assessment.answer_map, **{qid: answers.get(qid) for qid in errors}}
        return _render_step(access, framework, step, values, errors, 400)

    action, target = read_action(request.form.get("action"), steps)
    if action == "later":
        flash(_("Your answers are saved. You or a colleague can continue the self-assessment at any time."),
              "success")
        return redirect(url_for("organisations.detail", org_id=access.organisation.id), 303)
    if action == "step":
        return redirect(_url("step", access, step=target), 303)
    if action == "back":
        return redirect(_url("step", access, step=max(step - 1, 1)), 303)
    if action == "review" or (action == "next" and step == steps):
        return redirect(_url("review", access), 303)
    if action == "next":
        return redirect(_url("step", access, step=step + 1), 303)
    flash(_("Your answers are saved."), "success")
    return redirect(_url("step", access, step=step), 303)


# --- Review and submit -------------------------------------------------------------------------------


def _render_review(access: Access, status: int = 200, refused: bool = False):
    assessment = access.assessment
    framework = assessments.framework_of(assessment)
    answers = assessment.answer_map
    lang = _lang()
    sections = []
    for number, pillar in enumerate(framework.pillars, start=1):
        items = []
        for question in framework.pillar_questions(assessment.track, pillar.code):
            items.append({
                "question": question,
                "answer": _answer_text(framework, question, answers.get(question.id), lang),
                "answered": question.id in answers,
            })
        sections.append({"number": number, "pillar": pillar, "entries": items,
                         "unanswered": [i for i in items if not i["answered"]]})
    progress = assessments.progress(assessment)
    return render_template(
        "assessments/review.html",
        organisation=access.organisation,
        assessment=assessment,
        framework=framework,
        sections=sections,
        progress=progress,
        refused=refused,
        confirm_form=ConfirmForm(),
        lang=lang,
    ), status


def _answer_text(framework: Framework, question, value, lang: str) -> str | None:
    """An answer as the user chose it, in words."""
    if value is None:
        return None
    if question.type == "scale":
        label = framework.scale[value].pick(lang) if isinstance(value, int) and 0 <= value < len(framework.scale) \
            else str(value)
        return f"{value} – {label}"
    chosen = value if isinstance(value, list) else [value]
    texts = [question.option(v).text.pick(lang) if question.option(v) else str(v) for v in chosen]
    return "; ".join(texts)


@bp.route(f"/<{ID}:assessment_id>/review")
@login_required
def review(org_id: int, assessment_id: int):
    """Every answer by pillar, the unanswered questions with links to them, and the submit button."""
    access = _access(org_id, assessment_id, edit=True)
    return _to_results_if_submitted(access) or _render_review(access)


@bp.route(f"/<{ID}:assessment_id>/submit", methods=["POST"])
@login_required
def submit(org_id: int, assessment_id: int):
    """Score the assessment and show the results; refused (400, the review page) while questions are open."""
    access = _access(org_id, assessment_id, edit=True)
    redirected = _to_results_if_submitted(access)
    if redirected:
        return redirected
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        assessments.submit(access.assessment, current_user, ip=_ip())
        if plans.current_plan(access.organisation) is not None:  # propose the updated plan at once
            plans.create_or_update(access.organisation, current_user, ip=_ip())
        db.session.commit()
    except assessments.IncompleteAssessmentError:
        db.session.rollback()
        return _render_review(access, 400, refused=True)
    except (IntegrityError, OperationalError):
        # Two members pressed "submit" at once: the first one's submission stands.
        db.session.rollback()
        if access.assessment.status is not AssessmentStatus.SUBMITTED:
            raise
        return redirect(_url("results", access), 303)
    flash(_("Thank you. Your self-assessment has been submitted."), "success")
    return redirect(_url("results", access), 303)


@bp.route(f"/<{ID}:assessment_id>/discard", methods=["POST"])
@login_required
def discard(org_id: int, assessment_id: int):
    """Delete a draft to start over (the answers given so far are kept in the audit log)."""
    access = _access(org_id, assessment_id, edit=True)
    redirected = _to_results_if_submitted(access)
    if redirected:
        return redirected
    if not ConfirmForm().validate_on_submit():
        abort(400)
    assessments.discard_draft(access.assessment, current_user, ip=_ip())
    db.session.commit()
    flash(_("The draft has been deleted."), "success")
    return redirect(url_for(".index", org_id=access.organisation.id), 303)


# --- Results -----------------------------------------------------------------------------------------


@bp.route(f"/<{ID}:assessment_id>/results")
@login_required
def results(org_id: int, assessment_id: int):
    """Scores, levels, radar chart and table, strengths and priorities, peers and history."""
    access = _access(org_id, assessment_id, with_answers=False)
    if access.assessment.status is not AssessmentStatus.SUBMITTED:
        # Only members get here with a draft (staff get 404): its results do not exist yet.
        return redirect(_url("resume", access), 303)
    history = assessments.history(access.organisation, with_answers=False)
    return render_template(
        "assessments/results.html",
        organisation=access.organisation,
        assessment=access.assessment,
        member=access.member,
        confirm_form=ConfirmForm(),
        lang=_lang(),
        score_text=results_page.score_text,
        change_text=results_page.change_text,
        format_date=format_date,
        **results_page.build(access.assessment, history, _lang()),
    )
