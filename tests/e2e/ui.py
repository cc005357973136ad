"""Steps the journeys share, written the way a person uses the pages (links, fields, buttons).

Elements are found by what is stable in the markup (field ids, form actions, link targets) rather
than by their text, so the same steps work in Vietnamese and English.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - the fixtures then skip (or fail with E2E_REQUIRED=1) and say why
    expect = None

if TYPE_CHECKING:
    from playwright.sync_api import Page


def small_pdf(title: str = "dxportal e2e") -> bytes:
    """A valid one-page PDF, the size of a scanned form's stand-in."""
    text = title.encode("ascii", "replace")
    stream = b"BT /F1 14 Tf 40 780 Td (" + text + b") Tj ET"
    objects = [
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R/Resources<</Font<</F1 5 0 R>>>>>>",
        b"<</Length " + str(len(stream)).encode() + b">>stream\n" + stream + b"\nendstream",
        b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>",
    ]
    body = b"%PDF-1.4\n"
    offsets = []
    for number, content in enumerate(objects, start=1):
        offsets.append(len(body))
        body += str(number).encode() + b" 0 obj" + content + b"endobj\n"
    xref = len(body)
    body += b"xref\n0 " + str(len(objects) + 1).encode() + b"\n0000000000 65535 f \n"
    body += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    body += b"trailer<</Size " + str(len(objects) + 1).encode() + b"/Root 1 0 R>>\nstartxref\n"
    return body + str(xref).encode() + b"\n%%EOF\n"


def pdf_file(name: str) -> dict:
    """A file for ``set_input_files``, as if picked from the phone's storage."""
    return {"name": name, "mimeType": "application/pdf", "buffer": small_pdf(name)}


def submit(page: Page, form_selector: str) -> None:
    """Press the submit button of the form and wait for the next page."""
    page.locator(f"{form_selector} [type=submit]").first.click()
    page.wait_for_load_state()


def create_household(page: Page, name: str, sector: str = "G") -> int:
    """Add a household business from the "my organisations" pages; its id."""
    page.goto("/organisations/new")
    page.locator("main a[href$='kind=household_business']").click()
    page.fill("#name", name)
    page.select_option("#sector", sector)
    page.locator("#commune_code").select_option(index=1)
    page.fill("#employees", "2")
    page.fill("#annual_revenue_vnd", "450.000.000")
    page.locator("#submit").click()
    expect(page).to_have_url(re.compile(r"/organisations/\d+$"))
    expect(page.locator("h1")).to_have_text(name)
    return int(page.url.rsplit("/", 1)[1])


def answer_step(page: Page, pick: int = 0) -> None:
    """Answer every question of the current step: option number ``pick`` of each (wrapping around)."""
    questions = page.locator("fieldset.question")
    for index in range(questions.count()):
        inputs = questions.nth(index).locator("input")
        inputs.nth(pick % inputs.count()).check()


def step_number(page: Page) -> int | None:
    found = re.search(r"/steps/(\d+)", page.url)
    return int(found.group(1)) if found else None


def checked_values(page: Page) -> dict[str, list[str]]:
    """The answers the step shows as chosen, by field name."""
    return page.evaluate("""() => {
        const out = {};
        for (const input of document.querySelectorAll('fieldset.question input:checked')) {
            (out[input.name] = out[input.name] || []).push(input.value);
        }
        return out;
    }""")
