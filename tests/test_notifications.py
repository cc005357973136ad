"""Notifications: who is told about each transition and comment, in which language and on which channel,
the per-user settings, and the pages behind the bell (the feed, marking read, the settings grid)."""

from __future__ import annotations

import pytest
from flask import render_template_string, template_rendered
from flask_babel import refresh
from flask_login import login_user
from sqlalchemy import select

from app.blueprints.notifications.routes import inject_unread_count
from app.extensions import db
from app.models import Role
from app.models.application import ActivityKind, ApplicationActivity, Visibility
from app.models.audit import AuditEvent
from app.models.notification import Notification, NotificationPreference
from app.models.types import utcnow
from app.services import notifications
from tests.application_helpers import (
    add_member,
    application_url,
    login,
    make_user,
    upload_dir,  # noqa: F401  (fixture)
)
from tests.factories import UserFactory
from tests.notifications_helpers import (
    REASON,
    act,
    draft,
    forget_everything,
    inbox,
    make_cast,
    messages_to,
    run,
)
from tests.test_admin import count_queries

MEMBERS = {"owner", "member", "phone_member"}

#: action case → (steps before it, the step, who is told).
CASES = {
    "submit": ([], "submit", {"member", "phone_member", "reviewer", "other_reviewer"}),
    "start_review": (["submit"], "start_review", MEMBERS),
    "request_info": (["submit", "start_review"], "request_info", MEMBERS),
    "resubmit": (["submit", "start_review", "request_info"], "resubmit", {"reviewer"}),
    "recommend": (["submit", "start_review"], "recommend", {"approver", "other_approver"}),
    "send_back": (["submit", "start_review", "recommend"], "send_back", {"reviewer"}),
    "approve": (["submit", "start_review", "recommend"], "approve", MEMBERS | {"reviewer"}),
    "reject_by_approver": (["submit", "start_review", "recommend"], ("reject", "approver"), MEMBERS | {"reviewer"}),
    "reject_by_reviewer": (["submit", "start_review"], "reject", MEMBERS),
    "withdraw_before_review": (["submit"], "withdraw", {"member", "phone_member"}),
    "withdraw_in_review": (["submit", "start_review"], "withdraw", {"member", "phone_member", "reviewer"}),
    "complete": (["submit", "start_review", "recommend", "approve"], "complete", MEMBERS),
    "cancel": (["submit", "start_review", "recommend", "approve"], "cancel", MEMBERS),
}


@pytest.fixture
def cast(upload_dir):  # noqa: F811
    return make_cast()


def _expected_channel(user) -> str:
    return "email" if user.email else "sms"


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_each_transition_reaches_exactly_the_people_it_concerns(cast, outbox, case):
    before, step, told = CASES[case]
    application = run(cast, draft(cast), before)
    forget_everything(outbox)
    run(cast, application, [step])
    for name, user in cast.people().items():
        expected = 1 if name in told else 0
        assert len(inbox(user)) == expected, f"{case}: {name} has {len(inbox(user))} notifications"
        sent = messages_to(outbox, user)
        assert len(sent) == expected, f"{case}: {name} got {len(sent)} messages"
        if expected:
            assert sent[0].channel == _expected_channel(user)
            assert inbox(user)[0].application_id == application.id
            assert f"#{application.id}" in inbox(user)[0].subject
    assert len(outbox) == len(told), "nobody outside the cast was written to"


def test_the_actor_is_never_told_about_their_own_action(cast, outbox):
    application = run(cast, draft(cast), ["submit"])
    assert inbox(cast.owner) == [] and messages_to(outbox, cast.owner) == []
    new_work = [n.subject for n in inbox(cast.reviewer)]
    act(cast, application, "start_review")
    assert [n.subject for n in inbox(cast.reviewer)] == new_work, "told of the new application, not of their own start"
    assert len(messages_to(outbox, cast.reviewer)) == 1


def test_a_withdrawn_draft_tells_nobody(cast, outbox):
    application = draft(cast)
    act(cast, application, "withdraw")
    assert db.session.scalar(select(db.func.count(Notification.id))) == 0
    assert outbox == []


def test_the_assigned_reviewer_alone_gets_new_work_once_there_is_one(cast, outbox):
    application = run(cast, draft(cast), ["submit", "start_review", "request_info"])
    application.reviewer_id = cast.other_reviewer.id
    db.session.commit()
    forget_everything(outbox)
    act(cast, application, "resubmit")
    assert len(inbox(cast.other_reviewer)) == 1 and inbox(cast.reviewer) == []


