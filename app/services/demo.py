"""Demonstration data for development: one user per staff role, an IT partner, business users and
organisations of every kind across sectors, communes and size classes, and their submitted
self-assessments (a few with an earlier one, and enough trading household businesses for a peer
benchmark), and the demo catalogue of programmes and partners (``app/data/catalogue/demo.json``,
imported through ``services.catalogue_io``). Every name is fictional.

Organisations are created through ``services.organisations`` so their tax codes are checked and their
size classes derived, exactly as for real users. Loading twice changes nothing: existing demo users
and tax codes are kept as they are.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from app.extensions import db
from app.models.organisation import MemberRole, Membership, Organisation, OrganisationKind
from app.models.types import utcnow
from app.models.user import Role, User, UserRole
from app.recommender import demo_outcomes
from app.services import assessments, audit, catalogue_io, geo
from app.services import organisations as organisations_service
from app.services.passwords import hash_password

#: The password of every demo account (printed by ``flask demo load``).
DEMO_PASSWORD = "demo-dxportal-2025"  # noqa: S105 (a published development password)


@dataclass(frozen=True)
class DemoUser:
    key: str
    label: str
    full_name: str
    roles: tuple[Role, ...]
    email: str | None = None
    phone: str | None = None

    @property
    def login(self) -> str:
        return self.email or self.phone or ""


USERS = (
    DemoUser("reviewer", "Reviewer", "Trần Thị Thu Hà", (Role.REVIEWER,), email="thamdinh@example.vn"),
    DemoUser("approver", "Approver", "Lê Văn Minh", (Role.APPROVER,), email="pheduyet@example.vn"),
    DemoUser("admin", "Administrator", "Phạm Quốc Bảo", (Role.ADMIN,), email="quantri@example.vn"),
    DemoUser("partner", "IT partner", "Võ Thanh Tùng", (Role.PARTNER,), email="doitac@example.vn"),
    DemoUser("lan", "Business", "Nguyễn Thị Lan", (Role.BUSINESS,), email="lan.nguyen@example.vn"),
    DemoUser("khoa", "Business (co-op)", "Đặng Minh Khoa", (Role.BUSINESS,), email="khoa.dang@example.vn"),
    DemoUser("phuc", "Household (phone)", "Huỳnh Văn Phúc", (Role.BUSINESS,), phone="0905123456"),
    DemoUser("hoa", "Household (phone)", "Bùi Thị Hoa", (Role.BUSINESS,), phone="0377654321"),
)


def demo_tax_code(first_nine: str) -> str:
    """A valid MST starting near ``first_nine``: the first prefix from there whose check digit exists."""
    number = int(first_nine)
    while True:
        prefix = f"{number:09d}"
        check = organisations_service.mst_check_digit(prefix)
        if check is not None:
            return prefix + str(check)
        number += 1


@dataclass(frozen=True)
class DemoOrganisation:
    owner: str
    kind: OrganisationKind
    commune_code: str
    data: dict = field(default_factory=dict)
    members: tuple[str, ...] = ()


BN = 1_000_000_000
MN = 1_000_000

# Quảng Ngãi MSTs start with 43, Kon Tum's with 61; the digits after them are made up.
ORGANISATIONS = (
    DemoOrganisation("lan", OrganisationKind.ENTERPRISE, "21025", {
        "name": "Công ty TNHH Thương mại Trà Bồng Xanh", "tax_code": demo_tax_code("430051234"), "sector": "G",
        "address": "45 Quang Trung", "employees": 8, "annual_revenue_vnd": 7 * BN, "capital_vnd": 2 * BN,
        "founded_year": 2016, "contact_name": "Nguyễn Thị Lan", "contact_phone": "0905111222",
        "contact_email": "lienhe@trabongxanh.example.vn", "website": "https://trabongxanh.example.vn"},
        members=("phuc",)),
    DemoOrganisation("lan", OrganisationKind.ENTERPRISE, "21548", {
        "name": "Công ty Cổ phần Du lịch Biển Đảo Lý Sơn", "tax_code": demo_tax_code("430062017"), "sector": "I",
        "address": "Thôn Đông, đặc khu Lý Sơn", "employees": 45, "annual_revenue_vnd": 38 * BN,
        "capital_vnd": 20 * BN, "founded_year": 2012, "contact_name": "Trương Văn Sơn",
        "contact_phone": "0255 3867 123"}),
    DemoOrganisation("lan", OrganisationKind.ENTERPRISE, "21478", {
        "name": "Công ty TNHH Vận tải Sa Huỳnh", "tax_code": demo_tax_code("430034455"), "sector": "H",
        "address": "Quốc lộ 1A, khu phố Thạnh Đức", "employees": 120, "annual_revenue_vnd": 260 * BN,
        "capital_vnd": 90 * BN, "founded_year": 2005, "contact_name": "Lê Thị Hạnh",
        "contact_email": "dieuhanh@vantaisahuynh.example.vn"}),
    DemoOrganisation("khoa", OrganisationKind.ENTERPRISE, "23293", {
        "name": "Công ty TNHH Giáo dục Ánh Dương Kon Tum", "tax_code": demo_tax_code("610023456"), "sector": "P",
        "address": "12 Trần Hưng Đạo", "employees": 60, "annual_revenue_vnd": 12 * BN, "capital_vnd": 5 * BN,
        "founded_year": 2019, "contact_name": "Y Nhung", "contact_phone": "0260 3912 456"}),
    DemoOrganisation("khoa", OrganisationKind.ENTERPRISE, "21028", {
        "name": "Công ty TNHH Phòng khám Đa khoa Nghĩa Lộ", "tax_code": demo_tax_code("430078901"),
        "sector": "Q", "address": "210 Hùng Vương", "employees": 35, "capital_vnd": 8 * BN,
        "founded_year": 2018, "contact_name": "BS. Đỗ Văn Thành"}),
    DemoOrganisation("khoa", OrganisationKind.ENTERPRISE, "23500", {
        "name": "Công ty Cổ phần Chế biến Nông sản Đăk Hà", "tax_code": demo_tax_code("610045678"),
        "sector": "C", "address": "Cụm công nghiệp Đăk Hà", "employees": 180, "annual_revenue_vnd": 150 * BN,
        "capital_vnd": 80 * BN, "founded_year": 2010}),
    DemoOrganisation("khoa", OrganisationKind.COOPERATIVE, "21211", {
        "name": "Hợp tác xã Nông nghiệp Tịnh Khê", "tax_code": demo_tax_code("430011223"), "sector": "A",
        "address": "Thôn Cổ Lũy", "employees": 25, "annual_revenue_vnd": 4_200 * MN,
        "capital_vnd": 1_500 * MN, "founded_year": 1997, "contact_name": "Đặng Minh Khoa"}),
    DemoOrganisation("khoa", OrganisationKind.COOPERATIVE, "21439", {
        "name": "Quỹ Tín dụng Nhân dân Phổ Văn", "tax_code": demo_tax_code("430099887"), "sector": "K",
        "address": "Khu phố Phổ Văn", "employees": 15, "annual_revenue_vnd": 9 * BN, "capital_vnd": 60 * BN,
        "founded_year": 2001}),
    DemoOrganisation("phuc", OrganisationKind.HOUSEHOLD_BUSINESS, "21484", {
        "name": "Tạp hóa Cô Ba", "sector": "G", "employees": 2, "annual_revenue_vnd": 600 * MN}),
    DemoOrganisation("hoa", OrganisationKind.HOUSEHOLD_BUSINESS, "23473", {
        "name": "Cà phê Măng Đen Chiều", "tax_code": "051190012345", "sector": "I", "employees": 4,
        "annual_revenue_vnd": 1_200 * MN}),
    DemoOrganisation("phuc", OrganisationKind.HOUSEHOLD_BUSINESS, "21478", {
        "name": "Nước mắm Sa Huỳnh Bà Tư", "tax_code": demo_tax_code("430055667"), "sector": "C"}),
)


def _commune(code: str) -> str | None:
    """The demo's commune when the configured province has it; otherwise none."""
    return code if geo.is_valid(code) else None


