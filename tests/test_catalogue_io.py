"""The catalogue exchange format: validation with JSON paths, all-or-nothing import, idempotency, export
and the round trip, and the shipped demo catalogue."""

from __future__ import annotations

import json
import unicodedata
from datetime import date
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import PARTNER_CATEGORIES, Partner, PartnerStatus, Programme, ProgrammeKind
from app.models.types import utcnow
from app.services import catalogue_io, demo, geo
from app.services.organisations import check_tax_code
from tests.catalogue_io_helpers import catalogue_state, encoded, english, events, minimal, problems_of

ALL_KINDS = "must be one of: subsidy, voucher, consulting, training, platform, loan"
BAD_CODE = "is not a valid code: use 2 to 40 capital letters A-Z, digits and dashes, starting with a letter or digit"


def programme(document):
    return document["programmes"][0]


def partner(document):
    return document["partners"][0]


def setter(item, key, value):
    def mutate(document):
        target = item(document)
        for part in key.split(".")[:-1]:
            target = target[part]
        target[key.split(".")[-1]] = value
    return mutate


def deleter(item, key):
    def mutate(document):
        target = item(document)
        for part in key.split(".")[:-1]:
            target = target[part]
        del target[key.split(".")[-1]]
    return mutate


def root(document):
    return document


def duplicate_first(section):
    def mutate(document):
        document[section].append(json.loads(json.dumps(document[section][0])))
    return mutate


def duplicate_document(document):
    programme(document)["documents"].append({"code": "QUOTE", "name": {"vi": "Báo giá 2", "en": "Quote 2"},
                                             "required": True})


