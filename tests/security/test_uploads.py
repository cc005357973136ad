"""Hostile uploads through the real forms: polyglot files (a PDF with HTML or JavaScript inside, GIF/JS, a PNG
with a web page after it, SVG dressed as PNG), files over the limit, path-traversal and trick names (``../``,
absolute and Windows paths, NUL bytes, very long names, right-to-left override, header injection), and a
declared Content-Type that lies. Each file is either refused with a message (400, nothing left on disk) or
stored safely: a random name inside the upload folder, nothing written anywhere else, and served back only
as an attachment of its real type with ``nosniff`` and a sandboxing CSP.

The three business upload forms (the draft, the completion documents once approved, the additional
documents after a request for information) and the admin catalogue import are covered. tests/test_documents.py
tests the documents service directly; this goes through the pages.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent
from app.models.application import ApplicationDocument, ApplicationStatus
from app.services import documents
from tests.application_helpers import (  # noqa: F401
    HTML_BYTES,
    JPEG_BYTES,
    PDF_BYTES,
    PNG_BYTES,
    application_url,
    login,
    make_business,
    make_draft,
    make_programme,
    make_reviewer,
    make_submitted,
    move_to,
    upload_dir,
)
from tests.catalogue_io_helpers import encoded, minimal
from tests.factories import UserFactory
from tests.security.helpers import keeper_fixtures

pytestmark = pytest.mark.usefixtures("upload_dir")
#: The tables are kept between this module's tests (each builds its own objects and looks only at those),
#: and emptied at the end: emptying them after each of its ~140 tests is most of its time on PostgreSQL.
keeper, _clean_state, _world = keeper_fixtures(strict=False)
STORED_RE = re.compile(r"^[0-9a-f]{32}\.(pdf|jpg|png)$")

# Hostile files ------------------------------------------------------------------------------------------

#: Past the first kilobyte, where the type is sniffed.
FAR = b"%" + b"x" * 2048 + b"\n"
#: (id, content, file name, declared type). Each must be refused or stored safely.
POLYGLOTS = [
    ("pdf-with-html-script", PDF_BYTES.replace(b"trailer", b"<html><script>alert(document.cookie)</script>\ntrailer"),
     "bao-gia.pdf", "application/pdf"),
    ("pdf-with-script-after-1kb", PDF_BYTES.replace(b"trailer", FAR + b"<script>alert(1)</script>\ntrailer"),
     "bao-gia.pdf", "application/pdf"),
    ("pdf-with-javascript-action", PDF_BYTES.replace(
        b"1 0 obj<</Type/Catalog/Pages 2 0 R>>",
        b"1 0 obj<</Type/Catalog/Pages 2 0 R/OpenAction<</S/JavaScript/JS(app.alert(1))>>>>"), "bao-gia.pdf",
     "application/pdf"),
    ("html-then-pdf", HTML_BYTES + PDF_BYTES, "bao-gia.pdf", "application/pdf"),
    ("gif-javascript", b"GIF89a/*\x01\x00\x01\x00\x00\xff\x00,*/=1;alert(document.domain)//\x3b", "anh.gif",
     "image/gif"),
    ("gif-javascript-named-png", b"GIF89a/*\x01\x00\x01\x00\x00\xff\x00,*/=1;alert(1)//", "anh.png", "image/png"),
    ("png-with-trailing-html", PNG_BYTES + b"<html><body><script>alert(1)</script></body></html>", "anh.png",
     "image/png"),
    ("png-with-html-in-a-chunk", PNG_BYTES[:33] + b"\x00\x00\x00\x1etEXt<script>alert(1)</script>\x00\x00\x00\x00"
     + PNG_BYTES[33:], "anh.png", "image/png"),
    ("jpeg-with-html-comment", JPEG_BYTES[:2] + b"\xff\xfe\x00\x20<script>alert(1)</script>   " + JPEG_BYTES[2:],
     "anh.jpg", "image/jpeg"),
    ("svg-as-png", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect/></svg>', "anh.png",
     "image/png"),
    ("svg-with-xml-declaration-as-png", b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg">'
     b'<script>alert(1)</script></svg>', "anh.png", "image/png"),
    ("html-declared-pdf", HTML_BYTES, "bao-gia.pdf", "application/pdf"),
    ("utf16-html-declared-pdf", "<html><script>alert(1)</script></html>".encode("utf-16"), "bao-gia.pdf",
     "application/pdf"),
    ("zip-docx", b"PK\x03\x04" + b"\x00" * 200, "bao-gia.docx", "application/pdf"),
    ("exe", b"MZ\x90\x00" + b"\x00" * 200, "bao-gia.pdf.exe", "application/pdf"),
    ("pdf-declared-html", PDF_BYTES, "bao-gia.html", "text/html"),
    ("png-declared-pdf", PNG_BYTES, "bao-gia.pdf", "application/pdf"),
    ("jpeg-declared-svg", JPEG_BYTES, "anh.svg", "image/svg+xml"),
]
#: (id, file name). A real PDF under each: the name is kept for display only, cleaned, never used as a path.
NAMES = [
    ("dot-dot-slash", "../../../../etc/passwd.pdf"),
    ("absolute", "/etc/cron.d/evil.pdf"),
    ("windows-path", "C:\\Windows\\System32\\drivers\\etc\\hosts.pdf"),
    ("windows-dot-dot", "..\\..\\..\\boot.ini.pdf"),
    ("unc", "\\\\server\\share\\x.pdf"),
    ("nul-byte", "evil.php\x00.pdf"),
    ("control-characters", "bao\x01gia\x1b[31m\x7f.pdf"),
    ("very-long", "x" * 5000 + ".pdf"),
    ("very-long-unicode", "Báo giá " * 400 + ".pdf"),
    ("right-to-left-override", "hoa-don\u202efdp.exe"),
    ("zero-width-and-bidi", "ba\u200bo\u2066gia\u2069.pdf"),
    ("header-injection", 'a"; filename="evil.html\r\nSet-Cookie: x=1.pdf'),
    ("only-dots", ".."),
    ("dot-file", ".htaccess"),
    ("windows-reserved", "CON.pdf"),
    ("percent-encoded", "%2e%2e%2f%2e%2e%2fetc%2fpasswd.pdf"),
]
DANGEROUS_IN_NAMES = re.compile(r"[\x00-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069/\\]")


def _pdf_over(limit: int) -> bytes:
    return PDF_BYTES.replace(b"trailer", b"%" + b"x" * limit + b"\ntrailer")


# The three business forms ---------------------------------------------------------------------------


class Form:
    """One of the business upload forms: how to reach it, and the file field it reads."""

    def __init__(self, name: str):
        self.name = name
        business = make_business(level=1, locale="en")
        programme = make_programme()
        self.user = business.user
        if name == "draft":
            self.application = make_draft(business, programme)
            self.path, self.field = "", "document-QUOTE"
            self.extra = {"project_title": "", "project_description": "", "planned_cost_vnd": "",
                          "requested_vnd": "", "partner_id": "", "save": "Save draft"}
        elif name == "completion":
            self.application = move_to(make_submitted(business, programme), ApplicationStatus.APPROVED)
            self.path, self.field, self.extra = "/documents", "document-invoice", {}
        else:
            self.application = move_to(make_submitted(business, programme), ApplicationStatus.INFO_REQUESTED)
            self.path, self.field, self.extra = "/resubmit", "document-QUOTE", {"note": ""}
        self.before = {d.id for d in self.application.documents}

    def post(self, client, content: bytes, filename: str, content_type: str | None = None):
        db.session.refresh(self.application)
        upload = (io.BytesIO(content), filename, content_type) if content_type else (io.BytesIO(content), filename)
        data = {"version": str(self.application.version), **self.extra, self.field: upload}
        return client.post(application_url(self.application, self.path), data=data,
                           content_type="multipart/form-data")

    def new_documents(self) -> list[ApplicationDocument]:
        db.session.expire_all()
        return list(db.session.scalars(select(ApplicationDocument).where(
            ApplicationDocument.application_id == self.application.id,
            ApplicationDocument.id.not_in(self.before or {0})).order_by(ApplicationDocument.id)))


FORMS = ["draft", "completion", "additional"]


@pytest.fixture(params=FORMS)
def form(request, client):
    chosen = Form(request.param)
    login(client, chosen.user)
    return chosen


def _folder(app) -> Path:
    return Path(app.config["UPLOAD_DIR"])


def _files_on_disk(app) -> set[str]:
    """Every file under the test's temporary folder (the upload folder and anything beside it)."""
    root = _folder(app).parent
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def assert_refused_or_stored_safely(app, client, form: Form, response, before_files: set[str],
                                    content: bytes, reviewer=None) -> str:
    """The answer is a refusal with its reason, or the file is stored and served back safely."""
    new = form.new_documents()
    assert response.status_code < 500
    if not new:
        assert response.status_code in (400, 409), response.status_code
        page = response.get_data(as_text=True)
        assert "not accepted" in page or "cannot be accepted" in page or "larger than" in page, page[:300]
        assert _files_on_disk(app) == before_files, "a refused file left something on disk"
        return "refused"
    assert response.status_code in (302, 303), response.status_code
    [document] = new
    assert STORED_RE.fullmatch(document.stored_name)
    added = _files_on_disk(app) - before_files
    assert added == {f"{_folder(app).name}/{document.stored_name}"}, f"written outside the folder: {added}"
    assert (_folder(app) / document.stored_name).read_bytes() == content
    assert not DANGEROUS_IN_NAMES.search(document.original_name), repr(document.original_name)
    assert 0 < len(document.original_name) <= documents.MAX_NAME_LENGTH
    download = client.get(application_url(form.application, f"/documents/{document.id}"))
    assert_safe_download(download, document)
    if reviewer is not None and form.application.status is not ApplicationStatus.DRAFT:
        login(client, reviewer)
        assert_safe_download(client.get(f"/review/applications/{form.application.id}/documents/{document.id}"),
                             document)
        login(client, form.user)
    return "stored"


