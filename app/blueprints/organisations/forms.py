"""Forms for organisation profiles and members. Every message is translated; WTForms' own English
defaults are never shown (they have no Vietnamese catalogue)."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField, SubmitField
from wtforms.validators import Length, Optional, ValidationError

from app.models.organisation import MemberRole, OrganisationKind
from app.services import geo, identifiers, sectors
from app.services.organisations import TaxCodeError, check_tax_code

#: Largest amount accepted (10^17 đồng): far above any real figure, far below BigInteger's limit.
MAX_VND = 10**17
MAX_EMPLOYEES = 1_000_000
MIN_FOUNDED_YEAR = 1900

_SEPARATORS = " .,\u00a0\u202f\u2009"
_CURRENCY_RE = re.compile(r"\s*(₫|đ|đồng|vnd|vnđ)\s*$", re.IGNORECASE)
_GROUPED_RE = re.compile(r"^[0-9]{1,3}(?:[ .,\u00a0\u202f\u2009][0-9]{3})*$")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def clean_text(value):
    """Strip, compose Vietnamese letters (NFC) and treat an empty string as no answer."""
    if not isinstance(value, str):
        return value
    return unicodedata.normalize("NFC", value).strip()


def no_control_characters(_form, field):
    if isinstance(field.data, str) and _CONTROL_RE.search(field.data):
        raise ValidationError(_l("Remove the special (control) characters from this field."))


def parse_whole_number(text: str) -> int:
    """``1.500.000``, ``1 500 000``, ``1,500,000`` or ``1500000`` → 1500000; ValueError otherwise."""
    text = text.strip()
    if text.startswith(("-", "\u2212")):
        raise ValueError("negative")
    if not text.isascii() and not all(char.isascii() or char in _SEPARATORS for char in text):
        raise ValueError("characters")
    if text.isdigit():
        digits = text
    elif _GROUPED_RE.match(text):
        digits = "".join(char for char in text if char.isdigit())
    else:
        raise ValueError("characters")
    if len(digits.lstrip("0")) > 18:
        raise ValueError("too_large")
    return int(digits)


class WholeNumberField(StringField):
    """A whole number typed the way people write it (dots or spaces between thousands), with bounds."""

    messages = {
        "characters": _l("Enter a whole number using digits, e.g. 25."),
        "negative": _l("The number cannot be negative."),
        "too_large": _l("That number is too large."),
    }

    def __init__(self, label=None, validators=None, minimum: int = 0, maximum: int | None = None,
                 range_message=None, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.minimum, self.maximum, self.range_message = minimum, maximum, range_message

    def process_formdata(self, valuelist):
        self.data = None
        if not valuelist or not (valuelist[0] or "").strip():
            return
        raw = self.strip_suffix(valuelist[0])
        try:
            self.data = parse_whole_number(raw)
        except ValueError as error:
            raise ValueError(self.messages.get(str(error), self.messages["characters"])) from None

    def pre_validate(self, form):
        """Bounds are checked here, after the form may have adjusted them (e.g. to this year)."""
        if self.data is None:
            return
        if self.data < self.minimum or (self.maximum is not None and self.data > self.maximum):
            raise ValidationError(self.range_message or self.messages["too_large"])

    def strip_suffix(self, raw: str) -> str:
        return raw

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else str(self.data)


class VNDField(WholeNumberField):
    """An amount in đồng: accepts ``1.500.000``, ``1 500 000``, ``1500000`` and a trailing ``đ``/``VND``."""

    messages = {
        "characters": _l("Enter the amount in đồng using digits, e.g. 1.500.000."),
        "negative": _l("The amount cannot be negative."),
        "too_large": _l("That amount is too large. Enter it in đồng, e.g. 1.500.000.000."),
    }

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, minimum=0, maximum=MAX_VND, **kwargs)

    def strip_suffix(self, raw: str) -> str:
        return _CURRENCY_RE.sub("", raw)

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else f"{self.data:,}".replace(",", ".")


class ChoiceField(SelectField):
    """A select whose "not in the list" message is translated; an empty value passes unless required."""

    def __init__(self, label=None, validators=None, required_message=None, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.required_message = required_message

    def pre_validate(self, form):
        allowed = {str(choice.value) for choice in (self.choices or [])}
        if not self.data and self.required_message:
            raise ValidationError(self.required_message)
        if self.data and self.data not in allowed:
            raise ValidationError(_l("Choose an option from the list."))


def _phone(_form, field):
    if not field.data:
        field.data = None
        return
    value = re.sub(r"[\s.\-()]", "", field.data)
    if value.startswith("+84"):
        value = "0" + value[3:]
    if not re.fullmatch(r"0[0-9]{9,10}", value):
        raise ValidationError(_l("Enter a phone number, e.g. 0912 345 678 or 0255 3822 123."))
    field.data = value


def optional_email(_form, field):
    """Blank becomes None; otherwise a valid e-mail address, lower-cased."""
    if not field.data:
        field.data = None
        return
    email = identifiers.normalise_email(field.data)
    if email is None:
        raise ValidationError(_l("Enter a valid e-mail address, e.g. name@example.com."))
    field.data = email


def optional_website(_form, field):
    """Blank becomes None; otherwise an http(s) address with a dotted host (``https://`` added if missing)."""
    if not field.data:
        field.data = None
        return
    value = field.data
    if "://" not in value:
        value = "https://" + value
    try:
        parts = urlsplit(value)
        host = parts.hostname or ""
    except ValueError:
        parts, host = None, ""
    if (parts is None or parts.scheme not in ("http", "https") or "." not in host or any(c.isspace() for c in value)
            or len(value) > 255):
        raise ValidationError(_l("Enter a web address, e.g. www.example.vn."))
    field.data = value


def _tax_code_for(kind: OrganisationKind):
    """Check the tax code in the form, so its message shows with the others (uniqueness is the service's)."""

    def check(_form, field):
        try:
            field.data = check_tax_code(field.data, kind)
        except TaxCodeError as error:
            raise ValidationError(error.message) from None

    return check


def _options(placeholder, pairs) -> list[SelectChoice]:
    """A placeholder with an empty value, then the ``(value, label)`` pairs."""
    return [SelectChoice("", placeholder), *(SelectChoice(value, label) for value, label in pairs)]


def _required(message):
    def check(_form, field):
        if not field.data:
            raise ValidationError(message)

    return check


TEXT = {"filters": [clean_text]}
COMMUNE_HINT = _l("Some support programmes are only for certain communes; leave it empty only if you are not sure.")


class EnterpriseForm(FlaskForm):
    """Full profile of an enterprise or cooperative."""

    name = StringField(_l("Registered name"), [_required(_l("Enter the name of the organisation.")),
                                               Length(max=200, message=_l("At most %(max)d characters.")),
                                               no_control_characters],
                       description=_l("As on the registration certificate."), **TEXT)
    tax_code = StringField(_l("Tax code (MST)"), [Length(max=32, message=_l("At most %(max)d characters.")),
                                                  no_control_characters, _tax_code_for(OrganisationKind.ENTERPRISE)],
                           description=_l("10 digits, e.g. 0100109106. A branch adds its number: 0100109106-001."),
                           **TEXT)
    sector = ChoiceField(_l("Main sector (VSIC 2018)"), required_message=_l("Choose the main sector."),
                         description=_l("The sector of your main business line."))
    commune_code = ChoiceField(_l("Commune, ward or special zone"), description=COMMUNE_HINT)
    address = StringField(_l("Street address"), [Length(max=255, message=_l("At most %(max)d characters.")),
                                                 no_control_characters],
                          description=_l("House number, street, village or residential group."), **TEXT)
    employees = WholeNumberField(_l("Number of employees"), maximum=MAX_EMPLOYEES,
                                 range_message=_l("Enter a number from 0 to 1.000.000."),
                                 description=_l("Average number of employees with social insurance last year."))
    annual_revenue_vnd = VNDField(_l("Annual revenue (VND)"),
                                  description=_l("Total revenue last year in đồng, e.g. 1.500.000.000."))
    capital_vnd = VNDField(_l("Total capital (VND)"),
                           description=_l("Total capital on last year's balance sheet, in đồng."))
    founded_year = WholeNumberField(_l("Year founded"), minimum=MIN_FOUNDED_YEAR, maximum=9999)
    contact_name = StringField(_l("Contact person"), [Length(max=120, message=_l("At most %(max)d characters.")),
                                                      no_control_characters], **TEXT)
    contact_phone = StringField(_l("Contact phone"), [Optional(), no_control_characters, _phone], **TEXT)
    contact_email = StringField(_l("Contact e-mail"), [Optional(), no_control_characters, optional_email], **TEXT)
    website = StringField(_l("Website"), [Optional(), no_control_characters, optional_website],
                          description=_l("For example www.example.vn"), **TEXT)
    submit = SubmitField(_l("Save"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sector.choices = _options(_l("— Choose the main sector —"), sectors.choices())
        self.commune_code.choices = _options(_l("— Not specified —"), geo.choices())
        this_year = date.today().year
        self.founded_year.maximum = this_year
        self.founded_year.range_message = _l("Enter a year from %(first)d to %(last)d.",
                                             first=MIN_FOUNDED_YEAR, last=this_year)


class HouseholdForm(FlaskForm):
    """The short profile of a household business, in plain words."""

    name = StringField(_l("Business name"), [_required(_l("Enter the name of your business.")),
                                             Length(max=200, message=_l("At most %(max)d characters.")),
                                             no_control_characters],
                       description=_l("The name on your signboard, e.g. Tạp hóa Cô Ba."), **TEXT)
    tax_code = StringField(_l("Owner's ID number (CCCD) or tax code"),
                           [Length(max=32, message=_l("At most %(max)d characters.")), no_control_characters,
                            _tax_code_for(OrganisationKind.HOUSEHOLD_BUSINESS)],
                           description=_l("The owner's 12-digit citizen ID, or a 10-digit tax code. "
                                          "You can leave it empty."), **TEXT)
    sector = ChoiceField(_l("What do you sell or do?"), required_message=_l("Choose what your business does."),
                         description=_l("Choose what brings in most of the money."))
    commune_code = ChoiceField(_l("Commune or ward"), description=COMMUNE_HINT)
    employees = WholeNumberField(_l("Number of workers, including you"), maximum=MAX_EMPLOYEES,
                                 range_message=_l("Enter a number from 0 to 1.000.000."),
                                 description=_l("Count family members who work in the business too."))
    annual_revenue_vnd = VNDField(_l("Sales in a year (VND)"),
                                  description=_l("A rough figure is fine, e.g. 300.000.000."))
    submit = SubmitField(_l("Save"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sector.choices = _options(_l("— Choose —"), sectors.choices(plain=True))
        self.commune_code.choices = _options(_l("— Not specified —"), geo.choices())


class InviteForm(FlaskForm):
    """Invite someone to the organisation by e-mail or mobile number."""

    contact = StringField(_l("E-mail address or mobile number"),
                          [_required(_l("Enter an e-mail address or a mobile number.")),
                           Length(max=254, message=_l("At most %(max)d characters.")), no_control_characters],
                          **TEXT)
    member_role = ChoiceField(
        _l("Role"), required_message=_l("Choose a role."), default=MemberRole.MEMBER.value,
        choices=[SelectChoice(MemberRole.MEMBER.value, _l("Member: can see and edit the profile")),
                 SelectChoice(MemberRole.OWNER.value, _l("Owner: can also manage members"))],
    )
    submit = SubmitField(_l("Send invitation"))


class ConfirmForm(FlaskForm):
    """A button that changes something (remove, revoke, leave): a POST with its CSRF token."""

    submit = SubmitField(_l("Confirm"))


def profile_form_class(kind):
    """The form for an organisation kind."""
    return HouseholdForm if OrganisationKind(kind) is OrganisationKind.HOUSEHOLD_BUSINESS else EnterpriseForm