BROKEN = [
    # The document
    ("schema-wrong", setter(root, "schema", "dxportal.catalogue/2"), 'schema: must be "dxportal.catalogue/1"'),
    ("schema-missing", deleter(root, "schema"), "schema: required"),
    ("root-unknown-key", setter(root, "programme", []), "unknown key 'programme'"),
    ("programmes-not-list", setter(root, "programmes", {}), "programmes: must be a list"),
    ("partners-not-list", setter(root, "partners", "none"), "partners: must be a list"),
    ("programme-not-object", setter(root, "programmes", ["ND80"]), "programmes[0]: must be an object"),
    # Programme keys and texts
    ("unknown-key", setter(programme, "budgett", 1), "programmes[0]: unknown key 'budgett'"),
    ("missing-key", deleter(programme, "budget_vnd"), "programmes[0].budget_vnd: required"),
    ("missing-documents", deleter(programme, "documents"), "programmes[0].documents: required"),
    ("text-missing-en", deleter(programme, "name.en"), "programmes[0].name.en: required"),
    ("text-blank", setter(programme, "sponsor.vi", "   "), "programmes[0].sponsor.vi: must not be empty"),
    ("text-not-string", setter(programme, "summary.en", 5), "programmes[0].summary.en: must be a string"),
    ("text-null", setter(programme, "summary.vi", None), "programmes[0].summary.vi: must be a string"),
    ("text-nul", setter(programme, "summary.vi", "Hỗ trợ\x00"),
     "programmes[0].summary.vi: must not contain control characters"),
    ("text-tab", setter(programme, "summary.vi", "Hỗ\ttrợ"),
     "programmes[0].summary.vi: must not contain control characters"),
    ("partner-name-newline", setter(partner, "name", "Công ty\nTNHH"),
     "partners[0].name: must not contain control characters"),
    ("text-plain-string", setter(programme, "name", "Hỗ trợ"), "programmes[0].name: must be an object"),
    ("text-extra-language", setter(programme, "name.fr", "Aide"), "programmes[0].name: unknown key 'fr'"),
    # Codes
    ("code-lower-case", setter(programme, "code", "nd80"), f"programmes[0].code: 'nd80' {BAD_CODE}"),
    ("code-leading-dash", setter(programme, "code", "-ND80"), f"programmes[0].code: '-ND80' {BAD_CODE}"),
    ("code-one-char", setter(programme, "code", "N"), f"programmes[0].code: 'N' {BAD_CODE}"),
    ("code-41-chars", setter(programme, "code", "A" * 41), f"programmes[0].code: '{'A' * 41}' {BAD_CODE}"),
    ("code-trailing-newline", setter(programme, "code", "ND80\n"), f"programmes[0].code: 'ND80\n' {BAD_CODE}"),
    ("code-number", setter(programme, "code", 80), "programmes[0].code: must be a string"),
    ("code-duplicate", duplicate_first("programmes"),
     "programmes[1].code: duplicate code 'ND80-SOLUTIONS' (also at programmes[0])"),
    # Kind and lists
    ("kind-unknown", setter(programme, "kind", "grant"), f"programmes[0].kind: {ALL_KINDS}"),
    ("kind-capitalised", setter(programme, "kind", "Subsidy"), f"programmes[0].kind: {ALL_KINDS}"),
    ("pillar-unknown", setter(programme, "pillars", ["data", "marketing"]),
     "programmes[0].pillars[1]: unknown pillar 'marketing'"),
    ("pillar-twice", setter(programme, "pillars", ["data", "data"]),
     "programmes[0].pillars[1]: duplicate 'data' (also at programmes[0].pillars[0])"),
    ("pillars-empty", setter(programme, "pillars", []), "programmes[0].pillars: must list at least one"),
    ("pillars-string", setter(programme, "pillars", "data"), "programmes[0].pillars: must be a list"),
    ("sector-unknown", setter(programme, "sectors", ["A", "V"]),
     "programmes[0].sectors[1]: unknown sector 'V' (VSIC sections are the capital letters A to U)"),
    ("sector-lower-case", setter(programme, "sectors", ["g"]),
     "programmes[0].sectors[0]: unknown sector 'g' (VSIC sections are the capital letters A to U)"),
    ("org-kinds-empty", setter(programme, "org_kinds", []), "programmes[0].org_kinds: must list at least one"),
    ("org-kind-unknown", setter(programme, "org_kinds", ["company"]),
     "programmes[0].org_kinds[0]: unknown organisation kind 'company'"),
    ("size-class-unknown", setter(programme, "size_classes", ["tiny"]),
     "programmes[0].size_classes[0]: unknown size class 'tiny'"),
    ("commune-unknown", setter(programme, "communes", ["21211", "99999"]),
     "programmes[0].communes[1]: '99999' is not a commune code of this province"),
    ("commune-number", setter(programme, "communes", [21211]), "programmes[0].communes[0]: must be a string"),
    # Levels, rate, money
    ("level-range-one", setter(programme, "level_range", [0]),
     "programmes[0].level_range: must be a list of two levels [minimum, maximum]"),
    ("level-range-six", setter(programme, "level_range", [0, 6]),
     "programmes[0].level_range[1]: must be a whole number from 0 to 5"),
    ("level-range-negative", setter(programme, "level_range", [-1, 2]),
     "programmes[0].level_range[0]: must be a whole number from 0 to 5"),
    ("level-range-bool", setter(programme, "level_range", [0, True]),
     "programmes[0].level_range[1]: must be a whole number from 0 to 5"),
    ("level-range-float", setter(programme, "level_range", [0, 2.0]),
     "programmes[0].level_range[1]: must be a whole number from 0 to 5"),
    ("level-range-reversed", setter(programme, "level_range", [3, 1]),
     "programmes[0].level_range: the minimum level is above the maximum"),
    ("rate-zero", setter(programme, "support_rate", 0),
     "programmes[0].support_rate: must be a number greater than 0 and at most 1"),
    ("rate-above-one", setter(programme, "support_rate", 1.01),
     "programmes[0].support_rate: must be a number greater than 0 and at most 1"),
    ("rate-bool", setter(programme, "support_rate", True),
     "programmes[0].support_rate: must be a number greater than 0 and at most 1"),
    ("rate-string", setter(programme, "support_rate", "0.5"),
     "programmes[0].support_rate: must be a number greater than 0 and at most 1"),
    ("cap-string", setter(programme, "caps_vnd.small", "50000000"),
     "programmes[0].caps_vnd.small: must be a positive integer"),
    ("cap-bool", setter(programme, "caps_vnd.small", True), "programmes[0].caps_vnd.small: must be a positive integer"),
    ("cap-float", setter(programme, "caps_vnd.small", 5e7), "programmes[0].caps_vnd.small: must be a positive integer"),
    ("cap-zero", setter(programme, "caps_vnd.micro", 0), "programmes[0].caps_vnd.micro: must be a positive integer"),
    ("cap-negative", setter(programme, "caps_vnd.medium", -1),
     "programmes[0].caps_vnd.medium: must be a positive integer"),
    ("cap-unknown-size", setter(programme, "caps_vnd.huge", 1), "programmes[0].caps_vnd: unknown key 'huge'"),
    ("cap-size-not-admitted", setter(programme, "caps_vnd.large", 1),
     "programmes[0].caps_vnd.large: 'large' is not one of the programme's size_classes"),
    ("caps-list", setter(programme, "caps_vnd", []), "programmes[0].caps_vnd: must be an object"),
    ("budget-zero", setter(programme, "budget_vnd", 0), "programmes[0].budget_vnd: must be a positive integer"),
    ("budget-bool", setter(programme, "budget_vnd", True), "programmes[0].budget_vnd: must be a positive integer"),
    ("budget-huge", setter(programme, "budget_vnd", 10**16),
     "programmes[0].budget_vnd: must be at most 1000000000000000"),
    # Dates
    ("date-short", setter(programme, "opens_on", "2026-1-1"),
     "programmes[0].opens_on: must be a date written YYYY-MM-DD"),
    ("date-impossible", setter(programme, "closes_on", "2026-02-30"),
     "programmes[0].closes_on: must be a date written YYYY-MM-DD"),
    ("date-basic-format", setter(programme, "opens_on", "20260101"),
     "programmes[0].opens_on: must be a date written YYYY-MM-DD"),
    ("date-with-time", setter(programme, "opens_on", "2026-01-01T00:00:00"),
     "programmes[0].opens_on: must be a date written YYYY-MM-DD"),
    ("window-reversed", setter(programme, "closes_on", "2025-12-31"),
     "programmes[0].closes_on: must not be before opens_on"),
    # Documents
    ("documents-object", setter(programme, "documents", {}), "programmes[0].documents: must be a list"),
    ("document-required-string", lambda d: programme(d)["documents"][0].update(required="yes"),
     "programmes[0].documents[0].required: must be true or false"),
    ("document-required-number", lambda d: programme(d)["documents"][1].update(required=0),
     "programmes[0].documents[1].required: must be true or false"),
    ("document-no-name", lambda d: programme(d)["documents"][1].pop("name"),
     "programmes[0].documents[1].name: required"),
    ("document-bad-code", lambda d: programme(d)["documents"][0].update(code="báo giá"),
     f"programmes[0].documents[0].code: 'báo giá' {BAD_CODE}"),
    ("document-duplicate-code", duplicate_document,
     "programmes[0].documents[2].code: duplicate code 'QUOTE' (also at programmes[0].documents[0])"),
    # Partners
    ("partner-unknown-key", setter(partner, "prices", "low"), "partners[0]: unknown key 'prices'"),
    ("partner-name-empty", setter(partner, "name", ""), "partners[0].name: must not be empty"),
    ("partner-name-text-object", setter(partner, "name", {"vi": "A", "en": "A"}), "partners[0].name: must be a string"),
    ("partner-name-too-long", setter(partner, "name", "A" * 201), "partners[0].name: must be at most 200 characters"),
    ("partner-tax-code-number", setter(partner, "tax_code", 4300123456), "partners[0].tax_code: must be a string"),
    ("partner-tax-code-length", setter(partner, "tax_code", "43001234"),
     "partners[0].tax_code: A tax code has 10 digits (13 with a branch number, e.g. 0100109106-001); you entered 8."),
    ("partner-website-ftp", setter(partner, "website", "ftp://files.example.vn"),
     "partners[0].website: must be a web address starting with http:// or https://"),
    ("partner-website-no-scheme", setter(partner, "website", "hoadon.example.vn"),
     "partners[0].website: must be a web address starting with http:// or https://"),
    ("partner-website-space", setter(partner, "website", "https://hoa don.example.vn"),
     "partners[0].website: must be a web address starting with http:// or https://"),
    ("partner-email", setter(partner, "email", "lienhe.example.vn"),
     "partners[0].email: must be a valid e-mail address"),
    ("partner-email-empty", setter(partner, "email", ""), "partners[0].email: must not be empty"),
    ("partner-phone-long", setter(partner, "phone", "0" * 31), "partners[0].phone: must be at most 30 characters"),
    ("partner-phone-number", setter(partner, "phone", 2553123456), "partners[0].phone: must be a string"),
    ("category-unknown", setter(partner, "categories", ["e_invoice", "crmx"]),
     "partners[0].categories[1]: unknown category 'crmx'"),
    ("categories-empty", setter(partner, "categories", []), "partners[0].categories: must list at least one"),
    ("category-twice", setter(partner, "categories", ["crm", "crm"]),
     "partners[0].categories[1]: duplicate 'crm' (also at partners[0].categories[0])"),
    ("partner-org-kinds-empty", setter(partner, "org_kinds", []), "partners[0].org_kinds: must list at least one"),
    ("partner-commune-unknown", setter(partner, "communes", ["01001"]),
     "partners[0].communes[0]: '01001' is not a commune code of this province"),
    ("price-band", setter(partner, "price_band", "cheap"), "partners[0].price_band: must be one of: low, medium, high"),
    ("status", setter(partner, "status", "approved"), "partners[0].status: must be one of: pending, vetted, suspended"),
    ("partner-summary-missing", deleter(partner, "summary"), "partners[0].summary: required"),
    ("partner-code-duplicate", duplicate_first("partners"),
     "partners[1].code: duplicate code 'P-QNG-001' (also at partners[0])"),
]


