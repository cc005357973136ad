"""Dashboard pages: the figures with their charts, and each table as CSV. Thin views: the service computes.

A filter the page cannot use (an unknown commune, a quarter outside the list, a period that ends before
it starts) re-renders the page with the message and HTTP 400, never a 500.
"""

from __future__ import annotations

import datetime as dt

from flask import Response, abort, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _

from app.blueprints.dashboard import bp
from app.blueprints.dashboard.forms import DashboardFilterForm
from app.models.user import Role
from app.security import roles_required
from app.services import charts, dashboard, frameworks, opendata
from app.services.formatting import format_vnd

STAFF = (Role.REVIEWER, Role.APPROVER, Role.ADMIN)


def _locale() -> str:
    return str(get_locale() or "vi")


def _lang() -> str:
    return "en" if _locale().startswith("en") else "vi"


def _filter_form() -> DashboardFilterForm:
    today = opendata.quarter_of(dt.datetime.now(dt.UTC))
    return DashboardFilterForm(formdata=request.args, today_quarter=today, locale=_locale())


def _level_segments(lang: str) -> list[charts.Segment]:
    levels = frameworks.current_framework().levels
    return [charts.Segment(f"{lv.level} – {lv.name.pick(lang)}", charts.LEVEL_COLOURS[i % len(charts.LEVEL_COLOURS)])
            for i, lv in enumerate(levels)]


def _charts(tables: dict[str, dashboard.Table], lang: str) -> dict[str, object]:
    """The SVG charts drawn from the same rows as the tables next to them."""
    segments = _level_segments(lang)
    levels = tables["levels"]
    trend = tables["trend"]
    programmes = tables["programmes"]
    funnel = tables["funnel"]
    return {
        "levels": charts.stacked_bars(
            [charts.Bar(row["label"], tuple(row["counts"]), f"(n = {row['total']:,})".replace(",", "."))
             for row in levels.rows], segments,
            title=str(levels.caption),
            description=_("Share of organisations at each maturity level, one bar per pillar. The table below "
                          "gives the figures."), id_prefix="chart-levels"),
        "trend": charts.stacked_bars(
            [charts.Bar(row["label"], tuple(row["counts"]), f"(n = {row['total']:,})".replace(",", "."))
             for row in trend.rows], segments,
            title=str(trend.caption),
            description=_("Share of organisations at each overall level, one bar per quarter. The table below "
                          "gives the figures."), id_prefix="chart-trend"),
        "programmes": charts.stacked_bars(
            [charts.Bar(f"{row['code']} – {row['label']}",
                        (row["disbursed"], max(row["committed"] - row["disbursed"], 0), max(row["remaining"], 0)))
             for row in programmes.rows],
            [charts.Segment(_("Paid out"), charts.MONEY_COLOURS[0]),
             charts.Segment(_("Committed, not yet paid"), charts.MONEY_COLOURS[1]),
             charts.Segment(_("Remaining"), charts.MONEY_COLOURS[2])],
            title=str(programmes.caption), normalise=False, value_format=format_vnd,
            description=_("Each programme's budget split into money paid out, committed and remaining. The table "
                          "below gives the amounts."), id_prefix="chart-programmes"),
        "funnel": charts.bars(
            [(row["label"], row["applications"]) for row in funnel.rows],
            title=_("Applications by state"),
            description=_("Number of applications in each state. The table below gives the figures."),
            id_prefix="chart-funnel"),
    }


@bp.route("/")
@roles_required(*STAFF)
def index():
    """The dashboard: every table and chart for the chosen filters."""
    form = _filter_form()
    if not form.validate():
        return render_template("dashboard/index.html", form=form, tables=None, charts=None), 400
    lang = _lang()
    tables = dashboard.tables(dashboard.data(form.filters()), lang)
    export_args = {key: value for key, value in request.args.items() if key in form._fields}
    return render_template("dashboard/index.html", form=form, tables=tables, charts=_charts(tables, lang),
                           export_args=export_args)


@bp.route("/export/<any(kinds, sectors, communes, levels, progress, trend, programmes, funnel):table>.csv")
@roles_required(*STAFF)
def export(table: str):
    """One table for the chosen filters, as CSV that Excel opens with Vietnamese intact."""
    form = _filter_form()
    if not form.validate():
        return render_template("dashboard/index.html", form=form, tables=None, charts=None), 400
    tables = dashboard.tables(dashboard.data(form.filters()), _lang())
    if table not in tables:
        abort(404)
    return Response(dashboard.table_csv(tables[table]), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="dashboard-{table}.csv"'})
