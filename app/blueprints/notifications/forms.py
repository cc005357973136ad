"""Forms of the notifications pages: marking read (a CSRF token only) and the channel settings."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField


class MarkReadForm(FlaskForm):
    """Marking one or all notifications read: nothing to fill in, but a POST with its CSRF token."""


class PreferencesForm(FlaskForm):
    """The settings grid: one checkbox per ``kind.channel`` the person can set; ticked means "send"."""

    enabled = SelectMultipleField(_l("Messages I want to receive"), choices=[],
                                  invalid_choice_message=_l("Choose from the list."))

    def __init__(self, keys: list[str], *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.enabled.choices = [(key, key) for key in keys]
