"""Catalogue pages. Public: open programmes and vetted partners. Staff (reviewers, admins): programmes,
partners, vetting and the queue of partner proposals. Partner users: their company profile and proposals.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.blueprints.catalogue import bp
from app.blueprints.catalogue.forms import (
    ApproveForm,
    ConfirmForm,
    MemberForm,
    PartnerFilterForm,
    PartnerForm,
    PartnerProfileForm,
    ProgrammeFilterForm,
    ProgrammeForm,
    PublicFilterForm,
    RejectForm,
    StatusForm,
    profile_form_data,
    programme_form_data,
)
from app.extensions import db
from app.models.catalogue import Partner, PartnerRevision, PartnerStatus, PriceBand, Programme, RevisionStatus
from app.models.organisation import OrganisationKind, SizeClass
from app.models.user import Role
from app.security import public, roles_required
from app.services import catalogue as service
from app.services import geo, sectors
from app.services.formatting import format_vnd

STAFF = (Role.REVIEWER, Role.ADMIN)
PER_PAGE = 25
PUBLIC_PER_PAGE = 24
MAX_PAGE = 10_000

#: Names of the fields shown in diffs and audit rows.
FIELD_LABELS = {
    "summary": _l("Summary"), "website": _l("Website"), "email": _l("Contact e-mail"), "phone": _l("Contact phone"),
    "categories": _l("Solution categories"), "pillars": _l("Pillars"), "sectors": _l("Sectors"),
    "org_kinds": _l("Kinds of organisation"), "communes": _l("Communes and wards"), "price_band": _l("Price band"),
    "name": _l("Company name"), "tax_code": _l("Tax code (MST)"), "code": _l("Code"), "status": _l("Status"),
}


def _locale() -> str:
    return str(get_locale() or "vi")


def _actor():
    return current_user._get_current_object()


def _ip() -> str | None:
    return request.remote_addr


def _page() -> int:
    page = request.args.get("page", 1, type=int)
    return min(max(page, 1), MAX_PAGE)


def _paginate(query, page: int | None = None, per_page: int = PER_PAGE):
    return db.paginate(query, page=page or _page(), per_page=per_page, max_per_page=per_page, error_out=False)


def _confirmed() -> None:
    """A state-changing button must come with its CSRF token."""
    if not ConfirmForm().validate_on_submit():
        abort(400)


def _attach(form, error: service.CatalogueError) -> None:
    """Show a service refusal on its form field, or above the form."""
    if error.field and error.field in form and not hasattr(form[error.field], "entries"):
        form[error.field].errors = [*form[error.field].errors, error.message]
    else:
        form.form_errors.append(error.message)


def _save(form, action) -> bool:
    """Run ``action`` and commit; a refusal becomes a form error. True when saved."""
    try:
        action()
        db.session.commit()
    except service.CatalogueError as error:
        db.session.rollback()
        _attach(form, error)
        return False
    except IntegrityError:
        # Two people creating the same code at once: the database catches the second.
        db.session.rollback()
        form.form_errors.append(_("This code is already used. Choose another one."))
        return False
    return True


# Template helpers -----------------------------------------------------------------------------------


def _label(enum_class, value):
    """The label of an enum member given by its value; the value itself when it is not one."""
    member = enum_class._value2member_map_.get(value) if isinstance(value, str) else None
    return member.label if member is not None else value


def describe(field: str, value) -> str:
    """A stored value as a person reads it (labels instead of codes; "all" for empty lists)."""
    locale = _locale()
    if field == "summary" and isinstance(value, dict):
        return " / ".join(f"{lang}: {value.get(lang, '')}" for lang in service.LANGUAGES)
    if isinstance(value, list):
        if not value:
            return {"sectors": _("All sectors"), "communes": _("Whole province")}.get(field, "—")
        names = {
            "categories": lambda c: service.category_label(c, locale),
            "pillars": lambda c: service.pillar_name(c, locale),
            "sectors": lambda c: f"{c} – {sectors.name(c, locale) or c}",
            "communes": lambda c: geo.commune_name(c) or c,
            "org_kinds": lambda c: str(_label(OrganisationKind, c)),
        }.get(field, str)
        return ", ".join(names(item) for item in value)
    if field == "price_band" and value:
        return str(_label(PriceBand, value))
    if field == "status" and value:
        return str(_label(PartnerStatus, value))
    return "—" if value in (None, "") else str(value)


@bp.context_processor
def _helpers():
    locale = _locale()
    return {
        "category_label": lambda code: service.category_label(code, locale),
        "pillar_name": lambda code: service.pillar_name(code, locale),
        "sector_name": lambda code: sectors.name(code, locale) or code,
        "commune_name": lambda code: geo.commune_name(code) or code,
        "level_name": lambda number: service.level_name(number, locale),
        "format_rate": service.format_rate,
        "org_kind_label": lambda code: _label(OrganisationKind, code),
        "size_label": lambda code: _label(SizeClass, code),
        "size_classes": list(SizeClass),
        "describe": describe,
        "field_label": lambda name: FIELD_LABELS.get(name, name),
        "status_label": lambda value: _label(PartnerStatus, value),
        "text_of": lambda item, field: item.text(field, locale),
        "local_text": lambda value: (value or {}).get(locale[:2]) or (value or {}).get("vi", ""),
        "vnd": format_vnd,
    }


# Public catalogue -----------------------------------------------------------------------------------


@bp.route("/")
@public
def index():
    """Open programmes (and those opening soon) and vetted partners, narrowed by the visitor's filters."""
    form = PublicFilterForm(formdata=request.args)
    if not form.validate():
        return render_template("catalogue/index.html", form=form, programmes=[], upcoming=[], partners=None), 400
    filters, on = form.filters(), service.today()
    return render_template(
        "catalogue/index.html",
        form=form,
        programmes=service.public_open_programmes(filters, on),
        upcoming=service.public_upcoming_programmes(filters, on),
        partners=_paginate(service.public_partners_query(filters), form.page_number, PUBLIC_PER_PAGE),
        filtered=any((filters.sector, filters.org_kind, filters.category, filters.pillar)),
    )


