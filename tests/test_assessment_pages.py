"""The self-assessment pages through the browser's eyes: steps, autosave, resume, review, submit, results,
peers, history and who may see what. Real database, real forms (the client adds CSRF tokens)."""

from __future__ import annotations

import json
import re
import statistics
import xml.etree.ElementTree as ET
from contextlib import contextmanager
from urllib.parse import urlsplit

import pytest
from markupsafe import escape
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import Assessment, AssessmentStatus, AuditEvent, Organisation, OrganisationKind, Role, SizeClass
from app.models.assessment import AssessmentAnswer
from app.models.organisation import MemberRole, Membership
from app.models.types import utcnow
from app.services import assessments, frameworks
from tests.assessment_helpers import answer_for, full_answers
from tests.factories import OrganisationFactory, UserFactory

SVG_NS = "{http://www.w3.org/2000/svg}"


# --- helpers ------------------------------------------------------------------------------------------


def login(client, user) -> None:
    """Log the client in by writing the Flask-Login session (no login form, no rate limit)."""
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True


def logout(client) -> None:
    with client.session_transaction() as session:
        session.clear()


@contextmanager
def count_queries():
    statements: list[str] = []

    def before_cursor_execute(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", before_cursor_execute)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", before_cursor_execute)


def page_svg(html: str) -> ET.Element:
    """The radar chart of a page, parsed (our own markup, so no external entities to fear)."""
    return ET.fromstring(re.search(r'<svg[^>]*class="radar".*?</svg>', html, re.S).group(0))  # noqa: S314


def base(org) -> str:
    return f"/organisations/{org.id}/assessments"


def step_url(org, assessment, step: int) -> str:
    return f"{base(org)}/{assessment.id}/steps/{step}"


def form_value(html: str, name: str) -> str:
    """The value of a hidden input, unescaped, as the browser would send it back."""
    match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html) or re.search(
        rf'value="([^"]*)"[^>]*name="{name}"', html)
    assert match, f"no input {name}"
    return (match.group(1).replace("&#34;", '"').replace("&quot;", '"').replace("&#39;", "'")
            .replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))


def post_data(questions, answers: dict, shown: str, action: str = "next") -> dict:
    """The form fields a browser sends for these answers (checkboxes as lists, scales as digits)."""
    data: dict = {"shown": shown, "action": action}
    for question in questions:
        value = answers.get(question.id)
        if value is None:
            continue
        data[f"q-{question.id}"] = value if isinstance(value, list) else str(value)
    return data


def framework():
    return frameworks.current_framework()


def pillar_questions(track: str, step: int):
    fw = framework()
    return fw.pillar_questions(track, fw.pillars[step - 1].code)


def submit_via_service(organisation, user, strength="best", overrides=None) -> Assessment:
    draft = assessments.start(organisation, user)
    answers = full_answers(assessments.framework_of(draft), draft.track, strength)
    answers.update(overrides or {})
    assert assessments.save_answers(draft, user, answers) == {}
    assessments.submit(draft, user)
    db.session.commit()
    return draft


def start_draft(client, org) -> Assessment:
    response = client.post(f"{base(org)}/start", data={})
    assert response.status_code == 303
    return db.session.scalar(select(Assessment).where(Assessment.organisation_id == org.id,
                                                      Assessment.status == AssessmentStatus.DRAFT))


# --- fixtures -----------------------------------------------------------------------------------------


@pytest.fixture
def owner():
    return UserFactory(locale="en")


@pytest.fixture
def household(owner):
    return OrganisationFactory(owner=owner, kind=OrganisationKind.HOUSEHOLD_BUSINESS, name="Tạp hoá Cô Ba",
                               employees=2, annual_revenue_vnd=500_000_000, capital_vnd=None)


@pytest.fixture
def enterprise(owner):
    return OrganisationFactory(owner=owner, name="Công ty TNHH Minh Phát")


def add_member(org, **kwargs):
    user = UserFactory(**kwargs)
    db.session.add(Membership(organisation_id=org.id, user_id=user.id, role=MemberRole.MEMBER))
    db.session.commit()
    return user


# --- the whole journey --------------------------------------------------------------------------------


