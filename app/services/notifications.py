"""Telling people what happened to an application: one messenger for the in-app feed (the bell) and
the message channels (e-mail, or SMS/Zalo for people who only have a phone).

Like Hypha's messenger, the decisions live in one place: ``RULES`` says, for each workflow action,
who is concerned and what they are told. ``application_transition`` (called by the workflow inside
the transaction of every state change) and ``comment_added`` fan an event out:

- each recipient gets at most one message per event (a member who is also staff is told once),
  and the person who acted is never told about their own action;
- the text is written in the recipient's language (``user.locale``), with the application number,
  the programme's name in that language and a link to the page they work from;
- an in-app notification (its link a path inside the portal) and one outside message: e-mail when
  the person has an address, else SMS. Each can be switched off per kind of message
  (``NotificationPreference``; no row means on). A person with both an address and a phone who
  switches e-mail off for a kind gets that kind by SMS instead.

Outside messages go through ``messaging.send_after_commit``: nothing leaves if the change rolls back,
and with ``JOB_QUEUE=rq`` an RQ worker sends them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from werkzeug.routing import BuildError

from app.extensions import db
from app.models.application import Application, ApplicationActivity, ApplicationStatus, Visibility
from app.models.notification import Notification, NotificationPreference
from app.models.types import utcnow
from app.models.user import Role, User, UserRole
from app.services import audit, messaging
from app.services.formatting import format_vnd


def N_(message: str) -> str:
    """Mark a message for extraction; it is translated later, in each recipient's language."""
    return message


# Kinds of message and channels ---------------------------------------------------------------------

PROGRESS = "application_progress"
DECISION = "application_decision"
REVIEW_TASKS = "review_tasks"
COMMENTS = "comments"

#: The kinds of message a person can switch on or off, in the order the settings page shows them.
KINDS: dict[str, tuple] = {
    PROGRESS: (_l("Progress of my applications"),
               _l("Sent, being reviewed, more documents needed, withdrawn, completed.")),
    DECISION: (_l("Decisions on my applications"), _l("Approved, not approved, support cancelled.")),
    REVIEW_TASKS: (_l("Review work"),
                   _l("New applications to review, documents sent back, recommendations waiting for a "
                      "decision, decisions on applications you reviewed.")),
    COMMENTS: (_l("Comments"), _l("New comments on an application.")),
}
BUSINESS_KINDS = (PROGRESS, DECISION)
STAFF_KINDS = (REVIEW_TASKS,)

IN_APP = "in_app"
EMAIL = "email"
SMS = "sms"
CHANNELS: dict[str, object] = {IN_APP: _l("In the portal"), EMAIL: _l("E-mail"), SMS: _l("SMS/Zalo")}

#: Which page a link opens: the business's application page or the staff review page.
BUSINESS = "business"
STAFF = "staff"
BUSINESS_ENDPOINT = "applications.detail"
STAFF_ENDPOINT = "review.application"

#: Longest note or comment quoted in an SMS (the rest is on the page behind the link).
SMS_NOTE_LENGTH = 100
#: Longest note or comment quoted in the portal and in e-mails.
NOTE_LENGTH = 1000


def kind_label(kind: str):
    """The name of a kind of message, for people (unknown kinds show as they are)."""
    return KINDS[kind][0] if kind in KINDS else kind


def channels_of(user: User) -> list[str]:
    """The channels this person can be reached on: always the portal, e-mail and SMS if they have them."""
    channels = [IN_APP]
    if user.email:
        channels.append(EMAIL)
    if user.phone:
        channels.append(SMS)
    return channels


def kinds_for(user: User) -> list[str]:
    """The kinds of message that concern this person (staff get review work, businesses their applications)."""
    kinds: list[str] = []
    if not user.is_staff or user.has_role(Role.BUSINESS) or user.memberships:
        kinds.extend(BUSINESS_KINDS)
    if user.is_staff:
        kinds.extend(STAFF_KINDS)
    kinds.append(COMMENTS)
    return kinds


# Who is concerned --------------------------------------------------------------------------------


