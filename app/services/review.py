"""The department's side of support applications: the review queue, its CSV export, assignment to a
reviewer and staff comments.

The queue must stay fast on 100,000 applications with at most a handful of queries per page. The page is
one query with a "deferred join": the filters, the order and LIMIT/OFFSET run on ``application`` alone
(the organisation's filters as ``organisation_id IN (SELECT ...)``), and only the page's ids are then
joined to the organisation, the programme and the reviewer for the columns shown. The ids come from one
index-ordered branch per state (see ``_page_ids``). The total comes from one GROUP BY over the states
(which also gives the counts per state), so there is no separate COUNT(*) over a join.

State changes themselves go through ``app.services.workflow.perform_transition``; this module only adds
the staff operations that are not transitions (assignment, comments), with their audit events and
timeline entries in the caller's transaction.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select, union_all
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased, joinedload, selectinload
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

from app.extensions import db
from app.models.application import (
    QUEUE_STATES,
    ActivityKind,
    Application,
    ApplicationActivity,
    ApplicationStatus,
    Visibility,
)
from app.models.assessment import Assessment
from app.models.catalogue import Programme
from app.models.organisation import Organisation, OrganisationKind
from app.models.types import utcnow
from app.models.user import Role, User, UserRole
from app.services import applications, audit, geo, notifications, sectors, workflow

S = ApplicationStatus

#: The states where the department acts, in workflow order (the queue's default).
STAFF_STATES: tuple[ApplicationStatus, ...] = tuple(s for s in ApplicationStatus if s in QUEUE_STATES)
#: Every state staff can see: drafts belong to the business until they are sent.
VISIBLE_STATES: tuple[ApplicationStatus, ...] = tuple(s for s in ApplicationStatus if s is not S.DRAFT)

#: ``state`` filter values besides a single state.
OPEN, ALL = "open", "all"
SORTS = ("waiting", "newest", "amount", "programme")
ASSIGNED_CHOICES = ("me", "unassigned")

DEFAULT_OVERDUE_DAYS = 10
DEFAULT_PAGE_SIZE = 25
MAX_PAGE = 100_000
#: Rows fetched from the database at a time while the CSV streams.
EXPORT_BATCH = 1000
MAX_COMMENT_LENGTH = workflow.MAX_NOTE_LENGTH


def overdue_days() -> int:
    """Days in a staff state after which an application is flagged as overdue (``REVIEW_OVERDUE_DAYS``)."""
    return int(current_app.config.get("REVIEW_OVERDUE_DAYS", DEFAULT_OVERDUE_DAYS))


def page_size() -> int:
    """Rows per queue page (``REVIEW_PAGE_SIZE``)."""
    return max(1, int(current_app.config.get("REVIEW_PAGE_SIZE", DEFAULT_PAGE_SIZE)))


def waiting_days(changed_at: dt.datetime | None, now: dt.datetime) -> int:
    """Whole days since the last change of state."""
    if changed_at is None:
        return 0
    return max(0, (now - changed_at).days)


def is_overdue(status: ApplicationStatus, changed_at: dt.datetime | None, now: dt.datetime,
               days: int | None = None) -> bool:
    """Waiting for the department for longer than the setting allows."""
    limit = overdue_days() if days is None else days
    return status in QUEUE_STATES and changed_at is not None and now - changed_at > dt.timedelta(days=limit)


def text_in(value: dict[str, str] | None, locale: str | None) -> str:
    """A multilingual catalogue text in ``locale``, falling back to Vietnamese."""
    value = value or {}
    return value.get((locale or "vi")[:2]) or value.get("vi", "")


# Filters --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueFilters:
    """What the staff member asked the queue for; every field is already validated by the form."""

    state: str = OPEN
    programme_id: int | None = None
    commune: str | None = None
    sector: str | None = None
    kind: str | None = None
    #: Only applications whose state has not changed for at least this many days.
    waiting_days: int | None = None
    #: ``me`` or ``unassigned``.
    assigned: str | None = None
    #: Part of the organisation's name, or an application number (``123`` or ``#123``).
    q: str | None = None
    sort: str = "waiting"

    def states(self) -> tuple[ApplicationStatus, ...]:
        if self.state == ALL:
            return VISIBLE_STATES
        if self.state in (OPEN, "", None):
            return STAFF_STATES
        return (ApplicationStatus(self.state),)


def _application_id(term: str) -> int | None:
    digits = term.strip().lstrip("#").strip()
    if digits.isdigit() and len(digits) <= 9:
        return int(digits)
    return None


def _escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class _Unindexed(ColumnElement):
    """A column that SQLite must not look up through an index (``+column``); plain everywhere else.

    SQLite without statistics (a fresh embedded installation never runs ANALYZE) prefers the index on
    ``status`` even when an organisation filter selects a few dozen organisations, and then tests the
    organisation of every application in those states; sorted by programme, it sorts them all instead
    of walking the programmes in code order. Ten to fifty times slower. PostgreSQL plans with statistics
    and is left alone.
    """

    inherit_cache = True
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement)]

    def __init__(self, column):
        self.column = column
        self.type = column.type


@compiles(_Unindexed)
def _compile_unindexed(element, compiler, **kw):
    return compiler.process(element.column, **kw)


@compiles(_Unindexed, "sqlite")
def _compile_unindexed_sqlite(element, compiler, **kw):
    return "+" + compiler.process(element.column, **kw)


def _has_organisation_filter(filters: QueueFilters) -> bool:
    return bool(filters.commune or filters.sector or filters.kind or filters.q)


def _conditions(filters: QueueFilters, user: User | None, now: dt.datetime,
                states: tuple[ApplicationStatus, ...], *, ordered: bool = False) -> list:
    """WHERE clauses on ``application``; the organisation's filters become one ``organisation_id IN (...)``.

    The IN sub-select reads the 5,000-odd organisations once, instead of testing the name of the
    organisation of each of 100,000 applications (SQLite's Unicode ``lower`` is a Python function).
    ``ordered``: the rows are wanted in the sort's order (pages, CSV), not only counted.
    """
    status = Application.status
    if _has_organisation_filter(filters) or (ordered and filters.sort == "programme"):
        # Let the organisations (or the programmes, in code order) drive, not the 100,000 rows of the states.
        status = _Unindexed(Application.status)
    conditions: list = [status == states[0] if len(states) == 1 else status.in_(states)]
    if filters.programme_id is not None:
        conditions.append(Application.programme_id == filters.programme_id)
    if filters.waiting_days:
        conditions.append(Application.status_changed_at <= now - dt.timedelta(days=filters.waiting_days))
    if filters.assigned == "me" and user is not None:
        conditions.append(Application.reviewer_id == user.id)
    elif filters.assigned == "unassigned":
        conditions.append(Application.reviewer_id.is_(None))
    organisation: list = []
    if filters.commune:
        organisation.append(Organisation.commune_code == filters.commune)
    if filters.sector:
        organisation.append(Organisation.sector == filters.sector)
    if filters.kind:
        organisation.append(Organisation.kind == OrganisationKind(filters.kind))
    number = None
    if filters.q:
        term = unicodedata.normalize("NFC", filters.q.strip())
        organisation.append(Organisation.name.ilike(f"%{_escape_like(term)}%", escape="\\"))
        number = _application_id(term)
    if organisation:
        matching = Application.organisation_id.in_(select(Organisation.id).where(*organisation))
        # "#123" finds application 123 even though no organisation is called that.
        conditions.append(or_(matching, Application.id == number) if number is not None else matching)
    return conditions


#: The sorts that read ``application`` alone: (column, descending) pairs, the id last so pages never overlap.
#: No NULLS LAST: staff never see drafts, and every sent application has its amount and date, so the plain
#: order lets both databases read an index on (status, column) in order and stop early.
_SORT_KEYS: dict[str, tuple[tuple[str, bool], ...]] = {
    "waiting": (("status_changed_at", False), ("id", False)),
    "newest": (("submitted_at", True), ("id", True)),
    "amount": (("requested_vnd", True), ("id", True)),
}


def _order(filters: QueueFilters, source=None) -> list:
    """ORDER BY of the chosen sort, on ``application`` or on the columns of ``source`` (a subquery)."""
    if filters.sort == "programme":
        return [Programme.code, Application.status_changed_at, Application.id]
    keys = _SORT_KEYS.get(filters.sort, _SORT_KEYS["waiting"])
    columns = source.c if source is not None else Application
    return [getattr(columns, name).desc() if descending else getattr(columns, name) for name, descending in keys]


def _page_ids(filters: QueueFilters, user: User | None, now: dt.datetime, states: tuple[ApplicationStatus, ...],
              limit: int, offset: int):
    """SELECT the ids of one page, in order.

    With several states, one branch per state (``status = X ORDER BY ... LIMIT offset + limit``) joined by
    UNION ALL: each branch walks the (status, column) index and stops early, so the page costs a few
    hundred index entries instead of a sort of every waiting application (PostgreSQL cannot merge the
    ranges of ``status IN (...)`` in order by itself). With an organisation filter the organisations drive
    the query instead (see ``_Unindexed``), in one branch.
    """
    if filters.sort == "programme" or len(states) == 1 or _has_organisation_filter(filters):
        query = select(Application.id)
        if filters.sort == "programme":
            query = query.join(Programme, Programme.id == Application.programme_id)
        query = query.where(*_conditions(filters, user, now, states, ordered=True)).order_by(*_order(filters))
        return query.limit(limit).offset(offset)
    keys = [name for name, _descending in _SORT_KEYS.get(filters.sort, _SORT_KEYS["waiting"])]
    branches = []
    for state in states:
        branch = (select(*(getattr(Application, name) for name in keys))
                  .where(*_conditions(filters, user, now, (state,)))
                  .order_by(*_order(filters)).limit(offset + limit).subquery())
        branches.append(select(branch))
    merged = union_all(*branches).subquery()
    return select(merged.c.id).order_by(*_order(filters, merged)).limit(limit).offset(offset)


Reviewer = aliased(User, name="reviewer")

#: Only the columns the queue and the CSV show (no JSON blobs but the programme's name, no descriptions).
_COLUMNS = (
    Application.id, Application.status, Application.status_changed_at, Application.submitted_at,
    Application.requested_vnd, Application.recommended_vnd, Application.approved_vnd, Application.reviewer_id,
    Organisation.id.label("organisation_id"), Organisation.name.label("organisation_name"),
    Organisation.kind.label("organisation_kind"), Organisation.commune_code, Organisation.sector,
    Programme.id.label("programme_id"), Programme.code.label("programme_code"),
    Programme.name.label("programme_name"), Reviewer.full_name.label("reviewer_name"),
)


def _with_details(query):
    return (query.join(Organisation, Organisation.id == Application.organisation_id)
            .join(Programme, Programme.id == Application.programme_id)
            .outerjoin(Reviewer, Reviewer.id == Application.reviewer_id))


@dataclass(frozen=True)
class QueueRow:
    """One line of the queue (and of the CSV)."""

    id: int
    status: ApplicationStatus
    status_changed_at: dt.datetime
    submitted_at: dt.datetime | None
    requested_vnd: int | None
    recommended_vnd: int | None
    approved_vnd: int | None
    reviewer_id: int | None
    reviewer_name: str | None
    organisation_id: int
    organisation_name: str
    organisation_kind: OrganisationKind
    commune_code: str | None
    sector: str
    programme_id: int
    programme_code: str
    programme_name: str
    waiting_days: int
    overdue: bool


def _row(record: Any, now: dt.datetime, limit: int, locale: str | None) -> QueueRow:
    return QueueRow(
        id=record.id, status=record.status, status_changed_at=record.status_changed_at,
        submitted_at=record.submitted_at, requested_vnd=record.requested_vnd,
        recommended_vnd=record.recommended_vnd, approved_vnd=record.approved_vnd, reviewer_id=record.reviewer_id,
        reviewer_name=record.reviewer_name, organisation_id=record.organisation_id,
        organisation_name=record.organisation_name, organisation_kind=record.organisation_kind,
        commune_code=record.commune_code, sector=record.sector, programme_id=record.programme_id,
        programme_code=record.programme_code, programme_name=text_in(record.programme_name, locale),
        waiting_days=waiting_days(record.status_changed_at, now),
        overdue=is_overdue(record.status, record.status_changed_at, now, limit),
    )


@dataclass
class QueuePage:
    """A page of the queue with what ``pagination_nav`` needs and the counts per state."""

    items: list[QueueRow]
    page: int
    per_page: int
    total: int
    #: Applications per state under every filter but the state one.
    counts: dict[ApplicationStatus, int] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1

    @property
    def open_total(self) -> int:
        return sum(self.counts.get(state, 0) for state in STAFF_STATES)

    @property
    def all_total(self) -> int:
        return sum(self.counts.values())


def state_counts(filters: QueueFilters, user: User | None, now: dt.datetime) -> dict[ApplicationStatus, int]:
    """Applications per state under the other filters: one GROUP BY on ``application``, no join."""
    query = select(Application.status, func.count()).select_from(Application)
    query = query.where(*_conditions(filters, user, now, VISIBLE_STATES)).group_by(Application.status)
    return {ApplicationStatus(status): count for status, count in db.session.execute(query)}


def queue_page(filters: QueueFilters, user: User | None, page: int = 1, per_page: int | None = None, *,
               locale: str | None = None, now: dt.datetime | None = None) -> QueuePage:
    """One page of the queue: two queries (the counts, then the page's rows)."""
    now = now or utcnow()
    per_page = per_page or page_size()
    counts = state_counts(filters, user, now)
    total = sum(counts.get(state, 0) for state in filters.states())
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages, MAX_PAGE)
    items: list[QueueRow] = []
    if total:
        states = tuple(state for state in filters.states() if counts.get(state))
        ids = _page_ids(filters, user, now, states, per_page, (page - 1) * per_page).subquery()
        query = _with_details(select(*_COLUMNS).select_from(ids).join(Application, Application.id == ids.c.id))
        limit = overdue_days()
        items = [_row(record, now, limit, locale) for record in db.session.execute(query.order_by(*_order(filters)))]
    return QueuePage(items=items, page=page, per_page=per_page, total=total, counts=counts)


def programme_choices(locale: str | None) -> list[tuple[int, str]]:
    """``(id, "CODE – name")`` of every programme, for the queue's filter."""
    rows = db.session.execute(select(Programme.id, Programme.code, Programme.name).order_by(Programme.code))
    return [(row.id, f"{row.code} – {text_in(row.name, locale)}") for row in rows]


# CSV export -----------------------------------------------------------------------------------------

#: A cell starting with one of these is a formula to Excel or LibreOffice (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str | int:
    """A value ready for a CSV cell: numbers as they are, text that could start a formula prefixed with '."""
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def export_header() -> list[str]:
    """The header row, in the user's language."""
    return [
        _("Application number"), _("Organisation"), _("Kind of organisation"), _("Commune or ward"), _("Sector"),
        _("Programme code"), _("Programme name"), _("State"), _("Requested (đồng)"), _("Recommended (đồng)"),
        _("Approved (đồng)"), _("Submitted on"), _("Days waiting"), _("Reviewer"),
    ]


@dataclass(frozen=True)
class ExportLabels:
    """Every text of the CSV in the user's language, read while the request is there (the rows stream later),
    and the few names looked up per row (20-odd programmes, the province's communes) kept in dicts."""

    header: list[str]
    status: dict[ApplicationStatus, str]
    kind: dict[OrganisationKind, str]
    sector: dict[str, str]
    commune: dict[str, str]
    programme: dict[int, tuple[str, str]]
    timezone: ZoneInfo

    @classmethod
    def current(cls, locale: str | None) -> ExportLabels:
        locale = locale or "vi"
        programmes = db.session.execute(select(Programme.id, Programme.code, Programme.name))
        return cls(header=export_header(), status={s: str(s.label) for s in ApplicationStatus},
                   kind={k: str(k.label) for k in OrganisationKind}, sector=dict(sectors.choices(locale)),
                   commune={unit.code: unit.full_name for unit in geo.communes()},
                   programme={row.id: (row.code, text_in(row.name, locale)) for row in programmes},
                   timezone=ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"]))

    def cells(self, record: Any, now: dt.datetime) -> list[Any]:
        """One application as CSV cells (amounts as plain numbers so spreadsheets can add them up)."""
        code, name = self.programme.get(record.programme_id, ("", ""))
        submitted = record.submitted_at
        return [
            record.id, record.organisation_name, self.kind.get(record.organisation_kind, ""),
            self.commune.get(record.commune_code or "", record.commune_code or ""),
            self.sector.get(record.sector, record.sector), code, name, self.status.get(record.status, ""),
            record.requested_vnd, record.recommended_vnd, record.approved_vnd,
            submitted.astimezone(self.timezone).strftime("%d/%m/%Y") if submitted else "",
            waiting_days(record.status_changed_at, now), record.reviewer_name or "",
        ]


#: What the CSV reads per application: no JSON column (programme names come from ``ExportLabels``).
_EXPORT_COLUMNS = (
    Application.id, Application.status, Application.status_changed_at, Application.submitted_at,
    Application.requested_vnd, Application.recommended_vnd, Application.approved_vnd, Application.programme_id,
    Organisation.name.label("organisation_name"), Organisation.kind.label("organisation_kind"),
    Organisation.commune_code, Organisation.sector, Reviewer.full_name.label("reviewer_name"),
)


def export_query(filters: QueueFilters, user: User | None, now: dt.datetime):
    """Every application the filter shows, in the queue's order (no LIMIT)."""
    query = (select(*_EXPORT_COLUMNS).select_from(Application)
             .join(Organisation, Organisation.id == Application.organisation_id)
             .outerjoin(Reviewer, Reviewer.id == Application.reviewer_id))
    if filters.sort == "programme":
        query = query.join(Programme, Programme.id == Application.programme_id)
    return query.where(*_conditions(filters, user, now, filters.states(), ordered=True)).order_by(*_order(filters))


def export_csv(filters: QueueFilters, user: User | None, *, locale: str | None = None,
               now: dt.datetime | None = None) -> Iterator[str]:
    """The CSV text in chunks: a UTF-8 BOM first (so Excel reads Vietnamese), the header, then the rows.

    Everything that needs the request (language, user, settings) is read now; the returned generator
    runs in an application context of its own, reading the rows in batches while the response streams,
    so it works whether or not the request is still around.
    """
    now = now or utcnow()
    labels = ExportLabels.current(locale)
    query = export_query(filters, user, now).execution_options(yield_per=EXPORT_BATCH)
    app = current_app._get_current_object()

    def generate() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)

        def flush() -> str:
            text = buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            return text

        writer.writerow([safe_cell(cell) for cell in labels.header])
        yield "\ufeff" + flush()
        with app.app_context():
            for count, record in enumerate(db.session.execute(query), start=1):
                writer.writerow([safe_cell(cell) for cell in labels.cells(record, now)])
                if count % EXPORT_BATCH == 0:
                    yield flush()
        if buffer.tell():
            yield flush()

    return generate()


# One application ------------------------------------------------------------------------------------


def find_for_staff(app_id: int) -> Application | None:
    """The application with what the review page shows; None for unknown ids and drafts (the business's)."""
    return db.session.scalars(
        select(Application)
        .where(Application.id == app_id, Application.status != S.DRAFT)
        .options(joinedload(Application.organisation), joinedload(Application.programme),
                 joinedload(Application.partner), joinedload(Application.reviewer),
                 joinedload(Application.recommended_by), joinedload(Application.decided_by),
                 selectinload(Application.documents))
    ).first()


def timeline(application: Application) -> list[ApplicationActivity]:
    """Every entry of the timeline, staff-only ones included, oldest first."""
    return list(db.session.scalars(
        select(ApplicationActivity)
        .where(ApplicationActivity.application_id == application.id)
        .order_by(ApplicationActivity.created_at, ApplicationActivity.id)
        .options(joinedload(ApplicationActivity.actor), joinedload(ApplicationActivity.document))
    ))


def assessment_of(application: Application) -> Assessment | None:
    """The assessment the organisation had when it applied, else its latest submitted one."""
    if application.assessment_id is not None:
        found = db.session.get(Assessment, application.assessment_id)
        if found is not None:
            return found
    return applications.latest_assessment(application.organisation_id)


def reviewers() -> list[User]:
    """Active users holding the reviewer role, by name (whom an application can be assigned to)."""
    return list(db.session.scalars(
        select(User).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == Role.REVIEWER, User.active.is_(True))
        .order_by(User.full_name, User.id)
    ))


