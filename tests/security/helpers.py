"""Shared machinery of the security suite: the routes of ``app.url_map`` with their access rules, a "world"
of two organisations (A and B) that each own one object of every kind, and URL values for any route.

The routes are read at collection time from a collection-only app that opens no database (as
tests/test_access_matrix.py does), so every parametrised test is generated from the live url_map: a new
route is tested, or fails a "covered" test by name, as soon as it is registered.

Every organisation-owned object carries a marker text (``ALPHAQX``/``BRAVOQX``, words that appear nowhere
else), so a page can be checked for leaking the other organisation's data by searching for them.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from flask import current_app, url_for
from sqlalchemy import func, select, text
from werkzeug.exceptions import HTTPException

from app import create_app
from app.extensions import db, limiter
from app.models import AuditEvent, MemberRole, Membership, Role, User
from app.models.application import ApplicationDocument, ApplicationStatus
from app.models.catalogue import Partner, PartnerMember, Programme
from app.models.notification import Notification
from app.security import AccessRule
from app.services import api_tokens, assessments, catalogue, invitations, plans
from app.services import organisations as organisation_service
from config import TestConfig
from tests.application_helpers import (
    PDF_BYTES,
    add_document,
    make_draft,
    make_partner,
    make_programme,
    make_submitted,
    move_to,
)
from tests.factories import OrganisationFactory, UserFactory
from tests.plans_helpers import submit

# Routes ---------------------------------------------------------------------------------------------


class _CollectConfig(TestConfig):
    """Only used to read the url_map at collection time; it never opens a connection."""

    SQLALCHEMY_DATABASE_URI = "sqlite://"


COLLECTED = create_app(_CollectConfig)
#: Every route but the static files, sorted so test ids are stable.
RULES = sorted((r for r in COLLECTED.url_map.iter_rules() if r.endpoint != "static"),
               key=lambda r: (r.endpoint, r.rule))
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
API_PREFIX = "/api/v1"
_ARGUMENT_RE = re.compile(r"<(?:(?P<converter>[a-zA-Z_]+)(?:\((?P<args>[^)]*)\))?:)?(?P<name>\w+)>")


def access_rule(endpoint: str) -> AccessRule | None:
    return getattr(COLLECTED.view_functions[endpoint], "access_rule", None)


def rule_id(rule) -> str:
    return f"{rule.endpoint} {rule.rule}"


def is_api(rule) -> bool:
    return rule.rule.startswith(API_PREFIX + "/") or rule.rule == API_PREFIX


def methods(rule) -> list[str]:
    return sorted(rule.methods - {"HEAD", "OPTIONS"})


def unsafe_pairs(*, api: bool) -> list[tuple]:
    """(rule, method) for every state-changing method of every route, API routes or the others."""
    return [(r, m) for r in RULES if is_api(r) == api for m in methods(r) if m in UNSAFE_METHODS]


def pair_id(pair) -> str:
    rule, method = pair
    return f"{method} {rule.endpoint} {rule.rule}"


def arguments(rule) -> list[tuple[str, str, str | None]]:
    """(name, converter, converter args) of every URL argument of ``rule``."""
    return [(m.group("name"), m.group("converter") or "default", m.group("args"))
            for m in _ARGUMENT_RE.finditer(rule.rule)]


# Two organisations and everything they own ----------------------------------------------------------

#: Marker words for each side's texts: they appear in no template, no catalogue and no other test data.
MARKERS = {"A": "ALPHAQX", "B": "BRAVOQX"}


@dataclass(frozen=True)
class Side:
    """One organisation with one object of every kind it owns, and the people around it (ids and texts only,
    so a world built in one app context can be used in any other)."""

    key: str
    org_id: int
    owner_id: int
    member_id: int
    membership_id: int
    submitted_id: int
    draft_assessment_id: int
    draft_id: int
    document_id: int
    approved_id: int
    approved_document_id: int
    plan_id: int
    item_id: int
    notification_id: int
    invitation_id: int
    partner_id: int
    partner_user_id: int
    #: Texts only this side's pages show: its marker, name, owner, project and own plan item.
    secrets: tuple[str, ...]

    @property
    def marker(self) -> str:
        return MARKERS[self.key]


@dataclass(frozen=True)
class World:
    a: Side
    b: Side
    programme_id: int
    reviewer_id: int
    approver_id: int
    admin_id: int
    #: Targets of the staff routes (admin user pages, tokens, invitations, revisions, partner members).
    target_user_id: int
    token_id: int
    staff_invitation_id: int
    revision_id: int
    partner_member_id: int
    #: The secret of ``token_id`` (every scope), for the API routes.
    token_secret: str = ""

    def side(self, key: str) -> Side:
        return self.a if key == "A" else self.b


def _side(key: str, programme: Programme, letter_programme: Programme, reviewer: User, approver: User,
          *, all_roles: bool = False) -> Side:
    marker = MARKERS[key]
    roles = list(Role) if all_roles else [Role.BUSINESS]
    owner = UserFactory(roles=roles, locale="en", full_name=f"Chủ {marker} Nguyễn",
                        email=f"owner.{marker.lower()}@example.vn")
    organisation = OrganisationFactory(owner=owner, name=f"Cửa hàng {marker} Sa Huỳnh")
    organisation.size_class = organisation_service.size_class(
        organisation.sector, organisation.employees, organisation.annual_revenue_vnd, organisation.capital_vnd)
    member = UserFactory(roles=[Role.BUSINESS], full_name=f"Thành viên {marker}")
    membership = Membership(organisation_id=organisation.id, user_id=member.id, role=MemberRole.MEMBER)
    db.session.add(membership)
    db.session.commit()
    submitted = submit(organisation, owner, "middle")
    draft_assessment = assessments.start(organisation, owner)
    db.session.commit()
    approved = make_submitted(organisation, letter_programme, owner)
    move_to(approved, ApplicationStatus.APPROVED, reviewer=reviewer, approver=approver)
    draft = make_draft(organisation, programme, owner, project_title=f"Dự án {marker} hoá đơn điện tử")
    document = add_document(draft, "QUOTE", owner, PDF_BYTES, f"bao-gia-{marker}.pdf")
    plan, _created = plans.create_or_update(organisation, owner)
    item = plans.add_own_item(plan, owner, action=f"Việc riêng {marker} mở Zalo OA", pillar="customer",
                              phase="quick_win")
    invitation, _token = invitations.invite_member(owner, organisation, email=f"moi.{marker.lower()}@example.vn")
    # The partner company is published in the catalogue: its texts carry no organisation marker.
    partner_user = UserFactory(roles=[Role.PARTNER], full_name=f"Nhân viên đối tác {key}")
    partner = make_partner(members=[partner_user], name=f"Công ty Giải pháp Số {key}")
    if all_roles:
        partner.members.append(PartnerMember(user=owner))
    db.session.commit()
    notification = db.session.scalar(select(Notification).where(Notification.user_id == owner.id)
                                     .order_by(Notification.id))
    assert notification is not None, "the workflow notifies the owner"
    secrets = (marker, organisation.name, owner.full_name, owner.email, draft.project_title, item.action)
    approved_document_id = db.session.scalar(select(ApplicationDocument.id).where(
        ApplicationDocument.application_id == approved.id).order_by(ApplicationDocument.id))
    return Side(key, organisation.id, owner.id, member.id, membership.id, submitted.id, draft_assessment.id,
                draft.id, document.id, approved.id, approved_document_id, plan.id, item.id, notification.id,
                invitation.id, partner.id, partner_user.id, secrets)


def build_world(*, all_roles_owner: bool = False) -> World:
    """Organisations A and B, each with an assessment (submitted and draft), an application with a document, an
    approved application with its decision letter, a plan with an item, a notification, a member and an
    invitation; a partner company for each; staff; and one object for each staff route.

    ``all_roles_owner`` gives A's owner every role and links them to A's partner (for the fuzzers, which need
    one user that reaches every route). Needs the ``upload_dir`` fixture.
    """
    programme = make_programme(code="SEC-DRAFT")
    letter_programme = make_programme(code="SEC-LETTER")
    reviewer = UserFactory(roles=[Role.REVIEWER], full_name="Reviewer")
    approver = UserFactory(roles=[Role.APPROVER], full_name="Approver")
    admin = UserFactory(roles=[Role.ADMIN], full_name="Admin")
    a = _side("A", programme, letter_programme, reviewer, approver, all_roles=all_roles_owner)
    b = _side("B", programme, letter_programme, reviewer, approver)
    target_user = UserFactory(roles=[Role.BUSINESS], full_name="Target")
    token, secret = api_tokens.create(admin, "Security suite", list(api_tokens.SCOPES))
    staff_invitation, _token = invitations.invite_staff(admin, [Role.REVIEWER], email="staff.invite@so.gov.vn")
    proposal = catalogue.profile_values(db.session.get(Partner, b.partner_id))
    proposal["summary"] = {"vi": "Giới thiệu mới của đối tác.", "en": "A new introduction."}
    revision = catalogue.submit_revision(db.session.get(Partner, b.partner_id), db.session.get(User, b.partner_user_id),
                                          proposal)
    db.session.commit()
    partner_member_id = db.session.scalar(select(PartnerMember.id).where(PartnerMember.partner_id == b.partner_id))
    return World(a, b, programme.id, reviewer.id, approver.id, admin.id, target_user.id, token.id,
                 staff_invitation.id, revision.id, partner_member_id, secret)


def placeholder_world() -> World:
    """A world whose ids are all 1, for requests refused before any object is looked up (CSRF)."""
    def side(key: str) -> Side:
        ints = [1] * (len(Side.__dataclass_fields__) - 2)
        return Side(key, *ints, secrets=())

    return World(side("A"), side("B"), *([1] * (len(World.__dataclass_fields__) - 3)))


# URL values -----------------------------------------------------------------------------------------

#: Routes on an assessment that only exist while it is a draft (the others take the submitted one).
DRAFT_ASSESSMENT_ENDPOINTS = {"assessments.resume", "assessments.step", "assessments.review", "assessments.submit",
                              "assessments.discard"}
#: Routes on an application that need a decided (approved) one: the letter, the completion uploads, rating.
DECIDED_APPLICATION_ENDPOINTS = {"printing.business_letter", "applications.upload", "applications.rate"}
#: Query arguments a route needs to find its object (``url_for`` puts unknown values in the query string).
QUERY = {"applications.new": {"programme": "SEC-DRAFT"}}
#: What the generic arguments get (they never name an organisation's object).
GENERIC = {"code": "en", "action": "start_review", "step": 1}


def values_for(rule, world: World, side: str = "A", *, child_side: str | None = None) -> dict:
    """A value for every URL argument of ``rule``: ``side``'s organisation (or user, or partner) and its
    objects; ``child_side`` puts another side's objects under ``side``'s organisation (``/orgs/B/apps/<A's>``)."""
    own, child = world.side(side), world.side(child_side or side)
    endpoint = rule.endpoint
    values = {}
    for name, converter, args in arguments(rule):
        if name == "org_id":
            value = own.org_id
        elif name == "assessment_id":
            value = child.draft_assessment_id if endpoint in DRAFT_ASSESSMENT_ENDPOINTS else child.submitted_id
        elif name == "app_id":
            # Staff never see drafts: their routes (review, letters) get the approved application.
            draft_route = rule.rule.startswith("/organisations/") and endpoint not in DECIDED_APPLICATION_ENDPOINTS
            value = child.draft_id if draft_route else child.approved_id
        elif name == "doc_id":
            value = child.document_id if rule.rule.startswith("/organisations/") else child.approved_document_id
        elif name == "plan_id":
            value = child.plan_id
        elif name == "item_id":
            value = child.item_id
        elif name == "notification_id":
            value = child.notification_id
        elif name == "membership_id":
            value = child.membership_id
        elif name == "invitation_id":
            value = child.invitation_id if rule.rule.startswith("/organisations/") else world.staff_invitation_id
        elif name == "partner_id":
            value = child.partner_id
        elif name == "programme_id":
            value = world.programme_id
        elif name == "user_id":
            value = world.target_user_id
        elif name == "token_id":
            value = world.token_id
        elif name == "revision_id":
            value = world.revision_id
        elif name == "member_id":
            value = world.partner_member_id
        elif name == "application_id":
            value = child.approved_id
        elif name in GENERIC:
            value = GENERIC[name]
        elif converter == "any":
            value = args.split(",")[0].strip().strip("'\"")
        elif converter == "int":
            value = 1
        elif converter == "uuid":
            value = uuid.UUID(int=1)
        else:
            value = "x"
        values[name] = value
    values.update(QUERY.get(endpoint, {}))
    return values


def url(app, rule, values: dict) -> str:
    with app.test_request_context():
        return url_for(rule.endpoint, **values)


# Security headers -----------------------------------------------------------------------------------

#: Sources that would let a script run that the site did not ship.
UNSAFE_SOURCES = ("'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", "*", "data:", "http:", "https:")
GOOD_REFERRER_POLICIES = {"no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"}


def csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives.setdefault(words[0].lower(), words[1:])
    return directives


def assert_secure_headers(response, where: str) -> None:
    headers = response.headers
    csp = headers.get("Content-Security-Policy")
    assert csp, f"{where}: no Content-Security-Policy"
    directives = csp_directives(csp)
    scripts = directives.get("script-src", directives.get("default-src"))
    assert scripts is not None, f"{where}: CSP limits neither script-src nor default-src"
    assert not set(scripts) & set(UNSAFE_SOURCES), f"{where}: script-src allows {scripts}"
    frame_ancestors = directives.get("frame-ancestors")
    frame_options = headers.get("X-Frame-Options", "").upper()
    assert frame_options in ("DENY", "SAMEORIGIN") or frame_ancestors in (["'none'"], ["'self'"]), (
        f"{where}: may be framed (X-Frame-Options {frame_options!r}, frame-ancestors {frame_ancestors})")
    assert headers.get("X-Content-Type-Options") == "nosniff", f"{where}: no nosniff"
    assert headers.get("Referrer-Policy") in GOOD_REFERRER_POLICIES, (
        f"{where}: Referrer-Policy {headers.get('Referrer-Policy')!r}")
    for cookie in headers.getlist("Set-Cookie"):
        flags = {flag.strip().split("=")[0].lower(): flag.strip() for flag in cookie.split(";")[1:]}
        if cookie.split(";")[0].endswith("=") and flags.get("max-age") == "Max-Age=0":
            continue  # a cookie being deleted (empty, expired) carries nothing to protect
        assert "httponly" in flags, f"{where}: cookie without HttpOnly: {cookie}"
        assert flags.get("samesite", "").lower() in ("samesite=lax", "samesite=strict"), (
            f"{where}: cookie without SameSite=Lax/Strict: {cookie}")


# People and answers ---------------------------------------------------------------------------------


def login(client, user_id: int | None) -> None:
    """Log user ``user_id`` in on ``client`` (``None``: anonymous), with their session token as stored now."""
    with client.session_transaction() as session:
        session.clear()
        if user_id is not None:
            db.session.expire_all()
            session["_user_id"] = db.session.get(User, user_id).get_id()
            session["_fresh"] = True


def is_login_redirect(app, response) -> bool:
    if response.status_code not in (301, 302, 303, 307, 308):
        return False
    return urlsplit(response.headers["Location"]).path == url(app, _rule_of("auth.login"), {})


def _rule_of(endpoint: str):
    return next(r for r in RULES if r.endpoint == endpoint)


def audit_count() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(AuditEvent))