@dataclass
class Event:
    """Something that happened to an application, as the audiences below see it."""

    application: Application
    actor: User
    action: str
    note: str | None = None


def _active_with_role(role: Role) -> list[User]:
    """Every active, confirmed user holding ``role`` (ordered, so messages go out in a stable order)."""
    return list(db.session.scalars(
        select(User).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == role, User.active.is_(True), User.confirmed_at.is_not(None))
        .order_by(User.id)
    ))


def members(event: Event) -> list[User]:
    """Everyone in the applying organisation."""
    return [membership.user for membership in event.application.organisation.memberships]


def _user(user_id: int | None) -> User | None:
    """By id rather than through the relationship, which may still hold the value from before a change."""
    return db.session.get(User, user_id) if user_id is not None else None


def reviewer_in_charge(event: Event) -> list[User]:
    """The assigned reviewer; without one, every reviewer (someone has to pick it up)."""
    reviewer = _user(event.application.reviewer_id)
    return [reviewer] if reviewer is not None else _active_with_role(Role.REVIEWER)


def assigned_reviewer(event: Event) -> list[User]:
    """The assigned reviewer only (nobody when none is assigned)."""
    reviewer = _user(event.application.reviewer_id)
    return [reviewer] if reviewer is not None else []


def approvers(event: Event) -> list[User]:
    """Every approver (the recommender is the actor, so is left out anyway)."""
    return _active_with_role(Role.APPROVER)


def _last_recommender(application: Application) -> User | None:
    """Who recommended the application last (``send_back`` has already cleared ``recommended_by``)."""
    return _user(db.session.scalar(
        select(ApplicationActivity.actor_id)
        .where(ApplicationActivity.application_id == application.id, ApplicationActivity.action == "recommend")
        .order_by(ApplicationActivity.created_at.desc(), ApplicationActivity.id.desc())
        .limit(1)
    ))


def reviewers_of_recommendation(event: Event) -> list[User]:
    """The reviewer who recommended it and the assigned reviewer (usually the same person)."""
    application = event.application
    recommender = _user(application.recommended_by_id) or _last_recommender(application)
    return [user for user in (recommender, _user(application.reviewer_id)) if user is not None]


# What they are told ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Notice:
    """What one audience is told about one event.

    ``headline`` is the subject and the first line; ``detail`` a fixed second line; ``note`` quotes the
    reason or comment (only when there is one). Placeholders: ``number``, ``programme``, ``organisation``,
    ``actor``, ``approved``, ``recommended``, ``paid``, ``note``.
    """

    audience: Callable[[Event], Iterable[User]]
    side: str
    kind: str
    headline: str
    detail: str | None = None
    note: str | None = None


