"""Display formats: VND as ``1.500.000 ₫``, dates as ``dd/mm/yyyy`` in the province's timezone."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import Flask, current_app
from markupsafe import Markup


def format_vnd(amount: int | None) -> str:
    """``1500000`` → ``1.500.000 ₫`` (dots between thousands, a non-breaking space before the sign)."""
    if amount is None:
        return "—"
    sign = "-" if amount < 0 else ""
    return f"{sign}{abs(int(amount)):,}".replace(",", ".") + "\u00a0₫"


def format_number(value: int | None) -> str:
    """Thousands separated by dots, the Vietnamese way."""
    if value is None:
        return "—"
    return f"{int(value):,}".replace(",", ".")


def _local(value: datetime) -> datetime:
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    return value.astimezone(zone) if value.tzinfo else value


def format_date(value: date | datetime | None) -> str:
    """``dd/mm/yyyy``."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        value = _local(value)
    return value.strftime("%d/%m/%Y")


def format_datetime(value: datetime | None) -> str:
    """``dd/mm/yyyy HH:MM`` in local time."""
    if value is None:
        return "—"
    return _local(value).strftime("%d/%m/%Y %H:%M")


def register(app: Flask) -> None:
    """Make the formats available to every template."""
    app.jinja_env.add_extension("jinja2.ext.do")
    app.add_template_filter(format_vnd, "vnd")
    app.add_template_filter(format_number, "number")
    app.add_template_filter(format_date, "date")
    app.add_template_filter(format_datetime, "datetime")

    @app.context_processor
    def inject_globals():
        from flask_babel import get_locale

        from app.models.user import Role

        return {
            "current_locale": str(get_locale() or app.config["BABEL_DEFAULT_LOCALE"]),
            "Role": Role,
            "portal_name": app.config["PORTAL_NAME"],
            "nbsp": Markup("&nbsp;"),
        }
