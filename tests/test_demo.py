"""``flask demo load``: a realistic data set on an empty database, loadable twice without harm."""

from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, MemberRole, Organisation, OrganisationKind, Role, User
from app.services import assessments, demo, geo, sectors
from app.services.organisations import check_tax_code, size_class
from tests.factories import UserFactory


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_demo_load_fills_an_empty_database(app, runner):
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    assert demo.DEMO_PASSWORD in result.output and len(demo.DEMO_PASSWORD) >= 10

    users = db.session.scalars(select(User)).all()
    for role in (Role.REVIEWER, Role.APPROVER, Role.ADMIN, Role.PARTNER):
        holders = [user for user in users if user.has_role(role)]
        assert len(holders) == 1, role
        assert holders[0].login_name in result.output
    business = [user for user in users if user.has_role(Role.BUSINESS)]
    assert len(business) >= 3
    assert any(user.email is None and user.phone for user in business)
    assert all(user.is_active for user in users)

    organisations = db.session.scalars(select(Organisation)).all()
    assert len(organisations) >= 8
    assert {org.kind for org in organisations} == set(OrganisationKind)
    assert set("AGIHPQK") <= {org.sector for org in organisations}
    communes = {org.commune_code for org in organisations if org.commune_code}
    assert len(communes) >= 5
    with app.test_request_context():
        assert all(geo.is_valid(code) for code in communes)
    assert len({org.size_class for org in organisations}) >= 4  # several classes, and one "not enough information"
    for org in organisations:
        assert check_tax_code(org.tax_code, org.kind) == org.tax_code, org.name
        assert sectors.is_valid(org.sector)
        assert org.size_class is size_class(org.sector, org.employees, org.annual_revenue_vnd, org.capital_vnd)
        assert any(m.role is MemberRole.OWNER for m in org.memberships)
    enterprise_codes = [org.tax_code for org in organisations if org.kind is not OrganisationKind.HOUSEHOLD_BUSINESS]
    assert all(code and len(code) == 10 for code in enterprise_codes)

    created = db.session.scalar(select(func.count()).select_from(AuditEvent)
                                .where(AuditEvent.action == "organisation.create"))
    assert created == len(organisations)


def test_loading_twice_adds_nothing(runner):
    assert runner.invoke(args=["demo", "load"]).exit_code == 0
    before = (count(User), count(Organisation))
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    assert (count(User), count(Organisation)) == before


def test_if_empty_leaves_a_database_with_users_alone(runner):
    UserFactory()
    result = runner.invoke(args=["demo", "load", "--if-empty"])
    assert result.exit_code == 0
    assert "already has users" in result.output
    assert (count(User), count(Organisation)) == (1, 0)


def test_if_empty_loads_into_an_empty_database(runner):
    result = runner.invoke(args=["demo", "load", "--if-empty"])
    assert result.exit_code == 0 and count(Organisation) >= 8


def test_demo_users_log_in_through_the_login_form(runner, client):
    runner.invoke(args=["demo", "load"])
    phone_only = db.session.scalar(select(User).where(User.email.is_(None)))
    for login in ("thamdinh@example.vn", phone_only.phone):
        response = client.post("/auth/login", data={"login": login, "password": demo.DEMO_PASSWORD})
        assert response.status_code == 302, login
        assert client.get("/organisations/").status_code == 200
        client.post("/auth/logout", data={})


def test_a_demo_owner_sees_their_organisations(runner, client):
    runner.invoke(args=["demo", "load"])
    owner = db.session.scalar(select(User).where(User.email == "lan.nguyen@example.vn"))
    client.post("/auth/login", data={"login": owner.email, "password": demo.DEMO_PASSWORD})
    page = client.get("/organisations/").get_data(as_text=True)
    for org in db.session.scalars(select(Organisation)):
        mine = org.member_role(owner) is not None
        assert (org.name in page) is mine, org.name


def test_demo_has_assessments_history_and_a_peer_benchmark(app):
    demo.load()
    organisations = db.session.scalars(db.select(Organisation)).all()
    assert all(assessments.latest_submitted(org) is not None for org in organisations)
    with_history = [org.name for org in organisations if len(assessments.history(org)) > 1]
    assert sorted(with_history) == sorted(demo.WITH_HISTORY)
    shop = next(org for org in organisations if org.name == "Tạp hóa Cô Ba")
    latest = assessments.latest_submitted(shop)
    assert assessments.peer_benchmark(latest).available
    assert assessments.deltas(latest, assessments.previous_submitted(latest))


def test_demo_applications_cover_the_review_and_their_documents_exist(app):
    from app.models import Application, ApplicationStatus, Programme
    from app.services import documents

    demo.load()
    applications = db.session.scalars(select(Application)).all()
    states = {application.status for application in applications}
    assert {ApplicationStatus.SUBMITTED, ApplicationStatus.IN_REVIEW, ApplicationStatus.INFO_REQUESTED,
            ApplicationStatus.RECOMMENDED, ApplicationStatus.APPROVED, ApplicationStatus.REJECTED} <= states
    for application in applications:
        assert application.documents, "every demo application carries its documents"
        for document in application.documents:
            assert documents.path_of(document).read_bytes().startswith(b"%PDF-")
    for programme in db.session.scalars(select(Programme)):
        approved = sum(a.approved_vnd or 0 for a in applications
                       if a.programme_id == programme.id and a.status is ApplicationStatus.APPROVED)
        assert programme.committed_vnd == approved
    demo.load()
    assert count(Application) == len(applications), "loading twice adds nothing"
