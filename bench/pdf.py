"""PDF benchmark: render time and peak memory of a typical printed action plan, against the floor (the
bare WeasyPrint render of the same HTML), and the time of a cached download.

Run from the project root (``make bench`` does): .venv/bin/python bench/pdf.py
On SQLite (a temporary file) with the action-plan test catalogue, a mid-maturity enterprise and its real
plan from ``app.services.plans``. Prints figures only; it asserts nothing. Targets on the project's
machine: plan render p50 <= 0.8 s, ratio to the bare render <= 1.15, cached download p95 <= 20 ms,
renderer peak memory <= 250 MiB.

- *plan render* is what the render job does (``pdf_cache.render_job``): the print template with the
  plan's data, NFC, WeasyPrint with the process's shared fonts and stylesheet, and the cache write.
  The data itself (``plans.printable``) is built by the web process before queuing; its time is
  printed on its own line.
- *bare render* is ``weasyprint.HTML(string=html).write_pdf()`` on the same HTML, with the same
  stylesheet and font configuration: the floor no pipeline can beat.
- Both run alternately (each going first every other time), so a busy machine slows both alike. The
  ratio is printed from the wall-time medians, as the median of the per-pair ratios, and from the
  fastest CPU times of this process (on a shared machine, other processes' load makes single runs
  bimodal; the fastest runs show what the pipeline itself adds).
- *peak memory* is the peak resident set size of a fresh child process that loads the app and renders
  the plan ``MEMORY_RENDERS`` times (the bare renderer gets a child of its own). It counts Pango's and
  Fontconfig's C memory, which ``tracemalloc`` cannot see. Linux's ``VmHWM`` is read rather than
  ``ru_maxrss``: a child's ``ru_maxrss`` starts at its parent's size (it survives fork and exec),
  so it would report this benchmark process, not the renderer.
- *cached download* is ``GET /organisations/<id>/plans/<id>/pdf`` through the Flask test client, for a
  logged-in member, once the PDF is ready (the page builds the plan's data, finds the key, sends the file).
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import percentile  # noqa: E402 (after the path set-up)

RENDERS = 25
WARMUP = 2
DOWNLOADS = 200
MEMORY_RENDERS = 10


def _config(database: Path, cache: Path):
    from config import TestConfig

    class BenchConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{database}"
        PDF_CACHE_DIR = str(cache)
        RATELIMIT_ENABLED = False

    return BenchConfig


def peak_rss_mib() -> float:
    """The peak resident set size of this process since it started (``VmHWM``; ``ru_maxrss`` elsewhere)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child_memory(kind: str, data_file: str) -> None:
    """Child process: render ``MEMORY_RENDERS`` times, print the peak RSS in MiB as JSON."""
    payload = json.loads(Path(data_file).read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as folder:
        from app import create_app

        app = create_app(_config(Path(folder) / "unused.sqlite3", Path(folder) / "cache"))
        with app.app_context():
            from weasyprint import HTML

            from app.services import pdf, pdf_cache

            before = peak_rss_mib()
            for n in range(MEMORY_RENDERS):
                if kind == "plan":
                    key = f"{n:064x}"
                    pdf_cache.render_job("plan", payload["data"], payload["locale"], key)
                else:
                    HTML(string=payload["html"], base_url=pdf.BASE_URL, url_fetcher=pdf.fetcher()).write_pdf(
                        font_config=pdf.font_config(), stylesheets=[pdf.stylesheet()])
            peak = peak_rss_mib()
    print(json.dumps({"before_mib": before, "peak_mib": peak}))


def _memory(kind: str, data_file: Path) -> dict:
    command = [sys.executable, __file__, "--memory", kind, str(data_file)]
    result = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT)  # noqa: S603 (our own script)
    return json.loads(result.stdout.strip().splitlines()[-1])


def _seed_plan():
    """A mid-maturity enterprise with its plan, and its owner (the plans tests' catalogue)."""
    from app.extensions import db
    from app.services import plans
    from tests.factories import UserFactory
    from tests.plans_helpers import enterprise, plan_catalogue, submit

    plan_catalogue()
    owner = UserFactory(locale="vi")
    organisation = enterprise(owner=owner, name="Công ty TNHH Cơ khí Trường Thịnh Đức Phổ")
    submit(organisation, owner, "middle")
    plan, _ = plans.create_or_update(organisation, owner)
    db.session.commit()
    return plan, owner