@bp.route("/programmes/<int:programme_id>")
@public
def programme(programme_id: int):
    """Everything a business needs to know before applying: who can apply, how much, when, which documents."""
    found = service.public_programme(programme_id)
    if found is None:
        abort(404)
    return render_template("catalogue/programme.html", programme=found,
                           window=service.window_state(found, service.today()))


@bp.route("/partners/<int:partner_id>")
@public
def partner(partner_id: int):
    """A vetted partner's profile; partners that are not vetted (or retired) do not exist for the public."""
    found = service.public_partner(partner_id)
    if found is None:
        abort(404)
    return render_template("catalogue/partner.html", partner=found)


# Partner self-service -------------------------------------------------------------------------------


@bp.route("/partner/")
@roles_required(Role.PARTNER)
def my_partners():
    """The companies the partner user is linked to; straight to the profile when there is one."""
    partners = service.partners_of(current_user)
    if len(partners) == 1:
        return redirect(url_for(".partner_profile", partner_id=partners[0].id))
    return render_template("catalogue/my_partners.html", partners=partners)


def _render_profile(partner_obj: Partner, form: PartnerProfileForm, status: int = 200):
    return render_template(
        "catalogue/partner_profile.html",
        partner=partner_obj,
        form=form,
        latest=service.latest_revision(partner_obj),
        pending=service.pending_revision(partner_obj),
    ), status


@bp.route("/partner/<int:partner_id>/profile", methods=["GET", "POST"])
@roles_required(Role.PARTNER)
def partner_profile(partner_id: int):
    """The published profile and a form to propose changes, which wait for staff approval."""
    found = service.find_for_member(partner_id, current_user)
    if found is None:
        abort(404)
    if request.method == "POST":
        form = PartnerProfileForm()
    else:
        pending = service.pending_revision(found)
        values = pending.data if pending is not None else service.profile_values(found)
        form = PartnerProfileForm(data=profile_form_data(values))
    if form.validate_on_submit():
        replaced = service.pending_revision(found) is not None
        if _save(form, lambda: service.submit_revision(found, _actor(), form.to_data(), ip=_ip())):
            flash(_("Your proposal replaces the one waiting for review.") if replaced else
                  _("Your proposal has been sent. The public profile changes once staff approve it."), "success")
            return redirect(url_for(".partner_profile", partner_id=partner_id), 303)
    return _render_profile(found, form, 400 if form.is_submitted() else 200)


# Staff: programmes ----------------------------------------------------------------------------------