#: The whole fan-out. Read it as: after ``action``, ``audience`` is told ``headline``. The first notice that
#: reaches a person wins (members before staff); the actor is always left out.
RULES: dict[str, tuple[Notice, ...]] = {
    "submit": (
        Notice(members, BUSINESS, PROGRESS,
               N_("%(actor)s sent application #%(number)s to “%(programme)s”."),
               N_("The department will review it. We will let you know when there is news.")),
        Notice(reviewer_in_charge, STAFF, REVIEW_TASKS,
               N_("New application #%(number)s to “%(programme)s” from %(organisation)s."),
               N_("It is waiting for review.")),
    ),
    "start_review": (
        Notice(members, BUSINESS, PROGRESS,
               N_("Application #%(number)s to “%(programme)s” is being reviewed."),
               N_("A reviewer at the department has started looking at it.")),
    ),
    "request_info": (
        Notice(members, BUSINESS, PROGRESS,
               N_("Application #%(number)s to “%(programme)s” needs more documents."),
               N_("Add what is asked for, then send it from the application page."),
               N_("What the reviewer asks: %(note)s")),
    ),
    "resubmit": (
        Notice(reviewer_in_charge, STAFF, REVIEW_TASKS,
               N_("%(organisation)s sent the additional documents for application #%(number)s (“%(programme)s”)."),
               N_("It is back in review.")),
    ),
    "recommend": (
        Notice(approvers, STAFF, REVIEW_TASKS,
               N_("Application #%(number)s (“%(programme)s”, %(organisation)s) is recommended for approval: "
                  "%(recommended)s."),
               N_("Recommended by %(actor)s. It is waiting for an approver's decision."),
               N_("Reviewer's note: %(note)s")),
    ),
    "send_back": (
        Notice(reviewers_of_recommendation, STAFF, REVIEW_TASKS,
               N_("Application #%(number)s (“%(programme)s”) was sent back to review."),
               N_("Sent back by %(actor)s."),
               N_("Reason: %(note)s")),
    ),
    "approve": (
        Notice(members, BUSINESS, DECISION,
               N_("Application #%(number)s to “%(programme)s” is approved: %(approved)s."),
               N_("When the project is done, upload the invoice and the acceptance record on the application "
                  "page.")),
        Notice(reviewers_of_recommendation, STAFF, REVIEW_TASKS,
               N_("Application #%(number)s (“%(programme)s”) was approved: %(approved)s."),
               N_("Approved by %(actor)s.")),
    ),
    "reject": (
        Notice(members, BUSINESS, DECISION,
               N_("Application #%(number)s to “%(programme)s” was not approved."),
               None,
               N_("Reason: %(note)s")),
        Notice(reviewers_of_recommendation, STAFF, REVIEW_TASKS,
               N_("Application #%(number)s (“%(programme)s”) was rejected."),
               N_("Rejected by %(actor)s."),
               N_("Reason: %(note)s")),
    ),
    "withdraw": (
        Notice(members, BUSINESS, PROGRESS,
               N_("%(actor)s withdrew application #%(number)s to “%(programme)s”.")),
        Notice(assigned_reviewer, STAFF, REVIEW_TASKS,
               N_("%(organisation)s withdrew application #%(number)s (“%(programme)s”)."),
               N_("Nothing more to do on it.")),
    ),
    "complete": (
        Notice(members, BUSINESS, PROGRESS,
               N_("Application #%(number)s to “%(programme)s” is completed."),
               N_("Amount paid: %(paid)s. Thank you for taking part.")),
    ),
    "cancel": (
        Notice(members, BUSINESS, DECISION,
               N_("The support for application #%(number)s (“%(programme)s”) was cancelled."),
               None,
               N_("Reason: %(note)s")),
    ),
}

#: Comments: shared ones written by staff, ones written by the business, and staff-only notes.
STAFF_COMMENT = (
    Notice(members, BUSINESS, COMMENTS,
           N_("New message from the department about application #%(number)s (“%(programme)s”)."),
           None, N_("“%(note)s”")),
    Notice(assigned_reviewer, STAFF, COMMENTS,
           N_("%(actor)s wrote to the business about application #%(number)s (“%(programme)s”)."),
           None, N_("“%(note)s”")),
)
BUSINESS_COMMENT = (
    Notice(reviewer_in_charge, STAFF, COMMENTS,
           N_("%(organisation)s wrote about application #%(number)s (“%(programme)s”)."),
           None, N_("“%(note)s”")),
)
INTERNAL_COMMENT = (
    Notice(assigned_reviewer, STAFF, COMMENTS,
           N_("%(actor)s left a staff-only note on application #%(number)s (“%(programme)s”)."),
           None, N_("“%(note)s”")),
)
#: Assignment from the staff queue: the reviewer now in charge.
ASSIGNED = (
    Notice(assigned_reviewer, STAFF, REVIEW_TASKS,
           N_("%(actor)s put you in charge of application #%(number)s (“%(programme)s”, %(organisation)s).")),
)


# Fan-out -----------------------------------------------------------------------------------------


def application_transition(application: Application, transition, actor: User, note: str | None = None) -> None:
    """Tell everyone concerned by ``transition`` (called by the workflow, inside its transaction)."""
    notices = RULES.get(transition.action, ())
    if transition.action == "withdraw" and transition.source == ApplicationStatus.DRAFT:
        return  # a draft nobody sent: nothing happened that anyone needs to hear about
    if transition.internal:  # the business never hears of internal steps, whatever the table says
        notices = tuple(notice for notice in notices if notice.side != BUSINESS)
    _fan_out(Event(application, actor, transition.action, note), notices)


