"""Small factories for the eligibility and recommender tests: programmes, partners, profiles, outcomes."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from typing import Any

import numpy as np

from app.extensions import db
from app.models import Partner, PartnerStatus, PriceBand, Programme, ProgrammeKind
from app.recommender import Profile
from app.recommender.outcome_model import OutcomeRecord

_codes = itertools.count(1)

#: Six pillar scores with "data" clearly the weakest.
WEAK_DATA = {"customer": 60.0, "strategy": 55.0, "infrastructure": 65.0, "operations": 58.0, "culture": 62.0,
             "data": 8.0}


def programme(commit: bool = True, **values: Any) -> Programme:
    """An open subsidy for every kind, size, sector and commune, levels 0-5, throughout 2026."""
    number = next(_codes)
    defaults: dict[str, Any] = {
        "code": f"PRG-{number:04d}",
        "name": {"vi": f"Chương trình hỗ trợ số {number}", "en": f"Digital support programme {number}"},
        "sponsor": {"vi": "Sở Khoa học và Công nghệ", "en": "Department of Science and Technology"},
        "summary": {"vi": "Hỗ trợ doanh nghiệp chuyển đổi số", "en": "Helps businesses go digital"},
        "kind": ProgrammeKind.SUBSIDY,
        "pillars": ["operations"],
        "sectors": [],
        "org_kinds": ["enterprise", "cooperative", "household_business"],
        "size_classes": [],
        "communes": [],
        "level_min": 0,
        "level_max": 5,
        "support_rate": 0.5,
        "caps_vnd": {"micro": 20_000_000, "small": 50_000_000, "medium": 100_000_000},
        "budget_vnd": 1_000_000_000,
        "committed_vnd": 0,
        "opens_on": date(2026, 1, 1),
        "closes_on": date(2026, 12, 31),
    }
    defaults.update(values)
    item = Programme(**defaults)
    db.session.add(item)
    if commit:
        db.session.commit()
    return item


def partner(commit: bool = True, **values: Any) -> Partner:
    """A vetted, low-cost partner for every kind, sector and commune."""
    number = next(_codes)
    defaults: dict[str, Any] = {
        "code": f"P-TEST-{number:04d}",
        "name": f"Công ty TNHH Giải pháp Số {number}",
        "summary": {"vi": "Giải pháp phần mềm cho doanh nghiệp nhỏ", "en": "Software for small businesses"},
        "website": f"https://p{number}.example.vn",
        "email": f"lienhe{number}@example.vn",
        "phone": "0255 3 123 456",
        "categories": ["accounting"],
        "pillars": ["operations"],
        "sectors": [],
        "org_kinds": ["enterprise", "cooperative", "household_business"],
        "communes": [],
        "price_band": PriceBand.LOW,
        "status": PartnerStatus.VETTED,
    }
    defaults.update(values)
    item = Partner(**defaults)
    db.session.add(item)
    if commit:
        db.session.commit()
    return item


def profile(**values: Any) -> Profile:
    """A small trading enterprise in a known commune."""
    defaults: dict[str, Any] = {"kind": "enterprise", "sector": "G", "size_class": "small", "commune_code": "21025",
                                "organisation_id": None}
    defaults.update(values)
    return Profile(**defaults)


def synthetic_records(snap, n: int = 240, seed: int = 3) -> list[OutcomeRecord]:
    """Synthetic outcomes: success when the item covers the organisation's weakest pillar."""
    rng = np.random.default_rng(seed)
    records = []
    for i in range(n):
        scores = {p: float(rng.uniform(0, 100)) for p in snap.pillars}
        weakest = min(scores, key=scores.get)
        item = int(rng.integers(snap.n_items))
        row = snap.programmes[item] if item < snap.n_programmes else snap.partners[item - snap.n_programmes]
        label = int(weakest in row.pillars) if rng.random() > 0.1 else int(rng.integers(2))
        records.append(OutcomeRecord(
            organisation_id=i % 40, item_type="programme" if item < snap.n_programmes else "partner",
            code=row.code, label=label, occurred_at=datetime(2025, 1, 1, tzinfo=UTC), kind="enterprise",
            sector="G" if i % 2 else "A", size_class="small", commune_code=None, pillar_scores=scores, level=2,
            needs="phần mềm" if i % 3 else "", query_key=i))
    return records
