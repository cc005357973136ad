"""Digital-maturity frameworks: versioned YAML data in ``app/frameworks/``, validated on load.

File layout: one file per framework *version*, named ``<id>@<version>.yaml`` (``dx-sme@1.yaml``), holding
both tracks. Each question lists the tracks it belongs to. Why not one file per track: pillars, level bands
and scale labels are shared by the tracks and must change together; an assessment records one
(id, version) whatever its track; a question asked in both tracks (data backup, scam awareness) is written
once, so the tracks cannot drift apart inside a version.

Versioning: publishing a changed framework means adding ``<id>@<version+1>.yaml``; a published file is
never edited, so an assessment answered under ``dx-sme@1`` is shown and scored with exactly the questions
it was answered against, forever. The *current* version of an id is the highest version whose
``published`` date has come (a file may be added ahead of its publication date).

Score convention (checked here, used by ``app.services.scoring``): every option scores a whole number of
points from 0 to 100. A ``single`` question's best option scores 100 and its worst 0. A ``multiple``
question's boxes each score more than 0 and add up to at least 100 (the question scores the ticked boxes'
sum capped at 100), and it has exactly one ``exclusive`` "none of these" option scoring 0, so that
"ticked nothing" is an explicit answer. A ``scale`` question is answered 0-5 on the file's shared
adoption scale. Weights are whole numbers 1-10 so scoring stays in exact integer arithmetic.

Everything here is plain Python: no Flask app or request is needed. Texts are ``LocalText`` mappings
(``{"vi": ..., "en": ...}``); ``localise`` picks a language, falling back to Vietnamese.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

FRAMEWORKS_DIR = Path(__file__).resolve().parent.parent / "frameworks"
DEFAULT_FRAMEWORK_ID = "dx-sme"
LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"
#: The values of app.models.organisation.OrganisationKind (a test keeps them in step).
ORGANISATION_KINDS = ("enterprise", "cooperative", "household_business")
QUESTION_TYPES = ("single", "multiple", "scale")
MAX_POINTS = 100
SCALE_MAX = 5
MAX_WEIGHT = 10
#: Publication dates are read in the province's time; Vietnam keeps UTC+7 all year.
PROVINCE_TZ = dt.timezone(dt.timedelta(hours=7))

_ID = re.compile(r"[a-z][a-z0-9_]*")
_FRAMEWORK_ID = re.compile(r"[a-z][a-z0-9-]*")
_REF = re.compile(r"(?P<id>[a-z][a-z0-9-]*)@(?P<version>[1-9][0-9]*)")
_YAML_BOOL_WORDS = {"yes", "no", "on", "off", "true", "false", "y", "n"}


class FrameworkError(ValueError):
    """A framework file is invalid; ``problems`` lists (file name, path, message) for each fault."""

    def __init__(self, problems: list[tuple[str, str, str]]):
        self.problems = tuple(problems)
        super().__init__("\n".join(_format_problem(*p) for p in self.problems))


class UnknownFrameworkError(LookupError):
    """No framework matches the requested id or version."""


def _format_problem(source: str, path: str, message: str) -> str:
    return f"{source}: {path}: {message}" if path else f"{source}: {message}"


def localise(text: Mapping[str, str], lang: str | None = None) -> str:
    """The text in ``lang`` ("en", "en_GB", "vi-VN"...), else in Vietnamese."""
    if lang:
        value = text.get(lang.replace("-", "_").split("_")[0].lower())
        if value:
            return value
    return text[DEFAULT_LANGUAGE]


@dataclass(frozen=True, eq=False)
class LocalText(Mapping[str, str]):
    """A text in every supported language; reads like, and equals, the dict ``{"vi": ..., "en": ...}``."""

    vi: str
    en: str

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Mapping):
            return NotImplemented
        return dict(self) == dict(other)

    def __hash__(self) -> int:
        return hash((self.vi, self.en))

    def __getitem__(self, lang: str) -> str:
        if lang in LANGUAGES:
            return getattr(self, lang)
        raise KeyError(lang)

    def __iter__(self) -> Iterator[str]:
        return iter(LANGUAGES)

    def __len__(self) -> int:
        return len(LANGUAGES)

    def pick(self, lang: str | None = None) -> str:
        """The text in ``lang``, falling back to Vietnamese."""
        return localise(self, lang)


@dataclass(frozen=True)
class Pillar:
    code: str
    name: LocalText
    description: LocalText


@dataclass(frozen=True)
class Level:
    """Maturity level ``level`` covers scores in [lower, upper); the top level also covers ``upper``."""

    level: int
    name: LocalText
    description: LocalText
    lower: float
    upper: float


@dataclass(frozen=True)
class Track:
    """A questionnaire for some organisation kinds (``full``: enterprises, ``short``: households)."""

    code: str
    name: LocalText
    description: LocalText
    organisation_kinds: tuple[str, ...]
    minutes: int


@dataclass(frozen=True)
class Option:
    id: str
    text: LocalText
    score: int
    exclusive: bool = False


@dataclass(frozen=True)
class Question:
    id: str
    pillar: str
    type: str
    tracks: tuple[str, ...]
    text: LocalText
    help: LocalText
    options: tuple[Option, ...] = ()
    weight: int = 1
    _options: Mapping[str, Option] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_options", MappingProxyType({o.id: o for o in self.options}))

    def option(self, option_id: str) -> Option | None:
        """The option with this id, or None."""
        return self._options.get(option_id)


@dataclass(frozen=True)
class Framework:
    """One published version of a framework. Immutable; loaded once per process."""

    id: str
    version: int
    title: LocalText
    published: dt.date
    source: LocalText
    pillars: tuple[Pillar, ...]
    levels: tuple[Level, ...]
    scale: tuple[LocalText, ...]
    tracks: tuple[Track, ...]
    questions: tuple[Question, ...]
    filename: str = field(default="", compare=False)
    _questions: Mapping[str, Question] = field(init=False, repr=False, compare=False)
    _by_track: Mapping[str, tuple[Question, ...]] = field(init=False, repr=False, compare=False)
    _by_track_pillar: Mapping[tuple[str, str], tuple[Question, ...]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "_questions", MappingProxyType({q.id: q for q in self.questions}))
        object.__setattr__(self, "_by_track", MappingProxyType({
            t.code: tuple(q for q in self.questions if t.code in q.tracks) for t in self.tracks
        }))
        object.__setattr__(self, "_by_track_pillar", MappingProxyType({
            (t.code, p.code): tuple(q for q in self._by_track[t.code] if q.pillar == p.code)
            for t in self.tracks for p in self.pillars
        }))

    @property
    def ref(self) -> str:
        """The "id@version" an assessment records."""
        return f"{self.id}@{self.version}"

    def pillar(self, code: str) -> Pillar:
        for pillar in self.pillars:
            if pillar.code == code:
                return pillar
        raise KeyError(code)

    def track(self, code: str) -> Track:
        for track in self.tracks:
            if track.code == code:
                return track
        raise ValueError(f"unknown track {code!r} (known: {', '.join(t.code for t in self.tracks)})")

    def track_for_kind(self, organisation_kind: str) -> Track:
        """The track an organisation of this kind answers."""
        for track in self.tracks:
            if organisation_kind in track.organisation_kinds:
                return track
        raise ValueError(f"no track for organisation kind {organisation_kind!r}")

    def questions_for(self, track: str) -> tuple[Question, ...]:
        """The track's questions, in the order the file lists them (grouped by pillar)."""
        try:
            return self._by_track[track]
        except KeyError:
            self.track(track)
            raise

    def pillar_questions(self, track: str, pillar: str) -> tuple[Question, ...]:
        """The track's questions of one pillar."""
        try:
            return self._by_track_pillar[(track, pillar)]
        except KeyError:
            self.track(track)
            self.pillar(pillar)
            raise

    def question(self, question_id: str) -> Question:
        return self._questions[question_id]

    def option(self, question_id: str, option_id: str) -> Option:
        """The option ``option_id`` of question ``question_id``; KeyError when either is unknown."""
        option = self._questions[question_id].option(option_id)
        if option is None:
            raise KeyError(f"{question_id}.{option_id}")
        return option

    def level_for(self, score: float) -> int:
        """The maturity level whose band holds ``score`` (0-100)."""
        if not (_is_number(score) and 0 <= score <= MAX_POINTS):
            raise ValueError(f"score must be a number from 0 to 100, got {score!r}")
        for level in self.levels:
            if level.lower <= score < level.upper:
                return level.level
        return self.levels[-1].level

    def level(self, number: int) -> Level:
        """The Level (names, band) numbered ``number``."""
        return self.levels[number]

    def to_dict(self, track: str) -> dict[str, Any]:
        """The track's questionnaire as JSON-ready data; texts stay ``{"vi": ..., "en": ...}``."""
        track_info = self.track(track)
        return {
            "id": self.id,
            "version": self.version,
            "ref": self.ref,
            "title": dict(self.title),
            "published": self.published.isoformat(),
            "source": dict(self.source),
            "track": {
                "code": track_info.code,
                "name": dict(track_info.name),
                "description": dict(track_info.description),
                "organisation_kinds": list(track_info.organisation_kinds),
                "minutes": track_info.minutes,
            },
            "pillars": [
                {"code": p.code, "name": dict(p.name), "description": dict(p.description)} for p in self.pillars
            ],
            "levels": [
                {
                    "level": lv.level,
                    "name": dict(lv.name),
                    "description": dict(lv.description),
                    "band": [lv.lower, lv.upper],
                }
                for lv in self.levels
            ],
            "scale": [{"value": value, "label": dict(label)} for value, label in enumerate(self.scale)],
            "questions": [_question_dict(q) for q in self.questions_for(track)],
        }


