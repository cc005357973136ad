"""Plausible outcomes for the demo, so the outcome model and ``flask recommender evaluate`` have data.

Until the applications workflow records real outcomes, ``flask demo load`` calls ``generate()``. It adds a
few dozen synthetic businesses (fictional household shops, co-operatives and small firms, each with a
submitted self-assessment and, mostly, a few words about their needs) to the demo organisations, then, for
each business, a seeded history of applications and partner projects from 2024 to ``END``:

- a business picks what fits it: items covering its weakest pillars, made for its sector, of the kinds
  its peers use (households take e-invoices and POS apps, co-operatives traceability, firms ERP), in its
  price range, and items that are simply better (a hidden quality per item, which popularity can see);
- whether it went well depends on the same fit, the item's quality and noise; suspended partners mostly
  did badly;
- programme outcomes fall inside the programme's application window (approved, sometimes completed a
  few months later, or rejected); partner outcomes are ratings 1-5.

Nothing here is used by the recommender itself; it only produces rows in ``outcome`` (source ``demo``).
Running it again when outcomes exist does nothing.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from app.extensions import db
from app.recommender import snapshot as snapshots
from app.recommender.base import Profile
from app.recommender.features import ORG_KINDS, SECTORS
from app.recommender.snapshot import Snapshot, value_bit

SEED = 20240101
START = date(2024, 1, 1)
#: Outcomes end before this date (or before today, if earlier): the same catalogue gives the same history.
END = date(2026, 11, 1)
#: Synthetic businesses added to the demo organisations, so there is enough history to learn from.
EXTRA_ORGANISATIONS = 32

#: What kinds of business tend to use: partner categories and programme kinds.
KIND_TASTE = {
    "household_business": {"e_invoice", "pos_sales", "digital_marketing", "ecommerce", "training", "voucher",
                           "platform"},
    "cooperative": {"traceability", "ecommerce", "accounting", "training", "consulting", "subsidy"},
    "enterprise": {"erp", "accounting", "hr_payroll", "crm", "cybersecurity", "data_analytics", "cloud_storage",
                   "digital_signature", "subsidy", "consulting", "loan"},
}
SECTOR_TASTE = {
    "A": {"traceability", "ecommerce"}, "C": {"traceability", "erp"}, "G": {"pos_sales", "ecommerce", "e_invoice"},
    "H": {"logistics_tracking"}, "I": {"booking", "digital_marketing"}, "K": {"cybersecurity", "crm"},
    "P": {"crm", "cloud_storage"}, "Q": {"crm", "cloud_storage", "cybersecurity"},
}
#: Words a business might write about its weakest pillar (Vietnamese, as most would write).
NEEDS_TEXT = {
    "customer": ("Muốn bán hàng online trên Zalo, Facebook và sàn thương mại điện tử",
                 "Cần có trang web giới thiệu sản phẩm và tìm khách hàng mới"),
    "strategy": ("Chưa biết bắt đầu chuyển đổi số từ đâu, cần tư vấn lộ trình",
                 "Cần người tư vấn kế hoạch đầu tư phần mềm cho vài năm tới"),
    "infrastructure": ("Máy tính cũ, mạng wifi chập chờn, sợ bị lừa đảo qua mạng",
                       "Cần chữ ký số và bảo mật dữ liệu"),
    "operations": ("Cần phần mềm bán hàng, quản lý kho và xuất hoá đơn điện tử",
                   "Sổ sách kế toán còn ghi tay, muốn dùng phần mềm kế toán"),
    "culture": ("Nhân viên chưa quen dùng máy tính, cần tập huấn kỹ năng số",
                "Muốn đào tạo nhân viên dùng phần mềm"),
    "data": ("Số liệu bán hàng ghi sổ tay, cần sao lưu và xem báo cáo doanh thu",
             "Muốn có tem truy xuất nguồn gốc mã QR cho sản phẩm"),
}
SYNTHETIC = (
    # (kind, sector, name stem, employees, revenue in millions, capital in millions)
    ("household_business", "G", "Tạp hóa", 2, 700, None),
    ("household_business", "I", "Quán ăn", 4, 900, None),
    ("household_business", "C", "Cơ sở làm bánh", 3, 800, None),
    ("household_business", "A", "Trang trại nấm", 2, 500, None),
    ("cooperative", "A", "Hợp tác xã Nông nghiệp", 20, 3_500, 1_200),
    ("cooperative", "C", "Hợp tác xã Dệt thổ cẩm", 15, 2_000, 700),
    ("enterprise", "G", "Công ty TNHH Thương mại", 12, 15_000, 4_000),
    ("enterprise", "I", "Công ty TNHH Du lịch", 25, 20_000, 8_000),
    ("enterprise", "H", "Công ty TNHH Vận tải", 40, 60_000, 20_000),
    ("enterprise", "C", "Công ty Cổ phần Chế biến", 60, 90_000, 30_000),
    ("enterprise", "Q", "Phòng khám", 18, 9_000, 3_000),
    ("enterprise", "P", "Trung tâm Ngoại ngữ", 10, 4_000, 1_000),
)
GIVEN_NAMES = ("An", "Bình", "Châu", "Dũng", "Giang", "Hải", "Hương", "Khánh", "Linh", "Minh", "Ngọc", "Phát",
               "Quang", "Sen", "Tâm", "Thảo", "Trung", "Uyên", "Vân", "Yến")


def _sigmoid(value: float) -> float:
    return 1.0 / (1.0 + math.exp(-value))


def _create_synthetic(count: int, rng: random.Random) -> None:
    """Fictional businesses with one or two assessments each (owners log in with the demo password)."""
    from app.models import User, UserRole
    from app.models.organisation import OrganisationKind
    from app.models.types import utcnow
    from app.models.user import Role
    from app.services import assessments, audit, frameworks, geo, organisations
    from app.services.demo import DEMO_PASSWORD, demo_tax_code
    from app.services.passwords import hash_password

    framework = frameworks.current_framework()
    communes = [unit.code for unit in geo.communes()]
    password_hash = hash_password(DEMO_PASSWORD)
    for index in range(count):
        phone = f"0989{index:06d}"
        if db.session.scalar(select(User.id).where(User.phone == phone)):
            continue
        kind, sector, stem, employees, revenue, capital = SYNTHETIC[index % len(SYNTHETIC)]
        name = f"{stem} {GIVEN_NAMES[index % len(GIVEN_NAMES)]} {index + 1:02d}"
        owner = User(phone=phone, full_name=f"Chủ {name}", password_hash=password_hash, locale="vi",
                     confirmed_at=utcnow(), active=True)
        owner.roles.append(UserRole(role=Role.BUSINESS))
        db.session.add(owner)
        db.session.flush()
        audit.record("user.create", "user", owner.id, actor=None,
                     after={"phone": phone, "full_name": owner.full_name, "roles": ["business"], "via": "demo"})
        scale = rng.uniform(0.6, 1.6)
        data = {"name": name, "sector": sector, "employees": max(1, round(employees * scale)),
                "annual_revenue_vnd": round(revenue * scale) * 1_000_000,
                "commune_code": communes[rng.randrange(len(communes))] if communes and rng.random() < 0.85 else None}
        if kind != "household_business":
            data["tax_code"] = demo_tax_code(f"43{rng.randrange(10**7):07d}")
            data["capital_vnd"] = round((capital or 500) * scale) * 1_000_000
        organisation = organisations.create_organisation(owner, OrganisationKind(kind), data)
        strengths = {p.code: min(0.95, max(0.02, rng.gauss(0.45, 0.25))) for p in framework.pillars}
        weakest = min(strengths, key=strengths.get)
        draft = assessments.start(organisation, owner)
        answers = {q.id: _answer(q, rng, strengths[q.pillar]) for q in framework.questions_for(draft.track)}
        assessments.save_answers(draft, owner, answers)
        assessments.submit(draft, owner)
        draft.needs = rng.choice(NEEDS_TEXT[weakest]) if rng.random() < 0.7 else None
        when = datetime.combine(START + timedelta(days=rng.randrange(0, 300)), datetime.min.time(), UTC)
        draft.created_at = draft.updated_at = draft.submitted_at = when + timedelta(hours=rng.randrange(8, 18))
        db.session.flush()


def _answer(question, rng: random.Random, strength: float):
    if question.type == "scale":
        return max(0, min(5, round(rng.gauss(strength * 5, 0.8))))
    if question.type == "single":
        ranked = sorted(question.options, key=lambda option: option.score)
        return ranked[max(0, min(len(ranked) - 1, round(rng.gauss(strength * (len(ranked) - 1), 0.6))))].id
    boxes = [option for option in question.options if not option.exclusive]
    ticked = [option.id for option in boxes if rng.random() < strength]
    return ticked or [next(option.id for option in question.options if option.exclusive)]


def _fit(snap: Snapshot, item: int, scores: dict[str, float], kind: str, sector: str, small: bool) -> float:
    """How well an item suits a business, as the business itself would feel it (not the recommender's model)."""
    pillars = snap.pillars
    weakest = sorted(pillars, key=lambda p: scores.get(p, 50.0))[:2]
    if item < snap.n_programmes:
        row = snap.programmes[item]
        tags = {row.kind}
    else:
        row = snap.partners[item - snap.n_programmes]
        tags = set(row.categories)
    covered = [p for p in row.pillars if p in scores]
    gap = max(((100.0 - scores[p]) / 100.0 for p in covered), default=0.0)
    fit = 1.2 * any(p in weakest for p in covered) + 0.8 * gap
    fit += 0.6 * bool(tags & KIND_TASTE.get(kind, set())) + 0.6 * bool(tags & SECTOR_TASTE.get(sector, set()))
    if row.sectors and sector in row.sectors:
        fit += 0.5
    if item >= snap.n_programmes:
        fit += {"low": 0.4, "medium": 0.1, "high": -0.4}.get(row.price_band, 0.0) * (1 if small else -0.5)
    return fit


def generate(seed: int = SEED, today: date | None = None, extra_organisations: int = EXTRA_ORGANISATIONS) -> int:
    """Create the demo outcomes (and synthetic businesses) unless outcomes exist; returns how many outcomes."""
    from app.models import Assessment, AssessmentStatus, Organisation, Outcome, OutcomeKind

    if db.session.scalar(select(func.count(Outcome.id))):
        return 0
    snap = snapshots.current()
    if snap.n_items == 0:
        return 0
    rng = random.Random(seed)  # noqa: S311 (demo data, not security)
    _create_synthetic(extra_organisations, rng)
    today = min(today or datetime.now(UTC).date(), END)
    quality = [random.Random(f"{seed}:{i < snap.n_programmes}:{code}").gauss(0.0, 0.7)  # noqa: S311
               for i, code in enumerate(snap.item_codes)]
    organisations = db.session.scalars(select(Organisation).order_by(Organisation.id)).all()
    history = {}
    for assessment in db.session.scalars(select(Assessment).where(Assessment.status == AssessmentStatus.SUBMITTED)
                                         .order_by(Assessment.submitted_at, Assessment.id)):
        history.setdefault(assessment.organisation_id, []).append(assessment)
    span = (today - START).days - 1
    created = 0
    for organisation in organisations:
        taken = history.get(organisation.id)
        if not taken or span <= 0:
            continue
        kind = organisation.kind.value
        size = organisation.size_class.value if organisation.size_class else None
        small = kind == "household_business" or size in (None, "micro")
        sector = organisation.sector
        count = rng.randint(4, 9) if kind == "household_business" else rng.randint(7, 14)
        used: set[tuple[int, int]] = set()
        for _ in range(count):
            day = START + timedelta(days=rng.randrange(span))
            earlier = [a for a in taken if a.submitted_at.date() <= day]
            assessment = earlier[-1] if earlier else taken[0]
            scores = assessment.pillar_score_map
            level = assessment.overall_level or 0
            if rng.random() < 0.4:
                who = Profile(kind, sector, size, organisation.commune_code, organisation.id)
                fails = snap.programme_failures([who], [level], None)[0]
                pool = [i for i in range(snap.n_programmes) if fails[i] == 0
                        and snap.programmes[i].opens_on <= day <= snap.programmes[i].closes_on
                        and (day.year, i) not in used]
            else:
                pool = _partners_serving(snap, kind, sector, organisation.commune_code)
            if not pool:
                continue
            fits = [_fit(snap, i, scores, kind, sector, small) + quality[i] for i in pool]
            weights = [math.exp(1.5 * f) for f in fits]
            pick = rng.choices(range(len(pool)), weights=weights)[0]
            item, fit = pool[pick], fits[pick]
            success = rng.random() < _sigmoid(-1.2 + 0.9 * fit + rng.gauss(0.0, 0.5))
            moment = datetime.combine(day, datetime.min.time(), UTC) + timedelta(minutes=rng.randrange(8 * 60, 17 * 60))
            common = {"organisation_id": organisation.id, "item_code": snap.item_codes[item], "source": "demo",
                      "assessment_id": assessment.id}
            if item < snap.n_programmes:
                used.add((day.year, item))
                kind_ = OutcomeKind.APPROVED if success else OutcomeKind.REJECTED
                db.session.add(Outcome(item_type="programme", kind=kind_, occurred_at=moment, **common))
                created += 1
                finished = moment + timedelta(days=rng.randint(60, 150))
                if success and finished.date() < today and rng.random() < 0.6:
                    db.session.add(Outcome(item_type="programme", kind=OutcomeKind.COMPLETED, occurred_at=finished,
                                           **common))
                    created += 1
            else:
                partner = snap.partners[item - snap.n_programmes]
                if partner.status == "suspended":
                    success = rng.random() < 0.2
                rating = 3 if rng.random() < 0.12 else rng.choice((4, 5) if success else (1, 2))
                db.session.add(Outcome(item_type="partner", kind=OutcomeKind.RATING, rating=rating,
                                       occurred_at=moment, **common))
                created += 1
    db.session.flush()
    return created


def _partners_serving(snap: Snapshot, kind: str, sector: str, commune: str | None) -> list[int]:
    """Partners (vetted or since suspended; never the ones still awaiting vetting) that serve this business."""
    a = snap.arrays
    result = []
    for j, row in enumerate(snap.partners):
        if row.status == "pending" or row.retired_at is not None:
            continue
        if a["q_kinds"][j] and not a["q_kinds"][j] & value_bit(kind, ORG_KINDS):
            continue
        if a["q_sectors"][j] and not a["q_sectors"][j] & value_bit(sector, SECTORS):
            continue
        if row.communes and commune not in row.communes:
            continue
        result.append(snap.n_programmes + j)
    return result
