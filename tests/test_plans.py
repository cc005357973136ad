"""The action plan service: what a plan proposes for a business, versions that keep finished work, the
roadmap rules file, and the plain data the PDF is printed from."""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata

import pytest
import yaml
from sqlalchemy import func, select

from app.extensions import db
from app.models import ActionPlan, AuditEvent, ItemPhase, ItemSource, ItemStatus, PlanStatus, Programme
from app.recommender import profile_of
from app.services import assessments, eligibility, frameworks, plans
from app.services.catalogue import today
from app.services.messaging import portal_url
from tests.assessment_helpers import answer_for
from tests.factories import UserFactory
from tests.plans_helpers import (
    ELIGIBLE_FOR_ENTERPRISES,
    ELIGIBLE_FOR_HOUSEHOLDS,
    NEVER_ELIGIBLE,
    enterprise,
    household,
    plan_catalogue,
    submit,
)

CODE_RE = re.compile(r"[A-HJ-KM-NP-Z2-9]{4}-[A-HJ-KM-NP-Z2-9]{4}")
DATE_RE = re.compile(r"\d{2}/\d{2}/\d{4}")


@pytest.fixture
def owner():
    return UserFactory(locale="vi")


@pytest.fixture
def catalogue():
    plan_catalogue()


def make_plan(organisation, user, strength="worst", overrides=None):
    submit(organisation, user, strength, overrides)
    plan, created = plans.create_or_update(organisation, user)
    db.session.commit()
    assert created
    return plan


def by_key(plan) -> dict:
    return {item.key: item for item in plan.items if item.key}


def household_only_rules() -> set[str]:
    return {rule.id for rule in plans.roadmap().rules if rule.kinds == ("household_business",)}


def enterprise_only_rules() -> set[str]:
    return {rule.id for rule in plans.roadmap().rules if "household_business" not in rule.kinds}


def linked_codes(plan) -> set[str]:
    ids = {item.programme_id for item in plan.items if item.programme_id}
    return set(db.session.scalars(select(Programme.code).where(Programme.id.in_(ids)))) if ids else set()


# --- What a plan proposes -----------------------------------------------------------------------------


def test_low_maturity_household_gets_the_basics_its_gaps_call_for(owner, catalogue):
    organisation = household(owner)
    plan = make_plan(organisation, owner, "worst")
    keys = set(by_key(plan))
    # E-invoices from the till, QR payments, being findable online: the first steps of a food stall.
    assert {"hh-einvoice-till", "hh-qr-payment", "hh-online-listing"} <= keys
    assert not keys & enterprise_only_rules(), "a household business got enterprise items (ERP, CRM...)"
    assert all(key.startswith(("hh-", "advice-")) for key in keys)
    # Every pillar is at level 0: one level up each.
    assert plan.targets == dict.fromkeys(["customer", "strategy", "infrastructure", "operations", "culture", "data"], 1)
    assert plan.version == 1 and plan.status is PlanStatus.PROPOSED
    assert len(plan.items) <= plans.roadmap().limits["household_business"].max_items
    quick = [item for item in plan.items if item.phase is ItemPhase.QUICK_WIN]
    assert quick and all(1 <= item.due_month <= 3 for item in quick)
    for item in plan.items:
        assert item.action and item.why and item.owner_role and item.source is ItemSource.GENERATED
        assert "0,0/100" in item.why, "the reason names the pillar's current score"
    einvoice = by_key(plan)["hh-einvoice-till"]
    assert einvoice.partner_category == "e_invoice"
    assert einvoice.programme.code == "HKD-EINVOICE"


def test_mid_maturity_enterprise_gets_foundations_and_growth_for_its_weakest_pillars(owner, catalogue):
    organisation = enterprise(owner)
    plan = make_plan(organisation, owner, "middle")
    assessment = plan.assessment
    framework = assessments.framework_of(assessment)
    scores = assessment.pillar_score_map
    for pillar, score in scores.items():
        assert plan.targets[pillar] > framework.level_for(score), f"{pillar} has no target above its level"
    keys = set(by_key(plan))
    assert not keys & household_only_rules()
    assert keys & enterprise_only_rules(), "a mid-sized enterprise gets ERP/CRM/cybersecurity-type items"
    weakest = sorted(scores, key=scores.get)[:2]
    for pillar in weakest:
        later = [i for i in plan.items if i.pillar == pillar and i.phase in (ItemPhase.FOUNDATION, ItemPhase.GROWTH)]
        assert later, f"no foundation or growth item for the weak pillar {pillar}"
    assert any(item.phase is ItemPhase.GROWTH for item in plan.items)
    for item in plan.items:
        first, last = plans.PHASE_MONTHS[item.phase]
        assert first <= item.due_month <= last


