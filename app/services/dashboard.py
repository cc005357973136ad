"""The department's dashboard: how the province's businesses progress, and how support money is used.

Staff only, so figures are exact (no suppression; that is for open data). Every figure is computed by
the database with GROUP BY in about a dozen queries, whatever the number of assessments; Python only
rolls up the grouped rows (a few thousand at most). Results are cached (Redis or this process) under
the filters and ``opendata.data_version()``, so any new submission, profile edit or application step
shows at once while repeated views cost no query beyond the version check.

Definitions (also on the page):

- Filters: a period (from / to quarter, province time), a commune, a sector, a kind of organisation.
  Commune, sector and kind select organisations by their current profile; the period selects
  submissions (assessments) and first submissions (applications).
- *Organisations*: registered organisations (up to the end of the period when one is set).
  *Assessed*: those with at least one submitted assessment in the period.
- *Levels per pillar*: for each assessed organisation, its latest submission in the period; a pillar's
  level is the framework level whose band holds the pillar score.
- *Progress*: organisations with two or more submissions in the period, first against latest. Within an
  organisation, assessment ids follow submission order (an organisation has at most one draft at a
  time), so the first is the lowest id and the latest the highest.
- *Share at each level per quarter*: as in open data, each organisation counts once per quarter, with
  its latest submission of the quarter.
- *Programmes*: budget, committed, paid out and remaining are the programme's own totals (not filtered);
  the application counts are those first submitted in the period by the selected organisations.
- *Funnel*: those applications by current state; *time in a state* is the median number of days between
  entering a state and leaving it (from the timeline's transitions), over stays that have ended.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import aliased

from app.extensions import db
from app.models.application import ActivityKind, Application, ApplicationActivity, ApplicationStatus
from app.models.assessment import Assessment, AssessmentPillarScore, AssessmentStatus
from app.models.catalogue import Programme
from app.models.organisation import Organisation, OrganisationKind
from app.services import frameworks, geo, opendata, sectors

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


def _submitted_in_period(filters: Filters, column=Assessment.submitted_at) -> list:
    conditions = [Assessment.status == AssessmentStatus.SUBMITTED, column.is_not(None)]
    if filters.start_at is not None:
        conditions.append(column >= filters.start_at)
    if filters.end_before is not None:
        conditions.append(column < filters.end_before)
    return conditions


def _value(item: Any) -> Any:
    return getattr(item, "value", item)


def _organisations(filters: Filters) -> dict[str, list[dict[str, Any]]]:
    """Organisations, assessed organisations and submitted assessments by kind, by sector, by commune."""
    dims = (Organisation.kind, Organisation.sector, Organisation.commune_code)
    org_conditions = _org_conditions(filters)
    if filters.end_before is not None:
        org_conditions.append(Organisation.created_at < filters.end_before)
    registered = db.session.execute(select(*dims, func.count()).where(*org_conditions).group_by(*dims)).all()
    assessed = db.session.execute(
        select(*dims, func.count(Assessment.id), func.count(Assessment.organisation_id.distinct()))
        .join(Organisation, Organisation.id == Assessment.organisation_id)
        .where(*_submitted_in_period(filters), *_org_conditions(filters))
        .group_by(*dims)
    ).all()
    # An organisation has one kind, sector and commune, so distinct counts add up across these cells.
    tables: dict[str, dict[Any, dict[str, int]]] = {"kinds": {}, "sectors": {}, "communes": {}}
    blank = {"organisations": 0, "assessed": 0, "assessments": 0}
    for kind, sector, commune, n in registered:
        for table, key in (("kinds", _value(kind)), ("sectors", sector), ("communes", commune)):
            tables[table].setdefault(key, dict(blank))["organisations"] += n
    for kind, sector, commune, n, orgs in assessed:
        for table, key in (("kinds", _value(kind)), ("sectors", sector), ("communes", commune)):
            entry = tables[table].setdefault(key, dict(blank))
            entry["assessments"] += n
            entry["assessed"] += orgs
    return {
        table: [{"key": key, **figures} for key, figures in entries.items()]
        for table, entries in tables.items()
    }


def _latest_in_period(filters: Filters):
    """Each selected organisation's latest submitted assessment in the period (id and organisation)."""
    if filters.end_before is None:
        # The latest submission overall is the latest in any period that runs to today.
        conditions = [Assessment.is_latest.is_(True), *_submitted_in_period(filters)]
        return (select(Assessment.id.label("assessment_id"), Assessment.overall_level)
                .join(Organisation, Organisation.id == Assessment.organisation_id)
                .where(*conditions, *_org_conditions(filters)).subquery("latest"))
    latest_ids = (select(func.max(Assessment.id).label("assessment_id"))
                  .join(Organisation, Organisation.id == Assessment.organisation_id)
                  .where(*_submitted_in_period(filters), *_org_conditions(filters))
                  .group_by(Assessment.organisation_id).subquery("latest_ids"))
    return (select(Assessment.id.label("assessment_id"), Assessment.overall_level)
            .join(latest_ids, latest_ids.c.assessment_id == Assessment.id).subquery("latest"))


