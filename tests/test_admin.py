"""The admin area: users and roles with their guards, staff invitations, the audit log, organisations."""

from __future__ import annotations

import re
import threading
import time
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from app.extensions import db
from app.models import (
    AuditEvent,
    Invitation,
    InvitationKind,
    MemberRole,
    Membership,
    Organisation,
    OrganisationKind,
    Role,
    User,
)
from app.models.types import utcnow
from app.services import invitations, staff
from tests.factories import OrganisationFactory, UserFactory


def login_as(client, user: User) -> None:
    """Log the test client in by writing the Flask-Login session (no form, no rate limit)."""
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True


@contextmanager
def count_queries():
    """Collect the SQL statements run inside the block."""
    statements: list[str] = []

    def before_cursor_execute(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", before_cursor_execute)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", before_cursor_execute)


@pytest.fixture
def admin():
    return UserFactory(roles=[Role.ADMIN], locale="en", full_name="Admin One", email="admin@so.gov.vn")


@pytest.fixture
def admin_client(client, admin):
    login_as(client, admin)
    return client


def roles_of(user_id: int) -> set[str]:
    db.session.expire_all()
    return {r.value for r in db.session.get(User, user_id).role_names}


def text_of(response) -> str:
    return response.get_data(as_text=True)


# Access -------------------------------------------------------------------------------------


def test_reviewer_gets_403_on_admin_users(client):
    login_as(client, UserFactory(roles=[Role.REVIEWER]))
    assert client.get("/admin/users").status_code == 403
    assert client.get("/admin/audit").status_code == 403
    assert client.get("/admin/invitations").status_code == 403


def test_approver_can_see_organisations_but_not_users(client):
    owner = UserFactory()
    org = OrganisationFactory(name="HTX Nông sản Sơn Tịnh", owner=owner)
    login_as(client, UserFactory(roles=[Role.APPROVER]))
    listing = client.get("/admin/organisations")
    assert listing.status_code == 200
    assert "HTX Nông sản Sơn Tịnh" in text_of(listing)
    detail = client.get(f"/admin/organisations/{org.id}")
    assert detail.status_code == 200
    assert owner.full_name in text_of(detail)
    assert client.get("/admin/users").status_code == 403


def test_business_user_cannot_see_staff_organisation_list(client):
    login_as(client, UserFactory(roles=[Role.BUSINESS]))
    assert client.get("/admin/organisations").status_code == 403


# Users list ----------------------------------------------------------------------------------


def test_user_search_by_name_email_and_phone(admin_client):
    UserFactory(full_name="Trần Thị Hoa", email="hoa@shop.vn")
    UserFactory(full_name="Lê Văn Nam", email=None, phone="0912345678")
    UserFactory(full_name="Phạm Minh", email="minh@coop.vn")
    UserFactory(full_name="Đặng Ánh", email="anh@shop.vn")

    def names(query: str) -> str:
        response = admin_client.get("/admin/users", query_string={"q": query})
        assert response.status_code == 200
        return text_of(response)

    by_name = names("Thị Hoa")
    assert "Trần Thị Hoa" in by_name and "Phạm Minh" not in by_name
    # Vietnamese capitals fold like ASCII ones, on SQLite as on PostgreSQL.
    assert "Đặng Ánh" in names("đặng ánh")
    by_email = names("coop.vn")
    assert "Phạm Minh" in by_email and "Trần Thị Hoa" not in by_email
    by_phone = names("+84 912 345 678")
    assert "Lê Văn Nam" in by_phone and "Phạm Minh" not in by_phone
    assert "Lê Văn Nam" in names("345")
    # LIKE wildcards typed by the admin are literal characters, not "match anything".
    assert "Trần Thị Hoa" not in names("%")


