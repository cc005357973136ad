"""The printed action plan and the renderer: the PDF opens, has a plan's pages, carries the Vietnamese
text (NFC) and every pillar, embeds its fonts (also in the page header and footer), links to the plan
with a QR code a phone can read, and the renderer reads nothing but its bundled assets.

These tests feed the plan template the data ``plans.printable`` returns (``tests.printing_helpers``);
the tests with real plans from the database are in ``test_pdf_routes.py``.

The QR payload is proven twice: the SVG in the page is exactly segno's code for the plan URL, and the
rendered first page, rasterised (pypdfium2) and decoded with zxing-cpp, reads back as the URL.
"""

from __future__ import annotations

import io
import re
import socket
import threading
import unicodedata

import pytest
from pypdf import PdfReader

from app.services import pdf
from tests.printing_helpers import ORGANISATION_NAME, PILLARS, PLAN_URL, sample_printable


def pdf_text(content: bytes) -> str:
    """All text of a PDF, whitespace collapsed (table cells wrap lines anywhere)."""
    reader = PdfReader(io.BytesIO(content))
    return " ".join(" ".join(page.extract_text() or "" for page in reader.pages).split())


def page_texts(content: bytes) -> list[str]:
    return [" ".join((page.extract_text() or "").split()) for page in PdfReader(io.BytesIO(content)).pages]


def pdf_fonts(content: bytes) -> dict[str, set[str]]:
    """{base font name: the /FontFile keys of its descriptor} over every page."""
    fonts: dict[str, set[str]] = {}
    for page in PdfReader(io.BytesIO(content)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            described = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
            descriptor = described["/FontDescriptor"].get_object()
            name = re.sub(r"^/?[A-Z]{6}\+", "", str(font["/BaseFont"]))
            fonts.setdefault(name, set()).update(k for k in descriptor if str(k).startswith("/FontFile"))
    return fonts


@pytest.fixture(scope="module")
def plan_vi(app):
    """The Vietnamese plan, rendered once for the tests that only read it."""
    with app.app_context():
        return pdf.render_document("plan", sample_printable("vi"), "vi")


@pytest.fixture(scope="module")
def plan_en(app):
    with app.app_context():
        return pdf.render_document("plan", sample_printable("en"), "en")


# The document ---------------------------------------------------------------------------------------


def test_the_plan_opens_and_has_the_pages_of_a_typical_plan(plan_vi):
    reader = PdfReader(io.BytesIO(plan_vi))
    assert 4 <= len(reader.pages) <= 6
    width, height = float(reader.pages[0].mediabox.width), float(reader.pages[0].mediabox.height)
    assert (round(width), round(height)) == (595, 842), "A4 in points"
    assert reader.metadata.title.endswith(ORGANISATION_NAME)


def test_the_text_has_the_organisation_name_with_its_diacritics_and_every_pillar(plan_vi):
    text = pdf_text(plan_vi)
    assert ORGANISATION_NAME in text
    for _code, name in PILLARS["vi"]:
        assert name in text, name
    assert "KH7-Q4M9-X2" in text, "the verification code is printed"
    assert "50.000.000 ₫" in text, "programme subsidies in the Vietnamese money format"
    assert "Công ty TNHH Phần mềm Sông Trà" in text and "0905 123 456" in text, "partners with contacts"


def test_decomposed_input_comes_out_composed(app):
    """Text typed as base letter + combining marks (NFD) is normalised: the PDF's text matches a search."""
    decomposed = unicodedata.normalize("NFD", ORGANISATION_NAME)
    assert decomposed != ORGANISATION_NAME
    data = sample_printable("vi")
    data["organisation"]["name"] = decomposed
    text = pdf_text(pdf.render_document("plan", data, "vi"))
    assert ORGANISATION_NAME in text
    assert "\u0301" not in text and "\u0323" not in text, "no stray combining accents"


def test_every_page_is_numbered_and_carries_the_running_header(plan_vi):
    pages = page_texts(plan_vi)
    total = len(pages)
    for number, text in enumerate(pages, start=1):
        assert f"Trang {number}/{total}" in text, number
    header = f"{ORGANISATION_NAME} · "
    assert header not in pages[0], "the cover has no running header"
    for text in pages[1:]:
        assert header in text, "the header names the organisation on every page but the cover"


def test_fonts_are_embedded_and_no_other_font_is_used(plan_vi):
    """Body, header and page numbers all use the embedded DejaVu Sans: no system font slipped in."""
    fonts = pdf_fonts(plan_vi)
    assert {"DejaVu-Sans", "DejaVu-Sans-Bold"} <= set(fonts)
    for name, files in fonts.items():
        assert name.startswith("DejaVu-Sans"), name
        assert "/FontFile2" in files, f"{name} is not embedded"


def test_the_print_stylesheet_loads_the_bundled_fonts_through_the_sandbox(app):
    """A fresh font configuration reads the two TrueType files from app/pdf_assets, nothing else."""
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration

    fetcher = pdf.AssetFetcher()
    CSS(string=(pdf.ASSETS_DIR / pdf.STYLESHEET).read_text(), base_url=pdf.BASE_URL, url_fetcher=fetcher,
        font_config=FontConfiguration())
    assert fetcher.served == 2
    assert not fetcher.refused
    assert (pdf.ASSETS_DIR / "fonts" / "LICENSE").read_text().startswith("Fonts are (c) Bitstream")


def test_english_when_the_reader_uses_english(plan_en):
    pages = page_texts(plan_en)
    text = " ".join(pages)
    assert "Digital transformation plan" in text
    for _code, name in PILLARS["en"]:
        assert name in text, name
    assert f"Page 1/{len(pages)}" in pages[0]
    assert "Trang" not in text


# The QR code -----------------------------------------------------------------------------------------


def test_the_page_carries_exactly_the_qr_code_of_the_plan_url(app):
    html = pdf.render_html("plan", sample_printable("vi"), "vi")
    reference = pdf.qr_code(PLAN_URL)
    assert str(pdf.qr_svg(PLAN_URL, "x")).split("</title>", 1)[1] in html
    other = pdf.qr_svg(PLAN_URL + "0", "x")
    assert str(other).split("</title>", 1)[1] not in html
    assert reference.error in ("M", "Q", "H"), "error correction strong enough for a printed, pinned page"


def test_the_printed_qr_code_reads_back_as_the_plan_url(plan_vi):
    """Rasterise the cover as a phone camera would see it, and decode it."""
    pdfium = pytest.importorskip("pypdfium2")
    zxingcpp = pytest.importorskip("zxingcpp")
    image = pdfium.PdfDocument(plan_vi)[0].render(scale=2).to_pil()
    decoded = [result.text for result in zxingcpp.read_barcodes(image)]
    assert decoded == [PLAN_URL]


# The sandbox -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [
    "file:///etc/passwd",
    "FILE:///etc/hostname",
    "file://localhost/etc/passwd",
    "http://127.0.0.1:9/x.css",
    "https://example.org/logo.png",
    "ftp://example.org/x",
    "//example.org/x.css",
    "../config.py",
    "../../../../etc/passwd",
    "%2e%2e/%2e%2e/config.py",
    "fonts/../../services/pdf.py",
    "dxasset:../services/pdf.py",
    "dxasset:/../../config.py",
    "dxasset:fonts\\..\\..\\services\\pdf.py",
    "dxasset:fonts/LICENSE",
    "fonts/missing.ttf",
    "print.css%00.png",
    "data:text/html,<script>alert(1)</script>",
    "data:image/png;base64," + "A" * (pdf.MAX_DATA_URI_BYTES * 2),
], ids=lambda url: url[:40])
def test_the_fetcher_refuses_anything_but_bundled_assets(url):
    fetcher = pdf.AssetFetcher()
    with pytest.raises(pdf.AssetRefused):
        fetcher(url)
    assert list(fetcher.refused) == [url]
    assert fetcher.served == 0


