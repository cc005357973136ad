"""The PDF cache and the render job: downloading again returns the same bytes without rendering again,
changed data (or language) renders anew, the state says "being prepared" while a job waits, a failed
render says so, and with ``JOB_QUEUE=rq`` the render waits for a worker (skipped without Redis)."""

from __future__ import annotations

import os
import time
import unicodedata
import uuid

import pytest

from app import jobs
from app.services import pdf, pdf_cache
from tests.printing_helpers import sample_printable

REDIS_URL = os.environ.get("TEST_REDIS_URL")
needs_redis = pytest.mark.skipif(not REDIS_URL, reason="TEST_REDIS_URL is not set")


@pytest.fixture
def cache_dir(app, tmp_path, monkeypatch):
    folder = tmp_path / "pdf-cache"
    monkeypatch.setitem(app.config, "PDF_CACHE_DIR", str(folder))
    return folder


@pytest.fixture
def renders(monkeypatch):
    """Count the real renders (the renderer still runs: this only counts its calls)."""
    calls = []
    original = pdf.render_document

    def counting(template, data, locale):
        calls.append((template, locale))
        return original(template, data, locale)

    monkeypatch.setattr(pdf, "render_document", counting)
    return calls


def test_the_cache_returns_the_same_bytes_without_rendering_again(cache_dir, renders):
    data = sample_printable("vi")
    first = pdf_cache.get_or_render("plan", data, "vi")
    second = pdf_cache.get_or_render("plan", sample_printable("vi"), "vi")
    assert first == second
    assert first.startswith(b"%PDF-")
    assert len(renders) == 1
    assert [p.suffix for p in cache_dir.iterdir()] == [".pdf"], "one file, no temporary or marker left"


def test_changed_data_or_language_renders_a_new_pdf(cache_dir, renders):
    data = sample_printable("vi")
    original = pdf_cache.get_or_render("plan", data, "vi")
    changed = sample_printable("vi")
    changed["phases"][0]["items"][0]["status_label"] = "Đã xong"
    changed["progress"]["done"] = 5
    assert pdf_cache.cache_key("plan", changed, "vi") != pdf_cache.cache_key("plan", data, "vi")
    updated = pdf_cache.get_or_render("plan", changed, "vi")
    assert updated != original
    english = pdf_cache.get_or_render("plan", sample_printable("en"), "en")
    assert english not in (original, updated)
    assert len(renders) == 3
    assert pdf_cache.get_or_render("plan", data, "vi") == original
    assert len(renders) == 3


def test_the_key_ignores_how_the_text_was_typed_but_not_what_it_says():
    data = sample_printable("vi")
    decomposed = sample_printable("vi")
    decomposed["organisation"]["name"] = unicodedata.normalize("NFD", data["organisation"]["name"])
    assert pdf_cache.cache_key("plan", decomposed, "vi") == pdf_cache.cache_key("plan", data, "vi")
    renamed = sample_printable("vi")
    renamed["organisation"]["name"] += " 2"
    assert pdf_cache.cache_key("plan", renamed, "vi") != pdf_cache.cache_key("plan", data, "vi")
    assert pdf_cache.cache_key("decision_letter", data, "vi") != pdf_cache.cache_key("plan", data, "vi")


def test_in_the_embedded_mode_a_queued_render_is_ready_at_once(app, cache_dir, renders):
    assert not jobs.is_async()
    data = sample_printable("vi")
    assert pdf_cache.status("plan", data, "vi").status == pdf_cache.MISSING
    entry = pdf_cache.queue_render("plan", data, "vi")
    assert entry.status == pdf_cache.READY
    assert entry.path.read_bytes().startswith(b"%PDF-")
    assert pdf_cache.queue_render("plan", data, "vi").status == pdf_cache.READY
    assert len(renders) == 1, "queuing again a ready PDF renders nothing"


def test_a_failed_render_says_so_and_can_be_tried_again(app, cache_dir, monkeypatch):
    data = sample_printable("vi")

    def broken(template, data, locale):
        raise RuntimeError("Pango is not installed")

    with monkeypatch.context() as patch:
        patch.setattr(pdf, "render_document", broken)
        entry = pdf_cache.queue_render("plan", data, "vi")
    assert entry.status == pdf_cache.FAILED
    assert pdf_cache.entry(entry.key).status == pdf_cache.FAILED
    assert "Pango is not installed" in (cache_dir / f"{entry.key}.failed").read_text()
    assert pdf_cache.queue_render("plan", data, "vi").status == pdf_cache.READY
    assert not (cache_dir / f"{entry.key}.failed").exists()


