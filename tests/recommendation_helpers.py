"""A small catalogue for the recommendation page and API tests: programmes and partners with known rules."""

from __future__ import annotations

import datetime as dt
from typing import Any

from app.extensions import db
from app.models.catalogue import Partner, PartnerStatus, PriceBand, Programme, ProgrammeKind
from app.services import frameworks

TODAY = dt.datetime.now(frameworks.PROVINCE_TZ).date()
ALL_KINDS = ["enterprise", "cooperative", "household_business"]


def text(vi: str, en: str) -> dict[str, str]:
    return {"vi": vi, "en": en}


def programme(code: str, **overrides: Any) -> Programme:
    """An open programme for every kind, size, sector and commune unless ``overrides`` say otherwise."""
    values: dict[str, Any] = {
        "code": code,
        "name": text(f"Chương trình {code}", f"Programme {code}"),
        "sponsor": text("Sở Khoa học và Công nghệ", "Department of Science and Technology"),
        "summary": text("Hỗ trợ doanh nghiệp chuyển đổi số.", "Helps businesses go digital."),
        "kind": ProgrammeKind.SUBSIDY,
        "pillars": ["operations"],
        "sectors": [],
        "org_kinds": list(ALL_KINDS),
        "size_classes": [],
        "communes": [],
        "level_min": 0,
        "level_max": 5,
        "support_rate": 0.5,
        "caps_vnd": {"micro": 20_000_000, "small": 50_000_000, "medium": 100_000_000},
        "budget_vnd": 3_000_000_000,
        "committed_vnd": 0,
        "opens_on": TODAY - dt.timedelta(days=30),
        "closes_on": TODAY + dt.timedelta(days=60),
    }
    values.update(overrides)
    item = Programme(**values)
    db.session.add(item)
    return item


def partner(code: str, **overrides: Any) -> Partner:
    """A vetted partner serving everyone unless ``overrides`` say otherwise."""
    values: dict[str, Any] = {
        "code": code,
        "name": f"Công ty TNHH Giải pháp {code}",
        "summary": text("Giải pháp phần mềm cho doanh nghiệp nhỏ.", "Software for small businesses."),
        "website": "https://example.vn",
        "email": f"lienhe-{code.lower()}@example.vn",
        "phone": "0255 3 123 456",
        "categories": ["accounting"],
        "pillars": ["operations"],
        "sectors": [],
        "org_kinds": list(ALL_KINDS),
        "communes": [],
        "price_band": PriceBand.LOW,
        "status": PartnerStatus.VETTED,
    }
    values.update(overrides)
    item = Partner(**values)
    db.session.add(item)
    return item


def standard_catalogue() -> None:
    """Two open programmes (one paying micro businesses, one without money for them), three that an
    enterprise cannot get (cooperatives only, closed, budget spent), and partners in each vetting state."""
    programme("DATA-TOOLS", pillars=["data"], kind=ProgrammeKind.SUBSIDY,
              name=text("Hỗ trợ công cụ quản lý dữ liệu", "Support for data management tools"),
              summary=text("Phần mềm quản lý dữ liệu, báo cáo bán hàng, sao lưu.",
                           "Data management software, sales reports, backups."))
    programme("DX-TRAINING", pillars=["culture", "strategy"], kind=ProgrammeKind.TRAINING, caps_vnd={},
              name=text("Tập huấn chuyển đổi số", "Digital transformation training"),
              summary=text("Lớp tập huấn miễn phí về kỹ năng số.", "Free training in digital skills."))
    programme("COOP-ONLY", org_kinds=["cooperative"],
              name=text("Hỗ trợ hợp tác xã", "Support for cooperatives"))
    programme("CLOSED-2020", opens_on=dt.date(2020, 1, 1), closes_on=dt.date(2020, 12, 31),
              name=text("Chương trình đã đóng", "A closed programme"))
    programme("NO-BUDGET", budget_vnd=100_000_000, committed_vnd=100_000_000,
              name=text("Chương trình hết ngân sách", "A programme with no budget left"))
    partner("P-ACC-001", categories=["e_invoice", "accounting"], pillars=["operations", "data"],
            name="Công ty TNHH Kế toán Số")
    partner("P-WEB-002", categories=["website", "ecommerce"], pillars=["customer"], price_band=PriceBand.MEDIUM,
            name="Công ty CP Web Miền Trung")
    partner("P-PENDING", status=PartnerStatus.PENDING, name="Công ty Chờ Duyệt")
    partner("P-SUSPENDED", status=PartnerStatus.SUSPENDED, name="Công ty Bị Đình Chỉ")
    db.session.commit()
