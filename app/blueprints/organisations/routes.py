"""Organisation profiles and their members. Only members ever see an organisation here: anyone else
(staff included, who use the admin area) gets 404. Owners manage members; members edit the profile."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from app.blueprints.organisations import bp
from app.blueprints.organisations.forms import ConfirmForm, InviteForm, profile_form_class
from app.extensions import db, limiter
from app.models.organisation import MemberRole, Organisation, OrganisationKind
from app.security import login_required
from app.services import geo, invitations, messaging, sectors
from app.services import organisations as service


def _load(org_id: int, owner_only: bool = False) -> tuple[Organisation, MemberRole]:
    """The organisation and the current user's role in it; 404 for non-members, 403 for owner-only actions."""
    found = service.find_for_member(org_id, current_user)
    if found is None:
        abort(404)
    organisation, role = found
    if owner_only and role is not MemberRole.OWNER:
        abort(403)
    return organisation, role


def _kind_from(value: str | None) -> OrganisationKind | None:
    try:
        return OrganisationKind(value) if value else None
    except ValueError:
        return None


def _ip() -> str | None:
    return request.remote_addr


def _invite_limit() -> str:
    return current_app.config.get("RATELIMIT_INVITE", "10 per minute;50 per day")


def _invite_limit_key() -> str:
    """Per inviting user, so one owner cannot flood mailboxes and phones from many addresses."""
    return f"invite:{current_user.id if current_user.is_authenticated else request.remote_addr}"


def _save_profile(form, save) -> bool:
    """Run ``save`` and commit; turn refusals into form errors. True when saved."""
    try:
        save()
        db.session.commit()
    except service.ProfileError as error:
        db.session.rollback()
        form[error.field].errors.append(error.message)
    except IntegrityError:
        # Two people registering the same tax code at the same moment: the database catches the second.
        db.session.rollback()
        form.tax_code.errors.append(service.DUPLICATE_TAX_CODE)
    else:
        return True
    return False


@bp.route("/")
@login_required
def list_mine():
    """The user's organisations, or a call to add the first one."""
    return render_template("organisations/list.html", organisations=service.organisations_of(current_user))


@bp.route("/new", methods=["GET", "POST"])
@login_required
def create():
    """Step 1: choose the kind; step 2: the form for that kind. The creator becomes the owner."""
    kind = _kind_from(request.args.get("kind"))
    if kind is None:
        if request.method == "POST":
            return render_template("organisations/choose_kind.html",
                                   error=_("Choose the kind of business first.")), 400
        return render_template("organisations/choose_kind.html", error=None)
    form = profile_form_class(kind)()
    if form.validate_on_submit():
        created: list[Organisation] = []

        def save():
            created.append(service.create_organisation(current_user, kind, form.data, ip=_ip()))

        if _save_profile(form, save):
            flash(_("Your organisation has been added."), "success")
            return redirect(url_for(".detail", org_id=created[0].id), 303)
    status = 400 if form.is_submitted() else 200
    return render_template("organisations/form.html", form=form, kind=kind, organisation=None), status


@bp.route("/<int:org_id>")
@login_required
def detail(org_id: int):
    """The profile, its size class and its members."""
    organisation, role = _load(org_id)
    return render_template(
        "organisations/detail.html",
        organisation=organisation,
        role=role,
        members=service.members_of(organisation),
        sector=sectors.section(organisation.sector),
        commune=geo.commune_name(organisation.commune_code),
        missing=service.missing_for_size_class(organisation),
        province=geo.province(),
    )


@bp.route("/<int:org_id>/edit", methods=["GET", "POST"])
@login_required
def edit(org_id: int):
    """Owners and members edit the profile; the size class is worked out again."""
    organisation, _role = _load(org_id)
    form_class = profile_form_class(organisation.kind)
    form = form_class() if request.method == "POST" else form_class(obj=organisation)
    if form.validate_on_submit():
        changed: list[bool] = []

        def save():
            changed.append(service.update_organisation(organisation, current_user, form.data, ip=_ip()))

        if _save_profile(form, save):
            flash(_("The profile has been saved.") if changed[0] else _("Nothing was changed."), "success")
            return redirect(url_for(".detail", org_id=organisation.id), 303)
    status = 400 if form.is_submitted() else 200
    return render_template("organisations/form.html", form=form, kind=organisation.kind,
                           organisation=organisation), status


def _render_members(organisation: Organisation, role: MemberRole, invite_form: InviteForm | None = None,
                    status: int = 200):
    owner = role is MemberRole.OWNER
    return render_template(
        "organisations/members.html",
        organisation=organisation,
        role=role,
        members=service.members_of(organisation),
        invitations=service.pending_invitations(organisation) if owner else [],
        invite_form=invite_form or (InviteForm() if owner else None),
    ), status


