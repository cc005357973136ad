"""The department's dashboard: how the province's businesses progress, and how support money is used.

Staff only, so figures are exact (no suppression; that is for open data). The assessment figures are
GROUP BYs over ``dashboard_fact``, one narrow row per submitted assessment (``app/models/dashboard_facts.py``),
instead of joins of assessments, pillar scores and organisations; Python only rolls up the grouped rows. The
progress table reads pairs of those rows made in advance (``dashboard_progress_pair``), or their sums per kind
and quarters (``dashboard_progress_cell``) when no commune or sector is chosen.
Before computing, ``sync_facts`` brings that table up to date: one index-only check, and when submissions
or profiles changed, the rows of those organisations are computed again (everything, after a deletion or a
new framework). Results are cached (Redis or this process) under the filters and
``opendata.data_version()``, so any new submission, profile edit or application step shows at once while
repeated views cost no query beyond the version check.

Definitions (also on the page):

- Filters: a period (from / to quarter, province time), a commune, a sector, a kind of organisation.
  Commune, sector and kind select organisations by their current profile (the fact rows copy it and are
  refreshed when a profile is edited; open data, not the dashboard, freezes profiles); the period selects
  submissions (assessments) and first submissions (applications).
- *Organisations*: registered organisations (up to the end of the period when one is set).
  *Assessed*: those with at least one submitted assessment in the period.
- *Levels per pillar*: for each assessed organisation, its latest submission in the period; a pillar's
  level is the framework level whose band holds the pillar score.
- *Progress*: organisations with two or more submissions in the period, first against latest. Submission
  order is ``submitted_at``, then id (within an organisation ids follow it anyway: an organisation has at
  most one draft at a time).
- *Share at each level per quarter*: as in open data, each organisation counts once per quarter, with
  its latest submission of the quarter.
- *Programmes*: budget, committed, paid out and remaining are the programme's own totals (not filtered);
  the application counts are those first submitted in the period by the selected organisations.
- *Funnel*: those applications by current state; *time in a state* is the median number of days between
  entering a state and leaving it (each transition records when the state it leaves was entered), over
  stays that have ended.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import (
    String,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    type_coerce,
    union,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import aliased

from app.extensions import db
from app.models.application import ActivityKind, Application, ApplicationActivity, ApplicationStatus
from app.models.assessment import Assessment, AssessmentPillarScore, AssessmentStatus
from app.models.catalogue import Programme
from app.models.dashboard_facts import (
    LEVEL_BASE,
    MAX_PILLARS,
    NO_QUARTER_AFTER,
    NO_QUARTER_BEFORE,
    DashboardFact,
    DashboardFactState,
    DashboardProgressCell,
    DashboardProgressPair,
)
from app.models.organisation import Organisation, OrganisationKind
from app.models.types import utcnow
from app.services import frameworks, geo, opendata, sectors
from app.services.formatting import format_number, format_vnd

S = ApplicationStatus
#: The funnel's states in workflow order (drafts are the business's own and not counted).
FUNNEL_STATES = (S.SUBMITTED, S.IN_REVIEW, S.INFO_REQUESTED, S.RECOMMENDED, S.APPROVED, S.COMPLETED,
                 S.REJECTED, S.WITHDRAWN, S.CANCELLED)
#: States an application leaves again, for which a time in the state is measured.
TIMED_STATES = (S.SUBMITTED, S.IN_REVIEW, S.INFO_REQUESTED, S.RECOMMENDED, S.APPROVED)
#: The earliest quarter the period filter offers (the national digital-transformation programme began in 2020).
FIRST_QUARTER = opendata.quarter_key(2020, 1)
CACHE_VERSION = 1


@dataclass(frozen=True)
class Filters:
    """Validated filters; None means "all"."""

    start: int | None = None
    end: int | None = None
    commune: str | None = None
    sector: str | None = None
    kind: str | None = None

    @property
    def start_at(self):
        return opendata.quarter_start(self.start) if self.start else None

    @property
    def end_before(self):
        return opendata.quarter_start(opendata.next_quarter(self.end)) if self.end else None

    def cache_key(self) -> str:
        return "|".join(str(v or "") for v in (self.start, self.end, self.commune, self.sector, self.kind))


def quarter_choices(today_quarter: int) -> list[int]:
    """Every quarter from ``FIRST_QUARTER`` to the current one, newest first."""
    keys, key = [], FIRST_QUARTER
    while key <= today_quarter:
        keys.append(key)
        key = opendata.next_quarter(key)
    return list(reversed(keys))


# The fact table -------------------------------------------------------------------------------------

F = DashboardFact
P = DashboardProgressPair
C = DashboardProgressCell
#: Bumped when the way fact rows are computed changes: the table is then rebuilt on the next view.
FACTS_FORMULA = 2
#: More changed organisations than this (a bulk import): computing every row again is quicker.
INCREMENTAL_LIMIT = 2000
_STATE_ID = 1


def _fact_scores() -> tuple[Any, ...]:
    return tuple(getattr(F, f"score_{i + 1}") for i in range(MAX_PILLARS))


def _layout() -> str:
    """What the rows depend on besides the data: the formula, the framework, its pillars and level bands."""
    framework = frameworks.current_framework()
    return opendata.digest(FACTS_FORMULA, framework.ref, [p.code for p in framework.pillars],
                            [(lv.level, lv.upper) for lv in framework.levels])


def _submitted() -> list:
    return [Assessment.status == AssessmentStatus.SUBMITTED, Assessment.submitted_at.is_not(None)]


def _level_case(column):
    """The framework level whose band holds ``column`` (None stays None)."""
    levels = frameworks.current_framework().levels
    return case((column.is_(None), None), *[(column < level.upper, level.level) for level in levels[:-1]],
                else_=levels[-1].level)


#: The organisations whose rows a sync recomputes, bound at execution (one statement for any list).
LISTED = bindparam("organisations", expanding=True)


def _fact_rows(listed: bool):
    """INSERT ... SELECT of the fact rows of every organisation, or of the ``LISTED`` ones."""
    pillars = frameworks.current_framework().pillars
    if len(pillars) > MAX_PILLARS or len(frameworks.current_framework().levels) >= LEVEL_BASE:
        raise RuntimeError("the framework has more pillars or levels than the dashboard's fact table holds")
    quarter = opendata.quarter_sql(Assessment.submitted_at)
    window = {"partition_by": Assessment.organisation_id, "order_by": (Assessment.submitted_at, Assessment.id)}
    scores = [aliased(AssessmentPillarScore, name=f"pillar_{i + 1}") for i in range(len(pillars))]
    columns = [
        Assessment.id, Assessment.organisation_id, Assessment.submitted_at, quarter,
        func.lag(quarter).over(**window), func.lead(quarter).over(**window),
        Organisation.kind, Organisation.sector, Organisation.commune_code,
        Assessment.overall_score, Assessment.overall_level,
        *[score.score for score in scores],
        sum((func.coalesce(level, LEVEL_BASE - 1) * LEVEL_BASE ** i
             for i, level in enumerate([Assessment.overall_level, *[_level_case(score.score) for score in scores]])),
            literal(0)),
    ]
    query = select(*columns).join(Organisation, Organisation.id == Assessment.organisation_id)
    for score, pillar in zip(scores, pillars, strict=True):
        query = query.outerjoin(score, and_(score.assessment_id == Assessment.id, score.pillar == pillar.code))
    query = query.where(*_submitted())
    if listed:
        query = query.where(Assessment.organisation_id.in_(LISTED))
    targets = [F.assessment_id, F.organisation_id, F.submitted_at, F.quarter, F.prev_quarter, F.next_quarter,
               F.org_kind, F.sector, F.commune_code, F.overall_score, F.overall_level,
               *_fact_scores()[:len(pillars)], F.levels_code]
    return insert(F.__table__).from_select([target.key for target in targets], query)


def _save_state(layout: str, organisations_seen_at) -> None:
    """Upsert the single state row (on PostgreSQL this also makes a second worker's sync wait for ours)."""
    upsert = sqlite_insert if db.engine.dialect.name == "sqlite" else postgresql_insert
    values = {"layout": layout, "organisations_seen_at": organisations_seen_at, "synced_at": utcnow()}
    statement = upsert(DashboardFactState).values(id=_STATE_ID, **values)
    db.session.execute(statement.on_conflict_do_update(index_elements=["id"], set_=values))


def _pair_rows(listed: bool):
    """INSERT ... SELECT of the progress pairs (``DashboardProgressPair``) from the fact rows, of every
    organisation or of the ``LISTED`` ones."""
    first, last = aliased(F, name="first"), aliased(F, name="last")
    slots = range(len(frameworks.current_framework().pillars))
    query = (
        select(first.assessment_id, last.assessment_id, first.organisation_id, last.org_kind, last.sector,
               last.commune_code, first.quarter, first.prev_quarter, last.quarter, last.next_quarter,
               first.overall_score, last.overall_score, first.overall_level, last.overall_level,
               *[getattr(first, f"score_{i + 1}") for i in slots], *[getattr(last, f"score_{i + 1}") for i in slots])
        .join(last, and_(last.organisation_id == first.organisation_id,
                         or_(last.submitted_at > first.submitted_at,
                             and_(last.submitted_at == first.submitted_at, last.assessment_id > first.assessment_id))))
        .where(or_(first.prev_quarter.is_(None), first.prev_quarter < first.quarter),
               or_(last.next_quarter.is_(None), last.next_quarter > last.quarter))
    )
    if listed:
        query = query.where(first.organisation_id.in_(LISTED))
    targets = [P.first_assessment_id, P.last_assessment_id, P.organisation_id, P.org_kind, P.sector, P.commune_code,
               P.first_quarter, P.first_prev_quarter, P.last_quarter, P.last_next_quarter,
               P.first_overall_score, P.last_overall_score, P.first_overall_level, P.last_overall_level,
               *[getattr(P, f"first_score_{i + 1}") for i in slots],
               *[getattr(P, f"last_score_{i + 1}") for i in slots]]
    return insert(P.__table__).from_select([target.key for target in targets], query)


def _pair_sums(sign: int = 1) -> tuple[list, list]:
    """The cell keys and the sums of the pairs (times ``sign``), in ``DashboardProgressCell``'s columns."""
    keys = [P.org_kind, P.first_quarter, func.coalesce(P.first_prev_quarter, NO_QUARTER_BEFORE), P.last_quarter,
            func.coalesce(P.last_next_quarter, NO_QUARTER_AFTER)]
    values = [func.count(), func.count(P.first_overall_score), func.coalesce(func.sum(P.first_overall_score), 0.0),
              func.count(P.last_overall_score), func.coalesce(func.sum(P.last_overall_score), 0.0),
              func.count(case((P.last_overall_level > P.first_overall_level, 1)))]
    pillars = len(frameworks.current_framework().pillars)
    for i in range(MAX_PILLARS):
        if i >= pillars:
            values += [literal(0), literal(0.0), literal(0.0), literal(0)]
            continue
        a, b = getattr(P, f"first_score_{i + 1}"), getattr(P, f"last_score_{i + 1}")
        both = and_(a.is_not(None), b.is_not(None))
        values += [func.count(case((both, 1))), func.coalesce(func.sum(case((both, a))), 0.0),
                   func.coalesce(func.sum(case((both, b))), 0.0), func.count(case((and_(both, b > a), 1)))]
    return keys, [value * sign if sign != 1 else value for value in values]


_CELL_KEYS = ("org_kind", "first_quarter", "first_prev_quarter", "last_quarter", "last_next_quarter")
_CELL_VALUES = ("pairs", "overall_first_n", "overall_first_sum", "overall_last_n", "overall_last_sum", "level_up",
                *[f"pillar_{i + 1}_{part}" for i in range(MAX_PILLARS) for part in ("n", "first_sum", "last_sum",
                                                                                    "improved")])


def _cells_upsert(sign: int):
    """Add (``sign`` 1) or subtract (-1) the pairs of the ``LISTED`` organisations to / from the cells."""
    keys, values = _pair_sums(sign)
    query = select(*keys, *values).where(P.organisation_id.in_(LISTED)).group_by(*keys)
    upsert = sqlite_insert if db.engine.dialect.name == "sqlite" else postgresql_insert
    statement = upsert(C.__table__).from_select([*_CELL_KEYS, *_CELL_VALUES], query)
    return statement.on_conflict_do_update(
        index_elements=list(_CELL_KEYS),
        set_={name: C.__table__.c[name] + statement.excluded[name] for name in _CELL_VALUES},
    )


@dataclass(frozen=True)
class _Statements:
    """The sync's statements for one framework layout and database, built once: building them took a few
    tens of milliseconds of Python per sync (the load test's dashboard views sync nearly every time)."""

    facts: Any
    listed_facts: Any
    pairs: Any
    listed_pairs: Any
    cells: Any
    add_listed_cells: Any
    subtract_listed_cells: Any
    progress_sums: tuple
    pair_sums: tuple


_statements_built: dict[tuple[str, str], _Statements] = {}


def _statements() -> _Statements:
    key = (_layout(), db.engine.dialect.name)
    built = _statements_built.get(key)
    if built is None:
        keys, values = _pair_sums()
        built = _Statements(
            facts=_fact_rows(False), listed_facts=_fact_rows(True),
            pairs=_pair_rows(False), listed_pairs=_pair_rows(True),
            cells=insert(C.__table__).from_select([*_CELL_KEYS, *_CELL_VALUES], select(*keys, *values).group_by(*keys)),
            add_listed_cells=_cells_upsert(1), subtract_listed_cells=_cells_upsert(-1),
            progress_sums=tuple(func.coalesce(func.sum(getattr(C, name)), 0) for name in _CELL_VALUES),
            pair_sums=tuple(values),
        )
        _statements_built[key] = built
    return built


def _rebuild_all() -> None:
    statements = _statements()
    db.session.execute(delete(C))
    db.session.execute(delete(P))
    db.session.execute(delete(F))
    db.session.execute(statements.facts)
    db.session.execute(statements.pairs)
    db.session.execute(statements.cells)


def _rebuild_organisations(organisations: list[int]) -> None:
    """Recompute the rows of these organisations (at most ``INCREMENTAL_LIMIT``, well within both databases'
    limits on bound values): their pairs leave the cells, their rows are computed again, the new pairs join
    the cells. Every statement uses the same list, so a submission committed in between cannot leave an old
    row next to a new one."""
    statements, listed = _statements(), {"organisations": organisations}
    db.session.execute(statements.subtract_listed_cells, listed)
    db.session.execute(delete(P.__table__).where(P.__table__.c.organisation_id.in_(LISTED)), listed)
    db.session.execute(delete(F.__table__).where(F.__table__.c.organisation_id.in_(LISTED)), listed)
    db.session.execute(statements.listed_facts, listed)
    db.session.execute(statements.listed_pairs, listed)
    db.session.execute(statements.add_listed_cells, listed)
    db.session.execute(delete(C).where(C.pairs <= 0))


def warm() -> None:
    """Compile the incremental sync's statements in this process, for no organisation, and roll back: a
    worker's first view after a change otherwise spends some 50 ms compiling them (gunicorn warms each
    worker)."""
    try:
        _rebuild_organisations([])
    finally:
        db.session.rollback()


def rebuild_facts() -> None:
    """Compute every fact row again (a changed framework, a deletion, the benchmark). Commits."""
    seen = db.session.scalar(select(func.max(Organisation.updated_at)))
    _save_state(_layout(), seen)
    _rebuild_all()
    db.session.commit()


def sync_facts() -> bool:
    """Bring the fact table up to date with the submissions and profiles; False when it could not (it then
    stays as it was: another worker is at it, or the database is busy). Commits when it changes anything.

    One query compares the table with its sources: submitted assessments up to the highest id in the table
    against the rows (count and a checksum of the ids), the number of submissions with a higher id, the
    profiles edited since the latest edit already copied, and the layout. Nothing changed: done. Otherwise
    the organisations concerned are listed: those with a submission above the highest id or an edited
    profile (the usual case, a submit or a profile form) and, only when the count or checksum differ, those
    with a submission missing from the table (a draft started before others and sent after them, so its id
    is below the highest) or a row whose assessment is gone (a deletion); their rows, pairs and cells are
    computed again. Everything is only for a new layout (formula, framework) or more than
    ``INCREMENTAL_LIMIT`` organisations (a bulk import). A bounded number of statements either way. Like
    ``opendata.data_version`` (the cache key), profile edits are seen through ``updated_at``: an edit whose
    transaction commits after a sync that already saw a later ``updated_at`` is copied at the next rebuild.
    """
    fact_max = select(func.coalesce(func.max(F.assessment_id), 0)).scalar_subquery()
    old = Assessment.id <= fact_max
    seen = select(DashboardFactState.organisations_seen_at).where(DashboardFactState.id == _STATE_ID).scalar_subquery()
    check = db.session.execute(select(
        select(func.count()).where(*_submitted(), old).scalar_subquery(),
        select(func.coalesce(func.sum(Assessment.id % 10007), 0)).where(*_submitted(), old).scalar_subquery(),
        select(func.count()).where(*_submitted(), ~old).scalar_subquery(),
        select(func.count()).select_from(F).scalar_subquery(),
        select(func.coalesce(func.sum(F.assessment_id % 10007), 0)).scalar_subquery(),
        fact_max,
        select(func.max(Organisation.updated_at)).scalar_subquery(),
        select(func.count()).where(Organisation.updated_at > seen).scalar_subquery(),
        select(DashboardFactState.layout).where(DashboardFactState.id == _STATE_ID).scalar_subquery(),
        seen,
    )).one()
    old_count, old_sum, new_count, fact_count, fact_sum, highest, profiles_at, edited, layout, seen_at = check
    mismatch = (old_count, old_sum) != (fact_count, fact_sum)
    full = layout != _layout() or seen_at is None or new_count + edited > INCREMENTAL_LIMIT
    if not full and not new_count and not edited and not mismatch:
        return True
    try:
        _save_state(_layout(), profiles_at)
        organisations = [] if full else _changed_organisations(highest, seen_at, mismatch)
        if full or len(organisations) > INCREMENTAL_LIMIT:
            _rebuild_all()
        else:
            _rebuild_organisations(organisations)
        db.session.commit()
    except (IntegrityError, OperationalError):
        db.session.rollback()
        current_app.logger.warning("dashboard facts not brought up to date", exc_info=True)
        return False
    return True


def _changed_organisations(highest: int, seen_at, mismatch: bool) -> list[int]:
    """The organisations whose rows must be computed again (see ``sync_facts``)."""
    changed = [select(Assessment.organisation_id).where(*_submitted(), Assessment.id > highest),
               select(Organisation.id).where(Organisation.updated_at > seen_at)]
    if mismatch:
        changed.append(select(Assessment.organisation_id).where(
            *_submitted(), Assessment.id <= highest,
            ~select(F.assessment_id).where(F.assessment_id == Assessment.id).exists()))
        changed.append(select(F.organisation_id).where(
            ~select(Assessment.id).where(Assessment.id == F.assessment_id, *_submitted()).exists()))
    return sorted(db.session.scalars(union(*changed)))


# Queries ---------------------------------------------------------------------------------------------


def _org_conditions(filters: Filters) -> list:
    conditions = []
    if filters.commune:
        conditions.append(Organisation.commune_code == filters.commune)
    if filters.sector:
        conditions.append(Organisation.sector == filters.sector)
    if filters.kind:
        conditions.append(Organisation.kind == OrganisationKind(filters.kind))
    return conditions


def _profile_conditions(filters: Filters, rows) -> list:
    """Rows (facts, pairs, cells) of organisations of the chosen commune, sector and kind."""
    conditions = []
    if filters.commune:
        conditions.append(rows.commune_code == filters.commune)
    if filters.sector:
        conditions.append(rows.sector == filters.sector)
    if filters.kind:
        conditions.append(rows.org_kind == filters.kind)
    return conditions


def _fact_conditions(filters: Filters, fact=F) -> list:
    """Fact rows of the selected organisations submitted in the period."""
    conditions = _profile_conditions(filters, fact)
    if filters.start:
        conditions.append(fact.quarter >= filters.start)
    if filters.end:
        conditions.append(fact.quarter <= filters.end)
    return conditions


def _first_in_period(filters: Filters, fact=F):
    """The organisation's first submission in the period: none before it, or only before the period."""
    if not filters.start:
        return fact.prev_quarter.is_(None)
    return or_(fact.prev_quarter.is_(None), fact.prev_quarter < filters.start)


def _latest_in_period(filters: Filters, fact=F):
    """The organisation's latest submission in the period: none after it, or only after the period."""
    if not filters.end:
        return fact.next_quarter.is_(None)
    return or_(fact.next_quarter.is_(None), fact.next_quarter > filters.end)


def _value(item: Any) -> Any:
    return getattr(item, "value", item)


def _organisations(filters: Filters) -> dict[str, list[dict[str, Any]]]:
    """Organisations, assessed organisations and submitted assessments by kind, by sector, by commune."""
    dims = (Organisation.kind, Organisation.sector, Organisation.commune_code)
    org_conditions = _org_conditions(filters)
    if filters.end_before is not None:
        org_conditions.append(Organisation.created_at < filters.end_before)
    registered = db.session.execute(select(*dims, func.count()).where(*org_conditions).group_by(*dims)).all()
    fact_dims = (F.org_kind, F.sector, F.commune_code)
    assessed = db.session.execute(
        select(*fact_dims, func.count(), func.count(case((_first_in_period(filters), 1))))
        .where(*_fact_conditions(filters)).group_by(*fact_dims)
    ).all()
    # An organisation has one kind, sector and commune, so its first submission in the period counts it once.
    tables: dict[str, dict[Any, dict[str, int]]] = {"kinds": {}, "sectors": {}, "communes": {}}
    blank = {"organisations": 0, "assessed": 0, "assessments": 0}
    for kind, sector, commune, n in registered:
        for table, key in (("kinds", _value(kind)), ("sectors", sector), ("communes", commune)):
            tables[table].setdefault(key, dict(blank))["organisations"] += n
    for kind, sector, commune, n, orgs in assessed:
        for table, key in (("kinds", kind), ("sectors", sector), ("communes", commune)):
            entry = tables[table].setdefault(key, dict(blank))
            entry["assessments"] += n
            entry["assessed"] += orgs
    return {
        table: [{"key": key, **figures} for key, figures in entries.items()]
        for table, entries in tables.items()
    }


def _levels(filters: Filters) -> list[dict[str, Any]]:
    """Organisations at each level, per pillar and overall, from their latest submission in the period.

    One GROUP BY on the packed levels (a few thousand combinations at most), unpacked here."""
    codes = [p.code for p in frameworks.current_framework().pillars]
    rows = db.session.execute(
        select(F.levels_code, func.count())
        .where(*_fact_conditions(filters), _latest_in_period(filters)).group_by(F.levels_code)
    ).all()
    counts: dict[str, dict[str, int]] = {key: defaultdict(int) for key in ("overall", *codes)}
    for code, n in rows:
        for key in ("overall", *codes):
            code, level = divmod(int(code), LEVEL_BASE)
            if level != LEVEL_BASE - 1:
                counts[key][str(level)] += n
    return [{"key": key, "levels": dict(counts[key])} for key in (*codes, "overall") if counts[key]]


def _progress(filters: Filters) -> list[dict[str, Any]]:
    """First against latest submission of organisations assessed twice or more in the period.

    Each such organisation has exactly one progress pair that is the period's first and latest. Without a
    commune or sector filter the sums come from the few hundred cells; with one, from the pairs directly.
    Either way one row of sums in the order of ``_CELL_VALUES``."""
    if filters.commune or filters.sector:
        rows, sums = P, _statements().pair_sums
        before = func.coalesce(P.first_prev_quarter, NO_QUARTER_BEFORE)
        after = func.coalesce(P.last_next_quarter, NO_QUARTER_AFTER)
    else:
        rows, sums = C, _statements().progress_sums
        before, after = C.first_prev_quarter, C.last_next_quarter
    conditions = [before < filters.start if filters.start else before == NO_QUARTER_BEFORE,
                  after > filters.end if filters.end else after == NO_QUARTER_AFTER,
                  *_profile_conditions(filters, rows)]
    if filters.start:
        conditions.append(rows.first_quarter >= filters.start)
    if filters.end:
        conditions.append(rows.last_quarter <= filters.end)
    totals = dict(zip(_CELL_VALUES, db.session.execute(select(*sums).where(*conditions)).one(), strict=True))
    result = []
    for i, pillar in enumerate(frameworks.current_framework().pillars):
        n = int(totals[f"pillar_{i + 1}_n"])
        if n:
            result.append(_progress_row(pillar.code, n, totals[f"pillar_{i + 1}_first_sum"] / n,
                                        totals[f"pillar_{i + 1}_last_sum"] / n, totals[f"pillar_{i + 1}_improved"]))
    if totals["pairs"]:
        first_n, last_n = int(totals["overall_first_n"]), int(totals["overall_last_n"])
        result.append({**_progress_row("overall", int(totals["pairs"]),
                                       totals["overall_first_sum"] / first_n if first_n else None,
                                       totals["overall_last_sum"] / last_n if last_n else None, totals["level_up"]),
                       "level_up": True})
    return result


def _progress_row(key: str, n: int, first: float | None, latest: float | None, improved: Any) -> dict[str, Any]:
    return {"key": key, "organisations": n, "first_mean": _r(first), "latest_mean": _r(latest),
            "change": _r(latest - first) if first is not None and latest is not None else None,
            "improved": int(improved or 0)}


def _r(value: Any) -> float | None:
    return None if value is None else round(float(value), 1)


def _trend(filters: Filters) -> list[dict[str, Any]]:
    """Per quarter, organisations at each overall level (each counted once per quarter, as in open data)."""
    latest_of_quarter = or_(F.next_quarter.is_(None), F.next_quarter > F.quarter)
    rows = db.session.execute(
        select(F.quarter, F.overall_level, func.count())
        .where(*_fact_conditions(filters), latest_of_quarter)
        .group_by(F.quarter, F.overall_level).order_by(F.quarter)
    ).all()
    per_quarter: dict[int, dict[str, int]] = defaultdict(dict)
    for quarter, level, n in rows:
        if level is not None:
            per_quarter[int(quarter)][str(int(level))] = n
    return [{"key": opendata.quarter_label(q), "levels": levels} for q, levels in sorted(per_quarter.items())]


def _application_period(filters: Filters) -> list:
    """Applications sent (not drafts), first sent in the period."""
    conditions = [Application.status != S.DRAFT]
    if filters.start_at is not None:
        conditions.append(Application.submitted_at >= filters.start_at)
    if filters.end_before is not None:
        conditions.append(Application.submitted_at < filters.end_before)
    return conditions


def _selected_applications(filters: Filters, *columns):
    """``select(*columns)`` of the applications the filters select. A profile filter is an EXISTS on the
    organisation: read that way, both databases go through the few thousand applications and look each
    organisation up, where a join let SQLite go through tens of thousands of organisations of a kind."""
    query = select(*columns).select_from(Application).where(*_application_period(filters))
    org_conditions = _org_conditions(filters)
    if org_conditions:
        query = query.where(select(Organisation.id).where(Organisation.id == Application.organisation_id,
                                                          *org_conditions).exists())
    return query


def _programmes(filters: Filters) -> list[dict[str, Any]]:
    """Each programme's budget and money, with the selected applications' counts."""
    decided = (S.APPROVED, S.COMPLETED)
    counts = {
        pid: (n, approved, completed)
        for pid, n, approved, completed in db.session.execute(
            _selected_applications(filters, Application.programme_id, func.count(),
                                   func.sum(case((Application.status.in_(decided), 1), else_=0)),
                                   func.sum(case((Application.status == S.COMPLETED, 1), else_=0)))
            .group_by(Application.programme_id)
        )
    }
    rows = []
    for programme in db.session.execute(
        select(Programme.id, Programme.code, Programme.name, Programme.budget_vnd, Programme.committed_vnd,
               Programme.disbursed_vnd, Programme.retired_at).order_by(Programme.code)
    ):
        n, approved, completed = counts.get(programme.id, (0, 0, 0))
        if programme.retired_at is not None and not n:
            continue
        committed = programme.committed_vnd or 0
        rows.append({
            "key": programme.code, "name": dict(programme.name or {}), "retired": programme.retired_at is not None,
            "budget": programme.budget_vnd, "committed": committed, "disbursed": programme.disbursed_vnd or 0,
            "remaining": programme.budget_vnd - committed,
            "applications": int(n or 0), "approved": int(approved or 0), "completed": int(completed or 0),
        })
    return rows


def _days_between(later, earlier):
    if db.engine.dialect.name == "sqlite":
        return func.julianday(later) - func.julianday(earlier)
    return func.extract("epoch", later - earlier) / 86400.0


def _funnel(filters: Filters) -> list[dict[str, Any]]:
    """Applications by current state, and the median days spent in each state (ended stays only).

    A stay is a transition out of a timed state: its ``created_at`` less its ``state_entered_at``."""
    by_state = dict(db.session.execute(
        _selected_applications(filters, Application.status, func.count()).group_by(Application.status)).all())
    activity = ApplicationActivity
    stays = select(type_coerce(activity.from_status, String).label("state"),
                   _days_between(activity.created_at, activity.state_entered_at).label("days")).where(
        activity.kind == ActivityKind.TRANSITION, activity.from_status.in_(TIMED_STATES),
        activity.state_entered_at.is_not(None))
    if filters != Filters():  # no transition leaves a timed state of a draft, so "all" needs no selection
        stays = stays.where(activity.application_id.in_(_selected_applications(filters, Application.id)))
    timing = _stay_quartiles(stays.subquery("stays"))
    rows = []
    for state in FUNNEL_STATES:
        n, median, q3 = timing.get(state.value, (0, None, None)) if state in TIMED_STATES else (0, None, None)
        rows.append({"key": state.value, "applications": int(by_state.get(state, 0)),
                     "stays": n, "median_days": _r(median), "q3_days": _r(q3)})
    return rows


def _stay_quartiles(stays) -> dict[str, tuple[int, float, float]]:
    """Per state: the number of stays, their median and third quartile (linear interpolation, as
    ``percentile_cont``). PostgreSQL computes them; SQLite has no such aggregate, and sorting a few tens of
    thousands of numbers in Python is quicker than ranking them with a window function there."""
    state, days = stays.c.state, stays.c.days
    if db.engine.dialect.name == "postgresql":
        return {row[0]: (int(row[1]), float(row[2]), float(row[3])) for row in db.session.execute(
            select(state, func.count(), func.percentile_cont(0.5).within_group(days),
                   func.percentile_cont(0.75).within_group(days)).group_by(state))}
    measured: dict[str, list[float]] = defaultdict(list)
    for key, value in db.session.execute(select(state, days)):
        measured[key].append(float(value))
    result = {}
    for key, values in measured.items():
        _q1, median, q3 = opendata.quartiles(values)
        result[key] = (len(values), median, q3)
    return result


def compute(filters: Filters) -> dict[str, Any]:
    """Every table of the dashboard as plain data (codes and numbers; labels are added per language), from
    the fact table as it is (``data`` brings it up to date first)."""
    opendata.tune_for_aggregates()
    if db.engine.dialect.name == "postgresql":
        # The counts group rows that covering indexes hold in group order; PostgreSQL otherwise hashes
        # 100,000 rows (measured twice as slow: 57 against 32 ms for the tables by kind, sector and commune).
        db.session.execute(text("SET LOCAL enable_hashagg = off"))
    data: dict[str, Any] = dict(_organisations(filters))
    data["levels"] = _levels(filters)
    data["progress"] = _progress(filters)
    data["trend"] = _trend(filters)
    data["programmes"] = _programmes(filters)
    data["funnel"] = _funnel(filters)
    return data


#: Per app, the data version the fact table was last found (or brought) up to date for: another view under
#: the same version (other filters, or after the cache expired) needs no check.
_facts_checked: dict[int, str] = {}


def data(filters: Filters) -> dict[str, Any]:
    """``compute(filters)`` with the fact table brought up to date, cached under the filters and the data
    version (so a cached view runs no sync at all, and a view under a version already synced no check)."""
    version = opendata.current_version()
    key = f"dashboard:{CACHE_VERSION}:{filters.cache_key()}:{version}"
    store = opendata.cache()
    cached = store.get(key)
    if cached is not None:
        return json.loads(cached)
    app_key = id(current_app._get_current_object())
    current = _facts_checked.get(app_key) == version
    if not current:
        current = sync_facts()
        if current:
            _facts_checked[app_key] = version
    result = compute(filters)
    if current:  # figures from a fact table that could not be brought up to date are shown, not kept
        store.set(key, json.dumps(result, separators=(",", ":")).encode(), opendata.max_age())
    return result


def clear_cache() -> None:
    """Make the next dashboard view compute everything again (benchmark, tests)."""
    opendata.cache().clear("dashboard")
    opendata._versions.clear()


# Tables for the page and the CSV exports --------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    key: str
    label: Any
    #: ``text``, ``int``, ``vnd``, ``score``, ``percent``, ``days``
    kind: str = "int"


def display(value: Any, kind: str) -> Markup:
    """One cell as the page shows it: numbers in Vietnamese format (``1.234``, ``12,5``), a dash for none."""
    if value is None:
        return Markup('<span class="muted">—</span>')
    if kind == "int":
        return Markup.escape(format_number(value))
    if kind == "vnd":
        return Markup.escape(format_vnd(value))
    if kind in ("score", "days", "percent"):
        shown = f"{value:.1f}".replace(".", ",")
        return Markup.escape(shown) + (Markup("&nbsp;%") if kind == "percent" else "")
    return Markup.escape(value)


@dataclass(frozen=True)
class Table:
    """A table of the dashboard: its name (the CSV's), caption, columns and rows of display-ready values."""

    name: str
    caption: Any
    columns: tuple[Column, ...]
    rows: list[dict[str, Any]]

    def body_html(self) -> Markup:
        """The table's rows for the page: the first cell a row header, numbers right-aligned. Built here
        rather than by a template loop per cell: the dashboard has several hundred cells, and most of its
        views follow a change, so they are rendered afresh. Every value is escaped by ``display``."""
        tags = [("<th scope=\"row\">", "</th>") if i == 0 else ("<td class=\"num\">", "</td>")
                if column.kind != "text" else ("<td>", "</td>") for i, column in enumerate(self.columns)]
        rows = ["<tr>" + "".join(f"{opening}{display(row.get(column.key), column.kind)}{closing}"
                                 for (opening, closing), column in zip(tags, self.columns, strict=True)) + "</tr>"
                for row in self.rows]
        return Markup("\n".join(rows))  # noqa: S704 (fixed tags around values display() escaped)  # nosec B704


TABLES = ("kinds", "sectors", "communes", "levels", "progress", "trend", "programmes", "funnel")


def _share(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _kind_label(value: str) -> str:
    member = OrganisationKind._value2member_map_.get(value)
    return str(member.label) if member else value


def _pillar_label(code: str, lang: str) -> str:
    if code == "overall":
        return _("Overall")
    try:
        return frameworks.current_framework().pillar(code).name.pick(lang)
    except KeyError:
        return code


def _level_columns(lang: str) -> tuple[Column, ...]:
    return tuple(Column(f"level_{lv.level}", f"{lv.level} – {lv.name.pick(lang)}")
                 for lv in frameworks.current_framework().levels)


def _with_levels(key_column: Column, rows: list[dict[str, Any]], label: Callable[[str], str],
                 lang: str) -> tuple[tuple[Column, ...], list[dict[str, Any]]]:
    levels = frameworks.current_framework().levels
    columns = (key_column, *_level_columns(lang), Column("total", _l("Organisations")))
    result = []
    for row in rows:
        counts = [int(row["levels"].get(str(lv.level), 0)) for lv in levels]
        total = sum(counts)
        entry = {"label": label(row["key"]), "total": total, "counts": counts,
                 "shares": [_share(n, total) for n in counts]}
        entry.update({f"level_{lv.level}": n for lv, n in zip(levels, counts, strict=True)})
        result.append(entry)
    return columns, result


def tables(raw: dict[str, Any], lang: str) -> dict[str, Table]:
    """The dashboard's tables with labels in ``lang`` (the page, the CSV exports)."""
    by_columns = (Column("organisations", _l("Organisations")), Column("assessed", _l("Assessed")),
                  Column("assessed_share", _l("Assessed (%)"), "percent"),
                  Column("assessments", _l("Assessments submitted")))

    def counted(rows, label, sort_key):
        result = [{**row, "label": label(row["key"]), "assessed_share": _share(row["assessed"], row["organisations"])}
                  for row in rows]
        return sorted(result, key=sort_key)

    kind_order = [k.value for k in OrganisationKind]
    pillar_order = [p.code for p in frameworks.current_framework().pillars] + ["overall"]
    level_rows = sorted(raw["levels"], key=lambda r: pillar_order.index(r["key"]) if r["key"] in pillar_order else 99)
    level_columns, level_table = _with_levels(Column("label", _l("Pillar"), "text"), level_rows,
                                              lambda code: _pillar_label(code, lang), lang)
    trend_columns, trend_table = _with_levels(Column("label", _l("Quarter"), "text"), raw["trend"], str, lang)
    progress = sorted(raw["progress"], key=lambda r: pillar_order.index(r["key"]) if r["key"] in pillar_order else 99)
    return {
        "kinds": Table("kinds", _l("Organisations and assessments by kind"),
                       (Column("label", _l("Kind of organisation"), "text"), *by_columns),
                       counted(raw["kinds"], _kind_label,
                               lambda r: kind_order.index(r["key"]) if r["key"] in kind_order else 9)),
        "sectors": Table("sectors", _l("Organisations and assessments by sector"),
                         (Column("label", _l("Sector"), "text"), *by_columns),
                         counted(raw["sectors"], lambda s: f"{s} – {sectors.name(s, lang) or s}",
                                 lambda r: r["key"] or "")),
        "communes": Table("communes", _l("Organisations and assessments by commune"),
                          (Column("label", _l("Commune or ward"), "text"), *by_columns),
                          counted(raw["communes"], lambda c: geo.commune_name(c) or _("Not given"),
                                  lambda r: geo.vietnamese_sort_key(geo.find(r["key"]).name if geo.find(r["key"])
                                                                    else "\uffff"))),
        "levels": Table("levels", _l("Organisations at each level, per pillar (latest assessment in the period)"),
                        level_columns, level_table),
        "progress": Table("progress", _l("Progress of organisations assessed more than once"),
                          (Column("label", _l("Pillar"), "text"),
                           Column("organisations", _l("Organisations")),
                           Column("first_mean", _l("Mean score, first assessment"), "score"),
                           Column("latest_mean", _l("Mean score, latest assessment"), "score"),
                           Column("change", _l("Mean change"), "score"),
                           Column("improved", _l("Organisations that improved"))),
                          [{**row, "label": _pillar_label(row["key"], lang)} for row in progress]),
        "trend": Table("trend", _l("Share of organisations at each level, per quarter"), trend_columns, trend_table),
        "programmes": Table("programmes", _l("Programme uptake and budgets"),
                            (Column("code", _l("Code"), "text"), Column("label", _l("Programme"), "text"),
                             Column("budget", _l("Budget"), "vnd"), Column("committed", _l("Committed"), "vnd"),
                             Column("disbursed", _l("Paid out"), "vnd"), Column("remaining", _l("Remaining"), "vnd"),
                             Column("applications", _l("Applications")), Column("approved", _l("Approved")),
                             Column("completed", _l("Completed"))),
                            [{**row, "code": row["key"],
                              "label": row["name"].get(lang) or row["name"].get("vi", row["key"])}
                             for row in raw["programmes"]]),
        "funnel": Table("funnel", _l("Applications by state and median time in each state"),
                        (Column("label", _l("State"), "text"), Column("applications", _l("Applications")),
                         Column("median_days", _l("Median days in the state"), "days"),
                         Column("q3_days", _l("Days in the state, 3 in 4 under"), "days"),
                         Column("stays", _l("Stays measured"))),
                        [{**row, "label": str(ApplicationStatus(row["key"]).label)} for row in raw["funnel"]]),
    }


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: Any) -> Any:
    """Numbers as they are; text that a spreadsheet would run as a formula gets a leading '."""
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    shown = str(value)
    return "'" + shown if shown.startswith(_FORMULA_START) else shown


def table_csv(table: Table) -> bytes:
    """One table as CSV: UTF-8 with a BOM (Excel reads Vietnamese), the header in the user's language."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([_csv_cell(str(column.label)) for column in table.columns])
    for row in table.rows:
        writer.writerow([_csv_cell(row.get(column.key)) for column in table.columns])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
