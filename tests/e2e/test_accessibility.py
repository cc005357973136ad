"""Accessibility: axe-core finds no WCAG 2.0/2.1 A or AA violation on the key pages, in Vietnamese and
English, and the short self-assessment can be completed with the keyboard alone."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import DEMO_LOGINS
from tests.e2e.key_pages import LANGUAGES, PAGE_NAMES
from tests.e2e.ui import create_household, expect


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("name", PAGE_NAMES)
def test_key_page_has_no_axe_violations(key_pages, name, lang):
    page = key_pages.get_page(lang, name)
    expected = 400 if name.endswith(("-error", "-errors")) else 200  # a form sent back with its messages
    assert page.status == expected, f"{name} ({lang}) answered {page.status}"
    if page.violations:
        pytest.fail(page.describe_violations(), pytrace=False)


def test_key_pages_raise_no_csp_or_script_errors(key_pages):
    problems = [f"{page.lang}-{page.name}: {problem}" for page in key_pages.values() for problem in page.problems]
    assert not problems, "\n".join(problems)


# Keyboard only -------------------------------------------------------------------------------------

_FOCUS_VISIBLE = """() => {
    const el = document.activeElement;
    const style = getComputedStyle(el);
    return (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0) || style.boxShadow !== 'none';
}"""


def _tab_to(page, matches: str, *, backwards: bool = False, limit: int = 80) -> None:
    """Press Tab (or Shift+Tab) until the focused element satisfies the JS predicate ``matches(el)``."""
    key = "Shift+Tab" if backwards else "Tab"
    for _ in range(limit):
        page.keyboard.press(key)
        if page.evaluate(f"() => {{ const el = document.activeElement; return !!el && ({matches}); }}"):
            assert page.evaluate(_FOCUS_VISIBLE), "the focused element shows no focus indicator: " + page.evaluate(
                "() => document.activeElement.outerHTML.slice(0, 200)")
            return
    raise AssertionError(f"{limit} × {key} never reached an element where {matches}")


def _enter_and_wait(page) -> None:
    """Press Enter on the focused button and wait for the page it leads to."""
    with page.expect_navigation():
        page.keyboard.press("Enter")


def _in_question(index: int) -> str:
    return f"el.closest('fieldset.question') === document.querySelectorAll('fieldset.question')[{index}]"


def _answer_step_by_keyboard(page) -> None:
    """Tab into each question and answer it: arrow keys in a radio group, Space on a checkbox."""
    questions = page.locator("fieldset.question")
    for index in range(questions.count()):
        _tab_to(page, _in_question(index))
        if page.evaluate("() => document.activeElement.type") == "radio":
            # Arrow keys move through the options and choose; Space chooses the focused one.
            page.keyboard.press("ArrowDown")
            page.keyboard.press("Space")
        else:
            page.keyboard.press("Space")
        assert questions.nth(index).locator("input:checked").count() >= 1


def test_short_assessment_with_the_keyboard_only(open_page, shot):
    page = open_page(DEMO_LOGINS["hoa"], mobile=True)
    # Setting up the shop is not part of this test; from here on, only the keyboard.
    org_id = create_household(page, "Bánh Mì Cô Hoa", sector="I")
    page.goto(f"/organisations/{org_id}/assessments/")
    shot(page, "start")

    _tab_to(page, "el.matches(\"main form[action$='/assessments/start'] button\")")
    _enter_and_wait(page)
    expect(page).to_have_url(re.compile(r"/steps/1$"))
    steps = 0
    while re.search(r"/steps/\d+", page.url):
        steps += 1
        _answer_step_by_keyboard(page)
        if steps == 2:
            # Shift+Tab goes back to the previous question, onto the option chosen there.
            last = page.locator("fieldset.question").count() - 1
            _tab_to(page, _in_question(last - 1) + " && el.checked", backwards=True)
            _tab_to(page, _in_question(last))
        shot(page, f"step-{steps}")
        _tab_to(page, "el.matches(\"button[name=action][value=next]\")")
        _enter_and_wait(page)
    assert steps >= 3
    expect(page).to_have_url(re.compile(r"/review$"))
    shot(page, "review")
    _tab_to(page, "el.matches(\"main form[action$='/submit'] button\")")
    _enter_and_wait(page)
    expect(page).to_have_url(re.compile(r"/results$"))
    shot(page, "results")
