"""Organisation profiles: tax-code checks, the Decree 80/2021 size class, creating and editing
profiles, and managing members. Plain Python: callers pass the actor and IP; nothing is committed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models.invitation import Invitation, InvitationKind
from app.models.organisation import MemberRole, Membership, Organisation, OrganisationKind, SizeClass
from app.models.types import utcnow
from app.models.user import Role, User, UserRole
from app.services import audit, geo, identifiers, invitations, sectors

# --------------------------------------------------------------------------------------------------
# Tax codes
# --------------------------------------------------------------------------------------------------

#: Weights of the MST check digit, applied to digits 1–9.
MST_WEIGHTS = (31, 29, 23, 19, 17, 13, 7, 5, 3)
_DASHES = str.maketrans({"\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-"})
_DIGITS_RE = re.compile(r"^[0-9]+$")


class TaxCodeError(ValueError):
    """A tax code that cannot be accepted; ``reason`` is a stable key, ``message`` is for the user."""

    def __init__(self, reason: str, message: Any):
        super().__init__(str(reason))
        self.reason = reason
        self.message = message


def normalise_tax_code(raw: str | None) -> str:
    """Remove every kind of space and turn typographic dashes into ``-``."""
    return "".join((raw or "").translate(_DASHES).split())


def mst_check_digit(first_nine: str) -> int | None:
    """The check digit for nine digits: 10 − (weighted sum mod 11); None when that gives 10 (no valid MST)."""
    total = sum(int(digit) * weight for digit, weight in zip(first_nine, MST_WEIGHTS, strict=True))
    check = 10 - total % 11
    return None if check == 10 else check


def _check_mst(value: str) -> str:
    main, dash, branch = value.partition("-")
    if not dash and len(main) == 13 and _DIGITS_RE.match(main):
        # "0100109106001" is the same code as "0100109106-001", written without the dash.
        main, branch, dash = main[:10], main[10:], "-"
    if not _DIGITS_RE.match(main) or "-" in branch:
        raise TaxCodeError("characters", _l("A tax code has only digits, and a dash before a branch number "
                                            "(for example 0100109106-001)."))
    if len(main) != 10:
        raise TaxCodeError("length", _l("A tax code has 10 digits (13 with a branch number, e.g. "
                                        "0100109106-001); you entered %(count)s.", count=len(main)))
    if dash:
        if len(branch) != 3 or not _DIGITS_RE.match(branch):
            raise TaxCodeError("branch", _l("After the dash comes the 3-digit branch number, e.g. -001."))
        if branch == "000":
            raise TaxCodeError("branch", _l("Branch numbers start at 001; leave out \"-000\" for the main office."))
    if mst_check_digit(main[:9]) != int(main[9]):
        raise TaxCodeError("check_digit", _l("This tax code is not valid: the last digit does not match the "
                                             "others. Please check it for a typing mistake."))
    return f"{main}-{branch}" if dash else main


def check_tax_code(raw: str | None, kind: OrganisationKind) -> str | None:
    """The normalised tax code, None when none was given and that is allowed, or ``TaxCodeError``.

    Enterprises and cooperatives must give their MST (10 digits with a check digit, optionally
    ``-NNN`` for a branch). A household business may give an MST, the owner's 12-digit personal
    identification number (CCCD, which is the tax code of individuals and household businesses
    since 1 July 2025; it has no check digit), or nothing.
    """
    value = normalise_tax_code(raw)
    household = OrganisationKind(kind) is OrganisationKind.HOUSEHOLD_BUSINESS
    if not value:
        if household:
            return None
        raise TaxCodeError("required", _l("Enter the tax code (mã số thuế) of the organisation."))
    if _DIGITS_RE.match(value) and len(value) == 12:
        if household:
            return value
        raise TaxCodeError("personal_id", _l("A 12-digit personal ID number is accepted only for household "
                                             "businesses. An enterprise or cooperative tax code has 10 digits."))
    if household and _DIGITS_RE.match(value) and len(value) not in (10, 13):
        raise TaxCodeError("length", _l("Enter the owner's 12-digit ID number (CCCD) or a 10-digit tax code; "
                                        "you entered %(count)s digits.", count=len(value)))
    return _check_mst(value)


# --------------------------------------------------------------------------------------------------
# Size class (Decree 80/2021/NĐ-CP, Art. 5)
# --------------------------------------------------------------------------------------------------

SIZE_CLASSES_FILE = Path(__file__).resolve().parents[1] / "data" / "size_classes.yaml"
BILLION = 1_000_000_000


@dataclass(frozen=True)
class SizeCriteria:
    size_class: SizeClass
    max_employees: int
    max_revenue_vnd: int
    max_capital_vnd: int


@cache
def size_criteria(path: Path = SIZE_CLASSES_FILE) -> dict[str, tuple[SizeCriteria, ...]]:
    """The thresholds per sector group, smallest class first."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {
        group: tuple(
            SizeCriteria(SizeClass(row["class"]), int(row["max_employees"]),
                         int(row["max_revenue_bn"]) * BILLION, int(row["max_capital_bn"]) * BILLION)
            for row in rows
        )
        for group, rows in document["groups"].items()
    }