def test_an_unreachable_queue_is_reported_as_a_failure_not_an_error(app, cache_dir, monkeypatch, renders):
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setitem(app.config, "JOB_QUEUE", "rq")
    entry = pdf_cache.queue_render("plan", sample_printable("vi"), "vi")
    assert entry.status == pdf_cache.FAILED
    assert renders == []


def test_reading_the_state_creates_no_folder(app, tmp_path, monkeypatch):
    folder = tmp_path / "never-made"
    monkeypatch.setitem(app.config, "PDF_CACHE_DIR", str(folder))
    assert pdf_cache.status("plan", sample_printable("vi"), "vi").status == pdf_cache.MISSING
    assert not folder.exists()


def test_a_pending_marker_is_forgotten_when_the_job_was_lost(app, cache_dir):
    key = pdf_cache.cache_key("plan", sample_printable("vi"), "vi")
    marker = cache_dir / f"{key}.pending"
    cache_dir.mkdir(parents=True, exist_ok=True)
    marker.write_text("0")
    assert pdf_cache.entry(key).status == pdf_cache.PENDING
    old = time.time() - pdf_cache.PENDING_TTL - 5
    os.utime(marker, (old, old))
    assert pdf_cache.entry(key).status == pdf_cache.MISSING


def test_keys_are_checked_before_they_become_file_names(app, cache_dir):
    for bad in ("../../etc/passwd", "a" * 63, "A" * 64, "g" * 64):
        with pytest.raises(ValueError):
            pdf_cache.entry(bad)


def test_old_files_are_pruned(app, cache_dir):
    cache_dir.mkdir(parents=True, exist_ok=True)
    old, new = cache_dir / ("a" * 64 + ".pdf"), cache_dir / ("b" * 64 + ".pdf")
    old.write_bytes(b"%PDF-old")
    new.write_bytes(b"%PDF-new")
    long_ago = time.time() - (pdf_cache.MAX_AGE_DAYS + 1) * 86400
    os.utime(old, (long_ago, long_ago))
    assert pdf_cache.prune() == 1
    assert not old.exists() and new.exists()


def test_the_print_version_changes_with_the_templates():
    """The version hashes the print templates and stylesheet, so editing them re-renders every PDF."""
    version = pdf_cache.print_version()
    assert len(version) == 16
    sources = [str(path) for path in pdf_cache._PRINT_SOURCES]
    assert any(path.endswith("templates/pdf") for path in sources)
    assert any(path.endswith("app/pdf_assets") for path in sources)


# With an RQ worker ------------------------------------------------------------------------------------


@pytest.fixture
def rq_queue(app, monkeypatch):
    """Switch this app to RQ on a private queue; the queue is deleted afterwards."""
    monkeypatch.setitem(app.config, "REDIS_URL", REDIS_URL)
    monkeypatch.setitem(app.config, "JOB_QUEUE", "rq")
    monkeypatch.setitem(app.config, "JOB_QUEUE_NAME", f"dxportal-test-{uuid.uuid4().hex}")
    queue = jobs.queue(app)
    yield queue
    queue.delete(delete_jobs=True)
    queue.connection.close()


@needs_redis
def test_with_rq_the_render_waits_for_a_worker(app, cache_dir, rq_queue, renders):
    from rq import SimpleWorker

    data = sample_printable("vi")
    entry = pdf_cache.queue_render("plan", data, "vi")
    assert entry.status == pdf_cache.PENDING, "the web process does not render"
    assert renders == []
    assert pdf_cache.queue_render("plan", data, "vi").status == pdf_cache.PENDING
    assert rq_queue.count == 1, "asking again while it is pending queues nothing more"
    SimpleWorker([rq_queue], connection=rq_queue.connection).work(burst=True)
    done = pdf_cache.status("plan", data, "vi")
    assert done.status == pdf_cache.READY
    assert done.path.read_bytes().startswith(b"%PDF-")
    assert len(renders) == 1
