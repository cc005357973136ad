"""Staff administration: users and roles, staff invitations, the audit log, organisations for staff, and the
catalogue file import and export."""

from __future__ import annotations

import json
import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from app.blueprints.admin import bp
from app.blueprints.admin.forms import (
    AuditFilterForm,
    CatalogueImportForm,
    InvitationFilterForm,
    InviteStaffForm,
    OrganisationSearchForm,
    RolesForm,
    UserSearchForm,
)
from app.extensions import db
from app.models.audit import AuditEvent
from app.models.invitation import Invitation, InvitationKind
from app.models.organisation import Membership, Organisation
from app.models.types import utcnow
from app.models.user import Role, User, UserRole
from app.security import roles_required, staff_required
from app.services import catalogue_io, documents, geo, messaging, sectors, staff
from app.services.formatting import format_date
from app.services.identifiers import normalise_phone

PER_PAGE = 25
#: Largest id an INTEGER column holds; a bigger filter value matches nothing rather than erroring.
MAX_ID = 2**31 - 1
#: Deeper pages are never useful and a huge OFFSET only costs the database.
MAX_PAGE = 10_000


def _page() -> int:
    """The ``page`` query argument, clamped to 1..MAX_PAGE (anything unreadable is page 1)."""
    page = request.args.get("page", 1, type=int)
    return min(max(page, 1), MAX_PAGE)


def _paginate(query):
    return db.paginate(query, page=_page(), per_page=PER_PAGE, max_per_page=PER_PAGE, error_out=False)


def _escape_like(term: str) -> str:
    """``term`` with the LIKE wildcards taken literally (used with ``escape="\\"``)."""
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _contains(term: str) -> str:
    """A LIKE pattern matching ``term`` anywhere."""
    return f"%{_escape_like(term)}%"


def _actor() -> User:
    return current_user._get_current_object()


def _ip() -> str | None:
    return request.remote_addr


# Users and roles -----------------------------------------------------------------------------


@bp.route("/users")
@roles_required(Role.ADMIN)
def users():
    """All accounts, searchable by name, e-mail or phone and filterable by role and status."""
    form = UserSearchForm(formdata=request.args)
    if not form.validate():
        return render_template("admin/users.html", form=form, pagination=None), 400
    query = select(User).options(selectinload(User.roles)).order_by(User.full_name, User.id)
    if form.q.data:
        term = form.q.data
        conditions = [User.full_name.ilike(_contains(term), escape="\\"),
                      User.email.ilike(_contains(term), escape="\\")]
        phone = normalise_phone(term)
        digits = re.sub(r"[\s.\-()+]", "", term)
        if phone:
            conditions.append(User.phone == phone)
        elif digits.isdigit():
            conditions.append(User.phone.like(_contains(digits), escape="\\"))
        query = query.where(or_(*conditions))
    if form.role.data:
        query = query.where(User.roles.any(UserRole.role == Role(form.role.data)))
    if form.status.data:
        query = query.where(User.active.is_(form.status.data == "active"))
    return render_template("admin/users.html", form=form, pagination=_paginate(query))


def _render_user(user: User, roles_form: RolesForm | None = None, status: int = 200):
    if roles_form is None:
        roles_form = RolesForm(formdata=None, roles=sorted(r.value for r in user.role_names))
    memberships = db.session.scalars(
        select(Membership).where(Membership.user_id == user.id).options(selectinload(Membership.organisation))
    ).all()
    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.object_type == "user", AuditEvent.object_id == str(user.id))
        .options(selectinload(AuditEvent.actor))
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .limit(10)
    ).all()
    return render_template("admin/user_detail.html", user=user, roles_form=roles_form,
                           memberships=memberships, events=events, audit_rows=audit_rows), status


@bp.route("/users/<int:user_id>")
@roles_required(Role.ADMIN)
def user_detail(user_id: int):
    """One account: its roles, status, organisations and latest audit events."""
    return _render_user(db.get_or_404(User, user_id))


