"""The business's application pages through the browser's eyes: start (with the eligibility check), fill in
and save a draft, upload documents, send, follow the application, withdraw, resubmit, complete and rate."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent
from app.models.application import (
    ActivityKind,
    Application,
    ApplicationActivity,
    ApplicationDocument,
    ApplicationStatus,
    Visibility,
)
from app.models.catalogue import PartnerStatus
from app.models.outcome import Outcome, OutcomeKind
from app.models.types import utcnow
from app.services import workflow
from tests.application_helpers import (  # noqa: F401
    HTML_BYTES,
    JPEG_BYTES,
    PDF_BYTES,
    PNG_BYTES,
    add_document,
    application_url,
    applications_url,
    login,
    make_approver,
    make_business,
    make_complete_draft,
    make_draft,
    make_partner,
    make_programme,
    make_reviewer,
    make_submitted,
    make_user,
    move_to,
    upload_dir,
)

S = ApplicationStatus
pytestmark = pytest.mark.usefixtures("upload_dir")


@pytest.fixture
def business(app):
    """A micro enterprise (cap 20 million) at level 1, whose member reads English."""
    return make_business(level=1, locale="en")


@pytest.fixture
def programme(app):
    return make_programme()


def audit_actions() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def draft_post(application, **overrides):
    """A draft form post with the version the page showed."""
    data = {"version": str(application.version), "project_title": "", "project_description": "",
            "planned_cost_vnd": "", "requested_vnd": "", "partner_id": "", "save": "Save draft"}
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def post_files(client, url, data):
    return client.post(url, data=data, content_type="multipart/form-data")


def field_value(html: str, name: str) -> str | None:
    match = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', html) or \
        re.search(rf'<input[^>]*value="([^"]*)"[^>]*name="{name}"', html)
    return match.group(1) if match else None


# Starting an application -----------------------------------------------------------------------------


def test_start_an_application_from_an_eligible_programme(client, business, programme):
    login(client, business.user)
    url = applications_url(business, f"new?programme={programme.code}")
    page = client.get(url)
    assert page.status_code == 200
    assert "Start the application" in page.text and "Supplier&#39;s quotation" in page.text
    assert db.session.scalar(select(func.count(Application.id))) == 0  # looking creates nothing

    response = client.post(url, data={})
    application = db.session.scalar(select(Application))
    assert response.status_code == 303
    assert response.headers["Location"].endswith(application_url(application))
    assert application.status is S.DRAFT
    assert application.assessment_id == business.assessment.id
    assert application.created_by_id == business.user.id
    assert "application.create" in audit_actions()

    # Applying again reopens the same draft (one draft per organisation and programme).
    again = client.get(url)
    assert again.status_code == 303 and again.headers["Location"].endswith(application_url(application))
    assert client.post(url, data={}).status_code == 303
    assert db.session.scalar(select(func.count(Application.id))) == 1


def test_an_ineligible_programme_shows_the_reasons_and_no_form(client, business):
    programme = make_programme(level_min=3, level_max=5)
    login(client, business.user)
    url = applications_url(business, f"new?programme={programme.code}")
    page = client.get(url)
    assert page.status_code == 200
    assert 'id="not-eligible"' in page.text
    assert "level" in page.text.lower()
    assert "Start the application" not in page.text
    refused = client.post(url, data={})
    assert refused.status_code == 409
    assert db.session.scalar(select(func.count(Application.id))) == 0


def test_without_a_self_assessment_the_business_is_sent_to_do_one(client, app, programme):
    business = make_business(level=None, locale="en")
    login(client, business.user)
    page = client.get(applications_url(business, f"new?programme={programme.code}"))
    assert page.status_code == 200
    assert "self-assessment" in page.text
    assert f"/organisations/{business.id}/assessments" in page.text


def test_an_unknown_or_retired_programme_is_404(client, business):
    login(client, business.user)
    assert client.get(applications_url(business, "new?programme=NOPE")).status_code == 404
    assert client.get(applications_url(business, "new")).status_code == 404
    retired = make_programme(retired_at=utcnow())
    assert client.get(applications_url(business, f"new?programme={retired.code}")).status_code == 404


# The draft form ------------------------------------------------------------------------------------


def test_the_requested_amount_is_prefilled_with_the_subsidy(client, business, programme):
    application = make_draft(business, programme, planned_cost_vnd=30_000_000)
    login(client, business.user)
    page = client.get(application_url(application))
    assert page.status_code == 200
    # 50 % of 30 million = 15 million, under the micro cap of 20 million.
    assert field_value(page.text, "requested_vnd") == "15.000.000"
    assert field_value(page.text, "planned_cost_vnd") == "30.000.000"


def test_save_a_half_filled_draft(client, business, programme):
    application = make_draft(business, programme)
    login(client, business.user)
    response = client.post(application_url(application), data=draft_post(application, project_title="Bán hàng online"))
    assert response.status_code == 303
    db.session.refresh(application)
    assert application.project_title == "Bán hàng online"
    assert application.planned_cost_vnd is None and application.requested_vnd is None
    assert application.status is S.DRAFT
    assert "application.update" in audit_actions()


def test_an_empty_requested_amount_becomes_the_most_allowed(client, business, programme):
    application = make_draft(business, programme)
    login(client, business.user)
    response = client.post(application_url(application),
                           data=draft_post(application, planned_cost_vnd="60.000.000"))
    assert response.status_code == 303
    db.session.refresh(application)
    assert (application.planned_cost_vnd, application.requested_vnd) == (60_000_000, 20_000_000)


def test_amounts_typed_with_dots_spaces_or_commas(client, business, programme):
    application = make_draft(business, programme)
    login(client, business.user)
    client.post(application_url(application),
                data=draft_post(application, planned_cost_vnd="30 000 000", requested_vnd="12,000,000"))
    db.session.refresh(application)
    assert (application.planned_cost_vnd, application.requested_vnd) == (30_000_000, 12_000_000)


def test_asking_for_more_than_the_cap_is_refused_with_the_maximum(client, business, programme):
    application = make_draft(business, programme)
    login(client, business.user)
    response = client.post(application_url(application), data=draft_post(
        application, project_title="Kế toán điện tử", planned_cost_vnd="60.000.000", requested_vnd="25.000.000"))
    assert response.status_code == 400
    assert "You can ask for at most 20.000.000 đồng" in response.text
    # What was typed is still there, nothing was saved.
    assert field_value(response.text, "project_title") == "Kế toán điện tử"
    assert field_value(response.text, "requested_vnd") == "25.000.000"
    db.session.refresh(application)
    assert application.requested_vnd is None and application.project_title is None


@pytest.mark.parametrize(("overrides", "words"), [
    ({"planned_cost_vnd": "-5"}, "cannot be negative"),
    ({"requested_vnd": "abc"}, "Enter the amount in đồng"),
    ({"project_description": "x" * 4001}, "At most 4000 characters"),
    ({"project_title": "y" * 201}, "At most 200 characters"),
])
def test_invalid_values_are_refused_and_kept_on_the_page(client, business, programme, overrides, words):
    application = make_draft(business, programme)
    login(client, business.user)
    response = client.post(application_url(application), data=draft_post(application, **overrides))
    assert response.status_code == 400
    assert words in response.text


def test_only_vetted_partners_can_be_chosen(client, business, programme):
    vetted = make_partner(name="Công ty Đã Duyệt")
    pending = make_partner(status=PartnerStatus.PENDING, name="Công ty Chờ Duyệt")
    retired = make_partner(name="Công ty Đã Nghỉ", retired_at=utcnow())
    application = make_draft(business, programme)
    login(client, business.user)
    page = client.get(application_url(application))
    assert "Công ty Đã Duyệt" in page.text
    assert "Công ty Chờ Duyệt" not in page.text and "Công ty Đã Nghỉ" not in page.text
    for partner in (pending, retired):
        refused = client.post(application_url(application), data=draft_post(application, partner_id=str(partner.id)))
        assert refused.status_code == 400
    assert client.post(application_url(application),
                       data=draft_post(application, partner_id=str(vetted.id))).status_code == 303
    db.session.refresh(application)
    assert application.partner_id == vetted.id


def test_send_with_missing_documents_lists_what_is_missing_and_keeps_everything(client, business, programme):
    application = make_draft(business, programme)
    login(client, business.user)
    response = client.post(application_url(application), data=draft_post(
        application, project_title="Hoá đơn điện tử", planned_cost_vnd="40.000.000", send="Send application",
        save=None))
    assert response.status_code == 400
    assert "The application is not complete yet." in response.text
    assert "Missing document: Supplier&#39;s quotation" in response.text
    assert "Missing document: Business registration certificate" in response.text
    assert "Missing document: Digital transformation plan" not in response.text  # optional
    assert "Describe your project" in response.text and "confirm the declarations" in response.text
    db.session.refresh(application)
    assert application.status is S.DRAFT
    assert (application.project_title, application.planned_cost_vnd, application.requested_vnd) == (
        "Hoá đơn điện tử", 40_000_000, 20_000_000)
    assert field_value(response.text, "project_title") == "Hoá đơn điện tử"


def test_send_a_complete_application_with_its_files(client, business, programme):
    application = make_draft(business, programme)
    login(client, business.user)
    response = post_files(client, application_url(application), draft_post(
        application, project_title="Hoá đơn điện tử", project_description="Dùng hoá đơn điện tử cho cửa hàng.",
        planned_cost_vnd="50.000.000", requested_vnd="20.000.000", declarations_accepted="y",
        send="Send application", save=None,
        **{"document-QUOTE": [(io.BytesIO(PDF_BYTES), "bao-gia-1.pdf"), (io.BytesIO(PNG_BYTES), "bao-gia-2.png")],
           "document-LICENCE": (io.BytesIO(PDF_BYTES), "giay-phep.pdf")}))
    assert response.status_code == 303, response.text
    db.session.refresh(application)
    assert application.status is S.SUBMITTED
    assert application.submitted_at is not None and application.applied_year is not None
    assert sorted(d.code for d in application.documents) == ["LICENCE", "QUOTE", "QUOTE"]
    assert "application.submit" in audit_actions()
    transition = db.session.scalar(select(ApplicationActivity).where(
        ApplicationActivity.kind == ActivityKind.TRANSITION))
    assert (transition.action, transition.to_status, transition.visibility) == ("submit", S.SUBMITTED,
                                                                                  Visibility.SHARED)
    page = client.get(application_url(application))
    assert page.status_code == 200
    assert "Sent, waiting for review" in page.text
    assert 'name="project_title"' not in page.text  # no longer editable


def test_a_failed_upload_keeps_earlier_documents_and_typed_fields(client, business, programme):
    application = make_draft(business, programme)
    earlier = add_document(application, "QUOTE", business.user)
    login(client, business.user)
    response = post_files(client, application_url(application), draft_post(
        application, project_title="Website bán hàng", planned_cost_vnd="20.000.000",
        **{"document-LICENCE": (io.BytesIO(HTML_BYTES), "giay-phep.pdf"),
           "document-PLAN": (io.BytesIO(PDF_BYTES), "ke-hoach.pdf")}))
    assert response.status_code == 400
    assert "this file is really HTML" in response.text
    assert "giay-phep.pdf" in response.text
    assert field_value(response.text, "project_title") == "Website bán hàng"
    codes = sorted(d.code for d in db.session.scalars(select(ApplicationDocument)
                                                      .where(ApplicationDocument.removed_at.is_(None))))
    assert codes == ["PLAN", "QUOTE"]  # the earlier one and the good new one
    assert earlier.removed_at is None
    db.session.refresh(application)
    assert application.project_title == "Website bán hàng"
    # The page carries the new version: the next save goes through.
    assert field_value(response.text, "version") == str(application.version)


def test_an_oversized_file_is_refused_with_the_limit_and_the_rest_is_kept(client, app, business, programme,
                                                                         monkeypatch):
    monkeypatch.setitem(app.config, "APPLICATION_UPLOAD_MAX_BYTES", 1024)
    application = make_draft(business, programme)
    login(client, business.user)
    response = post_files(client, application_url(application), draft_post(
        application, project_title="Camera an ninh",
        **{"document-QUOTE": (io.BytesIO(PDF_BYTES.replace(b"trailer", b"%" + b"x" * 2000 + b"\ntrailer")),
                              "bao-gia-scan.pdf"),
           "document-LICENCE": (io.BytesIO(JPEG_BYTES), "giay-phep.jpg")}))
    assert response.status_code == 400
    assert "File is larger than 1 KB" in response.text
    db.session.refresh(application)
    assert [d.code for d in application.documents] == ["LICENCE"]
    assert application.project_title == "Camera an ninh"


def test_a_failed_upload_on_send_does_not_send(client, business, programme):
    application = make_complete_draft(business, programme)
    login(client, business.user)
    response = post_files(client, application_url(application), draft_post(
        application, project_title=application.project_title, project_description=application.project_description,
        planned_cost_vnd=str(application.planned_cost_vnd), requested_vnd=str(application.requested_vnd),
        declarations_accepted="y", send="Send application", save=None,
        **{"document-PLAN": (io.BytesIO(b""), "empty.pdf")}))
    assert response.status_code == 400
    assert "The file is empty" in response.text
    db.session.refresh(application)
    assert application.status is S.DRAFT


def test_a_stale_page_gets_a_version_conflict_and_keeps_the_typed_input(client, business, programme):
    application = make_draft(business, programme, project_title="Bản cũ")
    stale_version = application.version
    application.project_title = "Đồng nghiệp đã sửa"
    db.session.commit()
    login(client, business.user)
    response = client.post(application_url(application), data=draft_post(
        application, version=str(stale_version), project_title="Tôi vừa gõ"))
    assert response.status_code == 409
    assert "changed while you were looking at it" in response.text
    assert field_value(response.text, "project_title") == "Tôi vừa gõ"
    db.session.refresh(application)
    assert application.project_title == "Đồng nghiệp đã sửa"


def test_posting_to_a_sent_application_is_refused(client, business, programme):
    application = make_submitted(business, programme)
    login(client, business.user)
    response = client.post(application_url(application), data=draft_post(application, project_title="x"))
    assert response.status_code == 409
    assert "can no longer be edited" in response.text


def test_documents_cannot_be_added_while_under_review(client, business, programme):
    application = make_submitted(business, programme)
    login(client, business.user)
    response = post_files(client, application_url(application, "/documents"), {
        "version": str(application.version), "document-QUOTE": (io.BytesIO(PDF_BYTES), "late.pdf")})
    assert response.status_code == 409
    assert len(application.documents) == 2


def test_remove_a_document_from_the_draft(client, business, programme):
    application = make_draft(business, programme)
    document = add_document(application, "QUOTE", business.user)
    login(client, business.user)
    db.session.refresh(application)
    response = client.post(application_url(application, f"/documents/{document.id}/remove"),
                           data={"version": str(application.version)})
    assert response.status_code == 303
    db.session.refresh(document)
    assert document.removed_at is not None
    assert "application.document_remove" in audit_actions()


def test_documents_already_sent_cannot_be_removed_but_new_ones_can(client, business, programme):
    application = make_submitted(business, programme)
    move_to(application, S.INFO_REQUESTED)
    sent = application.documents[0]
    login(client, business.user)
    refused = client.post(application_url(application, f"/documents/{sent.id}/remove"),
                          data={"version": str(application.version)})
    assert refused.status_code == 409
    assert "already sent to the department" in refused.text
    db.session.refresh(sent)
    assert sent.removed_at is None
    post_files(client, application_url(application, "/documents"), {
        "version": str(application.version), "document-QUOTE": (io.BytesIO(PDF_BYTES), "wrong-file.pdf")})
    db.session.refresh(application)
    added = next(d for d in application.documents if d.original_name == "wrong-file.pdf")
    page = client.get(application_url(application))
    assert f'/documents/{added.id}/remove"' in page.text and f'/documents/{sent.id}/remove"' not in page.text
    removed = client.post(application_url(application, f"/documents/{added.id}/remove"),
                          data={"version": str(application.version)})
    assert removed.status_code == 303
    db.session.refresh(added)
    assert added.removed_at is not None


# Access ---------------------------------------------------------------------------------------------


def test_other_businesses_staff_and_anonymous_users_cannot_reach_an_application(client, business, programme):
    application = make_submitted(business, programme)
    document = application.documents[0]
    urls = [applications_url(business), applications_url(business, f"new?programme={programme.code}"),
            application_url(application), application_url(application, f"/documents/{document.id}")]
    posts = [application_url(application), application_url(application, "/withdraw"),
             application_url(application, "/comments"), application_url(application, "/resubmit"),
             application_url(application, "/rating"), application_url(application, "/documents"),
             application_url(application, f"/documents/{document.id}/remove")]
    for url in urls:
        anonymous = client.get(url)
        assert anonymous.status_code == 302 and "/auth/login" in anonymous.headers["Location"], url
    for outsider in (make_business(level=1).user, make_reviewer(), make_approver()):
        login(client, outsider)
        for url in urls:
            assert client.get(url).status_code == 404, url
        for url in posts:
            assert client.post(url, data={"version": str(application.version), "body": "hi",
                                          "confirm": "y"}).status_code == 404, url
    db.session.refresh(application)
    assert application.status is S.SUBMITTED


def test_an_application_under_another_organisations_url_is_404(client, business, programme):
    other = make_business(level=1)
    foreign = make_submitted(other, programme)
    login(client, business.user)
    assert client.get(f"/organisations/{business.id}/applications/{foreign.id}").status_code == 404


def test_the_list_shows_public_labels_and_amounts(client, business, programme):
    submitted = make_submitted(business, programme)
    move_to(submitted, S.RECOMMENDED)
    make_draft(business, make_programme(name={"vi": "Chương trình nháp", "en": "Draft programme"}))
    login(client, business.user)
    page = client.get(applications_url(business))
    assert page.status_code == 200
    assert "Being reviewed" in page.text and "Not sent yet" in page.text
    assert "Recommended for approval" not in page.text and 'data-status="recommended"' not in page.text
    assert "20.000.000" in page.text
    assert "Draft programme" in page.text


# What the business sees of the review --------------------------------------------------------------


def test_the_business_never_sees_internal_entries_or_the_recommended_state(client, business, programme):
    application = make_submitted(business, programme)
    reviewer = make_reviewer(full_name="Trần Thị Thẩm Định")
    move_to(application, S.RECOMMENDED, reviewer=reviewer)
    db.session.add(ApplicationActivity(application_id=application.id, kind=ActivityKind.COMMENT,
                                       visibility=Visibility.INTERNAL, actor_id=reviewer.id,
                                       body="SECRET-STAFF-NOTE", created_at=utcnow()))
    db.session.add(ApplicationActivity(application_id=application.id, kind=ActivityKind.COMMENT,
                                       visibility=Visibility.SHARED, actor_id=reviewer.id,
                                       body="Hồ sơ đang được xem xét.", created_at=utcnow()))
    db.session.commit()
    login(client, business.user)
    page = client.get(application_url(application))
    assert page.status_code == 200
    text = page.text
    assert "SECRET-STAFF-NOTE" not in text
    assert "Hồ sơ đang được xem xét." in text
    assert "Recommended for approval" not in text
    assert "recommended" not in text.lower()
    assert "Being reviewed" in text
    assert "Trần Thị Thẩm Định" not in text  # staff speak as "the department"
    assert "The department" in text


def test_a_rejection_shows_its_reason(client, business, programme):
    application = make_submitted(business, programme)
    move_to(application, S.REJECTED, reason="Dự án không thuộc phạm vi hỗ trợ.")
    login(client, business.user)
    page = client.get(application_url(application))
    assert "Not approved" in page.text
    assert "Dự án không thuộc phạm vi hỗ trợ." in page.text
    assert 'id="decision-heading"' in page.text


def test_comments_are_shared_with_the_department(client, business, programme):
    application = make_submitted(business, programme)
    login(client, business.user)
    assert client.post(application_url(application, "/comments"), data={"body": "  "}).status_code == 400
    response = client.post(application_url(application, "/comments"), data={"body": "Khi nào có kết quả ạ?"})
    assert response.status_code == 303
    entry = db.session.scalar(select(ApplicationActivity).where(ApplicationActivity.kind == ActivityKind.COMMENT))
    assert (entry.body, entry.visibility, entry.actor_id) == ("Khi nào có kết quả ạ?", Visibility.SHARED,
                                                              business.user.id)
    assert "application.comment" in audit_actions()
    assert "Khi nào có kết quả ạ?" in client.get(application_url(application)).text


# Business transitions -------------------------------------------------------------------------------


def test_withdraw_needs_the_confirmation(client, business, programme):
    application = make_submitted(business, programme)
    login(client, business.user)
    page = client.get(application_url(application))
    assert "Withdraw the application" in page.text
    unconfirmed = client.post(application_url(application, "/withdraw"), data={"version": str(application.version)})
    assert unconfirmed.status_code == 400
    assert "Tick the box" in unconfirmed.text
    db.session.refresh(application)
    assert application.status is S.SUBMITTED
    done = client.post(application_url(application, "/withdraw"),
                       data={"version": str(application.version), "confirm": "y"})
    assert done.status_code == 303
    db.session.refresh(application)
    assert application.status is S.WITHDRAWN
    assert "application.withdraw" in audit_actions()
    assert "Withdraw the application" not in client.get(application_url(application)).text


def test_withdraw_from_a_stale_page_is_a_conflict(client, business, programme):
    application = make_submitted(business, programme)
    stale = application.version
    move_to(application, S.IN_REVIEW)
    login(client, business.user)
    response = client.post(application_url(application, "/withdraw"), data={"version": str(stale), "confirm": "y"})
    assert response.status_code == 409
    assert "changed while you were looking at it" in response.text
    db.session.refresh(application)
    assert application.status is S.IN_REVIEW


def test_resubmit_after_more_documents_were_requested(client, business, programme):
    application = make_submitted(business, programme)
    reviewer = make_reviewer()
    move_to(application, S.INFO_REQUESTED, reviewer=reviewer, reason="Xin bổ sung báo giá có đóng dấu.")
    login(client, business.user)
    page = client.get(application_url(application))
    assert "More documents needed" in page.text
    assert "Xin bổ sung báo giá có đóng dấu." in page.text
    assert "Send the additional documents" in page.text

    bad = post_files(client, application_url(application, "/resubmit"), {
        "version": str(application.version), "note": "Đã bổ sung",
        "document-QUOTE": (io.BytesIO(HTML_BYTES), "bao-gia.pdf")})
    assert bad.status_code == 400
    assert "really HTML" in bad.text
    db.session.refresh(application)
    assert application.status is S.INFO_REQUESTED

    response = post_files(client, application_url(application, "/resubmit"), {
        "version": str(application.version), "note": "Đã bổ sung báo giá có đóng dấu.",
        "document-QUOTE": (io.BytesIO(PDF_BYTES), "bao-gia-dong-dau.pdf")})
    assert response.status_code == 303, response.text
    db.session.refresh(application)
    assert application.status is S.IN_REVIEW
    assert "bao-gia-dong-dau.pdf" in [d.original_name for d in application.documents]
    entry = db.session.scalar(select(ApplicationActivity).where(ApplicationActivity.action == "resubmit"))
    assert entry.body == "Đã bổ sung báo giá có đóng dấu." and entry.visibility is Visibility.SHARED
    assert "application.resubmit" in audit_actions()


def test_resubmit_refused_when_a_required_document_was_removed(client, business, programme):
    from app.services import documents

    application = make_submitted(business, programme)
    move_to(application, S.INFO_REQUESTED)
    quote = next(d for d in application.documents if d.code == "QUOTE")
    documents.remove(quote, business.user, check_state=False)  # e.g. taken off by staff tools
    db.session.commit()
    login(client, business.user)
    response = client.post(application_url(application, "/resubmit"), data={"version": str(application.version)})
    assert response.status_code == 400
    assert "Missing document: Supplier&#39;s quotation" in response.text
    db.session.refresh(application)
    assert application.status is S.INFO_REQUESTED


def test_completion_uploads_then_rating_the_partner(client, business, programme):
    partner = make_partner(code="P-RATE-01")
    application = make_submitted(business, programme, partner=partner)
    reviewer = make_reviewer()
    move_to(application, S.APPROVED, reviewer=reviewer)
    login(client, business.user)
    page = client.get(application_url(application))
    assert "Finish the project" in page.text and 'name="document-invoice"' in page.text
    assert 'name="document-QUOTE"' not in page.text  # programme documents are closed now

    response = post_files(client, application_url(application, "/documents"), {
        "version": str(application.version),
        "document-invoice": (io.BytesIO(PDF_BYTES), "hoa-don.pdf"),
        "document-acceptance": (io.BytesIO(JPEG_BYTES), "nghiem-thu.jpg")})
    assert response.status_code == 303, response.text
    db.session.refresh(application)
    workflow.perform_transition(application, "complete", reviewer)
    db.session.commit()
    assert application.status is S.COMPLETED

    page = client.get(application_url(application))
    assert "Rate the partner" in page.text and 'type="radio"' in page.text
    assert client.post(application_url(application, "/rating"),
                       data={"version": str(application.version), "rating": "6"}).status_code == 400
    response = client.post(application_url(application, "/rating"), data={
        "version": str(application.version), "rating": "4", "comment": "Hỗ trợ nhiệt tình."})
    assert response.status_code == 303
    outcome = db.session.scalar(select(Outcome).where(Outcome.kind == OutcomeKind.RATING))
    assert (outcome.item_type, outcome.item_code, outcome.rating, outcome.comment) == (
        "partner", "P-RATE-01", 4, "Hỗ trợ nhiệt tình.")
    assert (outcome.application_id, outcome.organisation_id, outcome.assessment_id, outcome.source) == (
        application.id, business.id, business.assessment.id, "application")
    assert "application.rate_partner" in audit_actions()
    db.session.refresh(application)
    again = client.post(application_url(application, "/rating"),
                        data={"version": str(application.version), "rating": "5"})
    assert again.status_code == 400
    assert db.session.scalar(select(func.count(Outcome.id)).where(Outcome.kind == OutcomeKind.RATING)) == 1
    assert "You rated" in client.get(application_url(application)).text


def test_rating_is_only_possible_once_completed(client, business, programme):
    application = make_submitted(business, programme, partner=make_partner())
    login(client, business.user)
    response = client.post(application_url(application, "/rating"),
                           data={"version": str(application.version), "rating": "5"})
    assert response.status_code == 400
    assert db.session.scalar(select(func.count(Outcome.id)).where(Outcome.kind == OutcomeKind.RATING)) == 0