def size_class(sector: str | None, employees: int | None, revenue_vnd: int | None,
               capital_vnd: int | None) -> SizeClass | None:
    """The first class whose criteria hold: employees within the limit AND (revenue OR capital within theirs).

    None when the sector or the number of employees is unknown, or when neither revenue nor capital
    is known; when only one of them is known, that one decides.
    """
    group = sectors.group(sector)
    if group is None or employees is None or (revenue_vnd is None and capital_vnd is None):
        return None
    for criteria in size_criteria()[group]:
        money_ok = (revenue_vnd is not None and revenue_vnd <= criteria.max_revenue_vnd) or (
            capital_vnd is not None and capital_vnd <= criteria.max_capital_vnd
        )
        if employees <= criteria.max_employees and money_ok:
            return criteria.size_class
    return SizeClass.LARGE


# --------------------------------------------------------------------------------------------------
# Profiles
# --------------------------------------------------------------------------------------------------

#: Fields a profile form may set, per kind; a household business has a shorter form.
PROFILE_FIELDS = (
    "name", "tax_code", "sector", "commune_code", "address", "employees", "annual_revenue_vnd",
    "capital_vnd", "founded_year", "contact_name", "contact_phone", "contact_email", "website",
)
HOUSEHOLD_FIELDS = ("name", "tax_code", "sector", "commune_code", "employees", "annual_revenue_vnd")
AUDITED_FIELDS = ("kind", *PROFILE_FIELDS, "size_class")


def fields_for(kind: OrganisationKind) -> tuple[str, ...]:
    return HOUSEHOLD_FIELDS if OrganisationKind(kind) is OrganisationKind.HOUSEHOLD_BUSINESS else PROFILE_FIELDS


class ProfileError(ValueError):
    """Profile data the service refuses; ``field`` names the form field, ``message`` is for the user."""

    def __init__(self, field: str, message: Any):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


DUPLICATE_TAX_CODE = _l("An organisation with this tax code is already registered. If it is yours, ask its "
                        "owner to invite you as a member.")


def tax_code_taken(tax_code: str | None, exclude_id: int | None = None) -> bool:
    if not tax_code:
        return False
    query = select(func.count()).select_from(Organisation).where(Organisation.tax_code == tax_code)
    if exclude_id is not None:
        query = query.where(Organisation.id != exclude_id)
    return bool(db.session.scalar(query))


def _clean(kind: OrganisationKind, data: dict[str, Any], exclude_id: int | None = None) -> dict[str, Any]:
    """Check what the form layer cannot: tax code, sector, commune, uniqueness. Returns the values to store."""
    values = {name: data.get(name) for name in fields_for(kind)}
    for name, value in values.items():
        if isinstance(value, str):
            values[name] = value.strip() or None
    if not values.get("name"):
        raise ProfileError("name", _l("Enter the name."))
    try:
        values["tax_code"] = check_tax_code(values.get("tax_code"), kind)
    except TaxCodeError as error:
        raise ProfileError("tax_code", error.message) from error
    if not sectors.is_valid(values.get("sector")):
        raise ProfileError("sector", _l("Choose a sector from the list."))
    if values.get("commune_code") is not None and not geo.is_valid(values["commune_code"]):
        raise ProfileError("commune_code", _l("Choose a commune or ward from the list."))
    if tax_code_taken(values["tax_code"], exclude_id):
        raise ProfileError("tax_code", DUPLICATE_TAX_CODE)
    return values


