"""Helpers for assessment tests: valid answers for a whole track, at a chosen strength."""

from __future__ import annotations

from typing import Any

from app.services.frameworks import Framework, Question


def answer_for(question: Question, strength: str = "best") -> Any:
    """The best, worst or a middle answer to a question."""
    if question.type == "scale":
        return {"best": 5, "worst": 0, "middle": 3}[strength]
    if question.type == "single":
        ranked = sorted(question.options, key=lambda o: o.score)
        pick = {"best": ranked[-1], "worst": ranked[0], "middle": ranked[len(ranked) // 2]}[strength]
        return pick.id
    exclusive = [o for o in question.options if o.exclusive]
    boxes = [o for o in question.options if not o.exclusive]
    if strength == "worst":
        return [exclusive[0].id]
    if strength == "middle":
        return [boxes[0].id]
    return [o.id for o in boxes]


def full_answers(framework: Framework, track: str, strength: str = "best") -> dict[str, Any]:
    return {q.id: answer_for(q, strength) for q in framework.questions_for(track)}
