"""Application documents: recognised by their content, stored with random names inside the upload folder,
refused with a reason, and downloaded as attachments of the right type by members only."""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent
from app.models.application import ActivityKind, ApplicationActivity, ApplicationDocument, Visibility
from app.services import documents
from tests.application_helpers import (  # noqa: F401
    HTML_BYTES,
    JPEG_BYTES,
    PDF_BYTES,
    PNG_BYTES,
    add_document,
    application_url,
    login,
    make_business,
    make_draft,
    make_programme,
    make_reviewer,
    make_submitted,
    make_user,
    pdf_bytes,
    upload_dir,
)

pytestmark = pytest.mark.usefixtures("upload_dir")
STORED_RE = re.compile(r"^[0-9a-f]{32}\.(pdf|jpg|png)$")


def english(message) -> str:
    """A lazily translated message, read in English (the default language is Vietnamese)."""
    with force_locale("en"):
        return str(message)


@pytest.fixture
def folder(app) -> Path:
    """The temporary upload folder of the test (set by ``upload_dir``)."""
    return Path(app.config["UPLOAD_DIR"])


@pytest.fixture
def draft(app):
    business = make_business(level=1, locale="en")
    return make_draft(business, make_programme())


def _upload(application, content: bytes, name: str = "file.pdf", code: str = "QUOTE"):
    document = documents.upload(application, code, io.BytesIO(content), name, application.organisation
                                .memberships[0].user)
    db.session.commit()
    return document


# Recognition ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("content", "kind", "mimetype"), [
    (PDF_BYTES, "pdf", "application/pdf"),
    (PNG_BYTES, "png", "image/png"),
    (JPEG_BYTES, "jpg", "image/jpeg"),
])
def test_real_files_are_accepted_and_stored_with_a_random_name(draft, folder, content, kind, mimetype):
    document = _upload(draft, content, f"Báo giá tháng 5.{kind}")
    assert STORED_RE.fullmatch(document.stored_name) and document.stored_name.endswith(f".{kind}")
    assert document.content_type == mimetype
    assert document.size_bytes == len(content)
    assert document.sha256 == hashlib.sha256(content).hexdigest()
    stored = folder / document.stored_name
    assert stored.read_bytes() == content
    # Nothing else is left in the folder (no temporary file).
    assert [p.name for p in folder.iterdir()] == [document.stored_name]


def test_a_file_whose_row_is_never_committed_is_not_left_behind(draft, folder):
    """A version conflict or a database error after the upload rolls the row back: the file goes with it.
    A committed upload keeps its file, and a later rollback does not touch it."""
    kept = _upload(draft, PDF_BYTES, "giữ lại.pdf")
    user = draft.organisation.memberships[0].user
    lost = documents.upload(draft, "QUOTE", io.BytesIO(PNG_BYTES), "mất.png", user, check_state=False)
    assert (folder / lost.stored_name).exists()
    db.session.rollback()
    assert sorted(p.name for p in folder.iterdir()) == [kept.stored_name]
    db.session.rollback()
    assert (folder / kept.stored_name).read_bytes() == PDF_BYTES


def test_a_png_named_pdf_is_kept_as_the_png_it_is(draft, folder):
    document = _upload(draft, PNG_BYTES, "scan.pdf")
    assert document.content_type == "image/png" and document.stored_name.endswith(".png")
    assert document.original_name == "scan.pdf"
    assert documents.download_name(document) == "scan.pdf.png"


