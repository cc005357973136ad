"""Open data: anonymised statistics anyone may download, reuse and republish (CC BY 4.0).

Two datasets, each a list of rows (``DATASETS`` is their data dictionary):

``maturity``
    Digital maturity by quarter x commune x VSIC section x organisation kind, for the quarters that have
    ended. A *quarter* is a calendar quarter in the province's time (UTC+7). An organisation counts in a
    quarter when it submitted at least one self-assessment during that quarter, and only its latest
    submission of that quarter is used
    (latest ``submitted_at``, then highest id): an organisation counts at most once per quarter, in the cell
    of its current profile (kind, sector and commune are not versioned). A row gives the number of
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

    *Only ended quarters*: the running quarter is never published (``published_until``). Its figures would
    change with each submission or approval, and two downloads taken before and after a known business
    acts would differ by exactly that business's scores or amount. An ended quarter changes only when an
    organisation edits its commune, sector or kind (its past assessments follow its current profile), a
    rare event that could still be differenced; freezing each quarter's figures when it ends would close
    that too, and needs a table (a change for the lead's migrations).

    No output carries names, tax codes or ids of organisations, user data or free text: only codes of
    communes, sections, kinds and programmes, their public names, counts, amounts and statistics.

Service functions need an app context, not a request: ``maturity_rows``, ``uptake_rows``, ``data_version``
(everything the datasets and the dashboard read) and ``dataset_version`` (one dataset: it stays the same while
only the running quarter changes). Computing the maturity cells takes seconds at 100,000 assessments, so
they are kept per dataset version in this process; the rendered downloads (gzip) are cached under (dataset,
format, locale, dataset version) in Redis when ``REDIS_URL`` is set, else in this process.
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
    func,
    literal,
    literal_column,
    null,
    select,
    text,
    union_all,
)

from app.extensions import db
from app.models.application import ActivityKind, Application, ApplicationActivity
from app.models.assessment import Assessment, AssessmentPillarScore, AssessmentStatus
from app.models.catalogue import Programme
from app.models.organisation import Organisation, OrganisationKind
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


def _pillar_stats(scores, keys: Sequence[str]):
    """Per (keys, pillar): n, mean, q1, median, q3 of ``score``; PostgreSQL's ``percentile_cont`` where
    available (one sort per group instead of a window over everything), else ``stats_select``."""
    if db.engine.dialect.name != "postgresql":
        return db.session.execute(stats_select(scores, [*keys, "pillar"], "score"))
    from sqlalchemy.dialects.postgresql import ARRAY, array

    grouped = [scores.c[name] for name in (*keys, "pillar")]
    quartiles = func.percentile_cont(array([0.25, 0.5, 0.75])).within_group(scores.c.score)
    rows = db.session.execute(
        select(*grouped, func.count().label("n"), func.avg(scores.c.score).label("mean"),
               quartiles.cast(ARRAY(Float)).label("quartiles")).group_by(*grouped)
    )
    return (_PgStats(*row[:-1], *row[-1]) for row in rows)


@dataclass(frozen=True)
class _PgStats:
    quarter: int
    commune_code: str | None
    sector: str
    org_kind: Any
    pillar: str
    n: int
    mean: float
    q1: float
    median: float
    q3: float


def _tune_for_aggregates() -> None:
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


def compute_maturity() -> list[MaturityCell]:
    """Every cell with its count and statistics, suppression applied (three queries, no cache)."""
    _tune_for_aggregates()
    pillars = [p.code for p in _pillars()]
    chosen = _chosen_assessments(end=published_until())
    keys = [chosen.c[k] for k in _CELL_KEYS]
    cells = db.session.execute(
        select(*keys, func.count().label("n"), func.avg(chosen.c.overall_score)).group_by(*keys)
    ).all()
    scores = select(
        *keys, AssessmentPillarScore.pillar, AssessmentPillarScore.score
    ).join(AssessmentPillarScore, AssessmentPillarScore.assessment_id == chosen.c.assessment_id).where(
        chosen.c.cell_n >= MIN_CELL
    ).subquery("scores")
    stats: dict[tuple, dict[str, Any]] = defaultdict(dict)
    for row in _pillar_stats(scores, _CELL_KEYS):
        stats[(int(row.quarter), row.commune_code, row.sector, _value(row.org_kind))][row.pillar] = row
    ordered = sorted(((int(q), commune, sector, _value(kind), int(n), overall)
                      for q, commune, sector, kind, n, overall in cells),
                     key=lambda c: (c[0], c[1] or "", c[2] or "", c[3] or ""))
    hidden = suppress([c[4] for c in ordered])  # no published totals: primary suppression only (module doc)
    result = []
    for index, (quarter, commune, sector, kind, count, overall) in enumerate(ordered):
        if index in hidden:
            result.append(MaturityCell(quarter, commune, sector, kind, None, None, None))
            continue
        found = stats.get((quarter, commune, sector, kind), {})
        figures = tuple(
            (_round(s.mean), _round(s.q1), _round(s.median), _round(s.q3)) if (s := found.get(p)) is not None
            else (None, None, None, None)
            for p in pillars
        )
        result.append(MaturityCell(quarter, commune, sector, kind, count, _round(overall), figures))
    return result


def maturity_cells() -> list[MaturityCell]:
    """``compute_maturity()``, remembered in this process for the current data version."""
    return _memoised("maturity", compute_maturity)


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


def _digest(*parts: Any) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:24]


def _org_cells_fingerprint():
    """SQL for a number that changes when an organisation moves to another cell (commune, sector, kind),
    but not when it edits anything else (employees, contacts...); summed over the organisations selected."""
    letters = "ABCDEFGHIJKLMNOPQRSTU"
    if db.engine.dialect.name == "sqlite":
        sector = func.instr(letters, func.coalesce(Organisation.sector, ""))
        commune = func.coalesce(cast(Organisation.commune_code, BigInteger), 0)  # never fails in SQLite
    else:
        sector = func.strpos(letters, func.coalesce(Organisation.sector, ""))
        commune = cast(func.hashtext(func.coalesce(Organisation.commune_code, "")), BigInteger)
    kind = case({k.value: i + 1 for i, k in enumerate(OrganisationKind)}, value=Organisation.kind, else_=0)
    # Ids are folded so the sum fits a 64-bit integer even with a million organisations.
    return func.sum((Organisation.id % 10007 + 1) * ((commune * 32 + sector) * 4 + kind))


def dataset_version(name: str) -> str:
    """A fingerprint of what one dataset reads: it changes whenever one of its figures could change.

    Only ended quarters are published, so submissions and steps of the running quarter do not change it:
    the cached files stay valid the whole quarter, until an organisation moves to another cell, a
    programme is renamed, or a new quarter begins.
    """
    until = published_until()
    if name == "maturity":
        row = db.session.execute(
            select(func.count(), func.max(Assessment.submitted_at), func.sum(Assessment.id % 10007))
            .where(Assessment.status == AssessmentStatus.SUBMITTED, Assessment.submitted_at < until)
        ).one()
        # IN (not a correlated EXISTS): the database builds the set once, whatever indexes it has.
        published = Organisation.id.in_(select(Assessment.organisation_id).where(
            Assessment.status == AssessmentStatus.SUBMITTED, Assessment.submitted_at < until))
        cells = db.session.scalar(select(_org_cells_fingerprint()).where(published))
        return _digest(name, FORMULA_VERSION, MIN_CELL, frameworks.current_framework().ref, until.isoformat(),
                       int(row[0] or 0), str(row[1]), int(row[2] or 0), int(cells or 0))
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
        return _digest(name, FORMULA_VERSION, MIN_CELL, until.isoformat(),
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
    return _digest(FORMULA_VERSION, MIN_CELL, frameworks.current_framework().ref, published_until().isoformat(),
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


def download(name: str, fmt: str, locale: str, version: str | None = None) -> bytes:
    """The rendered dataset, gzip-compressed, from the cache when this (dataset, format, locale, data
    version) was built. Kept compressed because the maturity table is large and very repetitive (about
    15 MB of JSON at 100,000 assessments, 0.4 MB gzipped): clients that accept gzip get it as it is."""
    if name not in DATASETS or fmt not in FORMATS:
        raise KeyError(f"{name}.{fmt}")
    lang = _lang(locale)
    version = version or current_version(name)
    key = f"opendata:{name}:{fmt}:{lang}:{version}"
    body = cache().get(key)
    if body is None:
        raw = render_json(name, lang, version) if fmt == "json" else render_csv(name, lang)
        body = gzip.compress(raw, compresslevel=6, mtime=0)
        cache().set(key, body, max_age())
    return body
