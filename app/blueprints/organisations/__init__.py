"""The organisations blueprint."""

from flask import Blueprint

bp = Blueprint("organisations", __name__)


@bp.record_once
def _check_reference_data(state) -> None:
    """Refuse to start without the administrative units of the configured province."""
    from app.services import geo

    geo.check_configured(state.app)


from app.blueprints.organisations import routes  # noqa: E402,F401
