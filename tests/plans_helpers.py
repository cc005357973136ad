"""Builders for the action plan tests: organisations at a known maturity, a catalogue with programmes a
household business can and cannot get, and logging in."""

from __future__ import annotations

import datetime as dt
from typing import Any

from app.extensions import db
from app.models import OrganisationKind, SizeClass
from app.models.catalogue import PriceBand, ProgrammeKind
from app.services import assessments
from tests.assessment_helpers import full_answers
from tests.factories import OrganisationFactory, UserFactory
from tests.recommendation_helpers import TODAY, partner, programme, text

ALL_PILLARS = ["customer", "strategy", "infrastructure", "operations", "culture", "data"]
#: Programmes an organisation of the named kind can get (open, budget left, every level).
ELIGIBLE_FOR_HOUSEHOLDS = {"HKD-EINVOICE", "HKD-ONLINE"}
ELIGIBLE_FOR_ENTERPRISES = {"SME-SOLUTIONS", "SME-TRAINING"}
#: Programmes covering every pillar that nobody in the tests can get, for one reason each.
NEVER_ELIGIBLE = {"CLOSED-ALL", "NO-BUDGET-ALL", "COOP-ONLY-ALL", "FUTURE-ALL"}


def login(client, user) -> None:
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True


def plan_catalogue() -> None:
    """Eligible programmes for households and for enterprises, ineligible ones covering every pillar."""
    programme("HKD-EINVOICE", pillars=["operations", "infrastructure"], org_kinds=["household_business"],
              kind=ProgrammeKind.VOUCHER, caps_vnd={"micro": 3_000_000},
              name=text("Hỗ trợ hoá đơn điện tử cho hộ kinh doanh", "E-invoice vouchers for household businesses"),
              summary=text("Máy tính tiền và hoá đơn điện tử.", "Cash registers and e-invoices."))
    programme("HKD-ONLINE", pillars=["customer", "culture"], org_kinds=["household_business"],
              kind=ProgrammeKind.TRAINING, caps_vnd={},
              name=text("Bán hàng online cho hộ kinh doanh", "Selling online for household businesses"),
              summary=text("Tập huấn bán hàng trên sàn.", "Training in selling on marketplaces."))
    programme("SME-SOLUTIONS", pillars=["operations", "data", "infrastructure", "customer"],
              org_kinds=["enterprise", "cooperative"], size_classes=["micro", "small", "medium"],
              caps_vnd={"micro": 20_000_000, "small": 50_000_000, "medium": 100_000_000},
              name=text("Hỗ trợ giải pháp chuyển đổi số cho doanh nghiệp nhỏ và vừa",
                        "Digital solutions for small and medium-sized enterprises"),
              summary=text("Phần mềm kế toán, bán hàng, quản lý kho, ERP.",
                           "Accounting, sales, stock and ERP software."))
    programme("SME-TRAINING", pillars=["culture", "strategy"], org_kinds=["enterprise", "cooperative"],
              kind=ProgrammeKind.TRAINING, caps_vnd={},
              name=text("Đào tạo chuyển đổi số cho doanh nghiệp", "Digital transformation training for businesses"),
              summary=text("Lớp kỹ năng số cho lãnh đạo và nhân viên.", "Digital skills for leaders and staff."))
    for code, overrides in {
        "CLOSED-ALL": {"opens_on": dt.date(2020, 1, 1), "closes_on": dt.date(2020, 12, 31)},
        "NO-BUDGET-ALL": {"budget_vnd": 100_000_000, "committed_vnd": 100_000_000},
        "COOP-ONLY-ALL": {"org_kinds": ["cooperative"]},
        "FUTURE-ALL": {"opens_on": TODAY + dt.timedelta(days=30), "closes_on": TODAY + dt.timedelta(days=90)},
    }.items():
        # Rich texts that match every need, so only eligibility can keep them out.
        programme(code, pillars=list(ALL_PILLARS), caps_vnd={"micro": 900_000_000, "small": 900_000_000},
                  name=text(f"Chương trình {code}", f"Programme {code}"),
                  summary=text("Hoá đơn điện tử, bán hàng online, QR, kế toán, ERP, CRM, an toàn thông tin.",
                               "E-invoices, online selling, QR, accounting, ERP, CRM, cybersecurity."),
                  **overrides)
    partner("P-EINV", categories=["e_invoice", "pos_sales"], pillars=["operations", "customer"],
            name="Công ty TNHH Hoá đơn Số Quảng Ngãi", phone="0255 3 111 222", email="lienhe@hoadonso.example.vn")
    partner("P-WEB", categories=["website", "ecommerce", "digital_marketing"], pillars=["customer"],
            price_band=PriceBand.MEDIUM, name="Công ty CP Web Miền Trung")
    partner("P-ERP", categories=["erp", "crm", "cybersecurity"], pillars=["operations", "data", "infrastructure"],
            org_kinds=["enterprise"], name="Công ty TNHH Giải pháp Doanh nghiệp Việt")
    db.session.commit()


def submit(organisation, user, strength: str = "worst", overrides: dict[str, Any] | None = None):
    """A submitted self-assessment with every answer at ``strength``, except ``overrides``."""
    draft = assessments.start(organisation, user)
    answers = full_answers(assessments.framework_of(draft), draft.track, strength)
    answers.update(overrides or {})
    # The draft is pre-filled from the last submission: send every answer so none is left from it.
    assert assessments.save_answers(draft, user, answers) == {}
    assessments.submit(draft, user)
    db.session.commit()
    return draft


def household(owner=None, **overrides):
    """A micro household business selling food (section I)."""
    values = {"kind": OrganisationKind.HOUSEHOLD_BUSINESS, "name": "Hộ kinh doanh Bánh xèo Bà Tư",
              "sector": "I", "size_class": SizeClass.MICRO, "employees": 2, "annual_revenue_vnd": 600_000_000,
              "capital_vnd": 100_000_000}
    values.update(overrides)
    return OrganisationFactory(owner=owner or UserFactory(), **values)


def enterprise(owner=None, **overrides):
    """A small manufacturing enterprise (section C)."""
    values = {"name": "Công ty TNHH Cơ khí Trường Thịnh", "sector": "C", "size_class": SizeClass.SMALL,
              "employees": 40, "annual_revenue_vnd": 30_000_000_000, "capital_vnd": 10_000_000_000}
    values.update(overrides)
    return OrganisationFactory(owner=owner or UserFactory(), **values)
