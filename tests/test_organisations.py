"""Organisation profiles through the browser: creating each kind, editing, members and invitations,
and the rule that nobody but an organisation's members can read or change it."""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, Invitation, MemberRole, Membership, Organisation, OrganisationKind, Role, SizeClass
from app.services import invitations
from tests.factories import DEFAULT_PASSWORD, OrganisationFactory, UserFactory

BN = 1_000_000_000

ENTERPRISE = {
    "name": "Công ty TNHH Cà phê Núi Ấn",
    "tax_code": "0100109106",
    "sector": "C",
    "commune_code": "21211",
    "address": "12 Phạm Văn Đồng",
    "employees": "12",
    "annual_revenue_vnd": "4.500.000.000",
    "capital_vnd": "2 000 000 000",
    "founded_year": "2015",
    "contact_name": "Phan Thị Mai",
    "contact_phone": "0905 123 456",
    "contact_email": "Mai.Phan@Example.vn",
    "website": "www.nuian.example.vn",
}
HOUSEHOLD = {
    "name": "Tạp hóa Cô Tư",
    "tax_code": "051 190 012 345",
    "sector": "G",
    "commune_code": "21484",
    "employees": "2",
    "annual_revenue_vnd": "350.000.000",
}


def english_user(**kwargs):
    """A user whose pages are in English, so assertions read the msgids whatever the catalogue holds."""
    kwargs.setdefault("locale", "en")
    return UserFactory(**kwargs)


def login(client, user):
    response = client.post("/auth/login", data={"login": user.login_name, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


def create(client, kind="enterprise", **overrides):
    data = {**(HOUSEHOLD if kind == "household_business" else ENTERPRISE), **overrides}
    return client.post(f"/organisations/new?kind={kind}", data=data)


def audit_actions(object_type="organisation"):
    return [e.action for e in db.session.scalars(select(AuditEvent).where(AuditEvent.object_type == object_type)
                                                  .order_by(AuditEvent.id))]


def org_count():
    return db.session.scalar(select(func.count()).select_from(Organisation))


def text(response):
    return response.get_data(as_text=True)


@pytest.fixture
def owner(client):
    user = english_user(full_name="Phan Thị Mai")
    login(client, user)
    return user


# Creating ------------------------------------------------------------------------------------------


def test_pages_need_a_login(client):
    for path in ["/organisations/", "/organisations/new", "/organisations/1", "/organisations/1/edit",
                 "/organisations/1/members"]:
        response = client.get(path)
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"], path


def test_without_organisations_the_list_invites_to_add_one(client, owner):
    response = client.get("/organisations/")
    assert response.status_code == 200
    assert "You have not added a business yet" in text(response)
    assert 'href="/organisations/new"' in text(response)


def test_creating_starts_with_choosing_the_kind(client, owner):
    page = text(client.get("/organisations/new"))
    for kind in ("enterprise", "cooperative", "household_business"):
        assert f'href="/organisations/new?kind={kind}"' in page
    assert "<form" not in page.split("<main", 1)[1]


def test_unknown_kind_shows_the_choice_again(client, owner):
    assert "What kind of business is it?" in text(client.get("/organisations/new?kind=bank"))
    assert client.post("/organisations/new?kind=bank", data=ENTERPRISE).status_code == 400
    assert org_count() == 0


def test_creating_an_enterprise(client, owner):
    response = create(client)
    assert response.status_code == 303
    org = db.session.scalar(select(Organisation))
    assert response.headers["Location"].endswith(f"/organisations/{org.id}")
    assert (org.kind, org.name, org.tax_code, org.sector, org.commune_code) == (
        OrganisationKind.ENTERPRISE, "Công ty TNHH Cà phê Núi Ấn", "0100109106", "C", "21211")
    assert (org.employees, org.annual_revenue_vnd, org.capital_vnd, org.founded_year) == (12, 4_500_000_000,
                                                                                         2 * BN, 2015)
    assert (org.contact_phone, org.contact_email, org.website) == (
        "0905123456", "mai.phan@example.vn", "https://www.nuian.example.vn")
    # Industry, 12 employees, 4.5 bn revenue but 2 bn capital: not micro (12 > 10), small.
    assert org.size_class is SizeClass.SMALL
    assert [(m.user_id, m.role) for m in org.memberships] == [(owner.id, MemberRole.OWNER)]

    page = text(client.get(response.headers["Location"]))
    assert "Công ty TNHH Cà phê Núi Ấn" in page
    assert "Xã Tịnh Khê, Quảng Ngãi" in page
    assert "C – Manufacturing" in page
    assert "4.500.000.000\u00a0₫" in page and "2.000.000.000\u00a0₫" in page
    assert "<strong>Small</strong>" in page


def test_creation_is_audited_with_the_new_state(client, owner):
    create(client)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "organisation.create"))
    assert event.actor_id == owner.id
    assert event.after["tax_code"] == "0100109106"
    assert event.after["size_class"] == "small"
    assert event.after["annual_revenue_vnd"] == 4_500_000_000
    assert event.before is None


