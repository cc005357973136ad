"""Open data: anonymised statistics anyone may download, reuse and republish (CC BY 4.0).

Two datasets, each a list of rows (``DATASETS`` is their data dictionary):

``maturity``
    Digital maturity by quarter x commune x VSIC section x organisation kind, for the quarters that have
    ended. A *quarter* is a calendar quarter in the province's time (UTC+7). An organisation counts in a
    quarter when it submitted at least one self-assessment during that quarter, and only its latest
    submission of that quarter is used
    (latest ``submitted_at``, then highest id): an organisation counts at most once per quarter, in the cell
    of the profile (kind, sector, commune) it had when the quarter was published (see below). A row gives the number of
    organisations and, per pillar, the mean and the quartiles of their scores (0-100, linear interpolation
    between ranked values, as numpy's default and PostgreSQL's ``percentile_cont``), plus the mean overall
    score.

``uptake``
    Support-programme uptake by quarter x programme, counted by the quarter each event happened in:
    applications first submitted, applications approved (the approval's date, from the timeline) with the
    amounts approved, applications completed with the amounts paid out, and the number of distinct
    organisations behind any of these events.

Suppression (the anonymity guarantee)
    *Primary*: a figure about 1 to 9 organisations (``MIN_CELL`` = 10) is never published: the whole maturity
    row (count included) becomes ``null`` with ``"suppressed": true``; an uptake row about fewer than 10
    organisations likewise, and inside a published uptake row each measure (submitted, approved + approved
    amount, completed + amount paid) is ``null`` when fewer than 10 organisations are behind it. A count of 0
    is published (it is about nobody).

    *Complementary*: a hidden cell could be recovered by subtracting the published cells of a group from a
    published total of that group. ``suppress()`` therefore takes the groupings that have a published total
    and repeats, until nothing changes: in every group where exactly one hidden cell is about one or more
    organisations, it also hides the published cell about the fewest organisations (but at least one; ties
    by position). Two hidden cells then only reveal their sum. Iterating makes the rule hold at every
    grouping at once when there are several.

    Where totals exist:

    - ``maturity`` publishes no totals, here or anywhere else in the portal (no row, column or grand
      total; the peer comparison members see counts latest assessments over all quarters, another
      population), so nothing can be subtracted and primary suppression is enough. Prefer keeping it so:
      adding marginal totals would need the complementary rule at each level.
    - ``uptake``: the public catalogue page shows each programme's committed and paid-out totals, which are
      sums over the quarters. So every programme is a group across its quarters, for each measure.

    *Only ended quarters, frozen*: the running quarter is never published (``published_until``). Its figures
    would change with each submission or approval, and two downloads taken before and after a known business
    acts would differ by exactly that business's scores or amount. Each ended quarter of ``maturity`` is
    published once (``publish_quarter``: the first download after it ends, ``flask opendata publish`` or
    ``flask demo load``) into ``open_data_snapshot``, suppression applied, and the organisations it counted
    are recorded with the kind, sector and commune they had then (``open_data_member``): a later profile
    edit moves nobody between the cells of a published quarter, so it cannot be differenced either. Only a
    change of the quarter's own submissions (an import of back-dated data, a deletion) publishes it again,
    earlier members keeping their cell. ``uptake`` is recomputed from the applications (small) whenever its
    events change: its complementary suppression spans a programme's quarters, so a new quarter may need to
    hide a cell of an older one, which a frozen quarter could not.

    No output carries names, tax codes or ids of organisations, user data or free text: only codes of
    communes, sections, kinds and programmes, their public names, counts, amounts and statistics.

Service functions need an app context, not a request: ``maturity_rows``, ``uptake_rows``, ``data_version``
(everything the datasets and the dashboard read), ``dataset_version`` (one dataset: it stays the same while
only the running quarter changes), ``publish_missing``/``publish_quarter`` and ``prepare_files``. A download
is served from the server cache (Redis when ``REDIS_URL`` is set, else this process), else from the file
rendered for the dataset's version and stored in ``open_data_file`` (gzip), else rendered from the
snapshots and stored: no quartile is computed on a request once the quarters are published.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import hashlib
import io
import json
import re
import threading
import time
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import redis
from flask import current_app
from sqlalchemy import (
    BigInteger,
    Float,
    Integer,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    literal_column,
    null,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.exc import IntegrityError, OperationalError

from app.extensions import db
from app.models.application import ActivityKind, Application, ApplicationActivity
from app.models.assessment import Assessment, AssessmentPillarScore, AssessmentStatus
from app.models.catalogue import Programme
from app.models.organisation import Organisation, OrganisationKind
from app.models.statistics import OpenDataFile, OpenDataMember, OpenDataSnapshot
from app.services import frameworks, geo, sectors

#: Figures about fewer organisations than this are never published.
MIN_CELL = 10
#: Bumped when the way figures are computed changes, so cached downloads computed the old way are dropped.
FORMULA_VERSION = 1
#: The province's offset from UTC (Vietnam keeps UTC+7 all year); quarters are local calendar quarters.
UTC_OFFSET_HOURS = 7
LICENCE = {
    "id": "CC-BY-4.0",
    "name": "Creative Commons Attribution 4.0 International (CC BY 4.0)",
    "url": "https://creativecommons.org/licenses/by/4.0/",
}
FORMATS = ("json", "csv")
_QUARTER_RE = re.compile(r"^([0-9]{4})-Q([1-4])$")

#: Names of the organisation kinds in both languages (data, like the sector names, so no request is needed).
KIND_NAMES = {
    OrganisationKind.ENTERPRISE.value: {"vi": "Doanh nghiệp", "en": "Enterprise"},
    OrganisationKind.COOPERATIVE.value: {"vi": "Hợp tác xã", "en": "Cooperative"},
    OrganisationKind.HOUSEHOLD_BUSINESS.value: {"vi": "Hộ kinh doanh", "en": "Household business"},
}


def _lang(locale: str | None) -> str:
    return "en" if str(locale or "vi").lower().startswith("en") else "vi"


# Quarters ---------------------------------------------------------------------------------------------


def quarter_key(year: int, quarter: int) -> int:
    """Quarters as sortable integers: 2026-Q3 is 20263."""
    return year * 10 + quarter


def quarter_label(key: int) -> str:
    """``20263`` → ``"2026-Q3"``."""
    return f"{key // 10}-Q{key % 10}"


def parse_quarter(text: str | None) -> int | None:
    """``"2026-Q3"`` → ``20263``; None for anything else."""
    match = _QUARTER_RE.match((text or "").strip())
    if not match:
        return None
    year, quarter = int(match.group(1)), int(match.group(2))
    return quarter_key(year, quarter) if 2000 <= year <= 2999 else None


def next_quarter(key: int) -> int:
    year, quarter = divmod(key, 10)
    return quarter_key(year + 1, 1) if quarter == 4 else key + 1


def quarter_start(key: int) -> dt.datetime:
    """The first instant of the quarter (province time), in UTC."""
    year, quarter = divmod(key, 10)
    local = dt.datetime(year, 3 * (quarter - 1) + 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=UTC_OFFSET_HOURS)))
    return local.astimezone(dt.UTC)


def quarter_of(moment: dt.datetime) -> int:
    """The quarter (province time) an aware datetime falls in."""
    local = moment.astimezone(dt.timezone(dt.timedelta(hours=UTC_OFFSET_HOURS)))
    return quarter_key(local.year, (local.month + 2) // 3)


def published_until(now: dt.datetime | None = None) -> dt.datetime:
    """The start of the current quarter: open data covers quarters that have ended, never the running one.

    Figures of a quarter under way change with every submission, so comparing two downloads made before
    and after a known business submits would give away that business's scores (a differencing attack).
    """
    return quarter_start(quarter_of(now or dt.datetime.now(dt.UTC)))


def quarter_sql(column):
    """SQL for the quarter key (``year * 10 + quarter``) of a UTC timestamp column, in province time."""
    if db.engine.dialect.name == "sqlite":
        shift = f"+{UTC_OFFSET_HOURS} hours"
        year = cast(func.strftime("%Y", column, shift), Integer)
        month = cast(func.strftime("%m", column, shift), Integer)
    else:
        local = func.timezone("UTC", column) + literal_column(f"interval '{UTC_OFFSET_HOURS} hours'")
        year = cast(func.extract("year", local), Integer)
        month = cast(func.extract("month", local), Integer)
    return year * 10 + (month + 2) // 3


# Statistics in SQL -----------------------------------------------------------------------------------


def stats_select(source, keys: Sequence[str], value: str):
    """Per group of ``keys``: n, mean, q1, median and q3 of ``value``, computed by the database.

    ``source`` is a subquery. Each value is ranked inside its group (a window function); quartile k sits
    at rank k(n-1)/4 and is interpolated between the two neighbouring ranks, so only one row per group
    comes back, however many values there are. Same SQL on SQLite and PostgreSQL.
    """
    key_columns = [source.c[name] for name in keys]
    ranked = select(
        *key_columns,
        source.c[value].label("val"),
        (func.row_number().over(partition_by=key_columns, order_by=source.c[value]) - 1).label("rn"),
        func.count().over(partition_by=key_columns).label("n"),
    ).subquery("ranked")

    def quartile(k: int):
        position = k * (ranked.c.n - 1)
        low = position // 4
        fraction = cast(position % 4, Float) / 4.0
        return func.sum(case(
            (ranked.c.rn == low, ranked.c.val * (1.0 - fraction)),
            (ranked.c.rn == low + 1, ranked.c.val * fraction),
            else_=0.0,
        ))

    grouped = [ranked.c[name] for name in keys]
    return select(
        *grouped,
        func.max(ranked.c.n).label("n"),
        func.avg(ranked.c.val).label("mean"),
        quartile(1).label("q1"),
        quartile(2).label("median"),
        quartile(3).label("q3"),
    ).group_by(*grouped)


def _round(value: Any) -> float | None:
    return None if value is None else round(float(value) + 0.0, 1)


# Suppression -----------------------------------------------------------------------------------------


def suppress(counts: Sequence[int], groupings: Sequence[Sequence[Hashable | None]] = (),
             hidden: Iterable[int] = ()) -> set[int]:
    """The indexes of the cells to hide.

    ``counts[i]`` is the number of organisations behind cell i. ``groupings`` lists, for each kind of
    published total, the key of every cell's group (None: the cell is in no such total). ``hidden`` are
    cells hidden for another reason. Primary: cells about 1 to ``MIN_CELL - 1`` organisations. Then,
    until stable, each group with exactly one hidden cell about at least one organisation also hides its
    published cell about the fewest organisations (at least one), so no hidden cell equals a total minus
    published cells.
    """
    result = set(hidden) | {i for i, count in enumerate(counts) if 0 < count < MIN_CELL}
    changed = True
    while changed:
        changed = False
        for keys in groupings:
            members: dict[Hashable, list[int]] = defaultdict(list)
            for index, key in enumerate(keys):
                if key is not None:
                    members[key].append(index)
            for indexes in members.values():
                hidden_here = [i for i in indexes if i in result and counts[i] > 0]
                if len(hidden_here) != 1:
                    continue
                candidates = [i for i in indexes if i not in result and counts[i] > 0]
                if candidates:
                    result.add(min(candidates, key=lambda i: (counts[i], i)))
                    changed = True
    return result


# Maturity --------------------------------------------------------------------------------------------


def _pillars() -> tuple[frameworks.Pillar, ...]:
    return frameworks.current_framework().pillars


def _chosen_assessments(start: dt.datetime | None = None, end: dt.datetime | None = None,
                        org_conditions: Sequence = ()):
    """Each organisation's latest submitted assessment of each quarter, with its cell and the cell's size.

    ``start``/``end`` bound ``submitted_at``; ``org_conditions`` select organisations (the dashboard's filters).
    """
    quarter = quarter_sql(Assessment.submitted_at)
    conditions = [Assessment.status == AssessmentStatus.SUBMITTED, Assessment.submitted_at.is_not(None)]
    if start is not None:
        conditions.append(Assessment.submitted_at >= start)
    if end is not None:
        conditions.append(Assessment.submitted_at < end)
    ranked = select(
        Assessment.id.label("assessment_id"),
        Assessment.organisation_id,
        Assessment.overall_score,
        Assessment.overall_level,
        quarter.label("quarter"),
        func.row_number().over(
            partition_by=(Assessment.organisation_id, quarter),
            order_by=(Assessment.submitted_at.desc(), Assessment.id.desc()),
        ).label("rn"),
    ).where(*conditions).subquery("latest_in_quarter")
    cell = (ranked.c.quarter, Organisation.commune_code, Organisation.sector, Organisation.kind)
    return select(
        ranked.c.assessment_id,
        ranked.c.organisation_id,
        ranked.c.quarter,
        ranked.c.overall_score,
        ranked.c.overall_level,
        Organisation.commune_code.label("commune_code"),
        Organisation.sector.label("sector"),
        Organisation.kind.label("org_kind"),
        func.count().over(partition_by=cell).label("cell_n"),
    ).join(Organisation, Organisation.id == ranked.c.organisation_id).where(
        ranked.c.rn == 1, *org_conditions
    ).subquery("chosen")


_CELL_KEYS = ("quarter", "commune_code", "sector", "org_kind")


def _value(kind: Any) -> str | None:
    return getattr(kind, "value", kind)


def tune_for_aggregates() -> None:
    """Let PostgreSQL sort a few hundred thousand scores in memory for this transaction, without JIT start-up."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL work_mem = '64MB'"))
        db.session.execute(text("SET LOCAL jit = off"))


