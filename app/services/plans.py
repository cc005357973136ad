"""Action plans: targets and a three-phase roadmap built from a submitted self-assessment.

The rules are data (``app/data/plans/roadmap.yaml``, whose header explains how targets and items are
chosen); this module loads and checks them, applies them to an assessment (``build_plan``), stores and
versions plans (``create_or_update``), lets members edit items, and lays a plan out for the web page and
the PDF (``plan_view``, ``printable``). Plain Python over the models; callers commit. Every change writes
an audit record.

Public API::

    build_plan(assessment, recommendations=None) -> Proposal
    create_or_update(organisation, user, ip=None) -> tuple[ActionPlan, bool]   (bool: a new version)
    current_plan(organisation) -> ActionPlan | None
    newer_assessment(plan) -> Assessment | None
    update_item(item, user, *, owner, due_on, status, action=None, ip=None) -> bool
    add_own_item(plan, user, *, action, pillar, phase, owner=None, due_on=None, ip=None) -> PlanItem
    delete_own_item(item, user, ip=None) -> None
    progress(plan) -> Progress
    plan_view(plan, locale) -> PlanView       (what the page shows)
    printable(plan, locale) -> dict           (plain data for the PDF; shape documented on the function)
"""

from __future__ import annotations

import functools
import re
import secrets
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import lazyload

from app.extensions import db
from app.models.assessment import Assessment
from app.models.catalogue import PARTNER_CATEGORIES, Partner, Programme
from app.models.organisation import Organisation
from app.models.plan import (
    PHASES,
    ActionPlan,
    CostBand,
    ItemPhase,
    ItemSource,
    ItemStatus,
    PlanItem,
    PlanStatus,
)
from app.models.types import utcnow
from app.models.user import User
from app.services import assessments, audit, eligibility, frameworks, radar, scoring
from app.services.formatting import format_date, format_vnd
from app.services.frameworks import Framework, LocalText

if TYPE_CHECKING:  # scikit-learn loads on the first recommendation, not when the app starts
    from app.recommender import Recommendations

ROADMAP_FILE = Path(__file__).resolve().parent.parent / "data" / "plans" / "roadmap.yaml"
LANGUAGES = ("vi", "en")
ORGANISATION_KINDS = frameworks.ORGANISATION_KINDS
SIZE_CLASSES = ("micro", "small", "medium", "large")
#: Due months allowed in each phase (the phase's months after the plan starts).
PHASE_MONTHS = {ItemPhase.QUICK_WIN: (1, 3), ItemPhase.FOUNDATION: (4, 12), ItemPhase.GROWTH: (13, 24)}
#: How many recommendations are asked for when looking for a programme that fits an item.
RECOMMENDATION_LIMIT = 10
#: How many programmes and partners the plan lists.
LIST_LIMIT = 5
#: The longest own item text, in characters (the form says so too).
MAX_ACTION_LENGTH = 500
MAX_OWNER_LENGTH = 80
#: Verification codes: no 0/O, 1/I/L, so a code read off paper is typed right.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
_RULE_ID = re.compile(r"[a-z][a-z0-9-]{1,63}")
_CODE_ID = re.compile(r"[a-z][a-z0-9_]*")


class PlanError(ValueError):
    """The change is not possible (a superseded plan, a generated item deleted...)."""


class NoAssessmentError(PlanError):
    """A plan needs a submitted self-assessment."""


class RoadmapError(ValueError):
    """The roadmap file is invalid; ``problems`` lists every fault with its path."""

    def __init__(self, problems: Sequence[str]):
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems))


# --- The roadmap rules (data) ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    """One test on an answer: ``in``, ``lacks`` (option ids) or ``below`` (points 0-100)."""

    question: str
    test: str
    options: tuple[str, ...] = ()
    points: int = 0

    def holds(self, framework: Framework, answers: Mapping[str, Any], points: Mapping[str, int | None]) -> bool:
        """Whether the answer meets the test; an unasked or unanswered question never does."""
        value = answers.get(self.question)
        if value is None:
            return False
        if self.test == "below":
            scored = points.get(self.question)
            return scored is not None and scored < self.points
        chosen = set(value) if isinstance(value, list | tuple) else {value}
        if self.test == "in":
            return bool(chosen & set(self.options))
        return not chosen & set(self.options)


@dataclass(frozen=True)
class Rule:
    """A roadmap action and when it applies (see the roadmap file's header)."""

    id: str
    pillar: str
    kinds: tuple[str, ...]
    levels: tuple[int, int]
    phase: ItemPhase
    due_month: int
    cost: CostBand
    owner: str
    action: LocalText
    why: LocalText
    conditions: tuple[Condition, ...] = ()
    sizes: tuple[str, ...] = ()
    sectors: tuple[str, ...] = ()
    programme: bool = False
    partner_category: str | None = None
    training: str | None = None
    order: int = 0


@dataclass(frozen=True)
class Limits:
    max_items: int
    max_per_pillar: int
    max_per_phase: Mapping[ItemPhase, int]


@dataclass(frozen=True)
class Roadmap:
    step: int
    catch_up_step: int
    catch_up_points: float
    catch_up_max_level: int
    limits: Mapping[str, Limits]
    cost_bands: Mapping[str, LocalText]
    roles: Mapping[str, LocalText]
    trainings: Mapping[str, LocalText]
    rules: tuple[Rule, ...]
    _by_id: Mapping[str, Rule] = field(default_factory=dict, repr=False, compare=False)

    def rule(self, key: str | None) -> Rule | None:
        return self._by_id.get(key or "")