def test_a_member_who_is_also_the_reviewer_is_told_once(cast, outbox):
    add_member(cast.business.organisation, cast.reviewer)
    application = run(cast, draft(cast), ["submit"])
    assert len(inbox(cast.reviewer)) == 1
    assert len(messages_to(outbox, cast.reviewer)) == 1
    assert inbox(cast.reviewer)[0].kind == notifications.PROGRESS, "the member's message comes first"
    assert application.id


def test_a_recommendation_by_another_reviewer_reaches_both_reviewers(cast, outbox):
    application = run(cast, draft(cast), ["submit", "start_review", ("recommend", "other_reviewer")])
    forget_everything(outbox)
    act(cast, application, "send_back")
    assert len(inbox(cast.reviewer)) == 1 and len(inbox(cast.other_reviewer)) == 1, "assigned and recommender"
    act(cast, application, "recommend")
    forget_everything(outbox)
    act(cast, application, "approve")
    assert len(inbox(cast.reviewer)) == 1 and inbox(cast.other_reviewer) == [], "only the latest recommender"


def test_deactivated_people_are_not_written_to(cast, outbox):
    cast.member.active = False
    cast.other_reviewer.active = False
    db.session.commit()
    run(cast, draft(cast), ["submit"])
    assert inbox(cast.member) == [] and messages_to(outbox, cast.member) == []
    assert inbox(cast.other_reviewer) == [] and len(inbox(cast.reviewer)) == 1


def test_messages_quote_the_reason_and_the_amount(cast, outbox):
    application = run(cast, draft(cast), ["submit", "start_review"])
    forget_everything(outbox)
    act(cast, application, "request_info")
    assert REASON in inbox(cast.member)[0].body
    assert REASON in messages_to(outbox, cast.member)[0].body
    sms = messages_to(outbox, cast.phone_member)[0]
    assert sms.channel == "sms" and REASON in sms.body and f"#{application.id}" in sms.body
    assert "/" in sms.body.split()[-1], "the SMS ends with its link"
    act(cast, application, "resubmit")
    act(cast, application, "recommend", amount_vnd=15_000_000)
    forget_everything(outbox)
    act(cast, application, "approve", amount_vnd=12_000_000)
    assert "12.000.000\u00a0₫" in inbox(cast.member)[0].subject
    assert "12.000.000\u00a0₫" in messages_to(outbox, cast.member)[0].subject


def test_internal_notes_of_a_recommendation_never_reach_the_business(cast, outbox):
    application = run(cast, draft(cast), ["submit", "start_review"])
    forget_everything(outbox)
    act(cast, application, "recommend", note="Nội bộ: doanh nghiệp có rủi ro.")
    for name in MEMBERS:
        assert inbox(getattr(cast, name)) == []
    assert all("Nội bộ" not in m.body for person in MEMBERS for m in messages_to(outbox, getattr(cast, person)))
    assert "Nội bộ" in inbox(cast.approver)[0].body


def test_text_is_in_the_recipients_language(upload_dir, outbox):  # noqa: F811
    cast = make_cast(member_locale="en")
    application = run(cast, draft(cast), ["submit"])
    forget_everything(outbox)
    act(cast, application, "start_review")
    english = inbox(cast.member)[0]
    programme_en, programme_vi = cast.programme.name["en"], cast.programme.name["vi"]
    assert english.subject == f"Application #{application.id} to “{programme_en}” is being reviewed."
    email = messages_to(outbox, cast.member)[0]
    assert email.subject == english.subject
    assert email.body.startswith(f"Hello {cast.member.full_name},")
    vietnamese = inbox(cast.owner)[0]
    assert programme_vi in vietnamese.subject and programme_en not in vietnamese.subject


def test_links_are_paths_inside_the_portal(app, cast, outbox):
    application = run(cast, draft(cast), ["submit"])
    staff_link = inbox(cast.reviewer)[0].link
    business_link = inbox(cast.member)[0].link
    assert staff_link == f"/review/applications/{application.id}"
    if "applications.detail" in app.view_functions:
        assert business_link == application_url(application)
    else:  # the business pages are not there yet: the home page rather than a broken link
        assert business_link == "/"
    base = app.config["BASE_URL"].rstrip("/")
    assert f"{base}{staff_link}" in messages_to(outbox, cast.reviewer)[0].body
    for notification in db.session.scalars(select(Notification)):
        assert notification.link.startswith("/") and not notification.link.startswith("//")