@dataclass(frozen=True)
class MaturityCell:
    """One cell of the maturity table, suppression applied, without names (they depend on the language).

    ``pillars`` holds (mean, q1, median, q3) per pillar in framework order; None when suppressed.
    """

    quarter: int
    commune_code: str | None
    sector: str
    org_kind: str
    organisations: int | None
    overall_mean: float | None
    pillars: tuple[tuple[float | None, ...], ...] | None

    @property
    def suppressed(self) -> bool:
        return self.organisations is None


def quartiles(values: list[float]) -> tuple[float, float, float]:
    """Quartiles by linear interpolation between ranked values (numpy's default, ``percentile_cont``)."""
    ordered = sorted(values)
    last = len(ordered) - 1
    result = []
    for k in (1, 2, 3):
        position = k * last / 4
        low = int(position)
        high = min(low + 1, last)
        result.append(ordered[low] + (ordered[high] - ordered[low]) * (position - low))
    return result[0], result[1], result[2]


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _quarter_sources(start: dt.datetime | None = None, end: dt.datetime | None = None) -> dict[int, dict[str, int]]:
    """Per quarter, a fingerprint of its submissions: count, highest id and a checksum of the ids."""
    quarter = quarter_sql(Assessment.submitted_at)
    conditions = [Assessment.status == AssessmentStatus.SUBMITTED, Assessment.submitted_at < (end or published_until())]
    if start is not None:
        conditions.append(Assessment.submitted_at >= start)
    rows = db.session.execute(
        select(quarter, func.count(), func.max(Assessment.id), func.sum(Assessment.id % 10007))
        .where(*conditions).group_by(quarter)
    ).all()
    return {int(q): {"count": int(n), "max_id": int(m or 0), "checksum": int(c or 0)} for q, n, m, c in rows}