@pytest.mark.parametrize("url", ["fonts/DejaVuSans.ttf", "dxasset:print.css", "dxasset:/fonts/DejaVuSans-Bold.ttf",
                                 "/print.css"])
def test_the_fetcher_serves_bundled_assets(url):
    fetcher = pdf.AssetFetcher()
    response = fetcher(url)
    assert response.read()[:4] in (b"\x00\x01\x00\x00", b"/* P")
    assert fetcher.served == 1


def test_small_image_data_urls_are_allowed():
    fetcher = pdf.AssetFetcher()
    response = fetcher("data:image/svg+xml,%3Csvg%20xmlns%3D%22http%3A%2F%2Fwww.w3.org%2F2000%2Fsvg%22%2F%3E")
    assert response.read().startswith(b"<svg")


def test_a_symlink_out_of_the_assets_folder_is_refused(tmp_path):
    root = tmp_path / "assets"
    root.mkdir()
    secret = tmp_path / "secret.css"
    secret.write_text("body { color: red }")
    (root / "linked.css").symlink_to(secret)
    (root / "real.css").write_text("p {}")
    fetcher = pdf.AssetFetcher(root)
    assert fetcher("real.css").read() == b"p {}"
    with pytest.raises(pdf.AssetRefused):
        fetcher("linked.css")


@pytest.fixture
def listener():
    """A TCP server on 127.0.0.1 that counts the connections it gets (the renderer must make none)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    connections = []
    stop = threading.Event()

    def accept():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            connections.append(conn)
            conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], connections
    stop.set()
    thread.join(2)
    server.close()


def test_a_document_that_names_files_and_servers_renders_without_reaching_them(app, listener, tmp_path):
    port, connections = listener
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    html = f"""<!doctype html><html lang="vi"><head>
      <link rel="stylesheet" href="http://127.0.0.1:{port}/evil.css">
      <style>@import url("https://127.0.0.1:{port}/imported.css");
             body {{ background: url("file://{secret}"); }}</style></head>
      <body><p>Xin chào</p>
      <img src="file://{secret}" alt="">
      <img src="http://127.0.0.1:{port}/pixel.png" alt="">
      <object data="file://{secret}"></object>
      <svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="10" height="10">
        <image xlink:href="file://{secret}" width="10" height="10"/></svg>
      <a href="../../../../etc/passwd">x</a>
      <img src="../../../../etc/passwd" alt=""></body></html>"""
    fetcher = pdf.AssetFetcher()
    content = pdf.render_pdf(html, url_fetcher=fetcher)
    text = pdf_text(content)
    assert "Xin chào" in text
    assert "TOP-SECRET" not in text and b"TOP-SECRET" not in content
    assert connections == [], "the renderer opened a network connection"
    refused = list(fetcher.refused)
    assert f"http://127.0.0.1:{port}/evil.css" in refused
    assert f"http://127.0.0.1:{port}/pixel.png" in refused
    assert any(url.startswith("file://") for url in refused)
    assert fetcher.served == 0