def test_creating_a_cooperative(client, owner):
    response = create(client, "cooperative", name="Hợp tác xã Nông nghiệp Bình Minh", sector="A",
                      employees="30", annual_revenue_vnd="6000000000", capital_vnd="")
    assert response.status_code == 303
    org = db.session.scalar(select(Organisation))
    assert org.kind is OrganisationKind.COOPERATIVE
    assert org.capital_vnd is None
    assert org.size_class is SizeClass.SMALL


def test_household_form_is_short(client, owner):
    page = text(client.get("/organisations/new?kind=household_business"))
    for present in ("name", "tax_code", "sector", "commune_code", "employees", "annual_revenue_vnd"):
        assert f'name="{present}"' in page
    for absent in ("capital_vnd", "founded_year", "website", "contact_email"):
        assert f'name="{absent}"' not in page
    assert "What do you sell or do?" in page


def test_creating_a_household_business_with_the_owners_id(client, owner):
    assert create(client, "household_business").status_code == 303
    org = db.session.scalar(select(Organisation))
    assert (org.kind, org.tax_code, org.annual_revenue_vnd) == (OrganisationKind.HOUSEHOLD_BUSINESS,
                                                                "051190012345", 350_000_000)
    assert org.size_class is SizeClass.MICRO


def test_household_business_may_leave_the_tax_code_and_figures_empty(client, owner):
    response = create(client, "household_business", tax_code="", employees="", annual_revenue_vnd="")
    assert response.status_code == 303
    org = db.session.scalar(select(Organisation))
    assert org.tax_code is None and org.size_class is None
    page = text(client.get(response.headers["Location"]))
    assert "Not enough information to work out the size class" in page
    assert "Add the number of employees and the yearly revenue or capital." in page


def test_household_business_ignores_fields_of_the_long_form(client, owner):
    create(client, "household_business", capital_vnd="5000000", website="evil.example", founded_year="1990")
    org = db.session.scalar(select(Organisation))
    assert (org.capital_vnd, org.website, org.founded_year) == (None, None, None)


def test_creating_grants_the_business_role_once(client):
    partner = english_user(roles=[Role.PARTNER])
    login(client, partner)
    assert create(client).status_code == 303
    db.session.refresh(partner)
    assert partner.has_role(Role.BUSINESS)
    change = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.roles_change"))
    assert change.before == {"roles": ["partner"]} and change.after == {"roles": ["business", "partner"]}
    assert create(client, tax_code="0300588569").status_code == 303
    assert audit_actions("user").count("user.roles_change") == 1


@pytest.mark.parametrize("kind", ["enterprise", "cooperative"])
def test_enterprises_and_cooperatives_need_a_tax_code(client, owner, kind):
    response = create(client, kind, tax_code="")
    assert response.status_code == 400
    assert "Enter the tax code" in text(response)
    assert org_count() == 0


@pytest.mark.parametrize("tax_code, message", [
    ("0100109107", "the last digit does not match"),
    ("010010910", "A tax code has 10 digits"),
    ("0100109106-000", "Branch numbers start at 001"),
    ("0100109106-1", "After the dash comes the 3-digit branch number"),
    ("051190012345", "accepted only for household businesses"),
])
def test_bad_tax_codes_are_explained(client, owner, tax_code, message):
    response = create(client, tax_code=tax_code)
    assert response.status_code == 400
    assert message in text(response)
    assert 'aria-invalid="true"' in text(response)
    assert org_count() == 0


def test_branch_tax_code_is_stored_with_its_dash(client, owner):
    assert create(client, tax_code="0100109106 001").status_code == 303
    assert db.session.scalar(select(Organisation.tax_code)) == "0100109106-001"


def test_a_registered_tax_code_cannot_be_registered_again(client, owner):
    assert create(client).status_code == 303
    other = english_user()
    login(client, other)
    response = create(client, name="Another name", tax_code=" 0100 109 106 ")
    assert response.status_code == 400
    assert "already registered" in text(response) and "ask its owner to invite you" in text(response)
    assert org_count() == 1