def _source_total() -> tuple[int, int, int]:
    """The same fingerprint over every ended quarter at once: one scan, no grouping."""
    row = db.session.execute(
        select(func.count(), func.max(Assessment.id), func.sum(Assessment.id % 10007))
        .where(Assessment.status == AssessmentStatus.SUBMITTED, Assessment.submitted_at < published_until())
    ).one()
    return int(row[0] or 0), int(row[1] or 0), int(row[2] or 0)


def _maturity_snapshots() -> list[OpenDataSnapshot]:
    return list(db.session.scalars(
        select(OpenDataSnapshot).where(OpenDataSnapshot.dataset == "maturity").order_by(OpenDataSnapshot.quarter)
    ))


def _snapshot_heads() -> list[tuple[int, str, dict[str, int]]]:
    """(quarter, digest, source) of every published maturity quarter: small, the cells are not read."""
    return [(int(q), d, s) for q, d, s in db.session.execute(
        select(OpenDataSnapshot.quarter, OpenDataSnapshot.digest, OpenDataSnapshot.source)
        .where(OpenDataSnapshot.dataset == "maturity").order_by(OpenDataSnapshot.quarter)
    )]


def _with_formula(source: dict[str, int]) -> dict[str, int]:
    return {**source, "formula": FORMULA_VERSION}


def _heads_match(heads: Sequence[tuple[int, str, dict[str, int]]], total: tuple[int, int, int]) -> bool:
    count = sum(int(s.get("count", 0)) for _q, _d, s in heads)
    highest = max((int(s.get("max_id", 0)) for _q, _d, s in heads), default=0)
    checksum = sum(int(s.get("checksum", 0)) for _q, _d, s in heads)
    return (count, highest, checksum) == total and all(s.get("formula") == FORMULA_VERSION for _q, _d, s in heads)


def _cells_from_members(quarter: int, members: Iterable[OpenDataMember], pillars: Sequence[str]) -> dict[str, Any]:
    """The quarter's cells, suppression applied: ``{"formula", "pillars", "rows"}``, each row
    ``[commune, sector, kind, count, overall mean, [[mean, q1, median, q3] per pillar]]`` (None when hidden)."""
    groups: dict[tuple, list[OpenDataMember]] = defaultdict(list)
    for member in members:
        groups[(member.commune_code, member.sector, member.org_kind)].append(member)
    ordered = sorted(groups, key=lambda c: (c[0] or "", c[1] or "", c[2] or ""))
    hidden = suppress([len(groups[c]) for c in ordered])  # no published totals: primary suppression only
    rows = []
    for index, cell in enumerate(ordered):
        found = groups[cell]
        if index in hidden:
            rows.append([*cell, None, None, None])
            continue
        figures = []
        for code in pillars:
            values = [float(m.scores[code]) for m in found if (m.scores or {}).get(code) is not None]
            if values:
                q1, median, q3 = quartiles(values)
                figures.append([_round(_mean(values)), _round(q1), _round(median), _round(q3)])
            else:
                figures.append([None, None, None, None])
        overall = _mean([float(m.overall_score) for m in found if m.overall_score is not None])
        rows.append([*cell, len(found), _round(overall), figures])
    return {"formula": FORMULA_VERSION, "quarter": quarter, "pillars": list(pillars), "rows": rows}