def test_user_filters_by_role_and_status(admin_client):
    UserFactory(full_name="Reviewer Ngọc", roles=[Role.REVIEWER])
    UserFactory(full_name="Partner Bình", roles=[Role.PARTNER])
    UserFactory(full_name="Gone Tâm", roles=[Role.REVIEWER], active=False)

    reviewers = text_of(admin_client.get("/admin/users?role=reviewer"))
    assert "Reviewer Ngọc" in reviewers and "Gone Tâm" in reviewers and "Partner Bình" not in reviewers
    active_reviewers = text_of(admin_client.get("/admin/users?role=reviewer&status=active"))
    assert "Reviewer Ngọc" in active_reviewers and "Gone Tâm" not in active_reviewers
    deactivated = text_of(admin_client.get("/admin/users?status=inactive"))
    assert "Gone Tâm" in deactivated and "Reviewer Ngọc" not in deactivated


def test_user_filter_rejects_unknown_role_with_400(admin_client):
    assert admin_client.get("/admin/users?role=emperor").status_code == 400


def test_users_are_paginated_25_per_page_in_a_fixed_number_of_queries(admin_client):
    for n in range(4):
        UserFactory(full_name=f"Khách {n:02d}")
    with count_queries() as few:
        assert admin_client.get("/admin/users").status_code == 200
    for n in range(4, 30):
        UserFactory(full_name=f"Khách {n:02d}", roles=[Role.BUSINESS, Role.PARTNER])
    with count_queries() as many:
        first = admin_client.get("/admin/users")
    assert len(many) == len(few), "the list page must not run a query per user"

    first_rows = re.findall(r"Khách \d\d", text_of(first))
    assert len(first_rows) == 25 - 1  # the admin is on page 1 too ("Admin One" sorts first)
    second = text_of(admin_client.get("/admin/users?page=2"))
    second_rows = re.findall(r"Khách \d\d", second)
    assert set(first_rows).isdisjoint(second_rows)
    assert len(first_rows) + len(second_rows) == 30
    assert "Page 2 of 2" in second
    # Out-of-range and unreadable page numbers do not break the page.
    assert admin_client.get("/admin/users?page=999999999999").status_code == 200
    assert admin_client.get("/admin/users?page=-3").status_code == 200
    assert admin_client.get("/admin/users?page=abc").status_code == 200


def _fill(n: int, admin: User) -> None:
    """n more users, organisations, staff invitations, audit events by different actors, and members of the
    first organisation."""
    for i in range(n):
        user = UserFactory(roles=[Role.REVIEWER, Role.BUSINESS])
        OrganisationFactory(owner=user)
        first = db.session.scalars(select(Organisation).order_by(Organisation.id)).first()
        if first.member_role(user) is None:
            first.memberships.append(Membership(user=user, role=MemberRole.MEMBER))
        invitation, _token = invitations.invite_staff(admin, [Role.REVIEWER], email=f"fill{i}-{user.id}@so.gov.vn")
        if i % 2:
            invitations.accept(invitation, user)
        staff.set_roles(admin, user, [Role.REVIEWER])
    db.session.commit()


def test_list_pages_run_a_fixed_number_of_queries(admin_client, admin):
    """Pages with 2 or 20 rows run the same queries: nothing is loaded row by row (no N+1)."""
    _fill(2, admin)
    first = db.session.scalars(select(Organisation).order_by(Organisation.id)).first()
    pages = ["/admin/users", "/admin/organisations", "/admin/invitations", "/admin/audit",
             f"/admin/organisations/{first.id}"]
    few = {}
    for page in pages:
        with count_queries() as statements:
            assert admin_client.get(page).status_code == 200
        few[page] = len(statements)
    _fill(18, admin)
    for page in pages:
        with count_queries() as statements:
            assert admin_client.get(page).status_code == 200
        assert len(statements) == few[page], page


# Roles -----------------------------------------------------------------------------------------