def test_a_pillar_far_behind_the_others_aims_two_levels_up_and_a_top_pillar_gets_no_items(owner, catalogue):
    organisation = enterprise(owner)
    framework = frameworks.current_framework()
    worst_customer = {q.id: answer_for(q, "worst") for q in framework.pillar_questions("full", "customer")}
    plan = make_plan(organisation, owner, "best", worst_customer)
    assert plan.targets["customer"] == 2  # level 0, 80+ points below the others: catch up two levels
    assert plan.targets["data"] == 5  # already at the top
    assert {item.pillar for item in plan.items} == {"customer"}


def test_items_never_link_a_programme_the_organisation_cannot_get(owner, catalogue):
    small_shop = household(owner)
    company = enterprise(owner)
    for organisation, strength, allowed in ((small_shop, "worst", ELIGIBLE_FOR_HOUSEHOLDS),
                                            (company, "worst", ELIGIBLE_FOR_ENTERPRISES),
                                            (enterprise(owner, name="Công ty CP Minh Long"), "middle",
                                             ELIGIBLE_FOR_ENTERPRISES)):
        plan = make_plan(organisation, owner, strength)
        codes = linked_codes(plan)
        assert codes, "some item is paid for by a programme"
        assert codes <= allowed
        assert not codes & NEVER_ELIGIBLE
        profile = profile_of(organisation)
        for item in plan.items:
            if item.programme_id:
                check = eligibility.check(item.programme, profile, plan.assessment.overall_level, today())
                assert check.eligible, check.reasons
        printed = plans.printable(plan, "vi")
        assert {p["code"] for p in printed["programmes"]} <= allowed


def test_a_programme_that_closes_after_the_plan_was_made_is_no_longer_offered(owner, catalogue):
    organisation = household(owner)
    plan = make_plan(organisation, owner)
    assert "HKD-EINVOICE" in linked_codes(plan)
    programme = db.session.scalar(select(Programme).where(Programme.code == "HKD-EINVOICE"))
    programme.closes_on = today() - dt.timedelta(days=1)
    db.session.commit()
    view = plans.plan_view(plan, "en")
    assert all(row.programme is None for block in view.phases for row in block.items)
    printed = plans.printable(plan, "en")
    assert not any("E-invoice vouchers" in item["help"] for phase in printed["phases"] for item in phase["items"])


# --- Editing and progress ----------------------------------------------------------------------------


def test_editing_items_and_progress(owner, catalogue):
    organisation = household(owner)
    plan = make_plan(organisation, owner)
    total = len(plan.items)
    assert plans.progress(plan).as_dict() == {"done": 0, "doing": 0, "total": total, "percent": 0}
    first, second = plan.items[0], plan.items[1]
    assert plans.update_item(first, owner, owner="Chị Hoa", due_on=dt.date(2027, 2, 15), status="done")
    assert plans.set_status(second, owner, ItemStatus.DOING)
    own = plans.add_own_item(plan, owner, action="  Mua máy in hoá đơn  ", pillar="operations",
                             phase=ItemPhase.FOUNDATION, owner="Chủ hộ kinh doanh")
    db.session.commit()
    assert first.status is ItemStatus.DONE and first.completed_at is not None
    assert first.owner_role == "Chị Hoa" and first.due_on == dt.date(2027, 2, 15)
    assert own.action == "Mua máy in hoá đơn" and own.source is ItemSource.OWN and own.key is None
    assert own.owner_role == "household_owner", "a known role's name is stored as its code (shown in any language)"
    assert own.due_month == 12
    assert plan.status is PlanStatus.ACTIVE, "the first change makes the proposal the plan in use"
    assert plans.progress(plan).as_dict() == {"done": 1, "doing": 1, "total": total + 1,
                                             "percent": round(100 / (total + 1))}
    # Not done after all: the completion date goes.
    assert plans.set_status(first, owner, ItemStatus.TODO)
    assert first.completed_at is None
    assert not plans.set_status(first, owner, ItemStatus.TODO), "nothing changed, nothing recorded"
    with pytest.raises(plans.PlanError):
        plans.delete_own_item(second, owner)
    plans.delete_own_item(own, owner)
    db.session.commit()
    actions = list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    assert actions.count("plan_item.update") == 3
    assert {"plan.create", "plan.activate", "plan_item.create", "plan_item.delete"} <= set(actions)


# --- Versions ----------------------------------------------------------------------------------------