def publish_quarter(quarter: int, source: dict[str, int] | None = None) -> bool:
    """Freeze the ``maturity`` cells of an ended quarter; True when this call wrote them.

    The organisations counted keep the kind, sector and commune they had when the quarter was first
    published (``OpenDataMember``), so later profile edits never change the quarter. When the quarter's
    submissions changed since (a late import, a deletion: its ``source`` fingerprint differs), the quarter is
    published again: new organisations join with their current profile, members keep theirs, and a member
    whose submission was deleted keeps the scores published. Two workers publishing the same quarter at once
    (lazy publication on concurrent requests): the unique (dataset, quarter) row, or the conditional update
    of an existing one, lets one win; the other rolls back and returns False.
    """
    start, end = quarter_start(quarter), quarter_start(next_quarter(quarter))
    if end > published_until():
        raise ValueError(f"{quarter_label(quarter)} has not ended")
    if source is None:
        source = _quarter_sources(start, end).get(quarter, {"count": 0, "max_id": 0, "checksum": 0})
    source = _with_formula(source)
    existing = db.session.scalar(select(OpenDataSnapshot).where(
        OpenDataSnapshot.dataset == "maturity", OpenDataSnapshot.quarter == quarter))
    now = dt.datetime.now(dt.UTC)
    try:
        if existing is None:
            # Claim the quarter first: a concurrent publisher blocks here, then fails on the unique constraint.
            snapshot = OpenDataSnapshot(dataset="maturity", quarter=quarter, cells={}, source=source, digest="",
                                        created_at=now, updated_at=now)
            db.session.add(snapshot)
            db.session.flush()
        else:
            if existing.source == source:
                return False
            claimed = db.session.execute(
                update(OpenDataSnapshot)
                .where(OpenDataSnapshot.id == existing.id, OpenDataSnapshot.updated_at == existing.updated_at)
                .values(updated_at=now)
            ).rowcount
            if claimed != 1:
                db.session.rollback()
                return False
            snapshot = existing
        tune_for_aggregates()
        cells = _compute_quarter(quarter, start, end)
        snapshot.cells = cells
        snapshot.source = source
        snapshot.digest = hashlib.sha256(json.dumps(cells, sort_keys=True).encode()).hexdigest()
        snapshot.updated_at = now
        db.session.commit()
    except (IntegrityError, OperationalError):
        # Another worker published it first (SQLite reports the lost race as "database is locked").
        db.session.rollback()
        return False
    return True


def _compute_quarter(quarter: int, start: dt.datetime, end: dt.datetime) -> dict[str, Any]:
    """Update the quarter's members from its submissions and compute its cells (in this transaction)."""
    pillars = [p.code for p in _pillars()]
    ranked = select(
        Assessment.id.label("assessment_id"), Assessment.organisation_id, Assessment.overall_score,
        func.row_number().over(partition_by=Assessment.organisation_id,
                               order_by=(Assessment.submitted_at.desc(), Assessment.id.desc())).label("rn"),
    ).where(Assessment.status == AssessmentStatus.SUBMITTED, Assessment.submitted_at >= start,
            Assessment.submitted_at < end).subquery("ranked")
    chosen = db.session.execute(
        select(ranked.c.assessment_id, ranked.c.organisation_id, ranked.c.overall_score,
               Organisation.kind, Organisation.sector, Organisation.commune_code)
        .join(Organisation, Organisation.id == ranked.c.organisation_id).where(ranked.c.rn == 1)
    ).all()
    scores: dict[int, dict[str, float]] = defaultdict(dict)
    chosen_ids = select(ranked.c.assessment_id).where(ranked.c.rn == 1)
    for assessment_id, pillar, score in db.session.execute(
        select(AssessmentPillarScore.assessment_id, AssessmentPillarScore.pillar, AssessmentPillarScore.score)
        .where(AssessmentPillarScore.assessment_id.in_(chosen_ids))
    ):
        scores[assessment_id][pillar] = score
    members = {m.organisation_id: m for m in db.session.scalars(
        select(OpenDataMember).where(OpenDataMember.quarter == quarter))}
    new = []
    for assessment_id, organisation_id, overall, kind, sector, commune in chosen:
        member = members.get(organisation_id)
        if member is None:
            member = OpenDataMember(quarter=quarter, organisation_id=organisation_id, assessment_id=assessment_id,
                                    org_kind=_value(kind), sector=sector, commune_code=commune,
                                    overall_score=overall, scores=scores.get(assessment_id, {}))
            members[organisation_id] = member
            new.append(member)
        elif member.assessment_id != assessment_id:
            member.assessment_id = assessment_id
            member.overall_score = overall
            member.scores = scores.get(assessment_id, {})
    if new:
        db.session.execute(insert(OpenDataMember), [
            {"quarter": m.quarter, "organisation_id": m.organisation_id, "assessment_id": m.assessment_id,
             "org_kind": m.org_kind, "sector": m.sector, "commune_code": m.commune_code,
             "overall_score": m.overall_score, "scores": m.scores} for m in new])
    db.session.flush()
    return _cells_from_members(quarter, members.values(), pillars)


def publish_missing() -> list[int]:
    """Publish every ended quarter not yet published (or whose submissions changed); the quarters written.

    Called lazily by the downloads (cheap when nothing is missing: one scan of the submissions, one read of
    the snapshots' fingerprints), by ``flask opendata publish`` and by ``flask demo load``.
    """
    return _ensure_published()[0]


def _ensure_published() -> tuple[list[int], list[tuple[int, str, dict[str, int]]]]:
    """``publish_missing()``, also returning the published quarters' heads (saves a query per version check)."""
    heads = _snapshot_heads()
    if _heads_match(heads, _source_total()):
        return [], heads
    sources = {q: _with_formula(s) for q, s in _quarter_sources().items()}
    published = {q: s for q, _d, s in heads}
    written = []
    for quarter in sorted(set(sources) | set(published)):
        source = sources.get(quarter, _with_formula({"count": 0, "max_id": 0, "checksum": 0}))
        if published.get(quarter) != source and publish_quarter(quarter, source):
            written.append(quarter)
    if written:
        current_app.logger.info("open data: published %s", ", ".join(quarter_label(q) for q in written))
    return written, _snapshot_heads()


def maturity_cells() -> list[MaturityCell]:
    """Every published cell, read from the snapshots (publishing first what is missing)."""
    return _memoised("maturity", _read_maturity)


def _read_maturity() -> list[MaturityCell]:
    pillars = [p.code for p in _pillars()]
    result = []
    for snapshot in _maturity_snapshots():
        position = {code: i for i, code in enumerate(snapshot.cells.get("pillars", []))}
        for commune, sector, kind, count, overall, figures in snapshot.cells.get("rows", []):
            if count is None:
                result.append(MaturityCell(snapshot.quarter, commune, sector, kind, None, None, None))
                continue
            picked = tuple(tuple(figures[position[code]]) if code in position else (None, None, None, None)
                           for code in pillars)
            result.append(MaturityCell(snapshot.quarter, commune, sector, kind, count, overall, picked))
    return result


def compute_maturity() -> list[MaturityCell]:
    """Publish what is missing, then the published cells (no cache)."""
    publish_missing()
    return _read_maturity()