def assert_safe_download(response, document: ApplicationDocument) -> None:
    assert response.status_code == 200
    assert response.mimetype == document.content_type
    assert response.mimetype in ("application/pdf", "image/png", "image/jpeg")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;"), disposition
    assert not re.search(r"[\r\n\x00]", disposition)
    assert disposition.count("filename=") <= 1 and disposition.count("filename*=") <= 1, disposition
    assert "/" not in disposition.replace("%2F", "/").split("filename", 1)[1].replace("UTF-8''", ""), disposition
    extension = {"application/pdf": (".pdf",), "image/png": (".png",), "image/jpeg": (".jpg", ".jpeg")}
    name = re.search(r"filename\*?=(?:UTF-8'')?\"?([^\";]+)", disposition).group(1)
    assert name.lower().endswith(extension[response.mimetype]), disposition


@pytest.mark.parametrize(("content", "filename", "content_type"), [p[1:] for p in POLYGLOTS],
                         ids=[p[0] for p in POLYGLOTS])
def test_polyglots_and_lying_types_are_refused_or_stored_safely(app, client, form, content, filename,
                                                              content_type):
    before = _files_on_disk(app)
    response = form.post(client, content, filename, content_type)
    outcome = assert_refused_or_stored_safely(app, client, form, response, before, content, make_reviewer())
    if b"<script" in content[: documents.HEAD_BYTES].lower() or content.lstrip().startswith((b"<", b"GIF", b"PK")):
        assert outcome == "refused", "markup in the first kilobyte, or not a PDF/JPEG/PNG at all, is refused"


