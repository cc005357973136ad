"""The dashboard's filters, read from the query string (bookmarkable; nothing changes on the server)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms.fields.choices import SelectChoice as C

from app.blueprints.catalogue.forms import OneOf, SearchForm
from app.models.organisation import OrganisationKind
from app.services import dashboard, geo, opendata, sectors


class DashboardFilterForm(SearchForm):
    """Period (from / to quarter), commune, sector and kind; an unknown value is refused with a message."""

    start = OneOf(_l("From quarter"), default="")
    end = OneOf(_l("To quarter"), default="")
    commune = OneOf(_l("Commune or ward"), default="")
    sector = OneOf(_l("Sector"), default="")
    kind = OneOf(_l("Kind of organisation"), default="",
                 choices=[C("", _l("All kinds")), *(C(k.value, k.label) for k in OrganisationKind)])

    def __init__(self, *args, today_quarter: int, locale: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        quarters = [opendata.quarter_label(key) for key in dashboard.quarter_choices(today_quarter)]
        self.start.choices = [C("", _l("From the beginning")), *(C(q, q) for q in quarters)]
        self.end.choices = [C("", _l("Until today")), *(C(q, q) for q in quarters)]
        self.commune.choices = [C("", _l("All communes and wards")), *(C(v, label) for v, label in geo.choices())]
        self.sector.choices = [C("", _l("All sectors")), *(C(v, label) for v, label in sectors.choices(locale))]

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        if self.start.data and self.end.data and self.start.data > self.end.data:
            self.end.errors.append(_l("The end quarter must not be before the start quarter."))
            return False
        return True

    def filters(self) -> dashboard.Filters:
        """The validated values as the service's filters."""
        return dashboard.Filters(
            start=opendata.parse_quarter(self.start.data) if self.start.data else None,
            end=opendata.parse_quarter(self.end.data) if self.end.data else None,
            commune=self.commune.data or None,
            sector=self.sector.data or None,
            kind=self.kind.data or None,
        )