def test_the_minimal_document_is_valid(app):
    assert problems_of(minimal()) == []


@pytest.mark.parametrize(("mutate", "expected"), [case[1:] for case in BROKEN], ids=[case[0] for case in BROKEN])
def test_each_problem_is_reported_with_its_path(app, mutate, expected):
    document = minimal()
    mutate(document)
    assert problems_of(document) == [expected]


@pytest.mark.parametrize("value", [None, "", "x", 3, [], True])
def test_a_document_that_is_not_an_object_is_one_clear_problem(app, value):
    assert problems_of(value) == [
        'The file must hold one JSON object, {"schema": ..., "programmes": [...], "partners": [...]}.']


@pytest.mark.parametrize("key", ["tax_code", "website", "email", "phone"])
def test_optional_partner_fields_may_be_null_or_left_out(app, key):
    document = minimal()
    partner(document)[key] = None
    assert problems_of(document) == []
    del partner(document)[key]
    assert problems_of(document) == []


def test_every_problem_is_reported_at_once(app):
    document = minimal()
    programme(document)["caps_vnd"]["small"] = "lots"
    programme(document)["budgett"] = 1
    del programme(document)["name"]["en"]
    extra = json.loads(json.dumps(partner(document)))
    document["partners"] += [extra] * 3 + [dict(extra, code="P-QNG-002", categories=["crmx"])]
    assert problems_of(document) == [
        "programmes[0]: unknown key 'budgett'",
        "programmes[0].name.en: required",
        "programmes[0].caps_vnd.small: must be a positive integer",
        "partners[4].categories[0]: unknown category 'crmx'",
        "partners[1].code: duplicate code 'P-QNG-001' (also at partners[0])",
        "partners[2].code: duplicate code 'P-QNG-001' (also at partners[0])",
        "partners[3].code: duplicate code 'P-QNG-001' (also at partners[0])",
    ]