@bp.route("/manage/programmes")
@roles_required(*STAFF)
def manage_programmes():
    """All programmes: search by code or name, filter by kind, active or retired, open today."""
    form = ProgrammeFilterForm(formdata=request.args)
    if not form.validate():
        return render_template("catalogue/manage/programmes.html", form=form, pagination=None), 400
    query = service.staff_programmes_query(
        q=form.q.data, kind=form.kind.data or None, status=form.status.data,
        open_on=service.today() if form.open_now.data else None,
    )
    return render_template("catalogue/manage/programmes.html", form=form, pagination=_paginate(query),
                           today=service.today())


def _render_programme_form(form: ProgrammeForm, programme_obj: Programme | None, status: int = 200):
    form.add_blank_rows()
    return render_template("catalogue/manage/programme_form.html", form=form, programme=programme_obj), status


@bp.route("/manage/programmes/new", methods=["GET", "POST"])
@roles_required(*STAFF)
def programme_new():
    """Create a programme with every field of the exchange format."""
    form = ProgrammeForm()
    if form.validate_on_submit():
        created: list[Programme] = []
        if _save(form, lambda: created.append(service.create_programme(_actor(), form.to_data(), ip=_ip()))):
            flash(_("Programme %(code)s created.", code=created[0].code), "success")
            return redirect(url_for(".programme_edit", programme_id=created[0].id), 303)
    return _render_programme_form(form, None, 400 if form.is_submitted() else 200)


@bp.route("/manage/programmes/<int:programme_id>/edit", methods=["GET", "POST"])
@roles_required(*STAFF)
def programme_edit(programme_id: int):
    """Edit a programme; its code never changes."""
    found = db.get_or_404(Programme, programme_id)
    if request.method == "POST":
        form = ProgrammeForm(creating=False)
    else:
        form = ProgrammeForm(data=programme_form_data(found), creating=False)
    if form.validate_on_submit():
        changed: list[bool] = []
        if _save(form, lambda: changed.append(service.update_programme(found, _actor(), form.to_data(), ip=_ip()))):
            flash(_("Programme saved.") if changed[0] else _("Nothing was changed."), "success")
            return redirect(url_for(".programme_edit", programme_id=programme_id), 303)
        found = db.get_or_404(Programme, programme_id)
    return _render_programme_form(form, found, 400 if form.is_submitted() else 200)


@bp.route("/manage/programmes/<int:programme_id>/retire", methods=["GET", "POST"])
@roles_required(*STAFF)
def programme_retire(programme_id: int):
    """Ask for confirmation, then hide the programme from the catalogue and recommendations."""
    found = db.get_or_404(Programme, programme_id)
    form = ConfirmForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        if service.retire_programme(found, _actor(), ip=_ip()):
            db.session.commit()
            flash(_("Programme %(code)s retired: it no longer shows in the catalogue.", code=found.code), "success")
        return redirect(url_for(".programme_edit", programme_id=programme_id), 303)
    return render_template("catalogue/manage/confirm.html", form=form, kind="programme", item=found,
                           action_url=url_for(".programme_retire", programme_id=programme_id),
                           back_url=url_for(".programme_edit", programme_id=programme_id))


@bp.route("/manage/programmes/<int:programme_id>/restore", methods=["POST"])
@roles_required(*STAFF)
def programme_restore(programme_id: int):
    """Bring a retired programme back into the catalogue."""
    found = db.get_or_404(Programme, programme_id)
    _confirmed()
    if service.restore_programme(found, _actor(), ip=_ip()):
        db.session.commit()
        flash(_("Programme %(code)s restored.", code=found.code), "success")
    return redirect(url_for(".programme_edit", programme_id=programme_id), 303)


# Staff: partners ------------------------------------------------------------------------------------


@bp.route("/manage/partners")
@roles_required(*STAFF)
def manage_partners():
    """All partners: search by name, code or tax code; filter by status and category."""
    form = PartnerFilterForm(formdata=request.args)
    if not form.validate():
        return render_template("catalogue/manage/partners.html", form=form, pagination=None), 400
    query = service.staff_partners_query(q=form.q.data, status=form.status.data or None,
                                         category=form.category.data or None)
    pending_ids = set(db.session.scalars(
        select(PartnerRevision.partner_id).where(PartnerRevision.status == RevisionStatus.PENDING)
    ))
    return render_template("catalogue/manage/partners.html", form=form, pagination=_paginate(query),
                           pending_ids=pending_ids)


