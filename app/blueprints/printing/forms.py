"""Forms of the printing pages."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length, ValidationError

from app.services.plans import normalise_verification_code


class PrepareForm(FlaskForm):
    """"Prepare the PDF": a button, so only the CSRF token is checked."""


class VerifySearchForm(FlaskForm):
    """The code printed on a plan. A GET search that changes nothing, so it carries no CSRF token."""

    class Meta:
        csrf = False

    code = StringField(_l("Verification code"), validators=[
        DataRequired(message=_l("Enter the code printed at the bottom of each page of the plan.")),
        Length(max=32, message=_l("A code has 8 letters and digits, like K7QX-2M9P.")),
    ])

    def validate_code(self, field) -> None:
        if normalise_verification_code(field.data) is None:
            raise ValidationError(_l("A code has 8 letters and digits, like K7QX-2M9P (codes never use O, 0, I, 1 "
                                     "or L)."))

    @property
    def normalised(self) -> str | None:
        return normalise_verification_code(self.code.data)