def maturity_rows(locale: str = "vi") -> list[dict[str, Any]]:
    """The ``maturity`` dataset: one row per (quarter, commune, sector, kind) cell, suppression applied.

    Rows are sorted by quarter, commune code, sector and kind. Pillar figures are keyed
    ``<pillar>_mean``, ``<pillar>_q1``, ``<pillar>_median``, ``<pillar>_q3``; a suppressed row has every
    figure (count included) None and ``suppressed`` True.
    """
    lang = _lang(locale)
    figure_keys = [[f"{p.code}_{figure}" for figure in ("mean", "q1", "median", "q3")] for p in _pillars()]
    empty = {key: None for keys in figure_keys for key in keys}
    communes = {unit.code: unit.full_name for unit in geo.communes()}
    sector_names = {letter: section.name(lang) for letter, section in sectors.load_sections().items()}
    kind_names = {kind: names[lang] for kind, names in KIND_NAMES.items()}
    rows = []
    for cell in maturity_cells():
        row: dict[str, Any] = {
            "quarter": quarter_label(cell.quarter),
            "commune_code": cell.commune_code,
            "commune_name": communes.get(cell.commune_code),
            "sector": cell.sector,
            "sector_name": sector_names.get(cell.sector),
            "org_kind": cell.org_kind,
            "org_kind_name": kind_names.get(cell.org_kind, cell.org_kind),
            "organisations": cell.organisations,
        }
        if cell.pillars is None:
            row.update(empty)
        else:
            for keys, values in zip(figure_keys, cell.pillars, strict=True):
                row.update(zip(keys, values, strict=True))
        row["overall_mean"] = cell.overall_mean
        row["suppressed"] = cell.suppressed
        rows.append(row)
    return rows


# Uptake ----------------------------------------------------------------------------------------------

#: The uptake measures: (event, count field, amount field or None).
UPTAKE_MEASURES = (
    ("submitted", "applications_submitted", None),
    ("approved", "applications_approved", "approved_vnd"),
    ("completed", "applications_completed", "disbursed_vnd"),
)


def _uptake_events():
    """Submissions, approvals and completions that happened before the current quarter."""
    no_amount = null().cast(BigInteger)
    until = published_until()
    return union_all(
        select(Application.programme_id, Application.organisation_id,
               quarter_sql(Application.submitted_at).label("quarter"), literal("submitted").label("event"),
               no_amount.label("amount"))
        .where(Application.submitted_at.is_not(None), Application.submitted_at < until),
        select(Application.programme_id, Application.organisation_id,
               quarter_sql(ApplicationActivity.created_at), literal("approved"), Application.approved_vnd)
        .join(ApplicationActivity, ApplicationActivity.application_id == Application.id)
        .where(ApplicationActivity.kind == ActivityKind.TRANSITION, ApplicationActivity.action == "approve",
               ApplicationActivity.created_at < until),
        select(Application.programme_id, Application.organisation_id,
               quarter_sql(Application.completed_at), literal("completed"), Application.disbursed_vnd)
        .where(Application.completed_at.is_not(None), Application.completed_at < until),
    ).subquery("events")


def compute_uptake() -> list[dict[str, Any]]:
    """Every (quarter, programme) cell with suppression applied; ``programme_name`` in both languages."""
    events = _uptake_events()
    per_event = db.session.execute(
        select(events.c.programme_id, events.c.quarter, events.c.event, func.count(),
               func.count(events.c.organisation_id.distinct()), func.sum(events.c.amount))
        .group_by(events.c.programme_id, events.c.quarter, events.c.event)
    ).all()
    per_cell = db.session.execute(
        select(events.c.programme_id, events.c.quarter, func.count(events.c.organisation_id.distinct()))
        .group_by(events.c.programme_id, events.c.quarter)
    ).all()
    programmes = {p.id: p for p in db.session.execute(select(Programme.id, Programme.code, Programme.name))}
    measures: dict[tuple[int, int], dict[str, tuple[int, int, int | None]]] = defaultdict(dict)
    for programme_id, quarter, event, n, orgs, amount in per_event:
        measures[(programme_id, int(quarter))][event] = (int(n), int(orgs), amount)
    cells = sorted(((pid, int(q), int(orgs)) for pid, q, orgs in per_cell),
                   key=lambda c: (c[1], programmes[c[0]].code))
    row_hidden = suppress([orgs for _pid, _q, orgs in cells])
    # The catalogue publishes each programme's committed and paid-out totals: a programme is a group.
    group = [pid for pid, _q, _orgs in cells]
    measure_hidden = {
        event: suppress([measures[(pid, q)].get(event, (0, 0, None))[1] for pid, q, _o in cells], [group],
                        hidden=row_hidden)
        for event, _count, _amount in UPTAKE_MEASURES
    }
    rows = []
    for index, (programme_id, quarter, orgs) in enumerate(cells):
        programme = programmes[programme_id]
        row: dict[str, Any] = {
            "quarter": quarter_label(quarter),
            "programme_code": programme.code,
            "programme_name": dict(programme.name or {}),
            "organisations": None if index in row_hidden else orgs,
        }
        for event, count_field, amount_field in UPTAKE_MEASURES:
            n, _orgs, amount = measures[(programme_id, quarter)].get(event, (0, 0, None))
            shown = index not in measure_hidden[event]
            row[count_field] = n if shown else None
            if amount_field:
                row[amount_field] = int(amount or 0) if shown else None
        row["suppressed"] = index in row_hidden
        rows.append(row)
    return rows


def uptake_rows(locale: str = "vi") -> list[dict[str, Any]]:
    """The ``uptake`` dataset: one row per (quarter, programme) with any event, suppression applied.

    Rows are sorted by quarter then programme code. Counts and amounts of a measure about fewer than
    ``MIN_CELL`` organisations are None; a row about fewer than ``MIN_CELL`` organisations has every
    figure None and ``suppressed`` True.
    """
    lang = _lang(locale)
    rows = []
    for cell in _memoised("uptake", compute_uptake):
        names = cell["programme_name"]
        rows.append({**cell, "programme_name": names.get(lang) or names.get("vi", "")})
    return rows


# The data dictionary ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """One column: its name, JSON type (``string``, ``integer``, ``number``, ``boolean``), header and meaning."""

    name: str
    type: str
    label: dict[str, str]
    description: dict[str, str]
    nullable: bool = True

    def to_dict(self, locale: str = "vi") -> dict[str, Any]:
        lang = _lang(locale)
        return {"name": self.name, "type": self.type, "nullable": self.nullable, "label": self.label[lang],
                "description": self.description[lang]}


