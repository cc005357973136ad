"""The "What do you need help with?" form of the recommendations page."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import Length

from app.services.recommendations import MAX_NEEDS_LENGTH, clean_needs


class NeedsForm(FlaskForm):
    """The business's own words; the recommender matches them against the catalogue's texts."""

    needs = TextAreaField(
        _l("What do you need help with?"),
        # Cleaned first, so a line break the browser sends as CR LF counts once, as the page counted it.
        filters=[clean_needs],
        validators=[Length(max=MAX_NEEDS_LENGTH, message=_l("Please keep it to %(max)s characters or fewer."))],
        render_kw={"rows": 4, "maxlength": MAX_NEEDS_LENGTH},
    )