def test_a_household_id_cannot_be_registered_twice(client, owner):
    assert create(client, "household_business").status_code == 303
    response = create(client, "household_business", name="Second shop")
    assert response.status_code == 400 and "already registered" in text(response)


@pytest.mark.parametrize("typed, stored", [
    ("1.500.000", 1_500_000), ("1 500 000", 1_500_000), ("1500000", 1_500_000), ("1.500.000 đ", 1_500_000),
    ("1,500,000", 1_500_000), ("2.000.000.000 VND", 2 * BN), ("0", 0),
])
def test_money_is_accepted_as_people_write_it(client, owner, typed, stored):
    assert create(client, annual_revenue_vnd=typed).status_code == 303
    assert db.session.scalar(select(Organisation.annual_revenue_vnd)) == stored


@pytest.mark.parametrize("typed, message", [
    ("-5.000.000", "cannot be negative"),
    ("1,5", "using digits"),
    ("1.5 tỷ", "using digits"),
    ("abc", "using digits"),
    ("1e9", "using digits"),
    ("１２３", "using digits"),
    ("9" * 40, "too large"),
    ("100.000.000.000.000.001", "too large"),
])
def test_bad_money_is_explained(client, owner, typed, message):
    response = create(client, capital_vnd=typed)
    assert response.status_code == 400
    assert message in text(response)
    assert org_count() == 0


def test_largest_amount_fits_the_database(client, owner):
    assert create(client, annual_revenue_vnd="100.000.000.000.000.000").status_code == 303
    assert db.session.scalar(select(Organisation.annual_revenue_vnd)) == 10**17


@pytest.mark.parametrize("field, value, message", [
    ("founded_year", "1899", "Enter a year from 1900"),
    ("founded_year", str(date.today().year + 1), "Enter a year from 1900"),
    ("founded_year", "năm 2000", "Enter a whole number"),
    ("employees", "1000001", "Enter a number from 0 to 1.000.000"),
    ("employees", "-1", "cannot be negative"),
    ("employees", "2.5", "Enter a whole number"),
    ("contact_email", "not-an-address", "valid e-mail address"),
    ("contact_phone", "12345", "Enter a phone number"),
    ("website", "javascript:alert(1)", "Enter a web address"),
    ("sector", "Z", "Choose an option from the list"),
    ("sector", "", "Choose the main sector"),
    ("commune_code", "99999", "Choose an option from the list"),
    ("name", "   ", "Enter the name of the organisation"),
    ("name", "x" * 201, "At most 200 characters"),
    ("address", "thôn\x00 1", "control"),
])
def test_bad_fields_are_explained(client, owner, field, value, message):
    response = create(client, **{field: value})
    assert response.status_code == 400
    assert message in text(response)
    assert org_count() == 0


def test_year_bounds_are_inclusive(client, owner):
    assert create(client, founded_year="1900").status_code == 303
    assert create(client, tax_code="0300588569", founded_year=str(date.today().year)).status_code == 303


def test_commune_may_be_left_empty(client, owner):
    assert create(client, commune_code="").status_code == 303
    org = db.session.scalar(select(Organisation))
    assert org.commune_code is None
    assert "Not specified" in text(client.get(f"/organisations/{org.id}"))


# Listing and editing ---------------------------------------------------------------------------------


def test_list_shows_only_my_organisations(client, owner):
    OrganisationFactory(owner=owner, name="Mine")
    OrganisationFactory(owner=english_user(), name="Not mine")
    page = text(client.get("/organisations/"))
    assert "Mine" in page and "Not mine" not in page


def test_editing_recomputes_the_size_class_and_audits_only_the_changes(client, owner):
    create(client)
    org = db.session.scalar(select(Organisation))
    page = text(client.get(f"/organisations/{org.id}/edit"))
    assert 'value="4.500.000.000"' in page  # figures come back as people write them
    response = client.post(f"/organisations/{org.id}/edit", data={**ENTERPRISE, "employees": "150",
                                                                  "annual_revenue_vnd": "4.500.000.000"})
    assert response.status_code == 303
    db.session.refresh(org)
    assert (org.employees, org.size_class) == (150, SizeClass.MEDIUM)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "organisation.update"))
    assert event.before == {"employees": 12, "size_class": "small"}
    assert event.after == {"employees": 150, "size_class": "medium"}


