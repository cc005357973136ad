"""Self-assessments: drafts saved per question, resume, submit with scoring, history and peer benchmark.

Plain Python over the models; callers commit. Every state change writes an audit record.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, literal, select, union_all, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import lazyload

from app.extensions import db
from app.models.assessment import Assessment, AssessmentAnswer, AssessmentPillarScore, AssessmentStatus
from app.models.organisation import Organisation
from app.models.types import utcnow
from app.models.user import User
from app.services import audit, frameworks, scoring
from app.services.frameworks import Framework

#: A peer benchmark is shown only when at least this many other organisations can be compared.
MIN_PEERS = 10


class AssessmentError(ValueError):
    """The action is not possible in the assessment's state (e.g. changing a submitted one)."""


class IncompleteAssessmentError(AssessmentError):
    """Submitting needs every question answered; ``unanswered`` lists the ones left."""

    def __init__(self, unanswered: tuple[str, ...]):
        self.unanswered = unanswered
        super().__init__(f"{len(unanswered)} questions are unanswered")


def framework_of(assessment: Assessment) -> Framework:
    """The exact framework version the assessment was answered under (never a newer one)."""
    return frameworks.get_framework(assessment.framework_ref)


def current_draft(organisation: Organisation) -> Assessment | None:
    """The organisation's open draft, if any (there is at most one)."""
    return db.session.scalar(
        select(Assessment)
        .where(Assessment.organisation_id == organisation.id, Assessment.status == AssessmentStatus.DRAFT)
        .order_by(Assessment.id.desc())
        .limit(1)
    )


def latest_submitted(organisation: Organisation) -> Assessment | None:
    """The organisation's most recent submitted assessment."""
    return db.session.scalar(
        select(Assessment)
        .where(Assessment.organisation_id == organisation.id, Assessment.status == AssessmentStatus.SUBMITTED)
        .order_by(Assessment.submitted_at.desc(), Assessment.id.desc())
        .limit(1)
    )


def history(organisation: Organisation, with_answers: bool = True) -> list[Assessment]:
    """Submitted assessments, newest first; ``with_answers=False`` leaves the answers unloaded until used
    (a results page shows only scores, so it saves loading every answer of every past assessment)."""
    query = (
        select(Assessment)
        .where(Assessment.organisation_id == organisation.id, Assessment.status == AssessmentStatus.SUBMITTED)
        .order_by(Assessment.submitted_at.desc(), Assessment.id.desc())
    )
    if not with_answers:
        query = query.options(lazyload(Assessment.answers))
    return list(db.session.scalars(query))


def _valid_answer(framework: Framework, track: str, question_id: str, value: Any) -> str | None:
    """None when ``value`` is a valid answer to the question in this track, else the reason."""
    try:
        scoring.question_points(framework, track, {question_id: value})
    except scoring.AnswerError as error:
        return error.errors.get(question_id) or next(iter(error.errors.values()))
    return None


def start(organisation: Organisation, user: User, ip: str | None = None) -> Assessment:
    """The open draft, or a new one under the current framework, pre-filled from the last submission.

    Previous answers are carried over only where the question still exists and the answer is still
    valid, so a new framework version never receives answers it cannot score.
    """
    draft = current_draft(organisation)
    if draft is not None:
        return draft
    framework = frameworks.current_framework()
    track = framework.track_for_kind(organisation.kind.value).code
    previous = latest_submitted(organisation)
    now = utcnow()
    draft = Assessment(
        organisation_id=organisation.id,
        framework_id=framework.id,
        framework_version=framework.version,
        track=track,
        status=AssessmentStatus.DRAFT,
        previous_id=previous.id if previous else None,
        created_by_id=user.id,
        created_at=now,
        updated_at=now,
    )
    carried = 0
    if previous is not None:
        for question_id, value in previous.answer_map.items():
            if _valid_answer(framework, track, question_id, value) is None:
                draft.answers.append(AssessmentAnswer(question_id=question_id, value=value,
                                                      updated_by_id=user.id, updated_at=now))
                carried += 1
    try:
        # A unique index allows one draft per organisation: two members pressing "Start" at the same
        # moment end up in the same draft.
        with db.session.begin_nested():
            db.session.add(draft)
    except IntegrityError:
        existing = current_draft(organisation)
        if existing is None:
            raise
        return existing
    audit.record("assessment.start", "assessment", draft.id, actor=user, ip=ip,
                 after={"organisation_id": organisation.id, "framework": framework.ref, "track": track,
                        "previous_id": draft.previous_id, "answers_carried": carried})
    return draft