def _grant_business_role(user: User, ip: str | None) -> None:
    if user.has_role(Role.BUSINESS):
        return
    before = sorted(role.value for role in user.role_names)
    user.roles.append(UserRole(role=Role.BUSINESS))
    audit.record("user.roles_change", "user", user.id, actor=user, ip=ip,
                 before={"roles": before}, after={"roles": sorted([*before, Role.BUSINESS.value])})


def create_organisation(owner: User, kind: OrganisationKind | str, data: dict[str, Any],
                        ip: str | None = None) -> Organisation:
    """Create a profile with ``owner`` as its owner, derive its size class, audit it (not committed).

    Raises ``ProfileError`` for a bad or already-registered tax code, unknown sector or commune.
    """
    kind = OrganisationKind(kind)
    values = _clean(kind, data)
    organisation = Organisation(kind=kind, **values)
    organisation.size_class = size_class(organisation.sector, organisation.employees,
                                         organisation.annual_revenue_vnd, organisation.capital_vnd)
    organisation.memberships.append(Membership(user=owner, role=MemberRole.OWNER))
    db.session.add(organisation)
    db.session.flush()
    _grant_business_role(owner, ip)
    audit.record("organisation.create", "organisation", organisation.id, actor=owner, ip=ip,
                 after=audit.snapshot(organisation, list(AUDITED_FIELDS)))
    return organisation


def update_organisation(organisation: Organisation, actor: User, data: dict[str, Any],
                        ip: str | None = None) -> bool:
    """Apply the form's fields, recompute the size class, audit the changed fields (not committed).

    Returns False when nothing changed (and then writes no audit record).
    """
    values = _clean(organisation.kind, data, exclude_id=organisation.id)
    before = audit.snapshot(organisation, list(AUDITED_FIELDS))
    for name, value in values.items():
        setattr(organisation, name, value)
    organisation.size_class = size_class(organisation.sector, organisation.employees,
                                         organisation.annual_revenue_vnd, organisation.capital_vnd)
    changed_before, changed_after = audit.changed_fields(before, audit.snapshot(organisation, list(AUDITED_FIELDS)))
    if not changed_after:
        return False
    audit.record("organisation.update", "organisation", organisation.id, actor=actor, ip=ip,
                 before=changed_before, after=changed_after)
    return True


def missing_for_size_class(organisation: Organisation) -> list[str]:
    """Which figures are missing for the size class: ``employees`` and/or ``revenue_or_capital``."""
    missing = []
    if organisation.employees is None:
        missing.append("employees")
    if organisation.annual_revenue_vnd is None and organisation.capital_vnd is None:
        missing.append("revenue_or_capital")
    return missing


# --------------------------------------------------------------------------------------------------
# Looking organisations up: members only
# --------------------------------------------------------------------------------------------------


def organisations_of(user: User) -> list[Organisation]:
    """The user's organisations, by name."""
    query = (
        select(Organisation)
        .join(Membership)
        .where(Membership.user_id == user.id)
        .order_by(Organisation.name, Organisation.id)
    )
    return list(db.session.scalars(query))


def find_for_member(org_id: int, user: User) -> tuple[Organisation, MemberRole] | None:
    """The organisation and the user's role in it, or None when it does not exist or they are not a member.

    This is the one gate to an organisation's data for business users: staff are not members and see
    organisations through the admin area instead.
    """
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    membership = db.session.scalar(
        select(Membership)
        .options(selectinload(Membership.organisation))
        .where(Membership.organisation_id == org_id, Membership.user_id == user.id)
    )
    if membership is None:
        return None
    return membership.organisation, membership.role


