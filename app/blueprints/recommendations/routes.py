"""The recommendations page, nested under an organisation: /organisations/<org_id>/recommendations/.

Recommendations follow the organisation's latest submitted self-assessment. Members read them and say
what they need help with; department staff read them too; anyone else gets 404 (the self-assessment's
access gate, reused).
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from app.blueprints.assessments.routes import Access
from app.blueprints.assessments.routes import _access as assessment_access
from app.blueprints.recommendations import bp, page
from app.blueprints.recommendations.forms import NeedsForm
from app.extensions import db
from app.security import login_required
from app.services import assessments
from app.services import recommendations as service


@bp.app_template_global()
def latest_submitted_assessment(organisation):
    """For links to this page from other pages: the assessment recommendations would follow, or None."""
    return assessments.latest_submitted(organisation)


def _lang() -> str:
    return str(get_locale() or "vi")


def _render(access: Access, form: NeedsForm | None = None, status: int = 200):
    assessment = assessments.latest_submitted(access.organisation)
    context = {}
    if assessment is not None:
        framework = assessments.framework_of(assessment)
        level = framework.level(assessment.overall_level) if assessment.overall_level is not None else None
        if form is None:
            form = NeedsForm(formdata=None, needs=assessment.needs or "")
        context = {
            "level_name": level.name.pick(_lang()) if level else None,
            **page.build(assessment, _lang(), member=access.member),
        }
    return render_template(
        "recommendations/index.html",
        organisation=access.organisation,
        member=access.member,
        assessment=assessment,
        form=form,
        max_needs=service.MAX_NEEDS_LENGTH,
        **context,
    ), status


@bp.route("/")
@login_required
def index(org_id: int):
    """Recommended programmes and partners with their reasons, and the programmes out of reach and why."""
    return _render(assessment_access(org_id))


@bp.route("/needs", methods=["POST"])
@login_required
def needs(org_id: int):
    """Save what the business needs help with on its latest assessment, then show the re-ranked lists."""
    access = assessment_access(org_id, edit=True)
    assessment = assessments.latest_submitted(access.organisation)
    if assessment is None:
        flash(_("Do the self-assessment first: recommendations are based on it."), "info")
        return redirect(url_for(".index", org_id=access.organisation.id), 303)
    form = NeedsForm()
    if not form.validate_on_submit():
        return _render(access, form, 400)
    if service.update_needs(assessment, current_user, form.needs.data, ip=request.remote_addr):
        db.session.commit()
        flash(_("Thank you. The recommendations below take what you need into account."), "success")
    return redirect(url_for(".index", org_id=access.organisation.id, _anchor="programmes-heading"), 303)