def _level_case(column):
    levels = frameworks.current_framework().levels
    return case(*[(column < level.upper, level.level) for level in levels[:-1]], else_=levels[-1].level)


def _levels(filters: Filters) -> list[dict[str, Any]]:
    """Organisations at each level, per pillar and overall, from their latest submission in the period."""
    latest = _latest_in_period(filters)
    level = _level_case(AssessmentPillarScore.score)
    per_pillar = db.session.execute(
        select(AssessmentPillarScore.pillar, level, func.count())
        .join(latest, latest.c.assessment_id == AssessmentPillarScore.assessment_id)
        .group_by(AssessmentPillarScore.pillar, level)
    ).all()
    overall = db.session.execute(
        select(latest.c.overall_level, func.count()).group_by(latest.c.overall_level)
    ).all()
    counts: dict[str, dict[int, int]] = defaultdict(dict)
    for pillar, lvl, n in per_pillar:
        counts[pillar][int(lvl)] = n
    for lvl, n in overall:
        if lvl is not None:
            counts["overall"][int(lvl)] = n
    return [{"key": pillar, "levels": {str(k): v for k, v in by_level.items()}} for pillar, by_level in counts.items()]


def _progress(filters: Filters) -> list[dict[str, Any]]:
    """First against latest submission of organisations assessed twice or more in the period."""
    pairs = (select(func.min(Assessment.id).label("first_id"), func.max(Assessment.id).label("last_id"))
             .join(Organisation, Organisation.id == Assessment.organisation_id)
             .where(*_submitted_in_period(filters), *_org_conditions(filters))
             .group_by(Assessment.organisation_id).having(func.count() >= 2).subquery("pairs"))
    first, last = aliased(AssessmentPillarScore), aliased(AssessmentPillarScore)
    per_pillar = db.session.execute(
        select(last.pillar, func.count(), func.avg(first.score), func.avg(last.score),
               func.sum(case((last.score > first.score, 1), else_=0)))
        .select_from(pairs)
        .join(first, first.assessment_id == pairs.c.first_id)
        .join(last, and_(last.assessment_id == pairs.c.last_id, last.pillar == first.pillar))
        .group_by(last.pillar)
    ).all()
    first_a, last_a = aliased(Assessment), aliased(Assessment)
    overall = db.session.execute(
        select(func.count(), func.avg(first_a.overall_score), func.avg(last_a.overall_score),
               func.sum(case((last_a.overall_level > first_a.overall_level, 1), else_=0)))
        .select_from(pairs)
        .join(first_a, first_a.id == pairs.c.first_id)
        .join(last_a, last_a.id == pairs.c.last_id)
    ).one()
    rows = [{"key": pillar, "organisations": n, "first_mean": _r(a), "latest_mean": _r(b),
             "change": _r(b - a) if a is not None and b is not None else None, "improved": int(up or 0)}
            for pillar, n, a, b, up in per_pillar]
    n, a, b, up = overall
    if n:
        rows.append({"key": "overall", "organisations": n, "first_mean": _r(a), "latest_mean": _r(b),
                     "change": _r(b - a), "improved": int(up or 0), "level_up": True})
    return rows


def _r(value: Any) -> float | None:
    return None if value is None else round(float(value), 1)


