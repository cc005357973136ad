"""Whatever is typed into the catalogue forms or the public filters, the answer is a page or a redirect,
never a 500; a refused form says why, and whatever is saved obeys the catalogue's rules."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.extensions import db
from app.models import PARTNER_CATEGORIES, Partner, PartnerMember, PartnerRevision, Programme, Role
from app.models.organisation import OrganisationKind
from app.services import catalogue, geo, sectors
from app.services.organisations import check_tax_code
from tests.catalogue_helpers import make_partner, partner_post, profile_post, programme_post
from tests.factories import UserFactory
from tests.test_admin import login_as

FUZZ = settings(max_examples=30, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

#: Plausible and hostile values: any text, numbers and dates written in many ways, codes from the lists.
values = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.sampled_from("0123456789 .,-/%đ₫VND\u00a0"), max_size=24),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.sampled_from(["", "A", "G", "ZZ", "data", "crm", "e_invoice", "micro", "enterprise", "21211", "99999",
                     "subsidy", "low", "0", "5", "6", "100", "100,01", "31/02/2026", "2026-13-01", "29/02/2028",
                     "x" * 300, "\x00", "<script>alert(1)</script>", "１２３", "1e9", "NaN", "javascript:alert(1)",
                     "0100109106", "0100109107", "y"]),
)
PROGRAMME_FIELDS = [*programme_post(), "documents-2-code", "documents-2-name_vi", "documents-2-required",
                    "documents-999-code", "cap_medium", "cap_large", "communes"]
PARTNER_FIELDS = [*partner_post(), "sectors", "communes"]


def overrides(fields):
    """Some fields replaced by fuzz (lists for the checkbox groups), the rest left valid so deep rules run."""
    return st.dictionaries(
        st.sampled_from(fields),
        st.one_of(values, st.lists(values, max_size=4)),
        max_size=6,
    )


def check_response(response, ok=(200, 302, 303)):
    assert response.status_code in (*ok, 400), response.status_code
    if response.status_code == 400:
        page = response.get_data(as_text=True)
        assert 'class="error-summary"' in page or 'class="error-message"' in page


def check_programmes():
    """Every stored programme respects the rules of the exchange format."""
    for p in db.session.scalars(select(Programme)):
        assert catalogue.CODE_RE.match(p.code)
        assert 0 < p.support_rate <= 1
        assert 0 <= p.level_min <= p.level_max <= 5
        assert p.opens_on <= p.closes_on
        assert p.org_kinds and set(p.org_kinds) <= {k.value for k in OrganisationKind}
        assert set(p.sectors) <= set(sectors.SECTION_LETTERS)
        assert all(geo.is_valid(code) for code in p.communes)
        assert all(isinstance(cap, int) and cap > 0 for cap in p.caps_vnd.values())
        assert 0 < p.budget_vnd <= catalogue.MAX_VND
        codes = [d.code for d in p.documents]
        assert len(codes) == len(set(codes)) and all(catalogue.CODE_RE.match(c) for c in codes)
        for text in (p.name, p.sponsor, p.summary):
            assert text["vi"].strip() and text["en"].strip() and "\x00" not in text["vi"] + text["en"]


def check_partners():
    for p in db.session.scalars(select(Partner)):
        assert catalogue.CODE_RE.match(p.code)
        assert p.tax_code is None or check_tax_code(p.tax_code, OrganisationKind.ENTERPRISE) == p.tax_code
        assert p.categories and set(p.categories) <= set(PARTNER_CATEGORIES)
        assert p.website is None or p.website.startswith(("https://", "http://"))
        assert p.name.strip() and len(p.name) <= 200


@pytest.fixture
def staff(client):
    user = UserFactory(roles=[Role.REVIEWER], locale="en")
    login_as(client, user)
    return user


@FUZZ
@given(changes=overrides(PROGRAMME_FIELDS), code=st.from_regex(r"[A-Z0-9][A-Z0-9-]{1,10}", fullmatch=True))
def test_fuzz_programme_create_form(client, staff, changes, code):
    response = client.post("/catalogue/manage/programmes/new", data={**programme_post(code=code), **changes})
    check_response(response)
    if not changes and db.session.scalar(select(Programme.id).where(Programme.code == code)) is None:
        pytest.fail(f"a valid programme was refused: {response.status_code}")
    check_programmes()


@FUZZ
@given(changes=overrides(PROGRAMME_FIELDS))
def test_fuzz_programme_edit_form(client, staff, changes):
    programme = db.session.scalar(select(Programme))
    if programme is None:
        assert client.post("/catalogue/manage/programmes/new", data=programme_post()).status_code == 303
        programme = db.session.scalar(select(Programme))
    check_response(client.post(f"/catalogue/manage/programmes/{programme.id}/edit",
                               data={**programme_post(), **changes}))
    assert db.session.get(Programme, programme.id).code == "ND80-SOLUTIONS"
    check_programmes()


@FUZZ
@given(changes=overrides(PARTNER_FIELDS), code=st.from_regex(r"P-[A-Z0-9]{1,8}", fullmatch=True))
def test_fuzz_partner_form(client, staff, changes, code):
    response = client.post("/catalogue/manage/partners/new", data={**partner_post(code=code, tax_code=""), **changes})
    check_response(response)
    if not changes:
        assert db.session.scalar(select(Partner.id).where(Partner.code == code)) is not None
    check_partners()


@FUZZ
@given(action=values, reason=values)
def test_fuzz_vetting_form(client, staff, action, reason):
    partner = db.session.scalar(select(Partner)) or make_partner()
    check_response(client.post(f"/catalogue/manage/partners/{partner.id}/status",
                               data={"action": action, "reason": reason}))


@FUZZ
@given(changes=overrides([key for key in PARTNER_FIELDS if key not in ("code", "name", "tax_code")]))
def test_fuzz_partner_proposal(client, changes):
    member = db.session.scalar(select(PartnerMember))
    user = member.user if member is not None else None
    if user is None:
        user = UserFactory(roles=[Role.PARTNER])
        make_partner(members=[user])
    login_as(client, user)
    partner = catalogue.partners_of(user)[0]
    check_response(client.post(f"/catalogue/partner/{partner.id}/profile", data={**profile_post(), **changes}))
    for revision in db.session.scalars(select(PartnerRevision)):
        assert revision.data["categories"] and set(revision.data["categories"]) <= set(PARTNER_CATEGORIES)


@FUZZ
@given(params=st.dictionaries(st.sampled_from(["sector", "kind", "category", "pillar", "page", "q", "status",
                                               "open_now"]), values, max_size=5))
def test_fuzz_public_and_staff_filters(client, params):
    response = client.get("/catalogue/", query_string=params)
    check_response(response, ok=(200,))
    login_as(client, UserFactory(roles=[Role.ADMIN]))
    check_response(client.get("/catalogue/manage/programmes", query_string=params), ok=(200,))
    check_response(client.get("/catalogue/manage/partners", query_string=params), ok=(200,))
    client.post("/auth/logout", data={})