def test_admin_sets_roles_and_the_change_is_audited(admin_client, admin):
    user = UserFactory(roles=[Role.BUSINESS])
    response = admin_client.post(f"/admin/users/{user.id}/roles", data={"roles": ["reviewer", "approver"]})
    assert response.status_code == 303
    assert roles_of(user.id) == {"reviewer", "approver"}
    page = text_of(admin_client.get(response.headers["Location"]))
    assert "Roles of" in page and "saved" in page
    audit_event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "user.roles_change")).one()
    assert audit_event.actor_id == admin.id
    assert audit_event.object_id == str(user.id)
    assert audit_event.before == {"roles": ["business"]}
    assert audit_event.after == {"roles": ["approver", "reviewer"]}


def test_unchanged_roles_write_no_audit_record(admin_client):
    user = UserFactory(roles=[Role.REVIEWER])
    response = admin_client.post(f"/admin/users/{user.id}/roles", data={"roles": ["reviewer"]},
                                 follow_redirects=True)
    assert "Nothing changed." in text_of(response)
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.roles_change")) is None


def test_unknown_role_in_form_is_refused(admin_client):
    user = UserFactory(roles=[Role.BUSINESS])
    response = admin_client.post(f"/admin/users/{user.id}/roles", data={"roles": ["business", "superuser"]})
    assert response.status_code == 400
    assert roles_of(user.id) == {"business"}


def test_admin_cannot_remove_own_admin_role(admin_client, admin):
    UserFactory(roles=[Role.ADMIN])  # another admin exists, so only the self rule applies
    response = admin_client.post(f"/admin/users/{admin.id}/roles", data={"roles": ["reviewer"]})
    assert response.status_code == 400
    assert "You cannot remove your own administrator role" in text_of(response)
    assert roles_of(admin.id) == {"admin"}


def test_admin_may_add_roles_to_themselves(admin_client, admin):
    response = admin_client.post(f"/admin/users/{admin.id}/roles", data={"roles": ["admin", "reviewer"]})
    assert response.status_code == 303
    assert roles_of(admin.id) == {"admin", "reviewer"}


def test_last_active_admin_keeps_the_role(admin_client, admin):
    UserFactory(roles=[Role.ADMIN], active=False)  # a deactivated admin does not count
    response = admin_client.post(f"/admin/users/{admin.id}/roles", data={"roles": []})
    assert response.status_code == 400
    assert "This is the last active administrator" in text_of(response)
    assert roles_of(admin.id) == {"admin"}


def test_another_admin_can_be_demoted_while_one_remains(admin_client, admin):
    other = UserFactory(roles=[Role.ADMIN, Role.REVIEWER])
    response = admin_client.post(f"/admin/users/{other.id}/roles", data={"roles": ["reviewer"]})
    assert response.status_code == 303
    assert roles_of(other.id) == {"reviewer"}


def test_service_refuses_to_remove_the_last_admin_even_for_the_system(app):
    only = UserFactory(roles=[Role.ADMIN])
    with pytest.raises(staff.LastAdminError):
        staff.set_roles(None, only, [Role.REVIEWER])
    db.session.rollback()
    with pytest.raises(staff.LastAdminError):
        staff.set_active(None, only, False)
    db.session.rollback()
    assert roles_of(only.id) == {"admin"}
    assert db.session.get(User, only.id).active


def test_two_admins_demoting_each_other_at_once_leave_one_admin(app):
    """The last-admin rule holds under concurrency: the second demotion waits for the first, then fails."""
    first_id, second_id = UserFactory(roles=[Role.ADMIN]).id, UserFactory(roles=[Role.ADMIN]).id
    first_holds_lock = threading.Event()
    outcome: dict[str, str] = {}

    def demote(actor_id: int, target_id: int, name: str, before_commit=None) -> None:
        with app.app_context():
            try:
                staff.set_roles(db.session.get(User, actor_id), db.session.get(User, target_id), [])
                if before_commit:
                    before_commit()
                db.session.commit()
                outcome[name] = "done"
            except staff.StaffError as error:
                db.session.rollback()
                outcome[name] = type(error).__name__
            finally:
                db.session.remove()

    def hold_then_commit() -> None:
        first_holds_lock.set()
        time.sleep(0.5)

    first = threading.Thread(target=demote, args=(first_id, second_id, "first", hold_then_commit))
    first.start()
    assert first_holds_lock.wait(10)
    demote(second_id, first_id, "second")
    first.join(10)
    assert outcome == {"first": "done", "second": "LastAdminError"}
    assert roles_of(first_id) == {"admin"} and roles_of(second_id) == set()