@pytest.mark.parametrize("filename", [n[1] for n in NAMES], ids=[n[0] for n in NAMES])
def test_trick_names_never_become_paths(app, client, form, filename):
    before = _files_on_disk(app)
    response = form.post(client, PDF_BYTES, filename, "application/pdf")
    assert assert_refused_or_stored_safely(app, client, form, response, before, PDF_BYTES, make_reviewer()) == \
        "stored"


def test_a_file_over_the_configured_limit_is_refused_with_the_limit(app, client, form, monkeypatch):
    monkeypatch.setitem(app.config, "APPLICATION_UPLOAD_MAX_BYTES", 2048)
    before = _files_on_disk(app)
    response = form.post(client, _pdf_over(4096), "scan.pdf", "application/pdf")
    assert response.status_code == 400
    assert "File is larger than 2 KB" in response.get_data(as_text=True)
    assert form.new_documents() == [] and _files_on_disk(app) == before


def test_a_request_over_the_server_limit_is_a_413_page(app, client, form, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 8192)
    before = _files_on_disk(app)
    response = form.post(client, _pdf_over(16384), "scan.pdf", "application/pdf")
    assert response.status_code == 413
    assert "<main" in response.get_data(as_text=True), "the translated error page, not a bare error"
    assert form.new_documents() == [] and _files_on_disk(app) == before


