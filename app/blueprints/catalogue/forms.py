"""Forms of the catalogue: programme and partner editing, vetting, partner proposals and revisions, the
staff list filters and the public filters. Every message is translated (WTForms' English defaults never show).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice as C
from wtforms.validators import Length, StopValidation, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from app.blueprints.organisations.forms import VNDField, clean_text, optional_email, optional_website
from app.models.catalogue import PartnerStatus, PriceBand, Programme, ProgrammeKind
from app.models.organisation import OrganisationKind, SizeClass
from app.services import catalogue, geo, sectors
from app.services.organisations import TaxCodeError, check_tax_code

CODE_HINT = _l("2 to 40 capital letters, digits or dashes, e.g. ND80-SOLUTIONS. It cannot be changed later.")
CODE_MESSAGE = _l("A code has 2 to 40 capital letters, digits or dashes and starts with a letter or digit, "
                  "e.g. ND80-SOLUTIONS.")
TEXT = {"filters": [clean_text]}
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_IN_TEXT_RE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")
CONTROL_MESSAGE = _l("Remove the special (control) characters from this field.")


def _newlines(value):
    """Browsers send line breaks as CR LF; store plain LF (the exchange format refuses CR)."""
    return value.replace("\r\n", "\n").replace("\r", "\n") if isinstance(value, str) else value


def one_line(_form, field):
    if isinstance(field.data, str) and _CONTROL_RE.search(field.data):
        raise ValidationError(CONTROL_MESSAGE)


def multi_line(_form, field):
    if isinstance(field.data, str) and _CONTROL_IN_TEXT_RE.search(field.data):
        raise ValidationError(CONTROL_MESSAGE)


LONG_TEXT = {"filters": [clean_text, _newlines]}
MAX_DOCUMENT_ROWS = 60
EXTRA_DOCUMENT_ROWS = 3


def _locale() -> str:
    return str(get_locale() or "vi")


def _max(limit: int) -> Length:
    return Length(max=limit, message=_l("At most %(max)d characters."))


def _required(message):
    def check(_form, field):
        if not field.data:
            raise StopValidation(message)

    return check


def _upper(value):
    return value.upper() if isinstance(value, str) else value


def _code(_form, field):
    if field.data and not catalogue.CODE_RE.match(field.data):
        raise ValidationError(CODE_MESSAGE)


class MultiCheckboxField(SelectMultipleField):
    """A group of checkboxes, one per choice; a value not in the list gets a translated message."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("invalid_choice_message", _l("Choose from the list."))
        super().__init__(label, validators, **kwargs)


class OneOf(SelectField):
    """A select whose "not in the list" message is translated; empty passes unless ``required_message``."""

    def __init__(self, label=None, validators=None, required_message=None, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.required_message = required_message

    def pre_validate(self, form):
        allowed = {str(choice.value) for choice in (self.choices or [])}
        if not self.data and self.required_message:
            raise StopValidation(self.required_message)
        if self.data and self.data not in allowed:
            raise StopValidation(_l("Choose an option from the list."))


def _at_least_one(message):
    def check(_form, field):
        if not field.data:
            raise StopValidation(message)

    return check


class PercentField(StringField):
    """A percentage typed as ``50``, ``50%`` or ``12,5``; ``data`` is a Decimal from 0 to 100."""

    def process_formdata(self, valuelist):
        self.data = None
        raw = (valuelist[0] if valuelist else "") or ""
        text = raw.strip().removesuffix("%").strip().replace(",", ".")
        if not text:
            return
        if not re.fullmatch(r"[0-9]{1,3}(\.[0-9]{1,2})?", text):
            raise ValueError(_("Enter the rate as a percentage, e.g. 50 or 12,5."))
        try:
            self.data = Decimal(text)
        except InvalidOperation:
            raise ValueError(_("Enter the rate as a percentage, e.g. 50 or 12,5.")) from None

    def pre_validate(self, form):
        if self.data is not None and not Decimal(0) < self.data <= Decimal(100):
            raise StopValidation(_l("The support rate is more than 0% and at most 100%."))

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        if self.data is None:
            return ""
        return format(self.data.normalize(), "f").replace(".", ",")


_DMY_RE = re.compile(r"^([0-9]{1,2})[/.\-]([0-9]{1,2})[/.\-]([0-9]{4})$")
_ISO_RE = re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})$")


