"""Accounts pages: register and confirm, log in and out, reset and change the password, the account
page, and accepting invitations. Logic lives in ``app.services.accounts``; views validate, call,
commit and answer.

Pages that could tell a visitor whether a login is registered (register, resend confirmation,
reset request, login) give the same answer either way. POSTs to them are rate-limited per IP and
per login typed, so spreading attempts over many addresses does not help against one account.
"""

from __future__ import annotations

import hashlib

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_user, logout_user
from sqlalchemy.exc import IntegrityError

from app.blueprints.auth import bp
from app.blueprints.auth.forms import (
    LANGUAGE_NAMES,
    MAX_LOGIN_LENGTH,
    ChangePasswordForm,
    InvitationSignupForm,
    LoginForm,
    LoginOnlyForm,
    ProfileForm,
    RegisterForm,
    ResetPasswordForm,
)
from app.extensions import db, limiter
from app.models.invitation import InvitationKind
from app.security import login_required, public, safe_next_url
from app.services import accounts, invitations
from app.services.identifiers import parse_login
from app.services.passwords import MIN_PASSWORD_LENGTH


@bp.context_processor
def _template_values() -> dict:
    return {"min_password_length": MIN_PASSWORD_LENGTH, "language_names": LANGUAGE_NAMES}


# Rate limits ------------------------------------------------------------------------------------


def _setting(name: str):
    """Limits are read on every request, so an operator (or a test) can change them in the config."""
    return lambda: current_app.config[name]


def _typed_login_key() -> str:
    """The login typed in the form, normalised, so ``+84 912…`` and ``0912…`` share one counter."""
    raw = (request.form.get("login") or "")[: MAX_LOGIN_LENGTH + 16]
    parsed = parse_login(raw)
    if parsed is not None:
        return f"{parsed[0]}:{parsed[1]}"
    return "text:" + hashlib.sha256(raw.strip().lower().encode()).hexdigest()


def _user_key() -> str:
    return f"user:{current_user.id}" if current_user.is_authenticated else get_remote_address()


def _per_ip(setting: str):
    return limiter.limit(_setting(setting), key_func=get_remote_address, methods=["POST"], scope="ip")


def _per_login(setting: str):
    return limiter.limit(_setting(setting), key_func=_typed_login_key, methods=["POST"], scope="login")


def _per_user(setting: str):
    return limiter.limit(_setting(setting), key_func=_user_key, methods=["POST"], scope="user")


# Helpers ----------------------------------------------------------------------------------------


def _ip() -> str | None:
    return request.remote_addr


def _status() -> int:
    """A form shown again after a POST had errors; a first GET is fine."""
    return 400 if request.method == "POST" else 200


def _display_login(raw: str) -> str:
    """The address a message went to, as people write it (``0912 345 678``)."""
    parsed = parse_login(raw)
    if parsed is None:
        return raw
    kind, value = parsed
    return value if kind == "email" else f"{value[:4]} {value[4:7]} {value[7:]}"


def _messages_sent(raw_login: str, purpose: str):
    """The one answer for a login that may or may not be registered."""
    parsed = parse_login(raw_login)
    channel = parsed[0] if parsed else "email"
    return render_template("auth/check_messages.html", purpose=purpose, channel=channel,
                           destination=_display_login(raw_login))


def _link_problem(purpose: str, problem: accounts.LinkProblem):
    form = LoginOnlyForm(formdata=None)
    return render_template("auth/link_problem.html", purpose=purpose, problem=problem.value, form=form), 400


def _start_session(user, remember: bool = False) -> None:
    """Log ``user`` in on a fresh session: nothing from before (a CSRF token or any value an attacker planted
    in a cookie they gave the victim) carries over into the logged-in session; only the chosen language does."""
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale
    login_user(user, remember=remember)


def _stay_logged_in(user) -> None:
    """After the session token rotated, log this browser in again (keeping remember-me if it had it)."""
    remembered = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies
    _start_session(user, remember=remembered)


def _me():
    return current_user._get_current_object()


# Register and confirm ---------------------------------------------------------------------------


@bp.route("/register", methods=["GET", "POST"])
@public
@_per_ip("RATELIMIT_SENSITIVE")
@_per_login("RATELIMIT_SENSITIVE")
def register():
    """Sign up as a business owner; the answer is the same whether or not the login is taken."""
    if current_user.is_authenticated:
        flash(_("You are already logged in."), "info")
        return redirect(url_for("main.index"))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            accounts.register(full_name=form.full_name.data, raw_login=form.login.data,
                              password=form.password.data, locale=str(get_locale()), ip=_ip())
            db.session.commit()
        except IntegrityError:
            # The same login registered a moment ago by a concurrent request: same answer.
            db.session.rollback()
        return _messages_sent(form.login.data, "register")
    return render_template("auth/register.html", form=form), _status()


