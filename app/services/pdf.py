"""The PDF renderer: HTML from a print template, then WeasyPrint, in a sandbox.

Why it looks the way it does:

- **One long-lived ``FontConfiguration``** per process, and the print stylesheet parsed once. Loading
  the ``@font-face`` fonts into a new Fontconfig configuration for every render made a 6-page plan
  about 1.5 times slower (0.86 s instead of 0.58 s here; ARCHITECTURE.md, "Known traps").
  Pango's font map is not meant to be shared between threads, so renders in one process take turns
  (a lock). In the scaled mode plans render on RQ workers; a web worker renders only a decision
  letter (one page) the first time it is asked for.
- **Fonts ship with the app** (``app/pdf_assets/fonts``: DejaVu Sans, with its licence), declared in
  ``print.css`` under the family name "DejaVu Sans" so the body, the ``@page`` margin boxes and the
  radar chart's SVG text all use the embedded font, whatever the server has installed. WeasyPrint
  embeds only the glyphs used (subsetting), so a PDF stays small.
- **A sandboxed URL fetcher** (``AssetFetcher``): the renderer can read the files of
  ``app/pdf_assets`` and nothing else. It accepts ``dxasset:`` URLs and paths relative to the
  document (``fonts/DejaVuSans.ttf``), both resolved inside that folder (traversal with ``..``,
  encoded ``%2e%2e``, backslashes, NUL bytes or symlinks that leave the folder is refused). It refuses
  ``file:`` URLs a template names, ``http:``/``https:`` and every other scheme, so no template or
  data can make the server read its own files or reach the network. ``data:`` URLs are accepted only
  for small images (at most ``MAX_DATA_URI_BYTES``, PNG/JPEG/GIF/SVG), which cannot reach anything.
- **Text is NFC-normalised** before layout: Vietnamese typed on some keyboards arrives decomposed
  ("ê" + combining acute), which would print fine but extract from the PDF as two characters and
  fail a text search.
- Templates are fed plain data (dicts of strings and numbers), never live database objects, so a
  worker renders exactly what the web process saw (``app.services.pdf_cache``).

Importing this module loads WeasyPrint, Pango and Fontconfig (half a second, tens of MiB): web code
imports it lazily, only in the process that renders.
"""

from __future__ import annotations

import base64
import binascii
import gc
import io
import logging
import mimetypes
import threading
import unicodedata
from collections import deque
from pathlib import Path
from typing import Any
from urllib.parse import unquote, unquote_to_bytes

import segno
from flask import render_template
from flask_babel import force_locale
from markupsafe import Markup
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import UNICODE_SCHEME_RE, URLFetcher, URLFetcherResponse

LOGGER = logging.getLogger(__name__)

#: The only folder the renderer may read: fonts and the print stylesheet.
ASSETS_DIR = Path(__file__).resolve().parents[1] / "pdf_assets"
#: The private URL scheme of the bundled assets (``dxasset:fonts/DejaVuSans.ttf``).
SCHEME = "dxasset"
#: Base URL of every document and stylesheet, so relative URLs stay inside the assets.
BASE_URL = f"{SCHEME}:/"
#: The print stylesheet every document gets.
STYLESHEET = "print.css"
#: ``data:`` URLs larger than this are refused (a QR code or a logo is a few kilobytes).
MAX_DATA_URI_BYTES = 64 * 1024
DATA_URI_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/svg+xml"})
#: File types the assets folder may serve.
ASSET_TYPES = {
    ".css": "text/css",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}


class AssetRefused(ValueError):
    """The renderer was asked for something outside its bundled assets."""


class AssetFetcher(URLFetcher):
    """WeasyPrint's fetcher, sandboxed: bundled assets and small image data URLs only (see the module doc)."""

    def __init__(self, root: Path = ASSETS_DIR):
        # No protocol allowed in the parent class either: were its fetch ever reached, it would refuse.
        super().__init__(timeout=1, allowed_protocols=(), allow_redirects=False, fail_on_errors=False)
        self.root = Path(root).resolve()
        #: The last URLs refused (for tests and debugging); the log has them too.
        self.refused: deque[str] = deque(maxlen=100)
        #: How many files were served (tests count them).
        self.served = 0

    def refuse(self, url: str, why: str) -> AssetRefused:
        self.refused.append(url)
        LOGGER.warning("PDF renderer refused %.200s (%s)", url, why)
        return AssetRefused(f"refused {url[:200]!r}: {why}")

    def resolve(self, url: str) -> Path:
        """The file inside the assets folder that ``url`` names, or ``AssetRefused``."""
        text = url.strip()
        match = UNICODE_SCHEME_RE.match(text)
        if match:
            if match[1].lower() != SCHEME:
                raise self.refuse(url, f"scheme {match[1].lower()!r} is not allowed")
            text = text[match.end():]
        text = text.split("#", 1)[0].split("?", 1)[0]
        if text.startswith("//"):
            raise self.refuse(url, "network-path reference")
        path = unquote(text).lstrip("/")
        if not path or "\\" in path or "\x00" in path:
            raise self.refuse(url, "not a plain relative path")
        candidate = (self.root / path).resolve()
        if not candidate.is_relative_to(self.root):
            raise self.refuse(url, "outside the assets folder")
        if not candidate.is_file():
            raise self.refuse(url, "no such asset")
        if candidate.suffix.lower() not in ASSET_TYPES:
            raise self.refuse(url, "file type not served")
        return candidate

    def data_uri(self, url: str) -> tuple[bytes, str]:
        """The bytes and type of a small image ``data:`` URL, or ``AssetRefused``."""
        header, comma, payload = url[5:].partition(",")
        if not comma:
            raise self.refuse(url, "malformed data URL")
        params = [part.strip().lower() for part in header.split(";")]
        media_type = params[0] or "text/plain"
        if media_type not in DATA_URI_TYPES:
            raise self.refuse(url, f"data URL of type {media_type!r}")
        if len(payload) > MAX_DATA_URI_BYTES * 2:
            raise self.refuse(url, "data URL too large")
        try:
            body = base64.b64decode(payload, validate=True) if "base64" in params[1:] else unquote_to_bytes(payload)
        except (binascii.Error, ValueError) as error:
            raise self.refuse(url, "malformed data URL") from error
        if len(body) > MAX_DATA_URI_BYTES:
            raise self.refuse(url, "data URL too large")
        return body, media_type

    def fetch(self, url, headers=None):
        """Serve a bundled asset or a small image data URL; refuse anything else."""
        if url[:5].lower() == "data:":
            body, media_type = self.data_uri(url)
            return URLFetcherResponse(url, body, {"Content-Type": media_type})
        path = self.resolve(url)
        self.served += 1
        media_type = ASSET_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0]
        return URLFetcherResponse(f"{SCHEME}:{path.relative_to(self.root).as_posix()}", path.read_bytes(),
                                  {"Content-Type": media_type or "application/octet-stream"})

    def open(self, url, data=None, timeout=None):
        """Never the urllib machinery of the parent class: everything goes through ``fetch``."""
        return self.fetch(getattr(url, "full_url", url))

    def __call__(self, url):
        return self.fetch(url)


