"""Managing the catalogue: programmes and partners (create, update, retire), partner vetting, partner
profile revisions, and the queries behind the staff and public catalogue pages.

Plain Python: callers pass the actor and IP; nothing here commits. Data dicts use the keys of the
exchange format ``dxportal.catalogue/1`` (texts as ``{"vi": ..., "en": ...}``, lists of codes), except
that the level range is given as ``level_min``/``level_max``. Every change writes its audit record
(only the changed fields) in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import String, cast, func, or_, select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models.audit import AuditEvent
from app.models.catalogue import (
    PARTNER_CATEGORIES,
    Partner,
    PartnerMember,
    PartnerRevision,
    PartnerStatus,
    PriceBand,
    Programme,
    ProgrammeDocument,
    ProgrammeKind,
    RevisionStatus,
)
from app.models.organisation import OrganisationKind, SizeClass
from app.models.types import utcnow
from app.models.user import Role, User
from app.services import audit, frameworks, geo, identifiers, sectors
from app.services.formatting import format_number
from app.services.organisations import TaxCodeError, check_tax_code

CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,39}$")
#: Control characters: never in one-line values; texts people read may only break lines with "\n".
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_IN_TEXT_RE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")
LANGUAGES = ("vi", "en")
#: The largest amount accepted (as the import's limit): anything above is a typing mistake.
MAX_VND = 10**15
LEVEL_MIN, LEVEL_MAX = 0, 5
MAX_NAME = 200
MAX_SUMMARY = 4000
MAX_REASON = 500

#: Labels of the partner solution categories (the fixed list of the exchange format), as data.
CATEGORY_LABELS: dict[str, dict[str, str]] = {
    "e_invoice": {"vi": "Hoá đơn điện tử", "en": "E-invoicing"},
    "accounting": {"vi": "Phần mềm kế toán", "en": "Accounting software"},
    "pos_sales": {"vi": "Bán hàng tại quầy (POS)", "en": "Point of sale (POS)"},
    "ecommerce": {"vi": "Thương mại điện tử", "en": "E-commerce"},
    "website": {"vi": "Thiết kế website", "en": "Websites"},
    "digital_marketing": {"vi": "Tiếp thị số", "en": "Digital marketing"},
    "crm": {"vi": "Quản lý khách hàng (CRM)", "en": "Customer management (CRM)"},
    "erp": {"vi": "Quản trị tổng thể (ERP)", "en": "Enterprise resource planning (ERP)"},
    "hr_payroll": {"vi": "Nhân sự và tiền lương", "en": "HR and payroll"},
    "digital_signature": {"vi": "Chữ ký số", "en": "Digital signatures"},
    "cloud_storage": {"vi": "Lưu trữ đám mây", "en": "Cloud storage"},
    "cybersecurity": {"vi": "An toàn thông tin", "en": "Cybersecurity"},
    "traceability": {"vi": "Truy xuất nguồn gốc", "en": "Product traceability"},
    "booking": {"vi": "Đặt chỗ, đặt lịch trực tuyến", "en": "Online booking"},
    "logistics_tracking": {"vi": "Vận chuyển và theo dõi đơn hàng", "en": "Logistics and delivery tracking"},
    "data_analytics": {"vi": "Phân tích dữ liệu", "en": "Data analytics"},
    "training": {"vi": "Đào tạo kỹ năng số", "en": "Digital skills training"},
    "consulting": {"vi": "Tư vấn chuyển đổi số", "en": "Digital transformation consulting"},
}

PROGRAMME_TEXTS = ("name", "sponsor", "summary")
PROGRAMME_AUDITED = (
    "code", "name", "sponsor", "summary", "kind", "pillars", "sectors", "org_kinds", "size_classes", "communes",
    "level_min", "level_max", "support_rate", "caps_vnd", "budget_vnd", "opens_on", "closes_on", "documents",
)
#: Fields a partner user may propose changes to (never code, name, tax code or status).
REVISION_FIELDS = (
    "summary", "website", "email", "phone", "categories", "pillars", "sectors", "org_kinds", "communes",
    "price_band",
)
PARTNER_AUDITED = ("code", "name", "tax_code", *REVISION_FIELDS)

#: Vetting: (current status, action) -> next status. Nothing goes back to "pending".
TRANSITIONS: dict[tuple[PartnerStatus, str], PartnerStatus] = {
    (PartnerStatus.PENDING, "vet"): PartnerStatus.VETTED,
    (PartnerStatus.VETTED, "suspend"): PartnerStatus.SUSPENDED,
    (PartnerStatus.SUSPENDED, "reinstate"): PartnerStatus.VETTED,
}
ACTION_LABELS = {
    "vet": _l("Mark as vetted"),
    "suspend": _l("Suspend"),
    "reinstate": _l("Reinstate (vetted again)"),
}


class CatalogueError(ValueError):
    """Data or an action the catalogue rules refuse; ``field`` names the offending key, ``message`` is for people."""

    def __init__(self, field: str | None, message: Any):
        super().__init__(field)  # the message stays lazy: it is translated where it is shown
        self.field = field
        self.message = message


# --------------------------------------------------------------------------------------------------
# Labels and choices
# --------------------------------------------------------------------------------------------------


def _lang(locale: str | None) -> str:
    return "en" if str(locale or "vi").startswith("en") else "vi"


def category_label(code: str, locale: str | None = None) -> str:
    """The category's name in ``locale`` (Vietnamese by default); the code itself when unknown."""
    labels = CATEGORY_LABELS.get(code)
    return labels[_lang(locale)] if labels else code


