"""Eligibility of an organisation for a support programme, and the subsidy it could receive.

The rules read only the programme's data (exchange format ``dxportal.catalogue/1``): organisation kind,
size class, sector, commune, overall maturity level within ``level_range`` (inclusive), application window
on the given date (inclusive), budget remaining, retirement, and at most one application per programme per
organisation per calendar year. ``failures`` names the rules a profile fails (stable codes, in a fixed
order); ``check`` turns them into plain-language reasons in the requested language. The recommender
evaluates the same rules over the whole catalogue at once (``app.recommender.snapshot``) and uses
``reason`` for the texts, so both always say the same thing.

``programme`` may be an ORM ``Programme`` or any object with the same attributes (the recommender passes
plain rows). Nothing here needs a request; texts are formatted in the locale passed (``vi`` by default).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_FLOOR, Decimal
from typing import Any, Protocol

from flask import has_app_context, has_request_context
from flask_babel import force_locale, gettext

LANGUAGES = ("vi", "en")
DEFAULT_LOCALE = "vi"

#: Rule codes, in the order their reasons are listed.
RETIRED = "retired"
KIND = "kind"
SIZE_UNKNOWN = "size_unknown"
SIZE = "size"
SECTOR = "sector"
COMMUNE_UNKNOWN = "commune_unknown"
COMMUNE = "commune"
LEVEL = "level"
NOT_OPEN = "not_open"
CLOSED = "closed"
BUDGET = "budget"
APPLIED = "applied"
RULES = (RETIRED, KIND, SIZE_UNKNOWN, SIZE, SECTOR, COMMUNE_UNKNOWN, COMMUNE, LEVEL, NOT_OPEN, CLOSED, BUDGET,
         APPLIED)


def N_(message: str) -> str:
    """Mark a message for extraction (pybabel knows ``N_``); it is translated later, in a locale asked for."""
    return message


KIND_NAMES = {
    "enterprise": N_("enterprises"),
    "cooperative": N_("cooperatives"),
    "household_business": N_("household businesses"),
}
SIZE_NAMES = {"micro": N_("micro-sized"), "small": N_("small-sized"), "medium": N_("medium-sized"),
              "large": N_("large-sized")}


class ProfileLike(Protocol):
    kind: str
    sector: str
    size_class: str | None
    commune_code: str | None
    organisation_id: int | None


@dataclass(frozen=True)
class Eligibility:
    """``eligible`` or not, and why not: every failed rule as a sentence in the requested language."""

    eligible: bool
    reasons: tuple[str, ...]
    #: The failed rule codes, same order as ``reasons`` (for code and tests; users read ``reasons``).
    rules: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return self.eligible


def normalise_locale(locale: str | None) -> str:
    """``en``, ``en_GB``, ``en-US`` -> ``en``; anything unsupported -> Vietnamese."""
    if locale:
        language = str(locale).replace("-", "_").split("_")[0].lower()
        if language in LANGUAGES:
            return language
    return DEFAULT_LOCALE


_templates: dict[tuple[str, str], str] = {}


def translate(locale: str | None, message: str, **variables: Any) -> str:
    """``gettext`` in ``locale`` whatever the request's language (works with no request at all).

    ``message`` is an msgid marked with ``N_``. Its translation is looked up once per locale (inside an
    app, whose catalogues do not change while it runs), then only formatted: reasons are built for
    thousands of items.
    """
    locale = normalise_locale(locale)
    key = (locale, message)
    template = _templates.get(key)
    if template is None:
        with force_locale(locale):
            template = gettext(message)
        if has_app_context():
            _templates[key] = template
    return template % variables if variables else template


def _request_locale() -> str:
    """The language of the current request, if any (else Vietnamese)."""
    if has_request_context():
        from flask_babel import get_locale

        return normalise_locale(str(get_locale() or DEFAULT_LOCALE))
    return DEFAULT_LOCALE


def format_date(value: date) -> str:
    """dd/mm/yyyy, as Vietnamese forms write dates (the English texts use it too)."""
    return value.strftime("%d/%m/%Y")


def _value(kind: Any) -> str:
    return getattr(kind, "value", kind)


def _commune_name(code: str) -> str:
    try:
        from app.services import geo

        return geo.commune_name(code) or code
    except RuntimeError:  # no app context: the code is the best we have
        return code


def _sector_name(letter: str, locale: str) -> str:
    from app.services import sectors

    name = sectors.name(letter, locale)
    return f"{letter} – {name}" if name else letter


def _join(messages: Sequence[str], locale: str) -> str:
    return ", ".join(translate(locale, message) for message in messages)


def failures(programme: Any, profile: ProfileLike, overall_level: int, on_date: date,
             applications_this_year: int = 0) -> tuple[str, ...]:
    """The codes of the rules ``profile`` fails for ``programme`` on ``on_date``; empty when eligible."""
    failed: list[str] = []
    if programme.retired_at is not None:
        failed.append(RETIRED)
    kinds = programme.org_kinds or ()
    if kinds and _value(profile.kind) not in kinds:
        failed.append(KIND)
    sizes = programme.size_classes or ()
    if sizes:
        if profile.size_class is None:
            failed.append(SIZE_UNKNOWN)
        elif _value(profile.size_class) not in sizes:
            failed.append(SIZE)
    sectors_ = programme.sectors or ()
    if sectors_ and profile.sector not in sectors_:
        failed.append(SECTOR)
    communes = programme.communes or ()
    if communes:
        if not profile.commune_code:
            failed.append(COMMUNE_UNKNOWN)
        elif profile.commune_code not in communes:
            failed.append(COMMUNE)
    if not programme.level_min <= overall_level <= programme.level_max:
        failed.append(LEVEL)
    if on_date < programme.opens_on:
        failed.append(NOT_OPEN)
    elif on_date > programme.closes_on:
        failed.append(CLOSED)
    if programme.budget_remaining_vnd <= 0:
        failed.append(BUDGET)
    if applications_this_year >= 1:
        failed.append(APPLIED)
    return tuple(failed)


def reason(rule: str, programme: Any, profile: ProfileLike, overall_level: int, locale: str | None = None) -> str:
    """The sentence that explains a failed ``rule`` to the business, in ``locale``."""
    locale = normalise_locale(locale)
    if rule == RETIRED:
        return translate(locale, N_("This programme has been withdrawn."))
    if rule == KIND:
        kinds = [KIND_NAMES.get(kind, kind) for kind in programme.org_kinds]
        return translate(locale, N_("This programme is only for %(kinds)s."), kinds=_join(kinds, locale))
    if rule == SIZE_UNKNOWN:
        return translate(locale, N_("This programme is only for some business sizes. Complete your figures "
                                 "(employees, revenue, capital) in your organisation profile so we can check."))
    if rule == SIZE:
        sizes = [SIZE_NAMES.get(size, size) for size in programme.size_classes]
        size = _value(profile.size_class)
        return translate(locale, N_("This programme is only for %(sizes)s businesses; yours is %(size)s."),
                         sizes=_join(sizes, locale), size=_join([SIZE_NAMES.get(size, size)], locale))
    if rule == SECTOR:
        return translate(locale, N_("This programme does not cover your sector (%(sector)s)."),
                         sector=_sector_name(profile.sector, locale))
    if rule == COMMUNE_UNKNOWN:
        return translate(locale, N_("This programme is only offered in some communes. Set your commune in your "
                                 "organisation profile so we can check."))
    if rule == COMMUNE:
        return translate(locale, N_("This programme is not offered in %(commune)s."),
                         commune=_commune_name(profile.commune_code or ""))
    if rule == LEVEL:
        if programme.level_min == programme.level_max:
            return translate(locale, N_("This programme is for digital maturity level %(low)s; your level is "
                                     "%(level)s."), low=programme.level_min, level=overall_level)
        return translate(locale, N_("This programme is for digital maturity levels %(low)s to %(high)s; your level "
                                 "is %(level)s."), low=programme.level_min, high=programme.level_max,
                         level=overall_level)
    if rule == NOT_OPEN:
        return translate(locale, N_("Applications open on %(date)s."), date=format_date(programme.opens_on))
    if rule == CLOSED:
        return translate(locale, N_("Applications have closed (the deadline was %(date)s)."),
                         date=format_date(programme.closes_on))
    if rule == BUDGET:
        return translate(locale, N_("This programme's budget has been used up."))
    if rule == APPLIED:
        return translate(locale, N_("You have already applied to this programme this year; each business can "
                                 "apply once a year."))
    raise ValueError(f"unknown eligibility rule {rule!r}")


def check(programme: Any, profile: ProfileLike, overall_level: int, on_date: date,
          applications_this_year: int = 0, locale: str | None = None) -> Eligibility:
    """Whether ``profile`` (at ``overall_level``) can apply to ``programme`` on ``on_date``, and if not, why.

    ``applications_this_year`` is how many applications the organisation already made to this programme
    in ``on_date``'s calendar year (see ``applications_this_year()``). Reasons are in ``locale``; without
    one, in the current request's language, else Vietnamese.
    """
    failed = failures(programme, profile, overall_level, on_date, applications_this_year)
    locale = locale or _request_locale()
    reasons = tuple(reason(rule, programme, profile, overall_level, locale) for rule in failed)
    return Eligibility(eligible=not failed, reasons=reasons, rules=failed)


def application_counts(organisation_id: int | None, year: int) -> Mapping[str, int]:
    """How many applications ``organisation_id`` made in calendar ``year``, by programme code.

    One query for all programmes, so the recommender stays fast. Drafts and withdrawn applications do
    not count; submitted, decided and completed ones do.
    """
    if organisation_id is None:
        return {}
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models.application import COUNTED_STATES, Application
    from app.models.catalogue import Programme

    rows = db.session.execute(
        select(Programme.code, func.count(Application.id))
        .join(Application, Application.programme_id == Programme.id)
        .where(Application.organisation_id == organisation_id, Application.applied_year == year,
               Application.status.in_(COUNTED_STATES))
        .group_by(Programme.code)
    )
    return {code: count for code, count in rows}


def applications_this_year(organisation_id: int | None, programme: Any, year: int) -> int:
    """How many applications ``organisation_id`` made to ``programme`` in ``year`` (0 for a visitor)."""
    if organisation_id is None:
        return 0
    return application_counts(organisation_id, year).get(programme.code, 0)


def max_subsidy(programme: Any, size_class: Any) -> int | None:
    """The most a business of ``size_class`` can receive: its cap, 0 without one, None if size is unknown."""
    if size_class is None:
        return None
    return max(0, int((programme.caps_vnd or {}).get(_value(size_class), 0)))


def subsidy(programme: Any, size_class: Any, eligible_cost_vnd: int) -> int:
    """min(floor(support rate x eligible cost), cap for ``size_class``), in whole VND.

    A size class without a cap (or an unknown one) gets nothing; so does a zero or negative cost. The rate
    is multiplied as a decimal so that 0.29 x 100 is 29, not 28.
    """
    cap = max_subsidy(programme, size_class)
    if not cap or eligible_cost_vnd is None or eligible_cost_vnd <= 0:
        return 0
    rate = Decimal(str(programme.support_rate))
    amount = int((rate * Decimal(int(eligible_cost_vnd))).to_integral_value(rounding=ROUND_FLOOR))
    return max(0, min(amount, cap))
