"""The size class of Decree 80/2021/NĐ-CP Art. 5, on the edges of every threshold."""

import pytest

from app.models.organisation import SizeClass
from app.services import sectors
from app.services.organisations import size_class

BN = 1_000_000_000
MICRO, SMALL, MEDIUM, LARGE = SizeClass.MICRO, SizeClass.SMALL, SizeClass.MEDIUM, SizeClass.LARGE


def test_sector_groups_follow_the_decree():
    assert sectors.group("A") == "agriculture_industry"
    for letter in "BCDEF":
        assert sectors.group(letter) == "agriculture_industry"
    for letter in "GHIJKLMNOPQRSTU":
        assert sectors.group(letter) == "trade_services"
    assert sectors.group("Z") is None


@pytest.mark.parametrize("sector", ["A", "C", "F"])
@pytest.mark.parametrize("employees, revenue, capital, expected", [
    # micro: ≤ 10 employees and (revenue ≤ 3 bn or capital ≤ 3 bn)
    (10, 3 * BN, 3 * BN, MICRO),
    (11, 3 * BN, 3 * BN, SMALL),
    (10, 3 * BN + 1, 3 * BN + 1, SMALL),
    (10, 3 * BN + 1, 3 * BN, MICRO),  # capital alone is enough ("or")
    (10, 3 * BN, 3 * BN + 1, MICRO),  # revenue alone is enough
    (0, 0, 0, MICRO),
    # small: ≤ 100 and (≤ 50 bn or ≤ 20 bn)
    (100, 50 * BN, 20 * BN, SMALL),
    (101, 50 * BN, 20 * BN, MEDIUM),
    (100, 50 * BN + 1, 20 * BN + 1, MEDIUM),
    (100, 50 * BN + 1, 20 * BN, SMALL),
    # medium: ≤ 200 and (≤ 200 bn or ≤ 100 bn)
    (200, 200 * BN, 100 * BN, MEDIUM),
    (201, 200 * BN, 100 * BN, LARGE),
    (200, 200 * BN + 1, 100 * BN + 1, LARGE),
    (200, 200 * BN + 1, 100 * BN, MEDIUM),
    (5, 500 * BN, 500 * BN, LARGE),  # few people, big money: large
])
def test_agriculture_industry_construction(sector, employees, revenue, capital, expected):
    assert size_class(sector, employees, revenue, capital) is expected


@pytest.mark.parametrize("sector", ["G", "I", "Q"])
@pytest.mark.parametrize("employees, revenue, capital, expected", [
    # micro: ≤ 10 and (≤ 10 bn or ≤ 3 bn)
    (10, 10 * BN, 3 * BN, MICRO),
    (11, 10 * BN, 3 * BN, SMALL),
    (10, 10 * BN + 1, 3 * BN + 1, SMALL),
    (10, 10 * BN + 1, 3 * BN, MICRO),
    (10, 4 * BN, 50 * BN, MICRO),  # 4 bn revenue: micro in trade, small in industry
    # small: ≤ 50 and (≤ 100 bn or ≤ 50 bn)
    (50, 100 * BN, 50 * BN, SMALL),
    (51, 100 * BN, 50 * BN, MEDIUM),
    (50, 100 * BN + 1, 50 * BN + 1, MEDIUM),
    (50, 100 * BN + 1, 50 * BN, SMALL),
    # medium: ≤ 100 and (≤ 300 bn or ≤ 100 bn)
    (100, 300 * BN, 100 * BN, MEDIUM),
    (101, 300 * BN, 100 * BN, LARGE),
    (100, 300 * BN + 1, 100 * BN + 1, LARGE),
    (100, 300 * BN + 1, 100 * BN, MEDIUM),
])
def test_trade_and_services(sector, employees, revenue, capital, expected):
    assert size_class(sector, employees, revenue, capital) is expected


def test_same_figures_differ_between_groups():
    assert size_class("C", 10, 4 * BN, 4 * BN) is SMALL
    assert size_class("G", 10, 4 * BN, 4 * BN) is MICRO
    assert size_class("C", 60, 10 * BN, 10 * BN) is SMALL
    assert size_class("G", 60, 10 * BN, 10 * BN) is MEDIUM


def test_unknown_employees_gives_no_class():
    assert size_class("G", None, 1 * BN, 1 * BN) is None


def test_unknown_revenue_and_capital_gives_no_class():
    assert size_class("G", 5, None, None) is None


def test_one_known_figure_decides_alone():
    assert size_class("A", 5, None, 3 * BN) is MICRO
    assert size_class("A", 5, None, 3 * BN + 1) is SMALL
    assert size_class("A", 5, 3 * BN, None) is MICRO
    assert size_class("A", 5, 3 * BN + 1, None) is SMALL


def test_unknown_sector_gives_no_class():
    assert size_class(None, 5, BN, BN) is None
    assert size_class("Z", 5, BN, BN) is None
