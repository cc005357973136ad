"""Application documents: accept only real PDF, JPEG and PNG files, store them safely, serve them as downloads.

A file is recognised by its bytes, never by its name or the type the browser declares: a page of HTML
renamed ``quote.pdf`` is refused, a PNG named ``scan.pdf`` is kept as the PNG it is. Files are streamed
to a temporary file inside the upload folder while their size is counted and their SHA-256 computed,
then renamed atomically to a random name (``<32 hex>.<pdf|jpg|png>``) under ``instance/`` (or
``UPLOAD_DIR``), never under ``static/``. The user's file name is kept for display and download only.

Removing a document only hides it (``removed_at``): the file stays for the record.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from flask import abort, current_app, send_file
from flask_babel import lazy_gettext as _l
from sqlalchemy import event, select
from sqlalchemy.orm import Session, SessionTransaction

from app.extensions import db
from app.models.application import (
    ActivityKind,
    Application,
    ApplicationActivity,
    ApplicationDocument,
    ApplicationStatus,
    Visibility,
)
from app.models.types import utcnow
from app.models.user import User
from app.services import audit
from app.services.applications import COMPLETION_DOCUMENTS

#: Default upper limit of one file (the setting ``APPLICATION_UPLOAD_MAX_BYTES`` overrides it).
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
#: How the stored files are named; anything else is never opened.
STORED_NAME_RE = re.compile(r"^[0-9a-f]{32}\.(pdf|jpg|png)$")
MAX_NAME_LENGTH = 255
CHUNK = 64 * 1024
#: Bytes looked at for the type and for HTML hidden in a file, and at the end for the end marker.
HEAD_BYTES = 1024
TAIL_BYTES = 1024

PDF, JPEG, PNG = "pdf", "jpg", "png"
MIMETYPES = {PDF: "application/pdf", JPEG: "image/jpeg", PNG: "image/png"}
#: File name endings that already fit a detected type (others get the right one on download).
EXTENSIONS = {PDF: (".pdf",), JPEG: (".jpg", ".jpeg", ".jpe", ".jfif"), PNG: (".png",)}

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_END = b"IEND\xaeB`\x82"
JPEG_START = b"\xff\xd8\xff"
JPEG_END = b"\xff\xd9"
#: Markup that a browser would run if it ever rendered the file: a PDF or image carrying it is refused.
ACTIVE_MARKUP = (b"<html", b"<script", b"<!doctype html", b"<body", b"<iframe", b"<svg", b"<object", b"<embed",
                 b"javascript:")

#: What a refused file really is, from its first bytes (for the message).
_REAL_KINDS = (
    (b"PK\x03\x04", _l("a ZIP archive or a Word/Excel document")),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", _l("an old Word/Excel document")),
    (b"GIF87a", _l("a GIF image")),
    (b"GIF89a", _l("a GIF image")),
    (b"MZ", _l("a program (.exe)")),
    (b"\x7fELF", _l("a program")),
    (b"Rar!", _l("a RAR archive")),
    (b"7z\xbc\xaf\x27\x1c", _l("a 7-Zip archive")),
    (b"{\\rtf", _l("an RTF document")),
)

_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class UploadRejected(Exception):
    """A file that is not accepted; ``message`` says why, for the user."""

    status_code = 400

    def __init__(self, message: Any, filename: str | None = None):
        super().__init__(str(message))
        self.message = message
        self.filename = filename


class UploadNotAllowed(UploadRejected):
    """No document (or not this kind) may be added in the application's current state."""

    status_code = 409


@dataclass(frozen=True)
class StoredFile:
    stored_name: str
    content_type: str
    size_bytes: int
    sha256: str


# Settings and paths -------------------------------------------------------------------------------


def max_bytes() -> int:
    return int(current_app.config.get("APPLICATION_UPLOAD_MAX_BYTES") or DEFAULT_MAX_BYTES)


