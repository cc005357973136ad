"""Locale and timezone selection for Flask-Babel."""

from __future__ import annotations

from flask import current_app, session
from flask_login import current_user


def select_locale() -> str:
    """The user's saved language, else the one chosen in this session, else Vietnamese."""
    languages = current_app.config["LANGUAGES"]
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    chosen = session.get("locale")
    if chosen in languages:
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str:
    """Everyone in the province lives in one timezone."""
    return current_app.config["BABEL_DEFAULT_TIMEZONE"]
