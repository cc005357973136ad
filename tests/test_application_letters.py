"""The business reaches its decision letter from the application page once the department decided."""

from __future__ import annotations

from app.models import ApplicationStatus
from tests.application_helpers import (
    application_url,
    login,
    make_business,
    make_programme,
    make_submitted,
    move_to,
    upload_dir,  # noqa: F401 (fixture)
)


def test_the_decision_letter_is_linked_only_after_a_decision(app, client, upload_dir):  # noqa: F811
    business = make_business()
    application = make_submitted(business, make_programme())
    login(client, business.user)
    assert "decision-letter.pdf" not in client.get(application_url(application)).text
    move_to(application, ApplicationStatus.APPROVED)
    html = client.get(application_url(application)).text
    link = f"/organisations/{business.organisation.id}/applications/{application.id}/decision-letter.pdf"
    assert f'href="{link}"' in html
    letter = client.get(link)
    assert letter.status_code == 200 and letter.mimetype == "application/pdf"
    assert letter.data.startswith(b"%PDF-")
