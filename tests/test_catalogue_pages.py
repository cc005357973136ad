"""Catalogue pages through the test client: staff management, vetting, partner proposals, the public
catalogue and who may open what."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, Partner, PartnerRevision, PartnerStatus, Programme, RevisionStatus, Role
from app.services.catalogue import today
from tests.catalogue_helpers import make_partner, make_programme, partner_post, profile_post, programme_post
from tests.factories import UserFactory
from tests.test_admin import count_queries, login_as

STAFF_PAGES = ["/catalogue/manage/programmes", "/catalogue/manage/programmes/new", "/catalogue/manage/partners",
               "/catalogue/manage/partners/new", "/catalogue/manage/revisions"]


@pytest.fixture
def reviewer(client):
    user = UserFactory(roles=[Role.REVIEWER], locale="en", full_name="Rita Reviewer")
    login_as(client, user)
    return user


def page(response) -> str:
    return response.get_data(as_text=True)


def audit_actions() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# Who may open what ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", STAFF_PAGES)
def test_staff_pages_need_a_reviewer_or_admin(client, path):
    anonymous = client.get(path)
    assert anonymous.status_code == 302 and "/auth/login" in anonymous.headers["Location"]
    login_as(client, UserFactory(roles=[Role.BUSINESS, Role.PARTNER, Role.APPROVER]))
    assert client.get(path).status_code == 403
    login_as(client, UserFactory(roles=[Role.ADMIN]))
    assert client.get(path).status_code == 200


def test_public_pages_are_open_to_everyone(client):
    programme, partner = make_programme(), make_partner()
    for path in ("/catalogue/", f"/catalogue/programmes/{programme.id}", f"/catalogue/partners/{partner.id}"):
        assert client.get(path).status_code == 200
    login_as(client, UserFactory(roles=[Role.BUSINESS]))
    assert client.get("/catalogue/").status_code == 200


def test_nav_links(client):
    assert 'href="/catalogue/"' in page(client.get("/"))
    assert "/catalogue/manage/programmes" not in page(client.get("/"))
    login_as(client, UserFactory(roles=[Role.REVIEWER]))
    assert "/catalogue/manage/programmes" in page(client.get("/"))
    login_as(client, UserFactory(roles=[Role.PARTNER]))
    assert 'href="/catalogue/partner/"' in page(client.get("/"))


# Staff: programmes ----------------------------------------------------------------------------------


def test_create_a_programme(client, reviewer):
    response = client.post("/catalogue/manage/programmes/new", data=programme_post(
        code="nd80-solutions", support_rate="12,5%", opens_on="2026-01-01",
        **{"documents-2-code": "licence", "documents-2-name_vi": "Giấy phép", "documents-2-name_en": "Licence"}))
    assert response.status_code == 303
    programme = db.session.scalar(select(Programme))
    assert response.headers["Location"].endswith(f"/catalogue/manage/programmes/{programme.id}/edit")
    assert programme.code == "ND80-SOLUTIONS"
    assert programme.support_rate == 0.125
    assert programme.caps_vnd == {"micro": 20_000_000, "small": 50_000_000}  # blank caps: no money
    assert programme.budget_vnd == 3_000_000_000
    assert (programme.opens_on, programme.closes_on) == (dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    assert (programme.level_min, programme.level_max) == (0, 3)
    assert [(d.code, d.required) for d in programme.documents] == [("QUOTE", True), ("LICENCE", False)]
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "programme.create"))
    assert event.actor_id == reviewer.id


@pytest.mark.parametrize(("overrides", "message"), [
    ({"code": "bad code!"}, "2 to 40 capital letters"),
    ({"support_rate": "0"}, "more than 0% and at most 100%"),
    ({"support_rate": "150"}, "more than 0% and at most 100%"),
    ({"support_rate": "half"}, "as a percentage"),
    ({"closes_on": "31/12/2025"}, "cannot be before the opening date"),
    ({"opens_on": "31/02/2026"}, "dd/mm/yyyy"),
    ({"level_min": "4", "level_max": "1"}, "cannot be below the lowest level"),
    ({"cap_micro": "-5"}, "cannot be negative"),
    ({"cap_micro": "0"}, "above 0"),
    ({"budget_vnd": ""}, "Enter the total budget"),
    ({"org_kinds": None}, "Tick at least one kind"),
    ({"pillars": None}, "Tick at least one pillar"),
    ({"cap_medium": "10.000.000"}, "not among the sizes that may apply"),
    ({"budget_vnd": "2.000.000.000.000.000"}, "too large"),
    ({"name_vi": "Tên\x00"}, "control"),
    ({"sectors": ["A", "ZZ"]}, "Choose from the list"),
    ({"name_en": ""}, "Enter the name in English"),
    ({"documents-1-code": "EXTRA"}, "Enter the name in both Vietnamese and English"),
    ({"documents-1-code": "QUOTE", "documents-1-name_vi": "x", "documents-1-name_en": "y"}, "used twice"),
])
def test_invalid_programme_is_refused_with_a_message(client, reviewer, overrides, message):
    response = client.post("/catalogue/manage/programmes/new", data=programme_post(**overrides))
    assert response.status_code == 400
    assert message in page(response)
    assert 'class="error-summary"' in page(response)
    assert count(Programme) == 0 and audit_actions() == []


def test_line_breaks_are_stored_as_in_the_exchange_format(client, reviewer):
    """Browsers send CR LF; the exchange format refuses CR, so the summary is stored with LF only."""
    client.post("/catalogue/manage/programmes/new", data=programme_post(summary_vi="Dòng một\r\nDòng hai"))
    assert db.session.scalar(select(Programme)).summary["vi"] == "Dòng một\nDòng hai"


def test_duplicate_code_is_refused(client, reviewer):
    make_programme(code="ND80-SOLUTIONS")
    response = client.post("/catalogue/manage/programmes/new", data=programme_post())
    assert response.status_code == 400
    assert "Another programme already has the code ND80-SOLUTIONS" in page(response)
    assert count(Programme) == 1


def test_edit_form_shows_documents_and_blank_rows(client, reviewer):
    programme = make_programme(documents=[("QUOTE", "Báo giá", "Quotation", True),
                                          ("LICENCE", "Giấy phép", "Licence", False)], support_rate=0.125)
    html = page(client.get(f"/catalogue/manage/programmes/{programme.id}/edit"))
    assert 'value="QUOTE"' in html and 'value="LICENCE"' in html
    assert 'name="documents-4-code"' in html and 'name="documents-5-code"' not in html
    assert 'name="code"' not in html and programme.code in html
    assert 'value="12,5"' in html and 'value="20.000.000"' in html


def test_edit_keeps_the_code_and_audits_changes_only(client, reviewer):
    client.post("/catalogue/manage/programmes/new", data=programme_post())
    programme = db.session.scalar(select(Programme))
    response = client.post(f"/catalogue/manage/programmes/{programme.id}/edit",
                           data=programme_post(code="HACKED", name_en="Digital solutions support 2026",
                                               **{"documents-0-code": "", "documents-0-name_vi": "",
                                                  "documents-0-name_en": ""}))
    assert response.status_code == 303
    programme = db.session.get(Programme, programme.id)
    assert programme.code == "ND80-SOLUTIONS"
    assert programme.documents == []  # blanking the row removed the document
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "programme.update"))
    assert set(event.after) == {"name", "documents"}
    assert event.after["name"]["en"] == "Digital solutions support 2026"


def test_invalid_edit_saves_nothing(client, reviewer):
    programme = make_programme()
    response = client.post(f"/catalogue/manage/programmes/{programme.id}/edit",
                           data=programme_post(support_rate="0", name_en="Changed"))
    assert response.status_code == 400
    assert db.session.get(Programme, programme.id).name["en"] != "Changed"
    assert audit_actions() == []


def test_retire_with_confirmation_and_restore(client, reviewer):
    programme = make_programme()
    assert f"/catalogue/programmes/{programme.id}" in page(client.get("/catalogue/"))
    confirm = client.get(f"/catalogue/manage/programmes/{programme.id}/retire")
    assert confirm.status_code == 200 and "Yes, retire it" in page(confirm)
    assert db.session.get(Programme, programme.id).retired_at is None
    assert client.post(f"/catalogue/manage/programmes/{programme.id}/retire", data={}).status_code == 303
    assert db.session.get(Programme, programme.id).retired_at is not None
    assert f"/catalogue/programmes/{programme.id}" not in page(client.get("/catalogue/"))
    assert client.get(f"/catalogue/programmes/{programme.id}").status_code == 404
    assert client.post(f"/catalogue/manage/programmes/{programme.id}/restore", data={}).status_code == 303
    assert db.session.get(Programme, programme.id).retired_at is None
    assert audit_actions() == ["programme.retire", "programme.restore"]


def test_retire_needs_the_csrf_token(client, reviewer):
    programme = make_programme()
    response = client.post(f"/catalogue/manage/programmes/{programme.id}/retire", data={}, csrf=False)
    assert response.status_code == 400
    assert db.session.get(Programme, programme.id).retired_at is None


def test_programme_list_search_and_filters(client, reviewer):
    on = today()
    make_programme(code="ND80-A", name={"vi": "Hỗ trợ thương mại điện tử", "en": "E-commerce boost"})
    make_programme(code="TRAIN-B", kind="training", opens_on=on + dt.timedelta(days=5),
                   closes_on=on + dt.timedelta(days=50))
    make_programme(code="OLD-C", retired_at=dt.datetime.now(dt.UTC))
    html = page(client.get("/catalogue/manage/programmes"))
    assert "ND80-A" in html and "TRAIN-B" in html and "OLD-C" not in html
    assert "TRAIN-B" not in page(client.get("/catalogue/manage/programmes?q=thương"))
    assert "ND80-A" not in page(client.get("/catalogue/manage/programmes?kind=training"))
    assert "TRAIN-B" not in page(client.get("/catalogue/manage/programmes?open_now=y"))
    assert "OLD-C" in page(client.get("/catalogue/manage/programmes?status=retired"))
    assert client.get("/catalogue/manage/programmes?kind=nonsense").status_code == 400


# Staff: partners and vetting ------------------------------------------------------------------------


def test_create_partner_then_vet_it_with_a_reason(client, reviewer):
    response = client.post("/catalogue/manage/partners/new", data=partner_post())
    assert response.status_code == 303
    partner = db.session.scalar(select(Partner))
    assert partner.status is PartnerStatus.PENDING
    assert (partner.website, partner.email) == ("https://example.vn", "lienhe@example.vn")
    assert client.get(f"/catalogue/partners/{partner.id}").status_code == 404

    refused = client.post(f"/catalogue/manage/partners/{partner.id}/status", data={"action": "vet", "reason": ""})
    assert refused.status_code == 400 and "Give the reason for this change" in page(refused)
    assert db.session.get(Partner, partner.id).status is PartnerStatus.PENDING

    wrong = client.post(f"/catalogue/manage/partners/{partner.id}/status", data={"action": "suspend", "reason": "x"})
    assert wrong.status_code == 400
    assert db.session.get(Partner, partner.id).status is PartnerStatus.PENDING

    done = client.post(f"/catalogue/manage/partners/{partner.id}/status",
                       data={"action": "vet", "reason": "Visited the office; references checked"})
    assert done.status_code == 303
    assert db.session.get(Partner, partner.id).status is PartnerStatus.VETTED
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "partner.status_change"))
    assert event.before == {"status": "pending"}
    assert event.after == {"status": "vetted", "reason": "Visited the office; references checked"}
    detail = page(client.get(f"/catalogue/manage/partners/{partner.id}"))
    assert "Vetting history" in detail and "Visited the office; references checked" in detail
    assert "Rita Reviewer" in detail
    assert client.get(f"/catalogue/partners/{partner.id}").status_code == 200


def test_retire_and_restore_a_partner(client, reviewer):
    partner = make_partner(name="Retiring Co")
    assert "Yes, retire it" in page(client.get(f"/catalogue/manage/partners/{partner.id}/retire"))
    assert client.post(f"/catalogue/manage/partners/{partner.id}/retire", data={}).status_code == 303
    assert "Retiring Co" not in page(client.get("/catalogue/"))
    assert client.get(f"/catalogue/partners/{partner.id}").status_code == 404
    assert client.post(f"/catalogue/manage/partners/{partner.id}/restore", data={}).status_code == 303
    assert client.get(f"/catalogue/partners/{partner.id}").status_code == 200
    assert audit_actions() == ["partner.retire", "partner.restore"]


def test_partner_tax_code_is_checked(client, reviewer):
    response = client.post("/catalogue/manage/partners/new", data=partner_post(tax_code="0100109107"))
    assert response.status_code == 400 and "last digit does not match" in page(response)
    assert count(Partner) == 0


def test_partner_code_is_immutable(client, reviewer):
    partner = make_partner(code="P-KEEP")
    response = client.post(f"/catalogue/manage/partners/{partner.id}/edit",
                           data=partner_post(code="P-NEW", name="Tên mới"))
    assert response.status_code == 303
    stored = db.session.get(Partner, partner.id)
    assert (stored.code, stored.name) == ("P-KEEP", "Tên mới")


def test_partner_list_filters(client, reviewer):
    make_partner(code="P-VET", name="Alpha", categories=["crm"])
    make_partner(code="P-SUS", name="Beta", status=PartnerStatus.SUSPENDED, tax_code="0100109106")
    assert "P-SUS" not in page(client.get("/catalogue/manage/partners?status=vetted"))
    assert "P-VET" not in page(client.get("/catalogue/manage/partners?category=e_invoice&q="))
    assert "P-SUS" in page(client.get("/catalogue/manage/partners?q=0100109106"))
    assert client.get("/catalogue/manage/partners?status=deleted").status_code == 400


def test_admins_link_partner_users(client):
    partner = make_partner()
    admin = UserFactory(roles=[Role.ADMIN], locale="en")
    partner_user = UserFactory(roles=[Role.PARTNER], email="dev@example.vn", full_name="Dev Partner")
    UserFactory(roles=[Role.BUSINESS], email="shop@example.vn")
    login_as(client, UserFactory(roles=[Role.REVIEWER]))
    assert client.post(f"/catalogue/manage/partners/{partner.id}/members",
                       data={"email": "dev@example.vn"}).status_code == 403
    login_as(client, admin)
    refused = client.post(f"/catalogue/manage/partners/{partner.id}/members", data={"email": "shop@example.vn"})
    assert refused.status_code == 400 and "does not have the IT partner role" in page(refused)
    assert client.post(f"/catalogue/manage/partners/{partner.id}/members",
                       data={"email": "dev@example.vn"}).status_code == 303
    assert "Dev Partner" in page(client.get(f"/catalogue/manage/partners/{partner.id}"))
    db.session.refresh(partner)
    [member] = partner.members
    assert member.user_id == partner_user.id
    assert client.post(f"/catalogue/manage/partners/{partner.id}/members/{member.id}/remove",
                       data={}).status_code == 303
    assert audit_actions() == ["partner.member_add", "partner.member_remove"]


# Partner proposals ----------------------------------------------------------------------------------


def test_partner_proposal_flow(client):
    partner_user = UserFactory(roles=[Role.PARTNER], locale="en")
    partner = make_partner(members=[partner_user], summary={"vi": "Bản cũ", "en": "Old summary"})
    login_as(client, partner_user)
    assert client.get("/catalogue/partner/").headers["Location"].endswith(f"/catalogue/partner/{partner.id}/profile")
    response = client.post(f"/catalogue/partner/{partner.id}/profile",
                           data=profile_post(summary_en="New summary", summary_vi="Bản mới"))
    assert response.status_code == 303
    assert "waiting for review" in page(client.get(f"/catalogue/partner/{partner.id}/profile"))
    # The public page does not change before approval.
    assert "Old summary" in page(client.get(f"/catalogue/partners/{partner.id}"))

    reviewer = UserFactory(roles=[Role.REVIEWER], locale="en")
    login_as(client, reviewer)
    revision = db.session.scalar(select(PartnerRevision))
    assert partner.name in page(client.get("/catalogue/manage/revisions"))
    diff = page(client.get(f"/catalogue/manage/revisions/{revision.id}"))
    assert "Old summary" in diff and "New summary" in diff
    assert client.post(f"/catalogue/manage/revisions/{revision.id}/approve", data={"note": ""}).status_code == 303
    assert db.session.get(PartnerRevision, revision.id).status is RevisionStatus.APPROVED
    assert "New summary" in page(client.get(f"/catalogue/partners/{partner.id}"))
    assert {"partner.revision_submit", "partner.revision_approve", "partner.update"} <= set(audit_actions())


def test_rejected_proposal_shows_the_reviewers_note(client):
    partner_user = UserFactory(roles=[Role.PARTNER], locale="en")
    partner = make_partner(members=[partner_user])
    login_as(client, partner_user)
    client.post(f"/catalogue/partner/{partner.id}/profile", data=profile_post(website="https://other.example.vn"))
    revision = db.session.scalar(select(PartnerRevision))
    login_as(client, UserFactory(roles=[Role.ADMIN], locale="en"))
    refused = client.post(f"/catalogue/manage/revisions/{revision.id}/reject", data={"reason": ""})
    assert refused.status_code == 400
    assert client.post(f"/catalogue/manage/revisions/{revision.id}/reject",
                       data={"reason": "Use your company domain."}).status_code == 303
    assert db.session.get(Partner, partner.id).website == "https://example.vn"
    login_as(client, partner_user)
    html = page(client.get(f"/catalogue/partner/{partner.id}/profile"))
    assert "Rejected on" in html and "Use your company domain." in html


def test_other_partners_users_get_404(client):
    member, outsider = UserFactory(roles=[Role.PARTNER]), UserFactory(roles=[Role.PARTNER])
    partner = make_partner(members=[member])
    make_partner(members=[outsider])
    login_as(client, outsider)
    assert client.get(f"/catalogue/partner/{partner.id}/profile").status_code == 404
    assert client.post(f"/catalogue/partner/{partner.id}/profile", data=profile_post()).status_code == 404
    assert count(PartnerRevision) == 0


def test_a_proposal_cannot_touch_code_or_status(client):
    partner_user = UserFactory(roles=[Role.PARTNER])
    partner = make_partner(members=[partner_user], status=PartnerStatus.PENDING)
    login_as(client, partner_user)
    client.post(f"/catalogue/partner/{partner.id}/profile",
                data=profile_post(code="HIJACK", status="vetted", name="Other", tax_code="0101243150",
                                  summary_en="Changed"))
    revision = db.session.scalar(select(PartnerRevision))
    assert not {"code", "status", "name", "tax_code"} & set(revision.data)
    stored = db.session.get(Partner, partner.id)
    assert stored.status is PartnerStatus.PENDING and stored.code != "HIJACK"


def test_invalid_proposal_is_refused(client):
    partner_user = UserFactory(roles=[Role.PARTNER], locale="en")
    partner = make_partner(members=[partner_user])
    login_as(client, partner_user)
    response = client.post(f"/catalogue/partner/{partner.id}/profile",
                           data=profile_post(categories=None, email="not-an-email"))
    assert response.status_code == 400
    assert "Tick at least one category" in page(response) and "valid e-mail" in page(response)
    assert count(PartnerRevision) == 0


# Public catalogue -----------------------------------------------------------------------------------


def test_public_list_hides_what_is_not_public(client):
    on = today()
    make_programme(code="OPEN-1", name={"vi": "Mở", "en": "Open one"})
    make_programme(code="SOON-1", name={"vi": "Sắp mở", "en": "Opening soon one"},
                   opens_on=on + dt.timedelta(days=10), closes_on=on + dt.timedelta(days=40))
    make_programme(code="GONE-1", name={"vi": "Đã ngừng", "en": "Gone one"}, retired_at=dt.datetime.now(dt.UTC))
    vetted = make_partner(name="Vetted Co")
    pending = make_partner(name="Pending Co", status=PartnerStatus.PENDING)
    suspended = make_partner(name="Suspended Co", status=PartnerStatus.SUSPENDED)
    retired = make_partner(name="Retired Co", retired_at=dt.datetime.now(dt.UTC))
    html = page(client.get("/catalogue/"))
    assert "Mở" in html and "Sắp mở" in html and "Đã ngừng" not in html
    assert "Vetted Co" in html
    for hidden in (pending, suspended, retired):
        assert hidden.name not in html
        assert client.get(f"/catalogue/partners/{hidden.id}").status_code == 404
    assert client.get(f"/catalogue/partners/{vetted.id}").status_code == 200


def test_public_filters(client):
    make_programme(name={"vi": "Cho nông nghiệp", "en": "Farming"}, sectors=["A"])
    make_programme(name={"vi": "Cho mọi ngành", "en": "Everyone"}, sectors=[])
    make_partner(name="CRM Co", categories=["crm"])
    make_partner(name="Invoice Co", categories=["e_invoice"])
    farming = page(client.get("/catalogue/?sector=A"))
    assert "Cho nông nghiệp" in farming and "Cho mọi ngành" in farming
    trade = page(client.get("/catalogue/?sector=G"))
    assert "Cho nông nghiệp" not in trade and "Cho mọi ngành" in trade
    crm = page(client.get("/catalogue/?category=crm"))
    assert "CRM Co" in crm and "Invoice Co" not in crm


@pytest.mark.parametrize("query", ["sector=ZZ", "kind=government", "category=blockchain", "pillar=x",
                                   "page=abc", "page=0", "page=99999999999999999999"])
def test_nonsense_filters_are_a_400_with_a_message(client, query):
    response = client.get(f"/catalogue/?{query}")
    assert response.status_code == 400
    assert 'class="error-summary"' in page(response)


def test_programme_detail_explains_who_can_apply(client):
    login_as(client, UserFactory(roles=[Role.BUSINESS], locale="en"))
    programme = make_programme(
        name={"vi": "Chương trình A", "en": "Programme A"}, sectors=["A"], communes=["21211"],
        org_kinds=["cooperative"], size_classes=["micro"], level_min=1, level_max=3,
        caps_vnd={"micro": 20_000_000}, opens_on=dt.date(2026, 1, 1), closes_on=dt.date(2099, 12, 31),
        documents=[("QUOTE", "Báo giá", "Quotation", True), ("PHOTO", "Ảnh", "Photos", False)])
    html = page(client.get(f"/catalogue/programmes/{programme.id}"))
    assert "Programme A" in html
    assert "Cooperative" in html and "Micro" in html
    assert "Xã Tịnh Khê" in html
    assert "Getting started" in html and "Taking shape" in html  # level names from the framework
    assert "20.000.000\u00a0₫" in html
    assert "01/01/2026" in html and "31/12/2099" in html
    assert "Quotation" in html and "Photos" in html and "optional" in html
    assert "50%" in html


def test_programme_detail_in_vietnamese_by_default(client):
    programme = make_programme(name={"vi": "Chương trình B", "en": "Programme B"})
    html = page(client.get(f"/catalogue/programmes/{programme.id}"))
    assert "Chương trình B" in html and "Programme B" not in html


def test_public_list_query_budget(client):
    """The number of queries does not grow with the number of programmes and partners."""

    def queries() -> int:
        with count_queries() as statements:
            assert client.get("/catalogue/").status_code == 200
        return len(statements)

    make_programme(documents=[("A1", "a", "a", True)])
    make_partner()
    few = queries()
    for n in range(12):
        make_programme(documents=[("A1", "a", "a", True), ("B2", "b", "b", False)])
        make_programme(opens_on=today() + dt.timedelta(days=n + 1), closes_on=today() + dt.timedelta(days=60))
        make_partner()
    assert queries() == few + 1  # the "opening soon" list appears, with its documents loaded in one query
    assert few <= 6


def test_programme_detail_shows_where_the_budget_stands(client):
    login_as(client, UserFactory(roles=[Role.BUSINESS], locale="en"))
    programme = make_programme(budget_vnd=500_000_000, committed_vnd=120_000_000, disbursed_vnd=45_000_000)
    html = page(client.get(f"/catalogue/programmes/{programme.id}"))
    budget = html[html.index("<h2>Budget</h2>"):html.index("Documents to include")]
    assert "500.000.000\u00a0₫" in budget
    assert "120.000.000\u00a0₫" in budget
    assert "45.000.000\u00a0₫" in budget
    assert "380.000.000\u00a0₫" in budget