def test_the_reviewer_put_in_charge_is_told(cast, outbox):
    application = run(cast, draft(cast), ["submit"])
    forget_everything(outbox)
    assert application.reviewer is None, "loaded before the change, as a view would have it"
    application.reviewer_id = cast.other_reviewer.id
    notifications.reviewer_assigned(application, cast.approver)
    db.session.commit()
    told = {name for name, user in cast.people().items() if inbox(user)}
    assert told == {"other_reviewer"}
    assert len(messages_to(outbox, cast.other_reviewer)) == 1
    application.reviewer_id = cast.reviewer.id
    notifications.reviewer_assigned(application, cast.reviewer)
    db.session.commit()
    assert inbox(cast.reviewer) == [], "taking it oneself is no news"


# Preferences ------------------------------------------------------------------------------------------


def _switch_off(user, kind: str, channel: str) -> None:
    db.session.add(NotificationPreference(user_id=user.id, kind=kind, channel=channel, enabled=False))
    db.session.commit()


def test_switching_off_email_for_one_kind_stops_only_that(cast, outbox):
    _switch_off(cast.member, notifications.PROGRESS, "email")
    application = run(cast, draft(cast), ["submit", "start_review"])
    assert len(inbox(cast.member)) == 2, "still told in the portal"
    assert messages_to(outbox, cast.member) == [], "no e-mail about progress"
    run(cast, application, ["recommend", "approve"])
    assert [m.channel for m in messages_to(outbox, cast.member)] == ["email"], "decisions still come by e-mail"


def test_switching_off_the_portal_for_one_kind_keeps_the_email(cast, outbox):
    _switch_off(cast.member, notifications.PROGRESS, "in_app")
    application = run(cast, draft(cast), ["submit", "start_review"])
    assert inbox(cast.member) == []
    assert len(messages_to(outbox, cast.member)) == 2
    run(cast, application, ["recommend", "approve"])
    assert [n.kind for n in inbox(cast.member)] == [notifications.DECISION]


def test_switching_off_sms_for_a_phone_only_member(cast, outbox):
    _switch_off(cast.phone_member, notifications.DECISION, "sms")
    application = run(cast, draft(cast), ["submit", "start_review", "recommend", "approve"])
    assert [m.subject for m in messages_to(outbox, cast.phone_member)] == [
        n.subject for n in inbox(cast.phone_member) if n.kind == notifications.PROGRESS]
    assert len(inbox(cast.phone_member)) == 3 and application.id


def test_someone_with_email_and_phone_gets_sms_only_when_email_is_off(upload_dir, outbox):  # noqa: F811
    cast = make_cast()
    both = add_member(cast.business.organisation, make_user(Role.BUSINESS, phone="0987654321"))
    application = run(cast, draft(cast), ["submit"])
    assert [m.channel for m in messages_to(outbox, both)] == ["email"]
    _switch_off(both, notifications.PROGRESS, "email")
    outbox.clear()
    act(cast, application, "start_review")
    assert [(m.channel, m.to) for m in messages_to(outbox, both)] == [("sms", "0987654321")]


# Comments ------------------------------------------------------------------------------------------


def _comment(application, actor, visibility=Visibility.SHARED, body="Xin gửi thêm hoá đơn đỏ."):
    activity = ApplicationActivity(application_id=application.id, kind=ActivityKind.COMMENT, actor_id=actor.id,
                                   visibility=visibility, body=body, created_at=utcnow())
    db.session.add(activity)
    db.session.flush()
    notifications.comment_added(application, activity, actor)
    db.session.commit()


def test_a_shared_staff_comment_reaches_the_business_and_the_reviewer(cast, outbox):
    application = run(cast, draft(cast), ["submit", "start_review"])
    forget_everything(outbox)
    _comment(application, cast.approver)
    told = {name for name, user in cast.people().items() if inbox(user)}
    assert told == MEMBERS | {"reviewer"}
    assert "Xin gửi thêm hoá đơn đỏ." in inbox(cast.owner)[0].body
    assert len(outbox) == 4


def test_a_business_comment_reaches_the_reviewers(cast, outbox):
    application = run(cast, draft(cast), ["submit"])
    forget_everything(outbox)
    _comment(application, cast.owner, body="Chúng tôi đã bổ sung.")
    told = {name for name, user in cast.people().items() if inbox(user)}
    assert told == {"reviewer", "other_reviewer"}, "nobody assigned yet: every reviewer"
    act(cast, application, "start_review")
    forget_everything(outbox)
    _comment(application, cast.member, body="Còn gì nữa không?")
    told = {name for name, user in cast.people().items() if inbox(user)}
    assert told == {"reviewer"}, "once assigned, only the reviewer in charge"