def category_choices(locale: str | None = None) -> list[tuple[str, str]]:
    return [(code, category_label(code, locale)) for code in PARTNER_CATEGORIES]


def framework():
    return frameworks.current_framework()


def pillar_codes() -> tuple[str, ...]:
    return tuple(p.code for p in framework().pillars)


def pillar_choices(locale: str | None = None) -> list[tuple[str, str]]:
    return [(p.code, p.name.pick(_lang(locale))) for p in framework().pillars]


def pillar_name(code: str, locale: str | None = None) -> str:
    for pillar in framework().pillars:
        if pillar.code == code:
            return pillar.name.pick(_lang(locale))
    return code


def level_name(number: int, locale: str | None = None) -> str:
    levels = framework().levels
    if 0 <= number < len(levels):
        return levels[number].name.pick(_lang(locale))
    return str(number)


def level_choices(locale: str | None = None) -> list[tuple[str, str]]:
    return [(str(lv.level), f"{lv.level} – {lv.name.pick(_lang(locale))}") for lv in framework().levels]


def today() -> dt.date:
    """Today in the province (UTC+7 all year)."""
    return dt.datetime.now(frameworks.PROVINCE_TZ).date()


def format_rate(rate: float | None) -> str:
    """``0.5`` → ``50``, ``0.125`` → ``12,5`` (a percentage without the sign, Vietnamese decimal comma)."""
    if rate is None:
        return ""
    text = f"{round(rate * 100, 4):f}".rstrip("0").rstrip(".")
    return text.replace(".", ",")


# --------------------------------------------------------------------------------------------------
# Checking data (the forms check the same things first, with friendlier messages)
# --------------------------------------------------------------------------------------------------


def _text(data: dict, key: str, limit: int) -> dict[str, str]:
    value = data.get(key) or {}
    result = {}
    for lang in LANGUAGES:
        text = value.get(lang) if isinstance(value, dict) else None
        text = text.strip() if isinstance(text, str) else ""
        if not text:
            raise CatalogueError(f"{key}_{lang}", _l("Enter the text in both Vietnamese and English."))
        if _CONTROL_IN_TEXT_RE.search(text):
            raise CatalogueError(f"{key}_{lang}", _l("Remove the special (control) characters from this field."))
        if len(text) > limit:
            raise CatalogueError(f"{key}_{lang}", _l("At most %(max)d characters.", max=limit))
        result[lang] = text
    return result


def _codes(data: dict, key: str, allowed, *, at_least_one: bool = False) -> list[str]:
    value = data.get(key) or []
    if not isinstance(value, (list, tuple)) or any(not isinstance(v, str) for v in value):
        raise CatalogueError(key, _l("Choose from the list."))
    allowed = tuple(allowed)
    unknown = [v for v in value if v not in allowed]
    if unknown:
        raise CatalogueError(key, _l("Unknown value: %(value)s.", value=", ".join(unknown)))
    if at_least_one and not value:
        raise CatalogueError(key, _l("Choose at least one."))
    # Canonical order (the order of the list offered), no duplicates.
    chosen = set(value)
    return [code for code in allowed if code in chosen]


def _whole(data: dict, key: str, *, minimum: int, maximum: int, required: bool = True) -> int | None:
    value = data.get(key)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise CatalogueError(key, _l("Enter a whole number."))
    if not minimum <= value <= maximum:
        raise CatalogueError(key, _l("Enter a number from %(low)s to %(high)s.", low=minimum, high=maximum))
    return value


def _date(data: dict, key: str) -> dt.date:
    value = data.get(key)
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise CatalogueError(key, _l("Enter a date as dd/mm/yyyy."))
    return value


def check_code(value: Any, field: str = "code") -> str:
    code = value.strip().upper() if isinstance(value, str) else ""
    if not CODE_RE.match(code):
        raise CatalogueError(field, _l("A code has 2 to 40 capital letters, digits or dashes and starts with a "
                                       "letter or digit, e.g. ND80-SOLUTIONS."))
    return code