def four_eyes_note(application: Application, user: User) -> bool:
    """True when ``user`` is an approver who cannot approve because they recommended it."""
    transition = workflow.transition_for(application, "approve")
    return (transition is not None and workflow.may_act(transition, application, user)
            and workflow.four_eyes_blocks(transition, application, user))


def perform(application: Application, action: str, user: User, *, expected_version: int | None,
            ip: str | None = None, locale: str | None = None, **data: Any) -> workflow.Transition:
    """A staff action from the review page (``perform_transition`` tells a stale page so before anything else)."""
    return workflow.perform_transition(application, action, user, expected_version=expected_version, ip=ip,
                                       locale=locale, **data)


def assign(application: Application, reviewer: User | None, actor: User, *, expected_version: int | None = None,
           ip: str | None = None) -> bool:
    """Put ``reviewer`` (or nobody) in charge; False when nothing changes. Audited, staff-only timeline entry,
    and the reviewer is told (in the caller's transaction, like every notification)."""
    workflow.check_version(application, expected_version)
    if reviewer is not None and not reviewer.has_role(Role.REVIEWER):
        raise workflow.InvalidData(_l("Choose a reviewer from the list."))
    new_id = reviewer.id if reviewer is not None else None
    if application.reviewer_id == new_id:
        return False
    before = audit.snapshot(application, ["reviewer_id", "version"])
    application.reviewer_id = new_id
    workflow.flush_versioned()
    db.session.add(ApplicationActivity(
        application_id=application.id, kind=ActivityKind.ASSIGNMENT, visibility=Visibility.INTERNAL,
        actor_id=actor.id, body=reviewer.full_name if reviewer is not None else None, created_at=utcnow(),
    ))
    audit.record("application.assign", "application", application.id, actor=actor, ip=ip, before=before,
                 after=audit.snapshot(application, ["reviewer_id", "version"]))
    if reviewer is not None:
        notifications.reviewer_assigned(application, actor)  # nobody is told when they took it themselves
    return True


def add_comment(application: Application, actor: User, body: str | None, visibility: Visibility, *,
                ip: str | None = None) -> ApplicationActivity:
    """A staff comment on the timeline, staff only or shared with the business. Audited; the business (for a
    shared comment) and the reviewer in charge are told."""
    text = unicodedata.normalize("NFC", (body or "").replace("\r\n", "\n")).strip()
    if not text:
        raise workflow.InvalidData(_l("Write your comment first."))
    if len(text) > MAX_COMMENT_LENGTH:
        raise workflow.InvalidData(_l("Please keep the text under %(count)s characters.", count=MAX_COMMENT_LENGTH))
    entry = ApplicationActivity(application_id=application.id, kind=ActivityKind.COMMENT,
                                visibility=Visibility(visibility), actor_id=actor.id, body=text, created_at=utcnow())
    db.session.add(entry)
    db.session.flush()
    audit.record("application.comment", "application", application.id, actor=actor, ip=ip,
                 after={"activity_id": entry.id, "visibility": entry.visibility.value, "length": len(text)})
    notifications.comment_added(application, entry, actor)
    return entry
