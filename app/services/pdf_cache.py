"""Rendered PDFs cached on disk, keyed by what they were rendered from, and rendered as jobs.

A key is the sha256 of the template name, the print version (the templates, the stylesheet, the fonts
and the WeasyPrint version: ``print_version``), the input data as canonical JSON and the locale. The
same plan downloaded again costs a file read; any change to the plan, its language or the print
templates gives another key, so nothing needs invalidating.

Files live in ``PDF_CACHE_DIR`` (default ``<instance>/pdf-cache/``), one per key; in the scaled mode the
web processes and the RQ workers must see the same folder.

- ``<key>.pdf``: the document (written to a temporary name, then renamed, so a reader never sees
  half a file);
- ``<key>.pending``: a render is queued or running (stale after ``PENDING_TTL`` seconds, e.g. when a
  worker died, so the page can offer to try again);
- ``<key>.failed``: the last render failed (its first line says why, for the log; the page says it
  in plain words).

Pages that only need to know where a PDF stands (the download, the plan page's PDF box) can skip
building the data: ``remembered_status`` keeps, for a while, the key last computed for a *fingerprint*
(a cheap summary of what the data depends on, chosen by the caller), so a repeated download costs a
few queries and a file read, not a rebuild of the plan and its recommendations. Anything the
fingerprint leaves out reaches the PDF within ``KEY_MEMO_SECONDS``.

``queue_render`` queues ``render_job`` through ``app.jobs`` with the data itself (plain JSON), so an RQ
worker renders exactly what the web process saw; in the embedded mode the job runs at once. This
module does not import WeasyPrint: only the process that renders loads it.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from flask import current_app

from app import jobs

READY = "ready"
PENDING = "pending"
FAILED = "failed"
MISSING = "missing"

#: A queued render not finished after this many seconds is taken as lost (worker killed, queue flushed).
PENDING_TTL = 10 * 60
#: Cached files older than this are removed after a render (a plan changes; its old PDFs are not needed).
MAX_AGE_DAYS = 30
#: How long ``remembered_status`` trusts a fingerprint's key: what a fingerprint cannot see (a retrained
#: recommender, say) shows in the PDF after at most this many seconds.
KEY_MEMO_SECONDS = 300
KEY_MEMO_SIZE = 2048
#: Bump to re-render every cached PDF when the renderer changes in a way the files below do not show.
RENDERER_REVISION = 1

_ROOT = Path(__file__).resolve().parents[2]
#: Files whose content changes what a PDF looks like.
_PRINT_SOURCES = (_ROOT / "templates" / "pdf", _ROOT / "app" / "pdf_assets")


@dataclass(frozen=True)
class Entry:
    """Where a key stands: ``status`` is ready/pending/failed/missing; ``path`` is the PDF when ready."""

    key: str
    status: str
    path: Path | None = None


def cache_dir(create: bool = False) -> Path:
    """The cache folder (``PDF_CACHE_DIR``, else ``<instance>/pdf-cache``); made when ``create`` (a write)."""
    folder = Path(current_app.config.get("PDF_CACHE_DIR") or Path(current_app.instance_path) / "pdf-cache")
    if create:
        folder.mkdir(parents=True, exist_ok=True)
    return folder


@cache
def print_version() -> str:
    """A digest of the print templates, stylesheet and fonts, the renderer revision and WeasyPrint's version."""
    from importlib.metadata import version

    digest = hashlib.sha256(f"{RENDERER_REVISION}:{version('weasyprint')}".encode())
    for folder in _PRINT_SOURCES:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            digest.update(path.relative_to(_ROOT).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _canonical(value: Any) -> Any:
    """Strings in NFC (the same text typed two ways is the same document), containers recursively."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value


def plain(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` as plain JSON values (what a job receives and the key hashes); dates become strings."""
    return _canonical(json.loads(json.dumps(data, ensure_ascii=False, default=str)))


def cache_key(template: str, data: dict[str, Any], locale: str) -> str:
    """The sha256 of (template, print version, data as canonical JSON, locale)."""
    payload = json.dumps(
        {"template": template, "version": print_version(), "locale": locale, "data": plain(data)},
        ensure_ascii=False, sort_keys=True, separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _paths(key: str, create: bool = False) -> tuple[Path, Path, Path]:
    if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
        raise ValueError("not a cache key")
    folder = cache_dir(create)
    return folder / f"{key}.pdf", folder / f"{key}.pending", folder / f"{key}.failed"


def entry(key: str) -> Entry:
    """The state of ``key``: the PDF when it is there, else pending (recently queued), failed or missing."""
    pdf_path, pending, failed = _paths(key)
    if pdf_path.is_file():
        return Entry(key, READY, pdf_path)
    try:
        if time.time() - pending.stat().st_mtime < PENDING_TTL:
            return Entry(key, PENDING)
    except FileNotFoundError:
        pass
    if failed.is_file():
        return Entry(key, FAILED)
    return Entry(key, MISSING)


def status(template: str, data: dict[str, Any], locale: str) -> Entry:
    """The state of the PDF of ``template`` for ``data`` in ``locale``."""
    return entry(cache_key(template, data, locale))


_memo: OrderedDict[Hashable, tuple[str, float]] = OrderedDict()
_memo_lock = threading.Lock()


def remember(template: str, locale: str, fingerprint: Hashable, key: str) -> None:
    """Note that data with ``fingerprint`` has ``key`` (in this process, for ``KEY_MEMO_SECONDS``)."""
    with _memo_lock:
        _memo[(template, locale, fingerprint)] = (key, time.monotonic())
        _memo.move_to_end((template, locale, fingerprint))
        while len(_memo) > KEY_MEMO_SIZE:
            _memo.popitem(last=False)


def remembered_status(template: str, locale: str, fingerprint: Hashable,
                      build: Callable[[], dict[str, Any]]) -> Entry:
    """Where the PDF of ``build()``'s data stands, calling ``build`` only when ``fingerprint`` is not known.

    ``fingerprint`` must change whenever the data would (the caller's promise); the memo also expires
    after ``KEY_MEMO_SECONDS``, which bounds the effect of anything the fingerprint leaves out.
    """
    with _memo_lock:
        known = _memo.get((template, locale, fingerprint))
    if known is not None and time.monotonic() - known[1] < KEY_MEMO_SECONDS:
        return entry(known[0])
    key = cache_key(template, build(), locale)
    remember(template, locale, fingerprint, key)
    return entry(key)


def forget_keys() -> None:
    """Empty the memo (tests; nothing else needs it)."""
    with _memo_lock:
        _memo.clear()


def _write_atomic(path: Path, content: bytes) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(content)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _render_and_store(template: str, data: dict[str, Any], locale: str, key: str) -> bytes:
    from app.services import pdf  # WeasyPrint is loaded here, in the rendering process only

    content = pdf.render_document(template, data, locale)
    pdf_path, pending, failed = _paths(key, create=True)
    _write_atomic(pdf_path, content)
    pending.unlink(missing_ok=True)
    failed.unlink(missing_ok=True)
    return content


def get_or_render(template: str, data: dict[str, Any], locale: str) -> bytes:
    """The PDF bytes, from the cache or rendered now in this process (CLI, short letters)."""
    data = plain(data)
    key = cache_key(template, data, locale)
    current = entry(key)
    if current.status == READY:
        return current.path.read_bytes()
    return _render_and_store(template, data, locale, key)


def queue_render(template: str, data: dict[str, Any], locale: str) -> Entry:
    """Make sure the PDF is ready or being prepared: queue a render unless one is cached or pending.

    A failed render is tried again. Returns the entry as it stands after queuing (``ready`` at once in
    the embedded mode, where the job has already run).
    """
    data = plain(data)
    key = cache_key(template, data, locale)
    current = entry(key)
    if current.status in (READY, PENDING):
        return current
    _, pending, failed = _paths(key, create=True)
    failed.unlink(missing_ok=True)
    pending.write_text(str(time.time()))
    try:
        jobs.enqueue("app.services.pdf_cache.render_job", template, data, locale, key, job_id=f"pdf-{key}")
    except Exception as error:  # e.g. Redis unreachable: the page says "could not be prepared, try again"
        current_app.logger.exception("Could not queue the PDF render of %s (%s)", template, key)
        failed.write_text(f"{type(error).__name__}: {error}"[:2000])
        pending.unlink(missing_ok=True)
    return entry(key)


def render_job(template: str, data: dict[str, Any], locale: str, key: str) -> None:
    """The background job: render ``template`` for ``data`` into the cache under ``key``.

    A failure is written down (``failed``) and logged rather than raised: rendering the same data
    again would fail again, so RQ retries would only delay the message the user sees.
    """
    pdf_path, pending, failed = _paths(key, create=True)
    if pdf_path.is_file():
        pending.unlink(missing_ok=True)
        return
    try:
        _render_and_store(template, data, locale, key)
    except Exception as error:  # any failure must leave a readable state behind
        current_app.logger.exception("PDF render failed for %s (%s)", template, key)
        failed.write_text(f"{type(error).__name__}: {error}"[:2000])
        pending.unlink(missing_ok=True)
        return
    prune()


def prune(max_age_days: int = MAX_AGE_DAYS) -> int:
    """Remove cached files older than ``max_age_days``; returns how many were removed."""
    limit = time.time() - max_age_days * 86400
    removed = 0
    for path in cache_dir(create=True).iterdir():
        try:
            if path.is_file() and path.stat().st_mtime < limit:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed
