"""The admin catalogue page: upload a file (all or nothing, every problem with its path), see the report,
download the current catalogue."""

from __future__ import annotations

import io
import json
import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Partner, Programme, Role
from app.services import catalogue_io
from tests.catalogue_io_helpers import catalogue_state, encoded, events, minimal
from tests.factories import UserFactory
from tests.test_admin import login_as

URL = "/admin/catalogue/import"


@pytest.fixture
def admin():
    return UserFactory(roles=[Role.ADMIN], locale="en", full_name="Admin One", email="admin@so.gov.vn")


@pytest.fixture
def admin_client(client, admin):
    login_as(client, admin)
    return client


def upload(client, content: bytes, filename: str = "catalogue.json", **kwargs):
    return client.post(URL, data={"file": (io.BytesIO(content), filename)}, content_type="multipart/form-data",
                       **kwargs)


def text_of(response) -> str:
    return response.get_data(as_text=True)


def test_the_page_offers_the_upload_and_the_download(admin_client):
    response = admin_client.get(URL)
    page = text_of(response)
    assert response.status_code == 200
    assert 'enctype="multipart/form-data"' in page and 'type="file"' in page and 'accept=".json' in page
    assert 'href="/admin/catalogue/export"' in page
    assert 'aria-current="page"' in page and "Catalogue import and export" in page


def test_the_admin_nav_links_to_the_page(admin_client):
    assert f'href="{URL}"' in text_of(admin_client.get("/admin/users"))


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.APPROVER, Role.BUSINESS, Role.PARTNER])
def test_other_roles_get_403(client, role):
    login_as(client, UserFactory(roles=[role]))
    assert client.get(URL).status_code == 403
    assert upload(client, encoded(minimal())).status_code == 403
    assert client.get("/admin/catalogue/export").status_code == 403
    assert catalogue_state()[0] == []


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = upload(client, encoded(minimal()))
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    assert catalogue_state()[0] == []


