"""Builders for the open-data and dashboard tests: organisations, submitted assessments with chosen pillar
scores at chosen times, and applications with their timeline, written straight to the tables so a test
can build dozens of them with exactly known figures."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
from itertools import count
from typing import Any

import pytest

from app.extensions import db
from app.models import (
    ActivityKind,
    Application,
    ApplicationActivity,
    ApplicationStatus,
    Assessment,
    AssessmentPillarScore,
    AssessmentStatus,
    Organisation,
    OrganisationKind,
    Programme,
    Visibility,
)
from app.services import dashboard, frameworks, geo, opendata

S = ApplicationStatus
_serial = count(1)
VN = dt.timezone(dt.timedelta(hours=7))


def pillars() -> list[str]:
    return [p.code for p in frameworks.current_framework().pillars]


def communes(n: int = 3) -> list[str]:
    """The codes of the first ``n`` communes of the configured province."""
    return [unit.code for unit in geo.communes()[:n]]


def at(year: int, month: int, day: int = 15, hour: int = 10) -> dt.datetime:
    """A moment in Vietnam time, as the aware UTC datetime the models store."""
    return dt.datetime(year, month, day, hour, tzinfo=VN).astimezone(dt.UTC)


@pytest.fixture(autouse=True)
def fresh_statistics(app, monkeypatch):
    """No cached figure survives from another test; the data version is read on every request."""
    monkeypatch.setitem(app.config, "OPENDATA_RECHECK_SECONDS", 0.0)
    opendata.clear_cache()
    dashboard.clear_cache()
    yield
    opendata.clear_cache()
    dashboard.clear_cache()


def make_org(kind: str = "enterprise", sector: str = "G", commune: str | None = None, **values: Any) -> Organisation:
    """An organisation with a distinctive name, tax code and contact details (to search outputs for them)."""
    n = next(_serial)
    organisation = Organisation(
        kind=OrganisationKind(kind), sector=sector, commune_code=commune,
        name=values.pop("name", f"Công ty Bí Mật Số {n}"), tax_code=values.pop("tax_code", f"{4_200_000_000 + n}"),
        contact_name=values.pop("contact_name", f"Trần Thị Riêng Tư {n}"),
        contact_email=values.pop("contact_email", f"rieng.tu{n}@example.vn"),
        contact_phone=values.pop("contact_phone", f"09{n:08d}"), address=f"Số {n} đường Kín", employees=5,
        **values,
    )
    db.session.add(organisation)
    db.session.flush()
    return organisation


def submit(organisation: Organisation, when: dt.datetime, scores: float | dict[str, float],
           overall: float | None = None) -> Assessment:
    """A submitted assessment at ``when``: every pillar at ``scores`` (or per pillar), ``overall`` their mean."""
    framework = frameworks.current_framework()
    per_pillar = scores if isinstance(scores, dict) else {code: float(scores) for code in pillars()}
    overall = overall if overall is not None else round(sum(per_pillar.values()) / len(per_pillar), 1)
    for previous in db.session.query(Assessment).filter_by(organisation_id=organisation.id, is_latest=True):
        previous.is_latest = False
    assessment = Assessment(
        organisation_id=organisation.id, framework_id=framework.id, framework_version=framework.version,
        track=framework.track_for_kind(organisation.kind.value).code, status=AssessmentStatus.SUBMITTED,
        created_at=when, updated_at=when, submitted_at=when, overall_score=overall,
        overall_level=framework.level_for(overall), is_latest=True,
    )
    assessment.pillar_scores = [AssessmentPillarScore(pillar=code, position=i, score=per_pillar[code])
                                for i, code in enumerate(pillars())]
    db.session.add(assessment)
    db.session.flush()
    return assessment


def make_application(organisation: Organisation, programme: Programme, *, submitted: dt.datetime,
                     steps: list[tuple[str, dt.datetime]] = (), approved_vnd: int | None = None,
                     disbursed_vnd: int | None = None) -> Application:
    """An application sent at ``submitted`` that then took ``steps`` [(action, when)], with its timeline."""
    targets = {"start_review": S.IN_REVIEW, "request_info": S.INFO_REQUESTED, "resubmit": S.IN_REVIEW,
               "recommend": S.RECOMMENDED, "approve": S.APPROVED, "complete": S.COMPLETED, "reject": S.REJECTED,
               "withdraw": S.WITHDRAWN, "cancel": S.CANCELLED}
    application = Application(organisation_id=organisation.id, programme_id=programme.id, status=S.SUBMITTED,
                              submitted_at=submitted, applied_year=submitted.year, requested_vnd=50_000_000,
                              planned_cost_vnd=100_000_000, declarations_accepted=True,
                              project_title="Dự án bí mật", project_description="Mô tả riêng tư",
                              created_at=submitted, updated_at=submitted, status_changed_at=submitted)
    db.session.add(application)
    db.session.flush()
    timeline = [("submit", S.DRAFT, S.SUBMITTED, submitted)]
    state = S.SUBMITTED
    for action, when in steps:
        timeline.append((action, state, targets[action], when))
        state = targets[action]
        if action == "approve":
            application.approved_vnd = approved_vnd
            application.recommended_vnd = approved_vnd
            application.decided_at = when
        elif action in ("reject", "cancel"):
            application.decided_at = when
        elif action == "complete":
            application.disbursed_vnd = disbursed_vnd
            application.completed_at = when
    application.status = state
    application.status_changed_at = timeline[-1][3]
    application.updated_at = timeline[-1][3]
    entered = application.created_at
    for action, source, target, when in timeline:
        db.session.add(ApplicationActivity(application_id=application.id, kind=ActivityKind.TRANSITION,
                                           action=action, from_status=source, to_status=target, created_at=when,
                                           state_entered_at=entered, visibility=Visibility.SHARED,
                                           body="Ghi chú nội bộ bí mật"))
        entered = when
    if state in (S.APPROVED, S.COMPLETED):
        programme.committed_vnd = (programme.committed_vnd or 0) + (
            approved_vnd if state is S.APPROVED else (disbursed_vnd or 0))
    if state is S.COMPLETED:
        programme.disbursed_vnd = (programme.disbursed_vnd or 0) + (disbursed_vnd or 0)
    db.session.flush()
    return application


def quartiles(values: list[float]) -> tuple[float, float, float]:
    """Quartiles by linear interpolation between ranked values (numpy's default), rounded to one decimal."""
    ordered = sorted(values)
    result = []
    for k in (1, 2, 3):
        position = k * (len(ordered) - 1) / 4
        low = int(position)
        high = min(low + 1, len(ordered) - 1)
        result.append(round(ordered[low] + (ordered[high] - ordered[low]) * (position - low), 1))
    return tuple(result)


def body_text(response) -> str:
    """A response body as text, gunzipped when it was sent compressed."""
    data = response.get_data()
    if response.headers.get("Content-Encoding") == "gzip":
        data = gzip.decompress(data)
    return data.decode("utf-8")


def csv_rows(response) -> list[list[str]]:
    text = body_text(response)
    assert text.startswith("\ufeff"), "CSV must start with a UTF-8 byte order mark"
    return list(csv.reader(io.StringIO(text[1:])))
