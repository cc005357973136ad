"""The plan's PDF through the web and the CLI, with real plans built by ``app.services.plans``: members
prepare and download it, the second download costs no render, an edited plan gets a new PDF, the page
says when the PDF is being prepared, and nobody outside the organisation finds it."""

from __future__ import annotations

import io
import os
import uuid

import pytest
from pypdf import PdfReader

from app import jobs
from app.extensions import db
from app.models import Role
from app.models.plan import ItemStatus
from app.services import pdf, pdf_cache, plans
from tests.factories import UserFactory
from tests.plans_helpers import enterprise, household, login, plan_catalogue, submit

REDIS_URL = os.environ.get("TEST_REDIS_URL")
needs_redis = pytest.mark.skipif(not REDIS_URL, reason="TEST_REDIS_URL is not set")


def pdf_text(content: bytes) -> str:
    return " ".join(" ".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(content)).pages).split())


@pytest.fixture
def cache_dir(app, tmp_path, monkeypatch):
    folder = tmp_path / "pdf-cache"
    monkeypatch.setitem(app.config, "PDF_CACHE_DIR", str(folder))
    pdf_cache.forget_keys()
    yield folder
    pdf_cache.forget_keys()


@pytest.fixture
def renders(monkeypatch):
    """Count the real renders (the renderer still runs)."""
    calls = []
    original = pdf.render_document

    def counting(template, data, locale):
        calls.append(template)
        return original(template, data, locale)

    monkeypatch.setattr(pdf, "render_document", counting)
    return calls


@pytest.fixture
def owner():
    return UserFactory(locale="vi")


@pytest.fixture
def plan(owner, cache_dir):
    """A mid-maturity enterprise's plan, with the catalogue its recommendations come from."""
    plan_catalogue()
    organisation = enterprise(owner=owner, name="Công ty TNHH Cơ khí Trường Thịnh Đức Phổ")
    submit(organisation, owner, "middle")
    made, created = plans.create_or_update(organisation, owner)
    db.session.commit()
    assert created
    return made


def pdf_url(plan) -> str:
    return f"/organisations/{plan.organisation_id}/plans/{plan.id}/pdf"


def test_a_member_prepares_and_downloads_the_plan(client, owner, plan, renders):
    login(client, owner)
    page = client.get(pdf_url(plan))
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    assert b'method="post"' in page.data, "the page offers to prepare the PDF"
    response = client.post(pdf_url(plan), data={})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(pdf_url(plan))
    download = client.get(pdf_url(plan))
    assert download.status_code == 200
    assert download.mimetype == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert f"-v{plan.version}.pdf" in download.headers["Content-Disposition"]
    reader = PdfReader(io.BytesIO(download.data))
    assert 3 <= len(reader.pages) <= 8
    text = pdf_text(download.data)
    assert "Công ty TNHH Cơ khí Trường Thịnh Đức Phổ" in text
    printed = plans.printable(plan, "vi")
    for pillar in printed["pillars"]:
        assert pillar["name"] in text
    assert plan.verification_code in text
    assert renders == ["plan"]
    again = client.get(pdf_url(plan))
    assert again.data == download.data
    assert renders == ["plan"], "the second download renders nothing"


def test_a_repeated_download_does_not_rebuild_the_plan(client, owner, plan, monkeypatch):
    """The download finds the cached file from the plan's fingerprint; any edit changes the fingerprint."""
    login(client, owner)
    client.post(pdf_url(plan), data={})
    built = []
    original = plans.printable

    def counting(*args, **kwargs):
        built.append(args[1])
        return original(*args, **kwargs)

    monkeypatch.setattr(plans, "printable", counting)
    for _ in range(3):
        assert client.get(pdf_url(plan)).mimetype == "application/pdf"
    assert built == []
    plans.set_status(plan.items[0], owner, ItemStatus.DOING)
    db.session.commit()
    assert client.get(pdf_url(plan)).mimetype == "text/html", "the edited plan's PDF is not ready"
    assert built == ["vi"]


def test_the_printed_plan_links_to_the_plan_page(client, owner, plan):
    """The QR code encodes ``plan.url``, which is the plan's page on the portal (BASE_URL)."""
    printed = plans.printable(plan, "vi")
    assert printed["plan"]["url"].endswith(f"/organisations/{plan.organisation_id}/plans/{plan.id}")
    html = pdf.render_html("plan", printed, "vi")
    assert str(pdf.qr_svg(printed["plan"]["url"], "x")).split("</title>", 1)[1] in html
    pdfium = pytest.importorskip("pypdfium2")
    zxingcpp = pytest.importorskip("zxingcpp")
    content = pdf_cache.get_or_render("plan", printed, "vi")
    decoded = [r.text for r in zxingcpp.read_barcodes(pdfium.PdfDocument(content)[0].render(scale=2).to_pil())]
    assert decoded == [printed["plan"]["url"]]