@bp.route("/users/<int:user_id>/roles", methods=["POST"])
@roles_required(Role.ADMIN)
def user_roles(user_id: int):
    """Set the user's roles to exactly the ticked ones."""
    user = db.get_or_404(User, user_id)
    form = RolesForm()
    if not form.validate():
        return _render_user(user, roles_form=form, status=400)
    try:
        changed = staff.set_roles(_actor(), user, form.roles.data, ip=_ip())
    except staff.StaffError as error:
        db.session.rollback()
        flash(str(error.message), "error")
        return _render_user(db.get_or_404(User, user_id), status=400)
    if changed:
        db.session.commit()
        flash(_("Roles of %(name)s saved.", name=user.full_name), "success")
    else:
        flash(_("Nothing changed."), "info")
    return redirect(url_for("admin.user_detail", user_id=user.id), 303)


def _set_active(user_id: int, active: bool):
    user = db.get_or_404(User, user_id)
    try:
        changed = staff.set_active(_actor(), user, active, ip=_ip())
    except staff.StaffError as error:
        db.session.rollback()
        flash(str(error.message), "error")
        return _render_user(db.get_or_404(User, user_id), status=400)
    if changed:
        db.session.commit()
        if active:
            flash(_("The account of %(name)s is active again.", name=user.full_name), "success")
        else:
            flash(_("The account of %(name)s is deactivated and logged out everywhere.", name=user.full_name),
                  "success")
    return redirect(url_for("admin.user_detail", user_id=user.id), 303)


@bp.route("/users/<int:user_id>/deactivate", methods=["POST"])
@roles_required(Role.ADMIN)
def user_deactivate(user_id: int):
    """Block the account and end its sessions."""
    return _set_active(user_id, False)


@bp.route("/users/<int:user_id>/activate", methods=["POST"])
@roles_required(Role.ADMIN)
def user_activate(user_id: int):
    """Let a deactivated account log in again."""
    return _set_active(user_id, True)


# Staff invitations -------------------------------------------------------------------------


def invitation_status(invitation: Invitation, now: datetime) -> str:
    """pending, accepted, revoked or expired."""
    if invitation.accepted_at is not None:
        return "accepted"
    if invitation.revoked_at is not None:
        return "revoked"
    if invitation.expires_at <= now:
        return "expired"
    return "pending"


@bp.route("/invitations")
@roles_required(Role.ADMIN)
def invitations():
    """Staff invitations, newest first, with their state and a revoke button for open ones."""
    form = InvitationFilterForm(formdata=request.args)
    if not form.validate():
        return render_template("admin/invitations.html", form=form, pagination=None), 400
    now = utcnow()
    query = (
        select(Invitation)
        .where(Invitation.kind == InvitationKind.STAFF)
        .options(selectinload(Invitation.invited_by))
        .order_by(Invitation.created_at.desc(), Invitation.id.desc())
    )
    status = form.status.data
    if status == "accepted":
        query = query.where(Invitation.accepted_at.is_not(None))
    elif status == "revoked":
        query = query.where(Invitation.accepted_at.is_(None), Invitation.revoked_at.is_not(None))
    elif status in ("pending", "expired"):
        query = query.where(Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None))
        query = query.where(Invitation.expires_at > now if status == "pending" else Invitation.expires_at <= now)
    pagination = _paginate(query)
    accepted_ids = {i.accepted_by_id for i in pagination.items if i.accepted_by_id}
    accepted_by = {}
    if accepted_ids:
        accepted_by = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(accepted_ids)))}
    return render_template("admin/invitations.html", form=form, pagination=pagination, now=now,
                           status_of=invitation_status, accepted_by=accepted_by)


