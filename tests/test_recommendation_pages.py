"""The recommendations page through the browser's eyes: who may see it, what it recommends with which
reasons and amounts, what is out of reach and why, and the "What do you need help with?" form."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from flask import current_app, url_for
from markupsafe import escape
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, OrganisationKind, Role, SizeClass
from app.models.catalogue import Partner, Programme, ProgrammeKind
from app.models.organisation import Membership
from app.services import assessments
from app.services.formatting import format_date
from tests.assessment_helpers import full_answers
from tests.factories import OrganisationFactory, UserFactory
from tests.recommendation_helpers import TODAY, programme, standard_catalogue, text


def login(client, user) -> None:
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True


def submit(organisation, user, strength: str = "worst"):
    """A submitted self-assessment; "worst" answers give level 0, which every test programme accepts."""
    draft = assessments.start(organisation, user)
    assert assessments.save_answers(draft, user, full_answers(assessments.framework_of(draft), draft.track,
                                                              strength)) == {}
    assessments.submit(draft, user)
    db.session.commit()
    return draft


def url(organisation) -> str:
    return f"/organisations/{organisation.id}/recommendations/"


def needs_url(organisation) -> str:
    return f"/organisations/{organisation.id}/recommendations/needs"


def section(html: str, heading_id: str) -> str:
    """The HTML of the <section> labelled by ``heading_id``."""
    match = re.search(rf'<section aria-labelledby="{heading_id}">(.*?)</section>', html, re.S)
    assert match, f"no section {heading_id}"
    return match.group(1)


def card(html: str, code: str) -> str:
    """The HTML of one item, from its ``data-...-code`` up to the next item (or the end of ``html``)."""
    marker = re.search(rf'data-(?:programme|partner)-code="{code}"', html)
    assert marker, f"no card for {code}"
    following = re.search(r'data-(?:programme|partner)-code="', html[marker.end():])
    return html[marker.end():marker.end() + following.start()] if following else html[marker.end():]


def not_eligible_block(html: str) -> str:
    match = re.search(r'<details class="not-eligible">(.*?)</details>', html, re.S)
    assert match, "no collapsed list of programmes out of reach"
    return match.group(1)


def order(html: str, codes: list[str]) -> list[str]:
    """``codes`` in the order the page shows them."""
    found = [c for c in codes if f'data-programme-code="{c}"' in html]
    return sorted(found, key=lambda c: html.index(f'data-programme-code="{c}"'))


def programme_id(code: str) -> int:
    return db.session.scalar(select(Programme.id).where(Programme.code == code))


def partner_id(code: str) -> int:
    return db.session.scalar(select(Partner.id).where(Partner.code == code))


def catalogue_url(endpoint: str, **values) -> str:
    with current_app.test_request_context():
        return url_for(endpoint, **values)


@pytest.fixture
def owner():
    return UserFactory(locale="en")


@pytest.fixture
def enterprise(owner):
    """A micro trading enterprise (8 people, 2 billion VND a year)."""
    return OrganisationFactory(owner=owner, name="Công ty TNHH Minh Phát", size_class=SizeClass.MICRO)


@pytest.fixture
def catalogue():
    standard_catalogue()


@pytest.fixture
def assessed(owner, enterprise, catalogue):
    return submit(enterprise, owner)


# --- Who may see it ----------------------------------------------------------------------------------------


def test_members_see_the_page_and_staff_read_it_without_the_form(client, owner, enterprise, assessed):
    login(client, owner)
    page = client.get(url(enterprise))
    assert page.status_code == 200
    assert 'name="needs"' in page.text and "Recommended support" in page.text

    login(client, UserFactory(roles=[Role.REVIEWER], locale="en"))
    staff = client.get(url(enterprise))
    assert staff.status_code == 200
    assert 'data-programme-code="DATA-TOOLS"' in staff.text
    assert 'name="needs"' not in staff.text, "staff read; they do not speak for the business"
    assert client.post(needs_url(enterprise), data={"needs": "x"}).status_code == 404
    assert db.session.get(type(assessed), assessed.id).needs is None


def test_another_business_gets_404_and_anonymous_visitors_log_in(client, enterprise, assessed):
    login(client, UserFactory())
    assert client.get(url(enterprise)).status_code == 404
    assert client.post(needs_url(enterprise), data={"needs": "bán hàng online"}).status_code == 404
    assert client.get("/organisations/999999/recommendations/").status_code == 404

    with client.session_transaction() as session:
        session.clear()
    response = client.get(url(enterprise))
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "assessment.needs_update")) == 0


# --- What it shows -----------------------------------------------------------------------------------------


def test_programmes_show_the_maximum_subsidy_closing_date_reasons_and_how_to_apply(client, owner, enterprise,
                                                                                     assessed):
    login(client, owner)
    html = client.get(url(enterprise)).text
    programmes = section(html, "programmes-heading")
    data = card(programmes, "DATA-TOOLS")
    assert "Support for data management tools" in data
    assert "Subsidy" in data, "the kind of programme"
    assert "20.000.000\u00a0₫" in data, "the cap for a micro business, formatted in VND"
    assert format_date(TODAY + dt.timedelta(days=60)) in data
    reasons = re.findall(r"<li>(.*?)</li>", data.split('class="reasons"', 1)[1])
    assert 1 <= len(reasons) <= 3 and all(r.strip() for r in reasons)
    training = card(programmes, "DX-TRAINING")
    assert "No money for your size class; training or consulting only" in training
    application_form = catalogue_url("applications.new", org_id=enterprise.id, programme="DATA-TOOLS")
    apply_link = (rf'<a [^>]*href="{re.escape(application_form)}"[^>]*data-apply-programme="DATA-TOOLS"'
                  r'[^>]*>How to apply')
    assert re.search(apply_link, data), "the apply link opens the application form for this programme"
    for code in ("COOP-ONLY", "CLOSED-2020", "NO-BUDGET"):
        assert f'data-programme-code="{code}"' not in programmes, f"{code} is out of reach and never recommended"


def test_partners_show_categories_price_contacts_and_reasons_but_only_vetted_ones(client, owner, enterprise,
                                                                                   assessed):
    login(client, owner)
    partners = section(client.get(url(enterprise)).text, "partners-heading")
    accounting = card(partners, "P-ACC-001")
    assert "Công ty TNHH Kế toán Số" in accounting
    profile_page = catalogue_url("catalogue.partner", partner_id=partner_id("P-ACC-001"))
    assert f'<a href="{profile_page}">Công ty TNHH Kế toán Số</a>' in accounting
    assert "Accounting software" in accounting and "E-invoicing" in accounting, "categories in words"
    assert "Low cost" in accounting
    assert 'href="tel:02553123456"' in accounting and "mailto:lienhe-p-acc-001@example.vn" in accounting
    assert 'href="https://example.vn"' in accounting
    assert re.search(r'class="reasons">\s*<li>', accounting), "each partner says why"
    assert "Công ty Chờ Duyệt" not in partners and "Công ty Bị Đình Chỉ" not in partners


def test_programmes_out_of_reach_are_collapsed_with_their_reasons(client, owner, enterprise, assessed):
    login(client, owner)
    block = not_eligible_block(client.get(url(enterprise)).text)
    assert "Programmes you cannot get now, and why" in block
    for code, name in (("COOP-ONLY", "Support for cooperatives"), ("CLOSED-2020", "A closed programme"),
                       ("NO-BUDGET", "A programme with no budget left")):
        item = card(block, code)
        assert name in item
        assert re.search(r'class="reasons">\s*<li>\S', item), f"{code} says why not"
    assert 'data-programme-code="DATA-TOOLS"' not in block


def test_texts_follow_the_users_language(client, enterprise, assessed):
    vietnamese = UserFactory(locale="vi")
    db.session.add(Membership(organisation_id=enterprise.id, user_id=vietnamese.id))
    db.session.commit()
    login(client, vietnamese)
    html = client.get(url(enterprise)).text
    assert "Hỗ trợ công cụ quản lý dữ liệu" in html and "Support for data management tools" not in html
    assert "Hỗ trợ hợp tác xã" in not_eligible_block(html) and "Support for cooperatives" not in html


def test_without_a_submitted_assessment_the_page_explains_and_links_to_it(client, owner, enterprise, catalogue):
    login(client, owner)
    assessments.start(enterprise, owner)  # a draft does not count
    db.session.commit()
    response = client.get(url(enterprise))
    assert response.status_code == 200
    assert "has not submitted one yet" in response.text
    assert f'href="/organisations/{enterprise.id}/assessments/"' in response.text
    assert "data-programme-code" not in response.text
    refused = client.post(needs_url(enterprise), data={"needs": "website"})
    assert refused.status_code == 303


def test_the_results_and_organisation_pages_link_here_once_an_assessment_is_submitted(client, owner, enterprise,
                                                                                     catalogue):
    login(client, owner)
    detail = f"/organisations/{enterprise.id}"
    assert f'href="{url(enterprise)}"' not in client.get(detail).text
    done = submit(enterprise, owner)
    assert f'href="{url(enterprise)}"' in client.get(detail).text
    results = client.get(f"/organisations/{enterprise.id}/assessments/{done.id}/results").text
    assert f'href="{url(enterprise)}"' in results and "See recommended support" in results


# --- What do you need help with? -----------------------------------------------------------------------------


def test_saving_needs_is_audited_and_shown_again(client, owner, enterprise, assessed):
    login(client, owner)
    response = client.post(needs_url(enterprise), data={"needs": "  Xuất hoá đơn điện tử\r\nvà bán hàng online  "})
    assert response.status_code == 303
    assert response.headers["Location"].startswith(url(enterprise))
    saved = db.session.get(type(assessed), assessed.id)
    assert saved.needs == "Xuất hoá đơn điện tử\nvà bán hàng online"
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "assessment.needs_update"))
    assert event.object_id == str(assessed.id) and event.actor_id == owner.id
    assert event.before == {"needs": None} and event.after == {"needs": saved.needs}
    page = client.get(url(enterprise)).text
    assert str(escape("Xuất hoá đơn điện tử")) in page

    again = client.post(needs_url(enterprise), data={"needs": saved.needs})
    assert again.status_code == 303
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "assessment.needs_update")) == 1, "no change, no record"


def test_needs_are_saved_on_the_latest_submitted_assessment(client, owner, enterprise, assessed):
    newer = submit(enterprise, owner)
    login(client, owner)
    client.post(needs_url(enterprise), data={"needs": "website"})
    assert db.session.get(type(newer), newer.id).needs == "website"
    assert db.session.get(type(assessed), assessed.id).needs is None


def test_too_long_needs_are_refused_with_a_message(client, owner, enterprise, assessed):
    login(client, owner)
    response = client.post(needs_url(enterprise), data={"needs": "x" * 1001})
    assert response.status_code == 400
    assert "Please keep it to 1000 characters or fewer." in response.text
    assert 'aria-invalid="true"' in response.text
    assert db.session.get(type(assessed), assessed.id).needs is None
    lines = "\r\n".join(["y" * 99] * 10)  # 1,000 characters as the browser counts them, 1,009 as sent
    assert client.post(needs_url(enterprise), data={"needs": lines}).status_code == 303


def test_needs_without_the_csrf_token_are_refused(client, owner, enterprise, assessed):
    login(client, owner)
    response = client.post(needs_url(enterprise), data={"needs": "website"}, csrf=False)
    assert response.status_code == 400
    assert db.session.get(type(assessed), assessed.id).needs is None


def test_needs_change_the_ranking_when_they_match_a_programme(client, owner, enterprise, catalogue):
    """Two programmes alike in everything but their words: the one matching the needs comes first."""
    same = {"pillars": ["operations"], "kind": ProgrammeKind.VOUCHER}
    programme("EINVOICE-AID", name=text("Hỗ trợ hoá đơn điện tử", "E-invoice support"),
              summary=text("Chuyển sang hoá đơn điện tử, kết nối cơ quan thuế.",
                           "Move to e-invoices connected to the tax office."), **same)
    programme("WAREHOUSE-AID", name=text("Hỗ trợ quản lý kho", "Warehouse support"),
              summary=text("Quản lý kho hàng, tồn kho, nhập xuất.", "Manage stock, inventory, goods in and out."),
              **same)
    db.session.commit()
    submit(enterprise, owner)
    login(client, owner)
    codes = ["EINVOICE-AID", "WAREHOUSE-AID"]

    client.post(needs_url(enterprise), data={"needs": "quản lý kho hàng và tồn kho"})
    stock_first = order(section(client.get(url(enterprise)).text, "programmes-heading"), codes)
    client.post(needs_url(enterprise), data={"needs": "hoá đơn điện tử cho cơ quan thuế"})
    invoice_first = order(section(client.get(url(enterprise)).text, "programmes-heading"), codes)

    assert stock_first == ["WAREHOUSE-AID", "EINVOICE-AID"]
    assert invoice_first == ["EINVOICE-AID", "WAREHOUSE-AID"]


def test_a_household_business_sees_programmes_for_its_kind_only(client, catalogue):
    owner = UserFactory(locale="en")
    shop = OrganisationFactory(owner=owner, kind=OrganisationKind.HOUSEHOLD_BUSINESS, name="Tạp hoá Cô Ba",
                               employees=2, annual_revenue_vnd=500_000_000, capital_vnd=None,
                               size_class=SizeClass.MICRO)
    programme("ENTERPRISE-ONLY", org_kinds=["enterprise"], name=text("Chỉ doanh nghiệp", "Enterprises only"))
    db.session.commit()
    submit(shop, owner)
    login(client, owner)
    html = client.get(url(shop)).text
    assert 'data-programme-code="ENTERPRISE-ONLY"' not in section(html, "programmes-heading")
    assert "Enterprises only" in not_eligible_block(html)
