"""Scoring: hand-checked examples, answer validation and properties over random answer sets."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.services import frameworks
from app.services.scoring import NON_FIELD_ERRORS, AnswerError, question_points, score
from tests.test_frameworks import minimal_framework_data, write_framework

SHIPPED = frameworks.current_framework(frameworks.DEFAULT_FRAMEWORK_ID)
TRACKS = [t.code for t in SHIPPED.tracks]
PROPERTY_SETTINGS = settings(max_examples=100, deadline=None)


@pytest.fixture()
def mini(tmp_path):
    return frameworks.load_file(write_framework(tmp_path, minimal_framework_data()))


def best_answer(question):
    if question.type == "scale":
        return 5
    if question.type == "single":
        return max(question.options, key=lambda o: o.score).id
    return [o.id for o in question.options if not o.exclusive]


def worst_answer(question):
    if question.type == "scale":
        return 0
    if question.type == "single":
        return min(question.options, key=lambda o: o.score).id
    return [o.id for o in question.options if o.exclusive]


def answer_strategy(question):
    """Any valid answer to ``question``."""
    if question.type == "scale":
        return st.integers(0, 5)
    if question.type == "single":
        return st.sampled_from([o.id for o in question.options])
    boxes = [o.id for o in question.options if not o.exclusive]
    none = [o.id for o in question.options if o.exclusive]
    return st.one_of(st.just(none), st.lists(st.sampled_from(boxes), min_size=1, unique=True))


@st.composite
def track_and_answers(draw, complete=False):
    """A track of the shipped framework and a valid (possibly partial) answer set for it."""
    track = draw(st.sampled_from(TRACKS))
    strategies = {q.id: answer_strategy(q) for q in SHIPPED.questions_for(track)}
    answers = draw(st.fixed_dictionaries(strategies) if complete else st.fixed_dictionaries({}, optional=strategies))
    return track, answers


def improved_answer(draw, question, current):
    """An answer to ``question`` that cannot be worth less than ``current`` (None = unanswered)."""
    if current is None:
        return draw(answer_strategy(question))
    if question.type == "scale":
        return draw(st.integers(current, 5))
    if question.type == "single":
        floor = question.option(current).score
        return draw(st.sampled_from([o.id for o in question.options if o.score >= floor]))
    boxes = [o.id for o in question.options if not o.exclusive]
    if question.option(current[0]).exclusive:
        return draw(st.lists(st.sampled_from(boxes), min_size=1, unique=True))
    unticked = [b for b in boxes if b not in current]
    if not unticked:
        return current
    return [*current, draw(st.sampled_from(unticked))]


# --- examples checked by hand -------------------------------------------------------------------------------


def test_hand_computed_example(mini):
    result = score(mini, "full", {"q_pay": "some", "q_sell": ["none"]})
    # customer: (33 + 0) / 2 = 16.5; data: nothing answered = 0; overall 8.25 rounds half up to 8.3.
    assert result.pillar_scores == {"customer": 16.5, "data": 0.0}
    assert result.overall == 8.3
    assert result.level == 0
    assert result.unanswered == ("q_backup", "q_records")
    assert result.weakest == ("data", "customer")
    assert [(p.answered, p.questions) for p in result.pillars] == [(2, 2), (0, 2)]
    assert not result.complete


def test_weights_scale_and_capped_boxes(mini):
    result = score(mini, "full", {"q_pay": "most", "q_sell": ["shopee", "zalo"], "q_backup": 3,
                                  "q_records": "software"})
    # customer: 100 and min(60 + 60, 100) = 100; data: (2 x 60 + 1 x 100) / 3 = 73.33 -> 73.3.
    assert result.pillar_scores == {"customer": 100.0, "data": 73.3}
    assert result.overall == 86.7  # (100 + 73.3) / 2 = 86.65, half up
    assert result.level == 4
    assert result.complete
    assert result.to_dict() == {
        "framework": "mini@1", "track": "full", "pillars": {"customer": 100.0, "data": 73.3}, "overall": 86.7,
        "level": 4, "weakest": ["data", "customer"], "unanswered": [],
    }


def test_ties_in_weakest_keep_pillar_order(mini):
    assert score(mini, "short", {}).weakest == ("customer", "data")
    assert score(mini, "short", {"q_pay": "most", "q_backup": 5}).weakest == ("customer", "data")


def test_short_track_scores_only_its_questions(mini):
    result = score(mini, "short", {"q_pay": "most", "q_backup": 0})
    assert result.pillar_scores == {"customer": 100.0, "data": 0.0}
    assert result.overall == 50.0 and result.level == 3


def test_question_points(mini):
    assert question_points(mini, "full", {"q_sell": ["zalo"], "q_backup": 4, "q_pay": None}) == {
        "q_pay": None, "q_sell": 60, "q_backup": 80, "q_records": None,
    }


@pytest.mark.parametrize("track", TRACKS)
def test_all_best_answers_score_100_and_level_5(track):
    answers = {q.id: best_answer(q) for q in SHIPPED.questions_for(track)}
    result = score(SHIPPED, track, answers)
    assert set(result.pillar_scores.values()) == {100.0}
    assert (result.overall, result.level, result.unanswered) == (100.0, 5, ())


@pytest.mark.parametrize("track", TRACKS)
def test_all_worst_answers_score_0_and_level_0(track):
    answers = {q.id: worst_answer(q) for q in SHIPPED.questions_for(track)}
    result = score(SHIPPED, track, answers)
    assert set(result.pillar_scores.values()) == {0.0}
    assert (result.overall, result.level, result.unanswered) == (0.0, 0, ())


@pytest.mark.parametrize("track", TRACKS)
def test_nothing_answered_scores_0_and_lists_every_question(track):
    result = score(SHIPPED, track, {})
    assert (result.overall, result.level) == (0.0, 0)
    assert result.unanswered == tuple(q.id for q in SHIPPED.questions_for(track))


@pytest.mark.parametrize(("value", "level"), [
    (0, 0), (9.99, 0), (10, 1), (29.9, 1), (30, 2), (50, 3), (69.99, 3), (70, 4), (89.99, 4), (90, 5), (100, 5),
])
def test_level_band_edges(value, level):
    assert SHIPPED.level_for(value) == level


@pytest.mark.parametrize("value", [-0.1, 100.1, float("nan"), "50", None, True])
def test_level_for_refuses_scores_outside_0_to_100(value):
    with pytest.raises(ValueError, match="from 0 to 100"):
        SHIPPED.level_for(value)


# --- answer validation ----------------------------------------------------------------------------------------


def test_every_bad_answer_is_named(mini):
    answers = {
        "q_pay": "bitcoin",
        "q_sell": ["shopee", "none"],
        "q_backup": 6,
        "q_records": ["software"],
        "q_ghost": "x",
    }
    with pytest.raises(AnswerError) as excinfo:
        score(mini, "full", answers)
    assert excinfo.value.errors == {
        "q_ghost": "unknown question",
        "q_pay": "unknown option 'bitcoin'",
        "q_sell": "option 'none' cannot be combined with other options",
        "q_backup": "expected a whole number from 0 to 5, got 6",
        "q_records": "expected one option id, got list",
    }
    assert isinstance(excinfo.value, ValueError)


@pytest.mark.parametrize(("question", "value", "message"), [
    ("q_sell", "shopee", "expected a list of option ids, got str"),
    ("q_sell", [], "choose at least one option"),
    ("q_sell", ["zalo", "zalo"], "option 'zalo' is chosen twice"),
    ("q_sell", ["tiktok"], "unknown option 'tiktok'"),
    ("q_sell", [3], "expected a list of option ids, got an item of type int"),
    ("q_backup", True, "expected a whole number from 0 to 5, got bool"),
    ("q_backup", 2.5, "expected a whole number from 0 to 5, got float"),
    ("q_backup", -1, "expected a whole number from 0 to 5, got -1"),
    ("q_backup", "3", "expected a whole number from 0 to 5, got str"),
    ("q_pay", 1, "expected one option id, got int"),
])
def test_wrong_answer_types(mini, question, value, message):
    with pytest.raises(AnswerError) as excinfo:
        score(mini, "full", {question: value})
    assert excinfo.value.errors[question].startswith(message)
    assert list(excinfo.value.errors) == [question]


def test_a_question_of_the_other_track_is_refused(mini):
    with pytest.raises(AnswerError) as excinfo:
        score(mini, "short", {"q_records": "paper", 7: "x"})
    assert excinfo.value.errors == {"q_records": "not a question of the 'short' track", "7": "question ids are text"}


def test_answers_must_be_a_mapping(mini):
    with pytest.raises(AnswerError) as excinfo:
        score(mini, "full", [("q_pay", "most")])
    assert list(excinfo.value.errors) == [NON_FIELD_ERRORS]


def test_unknown_track(mini):
    with pytest.raises(ValueError, match="unknown track 'tiny'"):
        score(mini, "tiny", {})


# --- properties ----------------------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(track_and_answers())
def test_scores_stay_within_0_and_100(case):
    track, answers = case
    result = score(SHIPPED, track, answers)
    assert all(0 <= p.score <= 100 for p in result.pillars)
    assert 0 <= result.overall <= 100
    assert result.level == SHIPPED.level_for(result.overall)
    assert sorted(result.weakest) == sorted(p.code for p in SHIPPED.pillars)
    by_code = result.pillar_scores
    assert [by_code[c] for c in result.weakest] == sorted(by_code.values())
    assert set(result.unanswered) == {q.id for q in SHIPPED.questions_for(track)} - set(answers)


@PROPERTY_SETTINGS
@given(track_and_answers(), st.data())
def test_improving_one_answer_never_lowers_a_score(case, data):
    track, answers = case
    question = data.draw(st.sampled_from(SHIPPED.questions_for(track)))
    better = dict(answers)
    better[question.id] = improved_answer(data.draw, question, answers.get(question.id))
    before = score(SHIPPED, track, answers)
    after = score(SHIPPED, track, better)
    assert after.pillar_scores[question.pillar] >= before.pillar_scores[question.pillar]
    assert after.overall >= before.overall
    assert after.level >= before.level
    for code, value in before.pillar_scores.items():
        if code != question.pillar:
            assert after.pillar_scores[code] == value


@PROPERTY_SETTINGS
@given(track_and_answers(complete=True), st.randoms(use_true_random=False))
def test_scoring_is_deterministic_and_ignores_order(case, rnd):
    track, answers = case
    items = list(answers.items())
    rnd.shuffle(items)
    shuffled = {qid: (rnd.sample(value, len(value)) if isinstance(value, list) else value) for qid, value in items}
    first = score(SHIPPED, track, answers)
    assert score(SHIPPED, track, answers) == first
    assert score(SHIPPED, track, shuffled) == first
    assert first.complete