def test_service_refuses_non_admin_actor(app):
    reviewer = UserFactory(roles=[Role.REVIEWER])
    target = UserFactory()
    with pytest.raises(staff.NotAdminError):
        staff.set_roles(reviewer, target, [Role.ADMIN])


# Activation ----------------------------------------------------------------------------------


def test_deactivation_ends_the_users_sessions(app, admin_client):
    reviewer = UserFactory(roles=[Role.REVIEWER])
    other = app.test_client()
    login_as(other, reviewer)
    assert other.get("/admin/organisations").status_code == 200

    response = admin_client.post(f"/admin/users/{reviewer.id}/deactivate", data={})
    assert response.status_code == 303
    logged_out = other.get("/admin/organisations")
    assert logged_out.status_code == 302
    assert "/auth/login" in logged_out.headers["Location"]

    # Reactivating lets them log in again, but the old session stays dead (its token was rotated).
    assert admin_client.post(f"/admin/users/{reviewer.id}/activate", data={}).status_code == 303
    db.session.expire_all()
    assert db.session.get(User, reviewer.id).active
    assert other.get("/admin/organisations").status_code == 302


def test_admin_cannot_deactivate_themselves(admin_client, admin):
    UserFactory(roles=[Role.ADMIN])
    response = admin_client.post(f"/admin/users/{admin.id}/deactivate", data={})
    assert response.status_code == 400
    assert "You cannot deactivate your own account" in text_of(response)
    db.session.expire_all()
    assert db.session.get(User, admin.id).active


def test_deactivating_a_deactivated_account_changes_nothing(admin_client):
    user = UserFactory(active=False)
    assert admin_client.post(f"/admin/users/{user.id}/deactivate", data={}).status_code == 303
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.deactivate")) is None


def test_unknown_user_is_404(admin_client):
    assert admin_client.get("/admin/users/9999").status_code == 404
    assert admin_client.get("/admin/users/99999999999999").status_code == 404  # beyond INTEGER: still a 404
    assert admin_client.get("/admin/organisations/99999999999999").status_code == 404
    assert admin_client.post("/admin/users/9999/roles", data={"roles": ["reviewer"]}).status_code == 404


# Invitations ---------------------------------------------------------------------------------


def _token_from(message) -> str:
    match = re.search(r"/auth/invitations/([A-Za-z0-9_\-]+)", message.body)
    assert match, message.body
    return match.group(1)


def test_invitation_flow_from_invite_to_roles(app, admin_client, admin, outbox):
    response = admin_client.post("/admin/invitations/new",
                                 data={"email": " Lan.Nguyen@SO.gov.vn ", "roles": ["reviewer", "approver"]})
    assert response.status_code == 303
    assert len(outbox) == 1
    message = outbox[0]
    assert message.to == "lan.nguyen@so.gov.vn"
    assert message.body.count(app.config["BASE_URL"]) == 1
    token = _token_from(message)
    invitation = invitations.find_by_token(token)
    assert invitation.kind is InvitationKind.STAFF
    assert invitation.roles == ["approver", "reviewer"]
    assert invitation.invited_by_id == admin.id
    listing = text_of(admin_client.get("/admin/invitations"))
    assert "lan.nguyen@so.gov.vn" in listing and "Pending" in listing

    # The invited person opens the link from the e-mail and creates their account there.
    link_path = re.search(r"https?://[^/\s]+(/\S+)", message.body).group(1)
    assert link_path == f"/auth/invitations/{token}"
    newcomer = app.test_client()
    assert newcomer.get(link_path).status_code == 200
    signup = newcomer.post(f"{link_path}/signup", data={"full_name": "Nguyễn Thị Lan",
                                                        "password": "rice fields at dawn",
                                                        "password_confirm": "rice fields at dawn"})
    assert signup.status_code in (302, 303)
    lan = db.session.scalars(select(User).where(User.email == "lan.nguyen@so.gov.vn")).one()
    assert roles_of(lan.id) == {"reviewer", "approver"}
    assert newcomer.get("/admin/organisations").status_code == 200
    accepted = text_of(admin_client.get("/admin/invitations?status=accepted"))
    assert "lan.nguyen@so.gov.vn" in accepted and "Nguyễn Thị Lan" in accepted
    # The link works once.
    assert app.test_client().get(link_path).status_code == 400


