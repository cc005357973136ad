"""Eligibility rules on their edges, the reasons a business reads, and the subsidy arithmetic."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from app.services import eligibility
from app.services.eligibility import check, subsidy
from tests.recommender_factories import profile, programme

ON = date(2026, 6, 15)


def rules(result: eligibility.Eligibility) -> tuple[str, ...]:
    return result.rules


def test_a_programme_open_to_everyone_is_eligible_with_no_reasons():
    result = check(programme(commit=False), profile(), 2, ON)
    assert result.eligible and bool(result) and result.reasons == ()


@pytest.mark.parametrize(("org_kinds", "kind", "eligible"), [
    (["enterprise"], "enterprise", True),
    (["enterprise", "cooperative"], "cooperative", True),
    (["cooperative"], "household_business", False),
    (["household_business"], "enterprise", False),
])
def test_organisation_kind(org_kinds, kind, eligible):
    result = check(programme(commit=False, org_kinds=org_kinds), profile(kind=kind), 2, ON, locale="en")
    assert result.eligible is eligible
    if not eligible:
        assert rules(result) == (eligibility.KIND,)
        assert result.reasons[0].startswith("This programme is only for")


def test_kind_reason_names_the_allowed_kinds_in_the_language_asked():
    result = check(programme(commit=False, org_kinds=["enterprise", "cooperative"]), profile(kind="household_business"),
                   2, ON, locale="en")
    assert result.reasons == ("This programme is only for enterprises, cooperatives.",)


@pytest.mark.parametrize(("size_classes", "size", "expected"), [
    ([], None, ()),
    ([], "large", ()),
    (["micro", "small"], "small", ()),
    (["micro", "small"], "medium", (eligibility.SIZE,)),
    (["micro"], None, (eligibility.SIZE_UNKNOWN,)),
])
def test_size_class(size_classes, size, expected):
    result = check(programme(commit=False, size_classes=size_classes), profile(size_class=size), 2, ON)
    assert rules(result) == expected


def test_unknown_size_when_sizes_are_restricted_asks_to_complete_the_figures():
    result = check(programme(commit=False, size_classes=["micro"]), profile(size_class=None), 2, ON, locale="en")
    assert "Complete your figures" in result.reasons[0]
    wrong = check(programme(commit=False, size_classes=["micro", "small"]), profile(size_class="large"), 2, ON,
                  locale="en")
    assert wrong.reasons == ("This programme is only for micro-sized, small-sized businesses; yours is large-sized.",)


@pytest.mark.parametrize(("sectors", "sector", "eligible"), [
    ([], "G", True),
    ([], "U", True),
    (["A", "C"], "C", True),
    (["A", "C"], "G", False),
])
def test_sector(sectors, sector, eligible):
    result = check(programme(commit=False, sectors=sectors), profile(sector=sector), 2, ON, locale="en")
    assert result.eligible is eligible
    if not eligible:
        assert result.reasons == ("This programme does not cover your sector (G – Wholesale and retail trade; "
                                  "repair of motor vehicles and motorcycles).",)


def test_sector_reason_uses_the_vietnamese_sector_name_by_default():
    result = check(programme(commit=False, sectors=["A"]), profile(sector="G"), 2, ON)
    assert "Bán buôn và bán lẻ" in result.reasons[0]


@pytest.mark.parametrize(("communes", "commune", "expected"), [
    ([], None, ()),
    ([], "21025", ()),
    (["21025", "21211"], "21211", ()),
    (["21211"], "21025", (eligibility.COMMUNE,)),
    (["21211"], None, (eligibility.COMMUNE_UNKNOWN,)),
])
def test_commune(communes, commune, expected):
    result = check(programme(commit=False, communes=communes), profile(commune_code=commune), 2, ON)
    assert rules(result) == expected


def test_commune_reasons_name_the_commune_or_ask_to_set_it():
    item = programme(commit=False, communes=["21211"])
    unknown = check(item, profile(commune_code=None), 2, ON, locale="en")
    assert "Set your commune in your organisation profile" in unknown.reasons[0]
    elsewhere = check(item, profile(commune_code="21025"), 2, ON, locale="en")
    assert elsewhere.reasons == ("This programme is not offered in Phường Cẩm Thành.",)


@pytest.mark.parametrize(("level", "eligible"), [(0, False), (1, True), (2, True), (3, True), (4, False)])
def test_overall_level_range_is_inclusive(level, eligible):
    result = check(programme(commit=False, level_min=1, level_max=3), profile(), level, ON, locale="en")
    assert result.eligible is eligible
    if not eligible:
        assert result.reasons == (f"This programme is for digital maturity levels 1 to 3; your level is {level}.",)


def test_a_single_level_programme_says_so():
    result = check(programme(commit=False, level_min=0, level_max=0), profile(), 1, ON, locale="en")
    assert result.reasons == ("This programme is for digital maturity level 0; your level is 1.",)


@pytest.mark.parametrize(("on_date", "expected"), [
    (date(2026, 2, 28), (eligibility.NOT_OPEN,)),
    (date(2026, 3, 1), ()),
    (date(2026, 9, 30), ()),
    (date(2026, 10, 1), (eligibility.CLOSED,)),
])
def test_application_window_is_inclusive(on_date, expected):
    item = programme(commit=False, opens_on=date(2026, 3, 1), closes_on=date(2026, 9, 30))
    assert rules(check(item, profile(), 2, on_date)) == expected


def test_window_reasons_give_the_date_as_dd_mm_yyyy():
    item = programme(commit=False, opens_on=date(2026, 3, 1), closes_on=date(2026, 9, 30))
    assert check(item, profile(), 2, date(2026, 1, 5), locale="en").reasons == ("Applications open on 01/03/2026.",)
    assert check(item, profile(), 2, date(2026, 10, 1), locale="en").reasons == (
        "Applications have closed (the deadline was 30/09/2026).",)
    assert "01/03/2026" in check(item, profile(), 2, date(2026, 1, 5)).reasons[0]


@pytest.mark.parametrize(("committed", "eligible"), [(0, True), (999_999_999, True), (1_000_000_000, False),
                                                     (1_200_000_000, False)])
def test_budget_remaining_must_be_positive(committed, eligible):
    item = programme(commit=False, budget_vnd=1_000_000_000, committed_vnd=committed)
    result = check(item, profile(), 2, ON, locale="en")
    assert result.eligible is eligible
    if not eligible:
        assert result.reasons == ("This programme's budget has been used up.",)


def test_a_retired_programme_is_never_eligible():
    item = programme(commit=False, retired_at=datetime(2026, 5, 1, tzinfo=UTC))
    result = check(item, profile(), 2, ON, locale="en")
    assert not result.eligible
    assert result.reasons == ("This programme has been withdrawn.",)


@pytest.mark.parametrize(("count", "eligible"), [(0, True), (1, False), (2, False)])
def test_one_application_per_programme_per_year(count, eligible):
    result = check(programme(commit=False), profile(organisation_id=7), 2, ON, applications_this_year=count)
    assert result.eligible is eligible
    assert rules(result) == (() if eligible else (eligibility.APPLIED,))


def test_applications_this_year_counts_nothing_until_applications_exist():
    item = programme()
    assert eligibility.applications_this_year(1, item, 2026) == 0
    assert eligibility.applications_this_year(None, item, 2026) == 0


def test_every_failed_rule_is_listed_in_a_fixed_order():
    item = programme(commit=False, org_kinds=["cooperative"], size_classes=["micro"], sectors=["A"],
                     communes=["21211"], level_min=3, level_max=5, opens_on=date(2026, 7, 1), budget_vnd=10,
                     committed_vnd=10, retired_at=datetime(2026, 1, 1, tzinfo=UTC))
    result = check(item, profile(size_class=None, commune_code=None, organisation_id=3), 1, ON,
                   applications_this_year=1, locale="en")
    assert rules(result) == (eligibility.RETIRED, eligibility.KIND, eligibility.SIZE_UNKNOWN, eligibility.SECTOR,
                             eligibility.COMMUNE_UNKNOWN, eligibility.LEVEL, eligibility.NOT_OPEN, eligibility.BUDGET,
                             eligibility.APPLIED)
    assert len(result.reasons) == len(set(result.reasons)) == 9


def test_reasons_follow_the_locale_passed_not_the_request(app):
    item = programme(commit=False, sectors=["A"])
    with app.test_request_context("/", headers={"Accept-Language": "vi"}):
        english = check(item, profile(), 2, ON, locale="en").reasons[0]
        vietnamese = check(item, profile(), 2, ON, locale="vi").reasons[0]
    assert "Wholesale and retail trade" in english
    assert "Bán buôn và bán lẻ" in vietnamese and english != vietnamese
    # Unknown or regional locales fall back sensibly.
    assert check(item, profile(), 2, ON, locale="en_GB").reasons == (english,)
    assert check(item, profile(), 2, ON, locale="fr").reasons == (vietnamese,)


@pytest.mark.parametrize(("locale", "expected"), [("en", "en"), ("en-US", "en"), ("EN_gb", "en"), ("vi", "vi"),
                                                  ("vi_VN", "vi"), (None, "vi"), ("", "vi"), ("de", "vi")])
def test_normalise_locale(locale, expected):
    assert eligibility.normalise_locale(locale) == expected


# Subsidy ---------------------------------------------------------------------------------------------------------

CAPS = {"micro": 20_000_000, "small": 50_000_000}


@pytest.mark.parametrize(("size", "cost", "expected"), [
    ("micro", 10_000_000, 5_000_000),       # rate x cost below the cap
    ("micro", 40_000_000, 20_000_000),      # exactly the cap
    ("micro", 90_000_000, 20_000_000),      # capped
    ("small", 90_000_000, 45_000_000),
    ("small", 500_000_000, 50_000_000),
    ("medium", 90_000_000, 0),              # no cap for the size class: no money
    (None, 90_000_000, 0),                  # size unknown: no money
    ("micro", 0, 0),
    ("micro", -5_000_000, 0),
    ("micro", 1, 0),                        # floor of 0.5 VND
    ("micro", 3, 1),
])
def test_subsidy_is_rate_times_cost_capped_by_size_class(size, cost, expected):
    item = programme(commit=False, support_rate=0.5, caps_vnd=CAPS)
    assert subsidy(item, size, cost) == expected


def test_subsidy_floors_exactly_where_binary_floats_would_not():
    item = programme(commit=False, support_rate=0.29, caps_vnd={"micro": 10**12})
    assert subsidy(item, "micro", 100) == 29
    item = programme(commit=False, support_rate=0.7, caps_vnd={"micro": 10**12})
    assert subsidy(item, "micro", 10) == 7
    full = programme(commit=False, support_rate=1.0, caps_vnd={"micro": 10**12})
    assert subsidy(full, "micro", 123_456_789) == 123_456_789


def test_subsidy_accepts_the_size_class_enum():
    from app.models import SizeClass

    item = programme(commit=False, support_rate=0.5, caps_vnd=CAPS)
    assert subsidy(item, SizeClass.SMALL, 10_000_000) == 5_000_000


@pytest.mark.parametrize(("caps", "size", "expected"), [
    (CAPS, "micro", 20_000_000), (CAPS, "large", 0), ({}, "micro", 0), (CAPS, None, None),
])
def test_max_subsidy_is_the_cap_for_the_size_class(caps, size, expected):
    assert eligibility.max_subsidy(programme(commit=False, caps_vnd=caps), size) == expected


def test_check_works_on_a_saved_programme_without_a_request():
    item = programme(sectors=["G"], communes=["21025"], size_classes=["small"])
    assert check(item, profile(), 2, ON).eligible


def test_without_a_locale_reasons_follow_the_request_language(app):
    from flask import session

    item = programme(commit=False, org_kinds=["cooperative"])
    with app.test_request_context("/"):
        session["locale"] = "en"
        assert check(item, profile(), 2, ON).reasons == ("This programme is only for cooperatives.",)
    assert check(item, profile(), 2, ON).reasons == check(item, profile(), 2, ON, locale="vi").reasons
