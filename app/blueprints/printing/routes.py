"""Printed documents.

- ``/organisations/<org_id>/plans/<plan_id>/pdf``: GET serves the plan's PDF when it is ready (as a
  download), else a page saying it is being prepared (which reloads itself) or offering to prepare
  it; POST queues the render (an RQ job when ``REDIS_URL`` is set, done at once in the embedded mode)
  and comes back to the GET. Members of the organisation only; anyone else gets 404.
- ``/verify``: public; anyone holding a printed plan types its verification code and sees whether the
  portal issued it (organisation, version, date, whether a newer version replaced it).
- ``/organisations/<org_id>/applications/<app_id>/decision-letter.pdf``: the decision letter, for
  the applying organisation's members; ``/review/applications/<app_id>/decision-letter.pdf``: the same
  for department staff (reviewer, approver, admin).

The PDF follows the reader's language. Views are thin: the data comes from ``plans.printable`` and
``letters.letter_data``, rendering and caching from ``app.services.pdf_cache``.
"""

from __future__ import annotations

import hashlib
import io

from flask import abort, current_app, redirect, render_template, request, send_file, url_for
from flask_babel import get_locale
from flask_limiter.util import get_remote_address
from flask_login import current_user
from werkzeug.routing import BuildError

from app.blueprints.printing import bp
from app.blueprints.printing.forms import PrepareForm, VerifySearchForm
from app.extensions import db, limiter
from app.models.application import Application
from app.models.organisation import Organisation
from app.models.plan import ActionPlan
from app.security import login_required, public, staff_required
from app.services import letters, organisations, pdf_cache, plans

PLAN_TEMPLATE = "plan"
#: Seconds between two reloads of the "being prepared" page.
REFRESH_SECONDS = 3


def _locale() -> str:
    return "en" if str(get_locale() or "vi")[:2] == "en" else "vi"


def _organisation_or_404(org_id: int) -> Organisation:
    found = organisations.find_for_member(org_id, current_user)
    if found is None:
        abort(404)
    return found[0]


def _plan_or_404(organisation: Organisation, plan_id: int) -> ActionPlan:
    plan = db.session.get(ActionPlan, plan_id)
    if plan is None or plan.organisation_id != organisation.id:
        abort(404)
    return plan


def plan_print_data(plan: ActionPlan, locale: str) -> dict:
    """What the printed plan shows (``plans.printable``), in ``locale``."""
    return plans.printable(plan, locale)


def plan_fingerprint(plan: ActionPlan) -> str:
    """What the printed plan depends on, read cheaply: the plan and its items, the organisation, the
    assessment, the catalogue's version (the programmes and partners it lists), today's date (a programme
    that closed drops out), and the portal's address (in the QR code).

    Building the data itself asks the recommender and takes far longer than sending a cached file, so
    a download looks the key up by this instead (``pdf_cache.remembered_status``).
    """
    from app.recommender import snapshot
    from app.services.catalogue import today

    organisation, assessment = plan.organisation, plan.assessment
    items = tuple((item.id, item.position, item.phase, item.pillar, item.status, item.source, item.key, item.action,
                   item.why, item.owner_role, item.due_month, item.due_on, item.cost_band, item.programme_id,
                   item.partner_category, item.training, item.updated_at) for item in plan.items)
    parts = (
        plan.id, plan.version, plan.status, plan.updated_at, plan.verification_code,
        tuple(sorted((plan.targets or {}).items())), items,
        organisation.id, organisation.updated_at, organisation.name, organisation.kind, organisation.tax_code,
        organisation.sector, organisation.commune_code, organisation.size_class,
        assessment.id, assessment.updated_at, assessment.submitted_at,
        snapshot.fingerprint(db.session), today(), current_app.config["BASE_URL"],
    )
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def plan_pdf_status(plan: ActionPlan, locale: str) -> pdf_cache.Entry:
    """Where the plan's PDF in ``locale`` stands, without rebuilding its data when nothing changed."""
    return pdf_cache.remembered_status(PLAN_TEMPLATE, locale, plan_fingerprint(plan),
                                       lambda: plan_print_data(plan, locale))


@bp.app_template_global()
def plan_pdf_entry(plan: ActionPlan) -> pdf_cache.Entry:
    """Where the plan's PDF stands in the reader's language (for ``printing/_plan_pdf.html``)."""
    return plan_pdf_status(plan, _locale())


def plan_filename(plan: ActionPlan, locale: str) -> str:
    """An ASCII file name, so every browser keeps it."""
    stem = "digital-transformation-plan" if locale == "en" else "ke-hoach-chuyen-doi-so"
    return f"{stem}-{plan.organisation_id}-v{plan.version}.pdf"


