"""The catalogue as plain data and matrices, loaded once per catalogue version and shared by every request.

A recommendation must take milliseconds with thousands of items, so nothing per request touches ORM
objects: ``current()`` asks the database for a cheap fingerprint (counts, last change, money committed)
and rebuilds the snapshot only when it changed. The TF-IDF vectoriser and the item text matrix are cached
by a hash of the item texts, so a change that touches no text (money committed by an approval) reuses them.

Eligibility over the whole catalogue is a handful of numpy operations on bit masks and arrays that encode
exactly the rules of ``app.services.eligibility`` (the property tests hold them to it).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
from flask import current_app, has_app_context
from sqlalchemy import event, select, text
from sqlalchemy.orm import Session

from app.recommender import text as textindex
from app.recommender import vocabulary
from app.recommender.features import (
    ORG_KINDS,
    PRICE_BANDS,
    PROGRAMME_KINDS,
    SECTORS,
    SIZE_CLASSES,
    fold,
)
from app.services import eligibility, frameworks

#: Set on every non-empty restriction list, so a list naming only unknown values still restricts.
RESTRICTED = 1 << 62
#: Bit of each eligibility rule in a programme's failure mask (same order as ``eligibility.RULES``).
RULE_BITS = {rule: 1 << index for index, rule in enumerate(eligibility.RULES)}
CATEGORIES = tuple(vocabulary.CATEGORIES)


def _value(value: Any) -> Any:
    return getattr(value, "value", value)


def mask_of(values, universe: tuple[str, ...]) -> int:
    """Bits of ``values`` in ``universe``, plus ``RESTRICTED`` when the list is not empty; 0 = everyone."""
    if not values:
        return 0
    bits = RESTRICTED
    for value in values:
        value = _value(value)
        if value in universe:
            bits |= 1 << universe.index(value)
    return bits


def value_bit(value: Any, universe: tuple[str, ...]) -> int:
    value = _value(value)
    return 1 << universe.index(value) if value in universe else 0


class ProgrammeRow:
    """A programme as plain data, with the attributes ``eligibility`` reads."""

    __slots__ = ("budget_vnd", "caps_vnd", "closes_on", "code", "committed_vnd", "communes", "id", "kind",
                 "level_max", "level_min", "name", "opens_on", "org_kinds", "pillars", "retired_at", "sectors",
                 "size_classes", "sponsor", "summary", "support_rate")

    def __init__(self, **values: Any):
        for name in self.__slots__:
            setattr(self, name, values.get(name))
        self.kind = _value(self.kind)
        for name in ("pillars", "sectors", "org_kinds", "size_classes", "communes"):
            setattr(self, name, tuple(getattr(self, name) or ()))
        self.caps_vnd = dict(self.caps_vnd or {})
        self.committed_vnd = self.committed_vnd or 0

    @property
    def budget_remaining_vnd(self) -> int:
        return self.budget_vnd - self.committed_vnd

    def text(self, field_name: str, locale: str | None) -> str:
        value = getattr(self, field_name) or {}
        return value.get(eligibility.normalise_locale(locale)) or value.get("vi", "")


class PartnerRow:
    """A partner as plain data."""

    __slots__ = ("categories", "code", "communes", "email", "id", "name", "org_kinds", "phone", "pillars",
                 "price_band", "retired_at", "sectors", "status", "summary", "website")

    def __init__(self, **values: Any):
        for name in self.__slots__:
            setattr(self, name, values.get(name))
        self.status = _value(self.status)
        self.price_band = _value(self.price_band)
        for name in ("categories", "pillars", "sectors", "org_kinds", "communes"):
            setattr(self, name, tuple(getattr(self, name) or ()))

    def text(self, field_name: str, locale: str | None) -> str:
        value = getattr(self, field_name) or {}
        return value.get(eligibility.normalise_locale(locale)) or value.get("vi", "")


@dataclass(eq=False)
class Snapshot:
    """The catalogue of one version: rows sorted by code, programmes first then partners in item order."""

    fingerprint: tuple
    framework: frameworks.Framework
    programmes: tuple[ProgrammeRow, ...]
    partners: tuple[PartnerRow, ...]
    text: textindex.TextIndex
    arrays: dict[str, np.ndarray]
    #: Per-snapshot memo (reasons, model-derived arrays); dropped with the snapshot.
    cache: dict[Any, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        #: The framework's pillar codes, in its order (the column order of every pillar matrix).
        self.pillars: tuple[str, ...] = tuple(p.code for p in self.framework.pillars)

    @property
    def n_programmes(self) -> int:
        return len(self.programmes)

    @property
    def n_items(self) -> int:
        return len(self.programmes) + len(self.partners)

    @property
    def item_codes(self) -> tuple[str, ...]:
        return self.cache_get("item_codes", lambda: tuple(row.code for row in (*self.programmes, *self.partners)))

    @property
    def item_index(self) -> dict[tuple[str, str], int]:
        """{(item type, code): item index}."""
        def build():
            index = {("programme", row.code): i for i, row in enumerate(self.programmes)}
            index.update({("partner", row.code): self.n_programmes + i for i, row in enumerate(self.partners)})
            return index
        return self.cache_get("item_index", build)

    def cache_get(self, key: Any, build):
        try:
            return self.cache[key]
        except KeyError:
            value = self.cache[key] = build()
            return value

    def commune_members(self, kind: str, commune: str) -> np.ndarray:
        """Boolean array: which programmes (``kind`` "p") or partners ("q") list ``commune``."""
        def build():
            rows = self.programmes if kind == "p" else self.partners
            return np.array([commune in row.communes for row in rows], dtype=bool)
        return self.cache_get(("commune", kind, commune), build)

    def _communes(self, kind: str, communes: list[str | None]) -> np.ndarray:
        """(profiles x items) booleans: the item lists the profile's commune (False when it is unknown)."""
        size = len(self.programmes) if kind == "p" else len(self.partners)
        rows = [self.commune_members(kind, commune) if commune else np.zeros(size, dtype=bool)
                for commune in communes]
        return np.vstack(rows) if rows else np.zeros((0, size), dtype=bool)

    def programme_failures(self, profiles: list, levels: list[int], on_date: date | None,
                           applied: list[frozenset[str]] | None = None) -> np.ndarray:
        """(profiles x programmes) failed-rule bits (``RULE_BITS``) of each profile; 0 = eligible.

        ``on_date`` None leaves out the date and budget rules (evaluation replays history, whose windows and
        budgets are gone). Retired programmes carry the ``retired`` bit.
        """
        a = self.arrays
        column = np.array
        kind = column([value_bit(p.kind, ORG_KINDS) for p in profiles], dtype=np.int64)[:, None]
        size_known = column([p.size_class is not None for p in profiles])[:, None]
        size = column([value_bit(p.size_class, SIZE_CLASSES) for p in profiles], dtype=np.int64)[:, None]
        sector = column([value_bit(p.sector, SECTORS) for p in profiles], dtype=np.int64)[:, None]
        commune_known = column([bool(p.commune_code) for p in profiles])[:, None]
        level = column(levels, dtype=np.int64)[:, None]

        def bit(condition, rule: str) -> np.ndarray:
            return np.where(condition, RULE_BITS[rule], 0)

        kinds, sizes, secs, restricted = a["p_kinds"], a["p_sizes"], a["p_sectors"], a["p_communes"]
        fails = bit(a["p_retired"][None, :], eligibility.RETIRED) | bit((kinds != 0) & (kinds & kind == 0),
                                                                         eligibility.KIND)
        fails = fails | bit((sizes != 0) & ~size_known, eligibility.SIZE_UNKNOWN)
        fails |= bit((sizes != 0) & size_known & (sizes & size == 0), eligibility.SIZE)
        fails |= bit((secs != 0) & (secs & sector == 0), eligibility.SECTOR)
        fails |= bit(restricted & ~commune_known, eligibility.COMMUNE_UNKNOWN)
        listed = self._communes("p", [p.commune_code for p in profiles])
        fails |= bit(restricted & commune_known & ~listed, eligibility.COMMUNE)
        fails |= bit((a["p_level_min"] > level) | (a["p_level_max"] < level), eligibility.LEVEL)
        if on_date is not None:
            day = on_date.toordinal()
            fails |= bit(a["p_opens"] > day, eligibility.NOT_OPEN)[None, :]
            fails |= bit((a["p_opens"] <= day) & (a["p_closes"] < day), eligibility.CLOSED)[None, :]
            fails |= bit(a["p_budget_left"] <= 0, eligibility.BUDGET)[None, :]
            index = self.cache_get("programme_index", lambda: {row.code: i for i, row in enumerate(self.programmes)})
            for row, codes in enumerate(applied or ()):
                for code in codes:
                    if code in index:
                        fails[row, index[code]] |= RULE_BITS[eligibility.APPLIED]
        return fails.astype(np.int64)

    def partner_candidates(self, profiles: list) -> np.ndarray:
        """(profiles x partners) booleans: vetted, current partners serving the kind, sector and commune."""
        a = self.arrays
        kind = np.array([value_bit(p.kind, ORG_KINDS) for p in profiles], dtype=np.int64)[:, None]
        sector = np.array([value_bit(p.sector, SECTORS) for p in profiles], dtype=np.int64)[:, None]
        commune_known = np.array([bool(p.commune_code) for p in profiles])[:, None]
        kinds, secs, restricted = a["q_kinds"], a["q_sectors"], a["q_communes"]
        listed = self._communes("q", [p.commune_code for p in profiles])
        return (a["q_ok"][None, :] & ((kinds == 0) | (kinds & kind != 0)) & ((secs == 0) | (secs & sector != 0))
                & (~restricted | (commune_known & listed)))


