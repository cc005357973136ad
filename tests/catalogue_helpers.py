"""Builders shared by the catalogue tests: stored programmes and partners, and form posts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from app.extensions import db
from app.models import Partner, PartnerMember, PartnerStatus, PriceBand, Programme, ProgrammeDocument, ProgrammeKind
from app.services.catalogue import today

#: A valid MST (check digit correct) and another one.
TAX_CODE = "0100109106"
OTHER_TAX_CODE = "0101243150"

_counter = {"n": 0}


def _next() -> int:
    _counter["n"] += 1
    return _counter["n"]


def make_programme(**overrides: Any) -> Programme:
    """A stored programme, open today unless the dates are overridden."""
    n = _next()
    on = today()
    values: dict[str, Any] = {
        "code": f"PRG-{n:03d}",
        "name": {"vi": f"Chương trình hỗ trợ số {n}", "en": f"Support programme {n}"},
        "sponsor": {"vi": "Sở Khoa học và Công nghệ", "en": "Department of Science and Technology"},
        "summary": {"vi": "Hỗ trợ doanh nghiệp chuyển đổi số.", "en": "Helps businesses go digital."},
        "kind": ProgrammeKind.SUBSIDY,
        "pillars": ["data", "operations"],
        "sectors": [],
        "org_kinds": ["enterprise", "cooperative", "household_business"],
        "size_classes": [],
        "communes": [],
        "level_min": 0,
        "level_max": 5,
        "support_rate": 0.5,
        "caps_vnd": {"micro": 20_000_000, "small": 50_000_000},
        "budget_vnd": 3_000_000_000,
        "committed_vnd": 0,
        "opens_on": on - dt.timedelta(days=30),
        "closes_on": on + dt.timedelta(days=30),
    }
    documents = overrides.pop("documents", [("QUOTE", "Báo giá", "Quotation", True)])
    values.update(overrides)
    programme = Programme(**values)
    programme.documents = [
        ProgrammeDocument(code=code, name={"vi": vi, "en": en}, required=required, position=index)
        for index, (code, vi, en, required) in enumerate(documents)
    ]
    db.session.add(programme)
    db.session.commit()
    return programme


def make_partner(members=(), **overrides: Any) -> Partner:
    """A stored partner, vetted unless ``status`` says otherwise; ``members`` are users linked to it."""
    n = _next()
    values: dict[str, Any] = {
        "code": f"P-TEST-{n:03d}",
        "name": f"Công ty TNHH Giải pháp Số {n}",
        "tax_code": None,
        "summary": {"vi": f"Phần mềm hoá đơn điện tử {n}.", "en": f"E-invoicing software {n}."},
        "website": "https://example.vn",
        "email": "lienhe@example.vn",
        "phone": "0255 3 123 456",
        "categories": ["e_invoice", "accounting"],
        "pillars": ["operations"],
        "sectors": [],
        "org_kinds": ["enterprise", "household_business"],
        "communes": [],
        "price_band": PriceBand.LOW,
        "status": PartnerStatus.VETTED,
    }
    values.update(overrides)
    partner = Partner(**values)
    for user in members:
        partner.members.append(PartnerMember(user=user))
    db.session.add(partner)
    db.session.commit()
    return partner


def programme_post(**overrides: Any) -> dict[str, Any]:
    """A valid programme form post; ``None`` values are left out."""
    data: dict[str, Any] = {
        "code": "ND80-SOLUTIONS",
        "name_vi": "Hỗ trợ giải pháp chuyển đổi số",
        "name_en": "Digital solutions support",
        "sponsor_vi": "Sở Khoa học và Công nghệ",
        "sponsor_en": "Department of Science and Technology",
        "summary_vi": "Hỗ trợ 50% chi phí giải pháp số.",
        "summary_en": "Pays half the cost of digital solutions.",
        "kind": "subsidy",
        "pillars": ["data", "operations"],
        "sectors": ["A", "G"],
        "org_kinds": ["enterprise", "cooperative"],
        "size_classes": ["micro", "small"],
        "level_min": "0",
        "level_max": "3",
        "support_rate": "50",
        "cap_micro": "20.000.000",
        "cap_small": "50.000.000",
        "budget_vnd": "3.000.000.000",
        "opens_on": "01/01/2026",
        "closes_on": "31/12/2026",
        "documents-0-code": "QUOTE",
        "documents-0-name_vi": "Báo giá",
        "documents-0-name_en": "Quotation",
        "documents-0-required": "y",
        "documents-1-code": "",
        "documents-1-name_vi": "",
        "documents-1-name_en": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def partner_post(**overrides: Any) -> dict[str, Any]:
    """A valid staff partner form post; ``None`` values are left out."""
    data: dict[str, Any] = {
        "code": "P-QNG-001",
        "name": "Công ty TNHH Phần mềm Quảng Ngãi",
        "tax_code": TAX_CODE,
        "summary_vi": "Hoá đơn điện tử và kế toán cho hộ kinh doanh.",
        "summary_en": "E-invoicing and accounting for household businesses.",
        "website": "example.vn",
        "email": "LienHe@Example.vn",
        "phone": "0255 3 123 456",
        "categories": ["e_invoice", "accounting"],
        "pillars": ["operations", "data"],
        "org_kinds": ["household_business", "enterprise"],
        "price_band": "low",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def profile_post(**overrides: Any) -> dict[str, Any]:
    """A valid partner proposal (the fields a partner user may change)."""
    data = partner_post(**overrides)
    for key in ("code", "name", "tax_code"):
        data.pop(key, None)
    return data
