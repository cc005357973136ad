"""Normalising the things people type to identify themselves: e-mail addresses and mobile numbers."""

from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email

#: Vietnamese mobile prefixes (after the 2018 renumbering): 03, 05, 07, 08, 09.
_MOBILE_RE = re.compile(r"^0[35789]\d{8}$")
_SEPARATORS_RE = re.compile(r"[\s.\-()]")


def normalise_phone(raw: str) -> str | None:
    """``+84 912 345 678``, ``84912345678`` or ``0912.345.678`` → ``0912345678``; None if not a mobile."""
    value = _SEPARATORS_RE.sub("", raw or "")
    if value.startswith("+84"):
        value = "0" + value[3:]
    elif value.startswith("84") and len(value) == 11:
        value = "0" + value[2:]
    return value if _MOBILE_RE.match(value) else None


def normalise_email(raw: str) -> str | None:
    """A syntactically valid, lower-cased e-mail address, or None. No DNS lookup."""
    value = (raw or "").strip()
    if "@" not in value:
        return None
    try:
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        return None
    return result.normalized.lower()


def parse_login(raw: str) -> tuple[str, str] | None:
    """Classify a login as ``("email", value)`` or ``("phone", value)``; None when it is neither."""
    raw = (raw or "").strip()
    if "@" in raw:
        email = normalise_email(raw)
        return ("email", email) if email else None
    phone = normalise_phone(raw)
    return ("phone", phone) if phone else None