def _document(row, own: list[str], kind: str | None = None, categories=()) -> textindex.Document:
    parts = [("kind", kind)] if kind else []
    parts += [("category", code) for code in categories]
    parts += [("pillar", code) for code in row.pillars]
    parts += [("sector", letter) for letter in row.sectors]
    return textindex.Document(fold(" ".join(own)), tuple(parts))


def documents(programmes, partners) -> list[textindex.Document]:
    """Each item's own texts in both languages and the shared parts (kind, categories, pillars, sectors)."""
    docs = [_document(row, [*(row.name or {}).values(), *(row.summary or {}).values(),
                            *(row.sponsor or {}).values()], kind=row.kind) for row in programmes]
    docs += [_document(row, [row.name or "", *(row.summary or {}).values()], categories=row.categories)
             for row in partners]
    return docs


_text_indexes: OrderedDict[str, textindex.TextIndex] = OrderedDict()
_text_lock = threading.Lock()


def text_index(docs: list[textindex.Document], framework: frameworks.Framework) -> textindex.TextIndex:
    """The TF-IDF of these documents: fitted once, then reused while the texts stay the same."""
    digest = hashlib.sha256(repr((framework.ref, [(d.own, d.parts) for d in docs])).encode()).hexdigest()
    with _text_lock:
        found = _text_indexes.get(digest)
        if found is not None:
            _text_indexes.move_to_end(digest)
            return found
    fitted = textindex.fit(docs, framework)
    with _text_lock:
        _text_indexes[digest] = fitted
        while len(_text_indexes) > 3:
            _text_indexes.popitem(last=False)
    return fitted