def _question_dict(question: Question) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": question.id,
        "pillar": question.pillar,
        "type": question.type,
        "weight": question.weight,
        "text": dict(question.text),
        "help": dict(question.help),
    }
    if question.type == "scale":
        data["min"], data["max"] = 0, SCALE_MAX
    else:
        data["options"] = [
            {"id": o.id, "text": dict(o.text), "score": o.score, "exclusive": o.exclusive} for o in question.options
        ]
    return data


# --- Loading ---------------------------------------------------------------------------------------------


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key written twice in one mapping (PyYAML silently keeps the last)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=deep)
        try:
            duplicate = key in seen
        except TypeError:
            break
        if duplicate:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _describe(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"{value!r} (YAML reads yes/no/on/off as true/false: quote it)"
    return repr(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


class _Parser:
    """Builds a Framework from parsed YAML, collecting every problem with its path."""

    def __init__(self, source: str):
        self.source = source
        self.problems: list[tuple[str, str, str]] = []
        # Codes declared even by an entry that has other faults, so questions are not blamed for them.
        self.pillar_codes: list[str] = []
        self.track_codes: list[str] = []

    def add(self, path: str, message: str) -> None:
        self.problems.append((self.source, path, message))

    def fields(self, node: Any, path: str, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict | None:
        """``node`` as a mapping, reporting missing and unknown keys; None when it is not a mapping."""
        if not isinstance(node, dict):
            self.add(path, f"must be a mapping with {', '.join(required)}, got {_describe(node)}")
            return None
        for key in node:
            if key not in required and key not in optional:
                allowed = ", ".join((*required, *optional))
                self.add(path, f"unknown key {key!r} (allowed: {allowed})")
        for key in required:
            if key not in node:
                self.add(path, f"missing {key}")
        return node

    def items(self, node: Any, path: str, what: str, minimum: int = 1) -> list:
        if not isinstance(node, list):
            self.add(path, f"must be a list of {what}, got {_describe(node)}")
            return []
        if len(node) < minimum:
            self.add(path, f"needs at least {minimum} {what}, found {len(node)}")
        return node

    def ident(self, node: Any, path: str, pattern: re.Pattern = _ID) -> str | None:
        if isinstance(node, str) and pattern.fullmatch(node):
            return node
        hint = "lower-case letters, digits and '_'" if pattern is _ID else "lower-case letters, digits and '-'"
        self.add(path, f"must be an identifier of {hint}, starting with a letter; got {_describe(node)}")
        return None

    def whole(self, node: Any, path: str, low: int, high: int, what: str) -> int | None:
        if isinstance(node, int) and not isinstance(node, bool) and low <= node <= high:
            return node
        self.add(path, f"{what} must be a whole number from {low} to {high}, got {_describe(node)}")
        return None

    def text(self, node: Any, path: str) -> LocalText | None:
        data = self.fields(node, path, LANGUAGES)
        if data is None:
            return None
        values = {}
        for lang in LANGUAGES:
            value = data.get(lang)
            if lang not in data:
                continue
            if not isinstance(value, str) or not value.strip():
                self.add(f"{path}.{lang}", f"must be non-empty text, got {_describe(value)}")
            elif not unicodedata.is_normalized("NFC", value):
                self.add(f"{path}.{lang}", "is not NFC-normalised (save it with precomposed letters such as "
                                           "'ế', not 'e' plus accent marks)")
            else:
                values[lang] = value.strip()
        if len(values) != len(LANGUAGES):
            return None
        return LocalText(**values)

    # -- sections ----------------------------------------------------------------------------------------

    def framework(self, data: Any, filename: str) -> Framework | None:
        top = self.fields(
            data, "", ("id", "version", "title", "published", "source", "pillars", "levels", "scale", "tracks",
                       "questions"),
        )
        if top is None:
            return None
        framework_id = self.ident(top.get("id"), "id", _FRAMEWORK_ID) if "id" in top else None
        version = self.whole(top.get("version"), "version", 1, 10**6, "version") if "version" in top else None
        if framework_id and version and filename != f"{framework_id}@{version}.yaml":
            self.add("", f"file name must be '{framework_id}@{version}.yaml' to match id and version")
        title = self.text(top.get("title"), "title") if "title" in top else None
        source = self.text(top.get("source"), "source") if "source" in top else None
        published = self.date(top.get("published"), "published") if "published" in top else None
        pillars = self.pillars(top["pillars"]) if "pillars" in top else []
        levels = self.levels(top["levels"]) if "levels" in top else []
        scale = self.scale(top["scale"]) if "scale" in top else []
        tracks = self.tracks(top["tracks"]) if "tracks" in top else []
        questions = self.questions(top["questions"]) if "questions" in top else []
        self.coverage(tracks, pillars, questions)
        if self.problems:
            return None
        return Framework(
            id=framework_id, version=version, title=title, published=published, source=source,
            pillars=tuple(pillars), levels=tuple(levels), scale=tuple(scale), tracks=tuple(tracks),
            questions=tuple(questions), filename=filename,
        )

    def date(self, node: Any, path: str) -> dt.date | None:
        if isinstance(node, dt.date) and not isinstance(node, dt.datetime):
            return node
        if isinstance(node, str):
            try:
                return dt.date.fromisoformat(node)
            except ValueError:
                pass
        self.add(path, f"must be a date like 2026-01-31, got {_describe(node)}")
        return None

    def pillars(self, node: Any) -> list[Pillar]:
        pillars: list[Pillar] = []
        seen: dict[str, str] = {}
        for i, item in enumerate(self.items(node, "pillars", "pillars")):
            path = f"pillars[{i}]"
            data = self.fields(item, path, ("code", "name", "description"))
            if data is None:
                continue
            code = self.ident(data.get("code"), f"{path}.code") if "code" in data else None
            if code in seen:
                self.add(f"{path}.code", f"duplicate pillar code {code!r} (first at {seen[code]})")
                code = None
            elif code:
                seen[code] = path
                self.pillar_codes.append(code)
            name = self.text(data.get("name"), f"{path}.name") if "name" in data else None
            description = self.text(data.get("description"), f"{path}.description") if "description" in data else None
            if code and name and description:
                pillars.append(Pillar(code, name, description))
        return pillars

    def levels(self, node: Any) -> list[Level]:
        levels: list[Level] = []
        previous_upper: float | None = None
        entries = self.items(node, "levels", "levels", minimum=2)
        for i, item in enumerate(entries):
            path = f"levels[{i}]"
            data = self.fields(item, path, ("level", "name", "description", "band"))
            if data is None:
                previous_upper = None
                continue
            number = data.get("level")
            if "level" in data and not (isinstance(number, int) and not isinstance(number, bool) and number == i):
                self.add(f"{path}.level", f"levels must be numbered 0, 1, 2... in order: expected {i}, got "
                                          f"{_describe(number)}")
            name = self.text(data.get("name"), f"{path}.name") if "name" in data else None
            description = self.text(data.get("description"), f"{path}.description") if "description" in data else None
            band = self.band(data.get("band"), f"{path}.band", i, len(entries), previous_upper) if "band" in data \
                else None
            previous_upper = band[1] if band else None
            if name and description and band:
                levels.append(Level(i, name, description, band[0], band[1]))
        return levels

    def band(self, node: Any, path: str, index: int, count: int, previous_upper: float | None):
        if not (isinstance(node, list) and len(node) == 2 and all(_is_number(v) for v in node)):
            self.add(path, f"must be [lower, upper], two numbers from 0 to 100; got {_describe(node)}")
            return None
        lower, upper = node
        ok = True
        if not 0 <= lower < upper <= MAX_POINTS:
            self.add(path, f"needs 0 <= lower < upper <= 100, got [{lower}, {upper}]")
            ok = False
        if index == 0 and lower != 0:
            self.add(path, f"the first band must start at 0, not {lower}")
            ok = False
        if index > 0 and previous_upper is not None and lower != previous_upper:
            self.add(path, f"starts at {lower} but the previous band ends at {previous_upper}: bands must be "
                           "contiguous")
            ok = False
        if index == count - 1 and upper != MAX_POINTS:
            self.add(path, f"the last band must end at 100, not {upper}")
            ok = False
        return (lower, upper) if ok else None

    def scale(self, node: Any) -> list[LocalText]:
        entries = self.items(node, "scale", "labels")
        if entries and len(entries) != SCALE_MAX + 1:
            self.add("scale", f"needs {SCALE_MAX + 1} labels (for 0 to {SCALE_MAX}), found {len(entries)}")
        labels = [self.text(item, f"scale[{i}]") for i, item in enumerate(entries)]
        return [label for label in labels if label]

    def tracks(self, node: Any) -> list[Track]:
        tracks: list[Track] = []
        seen: dict[str, str] = {}
        kind_track: dict[str, str] = {}
        before = len(self.problems)
        for i, item in enumerate(self.items(node, "tracks", "tracks")):
            path = f"tracks[{i}]"
            data = self.fields(item, path, ("code", "name", "description", "organisation_kinds", "minutes"))
            if data is None:
                continue
            code = self.ident(data.get("code"), f"{path}.code") if "code" in data else None
            if code in seen:
                self.add(f"{path}.code", f"duplicate track code {code!r} (first at {seen[code]})")
                code = None
            elif code:
                seen[code] = path
                self.track_codes.append(code)
            name = self.text(data.get("name"), f"{path}.name") if "name" in data else None
            description = self.text(data.get("description"), f"{path}.description") if "description" in data else None
            minutes = self.whole(data.get("minutes"), f"{path}.minutes", 1, 120, "minutes") if "minutes" in data \
                else None
            kinds = []
            for k, kind in enumerate(self.items(data.get("organisation_kinds"), f"{path}.organisation_kinds",
                                                "organisation kinds") if "organisation_kinds" in data else []):
                kind_path = f"{path}.organisation_kinds[{k}]"
                if kind not in ORGANISATION_KINDS:
                    self.add(kind_path, f"unknown organisation kind {_describe(kind)} (known: "
                                        f"{', '.join(ORGANISATION_KINDS)})")
                elif kind in kind_track:
                    self.add(kind_path, f"{kind!r} is already in track {kind_track[kind]!r}")
                else:
                    kind_track[kind] = code or path
                    kinds.append(kind)
            if code and name and description and minutes and kinds:
                tracks.append(Track(code, name, description, tuple(kinds), minutes))
        if len(self.problems) == before:
            for kind in ORGANISATION_KINDS:
                if kind not in kind_track:
                    self.add("tracks", f"organisation kind {kind!r} is in no track")
        return tracks

    def questions(self, node: Any) -> list[Question]:
        questions: list[Question] = []
        seen: dict[str, str] = {}
        for i, item in enumerate(self.items(node, "questions", "questions")):
            question = self.question(item, f"questions[{i}]", self.pillar_codes, self.track_codes, seen)
            if question:
                questions.append(question)
        return questions

    def question(self, node: Any, path: str, pillar_codes: list[str], track_codes: list[str],
                 seen: dict[str, str]) -> Question | None:
        data = self.fields(node, path, ("id", "pillar", "type", "tracks", "text", "help"), ("weight", "options"))
        if data is None:
            return None
        before = len(self.problems)
        qid = self.ident(data.get("id"), f"{path}.id") if "id" in data else None
        if qid in seen:
            self.add(f"{path}.id", f"duplicate question id {qid!r} (first at {seen[qid]})")
        elif qid:
            seen[qid] = path
        pillar = data.get("pillar")
        if "pillar" in data and pillar not in pillar_codes:
            self.add(f"{path}.pillar", f"unknown pillar {_describe(pillar)} (known: {', '.join(pillar_codes)})")
        qtype = data.get("type")
        if "type" in data and qtype not in QUESTION_TYPES:
            self.add(f"{path}.type", f"unknown type {_describe(qtype)} (known: {', '.join(QUESTION_TYPES)})")
        tracks = []
        for t, track in enumerate(self.items(data.get("tracks"), f"{path}.tracks", "track codes")
                                  if "tracks" in data else []):
            if track not in track_codes:
                self.add(f"{path}.tracks[{t}]", f"unknown track {_describe(track)} (known: {', '.join(track_codes)})")
            elif track in tracks:
                self.add(f"{path}.tracks[{t}]", f"track {track!r} is listed twice")
            else:
                tracks.append(track)
        text = self.text(data.get("text"), f"{path}.text") if "text" in data else None
        help_text = self.text(data.get("help"), f"{path}.help") if "help" in data else None
        weight = self.whole(data.get("weight", 1), f"{path}.weight", 1, MAX_WEIGHT, "weight")
        options = self.options(data, path, qtype)
        if len(self.problems) != before or qtype not in QUESTION_TYPES:
            return None
        return Question(qid, pillar, qtype, tuple(tracks), text, help_text, tuple(options), weight)

    def options(self, data: dict, path: str, qtype: Any) -> list[Option]:
        if qtype == "scale":
            if "options" in data:
                self.add(f"{path}.options", "a scale question takes its labels from the top-level 'scale': "
                                            "remove options")
            return []
        if qtype not in QUESTION_TYPES:
            return []
        if "options" not in data:
            self.add(path, "missing options")
            return []
        before = len(self.problems)
        options: list[Option] = []
        seen: dict[str, str] = {}
        for j, item in enumerate(self.items(data["options"], f"{path}.options", "options", minimum=2)):
            opath = f"{path}.options[{j}]"
            odata = self.fields(item, opath, ("id", "text", "score"), ("exclusive",))
            if odata is None:
                continue
            oid = self.ident(odata.get("id"), f"{opath}.id") if "id" in odata else None
            if oid in seen:
                self.add(f"{opath}.id", f"duplicate option id {oid!r} in this question (first at {seen[oid]})")
            elif oid:
                seen[oid] = f"options[{j}]"
            text = self.text(odata.get("text"), f"{opath}.text") if "text" in odata else None
            score = self.whole(odata.get("score"), f"{opath}.score", 0, MAX_POINTS, "score") if "score" in odata \
                else None
            exclusive = odata.get("exclusive", False)
            if not isinstance(exclusive, bool):
                self.add(f"{opath}.exclusive", f"must be true or false, got {_describe(exclusive)}")
            elif exclusive and qtype != "multiple":
                self.add(f"{opath}.exclusive", "only a multiple-choice option can be exclusive")
            elif qtype == "multiple" and score is not None:
                if exclusive and score != 0:
                    self.add(f"{opath}.score", f"an exclusive ('none of these') option must score 0, not {score}")
                elif not exclusive and score == 0:
                    self.add(f"{opath}.score", "a box that is not exclusive must score more than 0")
            if oid and text and score is not None:
                options.append(Option(oid, text, score, exclusive is True))
        if len(self.problems) == before:
            self.score_range(options, f"{path}.options", qtype)
        return options

    def score_range(self, options: list[Option], path: str, qtype: str) -> None:
        """All-best answers must reach 100 and all-worst answers 0."""
        if qtype == "single":
            scores = [o.score for o in options]
            if max(scores) != MAX_POINTS:
                self.add(path, f"the best option must score 100 (the highest here is {max(scores)})")
            if min(scores) != 0:
                self.add(path, f"the worst option must score 0 (the lowest here is {min(scores)})")
            return
        exclusive = [o for o in options if o.exclusive]
        if len(exclusive) != 1:
            self.add(path, f"needs exactly one exclusive 'none of these' option scoring 0, found {len(exclusive)}")
        total = sum(o.score for o in options if not o.exclusive)
        if total < MAX_POINTS:
            self.add(path, f"ticking every box must reach 100, but the boxes add up to {total}")

    def coverage(self, tracks: list[Track], pillars: list[Pillar], questions: list[Question]) -> None:
        """Every pillar needs a question in every track, or its score would be undefined."""
        if self.problems:
            return
        for i, track in enumerate(tracks):
            for pillar in pillars:
                if not any(q.pillar == pillar.code and track.code in q.tracks for q in questions):
                    self.add(f"tracks[{i}]", f"pillar {pillar.code!r} has no question in track {track.code!r}")


def load_file(path: str | Path) -> Framework:
    """Read and validate one framework file; FrameworkError lists every problem found."""
    path = Path(path)
    parser = _Parser(path.name)
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_StrictLoader)  # noqa: S506 (a SafeLoader)  # nosec B506
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise FrameworkError([(path.name, where, f"invalid YAML: {problem}")]) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise FrameworkError([(path.name, "", f"cannot be read: {exc}")]) from exc
    framework = parser.framework(data, path.name)
    if framework is None:
        raise FrameworkError(parser.problems)
    return framework


@functools.cache
def _registry(directory: Path) -> Mapping[tuple[str, int], Framework]:
    """Every framework file in ``directory``, validated; loaded once per process."""
    if not directory.is_dir():
        raise FrameworkError([(str(directory), "", "framework directory not found")])
    found: dict[tuple[str, int], Framework] = {}
    problems: list[tuple[str, str, str]] = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            framework = load_file(path)
        except FrameworkError as exc:
            problems.extend(exc.problems)
            continue
        found[(framework.id, framework.version)] = framework
    if problems:
        raise FrameworkError(problems)
    return MappingProxyType(found)


def _directory(directory: str | Path | None) -> Path:
    return Path(directory).resolve() if directory is not None else FRAMEWORKS_DIR


def clear_cache() -> None:
    """Forget loaded frameworks (tests that write framework files use this)."""
    _registry.cache_clear()


def parse_ref(ref: str) -> tuple[str, int]:
    """("dx-sme", 1) from "dx-sme@1"; ValueError when malformed."""
    match = _REF.fullmatch(ref) if isinstance(ref, str) else None
    if not match:
        raise ValueError(f"a framework reference looks like 'dx-sme@1', got {ref!r}")
    return match["id"], int(match["version"])


def all_frameworks(directory: str | Path | None = None) -> tuple[Framework, ...]:
    """Every loaded framework version, ordered by id then version."""
    registry = _registry(_directory(directory))
    return tuple(registry[key] for key in sorted(registry))


def get_framework(ref: str, directory: str | Path | None = None) -> Framework:
    """The framework version named "id@version", published or not (old assessments need old versions)."""
    key = parse_ref(ref)
    try:
        return _registry(_directory(directory))[key]
    except KeyError:
        raise UnknownFrameworkError(f"no framework {ref!r}") from None


def versions(framework_id: str, directory: str | Path | None = None) -> tuple[int, ...]:
    """The versions on file for ``framework_id``, ascending."""
    return tuple(sorted(v for fid, v in _registry(_directory(directory)) if fid == framework_id))


def current_framework(
    framework_id: str = DEFAULT_FRAMEWORK_ID, *, today: dt.date | None = None, directory: str | Path | None = None
) -> Framework:
    """The highest version of ``framework_id`` published on or before ``today`` (province time)."""
    today = today or dt.datetime.now(PROVINCE_TZ).date()
    registry = _registry(_directory(directory))
    published = [fw for (fid, _), fw in registry.items() if fid == framework_id and fw.published <= today]
    if not published:
        raise UnknownFrameworkError(f"no published version of framework {framework_id!r}")
    return max(published, key=lambda fw: fw.version)