def _all_communes() -> tuple[str, ...]:
    return tuple(unit.code for unit in geo.communes())


def clean_programme(data: dict[str, Any]) -> dict[str, Any]:
    """The programme's values to store, or ``CatalogueError`` for the first rule broken."""
    values: dict[str, Any] = {}
    for key in PROGRAMME_TEXTS:
        values[key] = _text(data, key, MAX_SUMMARY if key == "summary" else MAX_NAME)
    try:
        values["kind"] = ProgrammeKind(data.get("kind"))
    except ValueError:
        raise CatalogueError("kind", _l("Choose the kind of programme.")) from None
    values["pillars"] = _codes(data, "pillars", pillar_codes(), at_least_one=True)
    values["sectors"] = _codes(data, "sectors", sectors.SECTION_LETTERS)
    values["org_kinds"] = _codes(data, "org_kinds", [k.value for k in OrganisationKind], at_least_one=True)
    values["size_classes"] = _codes(data, "size_classes", [s.value for s in SizeClass])
    values["communes"] = _codes(data, "communes", _all_communes())
    values["level_min"] = _whole(data, "level_min", minimum=LEVEL_MIN, maximum=LEVEL_MAX)
    values["level_max"] = _whole(data, "level_max", minimum=LEVEL_MIN, maximum=LEVEL_MAX)
    if values["level_min"] > values["level_max"]:
        raise CatalogueError("level_max", _l("The highest level cannot be below the lowest level."))
    rate = data.get("support_rate")
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 < rate <= 1:
        raise CatalogueError("support_rate", _l("The support rate is more than 0% and at most 100%."))
    values["support_rate"] = float(rate)
    caps = data.get("caps_vnd") or {}
    if not isinstance(caps, dict):
        raise CatalogueError("caps_vnd", _l("Enter the caps as amounts in đồng."))
    values["caps_vnd"] = {}
    if set(caps) - {s.value for s in SizeClass}:
        raise CatalogueError("caps_vnd", _l("Caps are given per size class: micro, small, medium, large."))
    for size in SizeClass:
        if caps.get(size.value) is not None:
            try:
                values["caps_vnd"][size.value] = _whole(caps, size.value, minimum=1, maximum=MAX_VND)
            except CatalogueError as error:
                raise CatalogueError(f"cap_{size.value}", error.message) from None
            if values["size_classes"] and size.value not in values["size_classes"]:
                raise CatalogueError(f"cap_{size.value}", _l("This size class is not among the sizes that may "
                                                             "apply: tick it or leave its cap empty."))
    values["budget_vnd"] = _whole(data, "budget_vnd", minimum=1, maximum=MAX_VND)
    values["opens_on"] = _date(data, "opens_on")
    values["closes_on"] = _date(data, "closes_on")
    if values["closes_on"] < values["opens_on"]:
        raise CatalogueError("closes_on", _l("The closing date cannot be before the opening date."))
    values["documents"] = _documents(data.get("documents") or [])
    return values


def _documents(rows: list[dict]) -> list[dict[str, Any]]:
    documents, seen = [], set()
    for row in rows:
        code = check_code(row.get("code"), "documents")
        if code in seen:
            raise CatalogueError("documents", _l("Each document needs its own code; %(code)s is used twice.",
                                                 code=code))
        seen.add(code)
        name = _text(row, "name", MAX_NAME)
        documents.append({"code": code, "name": name, "required": bool(row.get("required"))})
    return documents


def _keep_order(current: list[str] | None, new: list[str]) -> list[str]:
    """The stored list when it holds the same codes, so re-saving a form changes nothing."""
    return list(current) if current is not None and set(current) == set(new) else new


# --------------------------------------------------------------------------------------------------
# Programmes
# --------------------------------------------------------------------------------------------------


def _document_rows(programme: Programme) -> list[dict[str, Any]]:
    return [{"code": d.code, "name": dict(d.name), "required": bool(d.required)} for d in programme.documents]


def programme_snapshot(programme: Programme) -> dict[str, Any]:
    snapshot = audit.snapshot(programme, [f for f in PROGRAMME_AUDITED if f != "documents"])
    snapshot["documents"] = _document_rows(programme)
    return snapshot


def _code_taken(model, code: str, exclude_id: int | None = None) -> bool:
    query = select(func.count()).select_from(model).where(model.code == code)
    if exclude_id is not None:
        query = query.where(model.id != exclude_id)
    return bool(db.session.scalar(query))