def clean_database() -> None:
    """Empty every table, the outbox and the rate-limit counters (what tests/conftest.py does after each test),
    for the modules that share one world between their tests."""
    db.session.rollback()
    db.session.remove()
    tables = list(reversed(db.metadata.sorted_tables))
    if db.engine.dialect.name == "postgresql":
        names = ", ".join(f'"{t.name}"' for t in tables)
        db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for table in tables:
            db.session.execute(table.delete())
    db.session.commit()
    current_app.extensions.get("outbox", []).clear()
    limiter.reset()


def world_intact(world: World) -> bool:
    """Whether every object of the world is still there in the state the routes expect (a form post may have
    discarded the draft, removed the document, withdrawn the application...)."""
    from app.models.application import Application
    from app.models.assessment import Assessment, AssessmentStatus
    from app.models.invitation import Invitation
    from app.models.plan import PlanItem

    db.session.expire_all()
    for side in (world.a, world.b):
        draft_assessment = db.session.get(Assessment, side.draft_assessment_id)
        draft = db.session.get(Application, side.draft_id)
        approved = db.session.get(Application, side.approved_id)
        document = db.session.get(ApplicationDocument, side.document_id)
        invitation = db.session.get(Invitation, side.invitation_id)
        checks = [
            draft_assessment is not None and draft_assessment.status is AssessmentStatus.DRAFT,
            draft is not None and draft.status is ApplicationStatus.DRAFT,
            approved is not None and approved.status is ApplicationStatus.APPROVED,
            document is not None and document.removed_at is None,
            db.session.get(PlanItem, side.item_id) is not None,
            db.session.get(Membership, side.membership_id) is not None,
            db.session.get(Notification, side.notification_id) is not None,
            invitation is not None and invitation.is_open(),
            all(getattr(db.session.get(User, uid), "is_active", False) for uid in (side.owner_id, side.member_id)),
        ]
        if not all(checks):
            return False
    return db.session.get(PartnerMember, world.partner_member_id) is not None


