"""The public page that checks a printed plan's verification code: anyone holding the paper can see whether
the portal issued it, typed however they like; a wrong code is told apart from one that cannot be a code;
guessing is rate-limited; and the printed plan says where to check."""

from __future__ import annotations

import io

import pytest
from flask_babel import force_locale
from pypdf import PdfReader

from app.extensions import db, limiter
from app.models.plan import PlanStatus
from app.services import pdf_cache, plans
from tests.factories import UserFactory
from tests.plans_helpers import enterprise, plan_catalogue, submit


@pytest.fixture
def plan(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "PDF_CACHE_DIR", str(tmp_path / "pdf-cache"))
    owner = UserFactory(locale="vi")
    plan_catalogue()
    organisation = enterprise(owner=owner, name="Hợp tác xã Nông sản Sạch Mộ Đức")
    submit(organisation, owner, "middle")
    made, created = plans.create_or_update(organisation, owner)
    db.session.commit()
    assert created
    return made


@pytest.mark.parametrize("typed", ["{code}", "{lower}", "  {code}  ", "{plain}", "{spaced}"])
def test_anyone_sees_that_a_typed_code_belongs_to_a_genuine_plan(client, plan, typed):
    code = plan.verification_code
    text = typed.format(code=code, lower=code.lower(), plain=code.replace("-", ""),
                        spaced=code.replace("-", " ").lower())
    response = client.get("/verify", query_string={"code": text})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Mã này thuộc một kế hoạch do cổng thông tin cấp" in page
    assert "Hợp tác xã Nông sản Sạch Mộ Đức" in page
    assert code in page


def test_a_replaced_plan_is_shown_as_replaced(client, plan):
    plan.status = PlanStatus.SUPERSEDED
    db.session.commit()
    page = client.get("/verify", query_string={"code": plan.verification_code}).get_data(as_text=True)
    with force_locale("vi"):
        assert str(PlanStatus.SUPERSEDED.label) in page


def test_an_unknown_code_is_a_404_that_says_so(client, plan):
    unknown = "ABCD-EFGH" if plan.verification_code != "ABCD-EFGH" else "HGFE-DCBA"
    response = client.get("/verify", query_string={"code": unknown})
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert f"Không có kế hoạch nào mang mã {unknown}" in page
    assert "Hợp tác xã Nông sản Sạch Mộ Đức" not in page


@pytest.mark.parametrize("typed", ["", "K7QX", "K7QX-2M9P-XX", "O0I1-L234", "<script>x</script>"])
def test_what_cannot_be_a_code_is_refused_with_the_reason(client, plan, typed):
    response = client.get("/verify", query_string={"code": typed})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "<script>x</script>" not in page
    assert ("Nhập mã in ở cuối mỗi trang" in page) if not typed else ("8 chữ cái và chữ số" in page)


def test_the_empty_form_in_english(client):
    client.post("/language/en", data={"next": "/verify"})
    response = client.get("/verify")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Check a printed plan" in page
    assert "verify-result" not in page


def test_guessing_codes_is_rate_limited(app, client, plan, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_ENABLED", True)
    monkeypatch.setitem(app.config, "RATELIMIT_VERIFY", "3 per minute")
    limiter.reset()
    statuses = [client.get("/verify", query_string={"code": "ABCD-EFG2"}).status_code for _ in range(4)]
    limiter.reset()
    assert statuses[:3] == [404, 404, 404] and statuses[3] == 429


def test_the_printed_plan_says_where_to_check_its_code(app, plan):
    printed = plans.printable(plan, "vi")
    assert printed["plan"]["verify_url"].endswith("/verify")
    text = " ".join(" ".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(
        pdf_cache.get_or_render("plan", printed, "vi"))).pages).split())
    assert plan.verification_code in text
    assert printed["plan"]["verify_url"] in text
