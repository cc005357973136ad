"""The audit trail is append-only, and staff administration leaves complete records in it."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select, update

from app.extensions import db
from app.models import AuditEvent, Role
from app.models.audit import AuditImmutableError
from app.services import audit
from tests.factories import UserFactory
from tests.test_admin import login_as


@pytest.fixture
def event_id():
    audit.record("user.test", "user", 7, before={"a": 1}, after={"a": 2}, ip="10.1.2.3")
    db.session.commit()
    return db.session.scalar(select(AuditEvent.id))


def _events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def test_an_audit_event_cannot_be_updated(event_id):
    event = db.session.get(AuditEvent, event_id)
    event.after = {"a": 3}
    with pytest.raises(AuditImmutableError):
        db.session.commit()
    db.session.rollback()
    assert db.session.get(AuditEvent, event_id).after == {"a": 2}


def test_an_audit_event_cannot_be_deleted(event_id):
    db.session.delete(db.session.get(AuditEvent, event_id))
    with pytest.raises(AuditImmutableError):
        db.session.commit()
    db.session.rollback()
    assert db.session.get(AuditEvent, event_id) is not None


@pytest.mark.parametrize(
    "statement",
    [update(AuditEvent).values(action="user.hidden"), delete(AuditEvent)],
    ids=["bulk update", "bulk delete"],
)
def test_bulk_orm_statements_cannot_change_the_trail(event_id, statement):
    with pytest.raises(AuditImmutableError):
        db.session.execute(statement)
    db.session.rollback()
    assert db.session.get(AuditEvent, event_id).action == "user.test"


@pytest.fixture
def admin_client(client):
    admin = UserFactory(roles=[Role.ADMIN], full_name="Audit Admin")
    login_as(client, admin)
    client.admin = admin
    return client


def test_role_change_record_has_actor_ip_before_and_after(admin_client):
    user = UserFactory(roles=[Role.BUSINESS])
    admin_client.post(f"/admin/users/{user.id}/roles", data={"roles": ["business", "reviewer"]})
    (event,) = _events("user.roles_change")
    assert (event.actor_id, event.object_type, event.object_id) == (admin_client.admin.id, "user", str(user.id))
    assert event.ip == "127.0.0.1"
    assert event.before == {"roles": ["business"]}
    assert event.after == {"roles": ["business", "reviewer"]}


def test_deactivation_and_reactivation_records(admin_client):
    user = UserFactory()
    admin_client.post(f"/admin/users/{user.id}/deactivate", data={})
    admin_client.post(f"/admin/users/{user.id}/activate", data={})
    (deactivated,) = _events("user.deactivate")
    (activated,) = _events("user.activate")
    for event in (deactivated, activated):
        assert event.actor_id == admin_client.admin.id and event.ip == "127.0.0.1"
        assert event.object_id == str(user.id)
    assert (deactivated.before, deactivated.after) == ({"active": True}, {"active": False})
    assert (activated.before, activated.after) == ({"active": False}, {"active": True})


def test_invitation_and_revocation_records(admin_client):
    admin_client.post("/admin/invitations/new", data={"email": "an@so.gov.vn", "roles": ["approver"]})
    admin_client.post("/admin/invitations/new", data={"email": "an@so.gov.vn", "roles": ["reviewer"]})
    created = _events("invitation.create")
    (revoked,) = _events("invitation.revoke")
    assert [e.after["roles"] for e in created] == [["approver"], ["reviewer"]]
    assert all(e.after["email"] == "an@so.gov.vn" for e in created)
    assert revoked.object_id == created[0].object_id
    for event in (*created, revoked):
        assert event.actor_id == admin_client.admin.id and event.ip == "127.0.0.1"


def test_refused_changes_leave_no_record(admin_client):
    """A guard that refuses (here: removing one's own admin role) writes nothing to the trail."""
    UserFactory(roles=[Role.ADMIN])
    me = admin_client.admin
    assert admin_client.post(f"/admin/users/{me.id}/roles", data={"roles": []}).status_code == 400
    assert admin_client.post(f"/admin/users/{me.id}/deactivate", data={}).status_code == 400
    assert _events("user.roles_change") == [] and _events("user.deactivate") == []


def test_the_audit_page_has_no_way_to_change_entries(admin_client, event_id):
    """The viewer is read-only: it only answers GET, and its page holds no form that posts."""
    page = admin_client.get("/admin/audit")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    main = body[body.index('<main'):body.index('</main>')]
    assert 'method="post"' not in main
    assert admin_client.post("/admin/audit", data={}).status_code == 405
