"""VSIC 2018 sections (A–U) and their Decree 80/2021 sector groups, read from ``app/data``.

The names live in ``vsic2018_sections.yaml`` in Vietnamese and English, so they are data, not
translation strings; the current interface language picks one.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
SECTIONS_FILE = DATA_DIR / "vsic2018_sections.yaml"
SECTION_LETTERS = tuple("ABCDEFGHIJKLMNOPQRSTU")


@dataclass(frozen=True)
class Section:
    """One VSIC section: letter, official names, everyday description, sector group."""

    letter: str
    name_vi: str
    name_en: str
    plain_vi: str
    plain_en: str
    group: str

    def name(self, locale: str | None = None) -> str:
        return self.name_en if _lang(locale) == "en" else self.name_vi

    def plain(self, locale: str | None = None) -> str:
        return self.plain_en if _lang(locale) == "en" else self.plain_vi


def _lang(locale: str | None) -> str:
    if locale is None:
        try:
            from flask_babel import get_locale

            locale = str(get_locale() or "vi")
        except RuntimeError:
            locale = "vi"
    return "en" if str(locale).startswith("en") else "vi"


@cache
def load_sections(path: Path = SECTIONS_FILE) -> dict[str, Section]:
    """All sections by letter; the file must list exactly A–U, each with a known group."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    groups = set(document["groups"])
    sections = {}
    for letter, entry in document["sections"].items():
        letter = str(letter)
        if entry["group"] not in groups:
            raise ValueError(f"{path}: section {letter} has unknown group {entry['group']!r}")
        sections[letter] = Section(letter, entry["vi"], entry["en"], entry["plain_vi"], entry["plain_en"],
                                   entry["group"])
    if tuple(sections) != SECTION_LETTERS:
        raise ValueError(f"{path}: expected sections A–U in order, found {''.join(sections)}")
    return sections


@cache
def group_names(path: Path = SECTIONS_FILE) -> dict[str, dict[str, str]]:
    """Sector-group names by group key, e.g. ``{"trade_services": {"vi": ..., "en": ...}}``."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]


def is_valid(letter: str | None) -> bool:
    return letter in load_sections()


def section(letter: str | None) -> Section | None:
    return load_sections().get(letter or "")


def name(letter: str | None, locale: str | None = None) -> str | None:
    """The section's name in the interface language, or None for an unknown letter."""
    found = section(letter)
    return found.name(locale) if found else None


def group(letter: str | None) -> str | None:
    """The Decree 80/2021 sector group of a section, or None for an unknown letter."""
    found = section(letter)
    return found.group if found else None


def choices(locale: str | None = None, plain: bool = False) -> list[tuple[str, str]]:
    """``(letter, label)`` pairs for a select, A–U; ``plain`` uses the everyday descriptions."""
    result = []
    for letter, found in load_sections().items():
        label = found.plain(locale) if plain else f"{letter} – {found.name(locale)}"
        result.append((letter, label))
    return result