@dataclass(frozen=True)
class Dataset:
    """A published table: name (used in URLs), titles, description, fields, licence and how rows are made."""

    name: str
    title: dict[str, str]
    description: dict[str, str]
    fields: tuple[Field, ...]
    rows: Callable[[str], list[dict[str, Any]]]
    licence: dict[str, str]

    def to_dict(self, locale: str = "vi") -> dict[str, Any]:
        lang = _lang(locale)
        return {"name": self.name, "title": self.title[lang], "description": self.description[lang],
                "licence": dict(self.licence), "min_cell": MIN_CELL,
                "fields": [f.to_dict(lang) for f in self.fields]}


def _t(vi: str, en: str) -> dict[str, str]:
    return {"vi": vi, "en": en}


_SUPPRESSED = Field("suppressed", "boolean", _t("Bị ẩn", "Suppressed"), _t(
    f"true khi ô này nói về dưới {MIN_CELL} tổ chức (hoặc bị ẩn thêm để không thể suy ra ô khác): mọi số liệu "
    "của hàng để trống.",
    f"true when the cell is about fewer than {MIN_CELL} organisations (or is hidden so that another hidden cell "
    "cannot be worked out): every figure of the row is null."), nullable=False)
_QUARTER = Field("quarter", "string", _t("Quý", "Quarter"), _t(
    "Quý theo giờ Việt Nam, dạng 2026-Q3.", "Calendar quarter in Vietnam time, as 2026-Q3."), nullable=False)


def _maturity_fields() -> tuple[Field, ...]:
    fields = [
        _QUARTER,
        Field("commune_code", "string", _t("Mã xã/phường", "Commune code"), _t(
            "Mã đơn vị hành chính cấp xã (5 chữ số); trống khi tổ chức chưa khai báo.",
            "Official 5-digit code of the commune, ward or special zone; null when not given.")),
        Field("commune_name", "string", _t("Xã/phường", "Commune"), _t(
            "Tên chính thức của xã, phường, đặc khu.", "Official name of the commune, ward or special zone.")),
        Field("sector", "string", _t("Mã ngành", "Sector code"), _t(
            "Mã ngành cấp 1 theo VSIC 2018 (A–U).", "VSIC 2018 section letter (A–U)."), nullable=False),
        Field("sector_name", "string", _t("Ngành", "Sector"), _t("Tên ngành cấp 1.", "Name of the section.")),
        Field("org_kind", "string", _t("Mã loại hình", "Kind code"), _t(
            "enterprise (doanh nghiệp), cooperative (hợp tác xã) hoặc household_business (hộ kinh doanh).",
            "enterprise, cooperative or household_business."), nullable=False),
        Field("org_kind_name", "string", _t("Loại hình", "Kind"), _t(
            "Tên loại hình tổ chức.", "Name of the kind of organisation.")),
        Field("organisations", "integer", _t("Số tổ chức", "Organisations"), _t(
            "Số tổ chức đã nộp bài tự đánh giá trong quý (mỗi tổ chức tính một lần, theo bài nộp sau cùng "
            "trong quý).",
            "Organisations that submitted a self-assessment in the quarter (each counted once, with its latest "
            "submission of the quarter).")),
    ]
    for pillar in _pillars():
        for figure, vi, en in (("mean", "trung bình", "mean"), ("q1", "tứ phân vị thứ nhất", "first quartile"),
                               ("median", "trung vị", "median"), ("q3", "tứ phân vị thứ ba", "third quartile")):
            fields.append(Field(
                f"{pillar.code}_{figure}", "number",
                _t(f"{pillar.name.vi} – {vi}", f"{pillar.name.en} – {en}"),
                _t(f"Điểm trụ cột “{pillar.name.vi}” (0–100): {vi}, làm tròn 1 chữ số thập phân.",
                   f"Score on the pillar “{pillar.name.en}” (0–100): {en}, rounded to one decimal."),
            ))
    fields.append(Field("overall_mean", "number", _t("Điểm chung – trung bình", "Overall score – mean"), _t(
        "Điểm chung (0–100) trung bình, làm tròn 1 chữ số thập phân.",
        "Mean overall score (0–100), rounded to one decimal.")))
    fields.append(_SUPPRESSED)
    return tuple(fields)


_UPTAKE_FIELDS = (
    _QUARTER,
    Field("programme_code", "string", _t("Mã chương trình", "Programme code"), _t(
        "Mã của chương trình hỗ trợ trong danh mục.", "Code of the support programme in the catalogue."),
        nullable=False),
    Field("programme_name", "string", _t("Chương trình", "Programme"), _t(
        "Tên chương trình hỗ trợ.", "Name of the support programme."), nullable=False),
    Field("organisations", "integer", _t("Số tổ chức", "Organisations"), _t(
        "Số tổ chức khác nhau có hồ sơ được nộp, được duyệt hoặc hoàn thành trong quý.",
        "Distinct organisations with an application submitted, approved or completed in the quarter.")),
    Field("applications_submitted", "integer", _t("Hồ sơ nộp", "Applications submitted"), _t(
        f"Số hồ sơ nộp lần đầu trong quý; để trống khi do dưới {MIN_CELL} tổ chức nộp.",
        f"Applications first submitted in the quarter; null when fewer than {MIN_CELL} organisations sent them.")),
    Field("applications_approved", "integer", _t("Hồ sơ được duyệt", "Applications approved"), _t(
        f"Số hồ sơ được phê duyệt trong quý; để trống khi thuộc dưới {MIN_CELL} tổ chức.",
        f"Applications approved in the quarter; null when they belong to fewer than {MIN_CELL} organisations.")),
    Field("approved_vnd", "integer", _t("Số tiền duyệt (đồng)", "Amount approved (VND)"), _t(
        "Tổng số tiền hỗ trợ được duyệt trong quý (đồng); trống cùng lúc với số hồ sơ được duyệt.",
        "Total support approved in the quarter, in đồng; null together with the approvals count.")),
    Field("applications_completed", "integer", _t("Hồ sơ hoàn thành", "Applications completed"), _t(
        f"Số hồ sơ được xác nhận hoàn thành trong quý; để trống khi thuộc dưới {MIN_CELL} tổ chức.",
        f"Applications confirmed complete in the quarter; null when they belong to fewer than {MIN_CELL} "
        "organisations.")),
    Field("disbursed_vnd", "integer", _t("Số tiền đã chi (đồng)", "Amount paid out (VND)"), _t(
        "Tổng số tiền đã chi cho các hồ sơ hoàn thành trong quý (đồng); trống cùng lúc với số hồ sơ hoàn thành.",
        "Total paid out for the applications completed in the quarter, in đồng; null together with that count.")),
    _SUPPRESSED,
)