@bp.route("/manage/partners/new", methods=["GET", "POST"])
@roles_required(*STAFF)
def partner_new():
    """Add a partner; it waits for vetting before the public sees it."""
    form = PartnerForm()
    if form.validate_on_submit():
        created: list[Partner] = []
        if _save(form, lambda: created.append(service.create_partner(_actor(), form.to_data(), ip=_ip()))):
            flash(_("Partner %(code)s added. It shows in the catalogue once vetted.", code=created[0].code), "success")
            return redirect(url_for(".partner_detail", partner_id=created[0].id), 303)
    return render_template("catalogue/manage/partner_form.html", form=form, partner=None), \
        400 if form.is_submitted() else 200


@bp.route("/manage/partners/<int:partner_id>/edit", methods=["GET", "POST"])
@roles_required(*STAFF)
def partner_edit(partner_id: int):
    """Edit a partner's name, tax code and profile (not its code or status)."""
    found = db.get_or_404(Partner, partner_id)
    if request.method == "POST":
        form = PartnerForm(creating=False)
    else:
        form = PartnerForm(data=profile_form_data(service.partner_snapshot(found)), creating=False)
    if form.validate_on_submit():
        changed: list[bool] = []
        if _save(form, lambda: changed.append(service.update_partner(found, _actor(), form.to_data(), ip=_ip()))):
            flash(_("Partner saved.") if changed[0] else _("Nothing was changed."), "success")
            return redirect(url_for(".partner_detail", partner_id=partner_id), 303)
        found = db.get_or_404(Partner, partner_id)
    return render_template("catalogue/manage/partner_form.html", form=form, partner=found), \
        400 if form.is_submitted() else 200


def _render_partner(found: Partner, status_form: StatusForm | None = None, member_form: MemberForm | None = None,
                    status: int = 200):
    actions = service.allowed_actions(found)
    return render_template(
        "catalogue/manage/partner_detail.html",
        partner=found,
        status_form=status_form or (StatusForm(formdata=None, actions=actions) if actions else None),
        member_form=member_form or MemberForm(formdata=None),
        members=service.members_of(found),
        history=service.vetting_history(found),
        pending=service.pending_revision(found),
        confirm=ConfirmForm(formdata=None),
    ), status


@bp.route("/manage/partners/<int:partner_id>")
@roles_required(*STAFF)
def partner_detail(partner_id: int):
    """A partner for staff: profile, vetting status and history, linked users, pending proposal."""
    return _render_partner(db.get_or_404(Partner, partner_id))


@bp.route("/manage/partners/<int:partner_id>/status", methods=["POST"])
@roles_required(*STAFF)
def partner_status(partner_id: int):
    """Vet, suspend or reinstate, always with a reason."""
    found = db.get_or_404(Partner, partner_id)
    form = StatusForm(actions=service.allowed_actions(found))
    if not form.validate_on_submit():
        return _render_partner(found, status_form=form, status=400)
    try:
        target = service.change_status(found, _actor(), form.action.data, form.reason.data, ip=_ip())
    except service.CatalogueError as error:
        db.session.rollback()
        _attach(form, error)
        return _render_partner(db.get_or_404(Partner, partner_id), status_form=form, status=400)
    db.session.commit()
    flash(_("%(name)s is now: %(status)s.", name=found.name, status=target.label), "success")
    return redirect(url_for(".partner_detail", partner_id=partner_id), 303)


@bp.route("/manage/partners/<int:partner_id>/retire", methods=["GET", "POST"])
@roles_required(*STAFF)
def partner_retire(partner_id: int):
    """Ask for confirmation, then hide the partner everywhere (its history stays)."""
    found = db.get_or_404(Partner, partner_id)
    form = ConfirmForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        if service.retire_partner(found, _actor(), ip=_ip()):
            db.session.commit()
            flash(_("Partner %(code)s retired: it no longer shows in the catalogue.", code=found.code), "success")
        return redirect(url_for(".partner_detail", partner_id=partner_id), 303)
    return render_template("catalogue/manage/confirm.html", form=form, kind="partner", item=found,
                           action_url=url_for(".partner_retire", partner_id=partner_id),
                           back_url=url_for(".partner_detail", partner_id=partner_id))


