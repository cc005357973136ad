"""The catalogue service: programme and partner rules, vetting, partner proposals, members, and the queries
behind the public and staff lists. Everything runs on the real database."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import (
    PARTNER_CATEGORIES,
    AuditEvent,
    Partner,
    PartnerRevision,
    PartnerStatus,
    Programme,
    RevisionStatus,
    Role,
)
from app.services import catalogue as service
from app.services.catalogue import CatalogueError, PublicFilters
from tests.catalogue_helpers import OTHER_TAX_CODE, TAX_CODE, make_partner, make_programme
from tests.factories import UserFactory


def programme_data(**overrides):
    data = {
        "code": "ND80-SOLUTIONS",
        "name": {"vi": "Hỗ trợ giải pháp số", "en": "Digital solutions support"},
        "sponsor": {"vi": "Sở KH&CN", "en": "DOST"},
        "summary": {"vi": "Tóm tắt", "en": "Summary"},
        "kind": "subsidy",
        "pillars": ["operations", "data"],
        "sectors": ["G", "A"],
        "org_kinds": ["enterprise"],
        "size_classes": ["micro"],
        "communes": [],
        "level_min": 0,
        "level_max": 3,
        "support_rate": 0.5,
        "caps_vnd": {"micro": 20_000_000},
        "budget_vnd": 1_000_000_000,
        "opens_on": dt.date(2026, 1, 1),
        "closes_on": dt.date(2026, 12, 31),
        "documents": [{"code": "QUOTE", "name": {"vi": "Báo giá", "en": "Quotation"}, "required": True}],
    }
    data.update(overrides)
    return data


def profile_data(**overrides):
    data = {
        "summary": {"vi": "Hoá đơn điện tử", "en": "E-invoicing"},
        "website": "https://example.vn", "email": "lienhe@example.vn", "phone": "0255 3 123 456",
        "categories": ["e_invoice"], "pillars": ["operations"], "sectors": [], "org_kinds": ["enterprise"],
        "communes": [], "price_band": "low",
    }
    data.update(overrides)
    return data


def events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


# Labels ---------------------------------------------------------------------------------------------


def test_every_category_has_a_vietnamese_and_english_label():
    assert set(service.CATEGORY_LABELS) == set(PARTNER_CATEGORIES)
    for code, labels in service.CATEGORY_LABELS.items():
        assert labels["vi"] and labels["en"] and labels["vi"] != code
    assert service.category_label("e_invoice", "vi") == "Hoá đơn điện tử"
    assert service.category_label("e_invoice", "en") == "E-invoicing"


def test_support_rate_is_shown_as_a_percentage():
    assert service.format_rate(0.5) == "50"
    assert service.format_rate(0.125) == "12,5"
    assert service.format_rate(1.0) == "100"


# Programmes -----------------------------------------------------------------------------------------


def test_create_programme_stores_canonical_values_and_audits_them(app):
    staff = UserFactory(roles=[Role.REVIEWER])
    programme = service.create_programme(staff, programme_data(code="nd80-solutions"), ip="10.0.0.1")
    db.session.commit()
    stored = db.session.get(Programme, programme.id)
    assert stored.code == "ND80-SOLUTIONS"
    assert stored.pillars == ["operations", "data"]  # the framework's pillar order
    assert stored.sectors == ["A", "G"]
    assert [d.code for d in stored.documents] == ["QUOTE"]
    [event] = events("programme.create")
    assert event.actor_id == staff.id and event.ip == "10.0.0.1"
    assert event.after["code"] == "ND80-SOLUTIONS" and event.after["documents"][0]["code"] == "QUOTE"


def test_codes_are_unique(app):
    make_programme(code="ND80-SOLUTIONS")
    with pytest.raises(CatalogueError) as raised:
        service.create_programme(None, programme_data())
    assert raised.value.field == "code"


@pytest.mark.parametrize(("overrides", "field"), [
    ({"support_rate": 0}, "support_rate"),
    ({"support_rate": 1.01}, "support_rate"),
    ({"level_min": 4, "level_max": 2}, "level_max"),
    ({"level_max": 6}, "level_max"),
    ({"closes_on": dt.date(2025, 12, 31)}, "closes_on"),
    ({"org_kinds": []}, "org_kinds"),
    ({"sectors": ["Z"]}, "sectors"),
    ({"communes": ["99999"]}, "communes"),
    ({"pillars": ["marketing"]}, "pillars"),
    ({"pillars": []}, "pillars"),
    ({"caps_vnd": {"small": 5}}, "cap_small"),
    ({"budget_vnd": 10**15 + 1}, "budget_vnd"),
    ({"summary": {"vi": "a\x00b", "en": "x"}}, "summary_vi"),
    ({"caps_vnd": {"micro": 0}}, "cap_micro"),
    ({"caps_vnd": {"tiny": 5}}, "caps_vnd"),
    ({"budget_vnd": 0}, "budget_vnd"),
    ({"name": {"vi": "Tên", "en": " "}}, "name_en"),
    ({"kind": "grant"}, "kind"),
    ({"code": "-BAD"}, "code"),
    ({"documents": [{"code": "A1", "name": {"vi": "x", "en": "y"}}, {"code": "A1", "name": {"vi": "x", "en": "y"}}]},
     "documents"),
])
def test_programme_rules(app, overrides, field):
    with pytest.raises(CatalogueError) as raised:
        service.create_programme(None, programme_data(**overrides))
    assert raised.value.field == field
    db.session.rollback()
    assert db.session.scalar(select(Programme)) is None


def test_update_audits_only_changed_fields_and_keeps_the_code(app):
    programme = service.create_programme(None, programme_data())
    db.session.commit()
    staff = UserFactory(roles=[Role.ADMIN])
    assert service.update_programme(programme, staff, programme_data(code="OTHER", budget_vnd=2_000_000_000))
    db.session.commit()
    assert programme.code == "ND80-SOLUTIONS"
    [event] = events("programme.update")
    assert event.before == {"budget_vnd": 1_000_000_000}
    assert event.after == {"budget_vnd": 2_000_000_000}
    # Saving the same values again (lists in another order) changes nothing and writes nothing.
    assert not service.update_programme(programme, staff, programme_data(sectors=["G", "A"], budget_vnd=2_000_000_000))
    assert len(events("programme.update")) == 1


def test_documents_are_matched_by_code(app):
    programme = service.create_programme(None, programme_data(documents=[
        {"code": "QUOTE", "name": {"vi": "Báo giá", "en": "Quotation"}, "required": True},
        {"code": "LICENCE", "name": {"vi": "Giấy phép", "en": "Licence"}, "required": True},
    ]))
    db.session.commit()
    quote_id = programme.documents[0].id
    service.update_programme(programme, None, programme_data(documents=[
        {"code": "QUOTE", "name": {"vi": "Báo giá mới", "en": "New quotation"}, "required": False},
    ]))
    db.session.commit()
    stored = db.session.get(Programme, programme.id)
    assert [(d.id, d.code, d.required) for d in stored.documents] == [(quote_id, "QUOTE", False)]


def test_budget_cannot_drop_below_committed_money(app):
    programme = make_programme(code="ND80-SOLUTIONS", budget_vnd=1_000_000_000, committed_vnd=600_000_000)
    with pytest.raises(CatalogueError) as raised:
        service.update_programme(programme, None, programme_data(budget_vnd=500_000_000))
    assert raised.value.field == "budget_vnd"


def test_retire_and_restore_are_audited_once(app):
    programme = make_programme()
    assert service.retire_programme(programme, None)
    assert not service.retire_programme(programme, None)
    db.session.commit()
    assert programme.retired_at is not None
    assert service.restore_programme(programme, None)
    assert not service.restore_programme(programme, None)
    db.session.commit()
    assert [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))] == [
        "programme.retire", "programme.restore"]


# Partners and vetting -------------------------------------------------------------------------------


def test_create_partner_starts_pending_and_checks_the_tax_code(app):
    data = {"code": "P-1", "name": "Công ty A", "tax_code": TAX_CODE, **profile_data()}
    partner = service.create_partner(None, data)
    db.session.commit()
    assert partner.status is PartnerStatus.PENDING
    assert events("partner.create")[0].after["status"] == "pending"
    with pytest.raises(CatalogueError) as raised:
        service.create_partner(None, {**data, "code": "P-2", "tax_code": "0100109107"})
    assert raised.value.field == "tax_code"
    with pytest.raises(CatalogueError) as raised:
        service.create_partner(None, {**data, "code": "P-2"})
    assert raised.value.field == "tax_code"  # already used by P-1
    assert service.create_partner(None, {**data, "code": "P-2", "tax_code": OTHER_TAX_CODE}).tax_code == OTHER_TAX_CODE


def test_vetting_transitions(app):
    reviewer = UserFactory(roles=[Role.REVIEWER])
    partner = make_partner(status=PartnerStatus.PENDING)
    assert service.allowed_actions(partner) == ["vet"]
    with pytest.raises(CatalogueError):
        service.change_status(partner, reviewer, "suspend", "no")
    assert service.change_status(partner, reviewer, "vet", "Checked licence and references") is PartnerStatus.VETTED
    assert service.allowed_actions(partner) == ["suspend"]
    service.change_status(partner, reviewer, "suspend", "Complaints from customers")
    assert service.allowed_actions(partner) == ["reinstate"]  # never back to pending
    service.change_status(partner, reviewer, "reinstate", "Complaints resolved")
    db.session.commit()
    rows = [(e.before["status"], e.after["status"], e.after["reason"]) for e in events("partner.status_change")]
    assert rows == [("pending", "vetted", "Checked licence and references"),
                    ("vetted", "suspended", "Complaints from customers"),
                    ("suspended", "vetted", "Complaints resolved")]
    assert all(e.actor_id == reviewer.id for e in events("partner.status_change"))
    assert [e.action for e in service.vetting_history(partner)][:1] == ["partner.status_change"]


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_a_status_change_needs_a_reason(app, reason):
    partner = make_partner(status=PartnerStatus.PENDING)
    with pytest.raises(CatalogueError) as raised:
        service.change_status(partner, None, "vet", reason)
    assert raised.value.field == "reason"
    assert partner.status is PartnerStatus.PENDING
    assert events("partner.status_change") == []


# Members --------------------------------------------------------------------------------------------


def test_only_existing_partner_users_can_be_linked(app):
    partner = make_partner()
    admin = UserFactory(roles=[Role.ADMIN])
    business = UserFactory(roles=[Role.BUSINESS], email="shop@example.vn")
    partner_user = UserFactory(roles=[Role.PARTNER], email="dev@example.vn")
    for email in ("nobody@example.vn", "shop@example.vn", "not an email"):
        with pytest.raises(CatalogueError):
            service.add_member(partner, admin, email)
    member = service.add_member(partner, admin, "DEV@example.vn")
    db.session.commit()
    with pytest.raises(CatalogueError):
        service.add_member(partner, admin, "dev@example.vn")
    assert [p.id for p in service.partners_of(partner_user)] == [partner.id]
    assert events("partner.member_add")[0].after == {"user_id": partner_user.id, "email": "dev@example.vn"}
    service.remove_member(partner, member, admin)
    db.session.commit()
    assert service.partners_of(partner_user) == []
    assert events("partner.member_remove")[0].before["user_id"] == partner_user.id
    assert business.id  # the business user was refused above, not linked
    assert service.find_for_member(partner.id, business) is None


# Partner revisions ----------------------------------------------------------------------------------


def test_a_proposal_waits_and_replaces_the_pending_one(app):
    user = UserFactory(roles=[Role.PARTNER])
    partner = make_partner(members=[user])
    before = service.profile_values(partner)
    first = service.submit_revision(partner, user, profile_data(summary={"vi": "Mới", "en": "New"}))
    db.session.commit()
    assert service.profile_values(partner) == before  # nothing published yet
    second = service.submit_revision(partner, user, profile_data(summary={"vi": "Mới hơn", "en": "Newer"}))
    db.session.commit()
    assert second.id == first.id
    pending = list(db.session.scalars(select(PartnerRevision).where(PartnerRevision.status == RevisionStatus.PENDING)))
    assert len(pending) == 1 and pending[0].data["summary"] == {"vi": "Mới hơn", "en": "Newer"}
    assert [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))] == [
        "partner.revision_submit", "partner.revision_replace"]


def test_only_members_may_propose_and_a_proposal_must_change_something(app):
    member, outsider = UserFactory(roles=[Role.PARTNER]), UserFactory(roles=[Role.PARTNER])
    partner = make_partner(members=[member])
    with pytest.raises(CatalogueError):
        service.submit_revision(partner, outsider, profile_data())
    with pytest.raises(CatalogueError):
        service.submit_revision(partner, member, service.profile_values(partner))
    assert db.session.scalar(select(PartnerRevision)) is None


def test_approve_applies_and_audits(app):
    user, reviewer = UserFactory(roles=[Role.PARTNER]), UserFactory(roles=[Role.REVIEWER])
    partner = make_partner(members=[user])
    revision = service.submit_revision(partner, user, profile_data(categories=["crm", "e_invoice"],
                                                                   price_band="medium"))
    db.session.commit()
    diff = {row.field: (row.current, row.proposed) for row in service.revision_diff(revision)}
    assert diff["categories"] == (["e_invoice", "accounting"], ["e_invoice", "crm"])
    assert diff["price_band"] == ("low", "medium")
    assert service.approve_revision(revision, reviewer, note="Looks good")
    db.session.commit()
    stored = db.session.get(Partner, partner.id)
    assert stored.categories == ["e_invoice", "crm"] and stored.price_band.value == "medium"
    assert revision.status is RevisionStatus.APPROVED and revision.reviewed_by_id == reviewer.id
    [approve] = events("partner.revision_approve")
    [update] = events("partner.update")
    assert approve.after["status"] == "approved" and update.after["price_band"] == "medium"
    with pytest.raises(CatalogueError):
        service.reject_revision(revision, reviewer, "too late")


def test_reject_needs_a_note_and_changes_nothing(app):
    user = UserFactory(roles=[Role.PARTNER])
    partner = make_partner(members=[user])
    before = service.profile_values(partner)
    revision = service.submit_revision(partner, user, profile_data(website="https://spam.example"))
    with pytest.raises(CatalogueError):
        service.reject_revision(revision, None, "  ")
    service.reject_revision(revision, None, "The website does not belong to the company.")
    db.session.commit()
    assert service.profile_values(db.session.get(Partner, partner.id)) == before
    assert revision.review_note == "The website does not belong to the company."
    assert service.latest_revision(partner).status is RevisionStatus.REJECTED
    assert service.pending_revision(partner) is None


# Queries --------------------------------------------------------------------------------------------


def codes(items) -> set[str]:
    return {item.code for item in items}


def test_public_programmes_are_open_and_not_retired(app):
    on = service.today()
    make_programme(code="OPEN")
    make_programme(code="RETIRED", retired_at=dt.datetime.now(dt.UTC))
    make_programme(code="CLOSED", opens_on=on - dt.timedelta(days=60), closes_on=on - dt.timedelta(days=1))
    make_programme(code="SOON", opens_on=on + dt.timedelta(days=1), closes_on=on + dt.timedelta(days=90))
    make_programme(code="LAST-DAY", opens_on=on - dt.timedelta(days=5), closes_on=on)
    assert codes(service.public_open_programmes(PublicFilters(), on)) == {"OPEN", "LAST-DAY"}
    assert codes(service.public_upcoming_programmes(PublicFilters(), on)) == {"SOON"}


def test_sector_kind_and_pillar_filters(app):
    on = service.today()
    make_programme(code="FOR-A", sectors=["A"], org_kinds=["cooperative"], pillars=["data"])
    make_programme(code="FOR-AG", sectors=["A", "G"], org_kinds=["enterprise"], pillars=["customer"])
    make_programme(code="FOR-ALL", sectors=[], org_kinds=["enterprise", "cooperative"], pillars=["data"])

    def found(**filters):
        return codes(service.public_open_programmes(PublicFilters(**filters), on))

    assert found(sector="A") == {"FOR-A", "FOR-AG", "FOR-ALL"}
    assert found(sector="G") == {"FOR-AG", "FOR-ALL"}
    assert found(sector="C") == {"FOR-ALL"}
    assert found(org_kind="cooperative") == {"FOR-A", "FOR-ALL"}
    assert found(pillar="data", sector="G") == {"FOR-ALL"}
    assert found(category="crm") == {"FOR-A", "FOR-AG", "FOR-ALL"}  # categories are for partners


def test_public_partners_are_vetted_and_active(app):
    make_partner(code="VETTED", categories=["crm"], sectors=["G"])
    make_partner(code="PENDING", status=PartnerStatus.PENDING)
    make_partner(code="SUSPENDED", status=PartnerStatus.SUSPENDED)
    make_partner(code="RETIRED", retired_at=dt.datetime.now(dt.UTC))
    make_partner(code="E-INV", categories=["e_invoice"])

    def found(**filters):
        return codes(db.session.scalars(service.public_partners_query(PublicFilters(**filters))))

    assert found() == {"VETTED", "E-INV"}
    assert found(category="crm") == {"VETTED"}
    assert found(sector="A") == {"E-INV"}
    assert service.public_partner(db.session.scalar(select(Partner.id).where(Partner.code == "PENDING"))) is None


def test_staff_search_in_both_languages_and_by_tax_code(app):
    make_programme(code="ND80-A", name={"vi": "Hỗ trợ Thương mại điện tử", "en": "E-commerce boost"})
    make_programme(code="TRAIN-1", name={"vi": "Đào tạo kỹ năng số", "en": "Digital skills"},
                   retired_at=dt.datetime.now(dt.UTC))

    def found(**kwargs):
        return codes(db.session.scalars(service.staff_programmes_query(**kwargs)))

    assert found(q="thương mại") == {"ND80-A"}
    assert found(q="SKILLS") == {"TRAIN-1"}
    assert found(q="nd80") == {"ND80-A"}
    assert found(status="active") == {"ND80-A"}
    assert found(status="retired") == {"TRAIN-1"}
    assert found(q="100%") == set()
    make_partner(code="P-TAX", tax_code=TAX_CODE)
    assert codes(db.session.scalars(service.staff_partners_query(q="0100109"))) == {"P-TAX"}