DATASETS: dict[str, Dataset] = {
    "maturity": Dataset(
        name="maturity",
        title=_t("Mức độ chuyển đổi số theo quý, xã/phường, ngành và loại hình",
                 "Digital maturity by quarter, commune, sector and kind of organisation"),
        description=_t(
            "Kết quả tự đánh giá mức độ chuyển đổi số của doanh nghiệp, hợp tác xã và hộ kinh doanh: số tổ chức, "
            "điểm trung bình và các tứ phân vị của từng trụ cột. Mỗi tổ chức được tính một lần mỗi quý, theo bài "
            "nộp sau cùng trong quý.",
            "Self-assessed digital maturity of enterprises, cooperatives and household businesses: number of "
            "organisations, mean and quartiles of each pillar's score. Each organisation counts once per "
            "quarter, with its latest submission of the quarter."),
        fields=_maturity_fields(),
        rows=maturity_rows,
        licence=LICENCE,
    ),
    "uptake": Dataset(
        name="uptake",
        title=_t("Tình hình tham gia các chương trình hỗ trợ theo quý",
                 "Uptake of support programmes by quarter"),
        description=_t(
            "Số hồ sơ nộp, được duyệt và hoàn thành, số tiền được duyệt và đã chi của từng chương trình hỗ trợ, "
            "theo quý diễn ra.",
            "Applications submitted, approved and completed, and the amounts approved and paid out, per support "
            "programme and quarter in which they happened."),
        fields=_UPTAKE_FIELDS,
        rows=uptake_rows,
        licence=LICENCE,
    ),
}


# Results remembered per data version -----------------------------------------------------------------

#: Computed cells per (dataset, data version), in this process; the oldest are dropped.
_results: OrderedDict[tuple[str, str], Any] = OrderedDict()
_results_lock = threading.Lock()
RESULTS_KEPT = 4


def _memoised(name: str, compute: Callable[[], Any]) -> Any:
    """``compute()`` once per version of the dataset: recomputing 100,000 assessments takes seconds."""
    key = (name, dataset_version(name))
    with _results_lock:
        if key in _results:
            _results.move_to_end(key)
            return _results[key]
    value = compute()
    with _results_lock:
        _results[key] = value
        while len(_results) > RESULTS_KEPT:
            _results.popitem(last=False)
    return value


def forget_results() -> None:
    """Drop the computed cells kept in this process (tests, benchmark)."""
    with _results_lock:
        _results.clear()


# Data version and rendering --------------------------------------------------------------------------


def digest(*parts: Any) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:24]


def _labels_digest() -> str:
    """A fingerprint of the names written into the files (communes, sections, pillars): data files that change
    with a deployment, so they are read once per process."""
    global _labels
    if _labels is None:
        _labels = digest([(u.code, u.full_name) for u in geo.communes()],
                          [(k, s.name("vi"), s.name("en")) for k, s in sectors.load_sections().items()],
                          [(p.code, p.name.vi, p.name.en) for p in _pillars()], KIND_NAMES)
    return _labels


_labels: str | None = None


def dataset_version(name: str) -> str:
    """A fingerprint of one dataset's published figures: it changes whenever one of them could change.

    ``maturity``: the digests of the published quarters (publishing first the quarters that ended since, which
    costs one scan of the submissions when there is nothing to do). Profile edits and the running quarter do
    not change it: published quarters are frozen. ``uptake``: its events before the current quarter and the
    programmes (names). Both: the framework, the names written into the files and the formula.
    """
    if name == "maturity":
        _written, heads = _ensure_published()
        return digest(name, FORMULA_VERSION, MIN_CELL, frameworks.current_framework().ref, _labels_digest(),
                       [(q, d) for q, d, _s in heads])
    until = published_until()
    if name == "uptake":
        rows = db.session.execute(union_all(
            select(literal("s"), func.count(), func.max(Application.submitted_at), func.sum(Application.id % 10007))
            .where(Application.submitted_at < until),
            select(literal("a"), func.count(), func.max(ApplicationActivity.created_at),
                   func.sum(ApplicationActivity.application_id % 10007))
            .where(ApplicationActivity.kind == ActivityKind.TRANSITION, ApplicationActivity.action == "approve",
                   ApplicationActivity.created_at < until),
            select(literal("c"), func.count(), func.max(Application.completed_at), func.sum(Application.id % 10007))
            .where(Application.completed_at < until),
            select(literal("g"), func.count(), func.max(Programme.updated_at), func.sum(Programme.id)),
        )).all()
        return digest(name, FORMULA_VERSION, MIN_CELL, until.isoformat(), _labels_digest(),
                       sorted((str(r[0]), int(r[1] or 0), str(r[2]), int(r[3] or 0)) for r in rows))
    raise KeyError(name)


def data_version() -> str:
    """A fingerprint of everything the datasets and the dashboard read (cache keys, ETags).

    Submissions (count, latest ``submitted_at``), organisation profiles (count, latest ``updated_at``),
    applications (count, latest ``updated_at``: every transition bumps it) and programmes (names, money),
    plus the framework, the formula version and the quarter. One small query. It also moves with the
    running quarter's activity; ``dataset_version`` is the narrower stamp of one published dataset.
    """
    rows = db.session.execute(union_all(
        select(literal("a"), func.count(), func.max(Assessment.submitted_at))
        .where(Assessment.status == AssessmentStatus.SUBMITTED),
        select(literal("o"), func.count(), func.max(Organisation.updated_at)),
        select(literal("p"), func.count(), func.max(Application.updated_at)),
        select(literal("g"), func.count(), func.max(Programme.updated_at)),
    )).all()
    return digest(FORMULA_VERSION, MIN_CELL, frameworks.current_framework().ref, published_until().isoformat(),
                   sorted((str(r[0]), int(r[1] or 0), str(r[2])) for r in rows))


