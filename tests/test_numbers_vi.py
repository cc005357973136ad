"""Amounts in words, as decision letters print them: Vietnamese conventions ("lẻ"/"linh", "mốt", "tư",
"lăm", "mười", full groups after the first, "tỷ") and the English reading for the English letter."""

from __future__ import annotations

import pytest

from app.services.numbers_vi import amount_in_words, capitalised, english_words, vietnamese_words

VIETNAMESE = [
    (0, "không"),
    (1, "một"),
    (4, "bốn"),
    (5, "năm"),
    (10, "mười"),
    (11, "mười một"),
    (14, "mười bốn"),
    (15, "mười lăm"),
    (20, "hai mươi"),
    (21, "hai mươi mốt"),
    (24, "hai mươi tư"),
    (25, "hai mươi lăm"),
    (55, "năm mươi lăm"),
    (91, "chín mươi mốt"),
    (100, "một trăm"),
    (101, "một trăm lẻ một"),
    (104, "một trăm lẻ bốn"),
    (105, "một trăm lẻ năm"),
    (110, "một trăm mười"),
    (111, "một trăm mười một"),
    (115, "một trăm mười lăm"),
    (121, "một trăm hai mươi mốt"),
    (1_000, "một nghìn"),
    (1_005, "một nghìn không trăm lẻ năm"),
    (1_010, "một nghìn không trăm mười"),
    (1_000_000, "một triệu"),
    (1_000_005, "một triệu không trăm lẻ năm"),
    (1_005_000, "một triệu không trăm lẻ năm nghìn"),
    (10_500_000, "mười triệu năm trăm nghìn"),
    (20_000_000, "hai mươi triệu"),
    (50_000_000, "năm mươi triệu"),
    (125_000_000, "một trăm hai mươi lăm triệu"),
    (1_250_000_000, "một tỷ hai trăm năm mươi triệu"),
    (2_000_000_015, "hai tỷ không trăm mười lăm"),
    (1_000_000_000_000, "một nghìn tỷ"),
    (1_000_000_000_005, "một nghìn tỷ không trăm lẻ năm"),
    (999_999_999, "chín trăm chín mươi chín triệu chín trăm chín mươi chín nghìn chín trăm chín mươi chín"),
]


@pytest.mark.parametrize(("number", "words"), VIETNAMESE, ids=[str(n) for n, _ in VIETNAMESE])
def test_vietnamese_words(number, words):
    assert vietnamese_words(number) == words


@pytest.mark.parametrize(("number", "words"), [
    (101, "một trăm linh một"),
    (105, "một trăm linh năm"),
    (1_000_005, "một triệu không trăm linh năm"),
])
def test_linh_is_the_other_accepted_reading_of_a_zero_tens_digit(number, words):
    assert vietnamese_words(number, zero_tens="linh") == words


def test_only_le_or_linh_are_accepted():
    with pytest.raises(ValueError):
        vietnamese_words(105, zero_tens="linh lẻ")


def test_negative_amounts_read_am():
    assert vietnamese_words(-25) == "âm hai mươi lăm"


def test_amounts_in_dong_for_the_letter():
    assert amount_in_words(50_000_000) == "năm mươi triệu đồng"
    assert capitalised(amount_in_words(50_000_000)) == "Năm mươi triệu đồng"
    assert amount_in_words(0) == "không đồng"
    assert amount_in_words(50_000_000, "en") == "fifty million dong"


ENGLISH = [
    (0, "zero"),
    (5, "five"),
    (11, "eleven"),
    (21, "twenty-one"),
    (105, "one hundred and five"),
    (110, "one hundred and ten"),
    (1_000_005, "one million and five"),
    (50_000_000, "fifty million"),
    (1_250_000_000, "one billion two hundred and fifty million"),
    (2_000_000_015, "two billion and fifteen"),
    (1_000_000_000_000, "one trillion"),
]


@pytest.mark.parametrize(("number", "words"), ENGLISH, ids=[str(n) for n, _ in ENGLISH])
def test_english_words(number, words):
    assert english_words(number) == words


def test_every_amount_up_to_a_thousand_reads_back_consistently():
    """No double spaces, no empty words, and the forms only Vietnamese uses appear only where they belong."""
    for number in range(1, 1001):
        words = vietnamese_words(number)
        assert "  " not in words and words == words.strip(), number
        tens, units = (number % 100) // 10, number % 10
        assert ("mốt" in words) == (tens >= 2 and units == 1), number
        assert ("lăm" in words) == (tens >= 1 and units == 5), number
        assert ("lẻ" in words) == (number >= 100 and tens == 0 and units > 0), number
