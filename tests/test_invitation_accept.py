"""Accepting an invitation from its link: logged in (one click), or by creating the invited
account on the spot, which is confirmed by the link itself and gets only what the invitation grants."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, Invitation, MemberRole, Membership, Role, User
from app.models.types import utcnow
from app.services import invitations, passwords
from tests.accounts_helpers import fresh, is_logged_in, use_english
from tests.factories import DEFAULT_PASSWORD, OrganisationFactory, UserFactory

PASSWORD = "invited person passphrase"


@pytest.fixture(autouse=True)
def _english(client):
    use_english(client)


@pytest.fixture
def owner():
    return UserFactory(email="chu@example.vn", full_name="Chủ Doanh Nghiệp", locale="en")


@pytest.fixture
def admin():
    return UserFactory(email="admin@so.gov.vn", roles=[Role.ADMIN], locale="en")


def member_invitation(owner, **target):
    organisation = OrganisationFactory(owner=owner, name="Hợp tác xã Chè Tân Cương")
    invitation, token = invitations.invite_member(owner, organisation, **(target or {"email": "nv@example.vn"}))
    db.session.commit()
    return invitation, token, organisation


def staff_invitation(admin, roles=(Role.REVIEWER,), **target):
    invitation, token = invitations.invite_staff(admin, list(roles), **(target or {"email": "cb@so.gov.vn"}))
    db.session.commit()
    return invitation, token


def signup(client, token, **changes):
    data = {"full_name": "Người Được Mời", "password": PASSWORD, "password_confirm": PASSWORD, **changes}
    return client.post(f"/auth/invitations/{token}/signup", data=data)


def log_in(client, login):
    assert client.post("/auth/login", data={"login": login, "password": DEFAULT_PASSWORD}).status_code == 302


def test_anonymous_visitor_sees_the_offer_a_login_link_and_a_signup_form(client, owner):
    _invitation, token, _organisation = member_invitation(owner)

    page = client.get(f"/auth/invitations/{token}").get_data(as_text=True)

    assert "Hợp tác xã Chè Tân Cương" in page
    assert "Invited by Chủ Doanh Nghiệp." in page
    assert "nv@example.vn" in page
    assert f'href="/auth/login?next=/auth/invitations/{token}"' in page
    assert f'action="/auth/invitations/{token}/signup"' in page


def test_signup_from_a_member_invitation_creates_a_confirmed_member(client, owner, outbox):
    invitation, token, organisation = member_invitation(owner)

    response = signup(client, token)

    assert response.status_code == 302
    assert response.headers["Location"] == f"/organisations/{organisation.id}"
    assert is_logged_in(client)
    db.session.rollback()
    user = db.session.scalar(select(User).where(User.email == "nv@example.vn"))
    assert user.confirmed_at is not None
    assert user.role_names == {Role.BUSINESS}
    assert passwords.verify_password(user.password_hash, PASSWORD)
    assert user.locale == "en"
    assert organisation.member_role(user) is MemberRole.MEMBER
    assert fresh(Invitation, invitation.id).accepted_by_id == user.id
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"user.register", "invitation.accept", "organisation.member_add"} <= actions
    assert outbox == [], "no confirmation message: the invitation proved the address"


def test_signup_from_a_staff_invitation_grants_only_the_staff_roles(client, admin):
    _invitation, token = staff_invitation(admin, roles=(Role.REVIEWER, Role.APPROVER))

    response = signup(client, token)

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    db.session.rollback()
    user = db.session.scalar(select(User).where(User.email == "cb@so.gov.vn"))
    assert user.role_names == {Role.REVIEWER, Role.APPROVER}
    assert not user.memberships


def test_signup_from_a_phone_invitation_logs_in_with_the_phone(app, client, owner):
    _invitation, token, _organisation = member_invitation(owner, phone="0971234567")
    assert signup(client, token).status_code == 302
    browser = app.test_client()
    assert browser.post("/auth/login", data={"login": "+84 97 123 4567", "password": PASSWORD}).status_code == 302


def test_signup_does_not_duplicate_an_existing_account(client, owner):
    UserFactory(email="nv@example.vn", full_name="Đã Có")
    invitation, token, _organisation = member_invitation(owner)

    response = signup(client, token)

    assert response.status_code == 400
    assert "already exists. Log in to accept" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(User).where(User.email == "nv@example.vn")) == 1
    assert fresh(Invitation, invitation.id).accepted_at is None
    assert not is_logged_in(client)


def test_signup_takes_over_a_never_confirmed_account_with_that_address(client, admin):
    """A pending self-registration (perhaps by someone else) must not block or share the account."""
    pending = UserFactory(email="cb@so.gov.vn", confirmed_at=None, password_hash=passwords.hash_password("x" * 12))
    _invitation, token = staff_invitation(admin)

    assert signup(client, token).status_code == 302

    user = fresh(User, pending.id)
    assert db.session.scalar(select(func.count()).select_from(User).where(User.email == "cb@so.gov.vn")) == 1
    assert user.confirmed_at is not None
    assert passwords.verify_password(user.password_hash, PASSWORD)
    assert user.role_names == {Role.REVIEWER}


@pytest.mark.parametrize(
    ("changes", "message"),
    [({"full_name": ""}, "Enter your full name."),
     ({"password": "short", "password_confirm": "short"}, "between 10 and 256 characters"),
     ({"password_confirm": "different passphrase"}, "The two passwords are not the same."),
     ({"password": "nv@example.vn", "password_confirm": "nv@example.vn"}, "must not be your e-mail address")],
)
def test_signup_form_errors_are_shown_with_400(client, owner, changes, message):
    invitation, token, _organisation = member_invitation(owner)
    response = signup(client, token, **changes)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert fresh(Invitation, invitation.id).accepted_at is None


def test_logged_in_user_accepts_with_one_click(client, owner):
    invitation, token, organisation = member_invitation(owner)
    colleague = UserFactory(email="nv@example.vn", locale="en")
    log_in(client, "nv@example.vn")

    page = client.get(f"/auth/invitations/{token}").get_data(as_text=True)
    assert f'action="/auth/invitations/{token}/accept"' in page
    assert "You are logged in as" not in page
    response = client.post(f"/auth/invitations/{token}/accept", data={})

    assert response.status_code == 302
    assert response.headers["Location"] == f"/organisations/{organisation.id}"
    db.session.rollback()
    assert organisation.member_role(fresh(User, colleague.id)) is MemberRole.MEMBER
    assert fresh(Invitation, invitation.id).accepted_by_id == colleague.id


def test_a_user_invited_at_another_address_may_accept_and_the_audit_says_who(client, admin):
    invitation, token = staff_invitation(admin, email="work@so.gov.vn")
    private = UserFactory(email="private@example.vn", locale="en", roles=[])
    log_in(client, "private@example.vn")

    page = client.get(f"/auth/invitations/{token}").get_data(as_text=True)
    assert "You are logged in as private@example.vn" in page
    assert client.post(f"/auth/invitations/{token}/accept", data={}).headers["Location"] == "/"

    assert fresh(User, private.id).role_names == {Role.REVIEWER}
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "invitation.accept"))
    assert (event.actor_id, event.object_id) == (private.id, str(invitation.id))


def test_accepting_needs_a_login(client, owner):
    _invitation, token, _organisation = member_invitation(owner)
    response = client.post(f"/auth/invitations/{token}/accept", data={})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")
    assert db.session.scalar(select(func.count()).select_from(Membership)) == 1


def test_unknown_invitation_is_404(client):
    response = client.get("/auth/invitations/not-a-real-token")
    assert response.status_code == 404
    assert "Invitation not found" in response.get_data(as_text=True)


@pytest.mark.parametrize("state", ["accepted", "revoked", "expired"])
def test_used_revoked_or_expired_invitations_are_400(client, owner, state):
    invitation, token, _organisation = member_invitation(owner)
    if state == "accepted":
        invitations.accept(invitation, UserFactory(email="ai.do@example.vn"))
    elif state == "revoked":
        invitations.revoke(invitation, owner)
    else:
        invitation.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()

    page = client.get(f"/auth/invitations/{token}")
    signed_up = signup(client, token)

    assert page.status_code == signed_up.status_code == 400
    assert "This invitation cannot be used" in page.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(User).where(User.email == "nv@example.vn")) == 0


def test_accepting_twice_is_refused(client, owner):
    _invitation, token, _organisation = member_invitation(owner)
    UserFactory(email="nv@example.vn", locale="en")
    log_in(client, "nv@example.vn")
    assert client.post(f"/auth/invitations/{token}/accept", data={}).status_code == 302
    assert client.post(f"/auth/invitations/{token}/accept", data={}).status_code == 400