def test_a_new_assessment_proposes_version_two_keeping_finished_and_started_items(owner, catalogue):
    organisation = household(owner)
    first = make_plan(organisation, owner)
    items = by_key(first)
    plans.set_status(items["hh-qr-payment"], owner, ItemStatus.DONE)
    plans.set_status(items["hh-einvoice-till"], owner, ItemStatus.DOING)
    plans.update_item(items["hh-account-safety"], owner, owner="Anh Ba", due_on=dt.date(2027, 1, 10),
                      status=ItemStatus.TODO)
    plans.add_own_item(first, owner, action="Làm thực đơn có mã QR", pillar="customer", phase=ItemPhase.QUICK_WIN)
    db.session.commit()
    done_at = items["hh-qr-payment"].completed_at
    assert plans.create_or_update(organisation, owner) == (first, False), "no newer assessment, no new version"

    # Later: QR payments and backups are in place; the rest is as before.
    second_assessment = submit(organisation, owner, "worst", {"hh_qr_payment": "most", "dat_backup": "restore_tested"})
    second, created = plans.create_or_update(organisation, owner)
    db.session.commit()
    assert created and second.version == 2 and second.assessment_id == second_assessment.id
    assert first.status is PlanStatus.SUPERSEDED and second.status is PlanStatus.PROPOSED
    kept = by_key(second)
    assert kept["hh-qr-payment"].status is ItemStatus.DONE, "done items are carried over as done"
    assert kept["hh-qr-payment"].completed_at == done_at
    assert kept["hh-einvoice-till"].status is ItemStatus.DOING
    assert "hh-backup" not in kept, "the backup gap is closed and the item was not started: dropped"
    assert kept["hh-account-safety"].owner_role == "Anh Ba", "an open item keeps the owner the business gave it"
    assert kept["hh-account-safety"].due_on == dt.date(2027, 1, 10)
    own = [item for item in second.items if item.source is ItemSource.OWN]
    assert [item.action for item in own] == ["Làm thực đơn có mã QR"]
    assert len(kept) == len({item.key for item in second.items if item.key}), "no key twice"
    assert plans.current_plan(organisation) == second
    assert plans.progress(second).done == 1
    events = {action: n for action, n in db.session.execute(
        select(AuditEvent.action, func.count()).group_by(AuditEvent.action))}
    assert events["plan.create"] == 2 and events["plan.supersede"] == 1
    assert len({first.verification_code, second.verification_code}) == 2
    assert all(CODE_RE.fullmatch(plan.verification_code) for plan in (first, second))


def test_no_plan_without_a_submitted_assessment(owner):
    organisation = household(owner)
    with pytest.raises(plans.NoAssessmentError):
        plans.create_or_update(organisation, owner)
    assert db.session.scalar(select(func.count(ActionPlan.id))) == 0


def test_a_superseded_plan_cannot_be_changed(owner, catalogue):
    organisation = household(owner)
    first = make_plan(organisation, owner)
    submit(organisation, owner, "middle")
    plans.create_or_update(organisation, owner)
    db.session.commit()
    with pytest.raises(plans.PlanError):
        plans.set_status(first.items[0], owner, ItemStatus.DONE)
    with pytest.raises(plans.PlanError):
        plans.add_own_item(first, owner, action="x", pillar="data", phase="growth")


# --- The rules file ----------------------------------------------------------------------------------


def test_the_roadmap_file_is_valid_and_covers_every_kind_and_pillar(app):
    roadmap = plans.load_roadmap()
    pillars = {p.code for p in frameworks.current_framework().pillars}
    for kind in ("household_business", "enterprise", "cooperative"):
        covered = {rule.pillar for rule in roadmap.rules if kind in rule.kinds}
        assert covered == pillars, f"{kind} lacks rules for {pillars - covered}"
    for rule in roadmap.rules:
        for text in (*rule.action.values(), *rule.why.values()):
            assert unicodedata.is_normalized("NFC", text)


def test_a_broken_roadmap_file_names_every_problem(app, tmp_path):
    document = yaml.safe_load(plans.ROADMAP_FILE.read_text(encoding="utf-8"))
    rule = document["rules"][0]
    rule["when"] = [{"question": "no_such_question", "in": ["x"]}]
    rule["due_month"] = 9  # a quick win is due in month 1-3
    rule["help"] = {"partner_category": "telepathy"}
    document["rules"][1]["id"] = rule["id"]
    path = tmp_path / "roadmap.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    with pytest.raises(plans.RoadmapError) as raised:
        plans.load_roadmap(path)
    problems = "\n".join(raised.value.problems)
    assert "unknown question 'no_such_question'" in problems
    assert "due_month" in problems
    assert "unknown category 'telepathy'" in problems
    assert "duplicate id" in problems


# --- The PDF's data ----------------------------------------------------------------------------------