def _get_or_create_user(spec: DemoUser) -> User:
    column, value = (User.email, spec.email) if spec.email else (User.phone, spec.phone)
    user = db.session.scalar(select(User).where(column == value))
    if user is not None:
        return user
    user = User(email=spec.email, phone=spec.phone, full_name=spec.full_name,
                password_hash=hash_password(DEMO_PASSWORD), locale="vi", confirmed_at=utcnow(), active=True)
    for role in spec.roles:
        user.roles.append(UserRole(role=role))
    db.session.add(user)
    db.session.flush()
    audit.record("user.create", "user", user.id, actor=None,
                 after={"email": spec.email, "phone": spec.phone, "full_name": spec.full_name,
                        "roles": sorted(role.value for role in spec.roles), "via": "demo"})
    return user


def _create_organisation(spec: DemoOrganisation, users: dict[str, User]) -> None:
    tax_code = spec.data.get("tax_code")
    if tax_code and organisations_service.tax_code_taken(tax_code):
        return
    if not tax_code and db.session.scalar(select(Organisation.id).where(Organisation.name == spec.data["name"])):
        return
    data = {**spec.data, "commune_code": _commune(spec.commune_code)}
    organisation = organisations_service.create_organisation(users[spec.owner], spec.kind, data)
    for key in spec.members:
        organisation.memberships.append(Membership(user=users[key], role=MemberRole.MEMBER))
        audit.record("organisation.member_add", "organisation", organisation.id, actor=None,
                     after={"user_id": users[key].id, "role": MemberRole.MEMBER.value, "via": "demo"})


