"""Whatever an administrator types into the admin searches and forms, the answer is never a 500."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.models import Role
from tests.factories import OrganisationFactory, UserFactory
from tests.test_admin import login_as

FUZZ = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

#: Any text a browser can send (no lone surrogates: they cannot be encoded in a URL at all).
typed = st.text(st.characters(exclude_categories=["Cs"]), max_size=300)
#: Values close to the real ones, to reach past the first validation.
nearly = st.one_of(typed, st.sampled_from(["", "admin", "reviewer", "business", "A", "Z", "21034", "0", "-1",
                                           "2026-01-01", "9999-12-31", "0001-01-01", "%", "_", "\\", "'",
                                           "user.", "99999999999999999999", "1e9", "\x00"]))


@pytest.fixture
def admin_client(client):
    admin = UserFactory(roles=[Role.ADMIN])
    OrganisationFactory(owner=UserFactory(), tax_code="4300123456")
    login_as(client, admin)
    client.admin = admin
    return client


def _assert_not_500(response) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)[:500]


@FUZZ
@given(q=nearly, role=nearly, status=nearly, page=nearly)
def test_user_search(admin_client, q, role, status, page):
    _assert_not_500(admin_client.get("/admin/users", query_string={"q": q, "role": role, "status": status,
                                                                   "page": page}))


@FUZZ
@given(q=nearly, kind=nearly, sector=nearly, commune=nearly, page=nearly)
def test_organisation_search(admin_client, q, kind, sector, commune, page):
    query = {"q": q, "kind": kind, "sector": sector, "commune": commune, "page": page}
    _assert_not_500(admin_client.get("/admin/organisations", query_string=query))


@FUZZ
@given(action=nearly, actor=nearly, object_type=nearly, object_id=nearly, date_from=nearly, date_to=nearly,
       actor_id=nearly, page=nearly)
def test_audit_filters(admin_client, action, actor, object_type, object_id, date_from, date_to, actor_id, page):
    query = {"action": action, "actor": actor, "object_type": object_type, "object_id": object_id,
             "date_from": date_from, "date_to": date_to, "actor_id": actor_id, "page": page}
    _assert_not_500(admin_client.get("/admin/audit", query_string=query))


@FUZZ
@given(status=nearly, page=nearly)
def test_invitation_list(admin_client, status, page):
    _assert_not_500(admin_client.get("/admin/invitations", query_string={"status": status, "page": page}))


@FUZZ
@given(email=st.one_of(nearly, st.emails().map(str)), roles=st.lists(nearly, max_size=4))
def test_invite_form(admin_client, email, roles):
    _assert_not_500(admin_client.post("/admin/invitations/new", data={"email": email, "roles": roles}))


@FUZZ
@given(roles=st.lists(st.one_of(nearly, st.sampled_from([r.value for r in Role])), max_size=6))
def test_roles_form(admin_client, roles):
    target = UserFactory()
    _assert_not_500(admin_client.post(f"/admin/users/{target.id}/roles", data={"roles": roles}))
    # The administrator's own roles too: the guards answer, they do not crash.
    _assert_not_500(admin_client.post(f"/admin/users/{admin_client.admin.id}/roles", data={"roles": roles}))