def _apply_programme(programme: Programme, values: dict[str, Any]) -> None:
    for key, value in values.items():
        if key == "documents":
            continue
        if isinstance(value, list):
            value = _keep_order(getattr(programme, key), value)
        setattr(programme, key, value)
    existing = {document.code: document for document in programme.documents}
    documents = []
    for position, row in enumerate(values["documents"]):
        document = existing.get(row["code"]) or ProgrammeDocument(code=row["code"])
        document.name, document.required, document.position = row["name"], row["required"], position
        documents.append(document)
    programme.documents = documents


def create_programme(actor: User | None, data: dict[str, Any], ip: str | None = None) -> Programme:
    """A new programme from ``data``; ``CatalogueError`` for bad data or a code already used."""
    code = check_code(data.get("code"))
    values = clean_programme(data)
    if _code_taken(Programme, code):
        raise CatalogueError("code", _l("Another programme already has the code %(code)s.", code=code))
    programme = Programme(code=code, committed_vnd=0)
    _apply_programme(programme, values)
    db.session.add(programme)
    db.session.flush()
    audit.record("programme.create", "programme", programme.id, actor=actor, ip=ip,
                 after=programme_snapshot(programme))
    return programme


def update_programme(programme: Programme, actor: User | None, data: dict[str, Any], ip: str | None = None) -> bool:
    """Apply ``data`` (its ``code`` is ignored: codes never change); False when nothing changed."""
    values = clean_programme(data)
    committed = programme.committed_vnd or 0
    if values["budget_vnd"] < committed:
        raise CatalogueError("budget_vnd", _l("The budget cannot be less than the %(amount)s đồng already "
                                              "committed to approved applications.",
                                              amount=format_number(committed)))
    before = programme_snapshot(programme)
    _apply_programme(programme, values)
    changed_before, changed_after = audit.changed_fields(before, programme_snapshot(programme))
    if not changed_after:
        return False
    programme.updated_at = utcnow()
    audit.record("programme.update", "programme", programme.id, actor=actor, ip=ip,
                 before=changed_before, after=changed_after)
    return True


def _set_retired(item: Programme | Partner, object_type: str, retired: bool, actor: User | None,
                 ip: str | None) -> bool:
    """Retire or restore a catalogue item, audited; False when it is already in that state."""
    if (item.retired_at is not None) == retired:
        return False
    before = item.retired_at
    item.retired_at = utcnow() if retired else None
    audit.record(f"{object_type}.{'retire' if retired else 'restore'}", object_type, item.id, actor=actor, ip=ip,
                 before={"retired_at": before}, after={"retired_at": item.retired_at})
    return True


def retire_programme(programme: Programme, actor: User | None, ip: str | None = None) -> bool:
    """Hide the programme from the catalogue and recommendations; history keeps it. False if already retired."""
    return _set_retired(programme, "programme", True, actor, ip)


def restore_programme(programme: Programme, actor: User | None, ip: str | None = None) -> bool:
    """Bring a retired programme back. False if it was not retired."""
    return _set_retired(programme, "programme", False, actor, ip)


# --------------------------------------------------------------------------------------------------
# Partners
# --------------------------------------------------------------------------------------------------


def _optional_text(data: dict, key: str, limit: int) -> str | None:
    value = data.get(key)
    value = value.strip() if isinstance(value, str) else None
    if value and len(value) > limit:
        raise CatalogueError(key, _l("At most %(max)d characters.", max=limit))
    if value and _CONTROL_RE.search(value):
        raise CatalogueError(key, _l("Remove the special (control) characters from this field."))
    return value or None


def _phone_ok(value: str) -> bool:
    """Digits with the usual separators: 8 to 11 digits starting 0 (a leading +84 reads as 0), or a 1800/1900 line."""
    if not re.fullmatch(r"\+?[0-9 .()\-]+", value):
        return False
    digits = re.sub(r"[^0-9]", "", value)
    if value.startswith("+84"):
        digits = "0" + digits[2:]
    return 8 <= len(digits) <= 11 and digits.startswith(("0", "1800", "1900"))


def clean_profile(data: dict[str, Any]) -> dict[str, Any]:
    """The fields a partner may propose (``REVISION_FIELDS``), checked."""
    values: dict[str, Any] = {"summary": _text(data, "summary", MAX_SUMMARY)}
    values["website"] = _optional_text(data, "website", 255)
    if values["website"] and not re.match(r"^https?://[^\s/]+\.[^\s]+$", values["website"]):
        raise CatalogueError("website", _l("Enter a web address, e.g. https://example.vn."))
    email = _optional_text(data, "email", 254)
    if email is not None:
        email = identifiers.normalise_email(email)
        if email is None:
            raise CatalogueError("email", _l("Enter a valid e-mail address, e.g. name@example.com."))
    values["email"] = email
    values["phone"] = _optional_text(data, "phone", 30)
    if values["phone"] and not _phone_ok(values["phone"]):
        raise CatalogueError("phone", _l("Enter a phone number, e.g. 0255 3 123 456."))
    values["categories"] = _codes(data, "categories", PARTNER_CATEGORIES, at_least_one=True)
    values["pillars"] = _codes(data, "pillars", pillar_codes(), at_least_one=True)
    values["sectors"] = _codes(data, "sectors", sectors.SECTION_LETTERS)
    values["org_kinds"] = _codes(data, "org_kinds", [k.value for k in OrganisationKind], at_least_one=True)
    values["communes"] = _codes(data, "communes", _all_communes())
    try:
        values["price_band"] = PriceBand(data.get("price_band"))
    except ValueError:
        raise CatalogueError("price_band", _l("Choose a price band.")) from None
    return values