def test_editing_the_plan_makes_a_new_pdf(client, owner, plan, renders):
    login(client, owner)
    client.post(pdf_url(plan), data={})
    first = client.get(pdf_url(plan)).data
    item = plan.items[0]
    plans.set_status(item, owner, ItemStatus.DONE)
    db.session.commit()
    page = client.get(pdf_url(plan))
    assert page.mimetype == "text/html", "the old PDF is not served for the changed plan"
    client.post(pdf_url(plan), data={})
    second = client.get(pdf_url(plan)).data
    assert second != first
    assert len(renders) == 2


def test_the_pdf_follows_the_readers_language(client, owner, plan):
    owner.locale = "en"
    db.session.commit()
    login(client, owner)
    client.post(pdf_url(plan), data={})
    text = pdf_text(client.get(pdf_url(plan)).data)
    assert "Digital transformation plan" in text
    for pillar in plans.printable(plan, "en")["pillars"]:
        assert pillar["name"] in text


def test_the_plan_page_box_offers_then_gives_the_pdf(client, owner, plan):
    login(client, owner)
    show = f"/organisations/{plan.organisation_id}/plans/{plan.id}"
    page = client.get(show)
    assert page.status_code == 200
    assert b'id="plan-pdf"' in page.data
    assert f'action="{pdf_url(plan)}"'.encode() in page.data
    client.post(pdf_url(plan), data={})
    page = client.get(show)
    assert f'href="{pdf_url(plan)}" download'.encode() in page.data


def test_a_post_without_the_csrf_token_is_refused(client, owner, plan, renders):
    login(client, owner)
    response = client.post(pdf_url(plan), data={}, csrf=False)
    assert response.status_code == 400
    assert renders == []


def test_other_organisations_and_anonymous_visitors(client, owner, plan):
    stranger = UserFactory()
    household(owner=stranger)
    login(client, stranger)
    assert client.get(pdf_url(plan)).status_code == 404
    assert client.post(pdf_url(plan), data={}).status_code == 404
    staff = UserFactory(roles=[Role.REVIEWER, Role.APPROVER, Role.ADMIN])
    login(client, staff)
    assert client.get(pdf_url(plan)).status_code == 404, "plans are the organisation's own"
    login(client, owner)
    other_org = household(owner=owner)
    assert client.get(f"/organisations/{other_org.id}/plans/{plan.id}/pdf").status_code == 404
    assert client.get(f"/organisations/{plan.organisation_id}/plans/999999/pdf").status_code == 404
    with client.session_transaction() as session:
        session.clear()
    response = client.get(pdf_url(plan))
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


@pytest.fixture
def plans_command(app):
    """``flask plans`` is attached by ``app.cli.register``; attach it here too until that line is merged."""
    if "plans" not in app.cli.commands:
        from app import cli_plans

        cli_plans.register(app)


def test_the_cli_renders_the_plan_of_an_assessment(runner, plans_command, plan, tmp_path, renders):
    out = tmp_path / "plan.pdf"
    result = runner.invoke(args=["plans", "render", str(plan.assessment_id), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Công ty TNHH Cơ khí Trường Thịnh Đức Phổ" in pdf_text(out.read_bytes())
    english = tmp_path / "plan-en.pdf"
    result = runner.invoke(args=["plans", "render", str(plan.assessment_id), "--out", str(english),
                                 "--locale", "en"])
    assert result.exit_code == 0, result.output
    assert "Digital transformation plan" in pdf_text(english.read_bytes())
    again = tmp_path / "again.pdf"
    runner.invoke(args=["plans", "render", str(plan.assessment_id), "--out", str(again)])
    assert again.read_bytes() == out.read_bytes()
    assert len(renders) == 2, "the CLI shares the cache"


def test_the_cli_explains_a_missing_assessment(runner, plans_command, cache_dir, tmp_path):
    out = tmp_path / "never.pdf"
    result = runner.invoke(args=["plans", "render", "999999", "--out", str(out)])
    assert result.exit_code != 0
    assert "No assessment with id 999999" in result.output
    assert not out.exists()


# With an RQ worker --------------------------------------------------------------------------------------


@pytest.fixture
def rq_queue(app, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", REDIS_URL)
    monkeypatch.setitem(app.config, "JOB_QUEUE", "rq")
    monkeypatch.setitem(app.config, "JOB_QUEUE_NAME", f"dxportal-test-{uuid.uuid4().hex}")
    queue = jobs.queue(app)
    yield queue
    queue.delete(delete_jobs=True)
    queue.connection.close()


@needs_redis
def test_with_a_worker_the_page_says_the_pdf_is_being_prepared(client, owner, plan, rq_queue, renders):
    from rq import SimpleWorker

    login(client, owner)
    client.post(pdf_url(plan), data={})
    waiting = client.get(pdf_url(plan))
    assert waiting.status_code == 200 and waiting.mimetype == "text/html"
    assert b'http-equiv="refresh"' in waiting.data, "the page reloads itself while the PDF is prepared"
    assert renders == [], "the web request rendered nothing"
    SimpleWorker([rq_queue], connection=rq_queue.connection).work(burst=True)
    ready = client.get(pdf_url(plan) + "?wait=1")
    assert ready.mimetype == "text/html" and b'http-equiv="refresh"' not in ready.data
    assert client.get(pdf_url(plan)).mimetype == "application/pdf"
    assert renders == ["plan"]
