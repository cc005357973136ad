"""Notifications pages under /notifications/: the feed, marking read, and the channel settings.

A person only ever sees their own notifications: another person's id is a 404, like a missing one.
The bell in the site header reads ``unread_notification_count`` from the context processor below.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from app.blueprints.notifications import bp
from app.blueprints.notifications.forms import MarkReadForm, PreferencesForm
from app.extensions import db
from app.security import login_required, safe_next_url
from app.services import notifications as service

PER_PAGE = 20
#: Deeper pages are never useful and a huge OFFSET only costs the database.
MAX_PAGE = 10_000


@bp.app_context_processor
def inject_unread_count():
    """The bell's number: one COUNT for a logged-in person, no query at all for a visitor."""
    if not getattr(current_user, "is_authenticated", False):
        return {"unread_notification_count": 0}
    try:
        return {"unread_notification_count": service.unread_count(current_user)}
    except SQLAlchemyError:  # a page rendered after a failed statement (error pages) still renders
        db.session.rollback()
        return {"unread_notification_count": 0}


def _page() -> int:
    """The ``page`` query argument, clamped to 1..MAX_PAGE (anything unreadable is page 1)."""
    return min(max(request.args.get("page", 1, type=int), 1), MAX_PAGE)


def target(notification) -> str:
    """Where a notification leads: its stored path if it is one of ours, else the feed itself."""
    return safe_next_url(notification.link, fallback="notifications.index")


@bp.route("/")
@login_required
def index():
    """The person's notifications, newest first, unread ones highlighted."""
    pagination = db.paginate(service.feed_query(current_user), page=_page(), per_page=PER_PAGE,
                             max_per_page=PER_PAGE, error_out=False)
    return render_template("notifications/index.html", pagination=pagination,
                           target=target, kind_label=service.kind_label)


@bp.route("/<int:notification_id>/read", methods=["POST"])
@login_required
def read(notification_id: int):
    """Mark one notification read and open what it is about."""
    notification = service.own_notification(current_user, notification_id)
    if notification is None:
        abort(404)
    if not MarkReadForm().validate_on_submit():
        abort(400)
    service.mark_read(notification)
    db.session.commit()
    return redirect(target(notification), 303)


@bp.route("/read-all", methods=["POST"])
@login_required
def read_all():
    """Mark every notification read."""
    if not MarkReadForm().validate_on_submit():
        abort(400)
    count = service.mark_all_read(current_user)
    db.session.commit()
    if count:
        flash(_("All notifications are marked as read."), "success")
    return redirect(url_for(".index"), 303)


def _grid(values: dict[str, bool]) -> list[dict]:
    """Rows of the settings table: a kind, its description, and one cell per channel the person has."""
    channels = service.channels_of(current_user)
    rows = []
    for kind in service.kinds_for(current_user):
        label, description = service.KINDS[kind]
        rows.append({
            "kind": kind, "label": label, "description": description,
            "cells": [{"key": service.preference_key(kind, channel), "channel": channel,
                       "label": service.CHANNELS[channel],
                       "checked": values.get(service.preference_key(kind, channel), False)}
                      for channel in channels],
        })
    return rows


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings():
    """Which kinds of message the person wants, on which channel."""
    current = service.preferences(current_user)
    form = PreferencesForm(list(current))
    if request.method == "POST":
        if not form.validate_on_submit():
            posted = {key: key in (form.enabled.data or []) for key in current}
            return _render_settings(form, posted, 400)
        if service.update_preferences(current_user, form.enabled.data or [], ip=request.remote_addr):
            db.session.commit()
        flash(_("Your notification settings are saved."), "success")
        return redirect(url_for(".settings"), 303)
    return _render_settings(form, current)


def _render_settings(form: PreferencesForm, values: dict[str, bool], status: int = 200):
    channels = service.channels_of(current_user)
    return render_template(
        "notifications/settings.html", form=form, rows=_grid(values),
        channels=[(channel, service.CHANNELS[channel]) for channel in channels],
        both_addresses=service.EMAIL in channels and service.SMS in channels,
    ), status
