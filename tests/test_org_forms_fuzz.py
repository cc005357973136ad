"""Whatever is typed into the organisation forms, the answer is a page or a redirect, never a 500;
a refused form says why, and anything saved obeys the profile's rules."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.extensions import db
from app.models import Organisation, OrganisationKind
from app.services import geo, sectors
from app.services.organisations import check_tax_code, create_organisation, size_class
from tests.factories import DEFAULT_PASSWORD, OrganisationFactory, UserFactory

ENTERPRISE_FIELDS = ["name", "tax_code", "sector", "commune_code", "address", "employees", "annual_revenue_vnd",
                     "capital_vnd", "founded_year", "contact_name", "contact_phone", "contact_email", "website"]
HOUSEHOLD_FIELDS = ["name", "tax_code", "sector", "commune_code", "employees", "annual_revenue_vnd"]
FUZZ = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

#: Plausible and hostile values: any text, numbers written in many ways, codes from the lists.
values = st.one_of(
    st.text(max_size=60),
    st.text(alphabet=st.sampled_from("0123456789 .,-–đ₫VND\u00a0"), max_size=30),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.sampled_from(["", "0100109106", "0100109106-001", "051190012345", "A", "G", "Z", "21211", "99999",
                     "x" * 300, "\x00", "<script>alert(1)</script>", "１２３", "1e9", "NaN"]),
)


def form_data(fields):
    return st.dictionaries(st.sampled_from(fields), values, max_size=len(fields))


@pytest.fixture
def logged_in(client):
    user = UserFactory(locale="en")
    response = client.post("/auth/login", data={"login": user.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    return user


def check_response(response):
    assert response.status_code in (200, 302, 303, 400), response.status_code
    if response.status_code == 400:
        page = response.get_data(as_text=True)
        assert 'class="error-summary"' in page or 'class="error-message"' in page


def check_saved(app):
    """Every stored organisation respects the rules the forms and service promise."""
    with app.test_request_context():
        for org in db.session.scalars(select(Organisation)):
            assert check_tax_code(org.tax_code, org.kind) == org.tax_code
            assert sectors.is_valid(org.sector)
            assert org.commune_code is None or geo.is_valid(org.commune_code)
            assert org.size_class is size_class(org.sector, org.employees, org.annual_revenue_vnd, org.capital_vnd)
            for amount in (org.annual_revenue_vnd, org.capital_vnd):
                assert amount is None or 0 <= amount <= 10**17
            assert org.name and len(org.name) <= 200


@pytest.mark.parametrize("kind", ["enterprise", "cooperative"])
@FUZZ
@given(data=form_data(ENTERPRISE_FIELDS))
def test_fuzz_create_enterprise_forms(app, client, logged_in, kind, data):
    check_response(client.post(f"/organisations/new?kind={kind}", data=data))
    check_saved(app)


@FUZZ
@given(data=form_data(HOUSEHOLD_FIELDS))
def test_fuzz_create_household_form(app, client, logged_in, data):
    check_response(client.post("/organisations/new?kind=household_business", data=data))
    check_saved(app)


@FUZZ
@given(data=form_data(ENTERPRISE_FIELDS), kind=st.text(max_size=20))
def test_fuzz_edit_form_and_kind_parameter(app, client, logged_in, data, kind):
    org = db.session.scalar(select(Organisation).where(Organisation.kind == OrganisationKind.ENTERPRISE))
    if org is None:
        org = create_organisation(logged_in, OrganisationKind.ENTERPRISE, {
            "name": "Công ty TNHH Sông Trà", "tax_code": "0100109106", "sector": "G", "employees": 8,
            "annual_revenue_vnd": 2 * 10**9})
        db.session.commit()
    check_response(client.post(f"/organisations/{org.id}/edit", data=data))
    check_response(client.post("/organisations/new", query_string={"kind": kind}, data=data))
    check_saved(app)


@FUZZ
@given(contact=values, role=values)
def test_fuzz_invite_form(client, logged_in, contact, role):
    org = db.session.scalar(select(Organisation)) or OrganisationFactory(owner=logged_in)
    check_response(client.post(f"/organisations/{org.id}/members/invite", data={"contact": contact,
                                                                                "member_role": role}))
