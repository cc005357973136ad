"""Forms of the self-assessment pages.

A step's questions come from the framework file, so their inputs are read here from the posted data
(``q-<question id>``) rather than declared as WTForms fields; the FlaskForm carries the CSRF token, the
"shown" values and the button pressed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import HiddenField

from app.services.frameworks import Question

#: Buttons a step form may send as ``action``; ``step-N`` jumps to step N after saving.
ACTIONS = ("next", "back", "later", "review", "save")
_STEP_ACTION = re.compile(r"step-([1-9][0-9]?)")
_SCALE_VALUE = re.compile(r"[0-9]")
#: A step holds a handful of questions; a "shown" value larger than this is not from our page.
MAX_SHOWN_LENGTH = 20_000


class StepForm(FlaskForm):
    """One pillar's questions; ``shown`` is what the page displayed, as JSON {question id: answer}."""

    shown = HiddenField()


class ConfirmForm(FlaskForm):
    """A button that changes state (start, submit, discard): only the CSRF token."""


def field_name(question: Question) -> str:
    return f"q-{question.id}"


def read_answers(questions: Iterable[Question], formdata) -> dict[str, Any]:
    """The answers posted for these questions; a question left blank is None.

    Values are passed on as typed (the service validates them); only a scale's digit is turned into
    the whole number the service expects.
    """
    answers: dict[str, Any] = {}
    for question in questions:
        name = field_name(question)
        if question.type == "multiple":
            answers[question.id] = [v for v in formdata.getlist(name) if v] or None
        elif question.type == "scale":
            raw = (formdata.get(name) or "").strip()
            answers[question.id] = int(raw) if _SCALE_VALUE.fullmatch(raw) else (raw or None)
        else:
            answers[question.id] = formdata.get(name) or None
    return answers


def read_shown(raw: str | None, questions: Iterable[Question]) -> dict[str, Any]:
    """The "shown" JSON of a step; anything unreadable counts as "nothing shown" (last save wins)."""
    if not raw or len(raw) > MAX_SHOWN_LENGTH:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    wanted = {q.id for q in questions}
    return {key: value for key, value in data.items() if key in wanted}


def shown_json(values: Mapping[str, Any]) -> str:
    return json.dumps(values, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def read_action(value: str | None, steps: int) -> tuple[str, int | None]:
    """("next" | "back" | "later" | "review" | "save" | "step", target step for "step")."""
    value = value or "save"
    match = _STEP_ACTION.fullmatch(value)
    if match and 1 <= int(match.group(1)) <= steps:
        return "step", int(match.group(1))
    return (value if value in ACTIONS else "save"), None


def answer_message(question: Question, value: Any, reason: str, lang: str) -> str:
    """The service's English reason for refusing an answer, as a message for the user.

    The only mistake a person can make with the page's own inputs is ticking the "none of these" box
    together with others; anything else means the page was out of date or tampered with.
    """
    if question.type == "multiple" and isinstance(value, list) and len(value) > 1:
        exclusive = [o for o in question.options if o.exclusive and o.id in value]
        if exclusive or "cannot be combined" in reason:
            option = exclusive[0].text.pick(lang) if exclusive else ""
            return _("“%(option)s” cannot be ticked together with other boxes. Untick it, or untick the "
                     "other boxes.", option=option)
    return _("Please choose one of the options shown.")
