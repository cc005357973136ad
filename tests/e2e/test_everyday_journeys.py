"""Smaller journeys people take every day: switching the language, leaving the self-assessment half
done and coming back to it later (on another device), and typing a wrong password."""

from __future__ import annotations

import re

from tests.e2e.conftest import DEMO_LOGINS
from tests.e2e.ui import answer_step, checked_values, create_household, expect, step_number


def test_language_switch_changes_the_texts_and_is_remembered(open_page, shot):
    page = open_page(lang=None)
    home_link = page.locator("nav.main-nav a[href='/']")
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    expect(home_link).to_have_text("Trang chủ")
    shot(page, "home-vi")

    page.locator(".language-switch button[lang='en']").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(home_link).to_have_text("Home")
    expect(page.locator(".language-switch [aria-current]")).to_have_text("English")
    shot(page, "home-en")

    # The choice holds on the next page, and switching back returns to the same page.
    page.locator("nav a[href='/auth/login']").click()
    expect(page.locator("main h1")).to_have_text("Log in")
    shot(page, "login-en")
    page.locator(".language-switch button[lang='vi']").click()
    expect(page).to_have_url(re.compile(r"/auth/login$"))
    expect(page.locator("main h1")).to_have_text("Đăng nhập")
    shot(page, "login-vi")

    # Logged in, the language is saved on the account: another device opens in it.
    account = open_page(DEMO_LOGINS["khoa"], lang="en")
    expect(account.locator("nav.main-nav a[href='/']")).to_have_text("Home")
    other_device = open_page(DEMO_LOGINS["khoa"], lang=None)
    expect(other_device.locator("html")).to_have_attribute("lang", "en")
    shot(other_device, "other-device-en")
    other_device.locator(".language-switch button[lang='vi']").click()
    expect(other_device.locator("nav.main-nav a[href='/']")).to_have_text("Trang chủ")


def test_continue_the_assessment_later_keeps_the_answers(open_page, shot):
    page = open_page(DEMO_LOGINS["phuc"], mobile=True)
    org_id = create_household(page, "Tiệm Sửa Xe Phúc Lộc", sector="S")
    page.goto(f"/organisations/{org_id}/assessments/")
    page.locator("main form[action$='/assessments/start'] [type=submit]").click()
    expect(page).to_have_url(re.compile(r"/steps/1$"))

    answer_step(page, pick=1)
    step_one = checked_values(page)
    shot(page, "step-1-answered")
    page.locator("button[name=action][value=next]").click()
    expect(page).to_have_url(re.compile(r"/steps/2$"))
    # Half of step 2: only the first question.
    page.locator("fieldset.question").first.locator("input").nth(2).check()
    step_two = checked_values(page)
    assert len(step_two) == 1
    shot(page, "step-2-half-answered")
    page.locator("button[name=action][value=later]").click()
    page.wait_for_load_state()
    assert step_number(page) is None, "“continue later” leaves the steps"
    shot(page, "after-continue-later")
    page.goto("/")

    # Later, on another device: the draft is there, with its answers.
    later = open_page(DEMO_LOGINS["phuc"], mobile=True, path=f"/organisations/{org_id}/assessments/")
    draft = later.locator("main .draft-card")
    expect(draft).to_be_visible()
    expect(draft.locator("progress")).to_have_attribute("value", str(len(step_one) + len(step_two)))
    shot(later, "draft-waiting")
    draft.locator("a[href$='/continue']").click()
    # Back at step 2, at the first question still open.
    expect(later).to_have_url(re.compile(r"/steps/2#q-\w+$"))
    assert checked_values(later) == step_two
    shot(later, "resumed-step-2")
    later.locator("button[name=action][value=back]").click()
    expect(later).to_have_url(re.compile(r"/steps/1$"))
    assert checked_values(later) == step_one
    shot(later, "step-1-kept")


def test_wrong_password_shows_an_error_and_does_not_log_in(open_page, shot):
    page = open_page(lang="en", path="/auth/login")
    page.fill("#login", DEMO_LOGINS["khoa"])
    page.fill("#password", "not-the-password")
    page.locator("main form[action='/auth/login'] [type=submit]").click()
    alert = page.locator("main .error-summary[role=alert]")
    expect(alert).to_contain_text("The login or password is incorrect.")
    expect(page).to_have_url(re.compile(r"/auth/login$"))
    expect(page.locator("#login")).to_have_value(DEMO_LOGINS["khoa"])
    expect(page.locator("#password")).to_have_value("")
    expect(page.locator("form[action='/auth/logout']")).to_have_count(0)
    shot(page, "wrong-password")

    # Still a visitor: a member page sends to the login page.
    page.goto("/organisations/")
    expect(page).to_have_url(re.compile(r"/auth/login\?next="))
    shot(page, "still-logged-out")