def test_household_answers_six_steps_submits_and_sees_its_results(client, owner, household):
    """Plain form posts only (no JavaScript): each step saves and moves on, then review, submit, results."""
    login(client, owner)
    index = client.get(base(household) + "/")
    assert index.status_code == 200
    assert "Start your first self-assessment" in index.text
    draft = start_draft(client, household)
    assert draft.track == "short"
    for step in range(1, 7):
        page = client.get(step_url(household, draft, step))
        assert page.status_code == 200
        assert f"Step {step} of 6" in page.text
        assert "<progress" in page.text
        questions = pillar_questions("short", step)
        for question in questions:
            assert f'id="q-{question.id}"' in page.text
            assert escape(question.text.en) in page.text
            assert escape(question.help.en) in page.text
        answers = {q.id: answer_for(q, "best") for q in questions}
        response = client.post(step_url(household, draft, step),
                               data=post_data(questions, answers, form_value(page.text, "shown")))
        assert response.status_code == 303
        expected = f"/steps/{step + 1}" if step < 6 else "/review"
        assert urlsplit(response.headers["Location"]).path.endswith(expected)
    review = client.get(f"{base(household)}/{draft.id}/review")
    assert "All questions are answered" in review.text
    submitted = client.post(f"{base(household)}/{draft.id}/submit", data={})
    assert submitted.status_code == 303
    assert submitted.headers["Location"].endswith(f"/{draft.id}/results")
    db.session.refresh(draft)
    assert draft.status is AssessmentStatus.SUBMITTED and draft.overall_score == 100.0

    results = client.get(f"{base(household)}/{draft.id}/results")
    assert results.status_code == 200
    html = results.text
    assert "Leading" in html  # level 5's name
    assert escape(framework().level(5).description.en) in html
    root = page_svg(html)
    assert root.get("role") == "img"
    assert len(root.findall(f".//{SVG_NS}line[@class='radar-axis']")) == 6
    table = re.search(r'<table class="scores">.*?</table>', html, re.S).group(0)
    for pillar in framework().pillars:
        assert pillar.name.en in table
    assert table.count("100.0") == 7  # six pillars and the overall row
    assert "not yet enough comparable organisations" in html
    actions = [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert actions.count("assessment.save") == 6
    assert {"assessment.start", "assessment.submit"} <= set(actions)


def test_back_also_saves_and_later_returns_to_the_organisation(client, owner, enterprise):
    login(client, owner)
    draft = start_draft(client, enterprise)
    page = client.get(step_url(enterprise, draft, 2))
    questions = pillar_questions("full", 2)
    first = questions[0]
    back = client.post(step_url(enterprise, draft, 2),
                       data=post_data(questions, {first.id: answer_for(first)}, form_value(page.text, "shown"),
                                      "back"))
    assert back.status_code == 303 and back.headers["Location"].endswith("/steps/1")
    assert draft.answer_map == {first.id: answer_for(first)}
    second = questions[1]
    page = client.get(step_url(enterprise, draft, 2))
    assert 'checked' in page.text
    later = client.post(step_url(enterprise, draft, 2),
                        data=post_data(questions, {first.id: answer_for(first), second.id: answer_for(second)},
                                       form_value(page.text, "shown"), "later"))
    assert later.status_code == 303
    assert urlsplit(later.headers["Location"]).path == f"/organisations/{enterprise.id}"
    assert second.id in draft.answer_map
    followed = client.get(later.headers["Location"])
    assert "Your answers are saved" in followed.text
    jump = client.post(step_url(enterprise, draft, 2),
                       data=post_data(questions, {}, form_value(page.text, "shown"), "step-5"))
    assert jump.headers["Location"].endswith("/steps/5")


def test_start_prefills_from_the_previous_submission(client, owner, enterprise):
    previous = submit_via_service(enterprise, owner, "middle")
    login(client, owner)
    draft = start_draft(client, enterprise)
    assert draft.id != previous.id and draft.previous_id == previous.id
    assert draft.answer_map == previous.answer_map
    page = client.get(step_url(enterprise, draft, 1))
    assert json.loads(form_value(page.text, "shown")) == {
        q.id: previous.answer_map[q.id] for q in pillar_questions("full", 1)
    }
    # Starting again while a draft is open carries on with it.
    again = client.post(f"{base(enterprise)}/start", data={})
    assert again.status_code == 303
    assert db.session.scalar(select(db.func.count(Assessment.id)).where(
        Assessment.status == AssessmentStatus.DRAFT)) == 1


# --- autosave, resume and two members -----------------------------------------------------------------


def test_autosave_answers_json_and_keeps_the_page_current(client, owner, enterprise):
    login(client, owner)
    draft = start_draft(client, enterprise)
    page = client.get(step_url(enterprise, draft, 1))
    assert 'src="/static/js/assessment.js"' in page.text and "defer" in page.text
    questions = pillar_questions("full", 1)
    multiple = next(q for q in questions if q.type == "multiple")
    single = next(q for q in questions if q.type == "single")
    none_option = next(o for o in multiple.options if o.exclusive)
    other_option = next(o for o in multiple.options if not o.exclusive)
    answers = {single.id: answer_for(single), multiple.id: [none_option.id, other_option.id]}
    response = client.post(step_url(enterprise, draft, 1),
                           data=post_data(questions, answers, form_value(page.text, "shown"), "save"),
                           headers={"X-Requested-With": "fetch", "Accept": "application/json"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["saved"] is True
    assert set(body["errors"]) == {multiple.id}
    assert none_option.text.en in body["errors"][multiple.id]
    assert "cannot be ticked together" in body["errors"][multiple.id]
    assert re.fullmatch(r"\d\d:\d\d", body["saved_at"])
    assert body["progress"]["answered"] == 1
    # The page's "shown" now holds what the page displays, so a later save does not undo a colleague's.
    assert json.loads(body["shown"])[single.id] == answer_for(single)
    assert json.loads(body["shown"])[multiple.id] is None
    assert draft.answer_map == {single.id: answer_for(single)}


def test_resume_across_logins_goes_to_the_first_unanswered_question(client, owner, enterprise):
    colleague = add_member(enterprise, locale="en")
    login(client, owner)
    draft = start_draft(client, enterprise)
    for step in (1, 2):
        page = client.get(step_url(enterprise, draft, step))
        questions = pillar_questions("full", step)
        client.post(step_url(enterprise, draft, step),
                    data=post_data(questions, {q.id: answer_for(q) for q in questions},
                                   form_value(page.text, "shown"), "save"),
                    headers={"X-Requested-With": "fetch"})
    logout(client)
    login(client, colleague)
    index = client.get(base(enterprise) + "/")
    assert "Continue where you left off" in index.text
    assert "12 of 36 questions answered" in index.text
    resumed = client.get(f"{base(enterprise)}/{draft.id}/continue")
    assert resumed.status_code == 303
    first_of_step_3 = pillar_questions("full", 3)[0]
    location = resumed.headers["Location"]
    assert urlsplit(location).path.endswith("/steps/3")
    assert urlsplit(location).fragment == f"q-{first_of_step_3.id}"
    page = client.get(step_url(enterprise, draft, 1))
    for question in pillar_questions("full", 1):
        assert json.loads(form_value(page.text, "shown"))[question.id] == answer_for(question)


def test_two_members_posting_the_same_step_lose_nothing(app, owner, enterprise):
    colleague = add_member(enterprise)
    first_client, second_client = app.test_client(), app.test_client()
    login(first_client, owner)
    login(second_client, colleague)
    draft = start_draft(first_client, enterprise)
    questions = pillar_questions("full", 1)
    q1, q2 = questions[0], questions[2]
    # Both open step 1 while it is blank.
    shown_first = form_value(first_client.get(step_url(enterprise, draft, 1)).text, "shown")
    shown_second = form_value(second_client.get(step_url(enterprise, draft, 1)).text, "shown")
    first_client.post(step_url(enterprise, draft, 1), data=post_data(questions, {q1.id: answer_for(q1)}, shown_first))
    second_client.post(step_url(enterprise, draft, 1),
                       data=post_data(questions, {q2.id: answer_for(q2, "worst")}, shown_second))
    assert draft.answer_map == {q1.id: answer_for(q1), q2.id: answer_for(q2, "worst")}
    # The second member reloads, sees both answers, and changes the first member's answer: last save wins.
    shown_again = form_value(second_client.get(step_url(enterprise, draft, 1)).text, "shown")
    second_client.post(step_url(enterprise, draft, 1),
                       data=post_data(questions, {q1.id: answer_for(q1, "worst"), q2.id: answer_for(q2, "worst")},
                                      shown_again))
    assert draft.answer_map == {q1.id: answer_for(q1, "worst"), q2.id: answer_for(q2, "worst")}


def test_a_colleagues_save_landing_at_the_same_moment_does_not_break_the_page(client, owner, enterprise):
    """Both insert the same new answer row; the page retries on fresh data and the last save wins."""
    colleague = add_member(enterprise)
    login(client, owner)
    draft = start_draft(client, enterprise)
    questions = pillar_questions("full", 1)
    question = next(q for q in questions if q.type == "single")
    shown = form_value(client.get(step_url(enterprise, draft, 1)).text, "shown")

    def colleague_saves_first(_session, _context, _instances):
        with db.engine.begin() as connection:
            connection.execute(AssessmentAnswer.__table__.insert().values(
                assessment_id=draft.id, question_id=question.id, value=answer_for(question, "worst"),
                updated_by_id=colleague.id, updated_at=utcnow()))

    event.listen(Session, "before_flush", colleague_saves_first, once=True)
    try:
        response = client.post(step_url(enterprise, draft, 1),
                               data=post_data(questions, {question.id: answer_for(question)}, shown))
    finally:
        if event.contains(Session, "before_flush", colleague_saves_first):
            event.remove(Session, "before_flush", colleague_saves_first)
    assert response.status_code == 303
    assert draft.answer_map == {question.id: answer_for(question)}


# --- validation, review, submit -----------------------------------------------------------------------


def test_none_of_these_with_other_boxes_is_refused_with_a_message_and_the_rest_is_saved(client, owner, enterprise):
    login(client, owner)
    draft = start_draft(client, enterprise)
    questions = pillar_questions("full", 1)
    multiple = next(q for q in questions if q.type == "multiple")
    single = next(q for q in questions if q.type == "single")
    exclusive = next(o for o in multiple.options if o.exclusive)
    page = client.get(step_url(enterprise, draft, 1))
    answers = {single.id: answer_for(single), multiple.id: [exclusive.id, multiple.options[0].id]}
    response = client.post(step_url(enterprise, draft, 1),
                           data=post_data(questions, answers, form_value(page.text, "shown")))
    assert response.status_code == 400
    assert "Please check these answers" in response.text
    assert f'href="#q-{multiple.id}"' in response.text
    assert "cannot be ticked together with other boxes" in response.text
    assert draft.answer_map == {single.id: answer_for(single)}
    # The boxes the user ticked are still ticked, so they can fix them.
    assert re.search(rf'id="q-{multiple.id}-{exclusive.id}"[^>]*checked', response.text)


def test_tampered_values_get_a_plain_message_not_an_error_page(client, owner, enterprise):
    login(client, owner)
    draft = start_draft(client, enterprise)
    questions = pillar_questions("full", 1)
    single = next(q for q in questions if q.type == "single")
    scale = next(q for q in questions if q.type == "scale")
    response = client.post(step_url(enterprise, draft, 1),
                           data={"shown": "{not json", f"q-{single.id}": "<script>", f"q-{scale.id}": "9"})
    assert response.status_code == 400
    assert response.text.count("Please choose one of the options shown.") >= 2
    assert "<script>" not in response.text.split("<main", 1)[1]
    assert draft.answer_map == {}


def test_review_lists_unanswered_questions_by_pillar_with_links(client, owner, enterprise):
    login(client, owner)
    draft = start_draft(client, enterprise)
    fw = framework()
    answers = full_answers(fw, "full")
    missing = [fw.pillar_questions("full", "strategy")[1], fw.pillar_questions("full", "data")[0]]
    for question in missing:
        answers.pop(question.id)
    assessments.save_answers(draft, owner, answers)
    db.session.commit()
    review = client.get(f"{base(enterprise)}/{draft.id}/review")
    assert review.status_code == 200
    section = review.text.split('id="unanswered-heading"', 1)[1].split("</section>", 1)[0]
    assert fw.pillar("strategy").name.en in section and fw.pillar("data").name.en in section
    assert fw.pillar("customer").name.en not in section
    assert f'/steps/2#q-{missing[0].id}"' in section
    assert f'/steps/6#q-{missing[1].id}"' in section
    assert "Submit and see my results" not in review.text

    refused = client.post(f"{base(enterprise)}/{draft.id}/submit", data={})
    assert refused.status_code == 400
    assert "could not be submitted" in refused.text
    assert f"#q-{missing[0].id}" in refused.text and f"#q-{missing[1].id}" in refused.text
    assert draft.status is AssessmentStatus.DRAFT


def test_draft_results_go_to_the_form_and_a_submitted_one_cannot_be_edited(client, owner, enterprise):
    login(client, owner)
    draft = start_draft(client, enterprise)
    to_form = client.get(f"{base(enterprise)}/{draft.id}/results")
    assert to_form.status_code == 303 and to_form.headers["Location"].endswith(f"/{draft.id}/continue")
    assessments.save_answers(draft, owner, full_answers(framework(), "full"))
    assessments.submit(draft, owner)
    db.session.commit()
    results_path = f"{base(enterprise)}/{draft.id}/results"
    for path in ("/steps/1", "/review", "/continue"):
        response = client.get(f"{base(enterprise)}/{draft.id}{path}")
        assert response.status_code == 303 and response.headers["Location"].endswith(results_path), path
    for path in ("/steps/1", "/submit", "/discard"):
        response = client.post(f"{base(enterprise)}/{draft.id}{path}", data={})
        assert response.status_code == 303 and response.headers["Location"].endswith(results_path), path
    autosave = client.post(f"{base(enterprise)}/{draft.id}/steps/1", data={}, headers={"X-Requested-With": "fetch"})
    assert autosave.status_code == 409 and autosave.get_json()["saved"] is False


def test_discarding_a_draft(client, owner, enterprise):
    login(client, owner)
    draft = start_draft(client, enterprise)
    draft_id = draft.id
    response = client.post(f"{base(enterprise)}/{draft_id}/discard", data={})
    assert response.status_code == 303
    assert db.session.get(Assessment, draft_id) is None
    assert "assessment.discard" in {e.action for e in db.session.scalars(select(AuditEvent))}


# --- access -------------------------------------------------------------------------------------------


def _all_urls(org, draft, submitted):
    prefix = base(org)
    return [
        ("GET", prefix + "/"), ("POST", prefix + "/start"),
        ("GET", f"{prefix}/{draft.id}/continue"), ("GET", f"{prefix}/{draft.id}/steps/1"),
        ("POST", f"{prefix}/{draft.id}/steps/1"), ("GET", f"{prefix}/{draft.id}/review"),
        ("POST", f"{prefix}/{draft.id}/submit"), ("POST", f"{prefix}/{draft.id}/discard"),
        ("GET", f"{prefix}/{draft.id}/results"), ("GET", f"{prefix}/{submitted.id}/results"),
        ("GET", f"{prefix}/{submitted.id}/steps/1"),
    ]


@pytest.fixture
def assessed(owner, enterprise):
    """An enterprise with a submitted assessment and an open draft."""
    submitted = submit_via_service(enterprise, owner)
    draft = assessments.start(enterprise, owner)
    db.session.commit()
    return submitted, draft


def test_another_business_gets_404_on_every_url(client, enterprise, assessed):
    submitted, draft = assessed
    stranger = UserFactory()
    own = OrganisationFactory(owner=stranger)
    login(client, stranger)
    for method, url in _all_urls(enterprise, draft, submitted):
        assert client.open(url, method=method, data={}).status_code == 404, url
    # Its own organisation id with the other organisation's assessment ids: still 404.
    for method, url in _all_urls(enterprise, draft, submitted):
        if f"/assessments/{draft.id}/" in url or f"/assessments/{submitted.id}/" in url:
            swapped = url.replace(f"/organisations/{enterprise.id}/", f"/organisations/{own.id}/")
            assert client.open(swapped, method=method, data={}).status_code == 404, swapped
    assert client.get("/organisations/2147483648/assessments/").status_code == 404
    assert client.get(f"{base(enterprise)}/99999999999/results").status_code == 404


def test_staff_read_submitted_results_but_cannot_edit(client, enterprise, assessed):
    submitted, draft = assessed
    for role in (Role.REVIEWER, Role.APPROVER, Role.ADMIN):
        login(client, UserFactory(roles=[role], locale="en"))
        results = client.get(f"{base(enterprise)}/{submitted.id}/results")
        assert results.status_code == 200, role
        assert "Scores by pillar" in results.text
        assert "Start a new self-assessment" not in results.text
        index = client.get(base(enterprise) + "/")
        assert index.status_code == 200 and "Continue where you left off" not in index.text
        for method, url in _all_urls(enterprise, draft, submitted):
            if url.endswith(f"/{submitted.id}/results") or url.endswith("/assessments/"):
                continue
            assert client.open(url, method=method, data={}).status_code == 404, (role, url)
    assert db.session.get(Assessment, draft.id).status is AssessmentStatus.DRAFT


def test_anonymous_visitors_are_sent_to_log_in(client, enterprise, assessed):
    submitted, draft = assessed
    for method, url in _all_urls(enterprise, draft, submitted):
        response = client.open(url, method=method, data={})
        assert response.status_code == 302, url
        assert urlsplit(response.headers["Location"]).path == "/auth/login"


# --- results: peers, history, languages, queries ------------------------------------------------------


def _peers(count: int, sector: str = "G", size_class: SizeClass | None = None):
    """``count`` other enterprises of the same kind and sector, each with a submitted assessment."""
    strengths = ["worst", "middle", "best"]
    made = []
    for n in range(count):
        user = UserFactory()
        org = OrganisationFactory(owner=user, sector=sector, size_class=size_class)
        made.append(submit_via_service(org, user, strengths[n % 3]))
    return made


def test_peer_benchmark_hidden_below_ten_peers(client, owner, enterprise):
    mine = submit_via_service(enterprise, owner, "middle")
    _peers(9)
    _peers(3, sector="C")
    login(client, owner)
    html = client.get(f"{base(enterprise)}/{mine.id}/results").text
    assert "not yet enough comparable organisations" in html
    assert "Peer median" not in html and "Similar organisations: median" not in html


def test_peer_benchmark_shows_medians_and_quartiles_from_ten_peers(client, owner, enterprise):
    enterprise.size_class = SizeClass.MICRO
    mine = submit_via_service(enterprise, owner, "middle")
    peers = _peers(10, size_class=SizeClass.MICRO)
    _peers(2, size_class=SizeClass.SMALL)
    login(client, owner)
    html = client.get(f"{base(enterprise)}/{mine.id}/results").text
    assert "Peers: 10 organisations of the same kind, sector and size" in html
    overall = sorted(p.overall_score for p in peers)
    q1, median, q3 = statistics.quantiles(overall, n=4, method="inclusive")
    assert f"Similar organisations: median {median:.1f}, middle half between {q1:.1f} and {q3:.1f}." in html
    table = re.search(r'<table class="scores">.*?</table>', html, re.S).group(0)
    for pillar in framework().pillars:
        values = sorted(p.pillar_score_map[pillar.code] for p in peers)
        pq1, pmedian, pq3 = statistics.quantiles(values, n=4, method="inclusive")
        row = re.search(rf"<th scope=\"row\">{re.escape(pillar.name.en)}</th>(.*?)</tr>", table, re.S).group(1)
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        assert cells[-2].strip() == f"{pmedian:.1f}"
        assert cells[-1].strip() == f"{pq1:.1f} – {pq3:.1f}"


def test_peer_figures_follow_new_submissions_and_profile_changes(client, owner, enterprise):
    """The benchmark is cached per process; a submission or an edited profile must show at once."""
    mine = submit_via_service(enterprise, owner, "middle")
    peers = _peers(10)
    login(client, owner)
    url = f"{base(enterprise)}/{mine.id}/results"
    assert "Peers: 10 organisations" in client.get(url).text
    assert "Peers: 10 organisations" in client.get(url).text
    _peers(1)
    assert "Peers: 11 organisations" in client.get(url).text
    moved = db.session.get(Organisation, peers[0].organisation_id)
    moved.sector = "C"
    db.session.commit()
    assert "Peers: 10 organisations" in client.get(url).text
    moved = db.session.get(Organisation, peers[1].organisation_id)
    moved.sector = "C"
    db.session.commit()
    assert "not yet enough comparable organisations" in client.get(url).text


def test_history_and_changes_since_last_time(client, owner, enterprise):
    first = submit_via_service(enterprise, owner, "worst")
    second = submit_via_service(enterprise, owner, "best")
    login(client, owner)
    html = client.get(f"{base(enterprise)}/{second.id}/results").text
    assert "Change since last time" in html
    table = re.search(r'<table class="scores">.*?</table>', html, re.S).group(0)
    assert table.count("+100.0") == 7  # every pillar and overall went from 0 to 100
    assert f'/assessments/{first.id}/results"' in html
    svg = page_svg(html)
    assert svg.find(f".//{SVG_NS}polygon[@class='radar-previous']") is not None
    older = client.get(f"{base(enterprise)}/{first.id}/results").text
    assert "Change since last time" not in older
    assert f'/assessments/{second.id}/results"' in older
    index = client.get(base(enterprise) + "/").text
    assert index.count("See the results") == 2
    assert "Your previous answers are filled in" in index


def test_strengths_and_priorities_name_the_pillars_with_a_next_step(client, owner, enterprise):
    fw = framework()
    weak = fw.pillars[3]  # operations
    overrides = {q.id: answer_for(q, "worst") for q in fw.pillar_questions("full", weak.code)}
    done = submit_via_service(enterprise, owner, "best", overrides)
    login(client, owner)
    html = client.get(f"{base(enterprise)}/{done.id}/results").text
    priorities = html.split('id="priorities-heading"', 1)[1].split("</section>", 1)[0]
    strengths = html.split('id="strengths-heading"', 1)[1].split("</section>", 1)[0]
    assert weak.name.en in priorities
    assert "Issue electronic invoices" in priorities
    assert weak.name.en not in strengths
    assert fw.pillars[0].name.en in strengths


def test_texts_follow_the_users_language(client, household):
    fw = framework()
    vietnamese = add_member(household, locale="vi")
    english = add_member(household, locale="en")
    draft = assessments.start(household, vietnamese)
    db.session.commit()
    question = pillar_questions("short", 1)[0]
    login(client, vietnamese)
    page = client.get(step_url(household, draft, 1)).text
    assert escape(fw.pillars[0].name.vi) in page and escape(question.text.vi) in page
    assert escape(question.text.en) not in page
    login(client, english)
    page = client.get(step_url(household, draft, 1)).text
    assert escape(fw.pillars[0].name.en) in page and escape(question.text.en) in page
    assert escape(question.text.vi) not in page
    done = submit_via_service(OrganisationFactory(owner=english), english)
    org_id = done.organisation_id
    html = client.get(f"/organisations/{org_id}/assessments/{done.id}/results").text
    assert fw.level(5).name.en in html and "100.0" in html
    login(client, add_member(db.session.get(type(household), org_id), locale="vi"))
    html = client.get(f"/organisations/{org_id}/assessments/{done.id}/results").text
    assert fw.level(5).name.vi in html and "100,0" in html
    assert fw.pillars[0].name.vi in ET.tostring(page_svg(html), encoding="unicode")


def test_results_page_stays_within_its_query_budget(client, owner, enterprise):
    """Peers and history must not add queries per row: the benchmark is computed in SQL."""
    submit_via_service(enterprise, owner, "worst")
    submit_via_service(enterprise, owner, "middle")
    latest = submit_via_service(enterprise, owner, "best")
    _peers(12, size_class=SizeClass.MICRO)
    enterprise.size_class = SizeClass.SMALL
    db.session.commit()
    _peers(3, size_class=SizeClass.SMALL)
    login(client, owner)
    url = f"{base(enterprise)}/{latest.id}/results"
    with count_queries() as statements:
        response = client.get(url)
    assert response.status_code == 200 and "Peer median" in response.text
    assert len(statements) <= 15, "\n".join(statements)
