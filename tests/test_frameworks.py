"""The assessment framework as data: the shipped file's content, validation errors, versioning, caching."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
import unicodedata
from pathlib import Path

import pytest
import yaml

from app.models.organisation import OrganisationKind
from app.services import frameworks
from app.services.frameworks import FrameworkError, UnknownFrameworkError

PILLARS_VI = {
    "customer": "Trải nghiệm số cho khách hàng",
    "strategy": "Chiến lược",
    "infrastructure": "Hạ tầng và công nghệ số",
    "operations": "Vận hành",
    "culture": "Chuyển đổi văn hoá doanh nghiệp",
    "data": "Dữ liệu và tài sản thông tin",
}
LEVELS_VI = ["Chưa chuyển đổi số", "Khởi động", "Bắt đầu", "Hình thành", "Nâng cao", "Dẫn dắt"]


def _text(vi: str, en: str) -> dict[str, str]:
    return {"vi": vi, "en": en}


def minimal_framework_data(version: int = 1, published: dt.date = dt.date(2026, 1, 1)) -> dict:
    """A small valid framework ("mini"): pillars customer and data, tracks full and short.

    questions[0] q_pay (single, customer, both tracks), [1] q_sell (multiple, customer, full),
    [2] q_backup (scale, data, both tracks, weight 2), [3] q_records (single, data, full).
    """
    levels = []
    edges = [0, 10, 30, 50, 70, 90, 100]
    for number, name in enumerate(LEVELS_VI):
        levels.append({
            "level": number,
            "name": _text(name, f"Level {number}"),
            "description": _text(f"Mô tả mức {number}", f"Level {number} description"),
            "band": [edges[number], edges[number + 1]],
        })
    return {
        "id": "mini",
        "version": version,
        "published": published,
        "title": _text("Bộ câu hỏi thử", "Test framework"),
        "source": _text("Quyết định 1970/QĐ-BTTTT", "Decision 1970/QĐ-BTTTT"),
        "pillars": [
            {"code": "customer", "name": _text("Khách hàng", "Customers"), "description": _text("Khách", "Customers")},
            {"code": "data", "name": _text("Dữ liệu", "Data"), "description": _text("Dữ liệu", "Data")},
        ],
        "levels": levels,
        "scale": [_text(f"Mức {i}", f"Step {i}") for i in range(6)],
        "tracks": [
            {"code": "full", "name": _text("Đầy đủ", "Full"), "description": _text("Đầy đủ", "Full"),
             "organisation_kinds": ["enterprise", "cooperative"], "minutes": 15},
            {"code": "short", "name": _text("Rút gọn", "Short"), "description": _text("Rút gọn", "Short"),
             "organisation_kinds": ["household_business"], "minutes": 5},
        ],
        "questions": [
            {"id": "q_pay", "pillar": "customer", "type": "single", "tracks": ["full", "short"],
             "text": _text("Khách trả tiền bằng mã QR không?", "Do customers pay by QR code?"),
             "help": _text("Ví dụ: mã VietQR ở quầy.", "For example, a VietQR code at the counter."),
             "options": [
                 {"id": "cash", "score": 0, "text": _text("Tiền mặt", "Cash")},
                 {"id": "some", "score": 33, "text": _text("Một ít", "Some")},
                 {"id": "most", "score": 100, "text": _text("Phần lớn", "Most")},
             ]},
            {"id": "q_sell", "pillar": "customer", "type": "multiple", "tracks": ["full"],
             "text": _text("Bán ở đâu?", "Where do you sell?"),
             "help": _text("Ví dụ: Shopee.", "For example, Shopee."),
             "options": [
                 {"id": "shopee", "score": 60, "text": _text("Shopee", "Shopee")},
                 {"id": "zalo", "score": 60, "text": _text("Zalo", "Zalo")},
                 {"id": "none", "score": 0, "exclusive": True, "text": _text("Không", "None")},
             ]},
            {"id": "q_backup", "pillar": "data", "type": "scale", "tracks": ["full", "short"], "weight": 2,
             "text": _text("Sao lưu dữ liệu?", "Do you back up data?"),
             "help": _text("Ví dụ: Google Drive.", "For example, Google Drive.")},
            {"id": "q_records", "pillar": "data", "type": "single", "tracks": ["full"],
             "text": _text("Lưu sổ sách ở đâu?", "Where are your books?"),
             "help": _text("Ví dụ: MISA.", "For example, MISA."),
             "options": [
                 {"id": "paper", "score": 0, "text": _text("Giấy", "Paper")},
                 {"id": "software", "score": 100, "text": _text("Phần mềm", "Software")},
             ]},
        ],
    }


def write_framework(directory: Path, data: dict, name: str | None = None) -> Path:
    """Write ``data`` as YAML under its canonical file name (or ``name``)."""
    path = directory / (name or f"{data['id']}@{data['version']}.yaml")
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture()
def shipped():
    return frameworks.current_framework(frameworks.DEFAULT_FRAMEWORK_ID)


# --- the shipped framework ---------------------------------------------------------------------------------


def test_shipped_frameworks_validate():
    loaded = frameworks.all_frameworks()
    assert "dx-sme@1" in [fw.ref for fw in loaded]
    for path in sorted(frameworks.FRAMEWORKS_DIR.glob("*.yaml")):
        frameworks.load_file(path)


def test_shipped_pillars_and_levels_follow_decision_1970(shipped):
    assert [(p.code, p.name["vi"]) for p in shipped.pillars] == list(PILLARS_VI.items())
    assert all(p.name["en"] and p.description["en"] for p in shipped.pillars)
    assert [lv.name["vi"] for lv in shipped.levels] == LEVELS_VI
    assert [(lv.lower, lv.upper) for lv in shipped.levels] == [(0, 10), (10, 30), (30, 50), (50, 70), (70, 90),
                                                               (90, 100)]
    assert len(shipped.scale) == 6
    assert "1970/QĐ-BTTTT" in shipped.source["vi"]


def test_shipped_track_sizes(shipped):
    full = shipped.questions_for("full")
    short = shipped.questions_for("short")
    assert 30 <= len(full) <= 40
    assert 10 <= len(short) <= 12
    for pillar in shipped.pillars:
        assert 5 <= len(shipped.pillar_questions("full", pillar.code)) <= 7
        assert len(shipped.pillar_questions("short", pillar.code)) >= 1
    assert {q.type for q in full} == {"single", "multiple", "scale"}
    for track in shipped.tracks:
        count = len(shipped.questions_for(track.code))
        assert track.description["vi"].startswith(f"{count} câu hỏi"), track.code
        assert track.description["en"].startswith(f"{count} "), track.code


def test_tracks_cover_every_organisation_kind(shipped):
    assert set(frameworks.ORGANISATION_KINDS) == {kind.value for kind in OrganisationKind}
    assert shipped.track_for_kind("enterprise").code == "full"
    assert shipped.track_for_kind("cooperative").code == "full"
    assert shipped.track_for_kind(OrganisationKind.HOUSEHOLD_BUSINESS).code == "short"
    with pytest.raises(ValueError, match="no track"):
        shipped.track_for_kind("ngo")


def test_every_question_has_both_languages_and_an_example(shipped):
    for question in shipped.questions:
        for text in (question.text, question.help, *(o.text for o in question.options)):
            assert text["vi"].strip() and text["en"].strip(), question.id
        assert "Ví dụ" in question.help["vi"], question.id
        assert "example" in question.help["en"].lower(), question.id


def test_short_track_speaks_plainly_to_a_stall_owner(shipped):
    texts = {q.text["vi"] for q in shipped.questions_for("short")}
    assert "Bạn có xuất hoá đơn điện tử không?" in texts
    assert "Khách hàng có trả tiền cho bạn bằng mã QR không?" in texts
    assert all("bạn" in text.lower() for text in texts)


def _strings(node):
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


def test_shipped_files_are_nfc_normalised():
    for path in sorted(frameworks.FRAMEWORKS_DIR.glob("*.yaml")):
        raw = path.read_text(encoding="utf-8")
        assert unicodedata.is_normalized("NFC", raw), path.name
        for value in _strings(yaml.safe_load(raw)):
            assert unicodedata.is_normalized("NFC", value), value


def test_to_dict_is_json_ready_and_limited_to_the_track(shipped):
    data = shipped.to_dict("short")
    json.dumps(data)
    assert (data["id"], data["version"], data["track"]["code"]) == ("dx-sme", 1, "short")
    assert [p["code"] for p in data["pillars"]] == list(PILLARS_VI)
    assert data["levels"][5] == {
        "level": 5, "name": dict(shipped.levels[5].name), "description": dict(shipped.levels[5].description),
        "band": [90, 100],
    }
    assert [q["id"] for q in data["questions"]] == [q.id for q in shipped.questions_for("short")]
    qr = next(q for q in data["questions"] if q["id"] == "hh_qr_payment")
    assert qr["text"]["vi"] == "Khách hàng có trả tiền cho bạn bằng mã QR không?"
    assert [(o["id"], o["score"]) for o in qr["options"]] == [("cash_only", 0), ("few", 40), ("half", 70),
                                                              ("most", 100)]
    scale_question = next(q for q in shipped.to_dict("full")["questions"] if q["type"] == "scale")
    assert "options" not in scale_question and (scale_question["min"], scale_question["max"]) == (0, 5)
    with pytest.raises(ValueError, match="unknown track 'tiny'"):
        shipped.to_dict("tiny")


def test_lookup_helpers(shipped):
    assert shipped.question("hh_einvoice").pillar == "operations"
    assert shipped.option("hh_qr_payment", "most").score == 100
    with pytest.raises(KeyError):
        shipped.option("hh_qr_payment", "bitcoin")
    assert shipped.question("hh_qr_payment").option("bitcoin") is None
    assert shipped.pillar("data").name["en"] == "Data and information assets"
    assert shipped.level(3).name.pick("en") == "Taking shape"


def test_localise_picks_language_and_falls_back_to_vietnamese(shipped):
    name = shipped.pillar("strategy").name
    assert frameworks.localise(name, "en") == "Strategy"
    assert frameworks.localise(name, "en_GB") == "Strategy"
    assert frameworks.localise(name, "fr") == "Chiến lược"
    assert frameworks.localise(name) == "Chiến lược"
    assert frameworks.localise({"vi": "Xin chào", "en": "Hello"}, "en-US") == "Hello"
    assert dict(name) == {"vi": "Chiến lược", "en": "Strategy"}
    assert name == {"vi": "Chiến lược", "en": "Strategy"}
    assert name != {"vi": "Chiến lược"}


def test_frameworks_are_immutable_and_cached(shipped):
    with pytest.raises(dataclasses.FrozenInstanceError):
        shipped.version = 2
    with pytest.raises(TypeError):
        shipped.question("hh_qr_payment")._options["x"] = None
    assert frameworks.current_framework() is shipped
    frameworks.clear_cache()
    reloaded = frameworks.current_framework()
    assert reloaded is not shipped
    assert reloaded == shipped


# --- versioning --------------------------------------------------------------------------------------------


def test_current_is_the_latest_published_and_old_versions_stay_loadable(tmp_path):
    write_framework(tmp_path, minimal_framework_data(1, dt.date(2025, 1, 1)))
    v2 = minimal_framework_data(2, dt.date(2026, 1, 1))
    v2["questions"][0]["text"]["vi"] = "Khách trả tiền bằng mã QR hoặc chuyển khoản không?"
    write_framework(tmp_path, v2)
    write_framework(tmp_path, minimal_framework_data(3, dt.date(2099, 1, 1)))

    current = frameworks.current_framework("mini", directory=tmp_path, today=dt.date(2026, 6, 1))
    assert current.ref == "mini@2"
    assert current.question("q_pay").text["vi"].endswith("hoặc chuyển khoản không?")
    old = frameworks.get_framework("mini@1", directory=tmp_path)
    assert old.version == 1 and old.question("q_pay").text["vi"] == "Khách trả tiền bằng mã QR không?"
    assert frameworks.get_framework("mini@3", directory=tmp_path).published == dt.date(2099, 1, 1)
    assert frameworks.versions("mini", directory=tmp_path) == (1, 2, 3)
    assert frameworks.current_framework("mini", directory=tmp_path, today=dt.date(2099, 1, 1)).version == 3
    with pytest.raises(UnknownFrameworkError):
        frameworks.current_framework("mini", directory=tmp_path, today=dt.date(2024, 12, 31))
    with pytest.raises(UnknownFrameworkError):
        frameworks.get_framework("mini@4", directory=tmp_path)
    with pytest.raises(ValueError, match="looks like 'dx-sme@1'"):
        frameworks.get_framework("mini", directory=tmp_path)


def test_parse_ref():
    assert frameworks.parse_ref("dx-sme@12") == ("dx-sme", 12)
    for bad in ("dx-sme", "dx-sme@0", "DX@1", "dx-sme@1.0", None):
        with pytest.raises(ValueError):
            frameworks.parse_ref(bad)


def test_a_bad_file_stops_the_directory_loading_with_its_name(tmp_path):
    write_framework(tmp_path, minimal_framework_data(1))
    broken = minimal_framework_data(2)
    broken["questions"][0]["pillar"] = "custmer"
    write_framework(tmp_path, broken)
    with pytest.raises(FrameworkError, match=r"mini@2\.yaml: questions\[0\]\.pillar: unknown pillar"):
        frameworks.all_frameworks(tmp_path)
    with pytest.raises(FrameworkError, match="directory not found"):
        frameworks.all_frameworks(tmp_path / "missing")


# --- precise validation errors -----------------------------------------------------------------------------


def _set(path, value):
    def mutate(data):
        *parents, last = path
        node = data
        for key in parents:
            node = node[key]
        node[last] = value
    return mutate


def _delete(path):
    def mutate(data):
        *parents, last = path
        node = data
        for key in parents:
            node = node[key]
        del node[last]
    return mutate


def _append_copy(path):
    def mutate(data):
        node = data
        for key in path:
            node = node[key]
        node.append(copy.deepcopy(node[0]))
    return mutate


BROKEN = {
    "unknown pillar": (
        _set(["questions", 1, "pillar"], "custmer"),
        "mini@1.yaml: questions[1].pillar: unknown pillar 'custmer' (known: customer, data)",
    ),
    "option without score": (
        _delete(["questions", 0, "options", 2, "score"]),
        "mini@1.yaml: questions[0].options[2]: missing score",
    ),
    "duplicate question id": (
        _set(["questions", 3, "id"], "q_pay"),
        "mini@1.yaml: questions[3].id: duplicate question id 'q_pay' (first at questions[0])",
    ),
    "duplicate option id": (
        _set(["questions", 1, "options", 1, "id"], "shopee"),
        "mini@1.yaml: questions[1].options[1].id: duplicate option id 'shopee' in this question",
    ),
    "missing en text": (
        _delete(["questions", 2, "text", "en"]),
        "mini@1.yaml: questions[2].text: missing en",
    ),
    "empty vi help": (
        _set(["questions", 2, "help", "vi"], "  "),
        "mini@1.yaml: questions[2].help.vi: must be non-empty text",
    ),
    "gap between bands": (
        _set(["levels", 1, "band"], [15, 30]),
        "mini@1.yaml: levels[1].band: starts at 15 but the previous band ends at 10: bands must be contiguous",
    ),
    "last band short of 100": (
        _set(["levels", 5, "band"], [90, 99]),
        "mini@1.yaml: levels[5].band: the last band must end at 100, not 99",
    ),
    "first band not at 0": (
        _set(["levels", 0, "band"], [1, 10]),
        "mini@1.yaml: levels[0].band: the first band must start at 0, not 1",
    ),
    "band upside down": (
        _set(["levels", 2, "band"], [50, 30]),
        "mini@1.yaml: levels[2].band: needs 0 <= lower < upper <= 100, got [50, 30]",
    ),
    "levels out of order": (
        _set(["levels", 2, "level"], 3),
        "mini@1.yaml: levels[2].level: levels must be numbered 0, 1, 2... in order: expected 2, got 3",
    ),
    "unknown track": (
        _set(["questions", 0, "tracks"], ["full", "tiny"]),
        "mini@1.yaml: questions[0].tracks[1]: unknown track 'tiny' (known: full, short)",
    ),
    "score above 100": (
        _set(["questions", 0, "options", 2, "score"], 120),
        "mini@1.yaml: questions[0].options[2].score: score must be a whole number from 0 to 100, got 120",
    ),
    "fractional score": (
        _set(["questions", 0, "options", 1, "score"], 0.5),
        "mini@1.yaml: questions[0].options[1].score: score must be a whole number from 0 to 100, got 0.5",
    ),
    "single without a best option": (
        _set(["questions", 0, "options", 2, "score"], 90),
        "mini@1.yaml: questions[0].options: the best option must score 100 (the highest here is 90)",
    ),
    "single without a worst option": (
        _set(["questions", 3, "options", 0, "score"], 10),
        "mini@1.yaml: questions[3].options: the worst option must score 0 (the lowest here is 10)",
    ),
    "boxes cannot reach 100": (
        _set(["questions", 1, "options", 1, "score"], 30),
        "mini@1.yaml: questions[1].options: ticking every box must reach 100, but the boxes add up to 90",
    ),
    "multiple without none option": (
        _delete(["questions", 1, "options", 2]),
        "mini@1.yaml: questions[1].options: needs exactly one exclusive 'none of these' option scoring 0, found 0",
    ),
    "exclusive option with a score": (
        _set(["questions", 1, "options", 2, "score"], 10),
        "mini@1.yaml: questions[1].options[2].score: an exclusive ('none of these') option must score 0, not 10",
    ),
    "exclusive in a single question": (
        _set(["questions", 0, "options", 0, "exclusive"], True),
        "mini@1.yaml: questions[0].options[0].exclusive: only a multiple-choice option can be exclusive",
    ),
    "scale with options": (
        _set(["questions", 2, "options"], [{"id": "a", "score": 0, "text": _text("A", "A")}]),
        "mini@1.yaml: questions[2].options: a scale question takes its labels from the top-level 'scale'",
    ),
    "choice question without options": (
        _delete(["questions", 3, "options"]),
        "mini@1.yaml: questions[3]: missing options",
    ),
    "unknown type": (
        _set(["questions", 3, "type"], "ranking"),
        "mini@1.yaml: questions[3].type: unknown type 'ranking' (known: single, multiple, scale)",
    ),
    "zero weight": (
        _set(["questions", 3, "weight"], 0),
        "mini@1.yaml: questions[3].weight: weight must be a whole number from 1 to 10, got 0",
    ),
    "misspelt key": (
        _set(["questions", 0, "options", 0, "scroe"], 0),
        "mini@1.yaml: questions[0].options[0]: unknown key 'scroe' (allowed: id, text, score, exclusive)",
    ),
    "yaml boolean as an id": (
        _set(["questions", 0, "options", 0, "id"], False),
        "mini@1.yaml: questions[0].options[0].id: must be an identifier of lower-case letters, digits and '_', "
        "starting with a letter; got False (YAML reads yes/no/on/off as true/false: quote it)",
    ),
    "pillar without a question in a track": (
        _set(["questions", 2, "tracks"], ["full"]),
        "mini@1.yaml: tracks[1]: pillar 'data' has no question in track 'short'",
    ),
    "organisation kind in two tracks": (
        _set(["tracks", 1, "organisation_kinds"], ["cooperative"]),
        "mini@1.yaml: tracks[1].organisation_kinds[0]: 'cooperative' is already in track 'full'",
    ),
    "organisation kind in no track": (
        _set(["tracks", 0, "organisation_kinds"], ["enterprise"]),
        "mini@1.yaml: tracks: organisation kind 'cooperative' is in no track",
    ),
    "unknown organisation kind": (
        _set(["tracks", 0, "organisation_kinds"], ["enterprise", "cooperative", "ngo"]),
        "mini@1.yaml: tracks[0].organisation_kinds[2]: unknown organisation kind 'ngo'",
    ),
    "too few scale labels": (
        _delete(["scale", 5]),
        "mini@1.yaml: scale: needs 6 labels (for 0 to 5), found 5",
    ),
    "duplicate pillar": (
        _append_copy(["pillars"]),
        "mini@1.yaml: pillars[2].code: duplicate pillar code 'customer' (first at pillars[0])",
    ),
    "bad date": (
        _set(["published"], "1 Jan 2026"),
        "mini@1.yaml: published: must be a date like 2026-01-31, got '1 Jan 2026'",
    ),
    "missing version": (
        _delete(["version"]),
        "mini@1.yaml: missing version",
    ),
}


@pytest.mark.parametrize("case", list(BROKEN), ids=list(BROKEN))
def test_broken_fixture_gives_a_precise_error(tmp_path, case):
    mutate, expected = BROKEN[case]
    data = minimal_framework_data()
    mutate(data)
    path = write_framework(tmp_path, data, name="mini@1.yaml")
    with pytest.raises(FrameworkError) as excinfo:
        frameworks.load_file(path)
    assert any(line.startswith(expected) for line in str(excinfo.value).splitlines()), str(excinfo.value)


def test_minimal_fixture_is_valid(tmp_path):
    framework = frameworks.load_file(write_framework(tmp_path, minimal_framework_data()))
    assert framework.ref == "mini@1"
    assert [q.id for q in framework.questions_for("short")] == ["q_pay", "q_backup"]
    assert framework.question("q_backup").weight == 2


def test_every_problem_in_a_file_is_reported_at_once(tmp_path):
    data = minimal_framework_data()
    data["questions"][1]["pillar"] = "custmer"
    del data["questions"][0]["options"][1]["score"]
    del data["levels"][3]["name"]["en"]
    path = write_framework(tmp_path, data)
    with pytest.raises(FrameworkError) as excinfo:
        frameworks.load_file(path)
    assert [(p[1], p[2]) for p in excinfo.value.problems] == [
        ("levels[3].name", "missing en"),
        ("questions[0].options[1]", "missing score"),
        ("questions[1].pillar", "unknown pillar 'custmer' (known: customer, data)"),
    ]


def test_file_name_must_match_id_and_version(tmp_path):
    path = write_framework(tmp_path, minimal_framework_data(2), name="mini@1.yaml")
    with pytest.raises(FrameworkError, match=r"mini@1\.yaml: file name must be 'mini@2\.yaml'"):
        frameworks.load_file(path)


def test_text_must_be_nfc(tmp_path):
    data = minimal_framework_data()
    data["questions"][0]["text"]["vi"] = unicodedata.normalize("NFD", "Khách trả tiền bằng mã QR không?")
    with pytest.raises(FrameworkError, match=r"questions\[0\]\.text\.vi: is not NFC-normalised"):
        frameworks.load_file(write_framework(tmp_path, data))


def test_a_key_written_twice_is_refused_with_its_line(tmp_path):
    path = write_framework(tmp_path, minimal_framework_data())
    text = path.read_text(encoding="utf-8").replace("version: 1\n", "version: 1\nversion: 2\n", 1)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(FrameworkError, match=r"mini@1\.yaml: line 3, column 1: invalid YAML: duplicate key 'version'"):
        frameworks.load_file(path)


def test_invalid_yaml_names_the_line(tmp_path):
    path = tmp_path / "mini@1.yaml"
    path.write_text("id: mini\nversion: 1\nquestions: [unclosed\n", encoding="utf-8")
    with pytest.raises(FrameworkError, match=r"mini@1\.yaml: line 4, column 1: invalid YAML"):
        frameworks.load_file(path)
