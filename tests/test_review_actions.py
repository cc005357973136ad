"""The review page and every staff action through the HTTP routes: each transition allowed and what it
leaves (audit event, timeline entry, budget), each refusal (role, state, four eyes, data, budget, version),
comments, assignment and staff downloads."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Role
from app.models.application import (
    ActivityKind,
    Application,
    ApplicationActivity,
    ApplicationStatus,
    Visibility,
)
from app.models.audit import AuditEvent
from app.models.catalogue import Programme
from tests.application_helpers import (
    PDF_BYTES,
    add_document,
    login,
    make_business,
    make_programme,
    make_submitted,
    make_user,
    move_to,
    upload_dir,  # noqa: F401
)

S = ApplicationStatus
REASON = "Báo giá chưa có chữ ký của đơn vị cung cấp."


@pytest.fixture
def world(upload_dir):  # noqa: F811
    """A programme, a business with a submitted application, a reviewer and an approver (English)."""

    class World:
        pass

    w = World()
    w.programme = make_programme(code="PRG-REVIEW", budget_vnd=100_000_000)
    w.business = make_business(level=2, name="Hộ kinh doanh Cà phê Sông Trà")
    w.reviewer = make_user(Role.REVIEWER, locale="en", full_name="Reviewer Rita")
    w.approver = make_user(Role.APPROVER, locale="en", full_name="Approver An")
    w.admin = make_user(Role.ADMIN, locale="en", full_name="Admin Ada")
    w.application = make_submitted(w.business, w.programme)
    return w


def fresh(application: Application) -> Application:
    return db.session.get(Application, application.id, populate_existing=True)


def page_url(application: Application, suffix: str = "") -> str:
    return f"/review/applications/{application.id}{suffix}"


def post_action(client, application: Application, action: str, version: int | None = None, **fields):
    data = {f"{action}-version": str(version if version is not None else fresh(application).version)}
    data.update({f"{action}-{name}": value for name, value in fields.items()})
    return client.post(page_url(application, f"/actions/{action}"), data=data)


def audit_events(application: Application, action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action,
                                                            AuditEvent.object_type == "application",
                                                            AuditEvent.object_id == str(application.id))))


def activities(application: Application, kind: ActivityKind | None = None) -> list[ApplicationActivity]:
    query = select(ApplicationActivity).where(ApplicationActivity.application_id == application.id)
    if kind is not None:
        query = query.where(ApplicationActivity.kind == kind)
    return list(db.session.scalars(query.order_by(ApplicationActivity.id)))


# The page -----------------------------------------------------------------------------------------


def test_review_page_shows_the_whole_file_for_staff(client, world):
    move_to(world.application, S.IN_REVIEW, reviewer=world.reviewer)
    login(client, world.reviewer)
    client.post(page_url(world.application, "/comments"),
                data={"comment-body": "Ghi chú nội bộ: gọi lại chủ hộ.", "comment-visibility": "internal"})
    response = client.get(page_url(world.application))
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "Hộ kinh doanh Cà phê Sông Trà" in text
    assert "PRG-REVIEW" in text and "100.000.000\u00a0₫" in text  # budget and remaining
    assert "Level 2" in text  # assessment level
    assert "The organisation meets the programme" in text or "does not meet every condition" in text
    assert "Ghi chú nội bộ: gọi lại chủ hộ." in text and "Staff only" in text
    document = world.application.documents[0]
    assert f'href="/review/applications/{world.application.id}/documents/{document.id}"' in text
    assert f'action="/review/applications/{world.application.id}/actions/request_info"' in text
    assert f'action="/review/applications/{world.application.id}/actions/recommend"' in text
    assert f'action="/review/applications/{world.application.id}/actions/approve"' not in text
    assert "css/review.css" in text


def test_drafts_and_unknown_applications_are_404(client, world):
    from tests.application_helpers import make_draft

    login(client, world.reviewer)
    draft = make_draft(make_business(), world.programme)
    assert client.get(page_url(draft)).status_code == 404
    assert client.get("/review/applications/999999").status_code == 404


@pytest.mark.parametrize("suffix", ["", "/documents/1"])
def test_business_members_get_403_on_review_pages(client, world, suffix):
    login(client, world.business.user)
    assert client.get(page_url(world.application, suffix)).status_code == 403
    response = post_action(client, world.application, "start_review")
    assert response.status_code == 403
    assert fresh(world.application).status is S.SUBMITTED


# Every staff transition through HTTP --------------------------------------------------------------

#: (state before, action, who, form fields, state after)
ALLOWED = [
    (S.SUBMITTED, "start_review", "reviewer", {}, S.IN_REVIEW),
    (S.IN_REVIEW, "request_info", "reviewer", {"reason": REASON}, S.INFO_REQUESTED),
    (S.IN_REVIEW, "recommend", "reviewer", {"amount_vnd": "15.000.000", "reason": "Đủ điều kiện."}, S.RECOMMENDED),
    (S.RECOMMENDED, "send_back", "approver", {"reason": "Kiểm tra lại báo giá."}, S.IN_REVIEW),
    (S.RECOMMENDED, "approve", "approver", {"amount_vnd": "12.000.000"}, S.APPROVED),
    (S.IN_REVIEW, "reject", "reviewer", {"reason": REASON}, S.REJECTED),
    (S.INFO_REQUESTED, "reject", "reviewer", {"reason": REASON}, S.REJECTED),
    (S.RECOMMENDED, "reject", "approver", {"reason": REASON}, S.REJECTED),
    (S.APPROVED, "reject", "approver", {"reason": REASON}, S.REJECTED),
    (S.APPROVED, "complete", "reviewer", {"amount_vnd": "10.000.000"}, S.COMPLETED),
    (S.APPROVED, "cancel", "approver", {"reason": "Doanh nghiệp ngừng hoạt động."}, S.CANCELLED),
]


@pytest.mark.parametrize("state,action,who,fields,target", ALLOWED,
                         ids=[f"{a}-from-{s.value}" for s, a, _w, _f, _t in ALLOWED])
def test_every_staff_transition_through_the_page(client, world, state, action, who, fields, target):
    application = move_to(world.application, state, reviewer=world.reviewer,
                          approver=make_user(Role.APPROVER) if state is S.APPROVED else None)
    if action == "complete":
        for code in ("invoice", "acceptance"):
            add_document(application, code)
    login(client, getattr(world, who))
    before = fresh(application).version
    page = client.get(page_url(application)).get_data(as_text=True)
    assert f'/actions/{action}"' in page  # the form is offered
    response = post_action(client, application, action, **fields)
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    assert response.headers["Location"].endswith(page_url(application))
    stored = fresh(application)
    assert stored.status is target and stored.version > before
    events = audit_events(application, f"application.{action}")
    assert len(events) == 1 and events[0].actor_id == getattr(world, who).id
    entry = [a for a in activities(application, ActivityKind.TRANSITION) if a.action == action][-1]
    assert (entry.from_status, entry.to_status) == (state, target)
    assert entry.actor_id == getattr(world, who).id
    if "reason" in fields:
        assert entry.body == fields["reason"]
    followed = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Done:" in followed


def test_approval_commits_the_amount_against_the_budget(client, world):
    application = move_to(world.application, S.RECOMMENDED, reviewer=world.reviewer, amount_vnd=20_000_000)
    login(client, world.approver)
    page = client.get(page_url(application)).get_data(as_text=True)
    assert re.search(r'<input[^>]*name="approve-amount_vnd"[^>]*value="20\.000\.000"', page)  # recommended
    assert post_action(client, application, "approve", amount_vnd="18.000.000").status_code == 303
    programme = db.session.get(Programme, world.programme.id, populate_existing=True)
    assert programme.committed_vnd == 18_000_000 and fresh(application).approved_vnd == 18_000_000


def test_recommend_form_is_prefilled_with_the_requested_amount(client, world):
    application = move_to(world.application, S.IN_REVIEW, reviewer=world.reviewer)
    login(client, world.reviewer)
    page = client.get(page_url(application)).get_data(as_text=True)
    requested = f"{fresh(application).requested_vnd:,}".replace(",", ".")
    assert re.search(rf'<input[^>]*name="recommend-amount_vnd"[^>]*value="{re.escape(requested)}"', page)


# Refusals -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("state,action,who,fields", [
    (S.RECOMMENDED, "approve", "reviewer", {}),
    (S.SUBMITTED, "start_review", "approver", {}),
    (S.SUBMITTED, "start_review", "admin", {}),
    (S.APPROVED, "cancel", "reviewer", {"reason": REASON}),
    (S.RECOMMENDED, "send_back", "reviewer", {"reason": REASON}),
])
def test_a_role_that_may_not_act_gets_403(client, world, state, action, who, fields):
    application = move_to(world.application, state, reviewer=world.reviewer)
    login(client, getattr(world, who))
    before = fresh(application).version
    response = post_action(client, application, action, **fields)
    assert response.status_code == 403
    assert "You are not allowed to do this." in response.get_data(as_text=True)
    stored = fresh(application)
    assert stored.status is state and stored.version == before
    assert audit_events(application, f"application.{action}") == []


def test_business_actions_are_refused_to_staff(client, world):
    application = move_to(world.application, S.IN_REVIEW, reviewer=world.reviewer)
    login(client, world.reviewer)
    assert post_action(client, application, "withdraw").status_code == 403
    assert fresh(application).status is S.IN_REVIEW


def test_an_action_the_state_does_not_allow_is_refused_with_409(client, world):
    application = move_to(world.application, S.IN_REVIEW, reviewer=world.reviewer)
    login(client, world.reviewer)
    response = post_action(client, application, "start_review", reason="Bắt đầu lại")
    assert response.status_code == 409
    text = response.get_data(as_text=True)
    assert "This action is not possible while the application is" in text
    assert "Bắt đầu lại" in text  # what was typed is not lost
    assert fresh(application).status is S.IN_REVIEW
    assert client.post(page_url(application, "/actions/explode"), data={}).status_code == 404


def test_four_eyes_the_recommender_cannot_approve(client, world):
    both = make_user(Role.REVIEWER, Role.APPROVER, locale="en", full_name="Both Binh")
    application = move_to(world.application, S.IN_REVIEW, reviewer=both)
    login(client, both)
    assert post_action(client, application, "recommend", amount_vnd="10.000.000").status_code == 303
    page = client.get(page_url(application)).get_data(as_text=True)
    assert "four-eyes rule" in page
    assert '/actions/approve"' not in page
    response = post_action(client, application, "approve", amount_vnd="10.000.000")
    assert response.status_code == 403
    assert "another approver must decide" in response.get_data(as_text=True)
    assert fresh(application).status is S.RECOMMENDED
    login(client, world.approver)  # someone else may
    assert post_action(client, application, "approve").status_code == 303
    assert fresh(application).status is S.APPROVED


def test_missing_reason_is_400_and_keeps_the_amount(client, world):
    application = move_to(world.application, S.IN_REVIEW, reviewer=world.reviewer)
    login(client, world.reviewer)
    response = post_action(client, application, "request_info", reason="   ")
    assert response.status_code == 400
    assert "Please give a reason" in response.get_data(as_text=True)
    assert fresh(application).status is S.IN_REVIEW
    assert audit_events(application, "application.request_info") == []


def test_amount_above_the_request_is_400_with_the_typed_values_kept(client, world):
    application = move_to(world.application, S.IN_REVIEW, reviewer=world.reviewer)
    login(client, world.reviewer)
    response = post_action(client, application, "recommend", amount_vnd="999.000.000", reason="Ghi chú của tôi")
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "The recommended amount cannot be more than" in text
    assert 'value="999.000.000"' in text and "Ghi chú của tôi" in text
    response = post_action(client, application, "recommend", amount_vnd="mười triệu")
    assert response.status_code == 400 and "Enter the amount in đồng" in response.get_data(as_text=True)
    assert fresh(application).status is S.IN_REVIEW


def test_completion_without_the_documents_is_400(client, world):
    application = move_to(world.application, S.APPROVED, reviewer=world.reviewer)
    login(client, world.reviewer)
    response = post_action(client, application, "complete")
    assert response.status_code == 400
    assert "has not uploaded the invoice" in response.get_data(as_text=True)
    assert fresh(application).status is S.APPROVED


def test_budget_exceeded_is_409_with_the_message_and_the_text_kept(client, world):
    application = move_to(world.application, S.RECOMMENDED, reviewer=world.reviewer, amount_vnd=20_000_000)
    db.session.execute(Programme.__table__.update().where(Programme.id == world.programme.id)
                       .values(committed_vnd=world.programme.budget_vnd - 5_000_000))
    db.session.commit()
    login(client, world.approver)
    response = post_action(client, application, "approve", amount_vnd="20.000.000", reason="Chúc mừng!")
    assert response.status_code == 409
    text = response.get_data(as_text=True)
    assert "remaining budget cannot cover this amount" in text and "Chúc mừng!" in text
    assert fresh(application).status is S.RECOMMENDED
    assert audit_events(application, "application.approve") == []


def test_version_conflict_two_forms_with_the_same_version(app, world):
    application = move_to(world.application, S.IN_REVIEW, reviewer=world.reviewer)
    version = fresh(application).version
    first, second = app.test_client(), app.test_client()
    login(first, world.reviewer)
    login(second, make_user(Role.REVIEWER, locale="en"))
    assert post_action(first, application, "request_info", version, reason=REASON).status_code == 303
    typed = "Lý do của người thứ hai, gõ rất lâu."
    response = post_action(second, application, "reject", version, reason=typed)
    assert response.status_code == 409
    text = response.get_data(as_text=True)
    assert "This application changed meanwhile" in text
    assert typed in text  # kept in the reject form, which is still possible
    assert "Information requested" in text  # the fresh state
    assert re.search(rf'<input[^>]*name="reject-version"[^>]*value="{fresh(application).version}"', text)
    stored = fresh(application)
    assert stored.status is S.INFO_REQUESTED and audit_events(application, "application.reject") == []
    # The same text sent again on the fresh version goes through.
    assert post_action(second, application, "reject", stored.version, reason=typed).status_code == 303


def test_version_conflict_when_the_action_is_gone_keeps_the_text(app, world):
    application = move_to(world.application, S.IN_REVIEW, reviewer=world.reviewer)
    version = fresh(application).version
    first, second = app.test_client(), app.test_client()
    login(first, world.reviewer)
    login(second, make_user(Role.REVIEWER, locale="en"))
    assert post_action(first, application, "request_info", version, reason=REASON).status_code == 303
    typed = "Đề xuất hỗ trợ vì doanh nghiệp đã có kế hoạch rõ ràng."
    response = post_action(second, application, "recommend", version, amount_vnd="10.000.000", reason=typed)
    assert response.status_code == 409
    text = response.get_data(as_text=True)
    assert "What you typed" in text and typed in text


def test_stale_form_without_version_is_400(client, world):
    login(client, world.reviewer)
    response = client.post(page_url(world.application, "/actions/start_review"), data={})
    assert response.status_code == 400
    assert fresh(world.application).status is S.SUBMITTED


def test_wrong_csrf_token_is_refused(client, world):
    login(client, world.reviewer)
    response = client.post(page_url(world.application, "/actions/start_review"),
                           data={"start_review-version": str(fresh(world.application).version)}, csrf=False)
    assert response.status_code == 400
    assert fresh(world.application).status is S.SUBMITTED


# Comments -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("visibility", [Visibility.INTERNAL, Visibility.SHARED])
def test_staff_comment_with_visibility(client, world, visibility):
    login(client, world.approver)
    body = "Cần xác minh thêm số lao động.\nGọi điện trước thứ Sáu."
    response = client.post(page_url(world.application, "/comments"),
                           data={"comment-body": body, "comment-visibility": visibility.value})
    assert response.status_code == 303
    [entry] = activities(world.application, ActivityKind.COMMENT)
    assert entry.body == body and entry.visibility is visibility and entry.actor_id == world.approver.id
    [event] = audit_events(world.application, "application.comment")
    assert event.actor_id == world.approver.id and event.after["visibility"] == visibility.value
    text = client.get(page_url(world.application)).get_data(as_text=True)
    assert "Cần xác minh thêm số lao động." in text


def test_empty_or_invalid_comment_is_400(client, world):
    login(client, world.reviewer)
    response = client.post(page_url(world.application, "/comments"),
                           data={"comment-body": "  ", "comment-visibility": "internal"})
    assert response.status_code == 400 and "Write your comment first." in response.get_data(as_text=True)
    response = client.post(page_url(world.application, "/comments"),
                           data={"comment-body": "Giữ lại tôi", "comment-visibility": "everyone"})
    assert response.status_code == 400 and "Giữ lại tôi" in response.get_data(as_text=True)
    assert activities(world.application, ActivityKind.COMMENT) == []


# Assignment ---------------------------------------------------------------------------------------


def test_assign_a_reviewer(client, world):
    colleague = make_user(Role.REVIEWER, full_name="Colleague Cuong")
    login(client, world.approver)
    response = client.post(page_url(world.application, "/assign"),
                           data={"assign-reviewer": str(colleague.id),
                                 "assign-version": str(fresh(world.application).version)})
    assert response.status_code == 303
    assert fresh(world.application).reviewer_id == colleague.id
    [entry] = activities(world.application, ActivityKind.ASSIGNMENT)
    assert entry.visibility is Visibility.INTERNAL and entry.body == "Colleague Cuong"
    [event] = audit_events(world.application, "application.assign")
    assert event.before["reviewer_id"] is None and event.after["reviewer_id"] == colleague.id
    login(client, colleague)
    listed = client.get("/review/", query_string={"assigned": "me"}).get_data(as_text=True)
    assert f">#{world.application.id}</a>" in listed
    # Unassign.
    response = client.post(page_url(world.application, "/assign"),
                           data={"assign-reviewer": "", "assign-version": str(fresh(world.application).version)})
    assert response.status_code == 303 and fresh(world.application).reviewer_id is None


def test_assign_refuses_non_reviewers_and_stale_pages(client, world):
    login(client, world.reviewer)
    version = fresh(world.application).version
    response = client.post(page_url(world.application, "/assign"),
                           data={"assign-reviewer": str(world.approver.id), "assign-version": str(version)})
    assert response.status_code == 400
    response = client.post(page_url(world.application, "/assign"),
                           data={"assign-reviewer": str(world.reviewer.id), "assign-version": str(version - 1)})
    assert response.status_code == 409
    assert "This application changed meanwhile" in response.get_data(as_text=True)
    assert fresh(world.application).reviewer_id is None


# Documents ----------------------------------------------------------------------------------------


def test_staff_download_documents(client, world):
    login(client, world.reviewer)
    document = world.application.documents[0]
    response = client.get(page_url(world.application, f"/documents/{document.id}"))
    assert response.status_code == 200
    assert response.get_data() == PDF_BYTES
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment")
    other = make_submitted(make_business(), world.programme)
    assert client.get(page_url(other, f"/documents/{document.id}")).status_code == 404
    login(client, world.business.user)
    assert client.get(page_url(world.application, f"/documents/{document.id}")).status_code == 403


def test_review_page_queries_do_not_grow_with_the_timeline(client, world):
    from tests.review_helpers import count_queries

    application = move_to(world.application, S.IN_REVIEW, reviewer=world.reviewer)
    login(client, world.reviewer)
    with count_queries() as few:
        assert client.get(page_url(application)).status_code == 200
    for n in range(12):
        commenter = make_user(Role.APPROVER, full_name=f"Commenter {n}")
        login(client, commenter)
        client.post(page_url(application, "/comments"),
                    data={"comment-body": f"Ý kiến {n}", "comment-visibility": "shared"})
    login(client, world.reviewer)
    with count_queries() as many:
        text = client.get(page_url(application)).get_data(as_text=True)
    assert "Commenter 11" in text
    assert len(many) == len(few), (len(few), len(many))


def notifications_of(user) -> list:
    from app.models.notification import Notification

    return list(db.session.scalars(select(Notification).where(Notification.user_id == user.id)))


def test_comments_and_assignment_tell_the_right_people_once(client, world):
    colleague = make_user(Role.REVIEWER, full_name="Colleague Cuong")
    owner = world.business.user
    before_owner = len(notifications_of(owner))
    login(client, world.approver)
    client.post(page_url(world.application, "/comments"),
                data={"comment-body": "Chỉ cán bộ xem.", "comment-visibility": "internal"})
    assert len(notifications_of(owner)) == before_owner  # staff-only notes never reach the business
    client.post(page_url(world.application, "/comments"),
                data={"comment-body": "Vui lòng gửi bản scan rõ hơn.", "comment-visibility": "shared"})
    assert len(notifications_of(owner)) == before_owner + 1
    client.post(page_url(world.application, "/assign"),
                data={"assign-reviewer": str(colleague.id), "assign-version": str(fresh(world.application).version)})
    assert len(notifications_of(colleague)) == 1
    login(client, world.reviewer)  # taking it yourself tells nobody
    before_reviewer = len(notifications_of(world.reviewer))
    response = client.post(page_url(world.application, "/assign"),
                           data={"assign-reviewer": str(world.reviewer.id),
                                 "assign-version": str(fresh(world.application).version)})
    assert response.status_code == 303 and fresh(world.application).reviewer_id == world.reviewer.id
    assert len(notifications_of(world.reviewer)) == before_reviewer


def test_decided_applications_link_the_decision_letter(client, world):
    application = move_to(world.application, S.REJECTED, reviewer=world.reviewer)
    login(client, world.reviewer)
    text = client.get(page_url(application)).get_data(as_text=True)
    assert f'href="/review/applications/{application.id}/decision-letter.pdf"' in text
    pending = make_submitted(make_business(), world.programme)
    assert "decision-letter.pdf" not in client.get(page_url(pending)).get_data(as_text=True)
