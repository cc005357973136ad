"""Action plan pages, nested under an organisation: /organisations/<org_id>/plans/...

Only members of the organisation see or change its plans; anyone else gets 404 whatever ids they try.
``_access`` is the one gate every view goes through. A superseded version can be read but not changed.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.blueprints.plans import bp
from app.blueprints.plans.forms import ConfirmForm, ItemForm, NewItemForm, StatusForm
from app.extensions import db
from app.models.organisation import Organisation
from app.models.plan import PHASES, ActionPlan, ItemStatus, PlanItem, PlanStatus
from app.security import login_required
from app.services import assessments, plans
from app.services import organisations as organisation_service


@dataclass(frozen=True)
class Access:
    organisation: Organisation
    plan: ActionPlan | None
    item: PlanItem | None


def _access(org_id: int, plan_id: int | None = None, item_id: int | None = None) -> Access:
    """Members only; a plan of another organisation, or an item of another plan, is 404 too."""
    found = organisation_service.find_for_member(org_id, current_user)
    if found is None:
        abort(404)
    organisation = found[0]
    plan = item = None
    if plan_id is not None:
        plan = db.session.scalar(select(ActionPlan).where(ActionPlan.id == plan_id,
                                                          ActionPlan.organisation_id == organisation.id))
        if plan is None:
            abort(404)
    if item_id is not None:
        item = next((i for i in plan.items if i.id == item_id), None)
        if item is None:
            abort(404)
    return Access(organisation, plan, item)


def _lang() -> str:
    return str(get_locale() or "vi")


def _ip() -> str | None:
    return request.remote_addr


def _show_url(access: Access, **values) -> str:
    return url_for(".show", org_id=access.organisation.id, plan_id=access.plan.id, **values)


def _to_current_if_superseded(access: Access):
    """Changing an old version is not possible: send the member to the current one."""
    if access.plan.status is PlanStatus.SUPERSEDED:
        flash(_("This is an earlier version of the plan and can no longer be changed. Here is the current one."),
              "info")
        return redirect(url_for(".index", org_id=access.organisation.id), 303)
    return None


@bp.route("/")
@login_required
def index(org_id: int):
    """The current plan; without one, what it takes to make it."""
    access = _access(org_id)
    plan = plans.current_plan(access.organisation)
    if plan is not None:
        return redirect(url_for(".show", org_id=access.organisation.id, plan_id=plan.id))
    return render_template(
        "plans/index.html",
        organisation=access.organisation,
        assessment=assessments.latest_submitted(access.organisation),
        confirm_form=ConfirmForm(),
    )


@bp.route("/refresh", methods=["POST"])
@login_required
def refresh(org_id: int):
    """Make the plan from the latest self-assessment (a new version when a newer one was submitted)."""
    access = _access(org_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        plan, created = plans.create_or_update(access.organisation, current_user, ip=_ip())
    except plans.NoAssessmentError:
        flash(_("Do the self-assessment first: the plan is based on it."), "info")
        return redirect(url_for("assessments.index", org_id=access.organisation.id), 303)
    db.session.commit()
    if created and plan.version > 1:
        flash(_("Your plan has been updated from your latest self-assessment. Finished and started actions were "
                "kept."), "success")
    elif created:
        flash(_("Your action plan is ready. Change who does what and by when to suit you."), "success")
    return redirect(url_for(".show", org_id=access.organisation.id, plan_id=plan.id), 303)


def _owner_roles(lang: str) -> list[str]:
    return [label.pick(lang) for label in plans.roadmap().roles.values()]


@bp.route("/<int:plan_id>")
@login_required
def show(org_id: int, plan_id: int):
    """Targets, progress, the roadmap by phase, the radar, and the support that fits."""
    access = _access(org_id, plan_id)
    lang = _lang()
    view = plans.plan_view(access.plan, lang)
    newer = plans.newer_assessment(access.plan) if access.plan.is_current else None
    current = plans.current_plan(access.organisation) if not access.plan.is_current else None
    return render_template(
        "plans/show.html",
        organisation=access.organisation,
        plan=access.plan,
        view=view,
        newer=newer,
        current=current,
        versions=plans.versions(access.organisation),
        confirm_form=ConfirmForm(),
        score_text=lambda value: plans.score_text(value, lang),
        ItemStatus=ItemStatus,
    )


def _render_item_form(access: Access, form, status: int = 200, new: bool = False):
    lang = _lang()
    item = access.item
    view_item = None
    if item is not None and not item.is_own:
        view = plans.plan_view(access.plan, lang)
        view_item = next((row for block in view.phases for row in block.items if row.id == item.id), None)
    return render_template(
        "plans/item_form.html",
        organisation=access.organisation,
        plan=access.plan,
        item=item,
        view_item=view_item,
        form=form,
        new=new,
        owner_roles=_owner_roles(lang),
        heading=_("Add your own action") if new else _("Change an action"),
    ), status


@bp.route("/<int:plan_id>/items/<int:item_id>/edit", methods=["GET", "POST"])
@login_required
def edit_item(org_id: int, plan_id: int, item_id: int):
    """Who does it, by when, and how far it is; the words too for the business's own items."""
    access = _access(org_id, plan_id, item_id)
    redirected = _to_current_if_superseded(access)
    if redirected:
        return redirected
    item = access.item
    if request.method == "GET":
        form = ItemForm(formdata=None, own=item.is_own, action=item.action,
                        owner=plans.role_label(item.owner_role, _lang()), due_on=item.due_on,
                        status=item.status.value)
        return _render_item_form(access, form)
    form = ItemForm(own=item.is_own)
    if not form.validate_on_submit():
        return _render_item_form(access, form, 400)
    try:
        changed = plans.update_item(item, current_user, owner=form.owner.data, due_on=form.due_on.data,
                                    status=form.status.data,
                                    action=form.action.data if item.is_own else None, ip=_ip())
    except plans.PlanError:
        db.session.rollback()
        abort(400)
    if changed:
        db.session.commit()
        flash(_("The action has been updated."), "success")
    return redirect(_show_url(access, _anchor=f"item-{item.id}"), 303)