def human_size(size: int) -> str:
    """``10485760`` → ``10 MB``; small limits (tests) read in KB or bytes."""
    mib, kib = 1024 * 1024, 1024
    if size >= mib:
        value, unit = size / mib, "MB"
    elif size >= kib:
        value, unit = size / kib, "KB"
    else:
        return f"{size} B"
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return f"{text.replace('.', ',')} {unit}"


def upload_folder() -> Path:
    """``UPLOAD_DIR`` when set, else ``<instance>/uploads/applications``; created when missing."""
    configured = current_app.config.get("UPLOAD_DIR")
    folder = Path(configured) if configured else Path(current_app.instance_path) / "uploads" / "applications"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def path_of(document: ApplicationDocument) -> Path:
    """The file of a stored document, refusing any name that is not ours or leaves the folder (404)."""
    name = document.stored_name or ""
    if not STORED_NAME_RE.fullmatch(name):
        abort(404)
    folder = upload_folder().resolve()
    path = (folder / name).resolve()
    if path.parent != folder or not path.is_file():
        abort(404)
    return path


# Names --------------------------------------------------------------------------------------------


def sanitize_filename(name: str | None, kind: str | None = None) -> str:
    """The user's file name for display: NFC, without folders, control or invisible characters, ≤ 255.

    Never used as a path. An empty result becomes ``document.<ext>``.
    """
    text = unicodedata.normalize("NFC", str(name or ""))
    text = re.split(r"[\\/]", text)[-1]
    # Control characters, and format characters such as U+202E (right-to-left override) that make
    # "gpj.exe" read as "exe.jpg".
    text = "".join(c for c in text if unicodedata.category(c) not in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp"))
    text = text.strip().strip(".").strip()
    if not text:
        text = "document" + (f".{kind}" if kind else "")
    if len(text) > MAX_NAME_LENGTH:
        stem, dot, ext = text.rpartition(".")
        if dot and 0 < len(ext) <= 10:
            text = stem[: MAX_NAME_LENGTH - len(ext) - 1].rstrip() + "." + ext
        else:
            text = text[:MAX_NAME_LENGTH]
    return text


def download_name(document: ApplicationDocument) -> str:
    """The name offered on download: the user's name, with the ending of the real type when it differs."""
    kind = document.stored_name.rsplit(".", 1)[-1]
    name = sanitize_filename(document.original_name, kind)
    if not name.lower().endswith(EXTENSIONS.get(kind, ())):
        name = sanitize_filename(f"{name}.{kind}", kind)
    return name


# Type recognition ---------------------------------------------------------------------------------


def _looks_like_html(head: bytes) -> bool:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return text.startswith((b"<!doctype", b"<html", b"<head", b"<body", b"<script", b"<?xml", b"<svg", b"<!--",
                            b"<meta", b"<iframe", b"<div", b"<p", b"<a ")) or b"<html" in text[:HEAD_BYTES]


def _not_accepted(head: bytes) -> UploadRejected:
    if _looks_like_html(head):
        return UploadRejected(_l("Only PDF, JPG or PNG files are accepted — this file is really HTML (a web page)."))
    for magic, kind in _REAL_KINDS:
        if head.startswith(magic):
            return UploadRejected(_l("Only PDF, JPG or PNG files are accepted — this file is really %(kind)s.",
                                     kind=kind))
    return UploadRejected(_l("Only PDF, JPG or PNG files are accepted — this file is none of them. Save or scan "
                             "it as PDF, JPG or PNG and try again."))


def sniff(head: bytes, tail: bytes) -> str:
    """The type of a file from its first and last bytes (``pdf``, ``jpg``, ``png``); raises UploadRejected."""
    lowered = head[:HEAD_BYTES].lower()
    if head.startswith(b"%PDF-"):
        kind = PDF
        complete = b"%%EOF" in tail
    elif head.startswith(PNG_SIGNATURE):
        kind = PNG
        complete = PNG_END in tail
    elif head.startswith(JPEG_START):
        kind = JPEG
        complete = JPEG_END in tail
    else:
        raise _not_accepted(head)
    if any(marker in lowered for marker in ACTIVE_MARKUP):
        raise UploadRejected(_l("This file contains web page code (HTML or script) and cannot be accepted. Save "
                                "or scan the document again as a plain PDF, JPG or PNG."))
    if not complete:
        if kind == PDF:
            raise UploadRejected(_l("This PDF file is incomplete or damaged. Save it again and upload the new "
                                    "file."))
        raise UploadRejected(_l("This image is incomplete or damaged. Save it again and upload the new file."))
    return kind


# Storing ------------------------------------------------------------------------------------------


def store(stream: IO[bytes], limit: int | None = None) -> StoredFile:
    """Copy ``stream`` into the upload folder under a random name, checking its size and type on the way.

    Nothing is left behind when the file is refused.
    """
    limit = max_bytes() if limit is None else limit
    folder = upload_folder()
    digest = hashlib.sha256()
    size = 0
    head = b""
    tail = b""
    descriptor, temp_name = tempfile.mkstemp(dir=folder, prefix=".upload-", suffix=".part")
    temp_path = Path(temp_name)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            while True:
                chunk = stream.read(CHUNK)
                if not chunk:
                    break
                size += len(chunk)
                if size > limit:
                    raise UploadRejected(_l("File is larger than %(size)s. Make it smaller (for example scan in "
                                            "lower resolution or split it) and try again.", size=human_size(limit)))
                if len(head) < HEAD_BYTES:
                    head += chunk[: HEAD_BYTES - len(head)]
                tail = (tail + chunk)[-TAIL_BYTES:]
                digest.update(chunk)
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        if size == 0:
            raise UploadRejected(_l("The file is empty. Choose the file again."))
        kind = sniff(head, tail)
        stored_name = f"{secrets.token_hex(16)}.{kind}"
        os.replace(temp_path, folder / stored_name)
        return StoredFile(stored_name, MIMETYPES[kind], size, digest.hexdigest())
    except BaseException:
        temp_path.unlink(missing_ok=True)
        raise


#: ``Session.info`` key: files stored by ``upload`` in the session's current transaction.
_STORED_IN_TRANSACTION = "documents_stored_in_transaction"


@event.listens_for(Session, "after_commit")
def _files_now_belong_to_their_rows(session: Session) -> None:
    session.info.pop(_STORED_IN_TRANSACTION, None)


@event.listens_for(Session, "after_transaction_end")
def _discard_files_of_a_failed_transaction(session: Session, transaction: SessionTransaction) -> None:
    """A file whose row was never committed (a version conflict, a database error) is deleted, not left
    orphaned in the upload folder. ``after_commit`` (which runs first) has taken the list when it was."""
    if transaction.parent is None:
        for path in session.info.pop(_STORED_IN_TRANSACTION, ()):
            path.unlink(missing_ok=True)


# What may be uploaded when ------------------------------------------------------------------------


def allowed_codes(application: Application) -> tuple[str, ...]:
    """The document codes that may be added now: the programme's while the business prepares or completes
    its file, the invoice and acceptance record once approved, nothing otherwise."""
    if application.status in (ApplicationStatus.DRAFT, ApplicationStatus.INFO_REQUESTED):
        return tuple(document.code for document in application.programme.documents)
    if application.status is ApplicationStatus.APPROVED:
        return COMPLETION_DOCUMENTS
    return ()


def _check_allowed(application: Application, code: str) -> None:
    codes = allowed_codes(application)
    if not codes:
        raise UploadNotAllowed(_l("Documents cannot be added or removed while the application is “%(state)s”.",
                                  state=application.status.public_label))
    if code not in codes:
        raise UploadNotAllowed(_l("This kind of document cannot be added now."))


def removable(application: Application, document: ApplicationDocument) -> bool:
    """Whether the business may take ``document`` off now: any while a draft; afterwards only the ones it
    added since the current state began (what the department already saw stays)."""
    if document.removed_at is not None or document.code not in allowed_codes(application):
        return False
    if application.status is ApplicationStatus.DRAFT:
        return True
    return document.uploaded_at >= application.status_changed_at


def _touch(application: Application) -> None:
    """A document change is a change of the application: its version moves on (staff see it changed)."""
    application.updated_at = utcnow()


def upload(application: Application, code: str, stream: IO[bytes], filename: str | None, user: User,
           ip: str | None = None, *, check_state: bool = True) -> ApplicationDocument:
    """Store one file as document ``code`` of ``application``, with its audit record and timeline entry.

    The caller commits. ``check_state=False`` skips the state rules (test set-ups and staff tools).
    """
    if check_state:
        _check_allowed(application, code)
    try:
        stored = store(stream)
    except UploadRejected as error:
        error.filename = sanitize_filename(filename)
        raise
    db.session.info.setdefault(_STORED_IN_TRANSACTION, []).append(upload_folder() / stored.stored_name)
    document = ApplicationDocument(
        application_id=application.id, code=code,
        original_name=sanitize_filename(filename, stored.stored_name.rsplit(".", 1)[-1]),
        stored_name=stored.stored_name, content_type=stored.content_type, size_bytes=stored.size_bytes,
        sha256=stored.sha256, uploaded_by_id=user.id, uploaded_at=utcnow(),
    )
    db.session.add(document)
    db.session.flush()
    _touch(application)
    db.session.add(ApplicationActivity(
        application_id=application.id, kind=ActivityKind.DOCUMENT, visibility=Visibility.SHARED, actor_id=user.id,
        action="upload", body=document.original_name, document_id=document.id, created_at=document.uploaded_at,
    ))
    audit.record("application.document_upload", "application", application.id, actor=user, ip=ip,
                 after={"document_id": document.id, "code": code, "name": document.original_name,
                        "content_type": document.content_type, "size_bytes": document.size_bytes,
                        "sha256": document.sha256})
    return document


def remove(document: ApplicationDocument, user: User, ip: str | None = None, *, check_state: bool = True) -> None:
    """Hide a document (the file is kept); audit record and timeline entry. The caller commits."""
    application = document.application
    if document.removed_at is not None:
        return
    if check_state:
        _check_allowed(application, document.code)
        if not removable(application, document):
            raise UploadNotAllowed(_l("This document was already sent to the department, so it cannot be "
                                      "removed. Add a corrected one instead."))
    now = utcnow()
    document.removed_at = now
    _touch(application)
    db.session.add(ApplicationActivity(
        application_id=application.id, kind=ActivityKind.DOCUMENT, visibility=Visibility.SHARED, actor_id=user.id,
        action="remove", body=document.original_name, document_id=document.id, created_at=now,
    ))
    audit.record("application.document_remove", "application", application.id, actor=user, ip=ip,
                 before={"document_id": document.id, "code": document.code, "name": document.original_name},
                 after={"removed_at": now})


def find(application: Application, document_id: int, *, include_removed: bool = True) -> ApplicationDocument | None:
    """A document of ``application`` by id (another application's document is None)."""
    query = select(ApplicationDocument).where(ApplicationDocument.id == document_id,
                                              ApplicationDocument.application_id == application.id)
    if not include_removed:
        query = query.where(ApplicationDocument.removed_at.is_(None))
    return db.session.scalar(query)


def send_document(document: ApplicationDocument):
    """The download response: attachment, the real type, no sniffing, no caching, nothing that runs.

    Access is the caller's job (members of the organisation here, staff through the review pages).
    """
    path = path_of(document)
    kind = path.suffix.lstrip(".")
    response = send_file(path, mimetype=MIMETYPES[kind], as_attachment=True, download_name=download_name(document),
                         conditional=False, etag=False, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response