class WorldKeeper:
    """One world for a module's tests, rebuilt only when a test changed it, so that hundreds of route tests
    need not build two organisations each.

    ``strict``: rebuilt after any test that wrote an audit event (the owner's form posts in the ownership
    test); otherwise only when an object is gone or changed state (``world_intact``), as the fuzzers and
    the page checks only need the objects to exist. A module that uses it overrides the autouse
    ``_clean_state`` of tests/conftest.py (see ``keeper_fixtures``) and empties the database when done.
    """

    def __init__(self, options: dict, strict: bool):
        self.options, self.strict = options, strict
        self.world: World | None = None
        self.baseline = 0
        self.dirty = False
        self.builds = 0

    def get(self) -> World:
        if self.world is None or self.dirty or (not self.strict and not world_intact(self.world)):
            if self.world is not None:
                clean_database()
            self.world = build_world(**self.options)
            self.builds += 1
            db.session.remove()
            self.baseline = audit_count()
            self.dirty = False
        return self.world

    def after_test(self) -> None:
        db.session.rollback()
        if self.world is not None and self.strict and audit_count() != self.baseline:
            self.dirty = True
        db.session.remove()
        current_app.extensions.get("outbox", []).clear()
        limiter.reset()


def keeper_fixtures(*, strict: bool, **options):
    """The three fixtures of a module that keeps one world: ``keeper`` (module), the overriding ``_clean_state``
    (autouse) and ``world``. Use: ``keeper, _clean_state, world = keeper_fixtures(strict=True)``."""

    @pytest.fixture(scope="module")
    def keeper(app, tmp_path_factory):
        with pytest.MonkeyPatch.context() as patch:
            patch.setitem(app.config, "UPLOAD_DIR", str(tmp_path_factory.mktemp("security-uploads")))
            kept = WorldKeeper(options, strict)
            yield kept
            with app.app_context():
                clean_database()

    @pytest.fixture(autouse=True)
    def _clean_state(app, keeper):
        """Overrides tests/conftest.py's: the tables are kept between the tests of this module."""
        with app.app_context():
            yield
            keeper.after_test()

    @pytest.fixture
    def world(keeper) -> World:
        return keeper.get()

    return keeper, _clean_state, world