def test_pillars_and_communes_come_from_the_arguments(app):
    """Validation is pure: what counts as a pillar or a commune is whatever the caller passes in."""
    document = minimal()
    result = catalogue_io.validate(document, pillars=["data"], communes=["00001"])
    assert english(result.problems) == [
        "programmes[0].pillars[1]: unknown pillar 'operations'",
        "partners[0].pillars[0]: unknown pillar 'operations'",
        "partners[0].communes[0]: '21211' is not a commune code of this province",
    ]


def test_a_long_value_is_cut_short_in_the_message(app):
    document = minimal()
    partner(document)["categories"] = ["x" * 5000]
    [problem] = problems_of(document)
    assert problem.startswith("partners[0].categories[0]: unknown category 'xxx") and len(problem) < 150


# Parsing --------------------------------------------------------------------------------------


def parse_problems(raw) -> list[str]:
    with pytest.raises(catalogue_io.CatalogueError) as caught:
        catalogue_io.parse(raw)
    return english(caught.value.problems)


def test_bad_json_is_one_problem_with_line_and_column(app):
    raw = b'{\n  "schema": "dxportal.catalogue/1",\n  "programmes": [,]\n}'
    assert parse_problems(raw) == ["The file is not valid JSON: Expecting value at line 3, column 18."]