@bp.route("/<int:org_id>/members")
@login_required
def members(org_id: int):
    """Who belongs to the organisation; owners also see pending invitations and the invite form."""
    organisation, role = _load(org_id)
    return _render_members(organisation, role)


#: The page an invitation link opens, built by the accounts work; the first of these that answers GET.
INVITATION_ENDPOINTS = ("auth.accept_invitation", "auth.invitation")


def invitation_link(token: str) -> str:
    """The absolute link for an invitation, from ``BASE_URL`` (never from the request's Host header)."""
    for endpoint in INVITATION_ENDPOINTS:
        rules = [rule for rule in current_app.url_map.iter_rules() if rule.endpoint == endpoint]
        if any("GET" in (rule.methods or ()) for rule in rules):
            return messaging.portal_url(endpoint, token=token)
    raise RuntimeError("no invitation page among " + ", ".join(INVITATION_ENDPOINTS))


def _queue_invitation(organisation: Organisation, address: dict, token: str) -> None:
    """The message with the link, in the portal's default language; it leaves when the invitation commits."""
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        subject = _("Invitation to join %(organisation)s", organisation=organisation.name)
        body = _(
            "%(inviter)s invites you to join %(organisation)s on %(portal)s. Open this link to accept "
            "(valid for %(days)s days): %(link)s",
            inviter=current_user.full_name, organisation=organisation.name,
            portal=current_app.config["PORTAL_NAME"], days=current_app.config["INVITATION_MAX_AGE_DAYS"],
            link=invitation_link(token),
        )
    messaging.send_after_commit(subject=subject, body=body, **address)


@bp.route("/<int:org_id>/members/invite", methods=["POST"])
@login_required
@limiter.limit(_invite_limit, key_func=_invite_limit_key, deduct_when=lambda response: response.status_code == 303)
def invite(org_id: int):
    """The owner invites someone by e-mail or mobile; the link goes out by e-mail or SMS/Zalo."""
    organisation, role = _load(org_id, owner_only=True)
    form = InviteForm()
    if not form.validate_on_submit():
        return _render_members(organisation, role, form, 400)
    try:
        _invitation, token, address = service.invite(organisation, current_user, form.contact.data,
                                                     MemberRole(form.member_role.data), ip=_ip())
    except service.MembershipError as error:
        db.session.rollback()
        form.contact.errors.append(error.message)
        return _render_members(organisation, role, form, 400)
    _queue_invitation(organisation, address, token)
    db.session.commit()
    flash(_("Invitation sent to %(address)s.", address=address["email"] or address["phone"]), "success")
    return redirect(url_for(".members", org_id=organisation.id), 303)


@bp.route("/<int:org_id>/invitations/<int:invitation_id>/revoke", methods=["POST"])
@login_required
def revoke_invitation(org_id: int, invitation_id: int):
    """The owner cancels an invitation that has not been accepted yet."""
    organisation, _role = _load(org_id, owner_only=True)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    invitation = service.find_invitation(organisation, invitation_id)
    if invitation is None:
        abort(404)
    invitations.revoke(invitation, current_user, ip=_ip())
    db.session.commit()
    flash(_("The invitation has been cancelled."), "success")
    return redirect(url_for(".members", org_id=organisation.id), 303)


@bp.route("/<int:org_id>/members/<int:membership_id>/remove", methods=["POST"])
@login_required
def remove_member(org_id: int, membership_id: int):
    """The owner removes a member (never the last owner)."""
    organisation, _role = _load(org_id, owner_only=True)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    membership = service.find_membership(organisation, membership_id)
    if membership is None:
        abort(404)
    leaving_self = membership.user_id == current_user.id
    try:
        service.remove_member(organisation, membership, current_user, ip=_ip())
    except service.MembershipError as error:
        db.session.rollback()
        flash(str(error.message), "error")
        return redirect(url_for(".members", org_id=organisation.id), 303)
    db.session.commit()
    flash(_("The member has been removed."), "success")
    if leaving_self:
        return redirect(url_for(".list_mine"), 303)
    return redirect(url_for(".members", org_id=organisation.id), 303)


@bp.route("/<int:org_id>/leave", methods=["POST"])
@login_required
def leave(org_id: int):
    """A member leaves the organisation (the last owner cannot)."""
    organisation, _role = _load(org_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    name = organisation.name
    try:
        service.leave(organisation, current_user, ip=_ip())
    except service.MembershipError as error:
        db.session.rollback()
        flash(str(error.message), "error")
        return redirect(url_for(".members", org_id=organisation.id), 303)
    db.session.commit()
    flash(_("You have left %(organisation)s.", organisation=name), "success")
    return redirect(url_for(".list_mine"), 303)
