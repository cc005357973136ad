"""Locale and timezone selection for Flask-Babel."""

from __future__ import annotations

from flask import current_app, has_request_context, session
from flask_login import current_user


def select_locale() -> str:
    """The user's saved language, else the one chosen in this session, else Vietnamese.

    Outside a request (CLI, jobs, services called from tests) there is no user: Vietnamese, unless
    the caller chose a language with ``force_locale``.
    """
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    chosen = session.get("locale")
    if chosen in languages:
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str:
    """Everyone in the province lives in one timezone."""
    return current_app.config["BABEL_DEFAULT_TIMEZONE"]


def escape_lazy_strings() -> None:
    """Make Jinja escape Flask-Babel's lazy strings like any other text.

    Flask-Babel's ``LazyString`` defines ``__html__``, so Jinja treats it as safe markup: a message
    such as ``_l("unknown key '%(key)s'", key=user_input)`` would reach the page unescaped. No
    message of ours contains markup, so lazy strings lose that marker once, for the whole process.
    """
    from flask_babel.speaklater import LazyString

    if "__html__" in LazyString.__dict__:
        del LazyString.__html__