class DateTextField(StringField):
    """A date typed as ``31/12/2026`` (or sent as ISO ``2026-12-31`` by a date picker)."""

    def process_formdata(self, valuelist):
        self.data = None
        raw = ((valuelist[0] if valuelist else "") or "").strip()
        if not raw:
            return
        iso, dmy = _ISO_RE.match(raw), _DMY_RE.match(raw)
        try:
            if iso:
                value = dt.date(int(iso.group(1)), int(iso.group(2)), int(iso.group(3)))
            elif dmy:
                value = dt.date(int(dmy.group(3)), int(dmy.group(2)), int(dmy.group(1)))
            else:
                raise ValueError
        except ValueError:
            raise ValueError(_("Enter a date as dd/mm/yyyy, e.g. 31/12/2026.")) from None
        if not 2000 <= value.year <= 2999:
            raise ValueError(_("Enter a date between 2000 and 2999."))
        self.data = value

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return self.data.strftime("%d/%m/%Y") if self.data else ""


def _positive(_form, field):
    if field.data is not None and field.data < 1:
        raise ValidationError(_l("Enter an amount above 0, or leave it empty."))
    if field.data is not None and field.data > catalogue.MAX_VND:
        raise ValidationError(_l("That amount is too large. Enter it in đồng, e.g. 1.500.000.000."))


def _phone(_form, field):
    if not field.data:
        field.data = None
        return
    if not catalogue._phone_ok(field.data):
        raise ValidationError(_l("Enter a phone number, e.g. 0255 3 123 456."))


def _tax_code(_form, field):
    if not field.data:
        field.data = None
        return
    try:
        field.data = check_tax_code(field.data, OrganisationKind.ENTERPRISE)
    except TaxCodeError as error:
        raise ValidationError(error.message) from None


def _communes():
    return [C(code, label) for code, label in geo.choices()]


def _sectors():
    return [C(code, label) for code, label in sectors.choices(_locale())]


def _pillars():
    return [C(code, label) for code, label in catalogue.pillar_choices(_locale())]


def _categories():
    return [C(code, label) for code, label in catalogue.category_choices(_locale())]


ORG_KINDS = [C(k.value, k.label) for k in OrganisationKind]
SIZE_CLASSES = [C(s.value, s.label) for s in SizeClass]
PRICE_BANDS = [C(b.value, b.label) for b in PriceBand]


# Programmes ---------------------------------------------------------------------------------------


class DocumentRowForm(Form):
    """One required-document row; a row left blank is ignored, so blanking a row removes the document."""

    code = StringField(_l("Code"), [_max(40), one_line], filters=[clean_text, _upper])
    name_vi = StringField(_l("Name in Vietnamese"), [_max(catalogue.MAX_NAME), one_line], **TEXT)
    name_en = StringField(_l("Name in English"), [_max(catalogue.MAX_NAME), one_line], **TEXT)
    required = BooleanField(_l("Must be included"), default=True)

    def is_blank(self) -> bool:
        return not (self.code.data or self.name_vi.data or self.name_en.data)

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        if self.is_blank():
            return ok
        if not self.code.data:
            self.code.errors.append(_l("Enter the document's code, e.g. QUOTE."))
        elif not self.code.errors and not catalogue.CODE_RE.match(self.code.data):
            self.code.errors.append(CODE_MESSAGE)
        for name in (self.name_vi, self.name_en):
            if not name.data:
                name.errors.append(_l("Enter the name in both Vietnamese and English."))
        return ok and not (self.code.errors or self.name_vi.errors or self.name_en.errors)