def test_saving_without_changes_writes_no_audit_record(client, owner):
    create(client)
    org = db.session.scalar(select(Organisation))
    assert client.post(f"/organisations/{org.id}/edit", data=ENTERPRISE).status_code == 303
    assert "organisation.update" not in audit_actions()


def test_editing_to_another_organisations_tax_code_is_refused(client, owner):
    create(client)
    create(client, name="Second", tax_code="0300588569")
    second = db.session.scalar(select(Organisation).where(Organisation.name == "Second"))
    response = client.post(f"/organisations/{second.id}/edit", data={**ENTERPRISE, "name": "Second"})
    assert response.status_code == 400 and "already registered" in text(response)
    db.session.refresh(second)
    assert second.tax_code == "0300588569"


def test_household_edit_keeps_its_short_form(client, owner):
    create(client, "household_business")
    org = db.session.scalar(select(Organisation))
    page = text(client.get(f"/organisations/{org.id}/edit"))
    assert 'name="capital_vnd"' not in page and 'value="051190012345"' in page
    response = client.post(f"/organisations/{org.id}/edit", data={**HOUSEHOLD, "employees": "3"})
    assert response.status_code == 303
    db.session.refresh(org)
    assert org.employees == 3


def test_members_can_edit_the_profile(client):
    boss, helper = english_user(), english_user()
    org = OrganisationFactory(owner=boss, tax_code="0100109106")
    db.session.add(Membership(organisation=org, user=helper, role=MemberRole.MEMBER))
    db.session.commit()
    login(client, helper)
    data = {**ENTERPRISE, "name": "Renamed by a member"}
    assert client.post(f"/organisations/{org.id}/edit", data=data).status_code == 303
    db.session.refresh(org)
    assert org.name == "Renamed by a member"


# Nobody else sees or changes an organisation --------------------------------------------------------


def _snapshot(org_id):
    db.session.expire_all()
    org = db.session.get(Organisation, org_id)
    return (org.name, org.tax_code, org.employees, sorted((m.user_id, m.role.value) for m in org.memberships))


@pytest.mark.parametrize("roles", [[Role.BUSINESS], [Role.REVIEWER, Role.APPROVER, Role.ADMIN]],
                         ids=["another business", "staff"])
def test_non_members_get_404_everywhere_and_change_nothing(client, roles):
    victim = english_user()
    org = OrganisationFactory(owner=victim, tax_code="0100109106")
    helper = english_user()
    membership = Membership(organisation=org, user=helper, role=MemberRole.MEMBER)
    db.session.add(membership)
    invitation, _token = invitations.invite_member(victim, org, email="friend@example.vn")
    db.session.commit()
    before = _snapshot(org.id)

    intruder = english_user(roles=roles)
    OrganisationFactory(owner=intruder, tax_code="0300588569")
    login(client, intruder)
    base = f"/organisations/{org.id}"
    requests = [
        ("GET", base, None),
        ("GET", f"{base}/edit", None),
        ("POST", f"{base}/edit", {**ENTERPRISE, "name": "Hijacked"}),
        ("GET", f"{base}/members", None),
        ("POST", f"{base}/members/invite", {"contact": "intruder@example.vn", "member_role": "owner"}),
        ("POST", f"{base}/invitations/{invitation.id}/revoke", {}),
        ("POST", f"{base}/members/{membership.id}/remove", {}),
        ("POST", f"{base}/leave", {}),
    ]
    for method, path, data in requests:
        response = client.open(path, method=method, data=data)
        assert response.status_code == 404, (method, path, response.status_code)
        assert org.name not in text(response)

    assert _snapshot(org.id) == before
    db.session.refresh(invitation)
    assert invitation.revoked_at is None
    assert db.session.scalar(select(func.count()).select_from(Invitation)) == 1


def test_ids_of_another_organisation_cannot_be_used_through_mine(client, owner):
    mine = OrganisationFactory(owner=owner, tax_code="0300588569")
    victim = english_user()
    theirs = OrganisationFactory(owner=victim, tax_code="0100109106")
    their_helper = english_user()
    their_membership = Membership(organisation=theirs, user=their_helper, role=MemberRole.MEMBER)
    db.session.add(their_membership)
    their_invitation, _token = invitations.invite_member(victim, theirs, email="friend@example.vn")
    db.session.commit()

    assert client.post(f"/organisations/{mine.id}/members/{their_membership.id}/remove", data={}).status_code == 404
    assert client.post(f"/organisations/{mine.id}/invitations/{their_invitation.id}/revoke", data={}).status_code == 404
    db.session.refresh(their_invitation)
    assert their_invitation.revoked_at is None
    assert db.session.get(Membership, their_membership.id) is not None


