"""The portal's key pages, visited once per language by a real browser, for the accessibility and
HTML-validity checks.

For every page the crawl keeps the HTML exactly as the server sent it (for the Nu Html Checker) and
runs axe-core in the rendered page (for WCAG 2.0/2.1 A and AA). axe is evaluated through the
DevTools protocol (``page.evaluate``), which the page's Content Security Policy does not apply to, so
the pages are checked with their real CSP in force: ``add_script_tag`` would insert an inline
``<script>`` that the CSP (``script-src 'self'``) refuses, and ``bypass_csp=True`` would also let
through any inline style a template might carry, which real visitors never see.

Pages that need data use the demo organisations (app/services/demo.py); the crawl starts a draft
self-assessment, an application draft and an action plan where the demo has none, so every step of
both tracks, the application form and the plan can be checked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from app.services import frameworks
from tests.e2e.conftest import AXE_JS, DEMO_LOGINS, set_language

LANGUAGES = ("vi", "en")
AXE_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")

#: Demo organisations the crawl works in (see app/services/demo.py), and their owners.
HOUSEHOLD = ("hoa", "Cà phê Măng Đen Chiều")
ENTERPRISE = ("lan", "Công ty Cổ phần Du lịch Biển Đảo Lý Sơn")
INFO_REQUESTED = ("lan", "Công ty TNHH Vận tải Sa Huỳnh")
RECOMMENDED = "Công ty TNHH Giáo dục Ánh Dương Kon Tum"


def _steps(track: str) -> int:
    """How many steps (pillars with questions) a track of the current framework has."""
    framework = frameworks.current_framework()
    return len({question.pillar for question in framework.questions_for(track)})


SHORT_STEPS = _steps("short")
FULL_STEPS = _steps("full")

PAGE_NAMES = (
    "home", "register", "register-errors", "log-in", "log-in-error", "open-data", "verify",
    "assessment", *(f"short-step-{n}" for n in range(1, SHORT_STEPS + 1)), "assessment-review",
    "results", "recommendations", "application-start", "application-form", "plan",
    *(f"full-step-{n}" for n in range(1, FULL_STEPS + 1)), "application-info-requested",
    "review-queue", "review-application", "review-approval", "dashboard",
)


@dataclass
class Visit:
    """How to reach one key page: as whom, and by a GET of ``url`` or by ``action`` (a form post)."""

    name: str
    who: str | None
    url: str
    mobile: bool = False
    action: Callable | None = None


@dataclass
class KeyPage:
    name: str
    lang: str
    url: str
    status: int
    html_file: Path
    violations: list[dict] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def describe_violations(self) -> str:
        lines = [f"{len(self.violations)} axe violation(s) on {self.name} ({self.lang}) {self.url}:"]
        for violation in self.violations:
            lines.append(f"- {violation['id']} [{violation['impact']}] {violation['help']} ({violation['helpUrl']})")
            for node in violation["nodes"]:
                lines.append(f"    {node['target']}: {node['summary']}")
        return "\n".join(lines)


class KeyPages(dict):
    """``(lang, name)`` → KeyPage."""

    def get_page(self, lang: str, name: str) -> KeyPage:
        return self[(lang, name)]


def _id_from(url: str, pattern: str) -> int:
    found = re.search(pattern, url)
    assert found, f"{pattern} not in {url}"
    return int(found.group(1))


def _draft_assessment(page, org_id: int) -> int:
    """The organisation's draft self-assessment, started if there is none."""
    page.goto(f"/organisations/{org_id}/assessments/")
    resume = page.locator("main .draft-card a[href$='/continue']")
    if resume.count():
        return _id_from(resume.get_attribute("href"), r"/assessments/(\d+)/")
    page.locator("main form[action$='/assessments/start'] [type=submit]").click()
    page.wait_for_url(re.compile(r"/steps/1"))
    return _id_from(page.url, r"/assessments/(\d+)/")


def _step_count(page, steps_url: str) -> int:
    page.goto(f"{steps_url}/1")
    return page.locator("nav.step-nav button[value^='step-']").count()


