"""Decision letters: approved, rejected and cancelled applications produce a PDF letter with the
organisation, programme, decision, the amount in figures and in Vietnamese words, the reasons, the
date and the decider's name and title; members and staff download it, nobody else finds it."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from app.extensions import db
from app.models import Role
from app.models.application import ApplicationStatus
from app.services import letters
from tests.application_helpers import (
    login,
    make_approver,
    make_business,
    make_programme,
    make_reviewer,
    make_submitted,
    make_user,
    move_to,
    upload_dir,  # noqa: F401  (fixture)
)

ORG_NAME = "Hộ kinh doanh Bánh xèo Bà Dưỡng"
APPROVER_NAME = "Trần Thị Ngọc Hương"
REASON = "Báo giá chưa có chữ ký và con dấu của đơn vị cung cấp."


def pdf_text(content: bytes) -> str:
    return " ".join(" ".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(content)).pages).split())


@pytest.fixture
def cache_dir(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "PDF_CACHE_DIR", str(tmp_path / "pdf-cache"))


@pytest.fixture
def business(upload_dir, cache_dir):  # noqa: F811
    return make_business(level=2, name=ORG_NAME, tax_code="0100109106")


@pytest.fixture
def programme():
    return make_programme(budget_vnd=500_000_000)


@pytest.fixture
def approver():
    return make_approver(full_name=APPROVER_NAME)


def decided(business, programme, approver, status, amount_vnd=None):
    application = make_submitted(business, programme)
    return move_to(application, status, approver=approver, reviewer=make_reviewer(full_name="Lê Văn Thẩm"),
                   amount_vnd=amount_vnd, reason=REASON)


def test_an_approval_letter_has_the_amount_in_figures_and_words_and_the_approver(business, programme, approver):
    application = decided(business, programme, approver, ApplicationStatus.APPROVED, amount_vnd=15_000_000)
    assert application.approved_vnd == 15_000_000
    content = letters.letter_pdf(application, "vi")
    reader = PdfReader(io.BytesIO(content))
    assert len(reader.pages) == 1
    text = pdf_text(content)
    assert ORG_NAME in text
    assert programme.text("name", "vi") in text
    assert "15.000.000 ₫" in text
    assert "Mười lăm triệu đồng" in text
    assert APPROVER_NAME in text
    assert f"{application.id:06d}" in text
    assert "ngày" in text and "tháng" in text and "năm" in text, "the Vietnamese date line"
    data = letters.letter_data(application, "vi")
    assert data["decision"] == "approved"
    assert data["amount_words"] == "Mười lăm triệu đồng"
    assert data["signer"] == {"name": APPROVER_NAME, "title": str(letters.signer_title(approver))}


def test_a_rejection_letter_gives_the_reasons_and_no_amount(business, programme, approver):
    application = decided(business, programme, approver, ApplicationStatus.REJECTED)
    text = pdf_text(letters.letter_pdf(application, "vi"))
    assert REASON in text
    assert "Lê Văn Thẩm" in text, "a reviewer rejected it: the reviewer signs"
    assert "đồng" not in letters.letter_data(application, "vi")["amount_words"]
    assert letters.letter_data(application, "vi")["amount_text"] == ""


def test_a_cancellation_letter_names_the_cancelled_amount_and_the_reasons(business, programme, approver):
    application = decided(business, programme, approver, ApplicationStatus.CANCELLED, amount_vnd=20_000_000)
    data = letters.letter_data(application, "vi")
    assert data["decision"] == "cancelled"
    text = pdf_text(letters.letter_pdf(application, "vi"))
    assert REASON in text and "Hai mươi triệu đồng" in text and APPROVER_NAME in text


def test_the_english_letter(business, programme, approver):
    application = decided(business, programme, approver, ApplicationStatus.APPROVED, amount_vnd=15_000_000)
    text = pdf_text(letters.letter_pdf(application, "en"))
    assert "Fifteen million dong" in text
    assert "Approving officer" in text
    assert programme.text("name", "en") in text
    assert "Page 1/1" in text


def test_applications_without_a_decision_have_no_letter(business, programme, approver):
    application = make_submitted(business, programme)
    assert not letters.has_letter(application)
    with pytest.raises(ValueError):
        letters.letter_data(application, "vi")


def test_the_letter_is_cached_and_a_change_makes_a_new_one(business, programme, approver):
    application = decided(business, programme, approver, ApplicationStatus.APPROVED, amount_vnd=15_000_000)
    first = letters.letter_pdf(application, "vi")
    assert letters.letter_pdf(application, "vi") == first
    approver.full_name = "Trần Thị Ngọc Hương (thay)"
    db.session.commit()
    assert letters.letter_pdf(application, "vi") != first


# Downloads and who may have them ---------------------------------------------------------------------


def business_url(application):
    return f"/organisations/{application.organisation_id}/applications/{application.id}/decision-letter.pdf"


def staff_url(application):
    return f"/review/applications/{application.id}/decision-letter.pdf"


def test_the_link_to_the_letter_appears_with_the_decision(app, business, programme, approver):
    from app.blueprints.printing.routes import decision_letter_url

    application = make_submitted(business, programme)
    with app.test_request_context():
        assert decision_letter_url(application) is None
    move_to(application, ApplicationStatus.APPROVED, approver=approver)
    with app.test_request_context():
        assert decision_letter_url(application) == business_url(application)
        assert decision_letter_url(application, staff=True) == staff_url(application)


def test_members_download_their_letter(client, business, programme, approver):
    application = decided(business, programme, approver, ApplicationStatus.APPROVED, amount_vnd=15_000_000)
    login(client, business.user)
    response = client.get(business_url(application))
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert f"{application.id:06d}.pdf" in response.headers["Content-Disposition"]
    assert "Mười lăm triệu đồng" in pdf_text(response.data)


def test_the_letter_follows_the_members_language(client, business, programme, approver):
    application = decided(business, programme, approver, ApplicationStatus.APPROVED, amount_vnd=15_000_000)
    business.user.locale = "en"
    db.session.commit()
    login(client, business.user)
    assert "Fifteen million dong" in pdf_text(client.get(business_url(application)).data)


def test_other_organisations_and_undecided_applications_get_404(client, business, programme, approver):
    application = decided(business, programme, approver, ApplicationStatus.APPROVED, amount_vnd=15_000_000)
    other = make_business(level=2)
    login(client, other.user)
    assert client.get(business_url(application)).status_code == 404
    mismatched = f"/organisations/{other.id}/applications/{application.id}/decision-letter.pdf"
    assert client.get(mismatched).status_code == 404, "another organisation's id in the path does not help"
    login(client, business.user)
    undecided = make_submitted(business, make_programme())
    assert client.get(business_url(undecided)).status_code == 404
    assert client.get(f"/organisations/{business.id}/applications/999999/decision-letter.pdf").status_code == 404


def test_anonymous_visitors_are_sent_to_log_in(client, business, programme, approver):
    application = decided(business, programme, approver, ApplicationStatus.REJECTED)
    for url in (business_url(application), staff_url(application)):
        response = client.get(url)
        assert response.status_code == 302
        assert "/auth/login" in response.headers["Location"]


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.APPROVER, Role.ADMIN])
def test_staff_download_the_letter(client, business, programme, approver, role):
    application = decided(business, programme, approver, ApplicationStatus.REJECTED)
    login(client, make_user(role))
    response = client.get(staff_url(application))
    assert response.status_code == 200
    assert REASON in pdf_text(response.data)


def test_the_staff_route_needs_a_staff_role(client, business, programme, approver):
    application = decided(business, programme, approver, ApplicationStatus.REJECTED)
    login(client, business.user)
    assert client.get(staff_url(application)).status_code == 403, "members use their own route"
    login(client, make_user(Role.PARTNER))
    assert client.get(staff_url(application)).status_code == 403
    login(client, make_user(Role.REVIEWER))
    assert client.get(staff_url(make_submitted(business, make_programme()))).status_code == 404