def build(programmes: list[ProgrammeRow], partners: list[PartnerRow], framework: frameworks.Framework,
          fingerprint: tuple = ()) -> Snapshot:
    """A snapshot of these rows (any order; they are sorted by code)."""
    programmes = sorted(programmes, key=lambda row: row.code)
    partners = sorted(partners, key=lambda row: row.code)
    pillars = tuple(p.code for p in framework.pillars)
    text = text_index(documents(programmes, partners), framework)

    def ints(values) -> np.ndarray:
        return np.array(list(values), dtype=np.int64)

    def pillar_matrix(rows) -> np.ndarray:
        matrix = np.zeros((len(rows), len(pillars)))
        for i, row in enumerate(rows):
            for code in row.pillars:
                if code in pillars:
                    matrix[i, pillars.index(code)] = 1.0
        return matrix

    rows = (*programmes, *partners)
    covered = pillar_matrix(rows)
    counts = covered.sum(axis=1, keepdims=True)
    n_prog = len(programmes)
    item_kind = np.zeros((len(rows), len(PROGRAMME_KINDS)))
    item_price = np.zeros((len(rows), len(PRICE_BANDS)))
    item_categories = np.zeros((len(rows), len(CATEGORIES)))
    for i, row in enumerate(programmes):
        if row.kind in PROGRAMME_KINDS:
            item_kind[i, PROGRAMME_KINDS.index(row.kind)] = 1.0
    for j, row in enumerate(partners):
        if row.price_band in PRICE_BANDS:
            item_price[n_prog + j, PRICE_BANDS.index(row.price_band)] = 1.0
        for code in row.categories:
            if code in CATEGORIES:
                item_categories[n_prog + j, CATEGORIES.index(code)] = 1.0
    arrays = {
        "p_retired": np.array([row.retired_at is not None for row in programmes], dtype=bool),
        "p_kinds": ints(mask_of(row.org_kinds, ORG_KINDS) for row in programmes),
        "p_sizes": ints(mask_of(row.size_classes, SIZE_CLASSES) for row in programmes),
        "p_sectors": ints(mask_of(row.sectors, SECTORS) for row in programmes),
        "p_communes": np.array([bool(row.communes) for row in programmes], dtype=bool),
        "p_level_min": ints(row.level_min for row in programmes),
        "p_level_max": ints(row.level_max for row in programmes),
        "p_opens": ints(row.opens_on.toordinal() for row in programmes),
        "p_closes": ints(row.closes_on.toordinal() for row in programmes),
        "p_budget_left": ints(row.budget_remaining_vnd for row in programmes),
        "q_ok": np.array([row.status == "vetted" and row.retired_at is None for row in partners], dtype=bool),
        "q_kinds": ints(mask_of(row.org_kinds, ORG_KINDS) for row in partners),
        "q_sectors": ints(mask_of(row.sectors, SECTORS) for row in partners),
        "q_communes": np.array([bool(row.communes) for row in partners], dtype=bool),
        "item_pillars": covered,
        #: Coverage scaled to unit length, so an item is not favoured just for listing every pillar.
        "item_pillars_n": np.divide(covered, np.sqrt(counts), out=np.zeros_like(covered), where=counts > 0),
        "item_sectors": ints(mask_of(row.sectors, SECTORS) for row in rows),
        "item_sizes": ints([*(mask_of(row.size_classes, SIZE_CLASSES) for row in programmes), *([0] * len(partners))]),
        "item_is_partner": np.array([0.0] * n_prog + [1.0] * len(partners)),
        "item_kind": item_kind,
        "item_price": item_price,
        "item_categories": item_categories,
    }
    for name in ("p_level_min", "p_level_max", "p_opens", "p_closes", "p_budget_left", "p_kinds", "p_sizes",
                 "p_sectors", "q_kinds", "q_sectors", "item_sectors", "item_sizes"):
        arrays[name] = arrays[name].reshape(-1)
    return Snapshot(fingerprint=fingerprint, framework=framework, programmes=tuple(programmes),
                    partners=tuple(partners), text=text, arrays=arrays)


