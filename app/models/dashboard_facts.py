"""The staff dashboard's fact table: one narrow row per submitted assessment, derived, rebuilt at will.

The dashboard's figures are GROUP BYs over these rows instead of joins of assessments, pillar scores and
organisations (seconds at 100,000 assessments). Each row carries what the figures need: the quarter, the
organisation's *current* kind, sector and commune (the dashboard is for staff and follows today's profile;
open data, not this table, freezes profiles as they were), the overall and per-pillar scores and levels, and
the quarters of the organisation's previous and next submissions, which make "first / latest in any period"
and "latest of its quarter" simple comparisons. ``services.dashboard.sync_facts`` keeps it in step.

No foreign keys on purpose: the rows are derived data, deleted and inserted in bulk, and a sync repairs
anything a deletion leaves behind.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, Index, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.assessment import Assessment
from app.models.organisation import Organisation
from app.models.types import UTCDateTime

#: Pillar slots: score_1 is the current framework's first pillar, and so on.
MAX_PILLARS = 8
#: Base of ``levels_code``: levels 0 to 6, and 7 for none; (8 pillars + overall) x 3 bits fit an INTEGER.
LEVEL_BASE = 8


class DashboardFact(db.Model):
    """One submitted assessment, flattened for the dashboard."""

    __tablename__ = "dashboard_fact"
    #: Covering indexes: the tables by kind, sector and commune group in index order; the trend reads
    #: (quarter, level) in order; each single filter finds its rows; progress pairs rows of an organisation.
    __table_args__ = (
        Index("ix_dashboard_fact_cells", "org_kind", "sector", "commune_code", "quarter", "prev_quarter"),
        Index("ix_dashboard_fact_trend", "quarter", "overall_level", "next_quarter"),
        Index("ix_dashboard_fact_levels", "next_quarter", "levels_code", "quarter"),
        Index("ix_dashboard_fact_organisation", "organisation_id", "next_quarter", "quarter"),
        Index("ix_dashboard_fact_sector", "sector", "quarter"),
        Index("ix_dashboard_fact_commune", "commune_code", "quarter"),
    )

    assessment_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    organisation_id: Mapped[int] = mapped_column(Integer)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: ``year * 10 + quarter`` of ``submitted_at``, province time (as open data).
    quarter: Mapped[int] = mapped_column(Integer)
    #: Quarters of the organisation's submissions just before and just after this one (submission order:
    #: ``submitted_at``, then id); None for its first / latest.
    prev_quarter: Mapped[int | None] = mapped_column(Integer)
    next_quarter: Mapped[int | None] = mapped_column(Integer)
    #: The organisation's current profile.
    org_kind: Mapped[str] = mapped_column(String(32))
    sector: Mapped[str | None] = mapped_column(String(1))
    commune_code: Mapped[str | None] = mapped_column(String(10))
    overall_score: Mapped[float | None] = mapped_column(Float)
    overall_level: Mapped[int | None] = mapped_column(SmallInteger)
    score_1: Mapped[float | None] = mapped_column(Float)
    score_2: Mapped[float | None] = mapped_column(Float)
    score_3: Mapped[float | None] = mapped_column(Float)
    score_4: Mapped[float | None] = mapped_column(Float)
    score_5: Mapped[float | None] = mapped_column(Float)
    score_6: Mapped[float | None] = mapped_column(Float)
    score_7: Mapped[float | None] = mapped_column(Float)
    score_8: Mapped[float | None] = mapped_column(Float)
    #: Every level of the submission in one number, for one GROUP BY: digit 0 (base ``LEVEL_BASE``) is the
    #: overall level, digit i the level of pillar i; ``LEVEL_BASE - 1`` stands for "none".
    levels_code: Mapped[int] = mapped_column(Integer)


class DashboardFactState(db.Model):
    """One row: how the fact table was built, to know when it must be brought up to date."""

    __tablename__ = "dashboard_fact_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    #: The formula version, the framework and its pillars the rows were computed with.
    layout: Mapped[str] = mapped_column(String(200))
    #: The latest organisation ``updated_at`` seen: profiles edited since are copied again.
    organisations_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


#: The check that the fact table is up to date counts submitted assessments, and (like open data's version)
#: reads the latest submission and the latest profile edit: from these indexes alone.
Index("ix_assessment_dashboard_submitted", Assessment.status, Assessment.submitted_at)
Index("ix_organisation_updated_at", Organisation.updated_at)

#: Registered organisations by kind, sector and commune (and registration date, for a period) are counted
#: from this index alone, in its order, without reading the organisations' rows. Declared here because the
#: dashboard is its only reader; it belongs to migration 0009 with the fact table.
Index("ix_organisation_dashboard_cells", Organisation.kind, Organisation.sector, Organisation.commune_code,
      Organisation.created_at)
