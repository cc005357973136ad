"""Data for the load test, created through the services (not HTTP) on top of ``flask demo load``.

Run by ``bench/load/run.py`` inside the environment of the mode under test (same database, upload folder
and instance folder as the servers):  ``python -m bench.load.data FIXTURE.json``.

It adds
- ``--businesses`` business users, each owning one organisation with one submitted self-assessment and a
  programme it may apply to: the simulated business users log in as them (one organisation per simulated
  user, so two simulated users never edit the same draft and meet version conflicts a real shop would not);
- ``--background`` other organisations with a submitted assessment and an application in every state of
  the review (documents, timeline, audit, outcomes), so the staff queue, the statistics, the peer
  benchmarks and the open data have realistic content;
- ``--staff`` reviewers,
and writes what the Locust scenario needs (logins, ids, codes) to the fixture file.
Every account uses the demo password. Figures: about 40 s for the defaults on SQLite.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sqlalchemy import select

from app import create_app
from app.extensions import db
from app.models.application import Application, ApplicationStatus
from app.models.catalogue import Partner, PartnerStatus, Programme
from app.models.organisation import OrganisationKind
from app.models.types import utcnow
from app.models.user import Role, User, UserRole
from app.services import applications, assessments, documents, geo, workflow
from app.services import organisations as organisations_service
from app.services.demo import DEMO_PASSWORD, _demo_answer, demo_tax_code, one_page_pdf
from app.services.passwords import hash_password

#: Programmes tried first for the simulated businesses' drafts (broad eligibility, one required document).
PREFERRED_PROGRAMMES = ("SMEDX-PLATFORMS", "CHO-SO-ONBOARDING", "ND80-DX-SOLUTIONS", "OCOP-TRACEABILITY")
#: Where the background applications are left: the path through the workflow and its share.
PATHS = (
    (("submit",), 25),
    (("submit", "start_review"), 25),
    (("submit", "start_review", "request_info"), 8),
    (("submit", "start_review", "recommend"), 12),
    (("submit", "start_review", "recommend", "approve"), 6),
    (("submit", "start_review", "reject"), 14),
    (("submit", "withdraw"), 4),
    ((), 6),  # left as a draft
)
SECTORS = "ACGIN"
KINDS = (OrganisationKind.ENTERPRISE, OrganisationKind.COOPERATIVE, OrganisationKind.HOUSEHOLD_BUSINESS)


def _user(email: str, name: str, password_hash: str, role: Role) -> User:
    user = User(email=email, full_name=name, password_hash=password_hash, locale="vi", confirmed_at=utcnow(),
                active=True)
    user.roles.append(UserRole(role=role))
    db.session.add(user)
    return user


def _organisation(owner: User, index: int, rng: random.Random, communes: list[str]):
    kind = KINDS[index % len(KINDS)]
    data = {
        "name": f"{('Công ty TNHH', 'Hợp tác xã', 'Hộ kinh doanh')[index % 3]} Thử tải {index}",
        "sector": SECTORS[index % len(SECTORS)],
        "commune_code": communes[index % len(communes)] if communes else None,
        "employees": rng.randint(1, 9) if kind is OrganisationKind.HOUSEHOLD_BUSINESS else rng.randint(3, 45),
        "annual_revenue_vnd": rng.randint(3, 90) * 100_000_000,
        "founded_year": rng.randint(1995, 2024),
    }
    if kind is not OrganisationKind.HOUSEHOLD_BUSINESS:
        data["tax_code"] = demo_tax_code(f"43{7_000_000 + index * 131:07d}")
    return organisations_service.create_organisation(owner, kind, data)


def _submit_assessment(organisation, user: User, rng: random.Random, days_ago: int):
    """A plausible submitted assessment, dated ``days_ago`` (the demo's answering rules)."""
    draft = assessments.start(organisation, user)
    framework = assessments.framework_of(draft)
    strength = rng.uniform(0.1, 0.85)
    answers = {q.id: _demo_answer(q, rng, strength) for q in framework.questions_for(draft.track)}
    assessments.save_answers(draft, user, answers)
    assessments.submit(draft, user)
    draft.created_at = draft.updated_at = draft.submitted_at = utcnow() - timedelta(days=days_ago)
    return draft


def _eligible_programme(organisation, programmes: list[Programme], exclude: set[str] = frozenset()):
    for programme in programmes:
        if programme.code in exclude:
            continue
        if applications.check_eligibility(organisation, programme).eligible \
                and applications.max_request_for(organisation, programme, 60_000_000) > 0:
            return programme
    return None


def _apply(organisation, programme: Programme, owner: User, path: tuple[str, ...], staff: dict[str, User],
           rng: random.Random, partners: list[Partner]) -> Application:
    """An application moved through the real workflow (documents, audit, timeline, notifications)."""
    application, _created = applications.create_draft(organisation, programme, owner)
    cost = rng.randint(2, 20) * 10_000_000
    application.planned_cost_vnd = cost
    application.requested_vnd = applications.max_request_for(organisation, programme, cost)
    application.project_title = "Số hoá bán hàng, hoá đơn điện tử và quản lý kho"
    application.project_description = "Triển khai phần mềm bán hàng và kho; đào tạo nhân viên trong 3 tháng."
    application.partner_id = rng.choice(partners).id if partners and rng.random() < 0.6 else None
    application.declarations_accepted = True
    db.session.flush()
    for document in programme.documents:
        if document.required:
            pdf = one_page_pdf(f"{programme.code} {document.code}")
            documents.upload(application, document.code, io.BytesIO(pdf), f"{document.code.lower()}.pdf", owner,
                             check_state=False)
    for action in path:
        actor = {"submit": owner, "withdraw": owner, "approve": staff["approver"]}.get(action, staff["reviewer"])
        data = {"reason": "Vui lòng bổ sung bản scan rõ nét hơn."} if action in ("request_info", "reject") else {}
        if action == "recommend":
            data = {"amount_vnd": application.requested_vnd}
        try:
            with db.session.begin_nested():
                workflow.perform_transition(application, action, actor, **data)
        except workflow.WorkflowError:
            break  # e.g. the programme's budget is spent: the application stays where it is
    # Spread the waiting times so the queue's "waiting" filter and overdue badges have something to show.
    changed = utcnow() - timedelta(days=rng.randint(0, 40), hours=rng.randint(0, 23))
    application.status_changed_at = changed
    if application.submitted_at is not None:
        application.submitted_at = changed - timedelta(days=rng.randint(0, 5))
    return application


def seed(businesses: int, background: int, staff_count: int, rng_seed: int = 2025) -> dict:
    """Create the extra data (committed) and return the fixture for the Locust scenario."""
    rng = random.Random(rng_seed)  # noqa: S311 (test data)
    password_hash = hash_password(DEMO_PASSWORD)  # once: argon2 is deliberately slow
    communes = [unit.code for unit in geo.communes()]
    programmes = list(db.session.scalars(select(Programme).where(Programme.retired_at.is_(None))
                                         .order_by(Programme.code)))
    preferred = sorted(programmes, key=lambda p: (p.code not in PREFERRED_PROGRAMMES,
                                                  PREFERRED_PROGRAMMES.index(p.code)
                                                  if p.code in PREFERRED_PROGRAMMES else 0, p.code))
    partners = list(db.session.scalars(select(Partner).where(Partner.status == PartnerStatus.VETTED,
                                                             Partner.retired_at.is_(None))))
    staff_users = [_user(f"thamdinh{n}@load.example.vn", f"Cán bộ thẩm định {n}", password_hash, Role.REVIEWER)
                   for n in range(1, staff_count + 1)]
    approver = db.session.scalar(select(User).where(User.email == "pheduyet@example.vn"))
    db.session.flush()
    actors = {"reviewer": staff_users[0], "approver": approver}

    paths = [path for path, weight in PATHS for _ in range(weight)]
    for index in range(background):
        owner = _user(f"nen{index}@load.example.vn", f"Chủ cơ sở {index}", password_hash, Role.BUSINESS)
        db.session.flush()
        organisation = _organisation(owner, 1000 + index, rng, communes)
        _submit_assessment(organisation, owner, rng, days_ago=rng.randint(2, 120))
        programme = _eligible_programme(organisation, rng.sample(programmes, len(programmes)))
        if programme is not None:
            _apply(organisation, programme, owner, rng.choice(paths), actors, rng, partners)
        if index % 50 == 49:
            db.session.commit()

    business_rows = []
    for index in range(businesses):
        email = f"dn{index}@load.example.vn"
        owner = _user(email, f"Chủ doanh nghiệp {index}", password_hash, Role.BUSINESS)
        db.session.flush()
        organisation = _organisation(owner, index, rng, communes)
        if index % 3 == 0:  # some have a history, so results show the change
            _submit_assessment(organisation, owner, rng, days_ago=rng.randint(150, 300))
        assessment = _submit_assessment(organisation, owner, rng, days_ago=rng.randint(1, 60))
        programme = _eligible_programme(organisation, preferred)
        business_rows.append({"login": email, "org_id": organisation.id, "assessment_id": assessment.id,
                              "programme": programme.code if programme else None})
    db.session.commit()

    review_ids = list(db.session.scalars(select(Application.id).where(
        Application.status != ApplicationStatus.DRAFT).order_by(Application.id)))
    return {
        "password": DEMO_PASSWORD,
        "businesses": business_rows,
        "staff": [user.email for user in staff_users],
        "review_application_ids": review_ids,
        "programme_ids": [p.id for p in programmes],
        "partner_ids": [p.id for p in partners],
        "sectors": sorted({o for o in SECTORS}),
        "communes": communes[:20],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("fixture", type=Path, help="where to write the scenario's fixture (JSON)")
    parser.add_argument("--businesses", type=int, default=40)
    parser.add_argument("--background", type=int, default=300)
    parser.add_argument("--staff", type=int, default=6)
    args = parser.parse_args()
    started = time.perf_counter()
    app = create_app()
    with app.app_context():
        fixture = seed(args.businesses, args.background, args.staff)
        counts = {"applications": len(fixture["review_application_ids"])}
    args.fixture.write_text(json.dumps(fixture, ensure_ascii=False, indent=1))
    print(f"load data: {args.businesses} business users, {args.background} other organisations, "
          f"{counts['applications']} applications for staff, {args.staff} reviewers "
          f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