def save_answers(
    assessment: Assessment,
    user: User,
    answers: Mapping[str, Any],
    shown: Mapping[str, Any] | None = None,
    ip: str | None = None,
) -> dict[str, str]:
    """Save answers question by question; returns {question id: reason} for the ones refused.

    ``shown`` holds what the user's page displayed for each question. An answer equal to what was
    shown is left alone, so a member who did not touch a question never overwrites the answer a
    colleague saved meanwhile: the last save wins per question, and nothing else is lost. Valid
    answers are saved even when others in the same step are invalid.
    """
    if assessment.status is not AssessmentStatus.DRAFT:
        raise AssessmentError("a submitted assessment cannot be changed")
    framework = framework_of(assessment)
    in_track = {q.id for q in framework.questions_for(assessment.track)}
    existing = {a.question_id: a for a in assessment.answers}
    shown = shown or {}
    errors: dict[str, str] = {}
    changes: dict[str, Any] = {}
    now = utcnow()
    for question_id, value in answers.items():
        if question_id not in in_track:
            errors[question_id] = "unknown question"
            continue
        if question_id in shown and _same(shown[question_id], value):
            continue
        if value is not None:
            reason = _valid_answer(framework, assessment.track, question_id, value)
            if reason:
                errors[question_id] = reason
                continue
        row = existing.get(question_id)
        if row is None:
            if value is None:
                continue
            row = AssessmentAnswer(question_id=question_id)
            assessment.answers.append(row)
        elif _same(row.value, value):
            continue
        row.value = value
        row.updated_by_id = user.id
        row.updated_at = now
        changes[question_id] = value
    if changes:
        assessment.updated_at = now
        audit.record("assessment.save", "assessment", assessment.id, actor=user, ip=ip, after=changes)
    return errors


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return sorted(map(str, a)) == sorted(map(str, b))
    return a == b


@dataclass(frozen=True)
class Progress:
    answered: int
    total: int
    #: Index (0-based) of the first pillar with an unanswered question, or None when all are answered.
    resume_step: int | None
    first_unanswered: str | None

    @property
    def percent(self) -> int:
        return round(100 * self.answered / self.total) if self.total else 100


def progress(assessment: Assessment) -> Progress:
    """How far the draft is, and where "continue later" should resume."""
    framework = framework_of(assessment)
    answered_ids = set(assessment.answer_map)
    total = answered = 0
    resume_step = first = None
    for index, pillar in enumerate(framework.pillars):
        for question in framework.pillar_questions(assessment.track, pillar.code):
            total += 1
            if question.id in answered_ids:
                answered += 1
            elif first is None:
                first, resume_step = question.id, index
    return Progress(answered, total, resume_step, first)


def submit(assessment: Assessment, user: User, ip: str | None = None) -> scoring.ScoreResult:
    """Score a complete draft, store its pillar scores and make it the organisation's latest."""
    if assessment.status is not AssessmentStatus.DRAFT:
        raise AssessmentError("this assessment was already submitted")
    framework = framework_of(assessment)
    result = scoring.score(framework, assessment.track, assessment.answer_map)
    if result.unanswered:
        raise IncompleteAssessmentError(result.unanswered)
    now = utcnow()
    db.session.execute(
        update(Assessment)
        .where(Assessment.organisation_id == assessment.organisation_id, Assessment.is_latest.is_(True))
        .values(is_latest=False)
    )
    assessment.status = AssessmentStatus.SUBMITTED
    assessment.submitted_at = now
    assessment.submitted_by_id = user.id
    assessment.updated_at = now
    assessment.overall_score = result.overall
    assessment.overall_level = result.level
    assessment.is_latest = True
    for position, pillar in enumerate(result.pillars):
        assessment.pillar_scores.append(AssessmentPillarScore(pillar=pillar.code, position=position,
                                                              score=pillar.score))
    audit.record("assessment.submit", "assessment", assessment.id, actor=user, ip=ip,
                 before={"status": "draft"},
                 after={"status": "submitted", "overall_score": result.overall, "level": result.level,
                        "pillars": result.pillar_scores})
    return result