def test_text_that_is_not_utf8_is_one_problem_with_line_and_column(app):
    raw = '{\n  "schema": "dxportal.catalogue/1",\n  "partners": [{"name": "Công ty"}]\n}'.encode("cp1258")
    [problem] = parse_problems(raw)
    assert problem.startswith("The file is not UTF-8 text: invalid byte at line 3, column 27.")


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_json_numbers_are_refused(app, constant):
    assert parse_problems(f'{{"schema": {constant}}}') == [f"The file is not valid JSON: {constant} is not allowed."]


@pytest.mark.parametrize("raw", [b"", b"  \n", "\ufeff".encode()])
def test_an_empty_file_is_refused(app, raw):
    assert parse_problems(raw) == ["The file is empty."]


def test_deep_nesting_is_refused_not_crashed(app):
    assert parse_problems("[" * 100_000 + "]" * 100_000) == ["The file is nested too deeply."]


def test_a_byte_order_mark_is_accepted(app):
    assert catalogue_io.parse("\ufeff".encode() + encoded(minimal())) == minimal()


def test_a_key_given_twice_in_one_object_is_a_problem(app):
    raw = encoded(minimal()).replace(b'"kind": "subsidy",', b'"kind": "subsidy", "kind": "loan",')
    assert problems_of(catalogue_io.parse(raw)) == ["programmes[0]: duplicate key 'kind'"]


# Import ---------------------------------------------------------------------------------------


def test_import_creates_everything_and_audits_each_item(app):
    report = catalogue_io.import_document(minimal(), source="minimal.json")
    db.session.commit()
    assert report.counts() == {"programmes": {"created": 1, "updated": 0, "restored": 0, "unchanged": 0},
                               "partners": {"created": 1, "updated": 0, "restored": 0, "unchanged": 0}}
    stored = db.session.scalar(select(Programme))
    assert stored.kind is ProgrammeKind.SUBSIDY and stored.level_range == (0, 3)
    assert stored.opens_on == date(2026, 1, 1) and stored.support_rate == 0.5 and stored.committed_vnd == 0
    assert [(d.code, d.required, d.position) for d in stored.documents] == [("QUOTE", True, 0), ("CONTRACT", False, 1)]
    assert db.session.scalar(select(Partner)).status is PartnerStatus.VETTED
    [created] = events("programme.create")
    assert created.object_id == str(stored.id) and created.after == programme(minimal())
    assert events("partner.create")[0].after == partner(minimal())
    [summary] = events("catalogue.import")
    assert summary.after["programmes"]["created"] == 1 and summary.after["partners"]["created"] == 1
    assert summary.after["source"] == "minimal.json"
    assert summary.after["changed"] == [["programmes", "ND80-SOLUTIONS", "created"],
                                        ["partners", "P-QNG-001", "created"]]


def test_importing_the_same_file_twice_changes_nothing(app):
    catalogue_io.import_document(minimal())
    db.session.commit()
    before = catalogue_state()
    item_events = sum(len(events(a)) for a in ("programme.create", "programme.update", "partner.create",
                                                "partner.update", "partner.status_change"))
    report = catalogue_io.import_document(minimal())
    db.session.commit()
    assert report.counts() == {"programmes": {"created": 0, "updated": 0, "restored": 0, "unchanged": 1},
                               "partners": {"created": 0, "updated": 0, "restored": 0, "unchanged": 1}}
    assert report.changed == []
    after = catalogue_state()
    assert after[:2] == before[:2]
    assert after[2] == before[2] + 1  # only the catalogue.import event itself
    assert item_events == sum(len(events(a)) for a in ("programme.create", "programme.update", "partner.create",
                                                       "partner.update", "partner.status_change"))