@pytest.mark.parametrize(("content", "words"), [
    (HTML_BYTES, "really HTML"),
    (b"   \n<html><body>Hello</body></html>", "really HTML"),
    (b"PK\x03\x04" + b"\0" * 100, "ZIP archive"),
    (b"GIF89a" + b"\0" * 50, "GIF image"),
    (b"MZ\x90\x00" + b"\0" * 60, "program"),
    (b"just some text", "none of them"),
    (b"%PDF-1.4\n1 0 obj<<>>endobj\n", "incomplete or damaged"),  # no %%EOF: cut off
    (PNG_BYTES[:-12], "incomplete or damaged"),
    (JPEG_BYTES[:-2], "incomplete or damaged"),
    (b"%PDF-1.4\n<html><script>alert(1)</script></html>\n%%EOF\n", "web page code"),
    (PNG_BYTES[:16] + b"<script>alert(1)</script>" + PNG_BYTES[16:], "web page code"),
])
def test_files_that_are_not_real_pdf_jpeg_or_png_are_refused_with_the_reason(app, draft, folder, content, words):
    with pytest.raises(documents.UploadRejected) as refused:
        _upload(draft, content, "quote.pdf")
    assert words in english(refused.value.message)
    assert list(folder.iterdir()) == []  # the temporary file is gone
    assert db.session.scalar(select(ApplicationDocument.id)) is None


def test_an_empty_file_is_refused(draft, folder):
    with pytest.raises(documents.UploadRejected) as refused:
        _upload(draft, b"", "empty.pdf")
    assert "empty" in english(refused.value.message)
    assert list(folder.iterdir()) == []


def test_a_file_over_the_configured_limit_is_refused(app, draft, folder, monkeypatch):
    monkeypatch.setitem(app.config, "APPLICATION_UPLOAD_MAX_BYTES", 2048)
    with pytest.raises(documents.UploadRejected) as refused:
        _upload(draft, pdf_bytes(padding=4096), "big.pdf")
    assert english(refused.value.message).startswith("File is larger than 2 KB")
    assert list(folder.iterdir()) == []
    # Exactly at the limit is fine.
    exact = pdf_bytes(padding=2048 - len(PDF_BYTES))
    assert len(exact) == 2048
    assert _upload(draft, exact, "exact.pdf").size_bytes == 2048


def test_the_default_limit_is_ten_megabytes(app):
    assert "APPLICATION_UPLOAD_MAX_BYTES" not in app.config or app.config["APPLICATION_UPLOAD_MAX_BYTES"] == 10485760
    assert documents.human_size(documents.DEFAULT_MAX_BYTES) == "10 MB"


@pytest.mark.parametrize("name", ["../../etc/passwd.pdf", "..\\..\\windows\\win.ini.pdf", "/etc/passwd.pdf",
                                  "a/../../b.pdf"])
def test_a_file_name_cannot_escape_the_upload_folder(draft, folder, name):
    document = _upload(draft, PDF_BYTES, name)
    assert STORED_RE.fullmatch(document.stored_name)
    assert "/" not in document.original_name and "\\" not in document.original_name
    assert document.original_name.endswith(".pdf") and ".." not in document.original_name.split(".")[0:1]
    assert (folder / document.stored_name).resolve().parent == folder.resolve()
    assert [p.name for p in folder.iterdir()] == [document.stored_name]


def test_display_names_are_cleaned():
    assert documents.sanitize_filename("Ba\u0301o gia\u0301.pdf") == "Báo giá.pdf"  # NFC
    assert documents.sanitize_filename("bad\x00name\x1f.pdf") == "badname.pdf"
    assert documents.sanitize_filename("invoice\u202efdp.exe") == "invoicefdp.exe"  # no right-to-left trick
    assert documents.sanitize_filename("", "pdf") == "document.pdf"
    long = documents.sanitize_filename("x" * 400 + ".pdf")
    assert len(long) == 255 and long.endswith(".pdf")


def test_a_stored_name_that_is_not_ours_is_never_opened(app, draft, folder):
    document = _upload(draft, PDF_BYTES)
    document.stored_name = "../../../etc/passwd"
    with app.test_request_context(), pytest.raises(Exception) as not_found:
        documents.path_of(document)
    assert getattr(not_found.value, "code", None) == 404