def test_a_plain_member_cannot_manage_members(client):
    boss, helper, other = english_user(), english_user(), english_user()
    org = OrganisationFactory(owner=boss)
    db.session.add_all([Membership(organisation=org, user=helper, role=MemberRole.MEMBER),
                        Membership(organisation=org, user=other, role=MemberRole.MEMBER)])
    db.session.commit()
    other_membership = db.session.scalar(select(Membership).where(Membership.user_id == other.id))
    login(client, helper)
    page = text(client.get(f"/organisations/{org.id}/members"))
    assert "Invite someone" not in page and "/remove" not in page
    assert client.post(f"/organisations/{org.id}/members/invite", data={"contact": "x@example.vn",
                                                                        "member_role": "member"}).status_code == 403
    assert client.post(f"/organisations/{org.id}/members/{other_membership.id}/remove", data={}).status_code == 403
    assert db.session.get(Membership, other_membership.id) is not None


# Members and invitations ---------------------------------------------------------------------------


def _link_path(message):
    url = re.search(r"https?://\S+", message.body).group(0)
    return urlsplit(url).path


def test_owner_invites_by_email_and_the_link_opens_the_invitation(client, owner, outbox):
    org = OrganisationFactory(owner=owner)
    response = client.post(f"/organisations/{org.id}/members/invite",
                           data={"contact": " Friend@Example.vn ", "member_role": "member"})
    assert response.status_code == 303
    invitation = db.session.scalar(select(Invitation))
    assert (invitation.email, invitation.phone, invitation.organisation_id) == ("friend@example.vn", None, org.id)
    assert invitation.member_role is MemberRole.MEMBER
    [message] = outbox
    assert (message.channel, message.to) == ("email", "friend@example.vn")
    assert org.name in message.body and owner.full_name in message.body
    path = _link_path(message)
    assert path.startswith("/auth/invitations/")
    assert invitations.find_by_token(path.rsplit("/", 1)[1]).id == invitation.id
    anonymous = client.application.test_client()
    assert anonymous.get(path).status_code == 200
    page = text(client.get(f"/organisations/{org.id}/members"))
    assert "friend@example.vn" in page
    assert "invitation.create" in audit_actions("invitation")


def test_owner_invites_by_mobile_number_and_it_goes_by_sms(client, owner, outbox):
    org = OrganisationFactory(owner=owner)
    response = client.post(f"/organisations/{org.id}/members/invite",
                           data={"contact": "+84 912 345 678", "member_role": "owner"})
    assert response.status_code == 303
    invitation = db.session.scalar(select(Invitation))
    assert (invitation.phone, invitation.member_role) == ("0912345678", MemberRole.OWNER)
    [message] = outbox
    assert (message.channel, message.to) == ("sms", "0912345678")
    assert "/auth/invitations/" in message.body


def test_inviting_again_replaces_the_open_invitation(client, owner, outbox):
    org = OrganisationFactory(owner=owner)
    for _ in range(2):
        client.post(f"/organisations/{org.id}/members/invite", data={"contact": "friend@example.vn",
                                                                     "member_role": "member"})
    first, second = db.session.scalars(select(Invitation).order_by(Invitation.id)).all()
    assert first.revoked_at is not None and second.revoked_at is None
    assert len(outbox) == 2


@pytest.mark.parametrize("contact, message", [
    ("", "Enter an e-mail address or a mobile number"),
    ("not an address", "Enter an e-mail address or a Vietnamese mobile number"),
    ("0123", "Enter an e-mail address or a Vietnamese mobile number"),
])
def test_bad_invitation_addresses_are_explained(client, owner, outbox, contact, message):
    org = OrganisationFactory(owner=owner)
    response = client.post(f"/organisations/{org.id}/members/invite", data={"contact": contact,
                                                                            "member_role": "member"})
    assert response.status_code == 400
    assert message in text(response)
    assert outbox == [] and db.session.scalar(select(func.count()).select_from(Invitation)) == 0


def test_existing_members_are_not_invited_again(client, owner, outbox):
    org = OrganisationFactory(owner=owner)
    response = client.post(f"/organisations/{org.id}/members/invite", data={"contact": owner.email,
                                                                            "member_role": "member"})
    assert response.status_code == 400 and "already a member" in text(response)
    assert outbox == []