def test_inviting_an_existing_user_still_sends_and_adds_roles(app, admin_client, outbox):
    existing = UserFactory(email="hung@so.gov.vn", roles=[Role.BUSINESS])
    response = admin_client.post("/admin/invitations/new", data={"email": "hung@so.gov.vn", "roles": ["admin"]},
                                 follow_redirects=True)
    assert "already has an account" in text_of(response)
    assert len(outbox) == 1
    hung = app.test_client()
    login_as(hung, existing)
    accepted = hung.post(f"/auth/invitations/{_token_from(outbox[0])}/accept", data={})
    assert accepted.status_code in (302, 303)
    assert roles_of(existing.id) == {"business", "admin"}
    assert hung.get("/admin/users").status_code == 200


def test_a_second_invitation_replaces_the_open_one(admin_client, outbox):
    admin_client.post("/admin/invitations/new", data={"email": "mai@so.gov.vn", "roles": ["reviewer"]})
    response = admin_client.post("/admin/invitations/new", data={"email": "MAI@so.gov.vn", "roles": ["approver"]},
                                 follow_redirects=True)
    assert "only the new link works" in text_of(response)
    first, second = (invitations.find_by_token(_token_from(m)) for m in outbox)
    assert first.revoked_at is not None and not first.is_open()
    assert second.is_open() and second.roles == ["approver"]
    open_ones = [i for i in db.session.scalars(select(Invitation)) if i.is_open()]
    assert open_ones == [second]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"email": "not-an-address", "roles": ["reviewer"]}, "Enter an e-mail address"),
        ({"email": "", "roles": ["reviewer"]}, "Enter the e-mail address"),
        ({"email": "a@so.gov.vn"}, "Choose at least one role"),
        ({"email": "a@so.gov.vn", "roles": ["business"]}, "not a valid choice"),
        ({"email": "0912345678", "roles": ["reviewer"]}, "Enter an e-mail address"),
    ],
)
def test_invitation_form_errors_are_400(admin_client, outbox, data, expected):
    response = admin_client.post("/admin/invitations/new", data=data)
    assert response.status_code == 400
    assert expected in text_of(response)
    assert outbox == []
    assert db.session.scalar(select(Invitation)) is None


def test_revoking_an_invitation(admin_client, admin, outbox):
    admin_client.post("/admin/invitations/new", data={"email": "son@so.gov.vn", "roles": ["reviewer"]})
    invitation = invitations.find_by_token(_token_from(outbox[0]))
    response = admin_client.post(f"/admin/invitations/{invitation.id}/revoke", data={}, follow_redirects=True)
    assert "was revoked" in text_of(response)
    db.session.expire_all()
    assert invitation.revoked_at is not None
    revoke_event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "invitation.revoke")).one()
    assert revoke_event.actor_id == admin.id and revoke_event.ip == "127.0.0.1"
    again = admin_client.post(f"/admin/invitations/{invitation.id}/revoke", data={}, follow_redirects=True)
    assert "already accepted, revoked or expired" in text_of(again)
    assert "Revoked" in text_of(admin_client.get("/admin/invitations?status=revoked"))
    assert "son@so.gov.vn" not in text_of(admin_client.get("/admin/invitations?status=pending"))