#: Household shops in trade (section G) that give "Tạp hóa Cô Ba" enough peers for a benchmark.
PEER_SHOPS = (
    "Tạp hóa Minh Châu", "Tạp hóa Bà Sáu", "Cửa hàng Tiện lợi An Phú", "Tạp hóa Thu Trang", "Sạp vải Cô Hạnh",
    "Tạp hóa Hai Lúa", "Cửa hàng Điện thoại Tuấn Anh", "Tạp hóa Phước Lộc", "Sạp trái cây Út Mười",
    "Cửa hàng Vật tư Nông nghiệp Hòa Bình", "Tạp hóa Kim Ngân", "Quầy thuốc Tâm An",
)
#: Organisations (by name) that also get an earlier assessment, so the history and change show.
WITH_HISTORY = ("Công ty TNHH Thương mại Trà Bồng Xanh", "Hợp tác xã Nông nghiệp Tịnh Khê", "Tạp hóa Cô Ba")


def _demo_answer(question, rng: random.Random, strength: float) -> Any:
    """A plausible answer: better options are likelier as ``strength`` (0-1) grows."""
    if question.type == "scale":
        return max(0, min(5, round(rng.gauss(strength * 5, 1.2))))
    if question.type == "single":
        ranked = sorted(question.options, key=lambda option: option.score)
        index = max(0, min(len(ranked) - 1, round(rng.gauss(strength * (len(ranked) - 1), 0.9))))
        return ranked[index].id
    boxes = [option for option in question.options if not option.exclusive]
    ticked = [option.id for option in boxes if rng.random() < strength]
    return ticked or [next(option.id for option in question.options if option.exclusive)]


def _submit_demo_assessment(organisation: Organisation, user: User, rng: random.Random, strength: float,
                            days_ago: int) -> None:
    draft = assessments.start(organisation, user)
    framework = assessments.framework_of(draft)
    answers = {q.id: _demo_answer(q, rng, strength) for q in framework.questions_for(draft.track)}
    assessments.save_answers(draft, user, answers)
    assessments.submit(draft, user)
    when = utcnow() - timedelta(days=days_ago)
    draft.created_at = draft.updated_at = draft.submitted_at = when
    db.session.flush()


def _load_assessments(users: dict[str, User]) -> None:
    """Submitted assessments for every demo organisation that has none yet (a few with an earlier one)."""
    rng = random.Random(2025)  # noqa: S311 (demo data, not security)
    organisations = db.session.scalars(select(Organisation).order_by(Organisation.id)).all()
    for organisation in organisations:
        if assessments.latest_submitted(organisation) or assessments.current_draft(organisation):
            continue
        owner = next((m.user for m in organisation.memberships if m.role is MemberRole.OWNER), None)
        if owner is None:
            continue
        strength = rng.uniform(0.15, 0.8)
        if organisation.name in WITH_HISTORY:
            _submit_demo_assessment(organisation, owner, rng, max(0.05, strength - 0.25), days_ago=200)
        _submit_demo_assessment(organisation, owner, rng, strength, days_ago=rng.randint(3, 40))


def _load_peer_shops() -> None:
    commune_codes = [unit.code for unit in geo.communes()][:len(PEER_SHOPS)]
    for index, name in enumerate(PEER_SHOPS):
        phone = f"0988{index:06d}"
        if db.session.scalar(select(User.id).where(User.phone == phone)):
            continue
        owner = _get_or_create_user(DemoUser(f"peer{index}", "Business", f"Chủ {name}", (Role.BUSINESS,),
                                             phone=phone))
        commune = commune_codes[index % len(commune_codes)] if commune_codes else None
        organisations_service.create_organisation(owner, OrganisationKind.HOUSEHOLD_BUSINESS, {
            "name": name, "sector": "G", "commune_code": commune, "employees": 1 + index % 4,
            "annual_revenue_vnd": (300 + 90 * index) * MN})


#: The states the demo's applications are left in, one per applying organisation, in this order.
DEMO_APPLICATION_PATHS = (
    ("submit",),
    ("submit", "start_review"),
    ("submit", "start_review", "request_info"),
    ("submit", "start_review", "recommend"),
    ("submit", "start_review", "recommend", "approve"),
    ("submit", "start_review", "reject"),
    ("submit",),
    ("submit", "start_review", "recommend"),
)