def comment_added(application: Application, activity: ApplicationActivity, actor: User) -> None:
    """Tell the other side about a comment; staff-only notes reach the assigned reviewer only."""
    if activity.visibility == Visibility.INTERNAL:
        notices = INTERNAL_COMMENT
    elif application.organisation.member_role(actor) is not None:
        notices = BUSINESS_COMMENT
    else:
        notices = STAFF_COMMENT
    _fan_out(Event(application, actor, "comment", activity.body), notices)


def reviewer_assigned(application: Application, actor: User) -> None:
    """Tell the reviewer just put in charge of ``application`` (nothing when they took it themselves)."""
    _fan_out(Event(application, actor, "assign"), ASSIGNED)


def _fan_out(event: Event, notices: Iterable[Notice]) -> None:
    plan: list[tuple[User, Notice]] = []
    seen: set[int] = {event.actor.id}
    for notice in notices:
        for user in notice.audience(event):
            if user.id in seen or not user.is_active:
                continue
            seen.add(user.id)
            plan.append((user, notice))
    if not plan:
        return
    disabled = _disabled_channels([user.id for user, _ in plan])
    for user, notice in plan:
        _deliver(event, user, notice, disabled)


def _disabled_channels(user_ids: list[int]) -> set[tuple[int, str, str]]:
    """(user, kind, channel) switched off, for all recipients of an event in one query."""
    rows = db.session.execute(
        select(NotificationPreference.user_id, NotificationPreference.kind, NotificationPreference.channel)
        .where(NotificationPreference.user_id.in_(user_ids), NotificationPreference.enabled.is_(False))
    )
    return {(user_id, kind, channel) for user_id, kind, channel in rows}


def _language(user: User) -> str:
    languages = current_app.config["LANGUAGES"]
    return user.locale if user.locale in languages else current_app.config["BABEL_DEFAULT_LOCALE"]


def application_number(application: Application) -> str:
    """The number people quote (``#`` is added by the texts)."""
    return str(application.id)


def _link(application: Application, side: str) -> str:
    """An absolute link to the page the recipient works from; the home page if that page does not exist."""
    try:
        if side == BUSINESS:
            return messaging.portal_url(BUSINESS_ENDPOINT, org_id=application.organisation_id, app_id=application.id)
        return messaging.portal_url(STAFF_ENDPOINT, app_id=application.id)
    except BuildError:
        current_app.logger.warning("No %s page for application links yet; linking to the home page", side)
        return messaging.portal_url("main.index")


def relative(url: str) -> str:
    """The path (and query) of an absolute portal link: what the in-app feed stores."""
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _shorten(text: str, limit: int, one_line: bool = False) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis; ``one_line`` folds line breaks (SMS)."""
    text = " ".join(text.split()) if one_line else text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _values(event: Event, locale: str) -> dict[str, str]:
    application = event.application
    names = application.programme.name or {}
    return {
        "number": application_number(application),
        "programme": names.get(locale) or names.get("vi") or application.programme.code,
        "organisation": application.organisation.name,
        "actor": event.actor.full_name,
        "approved": format_vnd(application.approved_vnd),
        "recommended": format_vnd(application.recommended_vnd),
        "paid": format_vnd(application.disbursed_vnd),
    }


def _deliver(event: Event, user: User, notice: Notice, disabled: set[tuple[int, str, str]]) -> None:
    """Write one person's notification and queue their outside message, in their language."""
    locale = _language(user)
    link = _link(event.application, notice.side)
    with force_locale(locale):
        values = _values(event, locale)
        headline = gettext(notice.headline, **values)
        detail = gettext(notice.detail, **values) if notice.detail else None
        note = note_sms = None
        if notice.note and event.note:
            note = gettext(notice.note, note=_shorten(event.note, NOTE_LENGTH))
            note_sms = gettext(notice.note, note=_shorten(event.note, SMS_NOTE_LENGTH, one_line=True))
        lines = [line for line in (detail, note) if line]
        if (user.id, notice.kind, IN_APP) not in disabled:
            db.session.add(Notification(user_id=user.id, kind=notice.kind, subject=_shorten(headline, 255),
                                        body="\n".join(lines), link=relative(link)[:255],
                                        application_id=event.application.id))
        channel = _outside_channel(user, notice.kind, disabled)
        if channel == EMAIL:
            body = "\n\n".join([
                gettext("Hello %(name)s,", name=user.full_name),
                "\n".join([headline, *lines]),
                gettext("Open the application: %(link)s", link=link),
                gettext("You can choose which messages you receive: %(link)s",
                        link=messaging.portal_url("notifications.settings")),
            ])
            messaging.send_after_commit(subject=headline, body=body, email=user.email)
        elif channel == SMS:
            sms = " ".join(part for part in (f"{current_app.config['PORTAL_NAME']}:", headline, note_sms, link) if part)
            messaging.send_after_commit(subject=headline, body=sms, phone=user.phone)