@bp.route("/<int:plan_id>/items/<int:item_id>/status", methods=["POST"])
@login_required
def item_status(org_id: int, plan_id: int, item_id: int):
    """The quick buttons on the plan page: start, mark as done, back to do."""
    access = _access(org_id, plan_id, item_id)
    redirected = _to_current_if_superseded(access)
    if redirected:
        return redirected
    form = StatusForm()
    if not form.validate_on_submit():
        abort(400)
    if plans.set_status(access.item, current_user, form.status.data, ip=_ip()):
        db.session.commit()
        flash(_("Status changed to “%(status)s”.", status=ItemStatus(form.status.data).label), "success")
    return redirect(_show_url(access, _anchor=f"item-{access.item.id}"), 303)


def _new_item_form(access: Access, formdata=None):
    lang = _lang()
    framework = assessments.framework_of(access.plan.assessment)
    return NewItemForm(
        formdata=formdata,
        pillars=[(p.code, p.name.pick(lang)) for p in framework.pillars],
        phases=[(phase.value, f"{phase.label} ({phase.months[0]}–{phase.months[1]})") for phase in PHASES],
    )


@bp.route("/<int:plan_id>/items/new", methods=["GET", "POST"])
@login_required
def new_item(org_id: int, plan_id: int):
    """Add an action of the business's own to the plan."""
    access = _access(org_id, plan_id)
    redirected = _to_current_if_superseded(access)
    if redirected:
        return redirected
    if request.method == "GET":
        return _render_item_form(access, _new_item_form(access), new=True)
    form = _new_item_form(access, request.form)
    if not form.validate_on_submit():
        return _render_item_form(access, form, 400, new=True)
    try:
        item = plans.add_own_item(access.plan, current_user, action=form.action.data, pillar=form.pillar.data,
                                  phase=form.phase.data, owner=form.owner.data, due_on=form.due_on.data, ip=_ip())
        if form.status.data != ItemStatus.TODO.value:
            plans.set_status(item, current_user, form.status.data, ip=_ip())
    except plans.PlanError:
        db.session.rollback()
        abort(400)
    db.session.commit()
    flash(_("Your action has been added to the plan."), "success")
    return redirect(_show_url(access, _anchor=f"item-{item.id}"), 303)


@bp.route("/<int:plan_id>/items/<int:item_id>/delete", methods=["POST"])
@login_required
def delete_item(org_id: int, plan_id: int, item_id: int):
    """Remove an action the business added; suggested actions cannot be deleted (404 for them)."""
    access = _access(org_id, plan_id, item_id)
    redirected = _to_current_if_superseded(access)
    if redirected:
        return redirected
    if not access.item.is_own:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    plans.delete_own_item(access.item, current_user, ip=_ip())
    db.session.commit()
    flash(_("The action has been removed from the plan."), "success")
    return redirect(_show_url(access), 303)