def test_many_files_in_one_post_are_each_judged(app, client, monkeypatch):
    """A good file and a polyglot in one post: the good one is kept, the bad one refused by name."""
    chosen = Form("draft")
    login(client, chosen.user)
    data = {"version": str(chosen.application.version), **chosen.extra,
            "document-QUOTE": [(io.BytesIO(PDF_BYTES), "good.pdf"), (io.BytesIO(HTML_BYTES), "../../bad.pdf")]}
    response = client.post(application_url(chosen.application), data=data, content_type="multipart/form-data")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "bad.pdf" in page and "../" not in page.split("bad.pdf")[0][-10:]
    assert [d.original_name for d in chosen.new_documents()] == ["good.pdf"]


def test_uploads_to_another_organisations_application_are_404(app, client):
    """The upload forms check ownership before reading any file."""
    chosen = Form("draft")
    login(client, make_business(level=1).user)
    before = _files_on_disk(app)
    response = chosen.post(client, PDF_BYTES, "x.pdf")
    assert response.status_code == 404
    assert chosen.new_documents() == [] and _files_on_disk(app) == before


# The admin catalogue import ---------------------------------------------------------------------------

IMPORT_URL = "/admin/catalogue/import"


@pytest.fixture
def admin_client(client):
    from app.models import Role

    login(client, UserFactory(roles=[Role.ADMIN], locale="en"))
    return client


def _import(client, content: bytes, filename: str, content_type: str | None = None):
    upload = (io.BytesIO(content), filename, content_type) if content_type else (io.BytesIO(content), filename)
    return client.post(IMPORT_URL, data={"file": upload}, content_type="multipart/form-data")


def _imports(after: int = 0) -> list[AuditEvent]:
    """The catalogue imports recorded after audit event ``after``."""
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "catalogue.import",
                                                            AuditEvent.id > after)))


def _last_event() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.max(AuditEvent.id))) or 0


CATALOGUE_NAMES = [pytest.param(name + ".json", id=key) for key, name in NAMES]


@pytest.mark.parametrize("filename", CATALOGUE_NAMES)
def test_catalogue_file_names_are_recorded_without_paths(admin_client, filename):
    last = _last_event()
    response = _import(admin_client, encoded(minimal()), filename, "application/json")
    assert response.status_code in (303, 400)
    if response.status_code == 303:
        [event] = _imports(last)
        source = event.after["source"]
        assert not DANGEROUS_IN_NAMES.search(source), repr(source)
        assert len(source) <= 200
        assert admin_client.get(response.headers["Location"]).status_code == 200
    else:
        assert "Choose a .json file" in response.get_data(as_text=True) and _imports(last) == []


@pytest.mark.parametrize(("content", "filename", "content_type"), [
    pytest.param(b"GIF89a" + encoded(minimal()), "catalogue.json", "application/json", id="gif-json-polyglot"),
    pytest.param(HTML_BYTES, "catalogue.json", "application/json", id="html-declared-json"),
    pytest.param(PDF_BYTES, "catalogue.json", "application/pdf", id="pdf-named-json"),
    pytest.param(b"[" * 100_000 + b"]" * 100_000, "catalogue.json", "application/json", id="deeply-nested"),
    pytest.param("\ufeff".encode() + b'{"schema": "dxportal.catalogue/1", "programmes": [{"code": "<script>"}]}',
                 "catalogue.json", "application/json", id="script-in-values"),
    pytest.param(encoded(minimal()), "catalogue.json.html", "application/json", id="json-named-html"),
    pytest.param(encoded(minimal()), "catalogue.svg", "image/svg+xml", id="json-named-svg"),
    pytest.param(b"\x00" * 1000, "catalogue.json", "application/json", id="nul-bytes"),
])
def test_catalogue_polyglots_are_refused_with_a_message(admin_client, content, filename, content_type):
    last = _last_event()
    response = _import(admin_client, content, filename, content_type)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Nothing was imported" in page or "not valid JSON" in page or "Choose a .json file" in page or \
        "nested too deeply" in page or "not UTF-8" in page or "must hold one JSON object" in page, page[:500]
    assert "<script>" not in page
    assert _imports(last) == []


def test_catalogue_over_the_server_limit_is_a_413_page(app, admin_client, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 4096)
    last = _last_event()
    response = _import(admin_client, b" " * 8192 + encoded(minimal()), "catalogue.json")
    assert response.status_code == 413 and _imports(last) == []
