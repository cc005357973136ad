"""Forms of the staff review: the queue's filters, comments, assignment and one form per workflow action.

Every message is translated (WTForms' English defaults never show). The action, comment and assignment
forms carry the application's version, so a decision taken on a stale page is refused as a conflict.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice as C
from wtforms.validators import Length, StopValidation

from app.blueprints.catalogue.forms import LONG_TEXT, TEXT, OneOf, SearchForm, multi_line, one_line
from app.blueprints.organisations.forms import VNDField, WholeNumberField
from app.models.application import Visibility
from app.models.organisation import OrganisationKind
from app.services import geo, review, sectors

MAX_WAITING_DAYS = 3650


def _max(limit: int) -> Length:
    return Length(max=limit, message=_l("At most %(max)d characters."))


class QueueFilterForm(SearchForm):
    """The queue's filters and sort, read from the query string (bookmarkable, nothing changes)."""

    q = StringField(_l("Organisation name or application number"), [_max(100), one_line], **TEXT)
    state = OneOf(_l("State"), default=review.OPEN)
    programme = OneOf(_l("Programme"), default="")
    commune = OneOf(_l("Commune or ward"), default="")
    sector = OneOf(_l("Sector"), default="")
    kind = OneOf(_l("Kind of organisation"), default="",
                 choices=[C("", _l("All kinds")), *(C(k.value, k.label) for k in OrganisationKind)])
    waiting = WholeNumberField(_l("Waiting at least (days)"), minimum=1, maximum=MAX_WAITING_DAYS,
                               range_message=_l("Enter a number of days from 1 to %(max)s.", max=MAX_WAITING_DAYS))
    assigned = OneOf(_l("Reviewer"), default="",
                     choices=[C("", _l("Anyone or nobody")), C("me", _l("Assigned to me")),
                              C("unassigned", _l("Not assigned yet"))])
    sort = OneOf(_l("Sort by"), default="waiting",
                 choices=[C("waiting", _l("Waiting longest first")), C("newest", _l("Newest first")),
                          C("amount", _l("Largest amount requested first")), C("programme", _l("Programme"))])

    def __init__(self, *args, programmes: list[tuple[int, str]] = (), locale: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.state.choices = [C(review.OPEN, _l("Waiting for the department")), C(review.ALL, _l("All states")),
                              *(C(s.value, s.label) for s in review.VISIBLE_STATES)]
        self.programme.choices = [C("", _l("All programmes")), *(C(str(pid), label) for pid, label in programmes)]
        self.commune.choices = [C("", _l("All communes and wards")), *(C(v, label) for v, label in geo.choices())]
        self.sector.choices = [C("", _l("All sectors")), *(C(v, label) for v, label in sectors.choices(locale))]

    def filters(self) -> review.QueueFilters:
        """The validated values as the service's filters."""
        return review.QueueFilters(
            state=self.state.data or review.OPEN,
            programme_id=int(self.programme.data) if self.programme.data else None,
            commune=self.commune.data or None,
            sector=self.sector.data or None,
            kind=self.kind.data or None,
            waiting_days=self.waiting.data or None,
            assigned=self.assigned.data or None,
            q=self.q.data or None,
            sort=self.sort.data or "waiting",
        )


def _version(_form, field) -> None:
    if not (field.data or "").isdigit() or len(field.data) > 9:
        raise StopValidation(_l("The page is out of date. Reload it and try again."))


class VersionedForm(FlaskForm):
    #: The application's version the page showed.
    version = HiddenField(validators=[_version])

    @property
    def expected_version(self) -> int:
        return int(self.version.data)


class ActionForm(VersionedForm):
    """One workflow action; ``reason`` is required where the business must read why (checked by the workflow)."""

    reason = TextAreaField(_l("Reason or note"), [_max(review.MAX_COMMENT_LENGTH), multi_line], **LONG_TEXT)
    amount_vnd = VNDField(_l("Amount (đồng)"))


def _comment_required(_form, field) -> None:
    if not field.data:
        raise StopValidation(_l("Write your comment first."))


class Choice(RadioField):
    """Radio buttons whose "not in the list" message is translated."""

    def pre_validate(self, form):
        if self.data not in {str(choice.value) for choice in self.choices}:
            raise StopValidation(_l("Choose an option from the list."))


class CommentForm(FlaskForm):
    body = TextAreaField(_l("Comment"), [_comment_required, _max(review.MAX_COMMENT_LENGTH), multi_line],
                         **LONG_TEXT)
    visibility = Choice(_l("Who can read it"), default=Visibility.INTERNAL.value,
                        choices=[C(Visibility.INTERNAL.value, _l("Staff only")),
                                 C(Visibility.SHARED.value, _l("Staff and the business"))])


class AssignForm(VersionedForm):
    reviewer = OneOf(_l("Reviewer in charge"), default="")

    def __init__(self, *args, reviewers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.reviewer.choices = [C("", _l("Nobody")), *(C(str(user.id), user.full_name) for user in reviewers)]