def members_of(organisation: Organisation) -> list[Membership]:
    """Members with their users, owners first."""
    query = (
        select(Membership)
        .options(selectinload(Membership.user))
        .where(Membership.organisation_id == organisation.id)
        .order_by(Membership.id)
    )
    return sorted(db.session.scalars(query), key=lambda m: m.role is not MemberRole.OWNER)


def pending_invitations(organisation: Organisation) -> list[Invitation]:
    """Open invitations to join the organisation, newest first."""
    query = (
        select(Invitation)
        .where(
            Invitation.organisation_id == organisation.id,
            Invitation.kind == InvitationKind.MEMBER,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > utcnow(),
        )
        .order_by(Invitation.created_at.desc(), Invitation.id.desc())
    )
    return list(db.session.scalars(query))


# --------------------------------------------------------------------------------------------------
# Members
# --------------------------------------------------------------------------------------------------


class MembershipError(ValueError):
    """A membership change the rules forbid; ``message`` is for the user."""

    def __init__(self, message: Any):
        super().__init__(str(message))
        self.message = message


def _owner_count(organisation: Organisation) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Membership).where(
            Membership.organisation_id == organisation.id, Membership.role == MemberRole.OWNER
        )
    ) or 0


def invite(organisation: Organisation, inviter: User, contact: str, member_role: MemberRole = MemberRole.MEMBER,
           ip: str | None = None) -> tuple[Invitation, str, dict[str, str | None]]:
    """Invite someone by e-mail or mobile number (not committed).

    Returns the invitation, the token for the link and the address (``email``/``phone``) to send it
    to. An earlier open invitation to the same address is revoked, so "invite again" re-sends.
    """
    parsed = identifiers.parse_login(contact)
    if parsed is None:
        raise MembershipError(_l("Enter an e-mail address or a Vietnamese mobile number."))
    channel, value = parsed
    column = User.email if channel == "email" else User.phone
    existing = db.session.scalar(select(User).where(column == value))
    if existing is not None and organisation.member_role(existing) is not None:
        raise MembershipError(_l("This person is already a member."))
    address = {"email": value if channel == "email" else None, "phone": value if channel == "phone" else None}
    for old in pending_invitations(organisation):
        if (channel == "email" and old.email == value) or (channel == "phone" and old.phone == value):
            invitations.revoke(old, inviter, ip=ip)
    invitation, token = invitations.invite_member(inviter, organisation, member_role=MemberRole(member_role),
                                                  ip=ip, **address)
    return invitation, token, address


def find_invitation(organisation: Organisation, invitation_id: int) -> Invitation | None:
    """A member invitation of this organisation (never another organisation's)."""
    return db.session.scalar(
        select(Invitation).where(
            Invitation.id == invitation_id,
            Invitation.organisation_id == organisation.id,
            Invitation.kind == InvitationKind.MEMBER,
        )
    )


def find_membership(organisation: Organisation, membership_id: int) -> Membership | None:
    """A membership of this organisation (never another organisation's)."""
    return db.session.scalar(
        select(Membership).where(Membership.id == membership_id, Membership.organisation_id == organisation.id)
    )


def remove_member(organisation: Organisation, membership: Membership, actor: User, ip: str | None = None,
                  action: str = "organisation.member_remove") -> None:
    """Remove a member (not committed); the last owner can never be removed or leave."""
    if membership.organisation_id != organisation.id:
        raise MembershipError(_l("This person is not a member of the organisation."))
    if membership.role is MemberRole.OWNER and _owner_count(organisation) <= 1:
        raise MembershipError(_l("The last owner cannot be removed or leave. Invite another owner first."))
    audit.record(action, "organisation", organisation.id, actor=actor, ip=ip,
                 before={"user_id": membership.user_id, "role": membership.role.value})
    db.session.delete(membership)


def leave(organisation: Organisation, user: User, ip: str | None = None) -> None:
    """The user leaves the organisation (not committed); the last owner cannot."""
    membership = db.session.scalar(
        select(Membership).where(Membership.organisation_id == organisation.id, Membership.user_id == user.id)
    )
    if membership is None:
        raise MembershipError(_l("You are not a member of this organisation."))
    remove_member(organisation, membership, user, ip=ip, action="organisation.member_leave")