def test_a_staff_only_note_reaches_the_assigned_reviewer_only(cast, outbox):
    application = run(cast, draft(cast), ["submit", "start_review"])
    forget_everything(outbox)
    _comment(application, cast.approver, Visibility.INTERNAL, body="Kiểm tra lại báo giá.")
    told = {name for name, user in cast.people().items() if inbox(user)}
    assert told == {"reviewer"}
    assert all("Kiểm tra" not in m.body for m in outbox if m.to != cast.reviewer.email)


# The bell --------------------------------------------------------------------------------------------


def _notify(user, count: int = 1, link: str = "/catalogue/", read: bool = False) -> list[Notification]:
    items = [Notification(user_id=user.id, kind=notifications.PROGRESS, subject=f"Tin {i}", body="", link=link,
                          read_at=utcnow() if read else None) for i in range(count)]
    db.session.add_all(items)
    db.session.commit()
    return items


def test_the_bell_count_costs_one_query_and_nothing_for_visitors(app):
    user = UserFactory()
    _notify(user, 3)
    _notify(user, 2, read=True)
    _notify(UserFactory(), 4)
    with app.test_request_context():
        with count_queries() as statements:
            assert inject_unread_count() == {"unread_notification_count": 0}
        assert statements == []
        login_user(user)
        with count_queries() as statements:
            assert inject_unread_count() == {"unread_notification_count": 3}
        assert len(statements) == 1


def test_pages_receive_the_unread_count(app, client):
    user = UserFactory()
    _notify(user, 2)
    login(client, user)
    seen = []

    def record(_sender, template, context, **_extra):
        seen.append(context.get("unread_notification_count"))

    template_rendered.connect(record, app)
    try:
        client.get("/catalogue/")
    finally:
        template_rendered.disconnect(record, app)
    assert seen and seen[0] == 2


def test_the_bell_partial(app):
    user = UserFactory(locale="en")
    _notify(user, 5)
    with app.test_request_context():
        assert render_template_string('{% include "notifications/_bell.html" %}').strip() == ""
    with app.test_request_context():
        login_user(user)
        refresh()  # Flask-Babel chose the language before the login; choose again, as a new request would
        html = render_template_string('{% include "notifications/_bell.html" %}')
    assert 'href="/notifications/"' in html
    assert '<span class="badge" aria-hidden="true">5</span>' in html
    assert "5 unread" in html


# The feed ------------------------------------------------------------------------------------------------


