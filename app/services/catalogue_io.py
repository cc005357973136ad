"""The catalogue exchange format ``dxportal.catalogue/1``: parsing, validation, import and export.

Validation (``validate``) is a pure function over the parsed JSON: it gets the pillar codes and the
commune codes it checks against as arguments, touches no database, and reports *every* problem with its
JSON path (``programmes[3].caps_vnd.small: must be a positive integer``). Import (``import_document``)
validates the whole file first, then upserts by code in the caller's transaction, auditing each change;
nothing is written unless the whole file is valid. Export writes the active catalogue in the same format,
so export then import changes nothing and import then export gives the file back.

Normal forms (written by export, so a file in normal form round-trips byte for byte): texts in Unicode
NFC, e-mail addresses in lower case, tax codes without spaces (``0100109106-001``), ``caps_vnd`` keys in
size-class order, ``support_rate`` as a decimal number. Lists keep the order the file gives them.

Messages are lazy translation strings: the web page shows them in the user's language, the CLI in English.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.extensions import db
from app.models.catalogue import (
    PARTNER_CATEGORIES,
    Partner,
    PartnerStatus,
    PriceBand,
    Programme,
    ProgrammeDocument,
    ProgrammeKind,
)
from app.models.organisation import OrganisationKind, SizeClass
from app.models.user import User
from app.services import audit
from app.services.identifiers import normalise_email
from app.services.organisations import TaxCodeError, check_tax_code
from app.services.sectors import SECTION_LETTERS

SCHEMA = "dxportal.catalogue/1"
#: The largest file the admin upload accepts.
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
DEMO_PATH = Path(__file__).resolve().parents[1] / "data" / "catalogue" / "demo.json"

#: Keys in the order the format lists them (and export writes them).
PROGRAMME_FIELDS = (
    "code", "name", "sponsor", "summary", "kind", "pillars", "sectors", "org_kinds", "size_classes",
    "communes", "level_range", "support_rate", "caps_vnd", "budget_vnd", "opens_on", "closes_on", "documents",
)
PARTNER_FIELDS = (
    "code", "name", "tax_code", "summary", "website", "email", "phone", "categories", "pillars", "sectors",
    "org_kinds", "communes", "price_band", "status",
)
#: Partner fields that may be left out or null; every other key is required.
PARTNER_OPTIONAL = ("tax_code", "website", "email", "phone")
DOCUMENT_FIELDS = ("code", "name", "required")
LANGUAGES = ("vi", "en")
SIZE_CLASSES = tuple(size.value for size in SizeClass)
ORG_KINDS = tuple(kind.value for kind in OrganisationKind)
LEVEL_MIN, LEVEL_MAX = 0, 5
#: Amounts above this (a million billion VND) are typing mistakes, and would overflow the columns.
MAX_AMOUNT_VND = 10**15
MAX_PARTNER_NAME = 200
MAX_WEBSITE = 255
MAX_EMAIL = 254
MAX_PHONE = 30

_CODE_RE = re.compile(r"[A-Z0-9][A-Z0-9-]{1,39}")
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
#: Control characters: never in one-line values; texts users read may break lines. (PostgreSQL refuses NUL.)
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_IN_TEXT_RE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")
_BAD = object()  # a value that failed its check


# --------------------------------------------------------------------------------------------------
# Problems
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One fault in a file: where (a JSON path such as ``partners[2].email``; empty for the whole file) and what."""

    path: str
    message: Any  # a lazy string, translated when shown

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else str(self.message)


class CatalogueError(ValueError):
    """The file cannot be imported; ``problems`` lists every fault found. Nothing was changed."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = tuple(problems)
        super().__init__(f"{len(self.problems)} problem(s) in the catalogue file")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _shown(value: Any, limit: int = 60) -> str:
    """A value quoted inside a message, cut short so a huge value cannot flood the report."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _as_date(value: Any) -> date | None:
    """The date of a strict ``YYYY-MM-DD`` string (``fromisoformat`` alone also takes ``20260101``)."""
    if not isinstance(value, str) or not _DATE_RE.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _is_int(value: Any) -> bool:
    """JSON integers only: ``true`` is a bool, not 1, and ``5.0`` is not an integer."""
    return isinstance(value, int) and not isinstance(value, bool)


