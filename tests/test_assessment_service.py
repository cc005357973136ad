"""Drafts saved per question, resume, submit, history, and the peer benchmark computed in SQL."""

import statistics

import pytest

from app.extensions import db
from app.models import AssessmentStatus, AuditEvent, OrganisationKind, SizeClass
from app.services import assessments, frameworks, scoring
from tests.assessment_helpers import answer_for, full_answers
from tests.factories import OrganisationFactory, UserFactory


@pytest.fixture
def owner():
    return UserFactory()


@pytest.fixture
def organisation(owner):
    return OrganisationFactory(owner=owner)


def _submitted(organisation, user, strength="best", overrides=None):
    draft = assessments.start(organisation, user)
    framework = assessments.framework_of(draft)
    answers = full_answers(framework, draft.track, strength)
    answers.update(overrides or {})
    assert assessments.save_answers(draft, user, answers) == {}
    assessments.submit(draft, user)
    db.session.commit()
    return draft


def test_enterprise_gets_full_track_and_household_gets_short(owner):
    enterprise = OrganisationFactory(owner=owner)
    household = OrganisationFactory(owner=owner, kind=OrganisationKind.HOUSEHOLD_BUSINESS)
    draft = assessments.start(enterprise, owner)
    short = assessments.start(household, owner)
    assert (draft.track, short.track) == ("full", "short")
    current = frameworks.current_framework()
    assert draft.framework_ref == current.ref
    assert len(current.questions_for("short")) < len(current.questions_for("full"))


def test_start_returns_the_open_draft_instead_of_a_second_one(organisation, owner):
    first = assessments.start(organisation, owner)
    db.session.commit()
    assert assessments.start(organisation, owner).id == first.id


def test_valid_answers_are_saved_even_when_others_in_the_step_are_invalid(organisation, owner):
    draft = assessments.start(organisation, owner)
    framework = assessments.framework_of(draft)
    first, second = framework.questions_for("full")[:2]
    errors = assessments.save_answers(draft, owner, {first.id: answer_for(first), second.id: "no-such-option"})
    db.session.commit()
    assert set(errors) == {second.id}
    assert draft.answer_map == {first.id: answer_for(first)}


def test_two_members_editing_the_same_step_lose_nothing(organisation, owner):
    """Each page shows what it loaded; untouched questions never overwrite a colleague's answer."""
    colleague = UserFactory()
    draft = assessments.start(organisation, owner)
    db.session.commit()
    framework = assessments.framework_of(draft)
    q1, q2 = framework.questions_for("full")[:2]
    shown_to_both = {q1.id: None, q2.id: None}
    # The owner answers q1; the colleague, whose page still shows both blank, answers q2.
    assessments.save_answers(draft, owner, {q1.id: answer_for(q1), q2.id: None}, shown_to_both)
    db.session.commit()
    assessments.save_answers(draft, colleague, {q1.id: None, q2.id: answer_for(q2, "worst")}, shown_to_both)
    db.session.commit()
    assert draft.answer_map == {q1.id: answer_for(q1), q2.id: answer_for(q2, "worst")}
    # Both change q1: the last save wins.
    assessments.save_answers(draft, owner, {q1.id: answer_for(q1, "worst")}, {q1.id: answer_for(q1)})
    assessments.save_answers(draft, colleague, {q1.id: answer_for(q1, "middle")}, {q1.id: answer_for(q1)})
    db.session.commit()
    assert draft.answer_map[q1.id] == answer_for(q1, "middle")


def test_progress_resumes_at_the_first_unanswered_question(organisation, owner):
    draft = assessments.start(organisation, owner)
    framework = assessments.framework_of(draft)
    first_pillar = framework.pillars[0].code
    answers = {q.id: answer_for(q) for q in framework.pillar_questions("full", first_pillar)}
    assessments.save_answers(draft, owner, answers)
    db.session.commit()
    progress = assessments.progress(draft)
    assert progress.answered == len(answers)
    assert progress.resume_step == 1
    assert progress.first_unanswered == framework.pillar_questions("full", framework.pillars[1].code)[0].id
    assert 0 < progress.percent < 100


def test_submit_refuses_unanswered_questions_and_lists_them(organisation, owner):
    draft = assessments.start(organisation, owner)
    with pytest.raises(assessments.IncompleteAssessmentError) as raised:
        assessments.submit(draft, owner)
    assert len(raised.value.unanswered) == len(assessments.framework_of(draft).questions_for("full"))
    assert draft.status is AssessmentStatus.DRAFT


def test_submit_stores_scores_and_makes_it_the_latest(organisation, owner):
    first = _submitted(organisation, owner, "worst")
    assert first.status is AssessmentStatus.SUBMITTED and first.is_latest
    assert first.overall_score == 0 and first.overall_level == 0
    second = _submitted(organisation, owner, "best")
    db.session.refresh(first)
    assert not first.is_latest and second.is_latest
    assert second.overall_score == 100 and second.overall_level == 5
    assert set(second.pillar_score_map) == {p.code for p in frameworks.current_framework().pillars}
    actions = {e.action for e in db.session.scalars(db.select(AuditEvent))}
    assert {"assessment.start", "assessment.save", "assessment.submit"} <= actions