@bp.route("/confirm/<token>")
@public
def confirm(token: str):
    """The link from the confirmation message: activates the account and logs it in."""
    try:
        user, outcome = accounts.confirm_account(token, ip=_ip())
    except accounts.LinkError as error:
        return _link_problem("confirm", error.problem)
    if outcome is accounts.ConfirmOutcome.CONFIRMED:
        db.session.commit()
        _start_session(user)
        flash(_("Your account is confirmed. Welcome!"), "success")
        return redirect(url_for("main.index"))
    if current_user.is_authenticated and current_user.id == user.id:
        flash(_("Your account is already confirmed."), "info")
        return redirect(url_for("main.index"))
    flash(_("Your account is already confirmed. Please log in."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/confirm", methods=["GET", "POST"])
@public
@_per_ip("RATELIMIT_SENSITIVE")
@_per_login("RATELIMIT_SENSITIVE")
def resend_confirmation():
    """Ask for a new confirmation link (same answer for every login)."""
    form = LoginOnlyForm()
    if form.validate_on_submit():
        accounts.resend_confirmation(form.login.data)
        db.session.commit()
        return _messages_sent(form.login.data, "confirm")
    return render_template("auth/resend.html", form=form), _status()


# Log in and out ---------------------------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
@public
@_per_ip("RATELIMIT_LOGIN_PER_IP")
@_per_login("RATELIMIT_LOGIN_PER_ACCOUNT")
def login():
    """Log in with an e-mail address or mobile number; one message for every kind of failure."""
    if current_user.is_authenticated and request.method == "GET":
        return redirect(safe_next_url(request.args.get("next")))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    unconfirmed = False
    if form.validate_on_submit():
        attempt = accounts.authenticate(form.login.data, form.password.data)
        if attempt.ok:
            accounts.record_login(attempt.user, form.password.data, ip=_ip())
            db.session.commit()
            _start_session(attempt.user, remember=form.remember.data)
            return redirect(safe_next_url(form.next.data))
        if attempt.problem is accounts.LoginProblem.UNCONFIRMED:
            unconfirmed = True
            form.form_errors.append(
                _("Your account is not confirmed yet. Open the link we sent you, or ask for a new one.")
            )
        else:
            current_app.logger.info("Failed login for %s from %s", _typed_login_key(), _ip())
            form.form_errors.append(_("The login or password is incorrect."))
    return render_template("auth/login.html", form=form, unconfirmed=unconfirmed), _status()


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """End this browser's session (other devices stay logged in)."""
    logout_user()
    flash(_("You have logged out."), "success")
    return redirect(url_for("main.index"))


# Password reset ---------------------------------------------------------------------------------


@bp.route("/reset", methods=["GET", "POST"])
@public
@_per_ip("RATELIMIT_SENSITIVE")
@_per_login("RATELIMIT_SENSITIVE")
def reset_request():
    """Ask for a password-reset link (same answer for every login)."""
    form = LoginOnlyForm()
    if form.validate_on_submit():
        accounts.request_password_reset(form.login.data)
        db.session.commit()
        return _messages_sent(form.login.data, "reset")
    return render_template("auth/reset_request.html", form=form), _status()


@bp.route("/reset/<token>", methods=["GET", "POST"])
@public
def reset_password(token: str):
    """The link from the reset message: set a new password, end every session, log in here."""
    try:
        user = accounts.user_for_reset_token(token)
    except accounts.LinkError as error:
        return _link_problem("reset", error.problem)
    form = ResetPasswordForm(logins=(user.email, user.phone))
    if form.validate_on_submit():
        accounts.reset_password(user, form.password.data, ip=_ip())
        db.session.commit()
        _start_session(user)
        flash(_("Your new password is saved and you are logged in. All other sessions have ended."), "success")
        return redirect(url_for("main.index"))
    return render_template("auth/reset.html", form=form, user=user), _status()


# The account page -------------------------------------------------------------------------------


def _account_page(profile_form=None, password_form=None, status: int = 200):
    user = _me()
    if profile_form is None:
        profile_form = ProfileForm(formdata=None, obj=user)
    if password_form is None:
        password_form = ChangePasswordForm(formdata=None)
    return render_template("auth/account.html", user=user, profile_form=profile_form,
                           password_form=password_form), status


@bp.route("/account")
@login_required
def account():
    """Name, login, roles and language; change the password; log out everywhere."""
    return _account_page()


@bp.route("/account/profile", methods=["POST"])
@login_required
def update_profile():
    """Save the display name and preferred language."""
    form = ProfileForm()
    if not form.validate_on_submit():
        return _account_page(profile_form=form, status=400)
    user = _me()
    if accounts.update_profile(user, full_name=form.full_name.data, locale=form.locale.data, ip=_ip()):
        db.session.commit()
    session["locale"] = form.locale.data
    flash(_("Your details are saved."), "success")
    return redirect(url_for("auth.account"))


@bp.route("/account/password", methods=["POST"])
@login_required
@_per_user("RATELIMIT_SENSITIVE")
def change_password():
    """Change the password (the current one is needed); other sessions end, this one stays."""
    user = _me()
    form = ChangePasswordForm(logins=(user.email, user.phone))
    if form.validate_on_submit():
        if accounts.change_password(user, form.current_password.data, form.new_password.data, ip=_ip()):
            db.session.commit()
            _stay_logged_in(user)
            flash(_("Your password is changed. You are still logged in here; other sessions have ended."),
                  "success")
            return redirect(url_for("auth.account"))
        form.current_password.errors.append(_("The current password is not correct."))
    return _account_page(password_form=form, status=400)


@bp.route("/account/sessions", methods=["POST"])
@login_required
def logout_everywhere():
    """End every other session and remember-me cookie, e.g. after using a shared computer."""
    user = _me()
    accounts.log_out_everywhere(user, ip=_ip())
    db.session.commit()
    _stay_logged_in(user)
    flash(_("All your other sessions have ended. You are still logged in here."), "success")
    return redirect(url_for("auth.account"))


# Invitations ------------------------------------------------------------------------------------


def _invitation_or_problem(token: str):
    """The open invitation behind a link, or the page that explains why it cannot be used."""
    invitation = invitations.find_by_token(token)
    if invitation is None:
        return None, (render_template("auth/invitation_problem.html", reason="unknown"), 404)
    if not invitation.is_open():
        reason = "accepted" if invitation.accepted_at else "revoked" if invitation.revoked_at else "expired"
        return None, (render_template("auth/invitation_problem.html", reason=reason), 400)
    return invitation, None


def _after_acceptance(invitation):
    if invitation.kind is InvitationKind.MEMBER:
        flash(_("Welcome! You are now a member of %(name)s.", name=invitation.organisation.name), "success")
        return redirect(url_for("organisations.detail", org_id=invitation.organisation_id))
    flash(_("Welcome! Your staff roles are active."), "success")
    return redirect(url_for("main.index"))


def _invitation_page(invitation, token: str, signup_form=None, status: int = 200):
    if signup_form is None:
        signup_form = InvitationSignupForm(formdata=None)
    same_person = current_user.is_authenticated and (
        (invitation.email is not None and current_user.email == invitation.email)
        or (invitation.phone is not None and current_user.phone == invitation.phone)
    )
    return render_template(
        "auth/invitation.html", invitation=invitation, token=token, offer=accounts.invitation_offer(invitation),
        signup_form=signup_form, address=_display_login(invitation.email or invitation.phone or ""),
        same_person=same_person,
    ), status


@bp.route("/invitations/<token>")
@public
def invitation(token: str):
    """What the invitation offers; accept it (logged in) or create the invited account."""
    found, problem = _invitation_or_problem(token)
    if problem:
        return problem
    return _invitation_page(found, token)


@bp.route("/invitations/<token>/accept", methods=["POST"])
@login_required
def accept_invitation(token: str):
    """Accept as the logged-in user, whatever address the invitation went to (the audit says who)."""
    found, problem = _invitation_or_problem(token)
    if problem:
        return problem
    try:
        invitations.accept(found, _me(), ip=_ip())
        db.session.commit()
    except (invitations.InvitationError, IntegrityError):
        db.session.rollback()
        return render_template("auth/invitation_problem.html", reason="accepted"), 400
    return _after_acceptance(found)


@bp.route("/invitations/<token>/signup", methods=["POST"])
@public
def invitation_signup(token: str):
    """Create the invited person's account (confirmed by the link itself) and accept at once."""
    if current_user.is_authenticated:
        return redirect(url_for("auth.invitation", token=token))
    found, problem = _invitation_or_problem(token)
    if problem:
        return problem
    form = InvitationSignupForm(logins=(found.email, found.phone))
    if not form.validate_on_submit():
        return _invitation_page(found, token, form, 400)
    exists_message = _("An account with this address already exists. Log in to accept the invitation.")
    try:
        user = accounts.register_from_invitation(found, full_name=form.full_name.data, password=form.password.data,
                                                 locale=str(get_locale()), ip=_ip())
        db.session.commit()
    except (accounts.InvitationSignupError, IntegrityError):
        db.session.rollback()
        form.form_errors.append(exists_message)
        return _invitation_page(found, token, form, 400)
    _start_session(user)
    return _after_acceptance(found)
