"""Forms of the API token pages: a new token (its system's name and scopes) and revoking one."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.fields.choices import SelectChoice as C
from wtforms.validators import DataRequired, Length, StopValidation

from app.blueprints.admin.forms import MultiCheckboxField, clean_text
from app.services.api_tokens import MAX_NAME_LENGTH, SCOPE_LABELS, SCOPES


def _at_least_one_scope(_form, field) -> None:
    # Not DataRequired: its "required" flag would mark every single checkbox as required.
    if not field.data:
        raise StopValidation(_l("Choose at least one permission."))


class TokenForm(FlaskForm):
    name = StringField(_l("System that will use the token"), filters=[clean_text],
                       validators=[DataRequired(_l("Enter the name of the system that will use the token.")),
                                   Length(max=MAX_NAME_LENGTH)])
    scopes = MultiCheckboxField(_l("Permissions"), choices=[C(scope, SCOPE_LABELS[scope]) for scope in SCOPES],
                                validators=[_at_least_one_scope])


class RevokeForm(FlaskForm):
    """Only the CSRF token: the confirmation button."""