def test_the_feed_is_newest_first_with_unread_highlighted(client):
    user = UserFactory(locale="en")
    old = _notify(user, 1, read=True)[0]
    new = _notify(user, 1)[0]
    _notify(UserFactory(), 1)
    login(client, user)
    response = client.get("/notifications/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.index(f'id="notification-{new.id}"') < html.index(f'id="notification-{old.id}"')
    assert html.count("notification-unread") == 1
    assert f'action="/notifications/{new.id}/read"' in html
    assert f'href="/catalogue/">{old.subject}' in html
    assert "Mark all as read" in html


def test_the_feed_is_paginated(client):
    user = UserFactory()
    _notify(user, 25)
    login(client, user)
    first = client.get("/notifications/").get_data(as_text=True)
    second = client.get("/notifications/?page=2").get_data(as_text=True)
    assert first.count('class="card notification') == 20
    assert second.count('class="card notification') == 5
    assert client.get("/notifications/?page=99999999").status_code == 200


def test_opening_a_notification_marks_it_read_and_follows_its_link(client):
    user = UserFactory()
    item = _notify(user, 1, link="/catalogue/?page=2")[0]
    login(client, user)
    response = client.post(f"/notifications/{item.id}/read", data={})
    assert response.status_code == 303
    assert response.headers["Location"] == "/catalogue/?page=2"
    assert db.session.get(Notification, item.id).read_at is not None


@pytest.mark.parametrize("link", ["https://evil.example/phish", "//evil.example/", "/\\evil.example", None,
                                  "javascript:alert(1)"])
def test_a_link_that_leaves_the_portal_is_never_followed(client, link):
    user = UserFactory()
    item = _notify(user, 1, link=link)[0]
    login(client, user)
    response = client.post(f"/notifications/{item.id}/read", data={})
    assert response.status_code == 303
    assert response.headers["Location"] == "/notifications/"


def test_another_persons_notification_is_not_found(client):
    owner, other = UserFactory(), UserFactory()
    item = _notify(owner, 1)[0]
    login(client, other)
    assert client.post(f"/notifications/{item.id}/read", data={}).status_code == 404
    assert client.post("/notifications/999999/read", data={}).status_code == 404
    assert db.session.get(Notification, item.id).read_at is None
    assert "Tin 0" not in client.get("/notifications/").get_data(as_text=True)


def test_marking_read_needs_the_csrf_token(client):
    user = UserFactory()
    item = _notify(user, 1)[0]
    login(client, user)
    assert client.post(f"/notifications/{item.id}/read", data={}, csrf=False).status_code == 400
    assert db.session.get(Notification, item.id).read_at is None


def test_mark_all_read_touches_only_my_notifications(client):
    me, other = UserFactory(), UserFactory()
    _notify(me, 3)
    _notify(other, 2)
    login(client, me)
    response = client.post("/notifications/read-all", data={})
    assert response.status_code == 303 and response.headers["Location"] == "/notifications/"
    assert notifications.unread_count(me) == 0
    assert notifications.unread_count(other) == 2


def test_the_feed_needs_a_login(client):
    response = client.get("/notifications/")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


# Settings ------------------------------------------------------------------------------------------------


def test_settings_show_only_the_channels_a_person_has(client):
    email_user = UserFactory(locale="en")
    login(client, email_user)
    html = client.get("/notifications/settings").get_data(as_text=True)
    assert 'value="application_progress.email"' in html and ".sms" not in html
    assert "review_tasks" not in html, "a business is not offered staff messages"
    phone_user = UserFactory(email=None, phone="0901234567", locale="en")
    login(client, phone_user)
    html = client.get("/notifications/settings").get_data(as_text=True)
    assert 'value="application_progress.sms"' in html and ".email" not in html
    reviewer = UserFactory(roles=[Role.REVIEWER], locale="en")
    login(client, reviewer)
    html = client.get("/notifications/settings").get_data(as_text=True)
    assert 'value="review_tasks.email"' in html and 'value="comments.in_app"' in html
    assert "application_progress" not in html


def test_saving_settings_stores_the_choices_and_audits_them(client):
    user = UserFactory()
    login(client, user)
    everything = list(notifications.preferences(user))
    kept = [key for key in everything if key != "application_progress.email"]
    response = client.post("/notifications/settings", data={"enabled": kept})
    assert response.status_code == 303
    assert notifications.preferences(user)["application_progress.email"] is False
    assert all(value for key, value in notifications.preferences(user).items() if key in kept)
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "notification.preferences_update")).one()
    assert event.actor_id == user.id
    assert event.before == {"application_progress.email": True}
    assert event.after == {"application_progress.email": False}
    html = client.get("/notifications/settings").get_data(as_text=True)
    assert 'value="application_progress.email" id="pref-application_progress-email">' in html
    # Switching it on again updates the same row; saving unchanged writes no new audit event.
    client.post("/notifications/settings", data={"enabled": everything})
    client.post("/notifications/settings", data={"enabled": everything})
    assert notifications.preferences(user)["application_progress.email"] is True
    assert db.session.scalar(select(db.func.count(NotificationPreference.id))) == 1
    assert db.session.scalar(select(db.func.count(AuditEvent.id)).where(
        AuditEvent.action == "notification.preferences_update")) == 2


def test_unticking_everything_is_allowed(client):
    user = UserFactory()
    login(client, user)
    assert client.post("/notifications/settings", data={}).status_code == 303
    assert not any(notifications.preferences(user).values())


def test_an_unknown_setting_is_refused_without_losing_the_ticks(client):
    user = UserFactory(locale="en")
    login(client, user)
    response = client.post("/notifications/settings",
                           data={"enabled": ["comments.in_app", "review_tasks.sms", "<script>"]})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Please check the form" in html
    assert 'value="comments.in_app" id="pref-comments-in_app" checked>' in html
    assert 'value="comments.email" id="pref-comments-email">' in html
    assert "<script>" not in html
    assert db.session.scalar(select(db.func.count(NotificationPreference.id))) == 0


def test_the_feed_has_a_small_query_budget(client):
    user = UserFactory()
    _notify(user, 20)
    login(client, user)
    with count_queries() as statements:
        assert client.get("/notifications/").status_code == 200
    assert len(statements) <= 6, statements
