"""Forms of the action plan pages: an item's owner, date and status, and the business's own items."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from app.blueprints.catalogue.forms import LONG_TEXT, DateTextField, multi_line, one_line
from app.blueprints.organisations.forms import clean_text
from app.models.plan import ItemStatus
from app.services.plans import MAX_ACTION_LENGTH, MAX_OWNER_LENGTH


def status_choices():
    return [(status.value, status.label) for status in ItemStatus]


class ItemForm(FlaskForm):
    """Owner, due date and status of an item; the words too when it is the business's own item."""

    action = TextAreaField(
        _l("What to do"),
        validators=[DataRequired(message=_l("Describe what to do.")),
                    Length(max=MAX_ACTION_LENGTH, message=_l("Please keep it to %(max)s characters or fewer.")),
                    multi_line],
        render_kw={"rows": 3, "maxlength": MAX_ACTION_LENGTH}, **LONG_TEXT,
    )
    owner = StringField(
        _l("Who takes care of it"), filters=[clean_text],
        validators=[Length(max=MAX_OWNER_LENGTH, message=_l("Please keep it to %(max)s characters or fewer.")),
                    one_line],
        render_kw={"maxlength": MAX_OWNER_LENGTH, "list": "owner-roles", "autocomplete": "off"},
    )
    due_on = DateTextField(_l("Due date (optional)"), render_kw={"inputmode": "numeric", "placeholder": "31/12/2026"})
    status = SelectField(_l("Status"), choices=status_choices, default=ItemStatus.TODO.value,
                         validate_choice=True)

    def __init__(self, *args, own: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if not own:
            # A generated item keeps the words of its rule (shown in each reader's language).
            del self.action


class NewItemForm(ItemForm):
    """An item the business adds itself, under a pillar and a phase."""

    pillar = SelectField(_l("Area"), validate_choice=True)
    phase = SelectField(_l("When"), validate_choice=True)

    def __init__(self, *args, pillars=(), phases=(), **kwargs):
        super().__init__(*args, own=True, **kwargs)
        self.pillar.choices = list(pillars)
        self.phase.choices = list(phases)


class StatusForm(FlaskForm):
    """The plan page's quick buttons: start, done, back to do."""

    status = SelectField(choices=status_choices, validate_choice=True)


class ConfirmForm(FlaskForm):
    """A button that changes state (create the plan, delete an own item): only the CSRF token."""