def discard_draft(assessment: Assessment, user: User, ip: str | None = None) -> None:
    """Delete an unsubmitted draft (a business that wants to start over)."""
    if assessment.status is not AssessmentStatus.DRAFT:
        raise AssessmentError("only a draft can be discarded")
    audit.record("assessment.discard", "assessment", assessment.id, actor=user, ip=ip,
                 before={"answers": assessment.answer_map})
    db.session.delete(assessment)


def previous_submitted(assessment: Assessment) -> Assessment | None:
    """The submitted assessment before this one (for the change since last time)."""
    query = select(Assessment).where(
        Assessment.organisation_id == assessment.organisation_id,
        Assessment.status == AssessmentStatus.SUBMITTED,
        Assessment.id != assessment.id,
    )
    if assessment.submitted_at is not None:
        query = query.where(Assessment.submitted_at < assessment.submitted_at)
    return db.session.scalar(query.order_by(Assessment.submitted_at.desc(), Assessment.id.desc()).limit(1))


def deltas(assessment: Assessment, previous: Assessment | None) -> dict[str, float | None]:
    """Change per pillar (and ``overall``) since ``previous``; None where there is nothing to compare."""
    if previous is None:
        return {}
    before = previous.pillar_score_map
    result: dict[str, float | None] = {}
    for pillar, score in assessment.pillar_score_map.items():
        result[pillar] = round(score - before[pillar], 1) if pillar in before else None
    if assessment.overall_score is not None and previous.overall_score is not None:
        result["overall"] = round(assessment.overall_score - previous.overall_score, 1)
    return result


@dataclass(frozen=True)
class PeerStats:
    """Quartiles of one pillar (or ``overall``) among peers."""

    q1: float
    median: float
    q3: float


@dataclass(frozen=True)
class Benchmark:
    peers: int
    #: What the peers have in common: kind and sector, plus size class when enough share it.
    by_size_class: bool
    stats: dict[str, PeerStats]

    @property
    def available(self) -> bool:
        return self.peers >= MIN_PEERS


def _peer_filter(assessment: Assessment, organisation: Organisation, with_size: bool):
    """Latest submissions of other organisations of the same kind and sector, same framework and track."""
    conditions = [
        Assessment.status == AssessmentStatus.SUBMITTED,
        Assessment.is_latest.is_(True),
        Assessment.organisation_id != organisation.id,
        Assessment.track == assessment.track,
        Assessment.framework_id == assessment.framework_id,
        Organisation.kind == organisation.kind,
        Organisation.sector == organisation.sector,
    ]
    if with_size:
        conditions.append(Organisation.size_class == organisation.size_class)
    return and_(*conditions)


def _peers(assessment: Assessment, organisation: Organisation, with_size: bool, *columns):
    return (
        select(*columns)
        .select_from(Assessment)
        .join(Organisation, Organisation.id == Assessment.organisation_id)
        .where(_peer_filter(assessment, organisation, with_size))
    )


def _count_peers(assessment: Assessment, organisation: Organisation, with_size: bool) -> int:
    return db.session.scalar(_peers(assessment, organisation, with_size, func.count(Assessment.id))) or 0


def _quartiles_from_counts(counts: list[tuple[float, int]]) -> PeerStats:
    """Quartiles by linear interpolation between ranked values (numpy's default), from (value, count) pairs."""
    n = sum(count for _value, count in counts)

    def value_at(rank: int) -> float:
        seen = 0
        for value, count in counts:
            seen += count
            if rank < seen:
                return value
        return counts[-1][0]

    figures = []
    for quarter in (1, 2, 3):
        exact = quarter * (n - 1) / 4
        low = int(exact)
        low_value = value_at(low)
        high_value = value_at(low + 1) if low + 1 < n else low_value
        figures.append(round(low_value + (high_value - low_value) * (exact - low), 1))
    return PeerStats(*figures)