def clean_partner(data: dict[str, Any], exclude_id: int | None = None) -> dict[str, Any]:
    """Name, tax code and the profile fields of a partner, checked (the code is checked separately)."""
    name = _optional_text(data, "name", MAX_NAME)
    if not name:
        raise CatalogueError("name", _l("Enter the partner's name."))
    values: dict[str, Any] = {"name": name}
    tax_code = _optional_text(data, "tax_code", 32)
    if tax_code:
        try:
            tax_code = check_tax_code(tax_code, OrganisationKind.ENTERPRISE)
        except TaxCodeError as error:
            raise CatalogueError("tax_code", error.message) from None
        query = select(func.count()).select_from(Partner).where(Partner.tax_code == tax_code)
        if exclude_id is not None:
            query = query.where(Partner.id != exclude_id)
        if db.session.scalar(query):
            raise CatalogueError("tax_code", _l("Another partner already has this tax code."))
    values["tax_code"] = tax_code
    values.update(clean_profile(data))
    return values


def partner_snapshot(partner: Partner) -> dict[str, Any]:
    return audit.snapshot(partner, list(PARTNER_AUDITED))


def _apply(obj, values: dict[str, Any]) -> None:
    for key, value in values.items():
        if isinstance(value, list):
            value = _keep_order(getattr(obj, key), value)
        setattr(obj, key, value)


def create_partner(actor: User | None, data: dict[str, Any], ip: str | None = None) -> Partner:
    """A new partner, awaiting vetting; ``CatalogueError`` for bad data or a code already used."""
    code = check_code(data.get("code"))
    values = clean_partner(data)
    if _code_taken(Partner, code):
        raise CatalogueError("code", _l("Another partner already has the code %(code)s.", code=code))
    partner = Partner(code=code, status=PartnerStatus.PENDING)
    _apply(partner, values)
    db.session.add(partner)
    db.session.flush()
    after = partner_snapshot(partner)
    after["status"] = partner.status.value
    audit.record("partner.create", "partner", partner.id, actor=actor, ip=ip, after=after)
    return partner


def update_partner(partner: Partner, actor: User | None, data: dict[str, Any], ip: str | None = None) -> bool:
    """Staff edit: name, tax code and profile (not the code, not the status). False when nothing changed."""
    values = clean_partner(data, exclude_id=partner.id)
    return _update_partner_values(partner, actor, values, ip)


def _update_partner_values(partner: Partner, actor: User | None, values: dict[str, Any], ip: str | None) -> bool:
    before = partner_snapshot(partner)
    _apply(partner, values)
    changed_before, changed_after = audit.changed_fields(before, partner_snapshot(partner))
    if not changed_after:
        return False
    partner.updated_at = utcnow()
    audit.record("partner.update", "partner", partner.id, actor=actor, ip=ip,
                 before=changed_before, after=changed_after)
    return True


def allowed_actions(partner: Partner) -> list[str]:
    """The vetting actions open from the partner's current status."""
    return [action for (status, action) in TRANSITIONS if status is partner.status]


def change_status(partner: Partner, actor: User | None, action: str, reason: str | None,
                  ip: str | None = None) -> PartnerStatus:
    """Move the partner along the vetting table; a reason is always required and recorded."""
    target = TRANSITIONS.get((partner.status, action))
    if target is None:
        raise CatalogueError("action", _l("This change is not possible from the partner's current status."))
    reason = (reason or "").strip()
    if not reason:
        raise CatalogueError("reason", _l("Give the reason for this change."))
    if len(reason) > MAX_REASON:
        raise CatalogueError("reason", _l("At most %(max)d characters.", max=MAX_REASON))
    before = partner.status
    partner.status = target
    partner.updated_at = utcnow()
    audit.record("partner.status_change", "partner", partner.id, actor=actor, ip=ip,
                 before={"status": before.value}, after={"status": target.value, "reason": reason})
    return target


def retire_partner(partner: Partner, actor: User | None, ip: str | None = None) -> bool:
    """Hide the partner everywhere, whatever its vetting status. False if already retired."""
    return _set_retired(partner, "partner", True, actor, ip)