class ProgrammeForm(FlaskForm):
    """Every field of a programme in the exchange format; ``code`` only when creating."""

    code = StringField(_l("Code"), [_required(_l("Enter the programme's code.")), _max(40), one_line,
                                    _code], filters=[clean_text, _upper], description=CODE_HINT)
    name_vi = StringField(_l("Name (Vietnamese)"), [_required(_l("Enter the name in Vietnamese.")),
                                                    _max(catalogue.MAX_NAME), one_line], **TEXT)
    name_en = StringField(_l("Name (English)"), [_required(_l("Enter the name in English.")),
                                                 _max(catalogue.MAX_NAME), one_line], **TEXT)
    sponsor_vi = StringField(_l("Sponsor (Vietnamese)"), [_required(_l("Enter the sponsor in Vietnamese.")),
                                                          _max(catalogue.MAX_NAME), one_line],
                             description=_l("Who funds or runs the programme."), **TEXT)
    sponsor_en = StringField(_l("Sponsor (English)"), [_required(_l("Enter the sponsor in English.")),
                                                       _max(catalogue.MAX_NAME), one_line], **TEXT)
    summary_vi = TextAreaField(_l("Summary (Vietnamese)"), [_required(_l("Enter the summary in Vietnamese.")),
                                                            _max(catalogue.MAX_SUMMARY), multi_line],
                               **LONG_TEXT)
    summary_en = TextAreaField(_l("Summary (English)"), [_required(_l("Enter the summary in English.")),
                                                         _max(catalogue.MAX_SUMMARY), multi_line], **LONG_TEXT)
    kind = OneOf(_l("Kind of programme"), required_message=_l("Choose the kind of programme."),
                 choices=[C("", _l("— Choose —")), *(C(k.value, k.label) for k in ProgrammeKind)])
    pillars = MultiCheckboxField(_l("Pillars it improves"), [_at_least_one(_l("Tick at least one pillar."))])
    sectors = MultiCheckboxField(_l("Sectors"), description=_l("Leave all unticked if every sector may apply."))
    org_kinds = MultiCheckboxField(_l("Kinds of organisation"), [_at_least_one(_l("Tick at least one kind."))],
                                   choices=ORG_KINDS)
    size_classes = MultiCheckboxField(_l("Size classes"), choices=SIZE_CLASSES,
                                      description=_l("Leave all unticked if every size may apply."))
    communes = MultiCheckboxField(_l("Communes and wards"),
                                  description=_l("Leave all unticked if the whole province may apply."))
    level_min = OneOf(_l("Lowest maturity level"), required_message=_l("Choose the lowest level."), default="0")
    level_max = OneOf(_l("Highest maturity level"), required_message=_l("Choose the highest level."), default="5")
    support_rate = PercentField(_l("Support rate (%)"), [_required(_l("Enter the support rate."))],
                                description=_l("Share of the eligible cost paid, e.g. 50 for half."))
    cap_micro = VNDField(_l("Cap for micro businesses (VND)"), [_positive])
    cap_small = VNDField(_l("Cap for small businesses (VND)"), [_positive])
    cap_medium = VNDField(_l("Cap for medium businesses (VND)"), [_positive])
    cap_large = VNDField(_l("Cap for large businesses (VND)"), [_positive])
    budget_vnd = VNDField(_l("Total budget (VND)"), [_required(_l("Enter the total budget.")), _positive])
    opens_on = DateTextField(_l("Applications open on"), [_required(_l("Enter the opening date."))],
                             description=_l("dd/mm/yyyy"))
    closes_on = DateTextField(_l("Applications close on"), [_required(_l("Enter the closing date."))],
                              description=_l("dd/mm/yyyy, inclusive"))
    documents = FieldList(FormField(DocumentRowForm), label=_l("Required documents"), max_entries=MAX_DOCUMENT_ROWS)
    submit = SubmitField(_l("Save programme"))

    def __init__(self, *args, creating: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if not creating:
            del self.code
        self.pillars.choices = _pillars()
        self.sectors.choices = _sectors()
        self.communes.choices = _communes()
        levels = [C(code, label) for code, label in catalogue.level_choices(_locale())]
        self.level_min.choices = levels
        self.level_max.choices = levels

    def add_blank_rows(self) -> None:
        """Existing documents plus a few empty rows to add new ones."""
        filled = sum(1 for entry in self.documents.entries if not entry.form.is_blank())
        while len(self.documents.entries) < min(filled + EXTRA_DOCUMENT_ROWS, MAX_DOCUMENT_ROWS):
            self.documents.append_entry()

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        if self.level_min.data and self.level_max.data and not self.level_min.errors and not self.level_max.errors \
                and int(self.level_min.data) > int(self.level_max.data):
            self.level_max.errors.append(_l("The highest level cannot be below the lowest level."))
            ok = False
        if self.opens_on.data and self.closes_on.data and self.closes_on.data < self.opens_on.data:
            self.closes_on.errors.append(_l("The closing date cannot be before the opening date."))
            ok = False
        sizes = set(self.size_classes.data or [])
        for size in SizeClass:
            cap = getattr(self, f"cap_{size.value}")
            if sizes and cap.data is not None and not cap.errors and size.value not in sizes:
                cap.errors.append(_l("This size class is not among the sizes that may apply: tick it or leave its "
                                     "cap empty."))
                ok = False
        seen = set()
        for entry in self.documents.entries:
            row = entry.form
            if row.is_blank() or row.code.errors:
                continue
            if row.code.data in seen:
                row.code.errors.append(_l("Each document needs its own code; %(code)s is used twice.",
                                          code=row.code.data))
                ok = False
            seen.add(row.code.data)
        return ok

    @property
    def errors(self):
        """Document-row errors as readable lines ("Document 2 – Code: ...") for the error summary."""
        errors = dict(super().errors)
        lines = []
        for index, entry in enumerate(self.documents.entries, start=1):
            for name, messages in entry.form.errors.items():
                for message in messages:
                    lines.append(_("Document %(number)s – %(field)s: %(message)s", number=index,
                                   field=entry.form[name].label.text, message=message))
        errors.pop("documents", None)
        if lines:
            errors["documents"] = lines
        return errors

    def to_data(self) -> dict:
        """The service's data dict (exchange-format keys)."""
        caps = {size.value: getattr(self, f"cap_{size.value}").data for size in SizeClass}
        data = {
            "name": {"vi": self.name_vi.data, "en": self.name_en.data},
            "sponsor": {"vi": self.sponsor_vi.data, "en": self.sponsor_en.data},
            "summary": {"vi": self.summary_vi.data, "en": self.summary_en.data},
            "kind": self.kind.data,
            "pillars": list(self.pillars.data or []),
            "sectors": list(self.sectors.data or []),
            "org_kinds": list(self.org_kinds.data or []),
            "size_classes": list(self.size_classes.data or []),
            "communes": list(self.communes.data or []),
            "level_min": int(self.level_min.data),
            "level_max": int(self.level_max.data),
            "support_rate": float(self.support_rate.data / 100),
            "caps_vnd": {size: cap for size, cap in caps.items() if cap is not None},
            "budget_vnd": self.budget_vnd.data,
            "opens_on": self.opens_on.data,
            "closes_on": self.closes_on.data,
            "documents": [
                {"code": row.code.data, "name": {"vi": row.name_vi.data, "en": row.name_en.data},
                 "required": bool(row.required.data)}
                for row in (entry.form for entry in self.documents.entries) if not row.is_blank()
            ],
        }
        if "code" in self:
            data["code"] = self.code.data
        return data


def programme_form_data(programme: Programme) -> dict:
    """The form's initial values from a stored programme."""
    caps = programme.caps_vnd or {}
    return {
        **{f"{key}_{lang}": (getattr(programme, key) or {}).get(lang, "")
           for key in catalogue.PROGRAMME_TEXTS for lang in catalogue.LANGUAGES},
        "kind": programme.kind.value,
        "pillars": list(programme.pillars or []),
        "sectors": list(programme.sectors or []),
        "org_kinds": list(programme.org_kinds or []),
        "size_classes": list(programme.size_classes or []),
        "communes": list(programme.communes or []),
        "level_min": str(programme.level_min),
        "level_max": str(programme.level_max),
        "support_rate": Decimal(catalogue.format_rate(programme.support_rate).replace(",", ".")),
        **{f"cap_{size.value}": caps.get(size.value) for size in SizeClass},
        "budget_vnd": programme.budget_vnd,
        "opens_on": programme.opens_on,
        "closes_on": programme.closes_on,
        "documents": [
            {"code": d.code, "name_vi": (d.name or {}).get("vi", ""), "name_en": (d.name or {}).get("en", ""),
             "required": bool(d.required)}
            for d in programme.documents
        ],
    }


# Partners -----------------------------------------------------------------------------------------


class PartnerProfileForm(FlaskForm):
    """The fields a partner may propose to change (and staff may edit)."""

    summary_vi = TextAreaField(_l("Summary (Vietnamese)"), [_required(_l("Enter the summary in Vietnamese.")),
                                                            _max(catalogue.MAX_SUMMARY), multi_line],
                               description=_l("What the company offers, in plain words."), **LONG_TEXT)
    summary_en = TextAreaField(_l("Summary (English)"), [_required(_l("Enter the summary in English.")),
                                                         _max(catalogue.MAX_SUMMARY), multi_line], **LONG_TEXT)
    website = StringField(_l("Website"), [_max(255), one_line, optional_website],
                          description=_l("For example www.example.vn"), **TEXT)
    email = StringField(_l("Contact e-mail"), [_max(254), one_line, optional_email], **TEXT)
    phone = StringField(_l("Contact phone"), [_max(30), one_line, _phone],
                        description=_l("For example 0255 3 123 456"), **TEXT)
    categories = MultiCheckboxField(_l("Solution categories"), [_at_least_one(_l("Tick at least one category."))])
    pillars = MultiCheckboxField(_l("Pillars it improves"), [_at_least_one(_l("Tick at least one pillar."))])
    sectors = MultiCheckboxField(_l("Sectors served"), description=_l("Leave all unticked if every sector."))
    org_kinds = MultiCheckboxField(_l("Kinds of organisation served"),
                                   [_at_least_one(_l("Tick at least one kind."))], choices=ORG_KINDS)
    communes = MultiCheckboxField(_l("Communes and wards served"),
                                  description=_l("Leave all unticked if the whole province."))
    price_band = OneOf(_l("Price band"), required_message=_l("Choose a price band."),
                       choices=[C("", _l("— Choose —")), *PRICE_BANDS])
    submit = SubmitField(_l("Save"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.categories.choices = _categories()
        self.pillars.choices = _pillars()
        self.sectors.choices = _sectors()
        self.communes.choices = _communes()

    def to_data(self) -> dict:
        return {
            "summary": {"vi": self.summary_vi.data, "en": self.summary_en.data},
            "website": self.website.data, "email": self.email.data, "phone": self.phone.data,
            "categories": list(self.categories.data or []), "pillars": list(self.pillars.data or []),
            "sectors": list(self.sectors.data or []), "org_kinds": list(self.org_kinds.data or []),
            "communes": list(self.communes.data or []), "price_band": self.price_band.data,
        }


class PartnerForm(PartnerProfileForm):
    """Staff edit of a partner: the profile plus code (when creating), name and tax code."""

    code = StringField(_l("Code"), [_required(_l("Enter the partner's code.")), _max(40), one_line,
                                    _code], filters=[clean_text, _upper], description=CODE_HINT)
    name = StringField(_l("Registered name"), [_required(_l("Enter the partner's name.")), _max(catalogue.MAX_NAME),
                                               one_line], **TEXT)
    tax_code = StringField(_l("Tax code (MST)"), [_max(32), one_line, _tax_code],
                           description=_l("10 digits, e.g. 0100109106."), **TEXT)
    submit = SubmitField(_l("Save partner"))

    def __init__(self, *args, creating: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if not creating:
            del self.code

    def to_data(self) -> dict:
        data = {**super().to_data(), "name": self.name.data, "tax_code": self.tax_code.data}
        if "code" in self:
            data["code"] = self.code.data
        return data


def profile_form_data(values: dict) -> dict:
    """Form values from profile data (a partner snapshot or a revision's data)."""
    summary = values.get("summary") or {}
    data = {key: values.get(key) for key in ("website", "email", "phone", "name", "tax_code")}
    data.update({key: list(values.get(key) or []) for key in ("categories", "pillars", "sectors", "org_kinds",
                                                               "communes")})
    data.update(summary_vi=summary.get("vi", ""), summary_en=summary.get("en", ""),
                price_band=str(values.get("price_band") or ""))
    return data


class StatusForm(FlaskForm):
    """A vetting change, with the reason that goes into the audit trail."""

    action = OneOf(_l("Decision"), required_message=_l("Choose the decision."))
    reason = TextAreaField(_l("Reason"), [_required(_l("Give the reason for this change.")),
                                          _max(catalogue.MAX_REASON), multi_line],
                           description=_l("Recorded in the vetting history."), **LONG_TEXT)
    submit = SubmitField(_l("Change status"))

    def __init__(self, *args, actions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.action.choices = [C(a, catalogue.ACTION_LABELS[a]) for a in actions]
        if len(self.action.choices) == 1 and not self.is_submitted():
            self.action.data = self.action.choices[0].value


class MemberForm(FlaskForm):
    email = StringField(_l("E-mail of the partner user"), [_required(_l("Enter the e-mail address.")), _max(254),
                                                           one_line], **TEXT)
    submit = SubmitField(_l("Link user"))


class ApproveForm(FlaskForm):
    note = TextAreaField(_l("Note to the partner (optional)"), [_max(catalogue.MAX_REASON), multi_line],
                         **LONG_TEXT)
    submit = SubmitField(_l("Approve and publish"))


class RejectForm(FlaskForm):
    reason = TextAreaField(_l("Why is it rejected?"), [_required(_l("Tell the partner why the proposal is rejected.")),
                                                       _max(catalogue.MAX_REASON), multi_line],
                           description=_l("The partner sees this note."), **LONG_TEXT)
    submit = SubmitField(_l("Reject"))


class ConfirmForm(FlaskForm):
    """A button that changes something (retire, restore, unlink): a POST with its CSRF token."""

    submit = SubmitField(_l("Confirm"))


# Filters (GET, no CSRF: they change nothing) --------------------------------------------------------


class SearchForm(FlaskForm):
    class Meta:
        csrf = False


class ProgrammeFilterForm(SearchForm):
    q = StringField(_l("Code or name"), [_max(100), one_line], **TEXT)
    kind = OneOf(_l("Kind"), default="",
                 choices=[C("", _l("All kinds")), *(C(k.value, k.label) for k in ProgrammeKind)])
    status = OneOf(_l("Status"), default="active",
                   choices=[C("active", _l("Active")), C("retired", _l("Retired")), C("all", _l("All"))])
    open_now = BooleanField(_l("Open for applications today"))


class PartnerFilterForm(SearchForm):
    q = StringField(_l("Name, code or tax code"), [_max(100), one_line], **TEXT)
    status = OneOf(_l("Status"), default="",
                   choices=[C("", _l("All")), *(C(s.value, s.label) for s in PartnerStatus),
                            C("retired", _l("Retired"))])
    category = OneOf(_l("Category"), default="")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.category.choices = [C("", _l("All categories")), *_categories()]


class PublicFilterForm(SearchForm):
    """The public catalogue's filters; any value outside the lists is refused with a message."""

    sector = OneOf(_l("Sector"), default="")
    kind = OneOf(_l("Kind of organisation"), default="",
                 choices=[C("", _l("All kinds")), *ORG_KINDS])
    category = OneOf(_l("Partner solution"), default="")
    pillar = OneOf(_l("Area to improve"), default="")
    page = StringField(_l("Page"), [_max(6)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sector.choices = [C("", _l("All sectors")), *_sectors()]
        self.category.choices = [C("", _l("All solutions")), *_categories()]
        self.pillar.choices = [C("", _l("All areas")), *_pillars()]

    def validate_page(self, field):
        if field.data and not (field.data.isascii() and field.data.isdigit() and 1 <= int(field.data) <= 10_000):
            raise ValidationError(_l("The page number must be a whole number from 1 to 10.000."))

    @property
    def page_number(self) -> int:
        return int(self.page.data) if self.page.data else 1

    def filters(self) -> catalogue.PublicFilters:
        return catalogue.PublicFilters(sector=self.sector.data or None, org_kind=self.kind.data or None,
                                       category=self.category.data or None, pillar=self.pillar.data or None)