def _outside_channel(user: User, kind: str, disabled: set[tuple[int, str, str]]) -> str | None:
    """E-mail when the person has an address and wants it for this kind, else SMS on the same terms."""
    if user.email and (user.id, kind, EMAIL) not in disabled:
        return EMAIL
    if user.phone and (user.id, kind, SMS) not in disabled:
        return SMS
    return None


# The feed and the settings -------------------------------------------------------------------------


def unread_count(user: User) -> int:
    """Unread notifications of ``user`` (one COUNT on ix_notification_user_unread)."""
    return db.session.scalar(
        select(func.count(Notification.id)).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    ) or 0


def feed_query(user: User):
    """The user's notifications, newest first (for pagination)."""
    return (select(Notification).where(Notification.user_id == user.id)
            .order_by(Notification.created_at.desc(), Notification.id.desc()))


def own_notification(user: User, notification_id: int) -> Notification | None:
    """The notification if it belongs to ``user``; None otherwise (the view answers 404 either way)."""
    return db.session.scalar(
        select(Notification).where(Notification.id == notification_id, Notification.user_id == user.id)
    )


def mark_read(notification: Notification) -> None:
    """Mark one notification read (kept as first read)."""
    if notification.read_at is None:
        notification.read_at = utcnow()


def mark_all_read(user: User) -> int:
    """Mark every unread notification of ``user`` read; returns how many there were."""
    result = db.session.execute(
        update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow()).execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def preference_key(kind: str, channel: str) -> str:
    """How a (kind, channel) pair is written in forms and in the audit trail."""
    return f"{kind}.{channel}"


def preferences(user: User) -> dict[str, bool]:
    """Every (kind, channel) this person can set, ``kind.channel`` → on/off (no row means on)."""
    stored = {(p.kind, p.channel): p.enabled for p in db.session.scalars(
        select(NotificationPreference).where(NotificationPreference.user_id == user.id))}
    return {preference_key(kind, channel): stored.get((kind, channel), True)
            for kind in kinds_for(user) for channel in channels_of(user)}


def update_preferences(user: User, enabled: Iterable[str], ip: str | None = None) -> bool:
    """Switch on exactly the ``kind.channel`` keys in ``enabled`` (among those the user can set).

    Writes an audit event ``notification.preferences_update`` with what changed; returns whether
    anything did. The caller commits.
    """
    wanted = set(enabled)
    before = preferences(user)
    after = {key: key in wanted for key in before}
    if before == after:
        return False
    rows = {(p.kind, p.channel): p for p in db.session.scalars(
        select(NotificationPreference).where(NotificationPreference.user_id == user.id))}
    for key, value in after.items():
        if before[key] == value:
            continue
        kind, channel = key.split(".", 1)
        row = rows.get((kind, channel))
        if row is None:
            db.session.add(NotificationPreference(user_id=user.id, kind=kind, channel=channel, enabled=value))
        else:
            row.enabled = value
    changed_before, changed_after = audit.changed_fields(before, after)
    audit.record("notification.preferences_update", "user", user.id, actor=user, ip=ip,
                 before=changed_before, after=changed_after)
    return True