def one_page_pdf(title: str) -> bytes:
    """A one-page PDF standing in for a scanned document (ASCII title: the base-14 font has no Vietnamese);
    the demo, the load test's data and the browser tests upload it."""
    text = title.encode("ascii", "replace").replace(b"(", b"[").replace(b")", b"]")
    stream = b"BT /F1 14 Tf 40 780 Td (" + text + b") Tj ET"
    objects = [
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R/Resources<</Font<</F1 5 0 R>>>>>>",
        b"<</Length " + str(len(stream)).encode() + b">>stream\n" + stream + b"\nendstream",
        b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>",
    ]
    body = b"%PDF-1.4\n"
    offsets = []
    for number, content in enumerate(objects, start=1):
        offsets.append(len(body))
        body += str(number).encode() + b" 0 obj" + content + b"endobj\n"
    xref = len(body)
    body += b"xref\n0 " + str(len(objects) + 1).encode() + b"\n0000000000 65535 f \n"
    body += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    body += b"trailer<</Size " + str(len(objects) + 1).encode() + b"/Root 1 0 R>>\nstartxref\n"
    return body + str(xref).encode() + b"\n%%EOF\n"


def _load_applications(users: dict[str, User]) -> None:
    """Applications in every state of the review, so the staff queue and the business pages have content.

    Each demo organisation applies to the first programme it is eligible for, with a generated PDF for
    every required document, and is moved through the real workflow by the demo reviewer and approver.
    """
    import io

    from app.models.application import Application
    from app.models.catalogue import Programme
    from app.services import applications, documents, workflow

    if db.session.scalar(select(func.count()).select_from(Application)):
        return
    programmes = db.session.scalars(select(Programme).where(Programme.retired_at.is_(None))
                                    .order_by(Programme.code)).all()
    actors = {"reviewer": users["reviewer"], "approver": users["approver"]}
    paths = iter(DEMO_APPLICATION_PATHS)
    demo_names = {spec.data["name"] for spec in ORGANISATIONS}
    organisations = db.session.scalars(select(Organisation).where(Organisation.name.in_(demo_names))
                                       .order_by(Organisation.id)).all()
    for organisation in organisations:
        owner = next((m.user for m in organisation.memberships if m.role is MemberRole.OWNER), None)
        programme = next((p for p in programmes if owner is not None
                          and applications.check_eligibility(organisation, p).eligible
                          and applications.max_request_for(organisation, p, 100_000_000) > 0), None)
        path = next(paths, None)
        if programme is None or path is None:
            continue
        application, _created = applications.create_draft(organisation, programme, owner)
        cost = 100_000_000 if organisation.kind is not OrganisationKind.HOUSEHOLD_BUSINESS else 12_000_000
        application.planned_cost_vnd = cost
        application.requested_vnd = applications.max_request_for(organisation, programme, cost)
        application.project_title = "Số hoá bán hàng và quản lý kho"
        application.project_description = ("Triển khai phần mềm bán hàng, hoá đơn điện tử và quản lý kho; "
                                           "đào tạo nhân viên sử dụng trong 3 tháng.")
        application.declarations_accepted = True
        db.session.flush()
        for document in programme.documents:
            if document.required:
                pdf = one_page_pdf(f"{programme.code} {document.code}")
                documents.upload(application, document.code, io.BytesIO(pdf), f"{document.code.lower()}.pdf", owner,
                                 check_state=False)
        for action in path:
            actor = owner if action == "submit" else actors["approver" if action == "approve" else "reviewer"]
            data = {"reason": "Vui lòng bổ sung bản scan rõ nét hơn."} if action in ("request_info", "reject") else {}
            if action == "recommend":
                data = {"amount_vnd": application.requested_vnd}
            workflow.perform_transition(application, action, actor, **data)
            db.session.flush()


def load(if_empty: bool = False) -> list[tuple[str, str]] | None:
    """Create the demo data and commit; the ``(role label, login)`` pairs to print.

    With ``if_empty``, do nothing (and return None) when the database already has users.
    """
    if if_empty and db.session.scalar(select(func.count()).select_from(User)):
        return None
    users = {spec.key: _get_or_create_user(spec) for spec in USERS}
    for spec in ORGANISATIONS:
        _create_organisation(spec, users)
    _load_peer_shops()
    db.session.flush()
    _load_assessments(users)
    catalogue_io.import_demo()
    demo_outcomes.generate()
    db.session.flush()
    _load_applications(users)
    db.session.commit()
    from app.services import opendata

    opendata.publish_missing()
    opendata.prepare_files()
    return [(spec.label, spec.login) for spec in USERS]
