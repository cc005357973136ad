"""Steps the journeys share, written the way a person uses the pages (links, fields, buttons).

Elements are found by what is stable in the markup (field ids, form actions, link targets) rather
than by their text, so the same steps work in Vietnamese and English.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from app.services.demo import one_page_pdf

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - the fixtures then skip (or fail with E2E_REQUIRED=1) and say why
    expect = None

if TYPE_CHECKING:
    from playwright.sync_api import Page


def small_pdf(title: str = "dxportal e2e") -> bytes:
    """A valid one-page PDF, the size of a scanned form's stand-in."""
    return one_page_pdf(title)


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
