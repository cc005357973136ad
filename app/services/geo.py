"""Administrative units of the province the portal serves (two-tier structure since 1 July 2025).

The units are data: ``app/data/admin_units/<PROVINCE_CODE>.json`` (see the README there). The app
checks at start-up that the file for its ``PROVINCE_CODE`` exists and is well formed.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path

from flask import Flask, current_app

ADMIN_UNITS_DIR = Path(__file__).resolve().parents[1] / "data" / "admin_units"
KINDS = ("xã", "phường", "đặc khu")
_PROVINCE_CODE_RE = re.compile(r"^[0-9]{2}$")
_UNIT_CODE_RE = re.compile(r"^[0-9]{5}$")


class AdminUnitsError(RuntimeError):
    """The administrative-unit file for the configured province is missing or malformed."""


@dataclass(frozen=True)
class Unit:
    """A commune-level unit: official 5-digit code, name without its kind, and kind."""

    code: str
    name: str
    kind: str

    @property
    def full_name(self) -> str:
        """The official name, e.g. ``Xã Tịnh Khê``, ``Đặc khu Lý Sơn``."""
        return f"{self.kind[0].upper()}{self.kind[1:]} {self.name}"


@dataclass(frozen=True)
class Province:
    code: str
    name: str
    units: tuple[Unit, ...]

    @cached_property
    def by_code(self) -> dict[str, Unit]:
        return {unit.code: unit for unit in self.units}


# Vietnamese collation: letters in the order of the Vietnamese alphabet (a ă â b c d đ e ê ...),
# with the other Latin letters where English puts them; tones only break ties, in dictionary order
# (none, huyền, hỏi, ngã, sắc, nặng). A plain code-point sort would put "Đăk Hà" after "Ya Ly".
_ALPHABET = "aăâbcdđeêfghijklmnoôơpqrstuưvwxyz"
_LETTER_INDEX = {letter: index for index, letter in enumerate(_ALPHABET)}
_LETTER_MARKS = {"\u0306", "\u0302", "\u031b"}  # breve, circumflex, horn: part of the letter
_TONES = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}


def vietnamese_sort_key(text: str) -> tuple:
    """A key that sorts Vietnamese names as a Vietnamese reader expects."""
    primary: list[tuple[int, int]] = []
    tones: list[int] = []
    letter, tone = "", 0

    def flush() -> None:
        if letter:
            composed = unicodedata.normalize("NFC", letter)
            if composed in _LETTER_INDEX:
                primary.append((2, _LETTER_INDEX[composed]))
            elif composed.isdigit():
                primary.append((1, int(composed) if composed.isascii() else ord(composed)))
            elif composed.isspace() or composed in "-–'":
                primary.append((0, 0))
            else:
                primary.append((3, ord(composed[0])))
            tones.append(tone)

    for char in unicodedata.normalize("NFD", text.casefold()):
        if char in _LETTER_MARKS:
            letter += char
        elif char in _TONES:
            tone = _TONES[char]
        elif unicodedata.combining(char):
            continue
        else:
            flush()
            letter, tone = char, 0
    flush()
    return (tuple(primary), tuple(tones), text)


def _validate_document(document: dict, code: str, path: Path) -> Province:
    if document.get("province_code") != code:
        raise AdminUnitsError(f"{path}: province_code is {document.get('province_code')!r}, expected {code!r}")
    units = []
    for entry in document.get("units") or []:
        unit = Unit(str(entry["code"]), unicodedata.normalize("NFC", entry["name"]), entry["kind"])
        if not _UNIT_CODE_RE.match(unit.code) or unit.kind not in KINDS or not unit.name.strip():
            raise AdminUnitsError(f"{path}: malformed unit {entry!r}")
        units.append(unit)
    if not units:
        raise AdminUnitsError(f"{path}: no units")
    if len({unit.code for unit in units}) != len(units):
        raise AdminUnitsError(f"{path}: duplicate unit codes")
    ordered = tuple(sorted(units, key=lambda unit: vietnamese_sort_key(unit.name)))
    return Province(code, document.get("province_name", code), ordered)


@cache
def load_province(code: str, directory: Path = ADMIN_UNITS_DIR) -> Province:
    """Read and check ``<directory>/<code>.json``; cached for the life of the process."""
    if not _PROVINCE_CODE_RE.match(code or ""):
        raise AdminUnitsError(f"PROVINCE_CODE must be two digits, got {code!r}")
    path = directory / f"{code}.json"
    if not path.is_file():
        raise AdminUnitsError(
            f"No administrative-unit data for PROVINCE_CODE={code}: expected {path} "
            f"(see {directory / 'README.md'})"
        )
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        return _validate_document(document, code, path)
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise AdminUnitsError(f"{path}: {error}") from error


def check_configured(app: Flask) -> None:
    """Fail at start-up, with a clear message, when the province's data file is missing or broken."""
    load_province(app.config["PROVINCE_CODE"])


def province() -> Province:
    """The province of this portal (from ``PROVINCE_CODE``)."""
    return load_province(current_app.config["PROVINCE_CODE"])


def communes() -> tuple[Unit, ...]:
    """Every commune, ward and special zone of the province, sorted by Vietnamese name."""
    return province().units


def find(code: str | None) -> Unit | None:
    if not code:
        return None
    return province().by_code.get(code)


def is_valid(code: str | None) -> bool:
    return find(code) is not None


def _kind_labels() -> dict[str, str]:
    from flask_babel import gettext as _

    return {"xã": _("commune"), "phường": _("ward"), "đặc khu": _("special zone")}


def kind_label(kind: str) -> str:
    """The unit kind in the interface language (the data holds the Vietnamese word)."""
    return _kind_labels().get(kind, kind)


def choices() -> list[tuple[str, str]]:
    """``(code, "Tịnh Khê (xã)")`` pairs, name first so typing a letter in the list finds it (the three
    kind labels are translated once, not once per commune: every filter form builds this list)."""
    labels = _kind_labels()
    return [(unit.code, f"{unit.name} ({labels.get(unit.kind, unit.kind)})") for unit in communes()]


def commune_name(code: str | None) -> str | None:
    """The official name (``Xã Tịnh Khê``) of a code, or None when unknown."""
    unit = find(code)
    return unit.full_name if unit else None