def restore_partner(partner: Partner, actor: User | None, ip: str | None = None) -> bool:
    """Bring a retired partner back (its vetting status is unchanged). False if it was not retired."""
    return _set_retired(partner, "partner", False, actor, ip)


def vetting_history(partner: Partner) -> list[AuditEvent]:
    """The partner's creation and status changes, newest first, with who did them."""
    query = (
        select(AuditEvent)
        .options(selectinload(AuditEvent.actor))
        .where(AuditEvent.object_type == "partner", AuditEvent.object_id == str(partner.id),
               AuditEvent.action.in_(("partner.create", "partner.status_change")))
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    )
    return list(db.session.scalars(query))


# --------------------------------------------------------------------------------------------------
# Partner members
# --------------------------------------------------------------------------------------------------


def members_of(partner: Partner) -> list[PartnerMember]:
    query = (
        select(PartnerMember)
        .options(selectinload(PartnerMember.user))
        .where(PartnerMember.partner_id == partner.id)
        .order_by(PartnerMember.id)
    )
    return list(db.session.scalars(query))


def add_member(partner: Partner, actor: User | None, email: str, ip: str | None = None) -> PartnerMember:
    """Link an existing user with the partner role to the partner, by e-mail."""
    address = identifiers.normalise_email(email or "")
    user = db.session.scalar(select(User).where(User.email == address)) if address else None
    if user is None:
        raise CatalogueError("email", _l("No account has this e-mail address. The person must register first."))
    if not user.has_role(Role.PARTNER):
        raise CatalogueError("email", _l("This account does not have the IT partner role. An administrator must "
                                         "give it that role first."))
    exists = db.session.scalar(
        select(PartnerMember.id).where(PartnerMember.partner_id == partner.id, PartnerMember.user_id == user.id)
    )
    if exists is not None:
        raise CatalogueError("email", _l("This person is already linked to the partner."))
    member = PartnerMember(partner=partner, user=user)
    db.session.add(member)
    db.session.flush()
    audit.record("partner.member_add", "partner", partner.id, actor=actor, ip=ip,
                 after={"user_id": user.id, "email": user.email})
    return member


def remove_member(partner: Partner, member: PartnerMember, actor: User | None, ip: str | None = None) -> None:
    audit.record("partner.member_remove", "partner", partner.id, actor=actor, ip=ip,
                 before={"user_id": member.user_id, "email": member.user.email if member.user else None})
    db.session.delete(member)


def find_member(partner: Partner, member_id: int) -> PartnerMember | None:
    return db.session.scalar(
        select(PartnerMember).where(PartnerMember.id == member_id, PartnerMember.partner_id == partner.id)
    )


def partners_of(user: User) -> list[Partner]:
    """The partners ``user`` is linked to, by name."""
    query = (
        select(Partner)
        .join(PartnerMember)
        .where(PartnerMember.user_id == user.id)
        .order_by(Partner.name, Partner.id)
    )
    return list(db.session.scalars(query))


def find_for_member(partner_id: int, user: User) -> Partner | None:
    """The partner when ``user`` is linked to it, else None (the caller answers 404)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return db.session.scalar(
        select(Partner)
        .join(PartnerMember)
        .where(Partner.id == partner_id, PartnerMember.user_id == user.id)
    )


# --------------------------------------------------------------------------------------------------
# Partner revisions (profile edits proposed by partner users)
# --------------------------------------------------------------------------------------------------


def profile_values(partner: Partner) -> dict[str, Any]:
    """The partner's current values of the fields a revision may change, JSON-ready."""
    return audit.snapshot(partner, list(REVISION_FIELDS))


def pending_revision(partner: Partner) -> PartnerRevision | None:
    return db.session.scalar(
        select(PartnerRevision)
        .where(PartnerRevision.partner_id == partner.id, PartnerRevision.status == RevisionStatus.PENDING)
        .order_by(PartnerRevision.id.desc())
        .limit(1)
    )


def latest_revision(partner: Partner) -> PartnerRevision | None:
    return db.session.scalar(
        select(PartnerRevision)
        .where(PartnerRevision.partner_id == partner.id)
        .order_by(PartnerRevision.submitted_at.desc(), PartnerRevision.id.desc())
        .limit(1)
    )