def _quartiles_sql(query, value_column, group_column=None) -> dict[str, PeerStats]:
    """Quartiles per group from a frequency table the database builds.

    Scores carry one decimal, so each group has at most 1,001 distinct values: the database
    groups and counts the peers' scores, and only those (value, count) pairs come back, however
    many peers there are. Same SQL on SQLite and PostgreSQL.
    """
    group = group_column if group_column is not None else literal("overall")
    rows = db.session.execute(
        query.add_columns(group.label("grp"), value_column.label("val"), func.count().label("n"))
        .group_by(group_column if group_column is not None else value_column, value_column)
        .order_by(group_column if group_column is not None else value_column, value_column)
    )
    counts: dict[str, list[tuple[float, int]]] = {}
    for grp, value, n in rows:
        counts.setdefault(grp, []).append((float(value), int(n)))
    return {grp: _quartiles_from_counts(pairs) for grp, pairs in counts.items()}


def _peer_data_version() -> tuple:
    """A stamp that changes whenever any peer statistic could change.

    A submission adds a submitted assessment (count and latest ``updated_at`` move); a deleted
    assessment or organisation lowers a count; an edited profile (kind, sector, size class) moves the
    organisations' latest ``updated_at``. One scan of each table, far cheaper than the quartiles.
    """
    rows = db.session.execute(union_all(
        select(literal(1), func.count(Assessment.id), func.max(Assessment.updated_at))
        .where(Assessment.status == AssessmentStatus.SUBMITTED),
        select(literal(2), func.count(Organisation.id), func.max(Organisation.updated_at)),
    )).all()
    return tuple(sorted(tuple(row) for row in rows))


#: Benchmarks computed by this process, keyed by peer group and data version; the oldest are dropped.
_benchmarks: OrderedDict[tuple, Benchmark] = OrderedDict()
_benchmarks_lock = threading.Lock()
BENCHMARK_CACHE_SIZE = 1024


def peer_benchmark(assessment: Assessment) -> Benchmark:
    """Median and quartiles of peers' latest submitted assessments, per pillar and overall.

    Peers: other organisations of the same kind and sector (and size class when at least
    ``MIN_PEERS`` share it) whose latest submission used the same framework and track.

    Ranking every peer's scores costs hundreds of milliseconds with 10,000 peers, while the figures
    change only when someone submits or edits a profile; so results are kept per process under a key
    that includes ``_peer_data_version()``, and any such change makes every cached figure stale at once
    (also in the other worker processes, which read the same stamp).
    """
    organisation = assessment.organisation
    key = (organisation.id, organisation.kind, organisation.sector, organisation.size_class,
           assessment.framework_id, assessment.track, _peer_data_version())
    with _benchmarks_lock:
        cached = _benchmarks.get(key)
        if cached is not None:
            _benchmarks.move_to_end(key)
    if cached is None:
        cached = _compute_peer_benchmark(assessment, organisation)
        with _benchmarks_lock:
            _benchmarks[key] = cached
            while len(_benchmarks) > BENCHMARK_CACHE_SIZE:
                _benchmarks.popitem(last=False)
    return Benchmark(cached.peers, cached.by_size_class, dict(cached.stats))


def _compute_peer_benchmark(assessment: Assessment, organisation: Organisation) -> Benchmark:
    with_size = organisation.size_class is not None and _count_peers(assessment, organisation, True) >= MIN_PEERS
    peers = _count_peers(assessment, organisation, with_size)
    if peers < MIN_PEERS:
        return Benchmark(peers, with_size, {})
    pillar_query = _peers(assessment, organisation, with_size).join(
        AssessmentPillarScore, AssessmentPillarScore.assessment_id == Assessment.id
    )
    stats = _quartiles_sql(pillar_query, AssessmentPillarScore.score, AssessmentPillarScore.pillar)
    stats.update(_quartiles_sql(_peers(assessment, organisation, with_size), Assessment.overall_score))
    return Benchmark(peers, with_size, stats)