# --------------------------------------------------------------------------------------------------
# The long-lived renderer state
# --------------------------------------------------------------------------------------------------

_lock = threading.RLock()
_state: dict[str, Any] = {}
#: See ``font_config``.
FREEZE_GC_AT_FIRST_RENDER = True


def fetcher():
    """The process's sandboxed fetcher."""
    if "fetcher" not in _state:
        _state["fetcher"] = AssetFetcher()
    return _state["fetcher"]


def font_config():
    """The process's one ``FontConfiguration`` (fonts of ``print.css`` are loaded into it once).

    Made at the first render, which is also when the objects alive until then (the app, its modules,
    the recommender's model...) are moved out of the garbage collector's way (``gc.freeze``): a render
    leaves a large graph of boxes behind, and each full collection used to walk those ~300,000 startup
    objects too, a 200 ms pause every third render or so (20–60 ms after freezing).
    """
    if "fonts" not in _state:
        if FREEZE_GC_AT_FIRST_RENDER:
            gc.freeze()
        _state["fonts"] = FontConfiguration()
    return _state["fonts"]


def stylesheet(name: str = STYLESHEET):
    """The parsed print stylesheet, re-read only when the file changes (so editing it needs no restart)."""
    path = ASSETS_DIR / name
    stamp = path.stat().st_mtime_ns
    cached = _state.get(("css", name))
    if cached is None or cached[0] != stamp:
        css = CSS(string=path.read_text(encoding="utf-8"), base_url=BASE_URL, url_fetcher=fetcher(),
                  font_config=font_config())
        cached = (stamp, css)
        _state[("css", name)] = cached
    return cached[1]


def nfc(text: str) -> str:
    """Text in Unicode NFC (composed characters), the form search and copy-paste expect."""
    return unicodedata.normalize("NFC", text)


def render_pdf(html: str, *, url_fetcher=None, stylesheets: tuple[str, ...] = (STYLESHEET,)) -> bytes:
    """Lay out ``html`` (a complete document) as PDF with the print stylesheet and the bundled fonts.

    ``url_fetcher`` replaces the process's sandboxed fetcher (tests pass their own to count what it
    served or refused; it must be an ``AssetFetcher``).
    """
    html = nfc(html)
    with _lock:
        document = HTML(string=html, base_url=BASE_URL, url_fetcher=url_fetcher or fetcher(), media_type="print")
        return document.write_pdf(font_config=font_config(), stylesheets=[stylesheet(name) for name in stylesheets])


# --------------------------------------------------------------------------------------------------
# QR codes
# --------------------------------------------------------------------------------------------------


def qr_code(payload: str):
    """The QR code (segno) of ``payload``: error correction at least M, boosted when space allows."""
    return segno.make(nfc(payload), error="m", micro=False)


def qr_svg(payload: str, title: str | None = None) -> Markup:
    """The QR code of ``payload`` as inline SVG (black modules on white, a 4-module quiet zone)."""
    buffer = io.BytesIO()
    qr_code(payload).save(buffer, kind="svg", xmldecl=False, svgns=True, svgclass="qr", lineclass=None,
                          omitsize=True, border=4, dark="#000", light="#fff", title=title, nl=False)
    return Markup(buffer.getvalue().decode("utf-8"))  # noqa: S704 (segno escapes the title; the rest is paths)  # nosec B704


# --------------------------------------------------------------------------------------------------
# Templates
# --------------------------------------------------------------------------------------------------

#: The print templates (``templates/pdf/<name>.html``); only these can be rendered or cached.
TEMPLATES = ("plan", "decision_letter")


def template_path(template: str) -> str:
    if template not in TEMPLATES:
        raise ValueError(f"unknown print template {template!r}")
    return f"pdf/{template}.html"


def render_html(template: str, data: dict[str, Any], locale: str) -> str:
    """The HTML of a print template for ``data``, in ``locale`` (needs an app context)."""
    with force_locale(locale):
        return nfc(render_template(template_path(template), data=data, locale=locale, qr_svg=qr_svg))


def render_document(template: str, data: dict[str, Any], locale: str) -> bytes:
    """The PDF of a print template for ``data`` (no cache; see ``pdf_cache.get_or_render``)."""
    return render_pdf(render_html(template, data, locale))