def _programme_rows(session) -> list[ProgrammeRow]:
    from app.models.catalogue import Programme

    columns = [getattr(Programme, name) for name in ProgrammeRow.__slots__]
    return [ProgrammeRow(**row._asdict()) for row in session.execute(select(*columns))]


def _partner_rows(session) -> list[PartnerRow]:
    from app.models.catalogue import Partner

    columns = [getattr(Partner, name) for name in PartnerRow.__slots__]
    return [PartnerRow(**row._asdict()) for row in session.execute(select(*columns))]


#: Counts, last change, money committed and highest id of both tables: any edit, addition, deletion,
#: retirement, vetting or approval changes it (every update sets ``updated_at``: the models' ``onupdate``
#: does it for ORM and Core updates alike). Plain SQL: it may run on every request.
FINGERPRINT_SQL = text(
    "SELECT (SELECT count(*) FROM programme), (SELECT max(updated_at) FROM programme),"
    " (SELECT coalesce(sum(committed_vnd), 0) FROM programme), (SELECT max(id) FROM programme),"
    " (SELECT count(*) FROM partner), (SELECT max(updated_at) FROM partner), (SELECT max(id) FROM partner)"
)
CHANGED = "dxportal.catalogue_changed"
#: Bumped after each commit, in this process, that touched programmes or partners.
_generation = 0


