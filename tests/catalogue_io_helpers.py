"""Shared by the catalogue import/export tests: a minimal valid document and ways to read results."""

from __future__ import annotations

import copy
import json
from typing import Any

from flask_babel import force_locale
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, Partner, Programme
from app.services import catalogue_io
from app.services.organisations import mst_check_digit


def valid_mst(first_nine: str) -> str:
    """A tax code with a correct check digit, starting at ``first_nine`` (the next prefix that has one)."""
    number = int(first_nine)
    while (check := mst_check_digit(f"{number:09d}")) is None:
        number += 1
    return f"{number:09d}{check}"


MINIMAL: dict[str, Any] = {
    "schema": "dxportal.catalogue/1",
    "programmes": [
        {
            "code": "ND80-SOLUTIONS",
            "name": {"vi": "Hỗ trợ giải pháp chuyển đổi số", "en": "Digital solutions support"},
            "sponsor": {"vi": "Sở Khoa học và Công nghệ", "en": "Department of Science and Technology"},
            "summary": {"vi": "Hỗ trợ 50% chi phí.", "en": "Half the cost is covered."},
            "kind": "subsidy",
            "pillars": ["data", "operations"],
            "sectors": ["A", "G"],
            "org_kinds": ["enterprise", "cooperative", "household_business"],
            "size_classes": ["micro", "small", "medium"],
            "communes": [],
            "level_range": [0, 3],
            "support_rate": 0.5,
            "caps_vnd": {"micro": 20000000, "small": 50000000, "medium": 100000000},
            "budget_vnd": 3000000000,
            "opens_on": "2026-01-01",
            "closes_on": "2026-12-31",
            "documents": [
                {"code": "QUOTE", "name": {"vi": "Báo giá", "en": "Quotation"}, "required": True},
                {"code": "CONTRACT", "name": {"vi": "Hợp đồng", "en": "Contract"}, "required": False},
            ],
        }
    ],
    "partners": [
        {
            "code": "P-QNG-001",
            "name": "Công ty TNHH Hóa Đơn Thử Nghiệm",
            "tax_code": valid_mst("430012345"),
            "summary": {"vi": "Hóa đơn điện tử.", "en": "E-invoices."},
            "website": "https://hoadon.example.vn",
            "email": "lienhe@hoadon.example.vn",
            "phone": "0255 3 123 456",
            "categories": ["e_invoice", "accounting"],
            "pillars": ["operations", "data"],
            "sectors": [],
            "org_kinds": ["household_business", "enterprise"],
            "communes": ["21211"],
            "price_band": "low",
            "status": "vetted",
        }
    ],
}


def minimal() -> dict[str, Any]:
    """A fresh deep copy of the minimal valid document (tests mutate it)."""
    return copy.deepcopy(MINIMAL)


def encoded(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")


def english(problems) -> list[str]:
    """Problems as ``path: message`` lines in English, whatever the catalogue's translations say."""
    with force_locale("en"):
        return [str(problem) for problem in problems]


def problems_of(document: Any) -> list[str]:
    return english(catalogue_io.validate(document, **catalogue_io.reference_data()).problems)


def catalogue_state() -> tuple:
    """Everything import may change, to prove that a refused import changed nothing."""
    db.session.expire_all()
    programmes = db.session.scalars(select(Programme).order_by(Programme.code)).all()
    partners = db.session.scalars(select(Partner).order_by(Partner.code)).all()
    return (
        [(catalogue_io.programme_record(p), p.retired_at, [d.id for d in p.documents]) for p in programmes],
        [(catalogue_io.partner_record(p), p.retired_at) for p in partners],
        db.session.scalar(select(func.count()).select_from(AuditEvent)),
    )


def events(action: str) -> list[AuditEvent]:
    db.session.expire_all()
    return db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)).all()