def test_member_invitations_are_not_revocable_here(admin_client, admin):
    owner = UserFactory()
    org = OrganisationFactory(owner=owner)
    invitation, _token = invitations.invite_member(owner, org, email="x@shop.vn", member_role=MemberRole.MEMBER)
    db.session.commit()
    assert admin_client.post(f"/admin/invitations/{invitation.id}/revoke", data={}).status_code == 404
    assert "x@shop.vn" not in text_of(admin_client.get("/admin/invitations"))


def test_expired_invitations_are_listed_as_expired(admin_client, admin):
    invitation, _token = invitations.invite_staff(admin, [Role.REVIEWER], email="old@so.gov.vn")
    invitation.expires_at = utcnow() - timedelta(days=1)
    db.session.commit()
    assert "old@so.gov.vn" in text_of(admin_client.get("/admin/invitations?status=expired"))
    assert "old@so.gov.vn" not in text_of(admin_client.get("/admin/invitations?status=pending"))


# Audit log -------------------------------------------------------------------------------------


def test_audit_log_lists_newest_first_with_before_and_after(admin_client, admin):
    user = UserFactory(full_name="Võ Thanh", roles=[Role.BUSINESS])
    admin_client.post(f"/admin/users/{user.id}/roles", data={"roles": ["business", "partner"]})
    admin_client.post(f"/admin/users/{user.id}/deactivate", data={})
    page = text_of(admin_client.get("/admin/audit"))
    assert page.index("<code>user.deactivate</code>") < page.index("<code>user.roles_change</code>")
    assert "<td>business</td><td>business, partner</td>" in page
    assert "Admin One" in page


def test_audit_log_filters(admin_client, admin):
    user = UserFactory(full_name="Đỗ Quyên")
    other_actor = UserFactory(full_name="Hệ thống B", roles=[Role.ADMIN])
    admin_client.post(f"/admin/users/{user.id}/roles", data={"roles": ["partner"]})
    staff.set_active(other_actor, user, False, ip="10.0.0.9")
    db.session.commit()

    def actions(**query) -> list[str]:
        response = admin_client.get("/admin/audit", query_string=query)
        assert response.status_code == 200
        return re.findall(r"<code>([\w.]+)</code>", text_of(response))

    assert "user.deactivate" not in actions(action="user.roles")
    assert "user.roles_change" in actions(action="user.roles")
    assert "user.roles_change" not in actions(actor="Hệ thống")
    assert "user.deactivate" in actions(actor="Hệ thống")
    assert "user.deactivate" in actions(object_type="user", object_id=str(user.id))
    assert "user.deactivate" not in actions(object_type="user", object_id=str(user.id + 100))
    assert "user.deactivate" in actions(actor_id=str(other_actor.id))
    today = utcnow().date()
    assert "user.deactivate" in actions(date_from=(today - timedelta(days=1)).isoformat(),
                                        date_to=(today + timedelta(days=1)).isoformat())
    assert "user.deactivate" not in actions(date_to=(today - timedelta(days=2)).isoformat())


def test_audit_log_bad_dates_are_400(admin_client):
    assert admin_client.get("/admin/audit?date_from=yesterday").status_code == 400
    assert admin_client.get("/admin/audit?date_from=2026-05-02&date_to=2026-05-01").status_code == 400
    assert admin_client.get("/admin/audit?date_from=0001-01-01").status_code == 400


# Organisations -------------------------------------------------------------------------------