def _discover(open_page, server) -> list[Visit]:
    """Find (and where needed create) the objects behind the key pages; the visits, in order."""
    org_name = "SELECT id FROM organisation WHERE name = :name"
    visits = [
        Visit("home", None, "/"),
        Visit("register", None, "/auth/register"),
        Visit("register-errors", None, "/auth/register", action=_register_with_errors),
        Visit("log-in", None, "/auth/login"),
        Visit("log-in-error", None, "/auth/login", action=_log_in_wrongly),
        Visit("open-data", None, "/open-data/"),
        Visit("verify", None, "/verify"),
    ]

    # A household business on a phone: the short track, results, recommendations, applying, the plan.
    who, name = HOUSEHOLD
    page = open_page(DEMO_LOGINS[who], mobile=True)
    org_id = server.scalar(org_name, name=name)
    base = f"/organisations/{org_id}"
    draft = _draft_assessment(page, org_id)
    steps = f"{base}/assessments/{draft}/steps"
    assert _step_count(page, steps) == SHORT_STEPS
    page.goto(f"{base}/assessments/")
    results = page.locator("main table.history a[href$='/results']").first.get_attribute("href")
    page.goto(f"{base}/recommendations/")
    apply_url = page.locator("main a[href*='/applications/new?programme=']").first.get_attribute("href")
    page.goto(apply_url)
    page.locator("main form[action*='/applications/new'] [type=submit]").click()
    page.wait_for_url(re.compile(r"/applications/\d+$"))
    application_form = page.url.removeprefix(server.base_url)
    page.goto(f"{base}/plans/")
    create_plan = page.locator("main form[action$='/plans/refresh'] [type=submit]")
    if create_plan.count():
        create_plan.click()
    page.wait_for_url(re.compile(r"/plans/\d+$"))
    plan = page.url.removeprefix(server.base_url)
    page.context.close()
    visits += [
        Visit("assessment", who, f"{base}/assessments/", mobile=True),
        *(Visit(f"short-step-{n}", who, f"{steps}/{n}", mobile=True) for n in range(1, SHORT_STEPS + 1)),
        Visit("assessment-review", who, f"{base}/assessments/{draft}/review", mobile=True),
        Visit("results", who, results, mobile=True),
        Visit("recommendations", who, f"{base}/recommendations/", mobile=True),
        Visit("application-start", who, apply_url, mobile=True),
        Visit("application-form", who, application_form, mobile=True),
        Visit("plan", who, plan, mobile=True),
    ]

    # An enterprise: every step of the full track; a business's application waiting for information.
    who, name = ENTERPRISE
    page = open_page(DEMO_LOGINS[who])
    org_id = server.scalar(org_name, name=name)
    draft = _draft_assessment(page, org_id)
    steps = f"/organisations/{org_id}/assessments/{draft}/steps"
    assert _step_count(page, steps) == FULL_STEPS
    page.context.close()
    visits += [Visit(f"full-step-{n}", who, f"{steps}/{n}") for n in range(1, FULL_STEPS + 1)]
    who, name = INFO_REQUESTED
    org_id = server.scalar(org_name, name=name)
    app_id = server.scalar("SELECT id FROM application WHERE organisation_id = :org AND status = 'info_requested'",
                           org=org_id)
    visits.append(Visit("application-info-requested", who, f"/organisations/{org_id}/applications/{app_id}"))

    # The department's staff.
    in_review = server.scalar("SELECT a.id FROM application a JOIN organisation o ON o.id = a.organisation_id "
                              "WHERE o.name = :name AND a.status = 'in_review'", name=ENTERPRISE[1])
    recommended = server.scalar("SELECT a.id FROM application a JOIN organisation o ON o.id = a.organisation_id "
                                "WHERE o.name = :name AND a.status = 'recommended'", name=RECOMMENDED)
    visits += [
        Visit("review-queue", "reviewer", "/review/"),
        Visit("review-application", "reviewer", f"/review/applications/{in_review}"),
        Visit("review-approval", "approver", f"/review/applications/{recommended}"),
        Visit("dashboard", "reviewer", "/dashboard/"),
    ]
    assert tuple(visit.name for visit in visits) == PAGE_NAMES
    return visits


def _register_with_errors(page):
    """The registration form sent back with mistakes (it must stay accessible with its messages)."""
    page.goto("/auth/register")
    page.fill("#full_name", "Bảy")
    page.fill("#login", "not a login")
    page.fill("#password", "mot-mat-khau-du-dai")
    page.fill("#password_confirm", "mot-mat-khau-khac-han")
    page.check("#accept_terms")
    with page.expect_navigation() as navigation:
        page.locator("main form[action='/auth/register'] [type=submit]").click()
    return navigation.value


def _log_in_wrongly(page):
    page.goto("/auth/login")
    page.fill("#login", "0999000111")
    page.fill("#password", "not-the-password")
    with page.expect_navigation() as navigation:
        page.locator("main form[action='/auth/login'] [type=submit]").click()
    return navigation.value


_AXE_RUN = """async (tags) => {
    const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
    return result.violations.map(v => ({
        id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
        nodes: v.nodes.slice(0, 8).map(n => ({target: n.target.join(' '),
                                              summary: (n.failureSummary || '').replace(/\\s+/g, ' ').slice(0, 300)})),
    }));
}"""


def _check(page, axe_source: str, visit: Visit, lang: str, folder: Path) -> KeyPage:
    problems: list[str] = []

    def on_console(message):
        if message.type == "error" and "Content Security Policy" in message.text:
            problems.append(message.text)

    def on_page_error(error):
        problems.append(f"script error: {error}")

    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    response = visit.action(page) if visit.action else page.goto(visit.url)
    assert response is not None, f"no response for {visit.name}"
    html_file = folder / f"{lang}-{visit.name}.html"
    html_file.write_bytes(response.body())
    assert page.locator("html").get_attribute("lang") == lang, f"{visit.name} is not in {lang}"
    page.evaluate(axe_source)
    violations = page.evaluate(_AXE_RUN, list(AXE_TAGS))
    if violations:
        page.screenshot(path=str(folder / f"{lang}-{visit.name}.png"), full_page=True)
    page.remove_listener("console", on_console)
    page.remove_listener("pageerror", on_page_error)
    return KeyPage(visit.name, lang, page.url, response.status, html_file, violations, problems)


def crawl(open_page, server, folder: Path) -> KeyPages:
    """Visit every key page in every language; axe results and the served HTML of each."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    visits = _discover(open_page, server)
    axe_source = AXE_JS.read_text(encoding="utf-8")
    results = KeyPages()
    for lang in LANGUAGES:
        groups: dict[tuple[str | None, bool], list[Visit]] = {}
        for visit in visits:
            groups.setdefault((visit.who, visit.mobile), []).append(visit)
        for (who, mobile), group in groups.items():
            page = open_page(DEMO_LOGINS[who] if who else None, mobile=mobile)
            page.goto("/")
            set_language(page, lang)
            for visit in group:
                results[(lang, visit.name)] = _check(page, axe_source, visit, lang, folder)
            page.context.close()
    (folder / "summary.json").write_text(json.dumps(
        {f"{lang}-{name}": [v["id"] for v in page.violations] for (lang, name), page in results.items()},
        indent=1, ensure_ascii=False), encoding="utf-8")
    return results
