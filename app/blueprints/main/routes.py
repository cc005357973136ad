"""Home page, language switch and health check."""

from flask import abort, current_app, redirect, render_template, request, session
from flask_login import current_user
from sqlalchemy import text

from app.blueprints.main import bp
from app.blueprints.main.forms import LanguageForm
from app.extensions import db
from app.security import public, safe_next_url
from app.services import audit


@bp.route("/")
@public
def index():
    """Landing page for visitors; a short "what next" for logged-in users."""
    organisations = []
    if current_user.is_authenticated:
        organisations = [m.organisation for m in current_user.memberships]
    return render_template("main/index.html", organisations=organisations)


@bp.route("/language/<code>", methods=["POST"])
@public
def set_language(code: str):
    """Switch the interface language; saved on the account when logged in."""
    if code not in current_app.config["LANGUAGES"]:
        abort(404)
    form = LanguageForm()
    if not form.validate_on_submit():
        abort(400)
    session["locale"] = code
    if current_user.is_authenticated and current_user.locale != code:
        audit.record("user.locale_change", "user", current_user.id, actor=current_user,
                     before={"locale": current_user.locale}, after={"locale": code}, ip=request.remote_addr)
        current_user.locale = code
        db.session.commit()
    return redirect(safe_next_url(form.next.data))


@bp.route("/healthz")
@public
def healthz():
    """Liveness and database check for the load balancer."""
    db.session.execute(text("SELECT 1"))
    return {"status": "ok"}
