"""Forms of the accounts pages: every one posts with CSRF and re-renders with 400 on errors."""

from __future__ import annotations

import unicodedata

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from app.services.accounts import clean_name, password_matches_login
from app.services.identifiers import parse_login
from app.services.passwords import MIN_PASSWORD_LENGTH

#: Long enough for any passphrase, short enough that hashing it costs nothing unusual.
MAX_PASSWORD_LENGTH = 256
MAX_LOGIN_LENGTH = 254
LANGUAGE_NAMES = {"vi": "Tiếng Việt", "en": "English"}


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _no_control_characters(_form, field) -> None:
    """Names are shown on pages, in messages and in PDFs: no invisible or control characters."""
    if any(unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co", "Cn"} for ch in field.data or ""):
        raise ValidationError(_l("The name contains characters that cannot be used. Please type it again."))


def _valid_login(_form, field) -> None:
    """An e-mail address or a Vietnamese mobile number, however it is spelled."""
    if parse_login(field.data or "") is None:
        raise ValidationError(
            _l("Enter an e-mail address or a mobile number of 10 digits (for example 0912 345 678).")
        )


def _login_field(label=None):
    return StringField(
        label or _l("E-mail address or mobile number"),
        filters=[_strip],
        validators=[
            DataRequired(message=_l("Enter your e-mail address or mobile number.")),
            Length(max=MAX_LOGIN_LENGTH, message=_l("This is too long for an e-mail address or a mobile number.")),
            _valid_login,
        ],
    )


def _name_field():
    return StringField(
        _l("Full name"),
        filters=[clean_name],
        validators=[
            DataRequired(message=_l("Enter your full name.")),
            Length(max=120, message=_l("The name can have at most %(max)d characters.")),
            _no_control_characters,
        ],
    )


def _new_password_field(label):
    return PasswordField(
        label,
        validators=[
            DataRequired(message=_l("Enter a password.")),
            Length(
                min=MIN_PASSWORD_LENGTH,
                max=MAX_PASSWORD_LENGTH,
                message=_l("The password must have between %(min)d and %(max)d characters."),
            ),
        ],
    )


def _repeat_field(other: str):
    return PasswordField(
        _l("Repeat the password"),
        validators=[
            DataRequired(message=_l("Type the password a second time.")),
            EqualTo(other, message=_l("The two passwords are not the same.")),
        ],
    )


def _known_language(_form, field) -> None:
    if field.data not in current_app.config["LANGUAGES"]:
        raise ValidationError(_l("Choose one of the languages in the list."))


def _language_choices():
    return [(code, LANGUAGE_NAMES.get(code, code)) for code in current_app.config["LANGUAGES"]]


class LoginForm(FlaskForm):
    login = _login_field()
    password = PasswordField(
        _l("Password"),
        validators=[
            DataRequired(message=_l("Enter your password.")),
            Length(max=MAX_PASSWORD_LENGTH, message=_l("The login or password is incorrect.")),
        ],
    )
    remember = BooleanField(_l("Keep me logged in on this device"))
    next = HiddenField()


class RegisterForm(FlaskForm):
    full_name = _name_field()
    login = _login_field()
    password = _new_password_field(_l("Password"))
    password_confirm = _repeat_field("password")
    accept_terms = BooleanField(
        _l("I accept the terms of use and agree that the Department processes my data to provide this service."),
        validators=[DataRequired(message=_l("Please accept the terms of use to register."))],
    )

    def validate_password(self, field) -> None:
        if password_matches_login(field.data, self.login.data):
            raise ValidationError(_l("The password must not be your e-mail address or mobile number."))


class LoginOnlyForm(FlaskForm):
    """Resend a confirmation link, or ask for a password-reset link."""

    login = _login_field()


class ResetPasswordForm(FlaskForm):
    password = _new_password_field(_l("New password"))
    password_confirm = _repeat_field("password")

    def __init__(self, *args, logins: tuple[str | None, ...] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self._logins = logins

    def validate_password(self, field) -> None:
        if password_matches_login(field.data, *self._logins):
            raise ValidationError(_l("The password must not be your e-mail address or mobile number."))


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        _l("Current password"),
        validators=[
            DataRequired(message=_l("Enter your current password.")),
            Length(max=MAX_PASSWORD_LENGTH, message=_l("The current password is not correct.")),
        ],
    )
    new_password = _new_password_field(_l("New password"))
    new_password_confirm = _repeat_field("new_password")

    def __init__(self, *args, logins: tuple[str | None, ...] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self._logins = logins

    def validate_new_password(self, field) -> None:
        if password_matches_login(field.data, *self._logins):
            raise ValidationError(_l("The password must not be your e-mail address or mobile number."))


class ProfileForm(FlaskForm):
    full_name = _name_field()
    locale = SelectField(_l("Language"), validate_choice=False, validators=[_known_language])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.locale.choices = _language_choices()


class InvitationSignupForm(FlaskForm):
    full_name = _name_field()
    password = _new_password_field(_l("Password"))
    password_confirm = _repeat_field("password")

    def __init__(self, *args, logins: tuple[str | None, ...] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self._logins = logins

    def validate_password(self, field) -> None:
        if password_matches_login(field.data, *self._logins):
            raise ValidationError(_l("The password must not be your e-mail address or mobile number."))
