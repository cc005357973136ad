"""Amounts of money in words, as Vietnamese decision letters and invoices write them ("bằng chữ").

Vietnamese reads a number in groups of three digits (nghìn, triệu, tỷ). Inside a group:

- a zero tens digit between hundreds and units reads "lẻ" (or "linh", the other common usage):
  105 → "một trăm lẻ năm";
- 10 is "mười", 11–19 "mười một" ... "mười chín"; from 20 the tens are "hai mươi", "ba mươi" ...;
- after "mươi" a 1 reads "mốt" (21 → "hai mươi mốt") and a 4 usually reads "tư" (24 → "hai mươi tư");
- after "mười"/"mươi" a 5 reads "lăm" (15 → "mười lăm", 25 → "hai mươi lăm"), but not after "lẻ";
- a group after the first is read in full, "không trăm" included (1.000.005 → "một triệu không trăm lẻ
  năm"), and a group of three zeros is skipped;
- a thousand millions is "tỷ"; a thousand "tỷ" is "nghìn tỷ".

Pure functions, no Flask. ``english_words`` gives the English reading for the English letter.
"""

from __future__ import annotations

DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")
#: Group names for thousands and millions; tỷ (10^9) is handled by recursion so "nghìn tỷ" comes out right.
_GROUP_NAMES = ("", "nghìn", "triệu")
BILLION = 1_000_000_000


def _group(number: int, full: bool, zero_tens: str) -> str:
    """Read 0 < ``number`` < 1000; ``full`` reads a missing hundreds digit ("không trăm") and "lẻ"."""
    hundreds, rest = divmod(number, 100)
    tens, units = divmod(rest, 10)
    words: list[str] = []
    if hundreds or full:
        words += [DIGITS[hundreds], "trăm"]
    if tens == 0:
        if units and words:
            words += [zero_tens, DIGITS[units]]
        elif units:
            words.append(DIGITS[units])
        return " ".join(words)
    if tens == 1:
        words.append("mười")
    else:
        words += [DIGITS[tens], "mươi"]
    if units == 1:
        words.append("mốt" if tens > 1 else "một")
    elif units == 4:
        words.append("tư" if tens > 1 else "bốn")
    elif units == 5:
        words.append("lăm")
    elif units:
        words.append(DIGITS[units])
    return " ".join(words)


def _below_billion(number: int, full: bool, zero_tens: str) -> list[str]:
    """Read 0 <= ``number`` < 10^9 (empty for 0); ``full`` when a higher group was already read."""
    groups = [(number // 1_000_000) % 1000, (number // 1000) % 1000, number % 1000]
    words: list[str] = []
    for index, value in enumerate(groups):
        if not value:
            continue
        words.append(_group(value, full or bool(words), zero_tens))
        name = _GROUP_NAMES[2 - index]
        if name:
            words.append(name)
    return words


def _words(number: int, full: bool, zero_tens: str) -> list[str]:
    billions, rest = divmod(number, BILLION)
    words: list[str] = []
    if billions:
        words += [*_words(billions, full, zero_tens), "tỷ"]
    words += _below_billion(rest, full or bool(billions), zero_tens)
    return words


def vietnamese_words(number: int, zero_tens: str = "lẻ") -> str:
    """``number`` in Vietnamese words, lower case: 50_000_000 → "năm mươi triệu".

    ``zero_tens`` is "lẻ" (default) or "linh" for a zero tens digit (105 → "một trăm lẻ năm").
    """
    if zero_tens not in ("lẻ", "linh"):
        raise ValueError("zero_tens must be 'lẻ' or 'linh'")
    number = int(number)
    if number == 0:
        return DIGITS[0]
    sign = "âm " if number < 0 else ""
    return sign + " ".join(_words(abs(number), False, zero_tens))


_EN_UNITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
             "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen")
_EN_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_EN_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (10**3, "thousand"))


def _en_below_thousand(number: int) -> str:
    hundreds, rest = divmod(number, 100)
    words = []
    if hundreds:
        words.append(f"{_EN_UNITS[hundreds]} hundred")
    if rest:
        if hundreds:
            words.append("and")
        if rest < 20:
            words.append(_EN_UNITS[rest])
        else:
            tens, units = divmod(rest, 10)
            words.append(_EN_TENS[tens] + (f"-{_EN_UNITS[units]}" if units else ""))
    return " ".join(words)


def english_words(number: int) -> str:
    """``number`` in British English words: 1_250_000_000 → "one billion two hundred and fifty million"."""
    number = int(number)
    if number == 0:
        return "zero"
    if number < 0:
        return "minus " + english_words(-number)
    words: list[str] = []
    rest = number
    for scale, name in _EN_SCALES:
        if rest >= scale:
            count, rest = divmod(rest, scale)
            words.append(f"{english_words(count) if count >= 1000 else _en_below_thousand(count)} {name}")
    if rest:
        if words and rest < 100:
            words.append("and")
        words.append(_en_below_thousand(rest))
    return " ".join(words)


def amount_in_words(amount_vnd: int, locale: str = "vi") -> str:
    """An amount of đồng in words, lower case: "năm mươi triệu đồng" / "fifty million dong"."""
    if str(locale or "vi")[:2] == "en":
        return f"{english_words(amount_vnd)} dong"
    return f"{vietnamese_words(amount_vnd)} đồng"


def capitalised(text: str) -> str:
    """First letter upper case, as a letter writes the amount ("Bằng chữ: Năm mươi triệu đồng")."""
    return text[:1].upper() + text[1:]
