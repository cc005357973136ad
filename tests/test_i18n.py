"""Every user-facing string has a Vietnamese translation (Vietnamese is the default language)."""

import re
import unicodedata

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from config import BASE_DIR

PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def _catalogue():
    with (BASE_DIR / "translations/vi/LC_MESSAGES/messages.po").open("rb") as handle:
        return read_po(handle, locale="vi")


def _source_msgids() -> set[str]:
    method_map = [("app/**.py", "python"), ("templates/**.html", "jinja2")]
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
    found = set()
    options = {"**.html": {"extensions": "jinja2.ext.do"}}
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(BASE_DIR), method_map=method_map, keywords=keywords, options_map=options
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_every_source_string_is_in_the_vietnamese_catalogue():
    catalogue_ids = {m.id if isinstance(m.id, str) else m.id[0] for m in _catalogue() if m.id}
    missing = sorted(_source_msgids() - catalogue_ids)
    assert missing == [], f"run `make extract-messages` and translate: {missing[:10]}"


def test_every_message_is_translated_not_fuzzy_and_keeps_placeholders():
    problems = []
    for message in _catalogue():
        if not message.id:
            continue
        msgid = message.id if isinstance(message.id, str) else message.id[0]
        msgstr = message.string if isinstance(message.string, str) else message.string[0]
        if not msgstr:
            problems.append(f"untranslated: {msgid}")
        elif message.fuzzy:
            problems.append(f"fuzzy: {msgid}")
        elif set(PLACEHOLDER.findall(msgid)) != set(PLACEHOLDER.findall(msgstr)):
            problems.append(f"placeholders differ: {msgid}")
        elif not unicodedata.is_normalized("NFC", msgstr):
            problems.append(f"not NFC: {msgid}")
    assert problems == []