def test_a_valid_file_is_imported_and_the_report_shown(admin_client, admin):
    response = upload(admin_client, encoded(minimal()), environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert response.status_code == 303
    [event] = events("catalogue.import")
    assert response.headers["Location"].endswith(f"{URL}?report={event.id}")
    assert event.actor_id == admin.id and event.ip == "203.0.113.7" and event.after["source"] == "catalogue.json"
    [created] = events("programme.create")
    assert created.actor_id == admin.id and created.ip == "203.0.113.7"
    page = text_of(admin_client.get(response.headers["Location"]))
    assert "The catalogue file was imported." in page and "Import report" in page
    assert re.search(r"Programmes</th>\s*<td>1</td><td>0</td><td>0</td><td>0</td>", page)
    assert "<code>ND80-SOLUTIONS</code>" in page and "<code>P-QNG-001</code>" in page
    db.session.expire_all()
    assert db.session.scalar(select(Programme.code)) == "ND80-SOLUTIONS"
    assert db.session.scalar(select(Partner.code)) == "P-QNG-001"


def test_uploading_the_same_file_again_reports_nothing_changed(admin_client):
    upload(admin_client, encoded(minimal()))
    response = upload(admin_client, encoded(minimal()), follow_redirects=True)
    page = text_of(response)
    assert response.status_code == 200
    assert "Nothing changed: the catalogue already matched the file." in page
    assert re.search(r"Partners</th>\s*<td>0</td><td>0</td><td>0</td><td>1</td>", page)


def test_an_invalid_file_lists_every_problem_with_its_path_and_changes_nothing(admin_client):
    upload(admin_client, encoded(minimal()))
    before = catalogue_state()
    document = minimal()
    document["programmes"][0]["caps_vnd"]["small"] = "50"
    document["partners"][0]["categories"] = ["crmx"]
    document["partners"].append(dict(minimal()["partners"][0]))
    response = upload(admin_client, encoded(document))
    page = text_of(response)
    assert response.status_code == 400
    assert "Problems found in the file: 3. Nothing was imported." in page
    assert "<code>programmes[0].caps_vnd.small</code>: must be a positive integer" in page
    assert "<code>partners[0].categories[0]</code>: unknown category &#39;crmx&#39;" in page
    assert "<code>partners[1].code</code>: duplicate code &#39;P-QNG-001&#39; (also at partners[0])" in page
    assert catalogue_state() == before


@pytest.mark.parametrize(("content", "message"), [
    (b"name,code\nA,B\n", "The file is not valid JSON: Expecting value at line 1, column 1."),
    ('{"schema": "dxportal.catalogue/1", "partners": [{"name": "Công"}]}'.encode("cp1258"),
     "The file is not UTF-8 text: invalid byte at line 1, column 60."),
    (b"[1, 2]", "The file must hold one JSON object"),
])
def test_a_file_that_is_not_a_catalogue_is_a_400_with_the_reason(admin_client, content, message):
    response = upload(admin_client, content)
    assert response.status_code == 400
    assert message in text_of(response).replace("&#34;", '"').replace("&#39;", "'")
    assert catalogue_state()[0] == [] and events("catalogue.import") == []


def test_no_file_is_a_400(admin_client):
    response = admin_client.post(URL, data={}, content_type="multipart/form-data")
    assert response.status_code == 400 and "Choose the catalogue file to import." in text_of(response)


def test_a_file_without_the_json_extension_is_refused(admin_client):
    response = upload(admin_client, encoded(minimal()), filename="catalogue.xlsx")
    assert response.status_code == 400 and "Choose a .json file" in text_of(response)
    assert catalogue_state()[0] == []


def test_an_empty_file_is_refused(admin_client):
    response = upload(admin_client, b"")
    assert response.status_code == 400 and "The file is empty." in text_of(response)


def test_a_file_over_5_mb_is_refused_with_a_message(admin_client):
    content = encoded(minimal())[:-1] + b" " * (catalogue_io.MAX_UPLOAD_BYTES) + b"}"
    response = upload(admin_client, content)
    assert response.status_code == 400 and "The file is larger than 5 MB." in text_of(response)
    assert catalogue_state()[0] == []


def test_a_request_over_the_server_limit_is_413(app, admin_client):
    response = upload(admin_client, b" " * (app.config["MAX_CONTENT_LENGTH"] + 1))
    assert response.status_code == 413 and "File too large" in text_of(response)


def test_the_form_needs_its_csrf_token(admin_client):
    response = admin_client.post(URL, data={"file": (io.BytesIO(encoded(minimal())), "c.json")},
                                 content_type="multipart/form-data", csrf=False)
    assert response.status_code == 400 and catalogue_state()[0] == []


def test_download_the_current_catalogue(admin_client):
    upload(admin_client, encoded(minimal()))
    response = admin_client.get("/admin/catalogue/export")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert re.fullmatch(r'attachment; filename="dxportal-catalogue-\d{4}-\d\d-\d\d\.json"',
                        response.headers["Content-Disposition"])
    assert response.get_data() == catalogue_io.export_text().encode("utf-8")
    assert json.loads(response.get_data()) == minimal()


def test_a_report_id_that_is_not_an_import_shows_no_report(admin_client):
    upload(admin_client, encoded(minimal()))
    other = events("programme.create")[0]
    page = text_of(admin_client.get(f"{URL}?report={other.id}"))
    assert "Import report" not in page
    assert admin_client.get(f"{URL}?report=99999999999").status_code == 200


def test_values_quoted_in_problems_are_escaped(admin_client):
    """Lazy translation strings declare themselves safe HTML; the page must escape them anyway."""
    document = minimal()
    document["partners"][0]["categories"] = ["<script>alert(1)</script>"]
    document["programmes"][0]["<b>x</b>"] = 1
    page = text_of(upload(admin_client, encoded(document)))
    assert "<script>alert(1)</script>" not in page and "<b>x</b>" not in page
    assert "unknown category &#39;&lt;script&gt;alert(1)&lt;/script&gt;&#39;" in page
    assert "unknown key &#39;&lt;b&gt;x&lt;/b&gt;&#39;" in page