def test_an_update_audits_only_the_changed_fields_and_keeps_document_ids(app):
    catalogue_io.import_document(minimal())
    db.session.commit()
    stored = db.session.scalar(select(Programme))
    quote_id = next(d.id for d in stored.documents if d.code == "QUOTE")
    updated_at = db.session.scalar(select(Partner)).updated_at
    document = minimal()
    programme(document)["budget_vnd"] = 4_000_000_000
    programme(document)["documents"] = [
        {"code": "LICENCE", "name": {"vi": "Giấy phép", "en": "Licence"}, "required": True},
        {"code": "QUOTE", "name": {"vi": "Báo giá mới", "en": "New quotation"}, "required": True},
    ]
    report = catalogue_io.import_document(document)
    db.session.commit()
    assert report.counts()["programmes"]["updated"] == 1 and report.counts()["partners"]["unchanged"] == 1
    [update] = events("programme.update")
    assert set(update.after) == {"budget_vnd", "documents"}
    assert update.before["budget_vnd"] == 3_000_000_000 and update.after["budget_vnd"] == 4_000_000_000
    db.session.expire_all()
    stored = db.session.scalar(select(Programme))
    assert [d.code for d in stored.documents] == ["LICENCE", "QUOTE"]
    assert next(d.id for d in stored.documents if d.code == "QUOTE") == quote_id
    assert stored.documents[1].name == {"vi": "Báo giá mới", "en": "New quotation"}
    assert db.session.scalar(select(Partner)).updated_at == updated_at  # untouched, not rewritten


def test_a_status_change_through_import_is_audited_as_such(app):
    catalogue_io.import_document(minimal())
    db.session.commit()
    document = minimal()
    partner(document)["status"] = "suspended"
    partner(document)["phone"] = "0905 000 111"
    catalogue_io.import_document(document)
    db.session.commit()
    [status_change] = events("partner.status_change")
    assert status_change.before == {"status": "vetted"}
    assert status_change.after["status"] == "suspended" and status_change.after["reason"]
    [update] = events("partner.update")
    assert update.before == {"phone": "0255 3 123 456"} and update.after == {"phone": "0905 000 111"}
    assert db.session.scalar(select(Partner)).status is PartnerStatus.SUSPENDED


def test_items_missing_from_the_file_are_left_alone(app):
    catalogue_io.import_document(minimal())
    db.session.commit()
    document = minimal()
    document["programmes"] = []
    del document["partners"]
    report = catalogue_io.import_document(document)
    db.session.commit()
    assert report.items == []
    assert db.session.scalar(select(Programme)).retired_at is None
    assert len(db.session.scalars(select(Partner)).all()) == 1


def test_a_retired_item_listed_again_is_restored(app):
    catalogue_io.import_document(minimal())
    db.session.commit()
    stored = db.session.scalar(select(Programme))
    stored.retired_at = utcnow()
    db.session.commit()
    report = catalogue_io.import_document(minimal())
    db.session.commit()
    assert report.counts()["programmes"]["restored"] == 1
    assert db.session.scalar(select(Programme)).retired_at is None
    [update] = events("programme.update")
    assert update.before["retired_at"] and update.after == {"retired_at": None}


def test_texts_are_stored_in_nfc_and_emails_in_lower_case(app):
    document = minimal()
    programme(document)["summary"]["en"] = "Two lines:\nboth kept."
    programme(document)["name"]["vi"] = unicodedata.normalize("NFD", "Hỗ trợ Quảng Ngãi")
    partner(document)["email"] = "LienHe@HoaDon.Example.VN"
    catalogue_io.import_document(document)
    db.session.commit()
    assert db.session.scalar(select(Programme)).name["vi"] == unicodedata.normalize("NFC", "Hỗ trợ Quảng Ngãi")
    assert db.session.scalar(select(Partner)).email == "lienhe@hoadon.example.vn"
    assert db.session.scalar(select(Programme)).summary["en"] == "Two lines:\nboth kept."


def test_nothing_is_applied_when_the_last_item_is_invalid(app):
    catalogue_io.import_document(minimal())
    db.session.commit()
    before = catalogue_state()
    document = minimal()
    programme(document)["budget_vnd"] = 9_000_000_000  # a valid change early in the file
    document["programmes"].append(dict(programme(minimal()), code="NEW-PROGRAMME"))
    document["partners"].append(dict(partner(minimal()), code="P-QNG-099", status="approved"))
    with pytest.raises(catalogue_io.CatalogueError) as caught:
        catalogue_io.import_document(document)
    db.session.rollback()
    assert english(caught.value.problems) == ["partners[1].status: must be one of: pending, vetted, suspended"]
    assert catalogue_state() == before