def submit_revision(partner: Partner, user: User, data: dict[str, Any], ip: str | None = None) -> PartnerRevision:
    """A member proposes profile changes; they wait for staff. A pending proposal is replaced, not stacked.

    Raises ``CatalogueError`` when the user is not a member, the data is invalid or nothing would change.
    """
    if find_for_member(partner.id, user) is None:
        raise CatalogueError(None, _l("Only people linked to this partner can propose changes."))
    values = audit.snapshot(_Values(clean_profile(data)), list(REVISION_FIELDS))
    current = profile_values(partner)
    for key, value in values.items():
        if isinstance(value, list):
            values[key] = _keep_order(current.get(key), value)
    if values == current:
        raise CatalogueError(None, _l("The proposal is the same as the published profile: change something first."))
    revision = pending_revision(partner)
    if revision is not None:
        before = dict(revision.data)
        revision.data = values
        revision.submitted_by_id = user.id
        revision.submitted_at = utcnow()
        db.session.flush()
        changed_before, changed_after = audit.changed_fields(before, values)
        audit.record("partner.revision_replace", "partner_revision", revision.id, actor=user, ip=ip,
                     before={"partner_id": partner.id, **changed_before},
                     after={"partner_id": partner.id, **changed_after})
        return revision
    revision = PartnerRevision(partner=partner, data=values, status=RevisionStatus.PENDING,
                               submitted_by_id=user.id, submitted_at=utcnow())
    db.session.add(revision)
    db.session.flush()
    changed_before, changed_after = audit.changed_fields(current, values)
    audit.record("partner.revision_submit", "partner_revision", revision.id, actor=user, ip=ip,
                 before={"partner_id": partner.id, **changed_before}, after={"partner_id": partner.id, **changed_after})
    return revision


class _Values:
    """Attribute access to a dict, so ``audit.snapshot`` can make it JSON-ready."""

    def __init__(self, values: dict[str, Any]):
        self.__dict__.update(values)


@dataclass(frozen=True)
class DiffRow:
    field: str
    current: Any
    proposed: Any


def revision_diff(revision: PartnerRevision) -> list[DiffRow]:
    """The fields the revision would change: (field, current value, proposed value)."""
    current = profile_values(revision.partner)
    proposed = revision.data or {}
    return [DiffRow(key, current.get(key), proposed.get(key)) for key in REVISION_FIELDS
            if key in proposed and proposed.get(key) != current.get(key)]


def _require_pending(revision: PartnerRevision) -> None:
    if revision.status is not RevisionStatus.PENDING:
        raise CatalogueError(None, _l("This proposal has already been reviewed."))


def approve_revision(revision: PartnerRevision, actor: User | None, ip: str | None = None,
                     note: str | None = None) -> bool:
    """Publish the proposed values; True when the profile changed."""
    _require_pending(revision)
    values = clean_profile(revision.data or {})
    note = (note or "").strip()[:MAX_REASON] or None
    revision.status = RevisionStatus.APPROVED
    revision.reviewed_by_id = actor.id if actor is not None else None
    revision.reviewed_at = utcnow()
    revision.review_note = note
    audit.record("partner.revision_approve", "partner_revision", revision.id, actor=actor, ip=ip,
                 before={"status": RevisionStatus.PENDING.value},
                 after={"status": RevisionStatus.APPROVED.value, "partner_id": revision.partner_id, "note": note})
    return _update_partner_values(revision.partner, actor, values, ip)


def reject_revision(revision: PartnerRevision, actor: User | None, reason: str | None,
                    ip: str | None = None) -> None:
    """Turn the proposal down with a note the partner sees; the profile stays as it is."""
    _require_pending(revision)
    reason = (reason or "").strip()
    if not reason:
        raise CatalogueError("reason", _l("Tell the partner why the proposal is rejected."))
    if len(reason) > MAX_REASON:
        raise CatalogueError("reason", _l("At most %(max)d characters.", max=MAX_REASON))
    revision.status = RevisionStatus.REJECTED
    revision.reviewed_by_id = actor.id if actor is not None else None
    revision.reviewed_at = utcnow()
    revision.review_note = reason
    audit.record("partner.revision_reject", "partner_revision", revision.id, actor=actor, ip=ip,
                 before={"status": RevisionStatus.PENDING.value},
                 after={"status": RevisionStatus.REJECTED.value, "partner_id": revision.partner_id, "note": reason})


def pending_revisions_query():
    return (
        select(PartnerRevision)
        .options(selectinload(PartnerRevision.partner), selectinload(PartnerRevision.submitted_by))
        .where(PartnerRevision.status == RevisionStatus.PENDING)
        .order_by(PartnerRevision.submitted_at, PartnerRevision.id)
    )


# --------------------------------------------------------------------------------------------------
# Searching and filtering
# --------------------------------------------------------------------------------------------------


def _escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _contains(term: str) -> str:
    return f"%{_escape_like(term)}%"


def _json_text(column):
    return cast(column, String)


def _lists(column, code: str):
    """The JSON list column holds ``code`` (codes never contain quotes, so its text shows ``"code"``)."""
    return _json_text(column).like(f'%"{_escape_like(code)}"%', escape="\\")