def render_json(name: str, locale: str, version: str) -> bytes:
    """The dataset as a JSON document: metadata, data dictionary and rows."""
    dataset = DATASETS[name]
    document = {
        **dataset.to_dict(locale),
        "language": _lang(locale),
        "version": version,
        "rows": dataset.rows(_lang(locale)),
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """A CSV cell: numbers as they are, text that a spreadsheet could run as a formula prefixed with '."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def render_csv(name: str, locale: str) -> bytes:
    """The dataset as CSV: UTF-8 with a BOM (Excel then reads Vietnamese), headers in ``locale``."""
    dataset = DATASETS[name]
    lang = _lang(locale)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([safe_cell(f.label[lang]) for f in dataset.fields])
    for row in dataset.rows(lang):
        writer.writerow([safe_cell(row.get(f.name)) for f in dataset.fields])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


# The server-side cache -------------------------------------------------------------------------------


class _MemoryCache:
    """A small per-process LRU of rendered bytes (used when there is no Redis)."""

    def __init__(self, size: int = 64):
        self.size = size
        self._items: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            found = self._items.get(key)
            if found is None:
                return None
            if found[0] < time.monotonic():
                del self._items[key]
                return None
            self._items.move_to_end(key)
            return found[1]

    def set(self, key: str, value: bytes, ttl: int) -> None:
        with self._lock:
            self._items[key] = (time.monotonic() + ttl, value)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self, namespace: str) -> None:
        with self._lock:
            for key in [k for k in self._items if k.startswith(namespace + ":")]:
                del self._items[key]


class _RedisCache:
    """Rendered bytes shared by every worker, under the app's key prefix; a Redis outage only costs time."""

    def __init__(self, url: str, prefix: str):
        self.client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.prefix = prefix

    def get(self, key: str) -> bytes | None:
        try:
            return self.client.get(self.prefix + key)
        except redis.RedisError:
            current_app.logger.warning("statistics cache unavailable", exc_info=True)
            return None

    def set(self, key: str, value: bytes, ttl: int) -> None:
        try:
            self.client.set(self.prefix + key, value, ex=ttl)
        except redis.RedisError:
            current_app.logger.warning("statistics cache unavailable", exc_info=True)

    def clear(self, namespace: str) -> None:
        try:
            for key in self.client.scan_iter(match=f"{self.prefix}{namespace}:*", count=500):
                self.client.delete(key)
        except redis.RedisError:
            current_app.logger.warning("statistics cache unavailable", exc_info=True)


def cache():
    """This app's cache of rendered statistics (Redis when ``REDIS_URL`` is set, else in this process).

    Keys start with a namespace (``opendata:``, ``dashboard:``) under the app's Redis key prefix.
    """
    app = current_app._get_current_object()
    found = app.extensions.get("statistics_cache")
    if found is None:
        url = app.config.get("REDIS_URL")
        if url:
            found = _RedisCache(url, f"{app.config.get('RATELIMIT_KEY_PREFIX') or 'dxportal'}:stats:")
        else:
            found = _MemoryCache(int(app.config.get("STATISTICS_CACHE_ENTRIES", 64)))
        app.extensions["statistics_cache"] = found
    return found


def clear_cache() -> None:
    """Make the next download cold: drop the rendered files and the cells computed in this process."""
    cache().clear("opendata")
    forget_results()
    _versions.clear()


def max_age() -> int:
    """Seconds browsers, proxies and the server cache keep a download (``OPENDATA_CACHE_SECONDS``)."""
    return int(current_app.config.get("OPENDATA_CACHE_SECONDS", 3600))


#: The last version read per (app, dataset or None for everything), and when: (monotonic time, version).
_versions: dict[tuple[int, str | None], tuple[float, str]] = {}


def current_version(name: str | None = None) -> str:
    """``dataset_version(name)`` (``data_version()`` when no name), re-read at most every
    ``OPENDATA_RECHECK_SECONDS`` (default 2; 0 in tests).

    Serving a cached download then costs no query at all; a change shows within those seconds (and
    browsers keep a download for ``max_age()`` anyway).
    """
    app = current_app._get_current_object()
    recheck = float(app.config.get("OPENDATA_RECHECK_SECONDS", 0.0 if app.testing else 2.0))
    now = time.monotonic()
    found = _versions.get((id(app), name))
    if found is not None and now - found[0] < recheck:
        return found[1]
    version = dataset_version(name) if name else data_version()
    _versions[(id(app), name)] = (now, version)
    return version


def etag_for(name: str, fmt: str, locale: str, version: str) -> str:
    """The entity tag of a download: changes with the data, the format and the language."""
    return f"{name}-{fmt}-{_lang(locale)}-{version}"


def render(name: str, fmt: str, lang: str, version: str) -> bytes:
    """The dataset file, gzip-compressed (level 6, no timestamp: the same data give the same bytes)."""
    raw = render_json(name, lang, version) if fmt == "json" else render_csv(name, lang)
    return gzip.compress(raw, compresslevel=6, mtime=0)


def stored_file(name: str, fmt: str, lang: str, version: str) -> bytes:
    """The rendered file of this version from ``open_data_file``, rendered and stored when missing.

    Stored files of older versions of the same (dataset, format, language) are deleted. A concurrent worker
    storing the same file first only costs this one its insert.
    """
    body = db.session.scalar(select(OpenDataFile.body).where(
        OpenDataFile.dataset == name, OpenDataFile.fmt == fmt, OpenDataFile.lang == lang,
        OpenDataFile.version == version))
    if body is not None:
        return bytes(body)
    body = render(name, fmt, lang, version)
    try:
        db.session.execute(delete(OpenDataFile).where(
            OpenDataFile.dataset == name, OpenDataFile.fmt == fmt, OpenDataFile.lang == lang,
            OpenDataFile.version != version))
        db.session.add(OpenDataFile(dataset=name, fmt=fmt, lang=lang, version=version, body=body))
        db.session.commit()
    except (IntegrityError, OperationalError):
        db.session.rollback()
    return body


def prepare_files() -> int:
    """Render and store every dataset in every format and language for the current versions (after
    publishing), so that no visitor waits for it; the number of files written."""
    written = 0
    for name in DATASETS:
        version = dataset_version(name)
        for fmt in FORMATS:
            for lang in ("vi", "en"):
                exists = db.session.scalar(select(func.count()).select_from(OpenDataFile).where(
                    OpenDataFile.dataset == name, OpenDataFile.fmt == fmt, OpenDataFile.lang == lang,
                    OpenDataFile.version == version))
                if not exists:
                    stored_file(name, fmt, lang, version)
                    written += 1
    return written


def download(name: str, fmt: str, locale: str, version: str | None = None) -> bytes:
    """The rendered dataset, gzip-compressed: from the server cache, else from the file stored for this
    version (``open_data_file``), else rendered from the snapshots and stored. Kept compressed because the
    maturity table is large and very repetitive (about 15 MB of JSON at 100,000 assessments, 0.4 MB
    gzipped): clients that accept gzip get it as it is."""
    if name not in DATASETS or fmt not in FORMATS:
        raise KeyError(f"{name}.{fmt}")
    lang = _lang(locale)
    version = version or current_version(name)
    key = f"opendata:{name}:{fmt}:{lang}:{version}"
    body = cache().get(key)
    if body is None:
        body = stored_file(name, fmt, lang, version)
        cache().set(key, body, max_age())
    return body
