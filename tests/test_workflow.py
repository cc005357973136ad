"""The workflow service: every transition of the table taken by who may take it, every other refused,
and what each leaves behind (state, audit event, timeline entry, budget, outcomes)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from app.extensions import db
from app.models import (
    ActivityKind,
    Application,
    ApplicationActivity,
    ApplicationStatus,
    AuditEvent,
    Outcome,
    OutcomeKind,
    Programme,
    Visibility,
)
from app.services import eligibility, workflow
from tests.workflow_helpers import (
    PATHS,
    actor_for,
    advance,
    application_in,
    attach_document,
    data_for,
    make_draft,
    make_world,
)

S = ApplicationStatus
ALL_PAIRS = [(state, action) for state in S for action in workflow.ACTIONS]


def _programme(world) -> Programme:
    return db.session.get(Programme, world.programme.id, populate_existing=True)


def test_the_table_has_one_edge_per_state_and_action():
    keys = [(t.source, t.action) for t in workflow.TRANSITIONS]
    assert len(keys) == len(set(keys))
    assert not [t for t in workflow.TRANSITIONS if t.source.is_final]


@pytest.mark.parametrize("state,action", ALL_PAIRS, ids=[f"{s.value}-{a}" for s, a in ALL_PAIRS])
def test_each_state_and_action_is_allowed_exactly_when_the_table_says(app, state, action):
    world = make_world()
    application = application_in(world, state)
    edge = workflow.transition_for(application, action)
    user = actor_for(world, action)
    if edge is None:
        with pytest.raises(workflow.NotAllowed):
            workflow.perform_transition(application, action, user, **data_for(action, application))
        assert db.session.get(Application, application.id).status is state
        return
    if action == "reject" and state in (S.RECOMMENDED, S.APPROVED):
        user = world.approver
    if action == "approve" and application.recommended_by_id == user.id:
        user = world.second_approver
    workflow.perform_transition(application, action, user, **data_for(action, application))
    db.session.commit()
    stored = db.session.get(Application, application.id, populate_existing=True)
    assert stored.status is edge.target
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == f"application.{action}",
                                                         AuditEvent.object_id == str(application.id))).all()
    assert len(events) == 1
    assert events[0].before["status"] == state.value and events[0].after["status"] == edge.target.value
    assert events[0].actor_id == user.id
    entry = db.session.scalars(select(ApplicationActivity).where(
        ApplicationActivity.application_id == application.id, ApplicationActivity.action == action)).one()
    assert entry.kind is ActivityKind.TRANSITION
    assert (entry.from_status, entry.to_status) == (state, edge.target)
    assert entry.visibility is (Visibility.INTERNAL if edge.internal else Visibility.SHARED)


@pytest.mark.parametrize("action,state,who", [
    ("submit", S.DRAFT, "reviewer"),
    ("submit", S.DRAFT, "outsider"),
    ("withdraw", S.SUBMITTED, "outsider"),
    ("withdraw", S.SUBMITTED, "reviewer"),
    ("start_review", S.SUBMITTED, "owner"),
    ("start_review", S.SUBMITTED, "approver"),
    ("start_review", S.SUBMITTED, "admin"),
    ("request_info", S.IN_REVIEW, "approver"),
    ("recommend", S.IN_REVIEW, "approver"),
    ("recommend", S.IN_REVIEW, "owner"),
    ("resubmit", S.INFO_REQUESTED, "reviewer"),
    ("resubmit", S.INFO_REQUESTED, "outsider"),
    ("approve", S.RECOMMENDED, "reviewer"),
    ("approve", S.RECOMMENDED, "owner"),
    ("approve", S.RECOMMENDED, "admin"),
    ("send_back", S.RECOMMENDED, "reviewer"),
    ("reject", S.RECOMMENDED, "reviewer"),
    ("reject", S.IN_REVIEW, "owner"),
    ("cancel", S.APPROVED, "reviewer"),
    ("complete", S.APPROVED, "owner"),
])
def test_the_wrong_person_is_refused_and_nothing_changes(app, action, state, who):
    world = make_world()
    application = application_in(world, state)
    version = application.version
    with pytest.raises(workflow.PermissionDenied):
        workflow.perform_transition(application, action, getattr(world, who), **data_for(action, application))
    db.session.rollback()
    stored = db.session.get(Application, application.id, populate_existing=True)
    assert (stored.status, stored.version) == (state, version)
    assert not db.session.scalars(select(AuditEvent).where(AuditEvent.action == f"application.{action}")).all()


def test_four_eyes_the_recommender_cannot_approve_but_another_approver_can(app):
    world = make_world()
    both = world.reviewer
    from app.models import Role, UserRole

    both.roles.append(UserRole(role=Role.APPROVER))
    db.session.commit()
    application = application_in(world, S.RECOMMENDED)
    assert application.recommended_by_id == both.id
    assert "approve" not in [t.action for t in workflow.available_actions(application, both)]
    with pytest.raises(workflow.FourEyesViolation):
        workflow.perform_transition(application, "approve", both)
    db.session.rollback()
    application = db.session.get(Application, application.id)
    workflow.perform_transition(application, "approve", world.approver)
    db.session.commit()
    assert application.status is S.APPROVED and application.decided_by_id == world.approver.id


@pytest.mark.parametrize("action,state", [("reject", S.IN_REVIEW), ("request_info", S.IN_REVIEW),
                                          ("cancel", S.APPROVED), ("send_back", S.RECOMMENDED)])
def test_actions_the_business_reads_need_a_reason(app, action, state):
    world = make_world()
    application = application_in(world, state)
    user = world.approver if action in ("cancel", "send_back") else world.reviewer
    with pytest.raises(workflow.InvalidData):
        workflow.perform_transition(application, action, user, reason="   ")
    assert db.session.get(Application, application.id).status is state


def test_submission_lists_every_missing_piece(app):
    world = make_world(documents=[("QUOTE", "Báo giá", "Quotation", True), ("LICENCE", "Giấy phép", "Licence", True),
                                  ("PHOTO", "Ảnh", "Photo", False)])
    application = Application(organisation_id=world.organisation.id, programme_id=world.programme.id,
                              planned_cost_vnd=10_000_000, requested_vnd=9_000_000)
    db.session.add(application)
    db.session.commit()
    attach_document(application, "QUOTE")
    with pytest.raises(workflow.InvalidData) as raised:
        workflow.perform_transition(application, "submit", world.owner, locale="en")
    details = "\n".join(raised.value.details)
    assert "at most 5.000.000" in details  # 50% of 10 million
    assert "Describe your project" in details and "declarations" in details
    assert "Licence" in details and "Photo" not in details and "Quotation" not in details
    assert db.session.get(Application, application.id).status is S.DRAFT


def test_submission_runs_eligibility_again(app):
    world = make_world()
    application = make_draft(world)
    programme = _programme(world)
    programme.closes_on = dt.date.today() - dt.timedelta(days=3)
    db.session.commit()
    with pytest.raises(workflow.InvalidData) as raised:
        workflow.perform_transition(application, "submit", world.owner, locale="en")
    assert any("closed" in reason for reason in raised.value.details)


def test_once_a_year_counts_submitted_not_drafts_or_withdrawals(app):
    world = make_world()
    year = dt.date.today().year
    draft = make_draft(world)
    assert eligibility.application_counts(world.organisation.id, year) == {}
    advance(world, draft, ["submit"])
    assert eligibility.application_counts(world.organisation.id, year) == {world.programme.code: 1}
    second = make_draft(world)
    with pytest.raises(workflow.InvalidData) as raised:
        workflow.perform_transition(second, "submit", world.owner, locale="en")
    assert any("once a year" in reason for reason in raised.value.details)
    db.session.rollback()
    draft = db.session.get(Application, draft.id)
    advance(world, draft, ["withdraw"])
    assert eligibility.application_counts(world.organisation.id, year) == {}


def test_recommended_amount_stays_within_the_request(app):
    world = make_world()
    application = application_in(world, S.IN_REVIEW)
    with pytest.raises(workflow.InvalidData):
        workflow.perform_transition(application, "recommend", world.reviewer, amount_vnd=application.requested_vnd + 1)
    with pytest.raises(workflow.InvalidData):
        workflow.perform_transition(application, "recommend", world.reviewer, amount_vnd="mười triệu")
    workflow.perform_transition(application, "recommend", world.reviewer, amount_vnd=25_000_000)
    db.session.commit()
    assert application.recommended_vnd == 25_000_000 and application.recommended_by_id == world.reviewer.id


def test_approval_commits_and_cancel_releases_the_money(app):
    world = make_world(budget_vnd=100_000_000)
    application = application_in(world, S.APPROVED)
    programme = _programme(world)
    assert programme.committed_vnd == 30_000_000 and programme.budget_remaining_vnd == 70_000_000
    workflow.perform_transition(application, "cancel", world.approver, reason="Doanh nghiệp ngừng dự án.")
    db.session.commit()
    programme = _programme(world)
    assert programme.committed_vnd == 0 and programme.disbursed_vnd == 0
    assert application.decision_reason == "Doanh nghiệp ngừng dự án."


def test_rejecting_after_approval_releases_the_money(app):
    world = make_world(budget_vnd=100_000_000)
    application = application_in(world, S.APPROVED)
    workflow.perform_transition(application, "reject", world.approver, reason="Hồ sơ không trung thực.")
    db.session.commit()
    assert _programme(world).committed_vnd == 0


def test_completion_disburses_and_releases_what_was_not_paid(app):
    world = make_world(budget_vnd=100_000_000)
    application = application_in(world, S.APPROVED)
    with pytest.raises(workflow.InvalidData):
        workflow.perform_transition(application, "complete", world.reviewer)
    for code in ("invoice", "acceptance"):
        attach_document(application, code)
    workflow.perform_transition(application, "complete", world.reviewer, amount_vnd=25_000_000)
    db.session.commit()
    programme = _programme(world)
    assert application.disbursed_vnd == 25_000_000
    assert (programme.committed_vnd, programme.disbursed_vnd) == (25_000_000, 25_000_000)
    assert programme.budget_remaining_vnd == 75_000_000


def test_approval_beyond_the_remaining_budget_is_refused_and_changes_nothing(app):
    world = make_world(budget_vnd=50_000_000)
    first = application_in(world, S.APPROVED)
    assert first.status is S.APPROVED
    other_owner = world.owner
    from tests.factories import OrganisationFactory
    from tests.workflow_helpers import make_assessment

    organisation = OrganisationFactory(owner=other_owner, size_class="small")
    make_assessment(organisation)
    world.organisation = organisation
    second = application_in(world, S.RECOMMENDED)
    with pytest.raises(workflow.BudgetExceeded):
        workflow.perform_transition(second, "approve", world.approver)
    stored = db.session.get(Application, second.id, populate_existing=True)
    assert stored.status is S.RECOMMENDED and stored.approved_vnd is None
    assert _programme(world).committed_vnd == 30_000_000
    assert not db.session.scalars(select(AuditEvent).where(AuditEvent.action == "application.approve",
                                                           AuditEvent.object_id == str(second.id))).all()
    workflow.perform_transition(stored, "approve", world.approver, amount_vnd=20_000_000)
    db.session.commit()
    assert _programme(world).committed_vnd == 50_000_000


def test_a_stale_version_is_a_conflict(app):
    world = make_world()
    application = application_in(world, S.IN_REVIEW)
    seen = application.version
    with pytest.raises(workflow.VersionConflict):
        workflow.perform_transition(application, "recommend", world.reviewer, expected_version=seen - 1,
                                    amount_vnd=10_000_000)
    workflow.perform_transition(application, "recommend", world.reviewer, expected_version=seen,
                                amount_vnd=10_000_000)
    db.session.commit()
    assert application.version == seen + 1


def test_a_change_committed_by_someone_else_meanwhile_is_a_conflict(app):
    world = make_world()
    application = application_in(world, S.IN_REVIEW)
    with db.engine.begin() as connection:  # another request, on its own connection
        connection.execute(update(Application).where(Application.id == application.id)
                           .values(version=Application.version + 1))
    with pytest.raises(workflow.VersionConflict):
        workflow.perform_transition(application, "request_info", world.reviewer, reason="Cần thêm ảnh.")
    stored = db.session.get(Application, application.id, populate_existing=True)
    assert stored.status is S.IN_REVIEW
    assert not db.session.scalars(select(ApplicationActivity).where(
        ApplicationActivity.action == "request_info")).all()


def test_outcomes_feed_the_recommender(app):
    world = make_world()
    from tests.catalogue_helpers import make_partner

    partner = make_partner()
    application = make_draft(world)
    application.partner_id = partner.id
    db.session.commit()
    advance(world, application, PATHS[S.COMPLETED])
    outcomes = db.session.scalars(select(Outcome).where(Outcome.application_id == application.id)).all()
    assert sorted((o.kind.value, o.item_type) for o in outcomes) == [
        ("approved", "partner"), ("approved", "programme"), ("completed", "partner"), ("completed", "programme")]
    assert all(o.organisation_id == world.organisation.id and o.source == "application" for o in outcomes)
    rejected = application_in(make_world(), S.REJECTED)
    kinds = db.session.scalars(select(Outcome.kind).where(Outcome.application_id == rejected.id)).all()
    assert kinds == [OutcomeKind.REJECTED]


def test_the_business_reads_one_label_for_internal_states():
    assert S.RECOMMENDED.public_label == S.IN_REVIEW.public_label
    assert S.RECOMMENDED.public_status is S.IN_REVIEW
    assert len({str(s.public_label) for s in S}) == len(S) - 1


def test_available_actions_are_the_buttons_to_show(app):
    world = make_world()
    application = application_in(world, S.IN_REVIEW)
    assert sorted(t.action for t in workflow.available_actions(application, world.reviewer)) == [
        "recommend", "reject", "request_info"]
    assert [t.action for t in workflow.available_actions(application, world.owner)] == ["withdraw"]
    assert workflow.available_actions(application, world.outsider) == []
    assert [t.action for t in workflow.available_actions(application, world.approver)] == ["reject"]