# The forms the pages really render ------------------------------------------------------------------


@dataclass
class FormSpec:
    """The fields of the forms that post to one route, as the pages render them: name -> values seen (the
    hidden and pre-filled values, every option of a select, radio or checkbox), and which are file inputs."""

    fields: dict[str, set[str]]
    files: set[str]


class _FormParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[tuple[str, str, dict[str, set[str]], set[str]]] = []
        self._current = None
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._current = (values.get("action", ""), values.get("method", "get").lower(), {}, set())
            self.forms.append(self._current)
            return
        if self._current is None:
            return
        fields, files = self._current[2], self._current[3]
        name = values.get("name")
        if tag in ("input", "button") and name:
            fields.setdefault(name, set())
            if values.get("type") == "file":
                files.add(name)
            elif "value" in values:
                fields[name].add(values["value"])
        elif tag == "select" and name:
            self._select = name
            fields.setdefault(name, set())
        elif tag == "option" and self._select:
            fields[self._select].add(values.get("value", ""))
        elif tag == "textarea" and name:
            self._textarea = name
            fields.setdefault(name, set())

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def _pages(app, rule, world: World) -> list[str]:
    """The pages of ``rule`` worth reading forms from: with A's objects, and with A's approved application
    where the route shows an application (its follow-up page has the comment, upload and rating forms)."""
    values = values_for(rule, world, "A")
    pages = [url(app, rule, values)]
    if "app_id" in values and rule.rule.startswith("/organisations/"):
        pages.append(url(app, rule, {**values, "app_id": world.a.approved_id}))
    return pages


