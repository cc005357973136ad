"""Forms of the business's application pages. Files are read from ``request.files`` by the view (one
multiple-file input per document code); every other value goes through these forms. Messages are
translated; amounts accept ``50.000.000``, ``50 000 000`` or ``50,000,000``.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, RadioField, SelectChoice, StringField, SubmitField, TextAreaField
from wtforms.validators import Length, ValidationError

from app.blueprints.organisations.forms import ChoiceField, VNDField, clean_text, no_control_characters
from app.services import applications

#: Name of the file input of a document code (``document-QUOTE``); several files per input are allowed.
FILE_FIELD_PREFIX = "document-"
#: What the file inputs suggest to the browser (the server decides by the content anyway).
ACCEPT = ".pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png"


def file_field_name(code: str) -> str:
    return f"{FILE_FIELD_PREFIX}{code}"


def _newlines(value):
    return value.replace("\r\n", "\n").replace("\r", "\n") if isinstance(value, str) else value


def _max(limit: int) -> Length:
    return Length(max=limit, message=_l("At most %(max)d characters."))


def _text_control_characters(_form, field):
    """Line breaks and tabs are fine in long texts; other control characters are not."""
    if isinstance(field.data, str) and any((ord(c) < 32 and c not in "\n\t") or 127 <= ord(c) < 160
                                           for c in field.data):
        raise ValidationError(_l("Remove the special (control) characters from this field."))


class VersionedForm(FlaskForm):
    """Every change carries the version of the application the page showed (``this changed meanwhile``)."""

    version = HiddenField()


class DraftForm(VersionedForm):
    """The application itself, while it is a draft: everything optional until it is sent."""

    project_title = StringField(_l("Project name"), filters=[clean_text],
                                validators=[_max(applications.MAX_TITLE_LENGTH), no_control_characters])
    project_description = TextAreaField(
        _l("What will you do with the support?"), filters=[clean_text, _newlines],
        validators=[_max(applications.MAX_DESCRIPTION_LENGTH), _text_control_characters])
    planned_cost_vnd = VNDField(_l("Planned cost of the project (đồng)"))
    requested_vnd = VNDField(_l("Amount you ask for (đồng)"))
    partner_id = ChoiceField(_l("IT partner (optional)"))
    declarations_accepted = BooleanField(_l("I confirm that the information is true and that this project does "
                                            "not receive money from another state programme for the same costs."))
    save = SubmitField(_l("Save draft"))
    send = SubmitField(_l("Send application"))

    def set_partner_choices(self, partners) -> None:
        self.partner_id.choices = [SelectChoice("", _l("No partner yet / I will choose later"))] + [
            SelectChoice(str(partner.id), partner.name) for partner in partners]

    def values(self) -> dict:
        """What the service saves."""
        return {
            "project_title": self.project_title.data,
            "project_description": self.project_description.data,
            "planned_cost_vnd": self.planned_cost_vnd.data,
            "requested_vnd": self.requested_vnd.data,
            "partner_id": int(self.partner_id.data) if self.partner_id.data else None,
            "declarations_accepted": self.declarations_accepted.data,
        }


class ApplyForm(FlaskForm):
    """"Start an application" for a programme (the programme code is in the URL)."""

    submit = SubmitField(_l("Start the application"))


class ResubmitForm(VersionedForm):
    """After the reviewer asked for more: a note and the additional files."""

    note = TextAreaField(_l("Message to the reviewer (optional)"), filters=[clean_text, _newlines],
                         validators=[_max(applications.MAX_COMMENT_LENGTH), _text_control_characters])
    submit = SubmitField(_l("Send the additional documents"))


class UploadForm(VersionedForm):
    """Files added outside the draft form (the invoice and acceptance record once approved)."""

    submit = SubmitField(_l("Upload"))


class WithdrawForm(VersionedForm):
    confirm = BooleanField(_l("Yes, I want to withdraw this application. This cannot be undone."))
    submit = SubmitField(_l("Withdraw the application"))

    def validate_confirm(self, field):
        if not field.data:
            raise ValidationError(_l("Tick the box to confirm that you want to withdraw the application."))


class RemoveDocumentForm(VersionedForm):
    submit = SubmitField(_l("Remove"))


class CommentForm(FlaskForm):
    body = TextAreaField(_l("Message to the department"), filters=[clean_text, _newlines],
                         validators=[_max(applications.MAX_COMMENT_LENGTH), _text_control_characters])
    submit = SubmitField(_l("Send message"))

    def validate_body(self, field):
        if not field.data:
            raise ValidationError(_l("Write your message first."))


RATING_CHOICES = [
    SelectChoice("5", _l("5 stars – excellent")),
    SelectChoice("4", _l("4 stars – good")),
    SelectChoice("3", _l("3 stars – acceptable")),
    SelectChoice("2", _l("2 stars – poor")),
    SelectChoice("1", _l("1 star – very poor")),
]


class RatingForm(VersionedForm):
    rating = RadioField(_l("How satisfied are you with the partner's work?"), choices=RATING_CHOICES,
                        validate_choice=False)
    comment = TextAreaField(_l("Comment (optional)"), filters=[clean_text, _newlines],
                            validators=[_max(applications.MAX_COMMENT_LENGTH), _text_control_characters])
    submit = SubmitField(_l("Send the rating"))

    def validate_rating(self, field):
        if field.data not in {choice.value for choice in RATING_CHOICES}:
            raise ValidationError(_l("Choose from 1 to 5 stars."))