def test_a_budget_below_the_committed_amount_is_refused_and_nothing_changes(app):
    catalogue_io.import_document(minimal())
    db.session.commit()
    db.session.scalar(select(Programme)).committed_vnd = 2_000_000_000
    db.session.commit()
    before = catalogue_state()
    document = minimal()
    document["partners"][0]["phone"] = "0905 999 999"
    programme(document)["budget_vnd"] = 1_500_000_000
    with pytest.raises(catalogue_io.CatalogueError) as caught:
        catalogue_io.import_document(document)
    db.session.rollback()
    assert english(caught.value.problems) == [
        "programmes[0].budget_vnd: must not be below the 2000000000 VND already committed to approved applications"]
    assert catalogue_state() == before


# Export and the round trip --------------------------------------------------------------------


def test_export_writes_the_format_in_order_and_skips_retired_items(app):
    document = minimal()
    document["programmes"].insert(0, dict(programme(minimal()), code="ZZ-LAST"))
    document["programmes"].append(dict(programme(minimal()), code="AA-FIRST"))
    document["programmes"].append(dict(programme(minimal()), code="MM-RETIRED"))
    catalogue_io.import_document(document)
    db.session.commit()
    db.session.scalar(select(Programme).where(Programme.code == "MM-RETIRED")).retired_at = utcnow()
    db.session.commit()
    text = catalogue_io.export_text()
    assert text.endswith("}\n") and "Hỗ trợ" in text and '\n  "programmes": [\n    {\n      "code"' in text
    exported = json.loads(text)
    assert list(exported) == ["schema", "programmes", "partners"]
    assert [p["code"] for p in exported["programmes"]] == ["AA-FIRST", "ND80-SOLUTIONS", "ZZ-LAST"]
    assert list(exported["programmes"][0]) == list(catalogue_io.PROGRAMME_FIELDS)
    assert list(exported["programmes"][0]["documents"][0]) == ["code", "name", "required"]
    assert list(exported["partners"][0]) == list(catalogue_io.PARTNER_FIELDS)
    assert list(exported["programmes"][0]["name"]) == ["vi", "en"]
    assert exported["programmes"][0]["support_rate"] == 0.5 and exported["programmes"][0]["opens_on"] == "2026-01-01"


def test_export_of_an_empty_catalogue(app):
    assert catalogue_io.export_text() == (
        '{\n  "schema": "dxportal.catalogue/1",\n  "programmes": [],\n  "partners": []\n}\n')


def test_optional_partner_fields_export_as_null(app):
    document = minimal()
    del partner(document)["website"]
    partner(document)["phone"] = None
    catalogue_io.import_document(document)
    db.session.commit()
    exported = catalogue_io.export_document()["partners"][0]
    assert exported["website"] is None and exported["phone"] is None


def test_import_then_export_gives_the_demo_file_back_exactly(app):
    catalogue_io.import_bytes(catalogue_io.DEMO_PATH.read_bytes())
    db.session.commit()
    text = catalogue_io.export_text()
    assert json.loads(text) == json.loads(catalogue_io.DEMO_PATH.read_text(encoding="utf-8"))
    assert text == catalogue_io.DEMO_PATH.read_text(encoding="utf-8")


def test_export_then_import_changes_nothing(app):
    catalogue_io.import_bytes(catalogue_io.DEMO_PATH.read_bytes())
    db.session.commit()
    before = catalogue_state()
    report = catalogue_io.import_bytes(catalogue_io.export_text())
    db.session.commit()
    assert report.changed == [] and len(report.items) == len(before[0]) + len(before[1])
    assert catalogue_state()[:2] == before[:2]


# The demo catalogue ---------------------------------------------------------------------------


@pytest.fixture
def demo_catalogue(app):
    raw = catalogue_io.DEMO_PATH.read_bytes()
    document = catalogue_io.parse(raw)
    assert problems_of(document) == []
    return raw, document


def test_the_demo_catalogue_is_valid_and_written_as_export_writes(demo_catalogue):
    raw, document = demo_catalogue
    assert raw.decode("utf-8") == catalogue_io.dumps(document)
    for section in ("programmes", "partners"):
        codes = [item["code"] for item in document[section]]
        assert codes == sorted(codes)
    assert raw.decode("utf-8") == unicodedata.normalize("NFC", raw.decode("utf-8"))