# --------------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------------


class _Object(dict):
    """A JSON object that remembers the keys it saw twice (plain ``dict`` keeps only the last value)."""

    duplicate_keys: tuple[str, ...] = ()


def _object_from_pairs(pairs: list[tuple[str, Any]]) -> _Object:
    result = _Object()
    repeated = []
    for key, value in pairs:
        if key in result and key not in repeated:
            repeated.append(key)
        result[key] = value
    result.duplicate_keys = tuple(repeated)
    return result


def _refuse_constant(name: str) -> Any:
    raise ValueError(name)


def _line_and_column(raw: bytes, offset: int) -> tuple[int, int]:
    line = raw.count(b"\n", 0, offset) + 1
    column = offset - (raw.rfind(b"\n", 0, offset) + 1) + 1
    return line, column


def parse(raw: bytes | str) -> Any:
    """The JSON document in ``raw`` (UTF-8 bytes, a leading BOM allowed), or ``CatalogueError`` with one problem."""
    if isinstance(raw, bytes):
        if raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            line, column = _line_and_column(raw, error.start)
            raise CatalogueError([Problem("", _l(
                "The file is not UTF-8 text: invalid byte at line %(line)s, column %(column)s. "
                "Save it as UTF-8 and try again.", line=line, column=column))]) from error
    else:
        text = raw
    if not text.strip():
        raise CatalogueError([Problem("", _l("The file is empty."))])
    try:
        return json.loads(text, object_pairs_hook=_object_from_pairs, parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:
        raise CatalogueError([Problem("", _l(
            "The file is not valid JSON: %(error)s at line %(line)s, column %(column)s.",
            error=error.msg, line=error.lineno, column=error.colno))]) from error
    except ValueError as error:  # NaN, Infinity, -Infinity: not JSON
        raise CatalogueError([Problem("", _l("The file is not valid JSON: %(value)s is not allowed.",
                                             value=str(error)))]) from error
    except RecursionError as error:
        raise CatalogueError([Problem("", _l("The file is nested too deeply."))]) from error


# --------------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------------


@dataclass
class Validation:
    """The outcome of ``validate``: the problems, and the records in normal form when there are none."""

    problems: list[Problem]
    programmes: list[dict[str, Any]] = field(default_factory=list)
    partners: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class _Checker:
    """Walks the document, collecting every problem and building normalised records."""

    def __init__(self, pillars: Collection[str], communes: Collection[str]):
        self.pillars = tuple(pillars)
        self.communes = frozenset(communes)
        self.problems: list[Problem] = []

    def add(self, path: str, message: Any) -> None:
        self.problems.append(Problem(path, message))

    # Structure ------------------------------------------------------------------------------

    def fields(self, node: Any, path: str, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict | None:
        """``node`` when it is an object: reports repeated, unknown and missing keys."""
        if not isinstance(node, dict):
            self.add(path, _l("must be an object"))
            return None
        for key in getattr(node, "duplicate_keys", ()):
            self.add(path, _l("duplicate key '%(key)s'", key=_shown(key)))
        allowed = set(required) | set(optional)
        for key in node:
            if key not in allowed:
                self.add(path, _l("unknown key '%(key)s'", key=_shown(key)))
        for key in required:
            if key not in node:
                self.add(_join(path, key), _l("required"))
        return node

    def unique_codes(self, records: list[tuple[str, Any]]) -> None:
        """Report each code used twice in one list, naming where it was first used."""
        first: dict[str, str] = {}
        for path, node in records:
            code = node.get("code") if isinstance(node, dict) else None
            if not isinstance(code, str) or not _CODE_RE.fullmatch(code):
                continue
            if code in first:
                self.add(_join(path, "code"), _l("duplicate code '%(code)s' (also at %(path)s)",
                                                 code=code, path=first[code]))
            else:
                first[code] = path

    # Values ----------------------------------------------------------------------------------

    def code(self, node: Any, path: str) -> Any:
        if not isinstance(node, str):
            self.add(path, _l("must be a string"))
            return _BAD
        if not _CODE_RE.fullmatch(node):
            self.add(path, _l("'%(value)s' is not a valid code: use 2 to 40 capital letters A-Z, digits and "
                              "dashes, starting with a letter or digit", value=_shown(node)))
            return _BAD
        return node

    def string(self, node: Any, path: str, max_length: int | None = None, multiline: bool = False) -> Any:
        if not isinstance(node, str):
            self.add(path, _l("must be a string"))
            return _BAD
        value = unicodedata.normalize("NFC", node)
        if not value.strip():
            self.add(path, _l("must not be empty"))
            return _BAD
        if (_CONTROL_IN_TEXT_RE if multiline else _CONTROL_RE).search(value):
            self.add(path, _l("must not contain control characters"))
            return _BAD
        if max_length is not None and len(value) > max_length:
            self.add(path, _l("must be at most %(max)s characters", max=max_length))
            return _BAD
        return value

    def text(self, node: Any, path: str) -> Any:
        """A text users read: ``{"vi": ..., "en": ...}``, both non-empty strings."""
        if self.fields(node, path, LANGUAGES) is None:
            return _BAD
        values = {lang: self.string(node[lang], _join(path, lang), multiline=True)
                  for lang in LANGUAGES if lang in node}
        if len(values) < len(LANGUAGES) or any(value is _BAD for value in values.values()):
            return _BAD
        return values

    def choice(self, node: Any, path: str, choices: tuple[str, ...]) -> Any:
        if not isinstance(node, str) or node not in choices:
            self.add(path, _l("must be one of: %(choices)s", choices=", ".join(choices)))
            return _BAD
        return node

    def members(self, node: Any, path: str, allowed: Collection[str], unknown: Callable[[str], Any],
                non_empty: bool = False) -> Any:
        """A list of distinct strings from ``allowed``."""
        if not isinstance(node, list):
            self.add(path, _l("must be a list"))
            return _BAD
        start = len(self.problems)
        if non_empty and not node:
            self.add(path, _l("must list at least one"))
        seen: dict[str, str] = {}
        for index, item in enumerate(node):
            item_path = f"{path}[{index}]"
            if not isinstance(item, str):
                self.add(item_path, _l("must be a string"))
            elif item not in allowed:
                self.add(item_path, unknown(_shown(item)))
            elif item in seen:
                self.add(item_path, _l("duplicate '%(value)s' (also at %(path)s)", value=item, path=seen[item]))
            else:
                seen[item] = item_path
        return list(node) if len(self.problems) == start else _BAD

    def pillar_list(self, node: Any, path: str) -> Any:
        return self.members(node, path, self.pillars, lambda v: _l("unknown pillar '%(value)s'", value=v),
                            non_empty=True)

    def sector_list(self, node: Any, path: str) -> Any:
        return self.members(node, path, SECTION_LETTERS, lambda v: _l(
            "unknown sector '%(value)s' (VSIC sections are the capital letters A to U)", value=v))

    def org_kind_list(self, node: Any, path: str) -> Any:
        return self.members(node, path, ORG_KINDS, lambda v: _l("unknown organisation kind '%(value)s'", value=v),
                            non_empty=True)

    def size_class_list(self, node: Any, path: str) -> Any:
        return self.members(node, path, SIZE_CLASSES, lambda v: _l("unknown size class '%(value)s'", value=v))

    def commune_list(self, node: Any, path: str) -> Any:
        return self.members(node, path, self.communes, lambda v: _l(
            "'%(value)s' is not a commune code of this province", value=v))

    def category_list(self, node: Any, path: str) -> Any:
        return self.members(node, path, PARTNER_CATEGORIES, lambda v: _l("unknown category '%(value)s'", value=v),
                            non_empty=True)

    def amount(self, node: Any, path: str) -> Any:
        if not _is_int(node) or node <= 0:
            self.add(path, _l("must be a positive integer"))
            return _BAD
        if node > MAX_AMOUNT_VND:
            self.add(path, _l("must be at most %(max)s", max=MAX_AMOUNT_VND))
            return _BAD
        return node

    def iso_date(self, node: Any, path: str) -> Any:
        if _as_date(node) is None:
            self.add(path, _l("must be a date written YYYY-MM-DD"))
            return _BAD
        return node

    def level_range(self, node: Any, path: str) -> Any:
        if not isinstance(node, list) or len(node) != 2:
            self.add(path, _l("must be a list of two levels [minimum, maximum]"))
            return _BAD
        start = len(self.problems)
        for index, level in enumerate(node):
            if not _is_int(level) or not LEVEL_MIN <= level <= LEVEL_MAX:
                self.add(f"{path}[{index}]", _l("must be a whole number from %(low)s to %(high)s",
                                                low=LEVEL_MIN, high=LEVEL_MAX))
        if len(self.problems) != start:
            return _BAD
        if node[0] > node[1]:
            self.add(path, _l("the minimum level is above the maximum"))
            return _BAD
        return list(node)

    def rate(self, node: Any, path: str) -> Any:
        if isinstance(node, bool) or not isinstance(node, int | float) or not 0 < node <= 1:
            self.add(path, _l("must be a number greater than 0 and at most 1"))
            return _BAD
        return float(node)

    def caps(self, node: Any, path: str) -> Any:
        if self.fields(node, path, (), SIZE_CLASSES) is None:
            return _BAD
        start = len(self.problems)
        for size in SIZE_CLASSES:
            if size in node:
                self.amount(node[size], _join(path, size))
        if len(self.problems) != start:
            return _BAD
        return {size: node[size] for size in SIZE_CLASSES if size in node}

    def flag(self, node: Any, path: str) -> Any:
        if not isinstance(node, bool):
            self.add(path, _l("must be true or false"))
            return _BAD
        return node

    def optional(self, check: Callable[[Any, str], Any]) -> Callable[[Any, str], Any]:
        """``check`` that also lets null through (the field is then stored as empty)."""
        return lambda node, path: None if node is None else check(node, path)

    def tax_code(self, node: Any, path: str) -> Any:
        if not isinstance(node, str):
            self.add(path, _l("must be a string"))
            return _BAD
        try:
            return check_tax_code(node, OrganisationKind.ENTERPRISE)
        except TaxCodeError as error:
            self.add(path, error.message)
            return _BAD

    def website(self, node: Any, path: str) -> Any:
        value = self.string(node, path, MAX_WEBSITE)
        if value is _BAD:
            return _BAD
        try:
            parts = urlsplit(value)
            valid = parts.scheme in ("http", "https") and bool(parts.hostname) and not any(
                char.isspace() for char in value)
        except ValueError:
            valid = False
        if not valid:
            self.add(path, _l("must be a web address starting with http:// or https://"))
            return _BAD
        return value

    def email(self, node: Any, path: str) -> Any:
        value = self.string(node, path, MAX_EMAIL)
        if value is _BAD:
            return _BAD
        normalised = normalise_email(value)
        if normalised is None:
            self.add(path, _l("must be a valid e-mail address"))
            return _BAD
        return normalised

    # Items -----------------------------------------------------------------------------------

    def record(self, node: Any, path: str, checks: dict[str, Callable[[Any, str], Any]],
               optional: tuple[str, ...] = ()) -> dict | None:
        """Check an object's keys and each field; the normalised record, or None when anything is wrong."""
        start = len(self.problems)
        required = tuple(key for key in checks if key not in optional)
        if self.fields(node, path, required, optional) is None:
            return None
        values = {key: check(node[key], _join(path, key)) if key in node else None for key, check in checks.items()}
        if len(self.problems) != start or any(value is _BAD for value in values.values()):
            return None
        return values

    def document(self, node: Any, path: str) -> dict | None:
        return self.record(node, path, {"code": self.code, "name": self.text, "required": self.flag})

    def documents(self, node: Any, path: str) -> Any:
        if not isinstance(node, list):
            self.add(path, _l("must be a list"))
            return _BAD
        start = len(self.problems)
        records = [self.document(item, f"{path}[{index}]") for index, item in enumerate(node)]
        self.unique_codes([(f"{path}[{index}]", item) for index, item in enumerate(node)])
        return records if len(self.problems) == start else _BAD

    def programme(self, node: Any, path: str) -> dict | None:
        record = self.record(node, path, {
            "code": self.code, "name": self.text, "sponsor": self.text, "summary": self.text,
            "kind": lambda v, p: self.choice(v, p, tuple(kind.value for kind in ProgrammeKind)),
            "pillars": self.pillar_list, "sectors": self.sector_list, "org_kinds": self.org_kind_list,
            "size_classes": self.size_class_list, "communes": self.commune_list, "level_range": self.level_range,
            "support_rate": self.rate, "caps_vnd": self.caps, "budget_vnd": self.amount,
            "opens_on": self.iso_date, "closes_on": self.iso_date, "documents": self.documents,
        })
        if not isinstance(node, dict):
            return None
        # Rules across fields, checked when both fields are readable on their own.
        opens, closes = _as_date(node.get("opens_on")), _as_date(node.get("closes_on"))
        if opens is not None and closes is not None and opens > closes:
            self.add(_join(path, "closes_on"), _l("must not be before opens_on"))
            record = None
        sizes, caps = node.get("size_classes"), node.get("caps_vnd")
        if isinstance(sizes, list) and sizes and all(size in SIZE_CLASSES for size in sizes) and isinstance(caps, dict):
            for size in caps:
                if size in SIZE_CLASSES and size not in sizes:
                    self.add(_join(_join(path, "caps_vnd"), size),
                             _l("'%(value)s' is not one of the programme's size_classes", value=size))
                    record = None
        return record

    def partner(self, node: Any, path: str) -> dict | None:
        return self.record(node, path, {
            "code": self.code, "name": lambda v, p: self.string(v, p, MAX_PARTNER_NAME),
            "tax_code": self.optional(self.tax_code), "summary": self.text,
            "website": self.optional(self.website), "email": self.optional(self.email),
            "phone": self.optional(lambda v, p: self.string(v, p, MAX_PHONE)),
            "categories": self.category_list, "pillars": self.pillar_list, "sectors": self.sector_list,
            "org_kinds": self.org_kind_list, "communes": self.commune_list,
            "price_band": lambda v, p: self.choice(v, p, tuple(band.value for band in PriceBand)),
            "status": lambda v, p: self.choice(v, p, tuple(status.value for status in PartnerStatus)),
        }, optional=PARTNER_OPTIONAL)

    def section(self, root: dict, key: str, check: Callable[[Any, str], dict | None]) -> list[dict]:
        if key not in root:
            return []
        items = root[key]
        if not isinstance(items, list):
            self.add(key, _l("must be a list"))
            return []
        records = [check(item, f"{key}[{index}]") for index, item in enumerate(items)]
        self.unique_codes([(f"{key}[{index}]", item) for index, item in enumerate(items)])
        return [record for record in records if record is not None]


def validate(document: Any, *, pillars: Collection[str], communes: Collection[str]) -> Validation:
    """Every problem of a parsed catalogue document, and its records in normal form.

    Pure: ``pillars`` (the current framework's pillar codes) and ``communes`` (the configured province's
    commune codes) are passed in. The records are only meaningful when there are no problems.
    """
    checker = _Checker(pillars, communes)
    if not isinstance(document, dict):
        checker.add("", _l("The file must hold one JSON object, {\"schema\": ..., \"programmes\": [...], "
                           "\"partners\": [...]}."))
        return Validation(checker.problems)
    checker.fields(document, "", ("schema",), ("programmes", "partners"))
    if "schema" in document and document["schema"] != SCHEMA:
        checker.add("schema", _l("must be \"%(schema)s\"", schema=SCHEMA))
    programmes = checker.section(document, "programmes", checker.programme)
    partners = checker.section(document, "partners", checker.partner)
    return Validation(checker.problems, programmes, partners)


def reference_data() -> dict[str, tuple[str, ...]]:
    """What ``validate`` checks pillars and communes against, for this app (needs an app context)."""
    from app.services import geo
    from app.services.frameworks import current_framework

    return {
        "pillars": tuple(pillar.code for pillar in current_framework().pillars),
        "communes": tuple(unit.code for unit in geo.communes()),
    }


# --------------------------------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------------------------------


def _text(value: dict | None) -> dict[str, str]:
    value = value or {}
    return {lang: value.get(lang, "") for lang in LANGUAGES}


def programme_record(programme: Programme) -> dict[str, Any]:
    """A programme in the exchange format, keys in the format's order."""
    caps = programme.caps_vnd or {}
    return {
        "code": programme.code,
        "name": _text(programme.name),
        "sponsor": _text(programme.sponsor),
        "summary": _text(programme.summary),
        "kind": ProgrammeKind(programme.kind).value,
        "pillars": list(programme.pillars or []),
        "sectors": list(programme.sectors or []),
        "org_kinds": list(programme.org_kinds or []),
        "size_classes": list(programme.size_classes or []),
        "communes": list(programme.communes or []),
        "level_range": [programme.level_min, programme.level_max],
        "support_rate": float(programme.support_rate),
        "caps_vnd": {size: int(caps[size]) for size in SIZE_CLASSES if size in caps},
        "budget_vnd": int(programme.budget_vnd),
        "opens_on": programme.opens_on.isoformat(),
        "closes_on": programme.closes_on.isoformat(),
        "documents": [
            {"code": document.code, "name": _text(document.name), "required": bool(document.required)}
            for document in sorted(programme.documents, key=lambda d: (d.position, d.id or 0))
        ],
    }


def partner_record(partner: Partner) -> dict[str, Any]:
    """A partner in the exchange format; optional fields without a value are written as null."""
    return {
        "code": partner.code,
        "name": partner.name,
        "tax_code": partner.tax_code,
        "summary": _text(partner.summary),
        "website": partner.website,
        "email": partner.email,
        "phone": partner.phone,
        "categories": list(partner.categories or []),
        "pillars": list(partner.pillars or []),
        "sectors": list(partner.sectors or []),
        "org_kinds": list(partner.org_kinds or []),
        "communes": list(partner.communes or []),
        "price_band": PriceBand(partner.price_band).value,
        "status": PartnerStatus(partner.status).value,
    }


def export_document() -> dict[str, Any]:
    """Every programme and partner that is not retired, ordered by code.

    Sorted here, not by the database: PostgreSQL's collation may ignore the dashes that SQLite compares,
    and the file must come out the same from both.
    """
    programmes = sorted(db.session.scalars(select(Programme).where(Programme.retired_at.is_(None))),
                        key=lambda programme: programme.code)
    partners = sorted(db.session.scalars(select(Partner).where(Partner.retired_at.is_(None))),
                      key=lambda partner: partner.code)
    return {
        "schema": SCHEMA,
        "programmes": [programme_record(programme) for programme in programmes],
        "partners": [partner_record(partner) for partner in partners],
    }


def dumps(document: dict[str, Any]) -> str:
    """The document as the format writes it: UTF-8 characters as they are, two-space indent, final newline."""
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def export_text() -> str:
    return dumps(export_document())


# --------------------------------------------------------------------------------------------------
# Import
# --------------------------------------------------------------------------------------------------

CREATED, UPDATED, RESTORED, UNCHANGED = "created", "updated", "restored", "unchanged"
OUTCOMES = (CREATED, UPDATED, RESTORED, UNCHANGED)


@dataclass(frozen=True)
class ItemResult:
    """What the import did to one item: ``section`` is "programmes" or "partners"."""

    section: str
    code: str
    outcome: str
    fields: tuple[str, ...] = ()


@dataclass
class ImportReport:
    """What an import did, item by item."""

    items: list[ItemResult]
    source: str | None = None
    #: The ``catalogue.import`` audit event that records this import.
    event: Any = None

    def counts(self) -> dict[str, dict[str, int]]:
        """``{"programmes": {"created": n, "updated": n, "restored": n, "unchanged": n}, "partners": {...}}``."""
        result = {section: dict.fromkeys(OUTCOMES, 0) for section in ("programmes", "partners")}
        for item in self.items:
            result[item.section][item.outcome] += 1
        return result

    @property
    def changed(self) -> list[ItemResult]:
        return [item for item in self.items if item.outcome != UNCHANGED]


def _existing(model: type[Programme] | type[Partner], codes: list[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for start in range(0, len(codes), 500):
        chunk = codes[start:start + 500]
        found.update((item.code, item) for item in db.session.scalars(select(model).where(model.code.in_(chunk))))
    return found


def _set_programme(programme: Programme, record: dict[str, Any]) -> None:
    programme.code = record["code"]
    for key in ("name", "sponsor", "summary"):
        setattr(programme, key, dict(record[key]))
    programme.kind = ProgrammeKind(record["kind"])
    for key in ("pillars", "sectors", "org_kinds", "size_classes", "communes"):
        setattr(programme, key, list(record[key]))
    programme.level_min, programme.level_max = record["level_range"]
    programme.support_rate = record["support_rate"]
    programme.caps_vnd = dict(record["caps_vnd"])
    programme.budget_vnd = record["budget_vnd"]
    programme.opens_on = date.fromisoformat(record["opens_on"])
    programme.closes_on = date.fromisoformat(record["closes_on"])
    # Documents follow the file; a document whose code is kept keeps its id.
    current = {document.code: document for document in programme.documents}
    documents = []
    for position, entry in enumerate(record["documents"]):
        document = current.get(entry["code"]) or ProgrammeDocument(code=entry["code"])
        document.name = dict(entry["name"])
        document.required = entry["required"]
        document.position = position
        documents.append(document)
    programme.documents = documents


def _set_partner(partner: Partner, record: dict[str, Any]) -> None:
    for key in ("code", "name", "tax_code", "website", "email", "phone"):
        setattr(partner, key, record[key])
    partner.summary = dict(record["summary"])
    for key in ("categories", "pillars", "sectors", "org_kinds", "communes"):
        setattr(partner, key, list(record[key]))
    partner.price_band = PriceBand(record["price_band"])
    partner.status = PartnerStatus(record["status"])


def _differences(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return [key for key in after if before.get(key) != after[key]]


class _Importer:
    def __init__(self, actor: User | None, ip: str | None):
        self.actor = actor
        self.ip = ip
        self.results: list[ItemResult] = []
        self._created: list[tuple[str, Programme | Partner, dict[str, Any]]] = []

    def create(self, object_type: str, item: Programme | Partner, record: dict[str, Any]) -> None:
        db.session.add(item)
        self._created.append((object_type, item, record))

    def audit_created(self) -> None:
        """One flush for every new item (not one per item), then their audit events, which need the ids."""
        db.session.flush()
        for object_type, item, record in self._created:
            self.record(f"{object_type}.create", object_type, item.id, None, record)

    def record(self, action: str, object_type: str, object_id: Any, before: dict | None, after: dict) -> None:
        audit.record(action, object_type, object_id, actor=self.actor, ip=self.ip, before=before, after=after)

    def _changes(self, current: dict[str, Any], record: dict[str, Any], item: Programme | Partner,
                 ) -> tuple[str, dict[str, Any], dict[str, Any]]:
        """The outcome and the changed fields (before, after); restoring a retired item is a change too."""
        changed = _differences(current, record)
        before = {key: current[key] for key in changed}
        after = {key: record[key] for key in changed}
        if item.retired_at is not None:
            before["retired_at"], after["retired_at"] = item.retired_at.isoformat(), None
            item.retired_at = None
            return RESTORED, before, after
        return (UPDATED if after else UNCHANGED), before, after

    def programme(self, record: dict[str, Any], existing: Programme | None) -> None:
        if existing is None:
            programme = Programme(committed_vnd=0)
            _set_programme(programme, record)
            self.create("programme", programme, record)
            self.results.append(ItemResult("programmes", record["code"], CREATED, tuple(record)))
            return
        outcome, before, after = self._changes(programme_record(existing), record, existing)
        if outcome != UNCHANGED:
            _set_programme(existing, record)
            self.record("programme.update", "programme", existing.id, before, after)
        self.results.append(ItemResult("programmes", record["code"], outcome, tuple(after)))

    def partner(self, record: dict[str, Any], existing: Partner | None) -> None:
        if existing is None:
            partner = Partner()
            _set_partner(partner, record)
            self.create("partner", partner, record)
            self.results.append(ItemResult("partners", record["code"], CREATED, tuple(record)))
            return
        outcome, before, after = self._changes(partner_record(existing), record, existing)
        if outcome != UNCHANGED:
            _set_partner(existing, record)
            # Vetting decisions have their own trail, whoever makes them.
            status_before, status_after = before.pop("status", None), after.pop("status", None)
            if after:
                self.record("partner.update", "partner", existing.id, before, after)
            if status_after is not None:
                self.record("partner.status_change", "partner", existing.id, {"status": status_before},
                            {"status": status_after, "reason": "catalogue import"})
                after["status"] = status_after
        self.results.append(ItemResult("partners", record["code"], outcome, tuple(after)))


def _budget_problems(records: list[dict[str, Any]], existing: dict[str, Programme]) -> list[Problem]:
    """A budget may not drop below what approved applications already committed."""
    problems = []
    for index, record in enumerate(records):
        programme = existing.get(record["code"])
        committed = (programme.committed_vnd or 0) if programme is not None else 0
        if record["budget_vnd"] < committed:
            problems.append(Problem(f"programmes[{index}].budget_vnd", _l(
                "must not be below the %(amount)s VND already committed to approved applications",
                amount=committed)))
    return problems


def import_document(document: Any, *, actor: User | None = None, ip: str | None = None,
                    source: str | None = None) -> ImportReport:
    """Validate the whole document, then create or update every item it lists (not committed).

    Raises ``CatalogueError`` with every problem, before changing anything. Items not in the document
    are left alone; a retired item listed in the document is restored. Writes one ``catalogue.import``
    audit event with the counts, plus one event per created or changed item; unchanged items write nothing.
    """
    validation = validate(document, **reference_data())
    if not validation.ok:
        raise CatalogueError(validation.problems)
    programmes = _existing(Programme, [record["code"] for record in validation.programmes])
    partners = _existing(Partner, [record["code"] for record in validation.partners])
    problems = _budget_problems(validation.programmes, programmes)
    if problems:
        raise CatalogueError(problems)
    importer = _Importer(actor, ip)
    for record in validation.programmes:
        importer.programme(record, programmes.get(record["code"]))
    for record in validation.partners:
        importer.partner(record, partners.get(record["code"]))
    importer.audit_created()
    report = ImportReport(importer.results, source)
    report.event = audit.record("catalogue.import", "catalogue", None, actor=actor, ip=ip, after={
        "source": source, "schema": SCHEMA, **report.counts(),
        "changed": [[item.section, item.code, item.outcome] for item in report.changed],
    })
    return report


def import_bytes(raw: bytes | str, *, actor: User | None = None, ip: str | None = None,
                 source: str | None = None) -> ImportReport:
    """Parse and import a file's content (not committed); ``CatalogueError`` for any problem."""
    return import_document(parse(raw), actor=actor, ip=ip, source=source)


def import_demo() -> ImportReport:
    """Import the demo catalogue shipped in ``app/data/catalogue/demo.json`` (not committed).

    The demo's communes are Quảng Ngãi's; for another configured province, restrictions to communes it
    does not have are dropped so the demo still loads.
    """
    document = parse(DEMO_PATH.read_bytes())
    known = set(reference_data()["communes"])
    for item in [*document.get("programmes", []), *document.get("partners", [])]:
        item["communes"] = [code for code in item["communes"] if code in known]
    return import_document(document, source=f"demo ({DEMO_PATH.name})", ip=None, actor=None)