def test_submitted_assessment_cannot_be_changed(organisation, owner):
    done = _submitted(organisation, owner)
    with pytest.raises(assessments.AssessmentError):
        assessments.save_answers(done, owner, {})
    with pytest.raises(assessments.AssessmentError):
        assessments.submit(done, owner)


def test_reassessment_is_prefilled_and_deltas_show_the_change(organisation, owner):
    first = _submitted(organisation, owner, "middle")
    draft = assessments.start(organisation, owner)
    assert draft.previous_id == first.id
    assert draft.answer_map == first.answer_map
    framework = assessments.framework_of(draft)
    assessments.save_answers(draft, owner, full_answers(framework, "full", "best"))
    assessments.submit(draft, owner)
    db.session.commit()
    previous = assessments.previous_submitted(draft)
    assert previous.id == first.id
    changes = assessments.deltas(draft, previous)
    for pillar, score in draft.pillar_score_map.items():
        assert changes[pillar] == round(score - first.pillar_score_map[pillar], 1)
    assert changes["overall"] > 0
    assert [a.id for a in assessments.history(organisation)] == [draft.id, first.id]


def _peer(owner, strength, sector="G", employees=8, overrides=None):
    org = OrganisationFactory(owner=owner, sector=sector, employees=employees)
    return _submitted(org, owner, strength, overrides)


def test_benchmark_is_hidden_below_ten_peers(organisation, owner):
    mine = _submitted(organisation, owner)
    for _ in range(9):
        _peer(owner, "middle")
    _peer(owner, "best", sector="A")  # another sector is not a peer
    benchmark = assessments.peer_benchmark(mine)
    assert benchmark.peers == 9 and not benchmark.available and benchmark.stats == {}


def test_benchmark_quartiles_match_a_direct_computation(organisation, owner):
    mine = _submitted(organisation, owner)
    framework = frameworks.current_framework()
    questions = framework.pillar_questions("full", "customer")
    peers = []
    for i in range(13):
        strength = ["worst", "middle", "best"][i % 3]
        overrides = {questions[0].id: answer_for(questions[0], "best")} if i % 2 else {}
        peers.append(_peer(owner, strength, overrides=overrides))
    # An earlier submission of a peer is not counted: only the latest one is.
    _submitted(peers[0].organisation, owner, "best")
    peers[0] = assessments.latest_submitted(peers[0].organisation)
    benchmark = assessments.peer_benchmark(mine)
    assert benchmark.available and benchmark.peers == 13
    for pillar in [p.code for p in framework.pillars]:
        values = [p.pillar_score_map[pillar] for p in peers]
        q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
        stats = benchmark.stats[pillar]
        assert (stats.q1, stats.median, stats.q3) == (round(q1, 1), round(median, 1), round(q3, 1))
    overall = [p.overall_score for p in peers]
    assert benchmark.stats["overall"].median == round(statistics.median(overall), 1)


def test_benchmark_narrows_to_size_class_when_enough_peers_share_it(organisation, owner):
    assert organisation.size_class is None or organisation.size_class == SizeClass.MICRO
    mine = _submitted(organisation, owner)
    for _ in range(10):
        _peer(owner, "middle", employees=8)
    for _ in range(3):
        _peer(owner, "best", employees=40)
    benchmark = assessments.peer_benchmark(mine)
    if organisation.size_class is None:
        assert not benchmark.by_size_class and benchmark.peers == 13
    else:
        assert benchmark.by_size_class and benchmark.peers == 10


def test_old_assessments_keep_their_framework_version(organisation, owner, tmp_path, monkeypatch):
    done = _submitted(organisation, owner, "middle")
    source = frameworks.FRAMEWORKS_DIR / f"{done.framework_ref}.yaml"
    (tmp_path / source.name).write_text(source.read_text())
    newer = source.read_text().replace("version: 1", "version: 2", 1)
    newer = newer.replace("published: 2026-11-01", "published: 2026-11-02", 1)
    (tmp_path / source.name.replace("@1", "@2")).write_text(newer)
    monkeypatch.setattr(frameworks, "FRAMEWORKS_DIR", tmp_path)
    frameworks.clear_cache()
    try:
        assert frameworks.current_framework().version == 2
        before = (done.overall_score, done.framework_version)
        draft = assessments.start(organisation, owner)
        assert draft.framework_version == 2
        assert (done.overall_score, done.framework_version) == before
        assert assessments.framework_of(done).version == 1
        rescored = scoring.score(assessments.framework_of(done), done.track, done.answer_map)
        assert rescored.overall == done.overall_score
    finally:
        frameworks.clear_cache()


def test_two_members_starting_at_the_same_moment_share_one_draft(organisation, owner, monkeypatch):
    """The unique index on drafts settles the race that the "is there a draft?" check cannot."""
    colleague = UserFactory()
    first = assessments.start(organisation, owner)
    db.session.commit()
    real_current_draft = assessments.current_draft
    calls = iter([None])
    monkeypatch.setattr(assessments, "current_draft", lambda org: next(calls, None) or real_current_draft(org))
    second = assessments.start(organisation, colleague)
    db.session.commit()
    assert second.id == first.id
    drafts = db.session.scalars(db.select(assessments.Assessment).where(
        assessments.Assessment.organisation_id == organisation.id)).all()
    assert len(drafts) == 1