def test_the_demo_programmes_cover_the_kinds_and_the_rules(demo_catalogue):
    _, document = demo_catalogue
    programmes = document["programmes"]
    assert len(programmes) >= 12
    assert {p["kind"] for p in programmes} == {kind.value for kind in ProgrammeKind}
    assert {p["level_range"][0] for p in programmes} >= {0, 2}
    assert {p["level_range"][1] for p in programmes} >= {2, 5}
    assert any(p["org_kinds"] == ["household_business"] for p in programmes)
    assert any(p["size_classes"] and "large" not in p["size_classes"] for p in programmes)
    assert any("large" in p["size_classes"] for p in programmes)
    assert any(p["caps_vnd"] == {} for p in programmes)  # a training: free, no money
    limited = [p for p in programmes if p["communes"]]
    assert limited and all(geo.is_valid(code) for p in limited for code in p["communes"])
    assert {"A", "C", "G", "I"} <= {sector for p in programmes for sector in p["sectors"]}
    assert all(p["documents"] for p in programmes)
    opens = [date.fromisoformat(p["opens_on"]) for p in programmes]
    closes = [date.fromisoformat(p["closes_on"]) for p in programmes]
    assert sum(1 for day in closes if day < date(2026, 1, 1)) == 1
    assert sum(1 for day in opens if day.year == 2027) == 1
    assert sum(1 for o, c in zip(opens, closes, strict=True) if o.year == 2026 and c >= date(2026, 12, 31)) >= 10
    sponsors = " ".join(p["sponsor"]["vi"] for p in programmes)
    for sponsor in ("Sở Khoa học và Công nghệ", "Sở Công Thương", "Liên minh Hợp tác xã", "Quỹ"):
        assert sponsor in sponsors


def test_the_demo_partners_cover_the_categories_bands_and_statuses(demo_catalogue):
    _, document = demo_catalogue
    partners = document["partners"]
    assert len(partners) >= 30
    assert {c for p in partners for c in p["categories"]} == set(PARTNER_CATEGORIES)
    assert {p["price_band"] for p in partners} == {"low", "medium", "high"}
    statuses = [p["status"] for p in partners]
    assert statuses.count("vetted") > len(partners) * 0.75
    assert statuses.count("pending") >= 2 and 1 <= statuses.count("suspended") <= 2
    assert any(p["communes"] for p in partners) and any(p["sectors"] for p in partners)
    for item in partners:
        if item["tax_code"]:
            assert item["tax_code"][:2] in ("43", "61") and check_tax_code(item["tax_code"], "enterprise")
        for key in ("website", "email"):
            if item[key]:
                host = urlsplit(item[key]).hostname if key == "website" else item[key].split("@")[1]
                assert host.endswith(".example.vn"), item[key]


def test_demo_load_imports_the_catalogue_once(app):
    demo.load()
    counts = (len(db.session.scalars(select(Programme)).all()), len(db.session.scalars(select(Partner)).all()))
    _, document = catalogue_io.DEMO_PATH, catalogue_io.parse(catalogue_io.DEMO_PATH.read_bytes())
    assert counts == (len(document["programmes"]), len(document["partners"]))
    created = len(events("programme.create")) + len(events("partner.create"))
    demo.load()
    assert (len(db.session.scalars(select(Programme)).all()), len(db.session.scalars(select(Partner)).all())) == counts
    assert len(events("programme.create")) + len(events("partner.create")) == created
    assert events("programme.update") == [] and events("partner.update") == []


def test_the_demo_loads_for_a_province_without_its_communes(app, monkeypatch):
    """Configured for another province, the demo keeps its items but drops the communes it cannot know."""
    real = catalogue_io.reference_data()
    monkeypatch.setattr(catalogue_io, "reference_data", lambda: {**real, "communes": ("21548",)})
    report = catalogue_io.import_demo()
    db.session.commit()
    assert report.counts()["programmes"]["created"] >= 12
    tourism = db.session.scalar(select(Programme).where(Programme.code == "TOURISM-BOOKING"))
    assert tourism.communes == ["21548"]
    assert all(set(p.communes) <= {"21548"} for p in db.session.scalars(select(Partner)))