def main() -> None:
    import io

    from flask_migrate import upgrade
    from pypdf import PdfReader

    from app import create_app

    with tempfile.TemporaryDirectory() as folder:
        folder_path = Path(folder)
        app = create_app(_config(folder_path / "bench.sqlite3", folder_path / "pdf-cache"))
        with app.app_context():
            upgrade()
            from weasyprint import HTML

            from app.services import pdf, pdf_cache, plans

            plan, owner = _seed_plan()
            locale = "vi"
            started = time.perf_counter()
            data = pdf_cache.plain(plans.printable(plan, locale))
            printable_ms = (time.perf_counter() - started) * 1000
            html = pdf.render_html("plan", data, locale)
            first = pdf.render_pdf(html)
            pages = len(PdfReader(io.BytesIO(first)).pages)

            def full(n: int) -> None:
                pdf_cache.render_job("plan", data, locale, f"{n:064x}")

            def bare() -> None:
                HTML(string=html, base_url=pdf.BASE_URL, url_fetcher=pdf.fetcher()).write_pdf(
                    font_config=pdf.font_config(), stylesheets=[pdf.stylesheet()])

            for n in range(WARMUP):
                full(10_000 + n)
                bare()
            plan_times, bare_times, plan_cpu, bare_cpu = [], [], [], []
            for n in range(RENDERS):
                # Alternate which goes first, so neither always runs on a warmer (or busier) machine.
                for kind in (("plan", "bare") if n % 2 == 0 else ("bare", "plan")):
                    started, cpu = time.perf_counter(), time.process_time()
                    if kind == "plan":
                        full(n)
                        plan_times.append(time.perf_counter() - started)
                        plan_cpu.append(time.process_time() - cpu)
                    else:
                        bare()
                        bare_times.append(time.perf_counter() - started)
                        bare_cpu.append(time.process_time() - cpu)

            data_file = folder_path / "data.json"
            data_file.write_text(json.dumps({"data": data, "locale": locale, "html": html}, ensure_ascii=False),
                                 encoding="utf-8")
            plan_memory = _memory("plan", data_file)
            bare_memory = _memory("bare", data_file)

            client = app.test_client()
            with client.session_transaction() as session:
                session["_user_id"] = owner.get_id()
                session["_fresh"] = True
            url = f"/organisations/{plan.organisation_id}/plans/{plan.id}/pdf"
            pdf_cache.queue_render("plan", plans.printable(plan, locale), locale)
            assert client.get(url).mimetype == "application/pdf"
            downloads = []
            for _ in range(DOWNLOADS):
                started = time.perf_counter()
                response = client.get(url)
                downloads.append(time.perf_counter() - started)
                assert response.status_code == 200 and response.mimetype == "application/pdf"

    p50, p95 = statistics.median(plan_times), percentile(plan_times, 0.95)
    b50, b95 = statistics.median(bare_times), percentile(bare_times, 0.95)
    print(f"PDF benchmark: a typical action plan ({pages} pages, {len(first) / 1024:.0f} KiB), {RENDERS} renders each")
    print(f"  plan data (plans.printable, web side)   {printable_ms:8.1f} ms")
    print(f"  plan render   p50 {p50 * 1000:8.1f} ms   p95 {p95 * 1000:8.1f} ms   (target p50 <= 800 ms)")
    print(f"  bare render   p50 {b50 * 1000:8.1f} ms   p95 {b95 * 1000:8.1f} ms   (the floor)")
    pair_ratios = [plan / bare for plan, bare in zip(plan_times, bare_times, strict=True)]
    print(f"  ratio plan/bare   p50 {p50 / b50:6.3f}   p95 {p95 / b95:6.3f}   median of pairs "
          f"{statistics.median(pair_ratios):6.3f}   fastest (CPU) {min(plan_cpu) / min(bare_cpu):6.3f}"
          "   (target <= 1.15)")
    print(f"  CPU time      plan p50 {statistics.median(plan_cpu) * 1000:8.1f} ms   "
          f"fastest {min(plan_cpu) * 1000:6.1f} ms"
          f"   bare p50 {statistics.median(bare_cpu) * 1000:8.1f} ms   fastest {min(bare_cpu) * 1000:6.1f} ms")
    print(f"  peak memory   plan renderer {plan_memory['peak_mib']:6.1f} MiB   bare {bare_memory['peak_mib']:6.1f} MiB"
          f"   (after start-up: {plan_memory['before_mib']:.1f} / {bare_memory['before_mib']:.1f} MiB;"
          " target <= 250 MiB)")
    print(f"  cached download   p50 {statistics.median(downloads) * 1000:6.2f} ms   "
          f"p95 {percentile(downloads, 0.95) * 1000:6.2f} ms   ({DOWNLOADS} requests, target p95 <= 20 ms)")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--memory":
        _child_memory(sys.argv[2], sys.argv[3])
    else:
        main()
