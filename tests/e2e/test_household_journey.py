"""Journey of a household business on a phone (390×844): from registering to the printed plan.

Registers with a mobile number, confirms through the link in the text message (read from the server
log), adds the shop, fills the short self-assessment, sees the results and the recommendations,
applies to a recommended programme with a PDF document, and downloads its action plan as a PDF.
"""

from __future__ import annotations

import re
import secrets

from tests.e2e.conftest import ARTIFACTS
from tests.e2e.ui import answer_step, create_household, expect, pdf_file, step_number


def test_household_business_from_registration_to_printed_plan(open_page, server, shot):
    page = open_page(mobile=True)
    shot(page, "home")

    # Register with a mobile number.
    page.locator("nav a[href='/auth/register']").click()
    expect(page).to_have_url(re.compile(r"/auth/register$"))
    phone = "0912" + f"{secrets.randbelow(10**6):06d}"
    page.fill("#full_name", "Trần Thị Bảy")
    page.fill("#login", phone)
    page.fill("#password", "quan bun ca ba bay hien")
    page.fill("#password_confirm", "quan bun ca ba bay hien")
    page.check("#accept_terms")
    shot(page, "register-form")
    log_offset = len(server.log())
    page.locator("main form[action='/auth/register'] [type=submit]").click()
    expect(page.locator("main .flash-success")).to_contain_text(f"{phone[:4]} {phone[4:7]} {phone[7:]}")
    shot(page, "check-messages")

    # Confirm with the link from the text message; the link logs the new owner in.
    page.goto(server.message_link(phone, "/auth/confirm/", after=log_offset))
    expect(page.locator("form[action='/auth/logout']")).to_be_attached()
    expect(page.locator("main .flash-success")).to_be_visible()
    shot(page, "confirmed")

    # Add the household business.
    page.locator("main a[href='/organisations/new']").click()
    shot(page, "choose-kind")
    org_id = create_household(page, "Quán Bún Cá Bảy Hiền", sector="I")
    shot(page, "organisation")

    # The short self-assessment, step by step.
    page.locator(f"main a[href='/organisations/{org_id}/assessments/']").click()
    shot(page, "assessment-start")
    page.locator("main form[action$='/assessments/start'] [type=submit]").click()
    expect(page).to_have_url(re.compile(r"/steps/1$"))
    steps = 0
    while step_number(page) is not None:
        steps += 1
        expect(page.locator("fieldset.question").first).to_be_visible()
        answer_step(page, pick=steps % 2)
        shot(page, f"assessment-step-{steps}")
        page.locator("button[name=action][value=next]").click()
        page.wait_for_load_state()
    assert steps >= 3, "the short track has several steps"
    expect(page).to_have_url(re.compile(r"/review$"))
    shot(page, "assessment-review")
    page.locator("main form[action$='/submit'] [type=submit]").click()

    # Results, then recommendations.
    expect(page).to_have_url(re.compile(r"/assessments/\d+/results$"))
    expect(page.locator("main h1")).to_be_visible()
    shot(page, "results")
    page.locator(f"main a[href='/organisations/{org_id}/recommendations/']").first.click()
    expect(page).to_have_url(re.compile(r"/recommendations/$"))
    apply_links = page.locator("main a[href*='/applications/new?programme=']")
    expect(apply_links.first).to_be_visible()
    shot(page, "recommendations")

    # Apply to the first recommended programme with its documents.
    apply_links.first.click()
    shot(page, "apply")
    page.locator("main form[action*='/applications/new'] [type=submit]").click()
    expect(page.locator("#application-form")).to_be_visible()
    page.fill("#project_title", "Bán hàng qua mã QR và Zalo")
    page.fill("#project_description", "Mua phần mềm bán hàng trên điện thoại, in mã QR thanh toán, "
                                      "học cách nhận đơn qua Zalo.")
    page.fill("#planned_cost_vnd", "10.000.000")
    required_files = page.locator("#application-form .field-file:has(.badge-required) input[type=file]")
    documents = required_files.count()
    assert documents >= 1, "the programme asks for at least one document"
    for index in range(documents):
        required_files.nth(index).set_input_files(pdf_file(f"giay-to-{index + 1}.pdf"))
    page.check("#declarations_accepted")
    shot(page, "application-form")
    page.locator("#application-form button[name=send]").click()
    expect(page.locator("main .app-status")).to_have_attribute("data-status", "submitted")
    expect(page.locator("main table.app-documents tbody tr")).to_have_count(documents)
    shot(page, "application-sent")

    # The action plan, and its PDF.
    page.goto(f"/organisations/{org_id}")
    page.locator(f"main a[href='/organisations/{org_id}/plans/']").click()
    create = page.locator("main form[action$='/plans/refresh'] [type=submit]")
    if create.count():
        shot(page, "plan-offer")
        create.click()
    expect(page).to_have_url(re.compile(r"/plans/\d+$"))
    shot(page, "plan")
    prepare = page.locator("#plan-pdf form [type=submit], #plan-pdf a[download]").first
    with page.expect_download() as download_info:
        prepare.click()
    download = download_info.value
    pdf = download.path().read_bytes()
    assert pdf.startswith(b"%PDF"), pdf[:40]
    assert download.suggested_filename.endswith(".pdf")
    (ARTIFACTS / "household-plan.pdf").write_bytes(pdf)
    shot(page, "plan-downloaded")