def _plan_page_url(organisation: Organisation, plan: ActionPlan) -> str:
    """The plan's own page (the plans blueprint), or the organisation's page before it exists."""
    try:
        return url_for("plans.show", org_id=organisation.id, plan_id=plan.id)
    except BuildError:
        return url_for("organisations.detail", org_id=organisation.id)


def _status_page(organisation: Organisation, plan: ActionPlan, entry: pdf_cache.Entry,
                 form: PrepareForm | None = None, status: int = 200):
    return render_template(
        "printing/plan_pdf.html", organisation=organisation, plan=plan, entry=entry, form=form or PrepareForm(),
        refresh_seconds=REFRESH_SECONDS, plan_page_url=_plan_page_url(organisation, plan),
    ), status


@bp.route("/organisations/<int:org_id>/plans/<int:plan_id>/pdf")
@login_required
def plan_pdf(org_id: int, plan_id: int):
    """The PDF when it is ready; otherwise where it stands. ``?wait=1`` (the reloading page) never downloads."""
    organisation = _organisation_or_404(org_id)
    plan = _plan_or_404(organisation, plan_id)
    locale = _locale()
    entry = plan_pdf_status(plan, locale)
    if entry.status == pdf_cache.READY and not request.args.get("wait"):
        return send_file(entry.path, mimetype="application/pdf", as_attachment=True,
                         download_name=plan_filename(plan, locale), max_age=0)
    return _status_page(organisation, plan, entry)


@bp.route("/organisations/<int:org_id>/plans/<int:plan_id>/pdf", methods=["POST"])
@login_required
def prepare_plan_pdf(org_id: int, plan_id: int):
    """Queue the render (or do it now in the embedded mode), then show where it stands."""
    organisation = _organisation_or_404(org_id)
    plan = _plan_or_404(organisation, plan_id)
    locale = _locale()
    form = PrepareForm()
    if not form.validate_on_submit():
        return _status_page(organisation, plan, plan_pdf_status(plan, locale), form, 400)
    fingerprint = plan_fingerprint(plan)
    entry = pdf_cache.queue_render(PLAN_TEMPLATE, plan_print_data(plan, locale), locale)
    pdf_cache.remember(PLAN_TEMPLATE, locale, fingerprint, entry.key)
    return redirect(url_for(".plan_pdf", org_id=organisation.id, plan_id=plan.id), 303)


@bp.app_template_global()
def decision_letter_url(application: Application, staff: bool = False) -> str | None:
    """The link to the application's decision letter, or None while it has none (for the application pages)."""
    if not letters.has_letter(application):
        return None
    if staff:
        return url_for("printing.staff_letter", app_id=application.id)
    return url_for("printing.business_letter", org_id=application.organisation_id, app_id=application.id)


def _letter(application: Application | None):
    if application is None or not letters.has_letter(application):
        abort(404)
    locale = _locale()
    response = send_file(io.BytesIO(letters.letter_pdf(application, locale)), mimetype="application/pdf",
                         as_attachment=True, download_name=letters.filename(application, locale), max_age=0)
    # A decision about one business: never kept in a shared browser's or a proxy's cache.
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/organisations/<int:org_id>/applications/<int:app_id>/decision-letter.pdf")
@login_required
def business_letter(org_id: int, app_id: int):
    """The decision letter of one of the organisation's applications (approved, rejected or cancelled)."""
    organisation = _organisation_or_404(org_id)
    return _letter(letters.find_application(app_id, organisation))


@bp.route("/review/applications/<int:app_id>/decision-letter.pdf")
@staff_required
def staff_letter(app_id: int):
    """The same letter for department staff, from the review pages."""
    return _letter(letters.find_application(app_id))


@bp.route("/verify")
@public
@limiter.limit(lambda: current_app.config["RATELIMIT_VERIFY"], key_func=get_remote_address, scope="verify")
def verify():
    """Check a printed plan's verification code: 400 when it cannot be a code, 404 when no plan has it."""
    form = VerifySearchForm(request.args)
    if "code" not in request.args:
        return render_template("printing/verify.html", form=form, plan=None, searched=False)
    if not form.validate():
        return render_template("printing/verify.html", form=form, plan=None, searched=True), 400
    plan = plans.find_by_verification_code(form.normalised)
    return render_template("printing/verify.html", form=form, plan=plan, searched=True,
                           code=form.normalised), 200 if plan else 404