def test_owner_revokes_a_pending_invitation(client, owner):
    org = OrganisationFactory(owner=owner)
    invitation, token = invitations.invite_member(owner, org, phone="0912345678")
    db.session.commit()
    response = client.post(f"/organisations/{org.id}/invitations/{invitation.id}/revoke", data={})
    assert response.status_code == 303
    db.session.refresh(invitation)
    assert invitation.revoked_at is not None and not invitations.find_by_token(token).is_open()
    assert "0912345678" not in text(client.get(f"/organisations/{org.id}/members"))
    assert "invitation.revoke" in audit_actions("invitation")


def test_an_invited_person_who_accepts_can_open_the_organisation(client, owner, outbox):
    org = OrganisationFactory(owner=owner)
    client.post(f"/organisations/{org.id}/members/invite", data={"contact": "friend@example.vn",
                                                                 "member_role": "member"})
    token = _link_path(outbox[0]).rsplit("/", 1)[1]
    friend = english_user(email="friend@example.vn")
    login(client, friend)
    assert client.get(f"/organisations/{org.id}").status_code == 404
    assert client.post(f"/auth/invitations/{token}/accept", data={}).status_code in (302, 303)
    assert client.get(f"/organisations/{org.id}").status_code == 200


def test_owner_removes_a_member(client, owner):
    helper = english_user(full_name="Trần Văn Giúp")
    org = OrganisationFactory(owner=owner)
    membership = Membership(organisation=org, user=helper, role=MemberRole.MEMBER)
    db.session.add(membership)
    db.session.commit()
    membership_id = membership.id
    response = client.post(f"/organisations/{org.id}/members/{membership_id}/remove", data={})
    assert response.status_code == 303
    assert db.session.get(Membership, membership_id) is None
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "organisation.member_remove"))
    assert (event.actor_id, event.before) == (owner.id, {"user_id": helper.id, "role": "member"})
    login(client, helper)
    assert client.get(f"/organisations/{org.id}").status_code == 404


def test_the_last_owner_can_neither_be_removed_nor_leave(client, owner):
    org = OrganisationFactory(owner=owner)
    [membership] = org.memberships
    page = text(client.get(f"/organisations/{org.id}/members"))
    assert "Last owner" in page and f"/organisations/{org.id}/leave" not in page
    response = client.post(f"/organisations/{org.id}/members/{membership.id}/remove", data={}, follow_redirects=True)
    assert "The last owner cannot be removed or leave" in text(response)
    response = client.post(f"/organisations/{org.id}/leave", data={}, follow_redirects=True)
    assert "The last owner cannot be removed or leave" in text(response)
    assert db.session.get(Membership, membership.id) is not None
    assert "organisation.member_remove" not in audit_actions()


def test_one_of_two_owners_may_leave(client, owner):
    co_owner = english_user()
    org = OrganisationFactory(owner=owner)
    db.session.add(Membership(organisation=org, user=co_owner, role=MemberRole.OWNER))
    db.session.commit()
    response = client.post(f"/organisations/{org.id}/leave", data={})
    assert response.status_code == 303 and response.headers["Location"].endswith("/organisations/")
    assert client.get(f"/organisations/{org.id}").status_code == 404
    assert "organisation.member_leave" in audit_actions()


def test_a_member_leaves(client):
    boss, helper = english_user(), english_user()
    org = OrganisationFactory(owner=boss)
    db.session.add(Membership(organisation=org, user=helper, role=MemberRole.MEMBER))
    db.session.commit()
    login(client, helper)
    assert client.post(f"/organisations/{org.id}/leave", data={}).status_code == 303
    assert db.session.scalar(select(Membership).where(Membership.user_id == helper.id)) is None
    assert client.get(f"/organisations/{org.id}").status_code == 404


def test_detail_lists_members_and_offers_edit_to_members(client, owner):
    helper = english_user(full_name="Lê Thị Giúp Việc")
    org = OrganisationFactory(owner=owner)
    db.session.add(Membership(organisation=org, user=helper, role=MemberRole.MEMBER))
    db.session.commit()
    page = text(client.get(f"/organisations/{org.id}"))
    assert "Phan Thị Mai" in page and "Lê Thị Giúp Việc" in page
    assert f'href="/organisations/{org.id}/edit"' in page


def test_every_mistake_is_reported_at_once(client, owner):
    response = create(client, tax_code="0100109107", capital_vnd="-1", sector="")
    page = text(response)
    assert response.status_code == 400
    for message in ("the last digit does not match", "cannot be negative", "Choose the main sector"):
        assert message in page