def test_uploads_and_removals_leave_audit_and_shared_timeline_entries(draft, folder):
    user = draft.organisation.memberships[0].user
    document = _upload(draft, PDF_BYTES, "quote.pdf")
    documents.remove(document, user)
    db.session.commit()
    assert document.removed_at is not None
    assert (folder / document.stored_name).exists()  # the file stays for the record
    assert draft.documents == []
    actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions[-2:] == ["application.document_upload", "application.document_remove"]
    entries = db.session.scalars(select(ApplicationActivity).order_by(ApplicationActivity.id)).all()
    assert [(e.kind, e.visibility, e.action, e.document_id) for e in entries] == [
        (ActivityKind.DOCUMENT, Visibility.SHARED, "upload", document.id),
        (ActivityKind.DOCUMENT, Visibility.SHARED, "remove", document.id),
    ]


def test_which_documents_may_be_added_depends_on_the_state(app, folder):
    from app.models.application import ApplicationStatus
    from tests.application_helpers import move_to

    business = make_business(level=1)
    programme = make_programme()
    draft = make_draft(business, programme)
    assert documents.allowed_codes(draft) == ("QUOTE", "LICENCE", "PLAN")
    with pytest.raises(documents.UploadNotAllowed):
        _upload(draft, PDF_BYTES, code="invoice")
    submitted = make_submitted(make_business(level=1), programme)
    assert documents.allowed_codes(submitted) == ()
    with pytest.raises(documents.UploadNotAllowed) as refused:
        _upload(submitted, PDF_BYTES)
    assert refused.value.status_code == 409
    move_to(submitted, ApplicationStatus.APPROVED)
    assert documents.allowed_codes(submitted) == ("invoice", "acceptance")


# Downloads -----------------------------------------------------------------------------------------


def test_members_download_as_an_attachment_of_the_real_type(client, draft, folder):
    document = _upload(draft, PNG_BYTES, "Ảnh chụp giấy phép.png")
    login(client, draft.organisation.memberships[0].user)
    response = client.get(application_url(draft, f"/documents/{document.id}"))
    assert response.status_code == 200
    assert response.data == PNG_BYTES
    assert response.mimetype == "image/png"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''%E1%BA%A2nh" in disposition
    assert "no-store" in response.headers["Cache-Control"]


def test_pdf_download_headers(client, draft, folder):
    document = _upload(draft, PDF_BYTES, "quote.pdf")
    login(client, draft.organisation.memberships[0].user)
    response = client.get(application_url(draft, f"/documents/{document.id}"))
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == "attachment; filename=quote.pdf"


def test_other_businesses_staff_and_anonymous_cannot_download(client, draft, folder):
    document = _upload(draft, PDF_BYTES)
    url = application_url(draft, f"/documents/{document.id}")
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and "/auth/login" in anonymous.headers["Location"]
    login(client, make_business(level=1).user)
    assert client.get(url).status_code == 404
    login(client, make_user())
    assert client.get(url).status_code == 404
    login(client, make_reviewer())
    assert client.get(url).status_code == 404


def test_a_document_of_another_application_or_removed_is_not_found(client, draft, folder):
    other = make_draft(make_business(level=1), make_programme())
    foreign = add_document(other, "QUOTE")
    mine = _upload(draft, PDF_BYTES)
    login(client, draft.organisation.memberships[0].user)
    assert client.get(application_url(draft, f"/documents/{foreign.id}")).status_code == 404
    documents.remove(mine, draft.organisation.memberships[0].user)
    db.session.commit()
    assert client.get(application_url(draft, f"/documents/{mine.id}")).status_code == 404


def test_a_missing_file_is_404_not_500(client, draft, folder):
    document = _upload(draft, PDF_BYTES)
    (folder / document.stored_name).unlink()
    login(client, draft.organisation.memberships[0].user)
    assert client.get(application_url(draft, f"/documents/{document.id}")).status_code == 404