@bp.route("/manage/partners/<int:partner_id>/restore", methods=["POST"])
@roles_required(*STAFF)
def partner_restore(partner_id: int):
    """Bring a retired partner back (its vetting status is unchanged)."""
    found = db.get_or_404(Partner, partner_id)
    _confirmed()
    if service.restore_partner(found, _actor(), ip=_ip()):
        db.session.commit()
        flash(_("Partner %(code)s restored.", code=found.code), "success")
    return redirect(url_for(".partner_detail", partner_id=partner_id), 303)


@bp.route("/manage/partners/<int:partner_id>/members", methods=["POST"])
@roles_required(Role.ADMIN)
def partner_member_add(partner_id: int):
    """Link an existing partner user (by e-mail) so they can propose profile changes."""
    found = db.get_or_404(Partner, partner_id)
    form = MemberForm()
    if not form.validate_on_submit():
        return _render_partner(found, member_form=form, status=400)
    try:
        member = service.add_member(found, _actor(), form.email.data, ip=_ip())
    except service.CatalogueError as error:
        db.session.rollback()
        _attach(form, error)
        return _render_partner(db.get_or_404(Partner, partner_id), member_form=form, status=400)
    name = member.user.full_name
    db.session.commit()
    flash(_("%(name)s is now linked to this partner.", name=name), "success")
    return redirect(url_for(".partner_detail", partner_id=partner_id), 303)


@bp.route("/manage/partners/<int:partner_id>/members/<int:member_id>/remove", methods=["POST"])
@roles_required(Role.ADMIN)
def partner_member_remove(partner_id: int, member_id: int):
    """Unlink a user from the partner."""
    found = db.get_or_404(Partner, partner_id)
    member = service.find_member(found, member_id)
    if member is None:
        abort(404)
    _confirmed()
    service.remove_member(found, member, _actor(), ip=_ip())
    db.session.commit()
    flash(_("The user is no longer linked to this partner."), "success")
    return redirect(url_for(".partner_detail", partner_id=partner_id), 303)


# Staff: partner proposals ---------------------------------------------------------------------------


@bp.route("/manage/revisions")
@roles_required(*STAFF)
def revisions():
    """Partner proposals waiting for review, oldest first."""
    return render_template("catalogue/manage/revisions.html",
                           pagination=_paginate(service.pending_revisions_query()))


def _render_revision(revision: PartnerRevision, approve_form=None, reject_form=None, status: int = 200):
    return render_template(
        "catalogue/manage/revision.html",
        revision=revision,
        diff=service.revision_diff(revision) if revision.status is RevisionStatus.PENDING else [],
        approve_form=approve_form or ApproveForm(formdata=None),
        reject_form=reject_form or RejectForm(formdata=None),
    ), status


@bp.route("/manage/revisions/<int:revision_id>")
@roles_required(*STAFF)
def revision(revision_id: int):
    """A proposal: each changed field, current → proposed, with approve and reject."""
    return _render_revision(db.get_or_404(PartnerRevision, revision_id))


@bp.route("/manage/revisions/<int:revision_id>/approve", methods=["POST"])
@roles_required(*STAFF)
def revision_approve(revision_id: int):
    """Publish the proposed values on the partner's profile."""
    found = db.get_or_404(PartnerRevision, revision_id)
    form = ApproveForm()
    if not form.validate_on_submit():
        return _render_revision(found, approve_form=form, status=400)
    try:
        service.approve_revision(found, _actor(), ip=_ip(), note=form.note.data)
    except service.CatalogueError as error:
        db.session.rollback()
        _attach(form, error)
        return _render_revision(db.get_or_404(PartnerRevision, revision_id), approve_form=form, status=400)
    db.session.commit()
    flash(_("The proposal is approved and the profile is published."), "success")
    return redirect(url_for(".revisions"), 303)


@bp.route("/manage/revisions/<int:revision_id>/reject", methods=["POST"])
@roles_required(*STAFF)
def revision_reject(revision_id: int):
    """Turn the proposal down with a note the partner reads."""
    found = db.get_or_404(PartnerRevision, revision_id)
    form = RejectForm()
    if not form.validate_on_submit():
        return _render_revision(found, reject_form=form, status=400)
    try:
        service.reject_revision(found, _actor(), form.reason.data, ip=_ip())
    except service.CatalogueError as error:
        db.session.rollback()
        _attach(form, error)
        return _render_revision(db.get_or_404(PartnerRevision, revision_id), reject_form=form, status=400)
    db.session.commit()
    flash(_("The proposal is rejected; the partner sees your note."), "success")
    return redirect(url_for(".revisions"), 303)
