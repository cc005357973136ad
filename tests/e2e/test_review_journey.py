"""Journey of a support application through the department, with the business on the other side.

A reviewer starts the review of a demo application and asks for more information; the business reads
the request, uploads the document and sends it back; the reviewer recommends an amount; an approver
(another person: the four-eyes rule) approves; the business sees the decision and downloads the
decision letter.
"""

from __future__ import annotations

import re

from tests.e2e.conftest import ARTIFACTS, DEMO_LOGINS
from tests.e2e.ui import expect, pdf_file

#: A demo organisation whose application the demo leaves "submitted" (see app/services/demo.py).
ORGANISATION = "Công ty TNHH Thương mại Trà Bồng Xanh"


def _act(page, action: str, reason: str | None = None) -> None:
    """Use one of the reviewer's action forms ("Your next step")."""
    form = page.locator(f"#form-{action}")
    expect(form).to_be_visible()
    if reason is not None:
        form.locator("textarea").fill(reason)
    form.locator("[type=submit]").click()
    page.wait_for_load_state()


def test_review_request_info_recommend_approve_and_decision_letter(open_page, server, shot):
    app_id = server.scalar(
        "SELECT a.id FROM application a JOIN organisation o ON o.id = a.organisation_id "
        "WHERE o.name = :name AND a.status = 'submitted' ORDER BY a.id LIMIT 1", name=ORGANISATION)
    org_id = server.scalar("SELECT id FROM organisation WHERE name = :name", name=ORGANISATION)
    review_url = f"/review/applications/{app_id}"

    # The reviewer finds the application in the queue and starts the review.
    reviewer = open_page(DEMO_LOGINS["reviewer"], path="/review/")
    shot(reviewer, "reviewer-queue")
    reviewer.fill("main form #q", str(app_id))
    reviewer.locator("main form:has(#q) [type=submit]").first.click()
    reviewer.locator(f"main a[href='{review_url}']").first.click()
    expect(reviewer).to_have_url(re.compile(re.escape(review_url) + "$"))
    expect(reviewer.locator("main .state")).to_have_class(re.compile(r"\bstate-submitted\b"))
    shot(reviewer, "reviewer-application")
    _act(reviewer, "start_review")
    expect(reviewer.locator("main .state")).to_have_class(re.compile(r"\bstate-in_review\b"))
    shot(reviewer, "review-started")

    # ... and asks for more information.
    request = "Vui lòng gửi thêm danh sách sản phẩm đưa lên sàn, có giá bán từng mặt hàng."
    _act(reviewer, "request_info", reason=request)
    expect(reviewer.locator("main .state")).to_have_class(re.compile(r"\bstate-info_requested\b"))
    shot(reviewer, "info-requested")

    # The business is notified, reads the request and sends the document.
    business = open_page(DEMO_LOGINS["lan"], path="/notifications/")
    shot(business, "business-notifications")
    detail_url = f"/organisations/{org_id}/applications/{app_id}"
    notice = business.locator("main li.notification").filter(has_text=f"#{app_id} ").first
    notice.locator(".notification-subject").click()
    expect(business).to_have_url(re.compile(re.escape(detail_url)))
    info_box = business.locator("main .app-info-request")
    expect(info_box).to_contain_text(request)
    documents_before = business.locator("main table.app-documents tbody tr").count()
    shot(business, "business-info-request")
    info_box.locator("input[type=file]").first.set_input_files(pdf_file("danh-sach-san-pham.pdf"))
    info_box.locator("textarea").fill("Đã gửi danh sách sản phẩm kèm giá bán.")
    info_box.locator("[type=submit]").click()
    expect(business.locator("main .app-info-request")).to_have_count(0)
    expect(business.locator("main table.app-documents tbody tr")).to_have_count(documents_before + 1)
    expect(business.locator("main table.app-documents")).to_contain_text("danh-sach-san-pham.pdf")
    shot(business, "business-resubmitted")

    # The reviewer sees it back in review and recommends the amount requested.
    reviewer.goto(review_url)
    expect(reviewer.locator("main .state")).to_have_class(re.compile(r"\bstate-in_review\b"))
    expect(reviewer.locator("main")).to_contain_text("danh-sach-san-pham.pdf")
    amount = reviewer.locator("#form-recommend input[inputmode=numeric]")
    if not amount.input_value():
        requested = business.locator("main [data-amount=requested]").inner_text()
        amount.fill(re.sub(r"[^0-9.]", "", requested))
    shot(reviewer, "reviewer-recommend")
    _act(reviewer, "recommend")
    expect(reviewer.locator("main .state")).to_have_class(re.compile(r"\bstate-recommended\b"))
    expect(reviewer.locator("#form-approve")).to_have_count(0)
    shot(reviewer, "recommended")

    # An approver, another person, approves.
    approver = open_page(DEMO_LOGINS["approver"], path=review_url)
    expect(approver.locator("main .four-eyes")).to_have_count(0)
    shot(approver, "approver-application")
    _act(approver, "approve")
    expect(approver.locator("main .state")).to_have_class(re.compile(r"\bstate-approved\b"))
    shot(approver, "approved")

    # The business sees the decision and downloads the letter.
    business.goto(detail_url)
    expect(business.locator("main .app-status")).to_have_attribute("data-status", "approved")
    expect(business.locator("main [data-amount=approved]")).not_to_have_text("—")
    shot(business, "business-decision")
    with business.expect_download() as download_info:
        business.locator("main a[href$='/decision-letter.pdf']").click()
    letter = download_info.value.path().read_bytes()
    assert letter.startswith(b"%PDF"), letter[:40]
    (ARTIFACTS / "decision-letter.pdf").write_bytes(letter)
