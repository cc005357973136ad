"""Helpers shared by the accounts tests: English pages, links from messages, page comparison."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from app.extensions import db

_CSRF_RE = re.compile(r'name="csrf_token" value="[^"]*"')
_URL_RE = re.compile(r"https?://\S+")


def use_english(client) -> None:
    """Anonymous pages in English, so assertions read the msgids whatever the catalogue holds."""
    with client.session_transaction() as session:
        session["locale"] = "en"


def link_path(message) -> str:
    """The path (with query) of the first link in a message, ready for the test client."""
    match = _URL_RE.search(message.body)
    assert match, f"no link in {message.body!r}"
    parts = urlsplit(match.group(0))
    return parts.path + (f"?{parts.query}" if parts.query else "")


def main_html(response, *replace: str) -> str:
    """The page's <main> without CSRF tokens, with the given strings (typed logins) blanked out."""
    html = response.get_data(as_text=True)
    start, end = html.index("<main"), html.index("</main>")
    text = _CSRF_RE.sub('name="csrf_token" value=""', html[start:end])
    for value in replace:
        text = text.replace(value, "<typed>")
    return text


def fresh(model, ident):
    """Re-read a row as the last request committed it (the test's own session may hold an old snapshot)."""
    db.session.rollback()
    return db.session.get(model, ident)


def is_logged_in(client) -> bool:
    return client.get("/auth/account").status_code == 200