def _trend(filters: Filters) -> list[dict[str, Any]]:
    """Per quarter, organisations at each overall level (each counted once per quarter)."""
    chosen = opendata._chosen_assessments(filters.start_at, filters.end_before, _org_conditions(filters))
    rows = db.session.execute(
        select(chosen.c.quarter, chosen.c.overall_level, func.count())
        .group_by(chosen.c.quarter, chosen.c.overall_level).order_by(chosen.c.quarter)
    ).all()
    per_quarter: dict[int, dict[str, int]] = defaultdict(dict)
    for quarter, level, n in rows:
        if level is not None:
            per_quarter[int(quarter)][str(int(level))] = n
    return [{"key": opendata.quarter_label(q), "levels": levels} for q, levels in sorted(per_quarter.items())]


def _application_conditions(filters: Filters) -> list:
    conditions = [Application.status != S.DRAFT, *_org_conditions(filters)]
    if filters.start_at is not None:
        conditions.append(Application.submitted_at >= filters.start_at)
    if filters.end_before is not None:
        conditions.append(Application.submitted_at < filters.end_before)
    return conditions


def _programmes(filters: Filters) -> list[dict[str, Any]]:
    """Each programme's budget and money, with the selected applications' counts."""
    decided = (S.APPROVED, S.COMPLETED)
    counts = {
        pid: (n, approved, completed)
        for pid, n, approved, completed in db.session.execute(
            select(Application.programme_id, func.count(),
                   func.sum(case((Application.status.in_(decided), 1), else_=0)),
                   func.sum(case((Application.status == S.COMPLETED, 1), else_=0)))
            .join(Organisation, Organisation.id == Application.organisation_id)
            .where(*_application_conditions(filters))
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
    """Applications by current state, and the median days spent in each state (ended stays only)."""
    by_state = dict(db.session.execute(
        select(Application.status, func.count())
        .join(Organisation, Organisation.id == Application.organisation_id)
        .where(*_application_conditions(filters)).group_by(Application.status)
    ).all())
    selected = (select(Application.id).join(Organisation, Organisation.id == Application.organisation_id)
                .where(*_application_conditions(filters)))
    left_at = func.lead(ApplicationActivity.created_at).over(
        partition_by=ApplicationActivity.application_id,
        order_by=(ApplicationActivity.created_at, ApplicationActivity.id))
    stays = (select(ApplicationActivity.to_status.label("state"), ApplicationActivity.created_at.label("entered"),
                    left_at.label("left"))
             .where(ApplicationActivity.kind == ActivityKind.TRANSITION,
                    ApplicationActivity.application_id.in_(selected))
             .subquery("stays"))
    durations = (select(stays.c.state, _days_between(stays.c.left, stays.c.entered).label("days"))
                 .where(stays.c.left.is_not(None)).subquery("durations"))
    timing = {_value(row.state): row for row in db.session.execute(opendata.stats_select(durations, ["state"], "days"))}
    rows = []
    for state in FUNNEL_STATES:
        found = timing.get(state.value) if state in TIMED_STATES else None
        rows.append({"key": state.value, "applications": int(by_state.get(state, 0)),
                     "stays": int(found.n) if found else 0,
                     "median_days": _r(found.median) if found else None,
                     "q3_days": _r(found.q3) if found else None})
    return rows


def compute(filters: Filters) -> dict[str, Any]:
    """Every table of the dashboard as plain data (codes and numbers; labels are added per language)."""
    opendata._tune_for_aggregates()
    data: dict[str, Any] = dict(_organisations(filters))
    data["levels"] = _levels(filters)
    data["progress"] = _progress(filters)
    data["trend"] = _trend(filters)
    data["programmes"] = _programmes(filters)
    data["funnel"] = _funnel(filters)
    return data


def data(filters: Filters) -> dict[str, Any]:
    """``compute(filters)``, cached under the filters and the data version."""
    version = opendata.current_version()
    key = f"dashboard:{CACHE_VERSION}:{filters.cache_key()}:{version}"
    store = opendata.cache()
    cached = store.get(key)
    if cached is not None:
        return json.loads(cached)
    result = compute(filters)
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


@dataclass(frozen=True)
class Table:
    """A table of the dashboard: its name (the CSV's), caption, columns and rows of display-ready values."""

    name: str
    caption: Any
    columns: tuple[Column, ...]
    rows: list[dict[str, Any]]


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
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def table_csv(table: Table) -> bytes:
    """One table as CSV: UTF-8 with a BOM (Excel reads Vietnamese), the header in the user's language."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([_csv_cell(str(column.label)) for column in table.columns])
    for row in table.rows:
        writer.writerow([_csv_cell(row.get(column.key)) for column in table.columns])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