class _Checker:
    """Collects every problem of the roadmap file, with where it is."""

    def __init__(self, framework: Framework):
        self.framework = framework
        self.problems: list[str] = []
        self.pillars = {p.code for p in framework.pillars}

    def add(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    def text(self, node: Any, path: str) -> LocalText | None:
        if not isinstance(node, dict) or set(node) != set(LANGUAGES):
            self.add(path, "must have exactly a 'vi' and an 'en' text")
            return None
        for lang in LANGUAGES:
            value = node[lang]
            if not isinstance(value, str) or not value.strip():
                self.add(f"{path}.{lang}", "must be a non-empty text")
                return None
            if not unicodedata.is_normalized("NFC", value):
                self.add(f"{path}.{lang}", "must be NFC-normalised")
            if "%(" in value:
                self.add(f"{path}.{lang}", "must not contain placeholders")
        return LocalText(vi=node["vi"].strip(), en=node["en"].strip())

    def texts(self, node: Any, path: str) -> dict[str, LocalText]:
        if not isinstance(node, dict) or not node:
            self.add(path, "must be a mapping of codes to texts")
            return {}
        found = {}
        for code, value in node.items():
            if not isinstance(code, str) or not _CODE_ID.fullmatch(code):
                self.add(path, f"bad code {code!r}")
                continue
            text = self.text(value, f"{path}.{code}")
            if text is not None:
                found[code] = text
        return found

    def whole(self, node: Any, path: str, low: int, high: int) -> int:
        if isinstance(node, bool) or not isinstance(node, int) or not low <= node <= high:
            self.add(path, f"must be a whole number from {low} to {high}, got {node!r}")
            return low
        return node

    def codes(self, node: Any, path: str, allowed: Iterable[str]) -> tuple[str, ...]:
        allowed = tuple(allowed)
        if not isinstance(node, list) or not node:
            self.add(path, "must be a non-empty list")
            return ()
        for value in node:
            if value not in allowed:
                self.add(path, f"unknown value {value!r} (allowed: {', '.join(allowed)})")
        return tuple(v for v in node if v in allowed)

    def condition(self, node: Any, path: str) -> Condition | None:
        if not isinstance(node, dict) or "question" not in node or len(node) != 2:
            self.add(path, "must be {question: ..., in|lacks|below: ...}")
            return None
        question_id = node["question"]
        try:
            question = self.framework.question(question_id)
        except KeyError:
            self.add(path, f"unknown question {question_id!r}")
            return None
        test = next(k for k in node if k != "question")
        if test == "below":
            return Condition(question_id, test, points=self.whole(node[test], f"{path}.below", 1, 100))
        if test not in ("in", "lacks"):
            self.add(path, f"unknown test {test!r} (in, lacks, below)")
            return None
        if question.type == "scale":
            self.add(path, f"{question_id} is a 0-5 scale: use 'below'")
            return None
        options = self.codes(node[test], f"{path}.{test}", [o.id for o in question.options])
        return Condition(question_id, test, options=options)


def _parse(document: Any, framework: Framework) -> Roadmap:
    check = _Checker(framework)
    if not isinstance(document, dict) or document.get("schema") != "dxportal.roadmap/1":
        raise RoadmapError(["schema: must be dxportal.roadmap/1"])
    targets = document.get("targets") or {}
    top = framework.levels[-1].level
    step = check.whole(targets.get("step"), "targets.step", 1, top)
    catch_up_step = check.whole(targets.get("catch_up_step"), "targets.catch_up_step", 1, top)
    catch_up_points = check.whole(targets.get("catch_up_points"), "targets.catch_up_points", 1, 100)
    catch_up_max_level = check.whole(targets.get("catch_up_max_level"), "targets.catch_up_max_level", 0, top)
    limits = {}
    for kind in ORGANISATION_KINDS:
        node = (document.get("limits") or {}).get(kind)
        if not isinstance(node, dict):
            check.add(f"limits.{kind}", "missing")
            continue
        per_phase = node.get("max_per_phase") or {}
        if not isinstance(per_phase, dict) or set(per_phase) != {phase.value for phase in ItemPhase}:
            check.add(f"limits.{kind}.max_per_phase", "must give a number for each phase")
            per_phase = {}
        limits[kind] = Limits(
            check.whole(node.get("max_items"), f"limits.{kind}.max_items", 1, 50),
            check.whole(node.get("max_per_pillar"), f"limits.{kind}.max_per_pillar", 1, 10),
            {ItemPhase(phase): check.whole(value, f"limits.{kind}.max_per_phase.{phase}", 0, 50)
             for phase, value in per_phase.items()},
        )
    cost_bands = check.texts(document.get("cost_bands"), "cost_bands")
    if set(cost_bands) != {band.value for band in CostBand}:
        check.add("cost_bands", f"must describe exactly {', '.join(b.value for b in CostBand)}")
    roles = check.texts(document.get("roles"), "roles")
    trainings = check.texts(document.get("trainings"), "trainings")
    rules: list[Rule] = []
    seen: set[str] = set()
    allowed = {"id", "pillar", "kinds", "sizes", "sectors", "levels", "when", "phase", "due_month", "cost", "owner",
               "help", "action", "why"}
    for index, node in enumerate(document.get("rules") or []):
        path = f"rules[{index}]"
        if not isinstance(node, dict):
            check.add(path, "must be a mapping")
            continue
        for key in set(node) - allowed:
            check.add(path, f"unknown key {key!r}")
        rule_id = node.get("id")
        if not isinstance(rule_id, str) or not _RULE_ID.fullmatch(rule_id) or rule_id.startswith("advice-"):
            check.add(path, f"bad id {rule_id!r} (lower-case letters, digits, '-'; 'advice-' is reserved)")
            continue
        path = f"rules[{rule_id}]"
        if rule_id in seen:
            check.add(path, "duplicate id")
        seen.add(rule_id)
        pillar = node.get("pillar")
        if pillar not in check.pillars:
            check.add(f"{path}.pillar", f"unknown pillar {pillar!r}")
        try:
            phase = ItemPhase(node.get("phase"))
        except ValueError:
            check.add(f"{path}.phase", f"must be one of {', '.join(p.value for p in ItemPhase)}")
            continue
        first, last = PHASE_MONTHS[phase]
        due_month = check.whole(node.get("due_month"), f"{path}.due_month", first, last)
        try:
            cost = CostBand(node.get("cost"))
        except ValueError:
            check.add(f"{path}.cost", "must be low, medium or high")
            cost = CostBand.LOW
        owner = node.get("owner")
        if owner not in roles:
            check.add(f"{path}.owner", f"unknown role {owner!r}")
        levels = node.get("levels")
        if not (isinstance(levels, list) and len(levels) == 2):
            check.add(f"{path}.levels", "must be [lowest, highest] current level")
            levels = [0, top]
        low = check.whole(levels[0], f"{path}.levels", 0, top)
        high = check.whole(levels[1], f"{path}.levels", low, top)
        conditions = []
        when = node.get("when")
        if when is not None:
            if not isinstance(when, list) or not when:
                check.add(f"{path}.when", "must be a non-empty list of conditions")
            else:
                for n, item in enumerate(when):
                    found = check.condition(item, f"{path}.when[{n}]")
                    if found is not None:
                        conditions.append(found)
        help_ = node.get("help") or {}
        if not isinstance(help_, dict) or set(help_) - {"programme", "partner_category", "training"} or not help_:
            check.add(f"{path}.help", "must name at least one of programme, partner_category, training")
            help_ = {}
        if help_.get("partner_category") is not None and help_["partner_category"] not in PARTNER_CATEGORIES:
            check.add(f"{path}.help.partner_category", f"unknown category {help_['partner_category']!r}")
        if help_.get("training") is not None and help_["training"] not in trainings:
            check.add(f"{path}.help.training", f"unknown training {help_['training']!r}")
        if "programme" in help_ and not isinstance(help_["programme"], bool):
            check.add(f"{path}.help.programme", "must be true or false")
        action = check.text(node.get("action"), f"{path}.action")
        why = check.text(node.get("why"), f"{path}.why")
        kinds = check.codes(node.get("kinds"), f"{path}.kinds", ORGANISATION_KINDS)
        sizes = check.codes(node["sizes"], f"{path}.sizes", SIZE_CLASSES) if "sizes" in node else ()
        sectors = tuple(str(s) for s in node.get("sectors") or ())
        if action is None or why is None:
            continue
        rules.append(Rule(
            id=rule_id, pillar=pillar, kinds=kinds, levels=(low, high), phase=phase, due_month=due_month,
            cost=cost, owner=owner, action=action, why=why, conditions=tuple(conditions), sizes=sizes,
            sectors=sectors, programme=bool(help_.get("programme")),
            partner_category=help_.get("partner_category"), training=help_.get("training"), order=index,
        ))
    if not rules:
        check.add("rules", "no rules")
    if check.problems:
        raise RoadmapError(check.problems)
    return Roadmap(step, catch_up_step, catch_up_points, catch_up_max_level, limits, cost_bands, roles, trainings,
                   tuple(rules), {rule.id: rule for rule in rules})


def load_roadmap(path: Path = ROADMAP_FILE, framework: Framework | None = None) -> Roadmap:
    """Read and check a roadmap file against ``framework`` (the current one by default)."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    return _parse(document, framework or frameworks.current_framework())


@functools.cache
def roadmap() -> Roadmap:
    """The roadmap in use, loaded once per process."""
    return load_roadmap()


# --- Targets and the proposal ---------------------------------------------------------------------------


def targets_for(framework: Framework, scores: Mapping[str, float], overall: float,
                rules: Roadmap | None = None) -> dict[str, int]:
    """{pillar: target level}: one level up, two for a basic pillar far behind the others, never past the top."""
    rules = rules or roadmap()
    top = framework.levels[-1].level
    found = {}
    for pillar in framework.pillars:
        score = scores.get(pillar.code, 0.0)
        level = framework.level_for(score)
        step = rules.step
        if overall - score >= rules.catch_up_points and level <= rules.catch_up_max_level:
            step = rules.catch_up_step
        found[pillar.code] = min(top, level + step)
    return found


@dataclass(frozen=True)
class ProposedItem:
    """An item the rules propose; texts come from the rule (or the results page's advice) by ``key``."""

    key: str
    phase: ItemPhase
    pillar: str
    due_month: int
    cost_band: CostBand
    owner_role: str
    programme_id: int | None = None
    programme_code: str | None = None
    partner_category: str | None = None
    training: str | None = None


@dataclass(frozen=True)
class Proposal:
    """What ``build_plan`` proposes for an assessment (nothing is stored)."""

    assessment: Assessment
    framework: Framework
    scores: Mapping[str, float]
    levels: Mapping[str, int]
    targets: Mapping[str, int]
    items: tuple[ProposedItem, ...]
    #: Pillar codes, weakest first (ties in the framework's order).
    weakest: tuple[str, ...]


def _applies(rule: Rule, organisation: Organisation, level: int, framework: Framework, answers, points) -> bool:
    kind = getattr(organisation.kind, "value", organisation.kind)
    if kind not in rule.kinds:
        return False
    size = getattr(organisation.size_class, "value", organisation.size_class)
    if rule.sizes and size not in rule.sizes:
        return False
    if rule.sectors and organisation.sector not in rule.sectors:
        return False
    if not rule.levels[0] <= level <= rule.levels[1]:
        return False
    return not rule.conditions or any(c.holds(framework, answers, points) for c in rule.conditions)


def _advice_key(pillar: str, score: float) -> str:
    from app.blueprints.assessments.advice import FAIR_SCORE

    return f"advice-{pillar}-{1 if score < FAIR_SCORE else 2}"


def _programme_pillars(codes: Sequence[str]) -> dict[str, tuple[int, list[str]]]:
    if not codes:
        return {}
    rows = db.session.execute(select(Programme.code, Programme.id, Programme.pillars).where(Programme.code.in_(codes)))
    return {code: (programme_id, list(pillars or [])) for code, programme_id, pillars in rows}


def build_plan(assessment: Assessment, recommendations: Recommendations | None = None) -> Proposal:
    """Targets and roadmap items for a submitted assessment, from the roadmap rules and the recommendations.

    ``recommendations`` defaults to the recommender's answer for the assessment; only the programmes in it
    (which the organisation is eligible for) are ever linked to items.
    """
    if assessment.overall_score is None:
        raise NoAssessmentError("only a submitted assessment can be planned from")
    rules = roadmap()
    framework = assessments.framework_of(assessment)
    organisation = assessment.organisation
    scores = {p.code: assessment.pillar_score_map.get(p.code, 0.0) for p in framework.pillars}
    levels = {code: framework.level_for(score) for code, score in scores.items()}
    targets = targets_for(framework, scores, assessment.overall_score, rules)
    answers = assessment.answer_map
    points = scoring.question_points(framework, assessment.track, answers)
    order = {p.code: i for i, p in enumerate(framework.pillars)}
    weakest = tuple(sorted(scores, key=lambda code: (scores[code], order[code])))

    if recommendations is None:
        from app.recommender import recommend_for_assessment

        recommendations = recommend_for_assessment(assessment, limit=RECOMMENDATION_LIMIT)
    recommended = [item.code for item in recommendations.programmes]
    facts = _programme_pillars(recommended)

    def programme_for(pillar: str) -> tuple[int | None, str | None]:
        for code in recommended:  # best first
            programme_id, pillars = facts.get(code, (None, None))
            if programme_id is not None and (not pillars or pillar in pillars):
                return programme_id, code
        return None, None

    kind = getattr(organisation.kind, "value", organisation.kind)
    limits = rules.limits[kind]
    candidates: dict[str, list[Rule]] = {code: [] for code in weakest}
    for rule in rules.rules:
        pillar = rule.pillar
        if pillar in levels and targets[pillar] > levels[pillar] and _applies(
                rule, organisation, levels[pillar], framework, answers, points):
            candidates[pillar].append(rule)

    chosen: list[tuple[Rule | None, str]] = []  # (rule, or None for the advice fallback; pillar)
    per_phase = dict.fromkeys(ItemPhase, 0)
    for round_ in range(limits.max_per_pillar):
        for pillar in weakest:
            if len(chosen) >= limits.max_items or targets[pillar] <= levels[pillar]:
                continue
            if round_ == 0 and not candidates[pillar]:
                chosen.append((None, pillar))  # a gap no rule covers: the results page's advice
                continue
            rule = next((r for r in candidates[pillar] if per_phase[r.phase] < limits.max_per_phase[r.phase]), None)
            if rule is not None:
                candidates[pillar].remove(rule)
                per_phase[rule.phase] += 1
                chosen.append((rule, pillar))

    owner_default = "household_owner" if kind == "household_business" else "director"
    items = []
    for rule, pillar in chosen:
        if rule is None:
            score = scores[pillar]
            first = _advice_key(pillar, score).endswith("-1")
            programme_id, programme_code = programme_for(pillar)
            items.append(ProposedItem(
                key=_advice_key(pillar, score),
                phase=ItemPhase.QUICK_WIN if first else ItemPhase.FOUNDATION,
                pillar=pillar, due_month=3 if first else 6, cost_band=CostBand.LOW, owner_role=owner_default,
                programme_id=programme_id, programme_code=programme_code,
            ))
            continue
        programme_id, programme_code = programme_for(pillar) if rule.programme else (None, None)
        items.append(ProposedItem(
            key=rule.id, phase=rule.phase, pillar=pillar, due_month=rule.due_month, cost_band=rule.cost,
            owner_role=rule.owner, programme_id=programme_id, programme_code=programme_code,
            partner_category=rule.partner_category, training=rule.training,
        ))
    rank = {code: i for i, code in enumerate(weakest)}
    items.sort(key=lambda item: (PHASES.index(item.phase), item.due_month, rank[item.pillar]))
    return Proposal(assessment, framework, scores, levels, targets, tuple(items), weakest)


# --- Texts of items -------------------------------------------------------------------------------------


def _lang(locale: str | None) -> str:
    return eligibility.normalise_locale(locale)


def score_text(value: float | None, locale: str) -> str:
    """45,5 in Vietnamese, 45.5 in English (scores carry one decimal)."""
    if value is None:
        return "—"
    text = f"{value:.1f}"
    return text.replace(".", ",") if _lang(locale) == "vi" else text


def role_label(role: str | None, locale: str) -> str:
    """A role code in the reader's language; the business's own words as they are."""
    if not role:
        return ""
    text = roadmap().roles.get(role)
    return text.pick(_lang(locale)) if text else role


def role_code(text: str | None) -> str | None:
    """What to store for an owner typed in a form: the role code when it is a known role's name, else the text."""
    cleaned = " ".join((text or "").split())
    if not cleaned:
        return None
    folded = cleaned.casefold()
    for code, label in roadmap().roles.items():
        if folded in (label.vi.casefold(), label.en.casefold()):
            return code
    return cleaned


def cost_band_label(band: CostBand, locale: str) -> str:
    """The band's name and what it means, e.g. “Low cost (under 5 million VND)” (call in the reader's locale)."""
    meaning = roadmap().cost_bands.get(band.value)
    return f"{band.label} ({meaning.pick(_lang(locale))})" if meaning else str(band.label)


def training_text(code: str | None, locale: str) -> str | None:
    if not code:
        return None
    text = roadmap().trainings.get(code)
    return text.pick(_lang(locale)) if text else code


def _gap_sentence(pillar_name: str, score: float, level: int, target: int, locale: str) -> str:
    if target <= level:
        return _("“%(pillar)s” scores %(score)s/100 (level %(level)s), the top level: keep it there.",
                 pillar=pillar_name, score=score_text(score, locale), level=level)
    return _("“%(pillar)s” scores %(score)s/100 now (level %(level)s); the target is level %(target)s.",
             pillar=pillar_name, score=score_text(score, locale), level=level, target=target)


def item_texts(key: str | None, pillar: str, framework: Framework, scores: Mapping[str, float],
               targets: Mapping[str, int], locale: str) -> tuple[str, str] | None:
    """(action, why) of a generated item in ``locale``, or None when its rule no longer exists.

    Call inside ``force_locale(locale)`` (the advice and the gap sentence are translated messages).
    """
    lang = _lang(locale)
    try:
        pillar_name = framework.pillar(pillar).name.pick(lang)
    except KeyError:
        return None
    score = scores.get(pillar, 0.0)
    level = framework.level_for(score)
    gap = _gap_sentence(pillar_name, score, level, targets.get(pillar, level), lang)
    if key and key.startswith("advice-"):
        from app.blueprints.assessments.advice import GENERIC_STEP, NEXT_STEPS

        steps = NEXT_STEPS.get(pillar, GENERIC_STEP)
        return str(steps[0] if key.endswith("-1") else steps[1]), gap
    rule = roadmap().rule(key)
    if rule is None:
        return None
    return rule.action.pick(lang), f"{rule.why.pick(lang)} {gap}"


# --- Storing plans --------------------------------------------------------------------------------------


def new_verification_code() -> str:
    """``K7QX-2M9P``: 8 random characters (40 bits) that are easy to read back, unused so far."""
    while True:
        raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
        code = f"{raw[:4]}-{raw[4:]}"
        if db.session.scalar(select(ActionPlan.id).where(ActionPlan.verification_code == code)) is None:
            return code


def normalise_verification_code(raw: str | None) -> str | None:
    """What a person typed (``k7qx 2m9p``, ``K7QX-2M9P``) as a stored code, or None when it cannot be one."""
    characters = "".join(ch for ch in (raw or "").upper() if not ch.isspace() and ch not in "-–.")
    if len(characters) != 8 or any(ch not in CODE_ALPHABET for ch in characters):
        return None
    return f"{characters[:4]}-{characters[4:]}"


def find_by_verification_code(code: str) -> ActionPlan | None:
    """The plan printed with ``code`` (already normalised)."""
    return db.session.scalar(select(ActionPlan).where(ActionPlan.verification_code == code))


def current_plan(organisation: Organisation) -> ActionPlan | None:
    """The organisation's newest plan that has not been superseded."""
    return db.session.scalar(
        select(ActionPlan)
        .where(ActionPlan.organisation_id == organisation.id, ActionPlan.status != PlanStatus.SUPERSEDED)
        .order_by(ActionPlan.version.desc())
        .limit(1)
    )


def versions(organisation: Organisation) -> list[ActionPlan]:
    """Every plan version of the organisation, newest first (items are not needed for a list)."""
    return list(db.session.scalars(
        select(ActionPlan).options(lazyload(ActionPlan.items))
        .where(ActionPlan.organisation_id == organisation.id).order_by(ActionPlan.version.desc())
    ))


def newer_assessment(plan: ActionPlan) -> Assessment | None:
    """The organisation's latest submitted assessment when it is newer than the plan's, else None."""
    latest = assessments.latest_submitted(plan.organisation)
    if latest is None or latest.id == plan.assessment_id:
        return None
    return latest


def _locale_of(user: User | None) -> str:
    return _lang(getattr(user, "locale", None))


def _new_item(proposed: ProposedItem, proposal: Proposal, locale: str, now) -> PlanItem:
    with force_locale(locale):
        texts = item_texts(proposed.key, proposed.pillar, proposal.framework, proposal.scores, proposal.targets,
                           locale)
    action, why = texts or ("", "")
    return PlanItem(
        key=proposed.key, phase=proposed.phase, pillar=proposed.pillar, action=action, why=why,
        owner_role=proposed.owner_role, due_month=proposed.due_month, cost_band=proposed.cost_band,
        programme_id=proposed.programme_id, partner_category=proposed.partner_category,
        training=proposed.training, status=ItemStatus.TODO, source=ItemSource.GENERATED,
        created_at=now, updated_at=now,
    )


def _copy(old: PlanItem, now) -> PlanItem:
    return PlanItem(
        key=old.key, phase=old.phase, pillar=old.pillar, action=old.action, why=old.why, owner_role=old.owner_role,
        due_month=old.due_month, due_on=old.due_on, cost_band=old.cost_band, programme_id=old.programme_id,
        partner_category=old.partner_category, training=old.training, status=old.status, source=old.source,
        completed_at=old.completed_at, created_at=now, updated_at=now,
    )


def create_or_update(organisation: Organisation, user: User, ip: str | None = None,
                     recommendations: Recommendations | None = None) -> tuple[ActionPlan, bool]:
    """The plan for the latest submitted assessment: the current one when it is up to date, else a new version.

    A new version carries over from the previous one every item that is done or being worked on (a
    generated item matched by its rule key replaces the proposal's copy) and the business's own items;
    a generated item not started is kept, with the owner and date the business gave it, only while its
    rule still applies, i.e. while the gap it closes is open. The previous version becomes ``superseded``.
    Returns (plan, True) when a version was created. Raises NoAssessmentError without a submitted assessment.
    """
    assessment = assessments.latest_submitted(organisation)
    if assessment is None:
        raise NoAssessmentError("the organisation has no submitted self-assessment")
    previous = current_plan(organisation)
    if previous is not None and previous.assessment_id == assessment.id:
        return previous, False
    proposal = build_plan(assessment, recommendations)
    locale = _locale_of(user)
    now = utcnow()
    version = (db.session.scalar(select(func.max(ActionPlan.version))
                                 .where(ActionPlan.organisation_id == organisation.id)) or 0) + 1
    plan = ActionPlan(organisation_id=organisation.id, assessment_id=assessment.id, version=version,
                      status=PlanStatus.PROPOSED, targets=dict(proposal.targets),
                      verification_code=new_verification_code(), created_by_id=user.id if user else None,
                      created_at=now, updated_at=now)
    proposed = {item.key: item for item in proposal.items}
    kept: dict[str, PlanItem] = {}
    carried: list[PlanItem] = []
    summary = {"done": [], "doing": [], "kept": [], "own": [], "dropped": []}
    for old in (previous.items if previous is not None else []):
        if old.source is ItemSource.OWN:
            carried.append(_copy(old, now))
            summary["own"].append(old.id)
        elif old.status is not ItemStatus.TODO:
            copy = _copy(old, now)
            match = proposed.pop(old.key, None) if old.key else None
            if match is not None and old.status is ItemStatus.DOING:
                copy.programme_id = match.programme_id
            carried.append(copy)
            summary[old.status.value].append(old.key)
        elif old.key in proposed:
            item = _new_item(proposed.pop(old.key), proposal, locale, now)
            item.owner_role, item.due_on = old.owner_role, old.due_on
            kept[old.key] = item
            summary["kept"].append(old.key)
        else:
            summary["dropped"].append(old.key)
    fresh = [kept.get(p.key) or _new_item(p, proposal, locale, now)
             for p in proposal.items if p.key in proposed or p.key in kept]
    ordered = sorted(enumerate([*carried, *fresh]),
                     key=lambda pair: (PHASES.index(pair[1].phase), pair[1].due_month, pair[0]))
    for position, (_index, item) in enumerate(ordered):
        item.position = position
        plan.items.append(item)
    previous_status = previous.status.value if previous is not None else None
    try:
        with db.session.begin_nested():
            if previous is not None:
                previous.status = PlanStatus.SUPERSEDED
                previous.updated_at = now
            db.session.add(plan)
    except IntegrityError:
        # Another member created this version at the same moment: theirs stands.
        existing = db.session.scalar(select(ActionPlan).where(ActionPlan.organisation_id == organisation.id,
                                                              ActionPlan.version == version))
        if existing is None:
            raise
        return existing, False
    if previous is not None:
        audit.record("plan.supersede", "action_plan", previous.id, actor=user, ip=ip,
                     before={"status": previous_status}, after={"status": "superseded", "by_version": version})
    audit.record("plan.create", "action_plan", plan.id, actor=user, ip=ip, after={
        "organisation_id": organisation.id, "assessment_id": assessment.id, "version": version,
        "targets": plan.targets, "items": [item.key or "own" for item in plan.items],
        "previous_id": previous.id if previous is not None else None,
        "carried_done": summary["done"], "carried_doing": summary["doing"], "kept": summary["kept"],
        "own_items": len(summary["own"]), "dropped": summary["dropped"],
    })
    return plan, True


def _editable(plan: ActionPlan) -> None:
    if plan.status is PlanStatus.SUPERSEDED:
        raise PlanError("a superseded plan cannot be changed")


def _touch(plan: ActionPlan, user: User, ip: str | None, now) -> None:
    """The first change a member makes turns a proposed plan into the plan they work on."""
    plan.updated_at = now
    if plan.status is PlanStatus.PROPOSED:
        plan.status = PlanStatus.ACTIVE
        audit.record("plan.activate", "action_plan", plan.id, actor=user, ip=ip,
                     before={"status": "proposed"}, after={"status": "active"})


def _clean_text(value: str | None) -> str:
    return unicodedata.normalize("NFC", (value or "").replace("\r\n", "\n").replace("\r", "\n")).strip()


def update_item(item: PlanItem, user: User, *, owner: str | None, due_on: date | None, status: ItemStatus | str,
                action: str | None = None, ip: str | None = None) -> bool:
    """Change an item's owner, date and status (and the words of an own item); False when nothing changed."""
    plan = item.plan
    _editable(plan)
    status = ItemStatus(status)
    before = item.snapshot()
    owner_value = role_code(owner)
    if owner_value is not None and len(owner_value) > MAX_OWNER_LENGTH:
        raise PlanError("owner too long")
    item.owner_role = owner_value
    item.due_on = due_on
    if action is not None and item.is_own:
        cleaned = _clean_text(action)
        if not cleaned or len(cleaned) > MAX_ACTION_LENGTH:
            raise PlanError("an own item needs a text of at most 500 characters")
        item.action = cleaned
    now = utcnow()
    if status is not item.status:
        item.completed_at = now if status is ItemStatus.DONE else None
        item.status = status
    changed_before, changed_after = audit.changed_fields(before, item.snapshot())
    if not changed_after:
        return False
    item.updated_at = now
    _touch(plan, user, ip, now)
    audit.record("plan_item.update", "plan_item", item.id, actor=user, ip=ip,
                 before={"plan_id": plan.id, **changed_before}, after={"plan_id": plan.id, **changed_after})
    return True


def set_status(item: PlanItem, user: User, status: ItemStatus | str, ip: str | None = None) -> bool:
    """Only the status (the plan page's quick buttons)."""
    return update_item(item, user, owner=item.owner_role, due_on=item.due_on, status=status, ip=ip)


def _months_between(start: date, end: date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month


def add_own_item(plan: ActionPlan, user: User, *, action: str, pillar: str, phase: ItemPhase | str,
                 owner: str | None = None, due_on: date | None = None, ip: str | None = None) -> PlanItem:
    """An item the business adds itself; due by the end of its phase unless it gives a date."""
    _editable(plan)
    phase = ItemPhase(phase)
    framework = assessments.framework_of(plan.assessment)
    if pillar not in {p.code for p in framework.pillars}:
        raise PlanError(f"unknown pillar {pillar!r}")
    text = _clean_text(action)
    if not text or len(text) > MAX_ACTION_LENGTH:
        raise PlanError("an own item needs a text of at most 500 characters")
    owner_value = role_code(owner)
    if owner_value is not None and len(owner_value) > MAX_OWNER_LENGTH:
        raise PlanError("owner too long")
    first, last = PHASE_MONTHS[phase]
    due_month = last
    if due_on is not None:
        due_month = min(max(_months_between(_start_date(plan), due_on), first), last)
    now = utcnow()
    position = max((i.position for i in plan.items), default=-1) + 1
    item = PlanItem(key=None, phase=phase, pillar=pillar, action=text, why=None, owner_role=owner_value,
                    due_month=due_month, due_on=due_on, cost_band=CostBand.LOW, status=ItemStatus.TODO,
                    source=ItemSource.OWN, position=position, created_at=now, updated_at=now)
    plan.items.append(item)
    db.session.flush()
    _touch(plan, user, ip, now)
    audit.record("plan_item.create", "plan_item", item.id, actor=user, ip=ip,
                 after={"plan_id": plan.id, **item.snapshot()})
    return item


def delete_own_item(item: PlanItem, user: User, ip: str | None = None) -> None:
    """Remove an item the business added (generated items are marked done or left, never deleted)."""
    plan = item.plan
    _editable(plan)
    if not item.is_own:
        raise PlanError("only own items can be deleted")
    audit.record("plan_item.delete", "plan_item", item.id, actor=user, ip=ip,
                 before={"plan_id": plan.id, **item.snapshot()})
    plan.items.remove(item)
    _touch(plan, user, ip, utcnow())


# --- Progress and views ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    done: int
    doing: int
    total: int

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0

    def as_dict(self) -> dict[str, int]:
        return {"done": self.done, "doing": self.doing, "total": self.total, "percent": self.percent}


def progress(plan: ActionPlan) -> Progress:
    items = plan.items
    return Progress(sum(1 for i in items if i.status is ItemStatus.DONE),
                    sum(1 for i in items if i.status is ItemStatus.DOING), len(items))


@dataclass(frozen=True)
class ProgrammeLink:
    id: int
    code: str
    name: str
    max_subsidy_vnd: int | None

    def help_text(self) -> str:
        """The programme and how much it pays this organisation (call in the reader's locale)."""
        if self.max_subsidy_vnd:
            return _("%(programme)s: support up to %(amount)s", programme=self.name,
                     amount=format_vnd(self.max_subsidy_vnd))
        if self.max_subsidy_vnd == 0:
            return _("%(programme)s (training or advice, no money for your business size)", programme=self.name)
        return _("%(programme)s (add your figures to your profile to see the amount)", programme=self.name)


@dataclass(frozen=True)
class ItemRow:
    id: int
    key: str | None
    phase: ItemPhase
    pillar: str
    pillar_name: str
    action: str
    why: str
    owner: str
    due: str
    due_on: date | None
    cost_band: CostBand
    cost_band_label: str
    status: ItemStatus
    status_label: str
    is_own: bool
    programme: ProgrammeLink | None
    partner_category: str | None
    partner_category_label: str | None
    training: str | None
    help: str


@dataclass(frozen=True)
class PillarRow:
    code: str
    name: str
    score: float
    level: int
    level_name: str
    target_level: int
    target_level_name: str


@dataclass(frozen=True)
class PhaseBlock:
    phase: ItemPhase
    title: str
    months: str
    items: tuple[ItemRow, ...]


@dataclass(frozen=True)
class ProgrammeRow:
    id: int | None
    code: str
    name: str
    max_subsidy_vnd: int | None
    closes_on: date | None
    reasons: tuple[str, ...]
    documents: tuple[str, ...]


@dataclass(frozen=True)
class PartnerRow:
    id: int | None
    code: str
    name: str
    categories: tuple[str, ...]
    phone: str | None
    email: str | None
    website: str | None


@dataclass(frozen=True)
class PlanView:
    plan: ActionPlan
    organisation: Organisation
    assessment: Assessment
    framework: Framework
    locale: str
    pillars: tuple[PillarRow, ...]
    phases: tuple[PhaseBlock, ...]
    progress: Progress
    radar_svg: Any
    programmes: tuple[ProgrammeRow, ...]
    partners: tuple[PartnerRow, ...]


def _safe_website(url: str | None) -> str | None:
    """Only http(s) addresses are shown as links (a ``javascript:`` URL must never become one)."""
    return url if url and url.lower().startswith(("https://", "http://")) else None


def _eligible_programmes(plan: ActionPlan, programme_ids: set[int]) -> dict[int, Programme]:
    """The linked programmes the organisation can still get today (a programme may close after linking)."""
    if not programme_ids:
        return {}
    from app.recommender import profile_of
    from app.services.catalogue import today

    organisation, assessment = plan.organisation, plan.assessment
    profile = profile_of(organisation)
    on = today()
    counts = eligibility.application_counts(organisation.id, on.year)
    found = {}
    for programme in db.session.scalars(select(Programme).where(Programme.id.in_(programme_ids))):
        failed = eligibility.failures(programme, profile, assessment.overall_level or 0, on,
                                      counts.get(programme.code, 0))
        if not failed:
            found[programme.id] = programme
    return found


def _due_text(item: PlanItem, start: date) -> str:
    if item.due_on is not None:
        return format_date(item.due_on)
    month = start.month - 1 + item.due_month
    calendar = date(start.year + month // 12, month % 12 + 1, 1)
    return _("Month %(number)s (%(month)s)", number=item.due_month, month=calendar.strftime("%m/%Y"))


def _start_date(plan: ActionPlan) -> date:
    """The day the plan was made, in the province."""
    return plan.created_at.astimezone(frameworks.PROVINCE_TZ).date()


def plan_view(plan: ActionPlan, locale: str, recommendations: Recommendations | None = None) -> PlanView:
    """Everything the plan page and the PDF show, in ``locale``."""
    from app.services.catalogue import category_label

    lang = _lang(locale)
    assessment, organisation = plan.assessment, plan.organisation
    framework = assessments.framework_of(assessment)
    scores = {p.code: assessment.pillar_score_map.get(p.code, 0.0) for p in framework.pillars}
    targets = {code: int(plan.targets.get(code, framework.level_for(score))) for code, score in scores.items()}
    with force_locale(lang):
        pillars = []
        for pillar in framework.pillars:
            level = framework.level_for(scores[pillar.code])
            target = max(targets[pillar.code], level)
            pillars.append(PillarRow(pillar.code, pillar.name.pick(lang), scores[pillar.code], level,
                                     framework.level(level).name.pick(lang), target,
                                     framework.level(target).name.pick(lang)))
        names = {row.code: row.name for row in pillars}
        linked = _eligible_programmes(plan, {i.programme_id for i in plan.items if i.programme_id})
        size = organisation.size_class
        start = _start_date(plan)
        rows_by_phase: dict[ItemPhase, list[ItemRow]] = {phase: [] for phase in PHASES}
        for item in plan.items:
            texts = None if item.is_own else item_texts(item.key, item.pillar, framework, scores, targets, lang)
            action, why = texts or (item.action, item.why or "")
            programme = linked.get(item.programme_id) if item.programme_id else None
            link = (ProgrammeLink(programme.id, programme.code, programme.text("name", lang),
                                  eligibility.max_subsidy(programme, size)) if programme else None)
            partner_label = category_label(item.partner_category, lang) if item.partner_category else None
            training = training_text(item.training, lang)
            help_parts = [link.help_text()] if link else []
            if partner_label:
                help_parts.append(_("Vetted IT partners: %(category)s", category=partner_label))
            if training:
                help_parts.append(training)
            rows_by_phase[item.phase].append(ItemRow(
                id=item.id, key=item.key, phase=item.phase, pillar=item.pillar,
                pillar_name=names.get(item.pillar, item.pillar), action=action, why=why,
                owner=role_label(item.owner_role, lang), due=_due_text(item, start), due_on=item.due_on,
                cost_band=item.cost_band, cost_band_label=cost_band_label(item.cost_band, lang), status=item.status,
                status_label=str(item.status.label), is_own=item.is_own, programme=link,
                partner_category=item.partner_category, partner_category_label=partner_label,
                training=training, help="; ".join(help_parts),
            ))
        phases = tuple(
            PhaseBlock(phase, str(phase.label), f"{phase.months[0]}–{phase.months[1]}", tuple(rows_by_phase[phase]))
            for phase in PHASES
        )
        chart = radar.radar_svg(
            [radar.Axis(row.name, row.score, framework.level(row.target_level).lower) for row in pillars],
            title=_("Scores by pillar, from 0 to 100"),
            description=_("Scores: %(figures)s. The dashed outline shows where each target level begins.",
                          figures="; ".join(f"{row.name}: {score_text(row.score, lang)}" for row in pillars)),
            current_label=_("Self-assessment of %(date)s", date=format_date(assessment.submitted_at)),
            previous_label=_("Targets of this plan"),
            id_prefix=f"plan-radar-{plan.id}",
            score_format=lambda value: score_text(value, lang),
        )
        if recommendations is None:
            recommendations = _recommendations(assessment, lang)
        programmes, partners = _lists(recommendations, lang, category_label)
    return PlanView(plan, organisation, assessment, framework, lang, tuple(pillars), phases, progress(plan), chart,
                    programmes, partners)


def _recommendations(assessment: Assessment, lang: str) -> Recommendations:
    """The recommender's lists for the plan; asked once per request (the page and its PDF box both need them)."""
    from flask import g, has_request_context

    from app.recommender import recommend_for_assessment

    if not has_request_context():
        return recommend_for_assessment(assessment, locale=lang, limit=LIST_LIMIT)
    memo = g.setdefault("plan_recommendations", {})
    key = (assessment.id, lang)
    if key not in memo:
        memo[key] = recommend_for_assessment(assessment, locale=lang, limit=LIST_LIMIT)
    return memo[key]


def _lists(recommendations: Recommendations, lang: str, category_label) -> tuple[tuple, tuple]:
    codes = [item.code for item in recommendations.programmes[:LIST_LIMIT]]
    facts = {p.code: p for p in db.session.scalars(select(Programme).where(Programme.code.in_(codes)))} if codes else {}
    programmes = []
    for item in recommendations.programmes[:LIST_LIMIT]:
        programme = facts.get(item.code)
        documents = tuple(d.name.get(lang) or d.name.get("vi", "") for d in programme.documents
                          if d.required) if programme else ()
        programmes.append(ProgrammeRow(programme.id if programme else None, item.code, item.name,
                                       item.max_subsidy_vnd, programme.closes_on if programme else None,
                                       tuple(item.reasons), documents))
    partner_codes = [item.code for item in recommendations.partners[:LIST_LIMIT]]
    partner_ids = dict(db.session.execute(select(Partner.code, Partner.id).where(Partner.code.in_(partner_codes)))
                       .all()) if partner_codes else {}
    partners = tuple(
        PartnerRow(partner_ids.get(item.code), item.code, item.name,
                   tuple(category_label(c, lang) for c in item.categories), item.phone, item.email,
                   _safe_website(item.website))
        for item in recommendations.partners[:LIST_LIMIT]
    )
    return tuple(programmes), partners


# --- The PDF's data -------------------------------------------------------------------------------------


def _nfc(value: Any) -> Any:
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, dict):
        return {key: _nfc(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_nfc(item) for item in value]
    return value


def _summary(view: PlanView) -> list[str]:
    assessment, pillars, lang = view.assessment, view.pillars, view.locale
    level = view.framework.level(assessment.overall_level or 0)
    strongest = max(pillars, key=lambda row: row.score)
    weakest = min(pillars, key=lambda row: row.score)
    raised = sum(1 for row in pillars if row.target_level > row.level)
    counts = {block.phase: len(block.items) for block in view.phases}
    sentences = [
        _("%(organisation)s is at digital maturity level %(level)s (%(level_name)s), with %(score)s/100 points in "
          "the self-assessment of %(date)s.", organisation=view.organisation.name, level=level.level,
          level_name=level.name.pick(lang), score=score_text(assessment.overall_score, lang),
          date=format_date(assessment.submitted_at)),
    ]
    if strongest.score > weakest.score:
        sentences.append(_("Strongest area: %(strong)s (%(strong_score)s). Most room to grow: %(weak)s "
                           "(%(weak_score)s).", strong=strongest.name, strong_score=score_text(strongest.score, lang),
                           weak=weakest.name, weak_score=score_text(weakest.score, lang)))
    else:
        sentences.append(_("Every area scores the same (%(score)s), so the plan starts with a first step in each.",
                           score=score_text(weakest.score, lang)))
    if raised:
        sentences.append(_("Target: raise %(count)s of the %(total)s pillars by at least one level within 24 months.",
                           count=raised, total=len(pillars)))
    else:
        sentences.append(_("Every pillar is at the top level: the plan is about keeping it there."))
    sentences.append(_("Actions: %(total)s in all — quick wins in the first 3 months: %(quick)s, foundations by month "
                       "12: %(foundation)s, growth by month 24: %(growth)s.", total=view.progress.total,
                       quick=counts[ItemPhase.QUICK_WIN], foundation=counts[ItemPhase.FOUNDATION],
                       growth=counts[ItemPhase.GROWTH]))
    if view.progress.done:
        sentences.append(_("Progress so far: %(done)s of %(total)s actions done.", done=view.progress.done,
                           total=view.progress.total))
    elif view.programmes:
        sentences.append(_("Support programmes open to you now: %(count)s. The list shows how much they can pay and "
                           "how to apply.", count=len(view.programmes)))
    return sentences


def _subsidy_text(amount: int | None) -> str:
    if amount:
        return _("Support up to %(amount)s", amount=format_vnd(amount))
    if amount == 0:
        return _("No money for your business size; training or advice only")
    return _("Add your figures to your profile to see the amount")


def printable(plan: ActionPlan, locale: str, recommendations: Recommendations | None = None) -> dict[str, Any]:
    """The plan as plain data for the PDF: no ORM objects, every text NFC-normalised and in ``locale``.

    Shape (keys may be added, never renamed): ``locale``; ``organisation`` {name, kind_label, commune,
    sector_label, tax_code}; ``plan`` {id, version, date, verification_code, url, verify_url, status_label};
    ``assessment`` {date, overall_score, overall_level, level_name}; ``summary`` (3-5 sentences);
    ``radar_svg``; ``pillars`` [{code, name, score, level, target_level, level_name, target_level_name}];
    ``phases`` [{code, title, months, items [{pillar_name, action, why, owner, due, cost_band_label, help,
    status_label, status, pillar, source}]}]; ``programmes`` [{code, name, max_subsidy_vnd,
    max_subsidy_text, how_to_apply, closes_on}]; ``partners`` [{name, categories, phone, email, website}];
    ``progress`` {done, doing, total, percent}. Dates are dd/mm/yyyy; ``plan.url`` is the page
    ``plans.show`` built from ``BASE_URL``.
    """
    from app.services import geo, sectors
    from app.services.messaging import portal_url

    lang = _lang(locale)
    view = plan_view(plan, lang, recommendations)
    organisation, assessment = view.organisation, view.assessment
    with force_locale(lang):
        level = view.framework.level(assessment.overall_level or 0)
        programmes = []
        for row in view.programmes:
            url = portal_url("catalogue.programme", programme_id=row.id) if row.id else portal_url("catalogue.index")
            how = _("Read the conditions and apply at %(url)s before %(date)s.", url=url,
                    date=format_date(row.closes_on)) if row.closes_on else _("Read the conditions and apply at "
                                                                              "%(url)s.", url=url)
            if row.documents:
                how = f"{how} {_('Documents: %(documents)s.', documents='; '.join(row.documents))}"
            programmes.append({
                "code": row.code, "name": row.name, "max_subsidy_vnd": row.max_subsidy_vnd,
                "max_subsidy_text": _subsidy_text(row.max_subsidy_vnd), "how_to_apply": how,
                "closes_on": format_date(row.closes_on) if row.closes_on else None,
            })
        data = {
            "locale": lang,
            "organisation": {
                "name": organisation.name,
                "kind_label": str(organisation.kind.label),
                "commune": geo.commune_name(organisation.commune_code),
                "sector_label": sectors.name(organisation.sector, lang),
                "tax_code": organisation.tax_code,
            },
            "plan": {
                "id": plan.id,
                "version": plan.version,
                "date": format_date(plan.created_at),
                "verification_code": plan.verification_code,
                "url": portal_url("plans.show", org_id=organisation.id, plan_id=plan.id),
                "verify_url": portal_url("printing.verify"),
                "status_label": str(plan.status.label),
            },
            "assessment": {
                "date": format_date(assessment.submitted_at),
                "overall_score": assessment.overall_score,
                "overall_level": assessment.overall_level,
                "level_name": level.name.pick(lang),
            },
            "summary": _summary(view),
            "radar_svg": str(view.radar_svg),
            "pillars": [{"code": row.code, "name": row.name, "score": row.score, "level": row.level,
                         "target_level": row.target_level, "level_name": row.level_name,
                         "target_level_name": row.target_level_name} for row in view.pillars],
            "phases": [{
                "code": block.phase.value, "title": block.title, "months": block.months,
                "items": [{"pillar_name": item.pillar_name, "action": item.action, "why": item.why,
                           "owner": item.owner, "due": item.due, "cost_band_label": item.cost_band_label,
                           "help": item.help, "status_label": item.status_label, "status": item.status.value,
                           "pillar": item.pillar, "source": "own" if item.is_own else "generated"}
                          for item in block.items],
            } for block in view.phases],
            "programmes": programmes,
            "partners": [{"name": row.name, "categories": list(row.categories), "phone": row.phone,
                          "email": row.email, "website": row.website} for row in view.partners],
            "progress": view.progress.as_dict(),
        }
    return _nfc(data)
