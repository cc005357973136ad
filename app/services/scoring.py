"""Scoring a self-assessment: a pure function of (framework, track, answers).

Answers map question ids to:
  - ``single``: one option id, e.g. ``"qr_transfer"``;
  - ``multiple``: a list of option ids, e.g. ``["website", "marketplace"]``, or ``["none"]`` for the
    question's exclusive "none of these" option, which cannot be combined with others;
  - ``scale``: a whole number 0-5 on the framework's adoption scale.
A missing question (or ``None``, as a draft form stores a blank) is unanswered: it scores 0 and is listed
in ``ScoreResult.unanswered``. Anything else that is wrong raises ``AnswerError`` naming each bad field.

Each answer becomes points 0-100: the chosen option's score; the ticked boxes' scores summed and capped at
100; or the scale value x 20. A pillar's score is the weighted mean of its questions' points. Rounding
(half up, to one decimal): each pillar score is rounded; the overall score is the mean of the rounded
pillar scores, rounded again; the level comes from the rounded overall score. So the figures a user sees
add up when checked by hand, and a shown 90.0 is always level 5. The arithmetic is exact (integers in
tenths of a point), so no float error can move a score across a band edge.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.services.frameworks import MAX_POINTS, SCALE_MAX, Framework, Question

ANSWER_TYPES_HELP = {
    "single": "one option id",
    "multiple": "a list of option ids",
    "scale": f"a whole number from 0 to {SCALE_MAX}",
}
#: The key used in AnswerError.errors for a problem with the answers as a whole.
NON_FIELD_ERRORS = "__all__"


class AnswerError(ValueError):
    """Invalid answers; ``errors`` maps each bad question id to a message (an API returns it as 422)."""

    def __init__(self, errors: Mapping[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{key}: {message}" for key, message in self.errors.items()))


@dataclass(frozen=True)
class PillarScore:
    code: str
    score: float
    answered: int
    questions: int


@dataclass(frozen=True)
class ScoreResult:
    """The outcome of ``score``; ``weakest`` lists every pillar code, weakest first."""

    framework_id: str
    framework_version: int
    track: str
    pillars: tuple[PillarScore, ...]
    overall: float
    level: int
    weakest: tuple[str, ...]
    unanswered: tuple[str, ...]

    @property
    def framework_ref(self) -> str:
        return f"{self.framework_id}@{self.framework_version}"

    @property
    def pillar_scores(self) -> dict[str, float]:
        """{pillar code: score}, in the framework's pillar order."""
        return {p.code: p.score for p in self.pillars}

    @property
    def complete(self) -> bool:
        return not self.unanswered

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, as stored on an assessment and returned by the API."""
        return {
            "framework": self.framework_ref,
            "track": self.track,
            "pillars": self.pillar_scores,
            "overall": self.overall,
            "level": self.level,
            "weakest": list(self.weakest),
            "unanswered": list(self.unanswered),
        }


def _wrong_type(question: Question, value: Any, what: str = "") -> str:
    return f"expected {ANSWER_TYPES_HELP[question.type]}, got {what}{type(value).__name__}"


def _points(question: Question, value: Any) -> tuple[int | None, str | None]:
    """(points 0-100, None) for a valid answer, else (None, message)."""
    if question.type == "single":
        if not isinstance(value, str):
            return None, _wrong_type(question, value)
        option = question.option(value)
        if option is None:
            return None, f"unknown option {value!r}"
        return option.score, None
    if question.type == "multiple":
        if not isinstance(value, list | tuple):
            return None, _wrong_type(question, value)
        if not value:
            return None, "choose at least one option (there is a 'none of these' option)"
        total = 0
        seen: set[str] = set()
        for option_id in value:
            if not isinstance(option_id, str):
                return None, _wrong_type(question, option_id, "an item of type ")
            option = question.option(option_id)
            if option is None:
                return None, f"unknown option {option_id!r}"
            if option_id in seen:
                return None, f"option {option_id!r} is chosen twice"
            if option.exclusive and len(value) > 1:
                return None, f"option {option_id!r} cannot be combined with other options"
            seen.add(option_id)
            total += option.score
        return min(total, MAX_POINTS), None
    if isinstance(value, bool) or not isinstance(value, int):
        return None, _wrong_type(question, value)
    if not 0 <= value <= SCALE_MAX:
        return None, f"expected {ANSWER_TYPES_HELP['scale']}, got {value}"
    return value * MAX_POINTS // SCALE_MAX, None


def question_points(framework: Framework, track: str, answers: Mapping[str, Any]) -> dict[str, int | None]:
    """Points 0-100 for each question of the track (None when unanswered); AnswerError on bad answers."""
    questions = framework.questions_for(track)
    if not isinstance(answers, Mapping):
        raise AnswerError({NON_FIELD_ERRORS: "answers must map question ids to answers"})
    errors: dict[str, str] = {}
    in_track = {q.id for q in questions}
    for key in answers:
        if not isinstance(key, str):
            errors[str(key)] = "question ids are text"
        elif key not in in_track:
            known = key in {q.id for q in framework.questions}
            errors[key] = f"not a question of the {track!r} track" if known else "unknown question"
    points: dict[str, int | None] = {}
    for question in questions:
        value = answers.get(question.id)
        if value is None:
            points[question.id] = None
            continue
        result, message = _points(question, value)
        if message:
            errors[question.id] = message
        points[question.id] = result
    if errors:
        raise AnswerError(errors)
    return points


def _round_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded to the nearest whole number, halves up (both non-negative)."""
    return (2 * numerator + denominator) // (2 * denominator)


def score(framework: Framework, track: str, answers: Mapping[str, Any]) -> ScoreResult:
    """Score ``answers`` to ``framework``'s ``track``; pure, deterministic, no I/O."""
    points = question_points(framework, track, answers)
    pillars: list[PillarScore] = []
    tenths: list[int] = []
    for pillar in framework.pillars:
        questions = framework.pillar_questions(track, pillar.code)
        weights = sum(q.weight for q in questions)
        weighted = sum(q.weight * (points[q.id] or 0) for q in questions)
        pillar_tenths = _round_half_up(10 * weighted, weights)
        tenths.append(pillar_tenths)
        answered = sum(1 for q in questions if points[q.id] is not None)
        pillars.append(PillarScore(pillar.code, pillar_tenths / 10, answered, len(questions)))
    overall_tenths = _round_half_up(sum(tenths), len(tenths))
    overall = overall_tenths / 10
    order = sorted(range(len(pillars)), key=lambda i: (tenths[i], i))
    return ScoreResult(
        framework_id=framework.id,
        framework_version=framework.version,
        track=track,
        pillars=tuple(pillars),
        overall=overall,
        level=framework.level_for(overall),
        weakest=tuple(pillars[i].code for i in order),
        unanswered=tuple(qid for qid, value in points.items() if value is None),
    )