def _walk_strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _walk_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk_strings(item)


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_printable_has_the_promised_shape_in_plain_nfc_data(owner, catalogue, locale):
    # A name typed with combining accents (NFD), as some phone keyboards send it.
    organisation = household(owner, name=unicodedata.normalize("NFD", "Hộ kinh doanh Bánh xèo Bà Tư"),
                             tax_code="079123456789", commune_code=None)
    plan = make_plan(organisation, owner)
    plans.set_status(plan.items[0], owner, ItemStatus.DONE)
    db.session.commit()
    data = plans.printable(plan, locale)
    json.dumps(data)  # plain data only: no ORM objects, dates or lazy strings
    assert data["locale"] == locale
    assert set(data) >= {"locale", "organisation", "plan", "assessment", "summary", "radar_svg", "pillars",
                         "phases", "programmes", "partners", "progress"}
    assert set(data["organisation"]) >= {"name", "kind_label", "commune", "sector_label", "tax_code"}
    assert data["organisation"]["name"] == "Hộ kinh doanh Bánh xèo Bà Tư"  # NFC
    assert data["organisation"]["tax_code"] == "079123456789"
    assert set(data["plan"]) >= {"id", "version", "date", "verification_code", "url"}
    # The QR code's target: the plan page, built from BASE_URL (never from a request's Host header).
    assert data["plan"]["url"] == portal_url("plans.show", org_id=organisation.id, plan_id=plan.id)
    assert DATE_RE.fullmatch(data["plan"]["date"]) and CODE_RE.fullmatch(data["plan"]["verification_code"])
    assert set(data["assessment"]) >= {"date", "overall_score", "overall_level", "level_name"}
    assert DATE_RE.fullmatch(data["assessment"]["date"])
    assert 3 <= len(data["summary"]) <= 5 and all(s.strip().endswith(".") for s in data["summary"])
    assert data["summary"][0].startswith("Hộ kinh doanh Bánh xèo Bà Tư")
    assert data["radar_svg"].startswith("<svg") and data["radar_svg"].endswith("</svg>")
    assert [p["code"] for p in data["pillars"]] == ["customer", "strategy", "infrastructure", "operations",
                                                    "culture", "data"]
    for pillar in data["pillars"]:
        assert set(pillar) >= {"code", "name", "score", "level", "target_level"}
        assert pillar["target_level"] == pillar["level"] + 1
    assert [p["code"] for p in data["phases"]] == ["quick_win", "foundation", "growth"]
    assert [p["months"] for p in data["phases"]] == ["0–3", "3–12", "12–24"]
    items = [item for phase in data["phases"] for item in phase["items"]]
    assert len(items) == len(plan.items)
    for item in items:
        assert set(item) >= {"pillar_name", "action", "why", "owner", "due", "cost_band_label", "help",
                             "status_label"}
        assert item["action"] and item["why"] and item["owner"] and item["due"] and item["help"]
    assert data["progress"] == {"done": 1, "doing": 0, "total": len(plan.items),
                                "percent": round(100 / len(plan.items))}
    assert {p["code"] for p in data["programmes"]} == ELIGIBLE_FOR_HOUSEHOLDS
    voucher = next(p for p in data["programmes"] if p["code"] == "HKD-EINVOICE")
    assert voucher["max_subsidy_vnd"] == 3_000_000 and "3.000.000" in voucher["max_subsidy_text"]
    assert "http://" in voucher["how_to_apply"] and DATE_RE.fullmatch(voucher["closes_on"])
    training = next(p for p in data["programmes"] if p["code"] == "HKD-ONLINE")
    assert training["max_subsidy_vnd"] is None or training["max_subsidy_vnd"] == 0
    assert data["partners"] and all(set(p) >= {"name", "categories", "phone", "email", "website"}
                                    for p in data["partners"])
    assert all(isinstance(p["categories"], list) for p in data["partners"])
    for text in _walk_strings(data):
        assert unicodedata.is_normalized("NFC", text), text
    einvoice = next(item for item in items if "3.000.000" in item["help"])
    if locale == "en":
        assert [p["title"] for p in data["phases"]] == ["Quick wins", "Foundations", "Growth"]
        assert "e-invoice" in einvoice["action"]
        assert "E-invoice vouchers for household businesses" in einvoice["help"]
    else:
        assert "hoá đơn điện tử" in einvoice["action"]
        assert "Hỗ trợ hoá đơn điện tử cho hộ kinh doanh" in einvoice["help"]


def test_printable_is_stable_for_the_same_plan(owner, catalogue):
    """The PDF cache keys on this data: the same plan must give the same data until something changes."""
    plan = make_plan(household(owner), owner)
    first = plans.printable(plan, "vi")
    assert plans.printable(plan, "vi") == first
    plans.set_status(plan.items[0], owner, ItemStatus.DOING)
    db.session.commit()
    assert plans.printable(plan, "vi") != first
