"""Forms of the main blueprint."""

from flask_wtf import FlaskForm
from wtforms import HiddenField


class LanguageForm(FlaskForm):
    """The language switch in the header: a POST with CSRF, works without JavaScript."""

    next = HiddenField()