def _queue_invitation_message(invitation: Invitation, token: str) -> None:
    """The e-mail with the link; it leaves when the invitation is committed."""
    portal = current_app.config["PORTAL_NAME"]
    roles = ", ".join(str(Role(r).label) for r in invitation.roles)
    subject = _("Invitation to work in %(portal)s", portal=portal)
    body = _(
        "%(inviter)s invites you to join %(portal)s as department staff, with the roles: %(roles)s.\n\n"
        "Open this link to accept. It works once, until %(date)s:\n%(link)s\n\n"
        "If you did not expect this invitation, you can ignore this message.",
        inviter=current_user.full_name, portal=portal, roles=roles, date=format_date(invitation.expires_at),
        link=messaging.portal_url("auth.invitation", token=token),
    )
    messaging.send_after_commit(subject=subject, body=body, email=invitation.email)


@bp.route("/invitations/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def invite():
    """Invite someone by e-mail to join the staff; an earlier open invitation to them is replaced."""
    form = InviteStaffForm()
    if not form.validate_on_submit():
        return render_template("admin/invite.html", form=form), 400 if form.is_submitted() else 200
    invitation, token, replaced = staff.invite_staff(_actor(), form.email.data, form.roles.data, ip=_ip())
    _queue_invitation_message(invitation, token)
    email = invitation.email
    db.session.commit()
    flash(_("Invitation sent to %(email)s.", email=email), "success")
    if replaced:
        flash(_("The earlier invitation to this address was revoked; only the new link works."), "info")
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        flash(_("This address already has an account: accepting the invitation adds the roles to it."), "info")
    return redirect(url_for("admin.invitations"), 303)


@bp.route("/invitations/<int:invitation_id>/revoke", methods=["POST"])
@roles_required(Role.ADMIN)
def revoke_invitation(invitation_id: int):
    """Make a staff invitation's link unusable."""
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None or invitation.kind is not InvitationKind.STAFF:
        abort(404)
    if staff.revoke_invitation(_actor(), invitation, ip=_ip()):
        db.session.commit()
        flash(_("The invitation to %(email)s was revoked.", email=invitation.email), "success")
    else:
        flash(_("This invitation was already accepted, revoked or expired."), "info")
    return redirect(url_for("admin.invitations"), 303)


# Audit log ---------------------------------------------------------------------------------


def _display(value) -> str:
    """A JSON value as a person reads it: lists of words as ``a, b``, other structures as JSON."""
    if value is None or value == []:
        return "—"
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(item, (str, int, float)) for item in value):
        return ", ".join(str(item) for item in value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def audit_rows(event: AuditEvent) -> list[tuple[str, str, str]]:
    """The event's before/after as (field, before, after) rows a person can read."""
    before = event.before if isinstance(event.before, dict) else ({"value": event.before} if event.before else {})
    after = event.after if isinstance(event.after, dict) else ({"value": event.after} if event.after else {})
    keys = sorted(set(before) | set(after))
    return [(key, _display(before.get(key)), _display(after.get(key))) for key in keys]


def _local_midnight(day) -> datetime:
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    return datetime.combine(day, time.min, tzinfo=zone)


@bp.route("/audit")
@roles_required(Role.ADMIN)
def audit():
    """The audit trail, newest first; read-only."""
    form = AuditFilterForm(formdata=request.args)
    if not form.validate():
        return render_template("admin/audit.html", form=form, pagination=None, audit_rows=audit_rows), 400
    query = (
        select(AuditEvent)
        .options(selectinload(AuditEvent.actor))
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    )
    if form.action.data:
        query = query.where(AuditEvent.action.like(f"{_escape_like(form.action.data)}%", escape="\\"))
    if form.actor.data:
        term = form.actor.data
        conditions = [User.full_name.ilike(_contains(term), escape="\\"),
                      User.email.ilike(_contains(term), escape="\\")]
        phone = normalise_phone(term)
        if phone:
            conditions.append(User.phone == phone)
        query = query.where(AuditEvent.actor_id.in_(select(User.id).where(or_(*conditions))))
    actor_id = request.args.get("actor_id", type=int)
    if actor_id is not None and 0 < actor_id <= MAX_ID:
        query = query.where(AuditEvent.actor_id == actor_id)
    if form.object_type.data:
        query = query.where(AuditEvent.object_type == form.object_type.data)
    if form.object_id.data:
        query = query.where(AuditEvent.object_id == form.object_id.data)
    if form.date_from.data:
        query = query.where(AuditEvent.created_at >= _local_midnight(form.date_from.data))
    if form.date_to.data:
        query = query.where(AuditEvent.created_at < _local_midnight(form.date_to.data + timedelta(days=1)))
    return render_template("admin/audit.html", form=form, pagination=_paginate(query), audit_rows=audit_rows)


# Organisations, for every staff role ---------------------------------------------------------


@bp.route("/organisations")
@staff_required
def organisations():
    """Registered organisations, searchable by name or tax code, filterable by kind, sector and commune."""
    form = OrganisationSearchForm(formdata=request.args)
    if not form.validate():
        return render_template("admin/organisations.html", form=form, pagination=None), 400
    query = select(Organisation).order_by(Organisation.name, Organisation.id)
    if form.q.data:
        term = form.q.data
        query = query.where(or_(Organisation.name.ilike(_contains(term), escape="\\"),
                                Organisation.tax_code.like(_contains(term), escape="\\")))
    if form.kind.data:
        query = query.where(Organisation.kind == form.kind.data)
    if form.sector.data:
        query = query.where(Organisation.sector == form.sector.data)
    if form.commune.data:
        query = query.where(Organisation.commune_code == form.commune.data)
    return render_template("admin/organisations.html", form=form, pagination=_paginate(query),
                           sector_name=sectors.name, commune_name=geo.commune_name)


@bp.route("/organisations/<int:org_id>")
@staff_required
def organisation_detail(org_id: int):
    """An organisation's profile and members, read-only."""
    organisation = db.first_or_404(
        select(Organisation)
        .where(Organisation.id == org_id)
        .options(selectinload(Organisation.memberships).selectinload(Membership.user))
    )
    return render_template("admin/organisation_detail.html", organisation=organisation,
                           sector_name=sectors.name, commune_name=geo.commune_name)


# Catalogue import and export -----------------------------------------------------------------


def _render_catalogue_import(form: CatalogueImportForm, problems=None, status: int = 200):
    report = None
    report_id = request.args.get("report", type=int)
    if problems is None and report_id is not None and 0 < report_id <= MAX_ID:
        event = db.session.get(AuditEvent, report_id)
        if event is not None and event.action == "catalogue.import":
            report = event
    return render_template("admin/catalogue_import.html", form=form, problems=problems, report=report,
                           max_mb=catalogue_io.MAX_UPLOAD_BYTES // (1024 * 1024)), status


@bp.route("/catalogue/import", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def catalogue_import():
    """Upload a catalogue file: all of it is imported, or nothing and every problem is listed with its path."""
    form = CatalogueImportForm()
    if not form.validate_on_submit():
        return _render_catalogue_import(form, status=400 if form.is_submitted() else 200)
    upload = form.file.data
    source = documents.sanitize_filename(upload.filename)[:200]
    try:
        report = catalogue_io.import_bytes(upload.read(), actor=_actor(), ip=_ip(), source=source)
    except catalogue_io.CatalogueError as error:
        db.session.rollback()
        return _render_catalogue_import(form, problems=error.problems, status=400)
    db.session.commit()
    flash(_("The catalogue file was imported."), "success")
    return redirect(url_for("admin.catalogue_import", report=report.event.id), 303)


@bp.route("/catalogue/export")
@roles_required(Role.ADMIN)
def catalogue_export():
    """The current catalogue (not retired items) as a dxportal.catalogue/1 file to download."""
    today = datetime.now(ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])).date()
    return Response(catalogue_io.export_text().encode("utf-8"), mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="dxportal-catalogue-{today.isoformat()}.json"',
    })