def fingerprint(session) -> tuple:
    """What identifies the catalogue's current version: one query (a few table scans)."""
    row = session.execute(FINGERPRINT_SQL).one()
    return tuple(str(value) if isinstance(value, datetime) else value for value in row)


@event.listens_for(Session, "after_flush")
def _note_flush(session, _context) -> None:
    from app.models.catalogue import Partner, Programme, ProgrammeDocument

    catalogue = (Programme, Partner, ProgrammeDocument)
    if any(isinstance(obj, catalogue) for obj in (*session.new, *session.dirty, *session.deleted)):
        session.info[CHANGED] = True


@event.listens_for(Session, "do_orm_execute")
def _note_statement(state) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        if getattr(table, "name", None) in ("programme", "partner"):
            state.session.info[CHANGED] = True


@event.listens_for(Session, "after_commit")
def _bump(session) -> None:
    global _generation
    if session.info.pop(CHANGED, False):
        _generation += 1


_snapshots: OrderedDict[tuple, Snapshot] = OrderedDict()
#: {database url: (when checked, generation then, snapshot key)}
_checked: dict[str, tuple[float, int, tuple]] = {}
_snapshot_lock = threading.Lock()


def current(session=None) -> Snapshot:
    """The snapshot of the catalogue in the database now (rebuilt only when its fingerprint changed).

    A commit in this process that touches the catalogue is seen by the next call. Changes made by other
    processes (other web workers, a CLI import) are seen once the fingerprint is checked again, at most
    ``RECOMMENDER_CATALOGUE_RECHECK_SECONDS`` later (0: on every call). Pillars and level names come
    from the framework in force today, whatever date a query is for.
    """
    from app.extensions import db

    session = session or db.session
    url = str(session.get_bind().url)
    recheck = float(current_app.config.get("RECOMMENDER_CATALOGUE_RECHECK_SECONDS", 0)) if has_app_context() else 0
    now = time.monotonic()
    with _snapshot_lock:
        last = _checked.get(url)
        if last is not None and last[1] == _generation and now - last[0] < recheck and last[2] in _snapshots:
            return _snapshots[last[2]]
    generation = _generation
    framework = frameworks.current_framework()
    key = (url, framework.ref, fingerprint(session))
    with _snapshot_lock:
        found = _snapshots.get(key)
        if found is not None:
            _snapshots.move_to_end(key)
            _checked[url] = (now, generation, key)
            return found
    snapshot = build(_programme_rows(session), _partner_rows(session), framework, fingerprint=key)
    with _snapshot_lock:
        _snapshots[key] = snapshot
        _checked[url] = (now, generation, key)
        while len(_snapshots) > 4:
            _snapshots.popitem(last=False)
    return snapshot


def clear() -> None:
    """Forget every cached snapshot and text model (tests that rewrite rows in place use it)."""
    with _snapshot_lock:
        _snapshots.clear()
        _checked.clear()
    with _text_lock:
        _text_indexes.clear()
