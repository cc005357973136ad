"""The staff dashboard's fact table: one narrow row per submitted assessment, derived, rebuilt at will.

The dashboard's figures are GROUP BYs over these rows instead of joins of assessments, pillar scores and
organisations (seconds at 100,000 assessments). Each row carries what the figures need: the quarter, the
organisation's *current* kind, sector and commune (the dashboard is for staff and follows today's profile;
open data, not this table, freezes profiles as they were), the overall and per-pillar scores and levels, and
the quarters of the organisation's previous and next submissions, which make "first / latest in any period"
and "latest of its quarter" simple comparisons. ``services.dashboard.sync_facts`` keeps it in step, and
``DashboardProgressPair`` next to it.

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
    #: Covering indexes, so no count reads a table row: the tables by kind, sector and commune group in
    #: index order; the trend reads (quarter, level) in order; the levels read the latest submissions with
    #: any filter; each single filter (kind, sector, commune) finds its rows with everything the counts
    #: need (without them SQLite fetched tens of thousands of rows for a kind filter; the kind index leaves
    #: out ``prev_quarter`` so the tables by kind keep reading "cells" in group order); the pairs of the
    #: progress table join rows of an organisation.
    __table_args__ = (
        Index("ix_dashboard_fact_cells", "org_kind", "sector", "commune_code", "quarter", "prev_quarter"),
        Index("ix_dashboard_fact_trend", "quarter", "overall_level", "next_quarter"),
        Index("ix_dashboard_fact_levels", "next_quarter", "levels_code", "quarter", "org_kind", "sector",
              "commune_code"),
        Index("ix_dashboard_fact_organisation", "organisation_id", "next_quarter", "quarter"),
        Index("ix_dashboard_fact_kind", "org_kind", "quarter", "next_quarter", "overall_level", "levels_code"),
        Index("ix_dashboard_fact_sector", "sector", "quarter", "next_quarter", "prev_quarter", "overall_level",
              "levels_code", "org_kind", "commune_code"),
        Index("ix_dashboard_fact_commune", "commune_code", "quarter", "next_quarter", "prev_quarter",
              "overall_level", "levels_code", "org_kind", "sector"),
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


class DashboardProgressPair(db.Model):
    """Two submissions of one organisation that can be its first and latest in some period, side by side.

    "Progress of re-assessed organisations" compares each organisation's first and latest submission in the
    chosen period. Pairing them at view time is a self-join of the fact table (a quarter of a second at
    100,000 assessments); these rows hold every pair that can ever be asked for, so the view is one scan
    with simple conditions. A submission can be the first of a period only if it is the first of its
    quarter, and the latest only if it is the latest of its quarter (periods are whole quarters), so an
    organisation with submissions in q quarters has at most q(q+1)/2 pairs: one when it was assessed twice.
    """

    __tablename__ = "dashboard_progress_pair"
    __table_args__ = (Index("ix_dashboard_progress_pair_organisation", "organisation_id"),)

    first_assessment_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_assessment_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    organisation_id: Mapped[int] = mapped_column(Integer)
    org_kind: Mapped[str] = mapped_column(String(32))
    sector: Mapped[str | None] = mapped_column(String(1))
    commune_code: Mapped[str | None] = mapped_column(String(10))
    #: The pair is the period's first and latest when the period starts after ``first_prev_quarter`` and by
    #: ``first_quarter``, and ends by/after ``last_quarter`` and before ``last_next_quarter``.
    first_quarter: Mapped[int] = mapped_column(Integer)
    first_prev_quarter: Mapped[int | None] = mapped_column(Integer)
    last_quarter: Mapped[int] = mapped_column(Integer)
    last_next_quarter: Mapped[int | None] = mapped_column(Integer)
    first_overall_score: Mapped[float | None] = mapped_column(Float)
    last_overall_score: Mapped[float | None] = mapped_column(Float)
    first_overall_level: Mapped[int | None] = mapped_column(SmallInteger)
    last_overall_level: Mapped[int | None] = mapped_column(SmallInteger)
    first_score_1: Mapped[float | None] = mapped_column(Float)
    first_score_2: Mapped[float | None] = mapped_column(Float)
    first_score_3: Mapped[float | None] = mapped_column(Float)
    first_score_4: Mapped[float | None] = mapped_column(Float)
    first_score_5: Mapped[float | None] = mapped_column(Float)
    first_score_6: Mapped[float | None] = mapped_column(Float)
    first_score_7: Mapped[float | None] = mapped_column(Float)
    first_score_8: Mapped[float | None] = mapped_column(Float)
    last_score_1: Mapped[float | None] = mapped_column(Float)
    last_score_2: Mapped[float | None] = mapped_column(Float)
    last_score_3: Mapped[float | None] = mapped_column(Float)
    last_score_4: Mapped[float | None] = mapped_column(Float)
    last_score_5: Mapped[float | None] = mapped_column(Float)
    last_score_6: Mapped[float | None] = mapped_column(Float)
    last_score_7: Mapped[float | None] = mapped_column(Float)
    last_score_8: Mapped[float | None] = mapped_column(Float)


#: ``DashboardProgressCell`` keys for "no submission before / after": they compare like quarters, so "the
#: period starts after the previous submission" is ``first_prev_quarter < start`` whether there is one or not.
NO_QUARTER_BEFORE = 0
NO_QUARTER_AFTER = 99999


class DashboardProgressCell(db.Model):
    """The progress pairs summed by organisation kind and by the quarters that place them in a period.

    The progress table without a commune or sector filter (the dashboard as it opens, a period, a kind) sums
    a few hundred of these rows instead of aggregating tens of thousands of pairs; with a commune or sector
    filter it reads the pairs. ``services.dashboard`` keeps the sums in step: the pairs of organisations it
    recomputes are subtracted before and added after, and cells that count no pair are deleted (sums kept
    that way can differ from a fresh sum in the last bits of a float; the page shows one decimal).
    """

    __tablename__ = "dashboard_progress_cell"

    org_kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    first_quarter: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    #: ``NO_QUARTER_BEFORE`` when the first submission of the pair is the organisation's first.
    first_prev_quarter: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_quarter: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    #: ``NO_QUARTER_AFTER`` when the last submission of the pair is the organisation's latest.
    last_next_quarter: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    #: Pairs (organisations), overall scores present and their sums, organisations that moved up a level.
    pairs: Mapped[int] = mapped_column(Integer, default=0)
    overall_first_n: Mapped[int] = mapped_column(Integer, default=0)
    overall_first_sum: Mapped[float] = mapped_column(Float, default=0.0)
    overall_last_n: Mapped[int] = mapped_column(Integer, default=0)
    overall_last_sum: Mapped[float] = mapped_column(Float, default=0.0)
    level_up: Mapped[int] = mapped_column(Integer, default=0)
    #: Per pillar slot: pairs with both scores, the sums of the first and last scores, pairs that improved.
    pillar_1_n: Mapped[int] = mapped_column(Integer, default=0)
    pillar_1_first_sum: Mapped[float] = mapped_column(Float, default=0.0)
    pillar_1_last_sum: Mapped[float] = mapped_column(Float, default=0.0)
    pillar_1_improved: Mapped[int] = mapped_column(Integer, default=0)
    pillar_2_n: Mapped[int] = mapped_column(Integer, default=0)
    pillar_2_first_sum: Mapped[float] = mapped_column(Float, default=0.0)
    pillar_2_last_sum: Mapped[float] = mapped_column(Float, default=0.0)
    pillar_2_improved: Mapped[int] = mapped_column(Integer, default=0)
    pillar_3_n: Mapped[int] = mapped_column(Integer, default=0)
    pillar_3_first_sum: Mapped[float] = mapped_column(Float, default=0.0)
    pillar_3_last_sum: Mapped[float] = mapped_column(Float, default=0.0)
    pillar_3_improved: Mapped[int] = mapped_column(Integer, default=0)
    pillar_4_n: Mapped[int] = mapped_column(Integer, default=0)
    pillar_4_first_sum: Mapped[float] = mapped_column(Float, default=0.0)
    pillar_4_last_sum: Mapped[float] = mapped_column(Float, default=0.0)
    pillar_4_improved: Mapped[int] = mapped_column(Integer, default=0)
    pillar_5_n: Mapped[int] = mapped_column(Integer, default=0)
    pillar_5_first_sum: Mapped[float] = mapped_column(Float, default=0.0)
    pillar_5_last_sum: Mapped[float] = mapped_column(Float, default=0.0)
    pillar_5_improved: Mapped[int] = mapped_column(Integer, default=0)
    pillar_6_n: Mapped[int] = mapped_column(Integer, default=0)
    pillar_6_first_sum: Mapped[float] = mapped_column(Float, default=0.0)
    pillar_6_last_sum: Mapped[float] = mapped_column(Float, default=0.0)
    pillar_6_improved: Mapped[int] = mapped_column(Integer, default=0)
    pillar_7_n: Mapped[int] = mapped_column(Integer, default=0)
    pillar_7_first_sum: Mapped[float] = mapped_column(Float, default=0.0)
    pillar_7_last_sum: Mapped[float] = mapped_column(Float, default=0.0)
    pillar_7_improved: Mapped[int] = mapped_column(Integer, default=0)
    pillar_8_n: Mapped[int] = mapped_column(Integer, default=0)
    pillar_8_first_sum: Mapped[float] = mapped_column(Float, default=0.0)
    pillar_8_last_sum: Mapped[float] = mapped_column(Float, default=0.0)
    pillar_8_improved: Mapped[int] = mapped_column(Integer, default=0)


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
