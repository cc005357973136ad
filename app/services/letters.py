"""Decision letters: the PDF a business receives when its support application is approved, rejected or
its support cancelled, rendered through the same sandboxed pipeline as the action plans.

``letter_data`` turns the application into plain data (so the cache key says exactly what the letter
shows: a corrected name or amount gives a new letter); ``letter_pdf`` returns the cached PDF or renders
it. A letter is short (one page, about a fifth of a second), so the download renders it in the request
when no earlier download or ``render_job`` (queued after a decision) has cached it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.routing import BuildError

from app.extensions import db
from app.models.application import Application, ApplicationStatus
from app.models.organisation import Organisation
from app.models.user import Role, User
from app.services import geo, numbers_vi, pdf_cache, sectors
from app.services.formatting import format_vnd
from app.services.messaging import portal_url

TEMPLATE = "decision_letter"

#: The decision a letter announces, by the application's state (a completed application was approved).
DECISIONS = {
    ApplicationStatus.APPROVED: "approved",
    ApplicationStatus.COMPLETED: "approved",
    ApplicationStatus.REJECTED: "rejected",
    ApplicationStatus.CANCELLED: "cancelled",
}


def has_letter(application: Application) -> bool:
    """Whether the application's state comes with a decision letter."""
    return application.status in DECISIONS and application.decided_at is not None


def find_application(application_id: int, organisation: Organisation | None = None) -> Application | None:
    """The application with what a letter needs loaded; None when missing or not ``organisation``'s."""
    query = (
        select(Application)
        .options(selectinload(Application.organisation), selectinload(Application.programme),
                 selectinload(Application.decided_by))
        .where(Application.id == application_id)
    )
    if organisation is not None:
        query = query.where(Application.organisation_id == organisation.id)
    return db.session.scalar(query)


def signer_title(user: User | None) -> str:
    """The title under the signature, from the decider's role (translated in the current locale)."""
    if user is None:
        return _("Department staff")
    if user.has_role(Role.APPROVER):
        return _("Approving officer")
    if user.has_role(Role.REVIEWER):
        return _("Reviewing officer")
    return _("Department staff")


def _local_date(value: dt.datetime) -> dt.date:
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    return (value.astimezone(zone) if value.tzinfo else value).date()


_MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
              "November", "December")


def date_line(place: str, day: dt.date, locale: str) -> str:
    """The place and date above a letter, as each language writes it in official letters:
    "Quảng Ngãi, ngày 05 tháng 03 năm 2027" / "Quảng Ngãi, 5 March 2027"."""
    if locale == "en":
        return f"{place}, {day.day} {_MONTHS_EN[day.month - 1]} {day.year}"
    return f"{place}, ngày {day.day:02d} tháng {day.month:02d} năm {day.year}"


def letter_data(application: Application, locale: str) -> dict[str, Any]:
    """Everything the letter shows, as plain data in ``locale`` (the texts already translated)."""
    decision = DECISIONS.get(application.status)
    if decision is None or application.decided_at is None:
        raise ValueError("this application has no decision letter")
    locale = "en" if str(locale)[:2] == "en" else "vi"
    organisation = application.organisation
    programme = application.programme
    decided_on = _local_date(application.decided_at)
    place = geo.province().name
    with force_locale(locale):
        amount = application.approved_vnd if decision in ("approved", "cancelled") else None
        commune = geo.commune_name(organisation.commune_code)
        return {
            "locale": locale,
            "number": f"{application.id:06d}",
            "date": decided_on.strftime("%d/%m/%Y"),
            "date_line": date_line(place, decided_on, locale),
            "province": place,
            "organisation": {
                "name": organisation.name,
                "kind_label": str(organisation.kind.label),
                "tax_code": organisation.tax_code or "",
                "address": ", ".join(part for part in (organisation.address, commune) if part),
                "sector_label": sectors.name(organisation.sector, locale) or "",
            },
            "programme": {"code": programme.code, "name": programme.text("name", locale),
                          "sponsor": programme.text("sponsor", locale)},
            "project_title": application.project_title or "",
            "decision": decision,
            "requested_text": format_vnd(application.requested_vnd) if application.requested_vnd else "",
            "amount_vnd": amount,
            "amount_text": format_vnd(amount) if amount else "",
            "amount_words": numbers_vi.capitalised(numbers_vi.amount_in_words(amount, locale)) if amount else "",
            "reasons": application.decision_reason or "",
            "signer": {"name": application.decided_by.full_name if application.decided_by else "",
                       "title": signer_title(application.decided_by)},
            "url": application_url(application),
        }


def application_url(application: Application) -> str:
    """Where the business follows the application online (printed on the letter, so it can be checked)."""
    try:
        return portal_url("applications.detail", org_id=application.organisation_id, app_id=application.id)
    except BuildError:  # the applications pages are not installed: the letter's own address
        return portal_url("printing.business_letter", org_id=application.organisation_id, app_id=application.id)


def letter_pdf(application: Application, locale: str) -> bytes:
    """The letter's PDF: from the cache, or rendered now."""
    return pdf_cache.get_or_render(TEMPLATE, letter_data(application, locale), locale)


def filename(application: Application, locale: str) -> str:
    """The download's file name (ASCII, so every browser keeps it)."""
    word = "decision" if locale == "en" else "quyet-dinh"
    return f"{word}-{application.id:06d}.pdf"


def render_job(application_id: int, locale: str = "vi") -> None:
    """Background job: cache the letter of a decided application (queued after approve/reject/cancel)."""
    application = find_application(application_id)
    if application is not None and has_letter(application):
        letter_pdf(application, locale)