def harvest_forms(app, client, world: World, user_id: int) -> tuple[dict[str, FormSpec], dict[str, FormSpec]]:
    """Every form on every page ``user_id`` (and an anonymous visitor) can open, GET routes with ``world``'s
    values: the POST forms by the endpoint they post to, the GET (search/filter) forms by the one they read."""
    adapter = app.url_map.bind("localhost")
    posts: dict[str, FormSpec] = {}
    gets: dict[str, FormSpec] = {}
    for visitor in (user_id, None):
        login(client, visitor)
        for rule in RULES:
            if "GET" not in rule.methods or is_api(rule) or rule.endpoint.startswith("printing."):
                continue
            for page_url in _pages(app, rule, world):
                response = client.get(page_url)
                if response.status_code != 200 or response.mimetype != "text/html":
                    continue
                parser = _FormParser()
                parser.feed(response.get_data(as_text=True))
                for action, method, fields, files in parser.forms:
                    target = urlsplit(urljoin(page_url, action or page_url)).path
                    try:
                        endpoint, _args = adapter.match(target, method="POST" if method == "post" else "GET")
                    except HTTPException:
                        continue
                    found = (posts if method == "post" else gets).setdefault(endpoint, FormSpec({}, set()))
                    for name, seen in fields.items():
                        found.fields.setdefault(name, set()).update(seen)
                    found.files |= files
    return posts, gets


def form_field_names() -> set[str]:
    """Every field name of every Flask-WTF form class in the app (for routes whose form no page shows)."""
    from flask_wtf import FlaskForm
    from wtforms.fields.core import UnboundField

    import app.blueprints  # noqa: F401

    def subclasses(base):
        for sub in base.__subclasses__():
            yield sub
            yield from subclasses(sub)

    names = {"csrf_token"}
    for form in subclasses(FlaskForm):
        if form.__module__.startswith("app."):
            for klass in form.__mro__:
                names |= {key for key, value in vars(klass).items() if isinstance(value, UnboundField)}
    return names - {"csrf_token"}
