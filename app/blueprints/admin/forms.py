"""Forms of the admin area: user and organisation searches, roles, invitations, the audit filter, the
catalogue upload."""

from __future__ import annotations

import re
from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice as C
from wtforms.validators import DataRequired, Length, Optional, StopValidation, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from app.models.organisation import OrganisationKind
from app.services import geo, sectors
from app.services.identifiers import normalise_email
from app.services.staff import ASSIGNABLE_ROLES, STAFF_ROLES

_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


def clean_text(value):
    """Drop control characters (a NUL is refused by PostgreSQL) and surrounding spaces."""
    if isinstance(value, str):
        return _CONTROL_CHARS.sub("", value).strip()
    return value


class MultiCheckboxField(SelectMultipleField):
    """A group of checkboxes, one per choice."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class SearchForm(FlaskForm):
    """Base of the GET filter forms: no CSRF token (they change nothing), bookmarkable URLs."""

    class Meta:
        csrf = False


class UserSearchForm(SearchForm):
    q = StringField(_l("Name, e-mail or phone"), filters=[clean_text], validators=[Length(max=100)])
    role = SelectField(_l("Role"), default="",
                       choices=[C("", _l("Any role")), *(C(r.value, r.label) for r in ASSIGNABLE_ROLES)])
    status = SelectField(_l("Status"), default="",
                         choices=[C("", _l("Active and deactivated")), C("active", _l("Active")),
                                  C("inactive", _l("Deactivated"))])


class RolesForm(FlaskForm):
    roles = MultiCheckboxField(_l("Roles"), choices=[C(r.value, r.label) for r in ASSIGNABLE_ROLES])


def _valid_email(_form, field) -> None:
    normalised = normalise_email(field.data or "")
    if normalised is None:
        raise ValidationError(_l("Enter an e-mail address like name@example.vn."))
    field.data = normalised


def _at_least_one_role(_form, field) -> None:
    # Not DataRequired: its "required" flag would mark every single checkbox as required.
    if not field.data:
        raise StopValidation(_l("Choose at least one role."))


class InviteStaffForm(FlaskForm):
    email = StringField(_l("E-mail address"), filters=[clean_text],
                        validators=[DataRequired(_l("Enter the e-mail address of the person to invite.")),
                                    Length(max=254), _valid_email])
    roles = MultiCheckboxField(_l("Staff roles"), choices=[C(r.value, r.label) for r in STAFF_ROLES],
                               validators=[_at_least_one_role])


class InvitationFilterForm(SearchForm):
    status = SelectField(_l("Status"), default="",
                         choices=[C("", _l("All")), C("pending", _l("Pending")), C("accepted", _l("Accepted")),
                                  C("revoked", _l("Revoked")), C("expired", _l("Expired"))])


def _sensible_date(_form, field) -> None:
    if field.data is not None and not (date(2000, 1, 1) <= field.data <= date(2999, 12, 31)):
        raise ValidationError(_l("Enter a date between 2000 and 2999."))


class AuditFilterForm(SearchForm):
    action = StringField(_l("Action"), filters=[clean_text], validators=[Length(max=64)])
    actor = StringField(_l("Done by (name, e-mail or phone)"), filters=[clean_text], validators=[Length(max=100)])
    object_type = StringField(_l("Object type"), filters=[clean_text], validators=[Length(max=64)])
    object_id = StringField(_l("Object ID"), filters=[clean_text], validators=[Length(max=64)])
    date_from = DateField(_l("From date"), validators=[Optional(), _sensible_date])
    date_to = DateField(_l("To date"), validators=[Optional(), _sensible_date])

    def validate_date_to(self, field) -> None:
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_l("The end date is before the start date."))


class OrganisationSearchForm(SearchForm):
    q = StringField(_l("Name or tax code"), filters=[clean_text], validators=[Length(max=100)])
    kind = SelectField(_l("Kind"), default="",
                       choices=[C("", _l("All kinds")), *(C(k.value, k.label) for k in OrganisationKind)])
    sector = SelectField(_l("Sector"), default="")
    commune = SelectField(_l("Commune or ward"), default="")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.sector.choices = [C("", _l("All sectors")), *(C(v, label) for v, label in sectors.choices())]
        self.commune.choices = [C("", _l("All communes and wards")), *(C(v, label) for v, label in geo.choices())]


def _catalogue_file(_form, field) -> None:
    """A ``.json`` file of at most ``MAX_UPLOAD_BYTES``; its content is checked by the import itself."""
    from app.services.catalogue_io import MAX_UPLOAD_BYTES

    upload = field.data
    if not (upload.filename or "").lower().endswith(".json"):
        raise StopValidation(_l("Choose a .json file in the dxportal.catalogue/1 format."))
    upload.stream.seek(0, 2)
    size = upload.stream.tell()
    upload.stream.seek(0)
    if size > MAX_UPLOAD_BYTES:
        raise StopValidation(_l("The file is larger than %(limit)s MB.", limit=MAX_UPLOAD_BYTES // (1024 * 1024)))
    if size == 0:
        raise StopValidation(_l("The file is empty."))


class CatalogueImportForm(FlaskForm):
    file = FileField(_l("Catalogue file (JSON)"), render_kw={"accept": ".json,application/json"},
                     validators=[FileRequired(_l("Choose the catalogue file to import.")), _catalogue_file])