def _lists_or_all(column, code: str):
    """The JSON list column holds ``code`` or is empty (``[]`` means "all")."""
    text = _json_text(column)
    return or_(column.is_(None), text == "[]", text == "null", _lists(column, code))


def open_condition(on: dt.date):
    return (Programme.retired_at.is_(None), Programme.opens_on <= on, Programme.closes_on >= on)


def staff_programmes_query(q: str | None = None, kind: str | None = None, status: str | None = None,
                           open_on: dt.date | None = None):
    """Programmes for the staff list: search in code and names (vi, en), kind, active/retired, open on a date."""
    query = select(Programme).order_by(Programme.code, Programme.id)
    if q:
        pattern = _contains(q)
        query = query.where(or_(
            Programme.code.ilike(pattern, escape="\\"),
            Programme.name["vi"].as_string().ilike(pattern, escape="\\"),
            Programme.name["en"].as_string().ilike(pattern, escape="\\"),
        ))
    if kind:
        query = query.where(Programme.kind == ProgrammeKind(kind))
    if status == "active":
        query = query.where(Programme.retired_at.is_(None))
    elif status == "retired":
        query = query.where(Programme.retired_at.is_not(None))
    if open_on is not None:
        query = query.where(*open_condition(open_on))
    return query


def staff_partners_query(q: str | None = None, status: str | None = None, category: str | None = None):
    """Partners for the staff list: search in name, code and tax code; vetting status or retired; category."""
    query = select(Partner).order_by(Partner.name, Partner.id)
    if q:
        pattern = _contains(q)
        query = query.where(or_(Partner.name.ilike(pattern, escape="\\"), Partner.code.ilike(pattern, escape="\\"),
                                Partner.tax_code.like(pattern, escape="\\")))
    if status == "retired":
        query = query.where(Partner.retired_at.is_not(None))
    elif status:
        query = query.where(Partner.status == PartnerStatus(status), Partner.retired_at.is_(None))
    if category:
        query = query.where(_lists(Partner.categories, category))
    return query


@dataclass(frozen=True)
class PublicFilters:
    """What a visitor narrows the public catalogue to; None means any."""

    sector: str | None = None
    org_kind: str | None = None
    category: str | None = None
    pillar: str | None = None


def _programme_filters(query, filters: PublicFilters):
    if filters.sector:
        query = query.where(_lists_or_all(Programme.sectors, filters.sector))
    if filters.org_kind:
        query = query.where(_lists_or_all(Programme.org_kinds, filters.org_kind))
    if filters.pillar:
        query = query.where(_lists(Programme.pillars, filters.pillar))
    return query


def public_open_programmes(filters: PublicFilters, on: dt.date, limit: int = 100) -> list[Programme]:
    """Programmes open for applications on ``on``, closing soonest first (a partner category does not apply)."""
    query = _programme_filters(select(Programme).where(*open_condition(on)), filters)
    return list(db.session.scalars(query.order_by(Programme.closes_on, Programme.code).limit(limit)))


def public_upcoming_programmes(filters: PublicFilters, on: dt.date, limit: int = 20) -> list[Programme]:
    """Programmes whose window opens after ``on``, soonest first."""
    query = select(Programme).where(Programme.retired_at.is_(None), Programme.opens_on > on)
    query = _programme_filters(query, filters)
    return list(db.session.scalars(query.order_by(Programme.opens_on, Programme.code).limit(limit)))


def public_partners_query(filters: PublicFilters):
    """Vetted, active partners matching the filters, by name."""
    query = select(Partner).where(Partner.status == PartnerStatus.VETTED, Partner.retired_at.is_(None))
    if filters.sector:
        query = query.where(_lists_or_all(Partner.sectors, filters.sector))
    if filters.org_kind:
        query = query.where(_lists_or_all(Partner.org_kinds, filters.org_kind))
    if filters.category:
        query = query.where(_lists(Partner.categories, filters.category))
    if filters.pillar:
        query = query.where(_lists(Partner.pillars, filters.pillar))
    return query.order_by(Partner.name, Partner.id)


def public_programme(programme_id: int) -> Programme | None:
    """A programme the public may see: any that is not retired."""
    programme = db.session.get(Programme, programme_id)
    return programme if programme is not None and programme.retired_at is None else None


def public_partner(partner_id: int) -> Partner | None:
    """A partner the public may see: vetted and not retired."""
    partner = db.session.get(Partner, partner_id)
    if partner is None or partner.status is not PartnerStatus.VETTED or partner.retired_at is not None:
        return None
    return partner


def window_state(programme: Programme, on: dt.date) -> str:
    """``open``, ``upcoming`` or ``closed`` on ``on``."""
    if on < programme.opens_on:
        return "upcoming"
    if on > programme.closes_on:
        return "closed"
    return "open"