def test_organisation_search_and_filters(client):
    OrganisationFactory(name="Công ty Gốm Sa Huỳnh", tax_code="4300123456", sector="C",
                        kind=OrganisationKind.ENTERPRISE, commune_code="21034")
    OrganisationFactory(name="HTX Tỏi Lý Sơn", tax_code="4300999888", sector="A",
                        kind=OrganisationKind.COOPERATIVE, commune_code="21499")
    OrganisationFactory(name="Tạp hóa Cô Ba", tax_code=None, sector="G",
                        kind=OrganisationKind.HOUSEHOLD_BUSINESS)
    login_as(client, UserFactory(roles=[Role.REVIEWER]))

    def listing(**query) -> str:
        response = client.get("/admin/organisations", query_string=query)
        assert response.status_code == 200
        return text_of(response)

    everything = listing()
    assert all(name in everything for name in ("Gốm Sa Huỳnh", "Tỏi Lý Sơn", "Tạp hóa Cô Ba"))
    by_name = listing(q="Lý Sơn")
    assert "Tỏi Lý Sơn" in by_name and "Gốm Sa Huỳnh" not in by_name
    by_tax = listing(q="4300123")
    assert "Gốm Sa Huỳnh" in by_tax and "Tỏi Lý Sơn" not in by_tax
    by_kind = listing(kind="household_business")
    assert "Tạp hóa Cô Ba" in by_kind and "Gốm Sa Huỳnh" not in by_kind
    by_sector = listing(sector="A")
    assert "Tỏi Lý Sơn" in by_sector and "Tạp hóa Cô Ba" not in by_sector
    by_commune = listing(commune="21034")
    assert "Gốm Sa Huỳnh" in by_commune and "Tỏi Lý Sơn" not in by_commune
    assert client.get("/admin/organisations?sector=Z").status_code == 400
    assert client.get("/admin/organisations?commune=99999").status_code == 400


def test_organisation_list_is_paginated(client):
    for n in range(27):
        OrganisationFactory(name=f"Cơ sở {n:02d}")
    login_as(client, UserFactory(roles=[Role.APPROVER]))
    first = re.findall(r"Cơ sở \d\d", text_of(client.get("/admin/organisations")))
    second = re.findall(r"Cơ sở \d\d", text_of(client.get("/admin/organisations?page=2")))
    assert len(first) == 25 and len(second) == 2


def test_organisation_detail_shows_profile_names_and_members(client):
    owner = UserFactory(full_name="Chủ Cơ Sở")
    org = OrganisationFactory(name="Xưởng Mộc An Phú", sector="C", commune_code="21034", owner=owner,
                              tax_code="4300555666")
    login_as(client, UserFactory(roles=[Role.REVIEWER], locale="en"))
    page = text_of(client.get(f"/admin/organisations/{org.id}"))
    assert "Xưởng Mộc An Phú" in page and "4300555666" in page
    assert "An Phú" in page  # the commune's name, not only its code
    assert "Manufacturing" in page  # the VSIC section's name in English
    assert "Chủ Cơ Sở" in page and "Owner" in page
    assert client.get("/admin/organisations/9999").status_code == 404


# The first administrator ---------------------------------------------------------------------


def test_create_admin_command(runner):
    result = runner.invoke(args=["users", "create-admin", "--email", "Boss@SO.gov.vn", "--name", "Giám đốc",
                                 "--password", "a long enough password"])
    assert result.exit_code == 0, result.output
    user = db.session.scalars(select(User).where(User.email == "boss@so.gov.vn")).one()
    assert user.role_names == {Role.ADMIN} and user.is_active and user.confirmed_at is not None
    created = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "user.create")).one()
    assert created.actor_id is None and created.object_id == str(user.id)


@pytest.mark.parametrize(
    ("email", "password", "expected"),
    [
        ("not an e-mail", "a long enough password", "not a valid e-mail address"),
        ("boss@so.gov.vn", "short", "at least 10 characters"),
        ("taken@so.gov.vn", "a long enough password", "already exists"),
    ],
)
def test_create_admin_command_refuses_bad_input(runner, email, password, expected):
    UserFactory(email="taken@so.gov.vn")
    result = runner.invoke(args=["users", "create-admin", "--email", email, "--name", "X", "--password", password])
    assert result.exit_code != 0
    assert expected in result.output
    assert db.session.scalar(select(User).where(User.roles.any(role=Role.ADMIN))) is None
