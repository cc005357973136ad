"""Published statistics, frozen: what open data published for each ended quarter, and who it counted.

Open data publishes ended quarters only. Computing a quarter once and keeping the result makes its figures
stable (an organisation that later moves to another commune, sector or kind does not change a quarter
already published: a download taken before and after the move cannot be differenced) and makes a download
a read, not a computation over every assessment.

No foreign keys on purpose: these rows are a record of what was published, and stay as they were when an
organisation or an assessment is later deleted (they hold codes and scores, no names or contacts).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import UTCDateTime, utcnow


class OpenDataSnapshot(db.Model):
    """One dataset's published cells for one ended quarter, suppression applied, without names (per language
    names are added when a file is written)."""

    __tablename__ = "open_data_snapshot"
    #: Two workers publishing the same quarter at once: the second insert fails and it reads the first's.
    __table_args__ = (UniqueConstraint("dataset", "quarter", name="uq_open_data_snapshot_dataset_quarter"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset: Mapped[str] = mapped_column(String(40))
    #: ``year * 10 + quarter`` (20263 is 2026-Q3), province time.
    quarter: Mapped[int] = mapped_column(Integer)
    #: The cells: a list of compact rows (see ``opendata.publish_quarter``).
    cells: Mapped[Any] = mapped_column(JSON)
    #: The submissions of the quarter seen when it was published: {"count", "max_id", "checksum"}. When they
    #: differ later (a late import, a deletion), the quarter is published again, its members' cells frozen.
    source: Mapped[Any] = mapped_column(JSON)
    #: SHA-256 of the cells (part of the dataset's version, hence of ETags and cache keys).
    digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class OpenDataMember(db.Model):
    """An organisation counted in a published quarter, with the cell it was counted in at the time.

    Its kind, sector and commune are copied when the quarter is first published and never updated, so a
    later profile edit cannot move it to another cell of that quarter.
    """

    __tablename__ = "open_data_member"

    quarter: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The organisation's latest submission of the quarter (the one whose scores count).
    assessment_id: Mapped[int] = mapped_column(Integer)
    org_kind: Mapped[str] = mapped_column(String(32))
    sector: Mapped[str | None] = mapped_column(String(1))
    commune_code: Mapped[str | None] = mapped_column(String(10))
    overall_score: Mapped[float | None] = mapped_column(Float)
    #: Pillar scores of that submission: {pillar code: score}.
    scores: Mapped[Any] = mapped_column(JSON)


class OpenDataFile(db.Model):
    """A rendered download (gzip) of one dataset, format and language, for one dataset version.

    Written when a quarter is published (or on the first request for a new version), so the first download
    after a restart reads a few hundred kilobytes instead of serialising thousands of cells.
    """

    __tablename__ = "open_data_file"
    __table_args__ = (UniqueConstraint("dataset", "fmt", "lang", "version", name="uq_open_data_file_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset: Mapped[str] = mapped_column(String(40))
    fmt: Mapped[str] = mapped_column(String(8))
    lang: Mapped[str] = mapped_column(String(8))
    version: Mapped[str] = mapped_column(String(64))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
