"""The shared builders (tests/application_helpers.py) work through the real workflow: other test modules
rely on them to reach every state."""

from __future__ import annotations

import pytest

from app.models.application import ApplicationStatus
from app.services import documents
from tests.application_helpers import (  # noqa: F401
    JPEG_BYTES,
    PDF_BYTES,
    PNG_BYTES,
    make_business,
    make_partner,
    make_programme,
    make_submitted,
    move_to,
    upload_dir,
)

pytestmark = pytest.mark.usefixtures("upload_dir")


@pytest.mark.parametrize("target", [s for s in ApplicationStatus if s is not ApplicationStatus.DRAFT])
def test_move_to_reaches_every_state(app, target):
    programme = make_programme()
    business = make_business(level=1)
    application = make_submitted(business, programme, partner=make_partner())
    assert application.status is ApplicationStatus.SUBMITTED
    assert application.assessment_id == business.assessment.id
    move_to(application, target)
    assert application.status is target


def test_the_sample_files_are_recognised():
    assert documents.sniff(PDF_BYTES[:1024], PDF_BYTES[-1024:]) == "pdf"
    assert documents.sniff(PNG_BYTES, PNG_BYTES) == "png"
    assert documents.sniff(JPEG_BYTES, JPEG_BYTES) == "jpg"
