"""Forms of the printing pages."""

from flask_wtf import FlaskForm


class PrepareForm(FlaskForm):
    """"Prepare the PDF": a button, so only the CSRF token is checked."""
