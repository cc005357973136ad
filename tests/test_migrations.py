"""The migrations build exactly the schema the models describe (SQLite, and PostgreSQL in CI)."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from app.extensions import db


def test_upgrade_from_empty_database_matches_models(app):
    """``flask db upgrade`` ran on an empty database in the session fixture; autogenerate finds nothing."""
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_every_table_is_created_by_migrations(app):
    with db.engine.connect() as connection:
        existing = set(db.inspect(connection).get_table_names())
    assert set(db.metadata.tables) <= existing
    assert "alembic_version" in existing


def test_0010_backfills_when_each_transition_left_state_was_entered(tmp_path):
    """Timelines from before 0010 get ``state_entered_at`` from the transition before, so the dashboard's
    "days in a state" medians include past stays; other kinds of entries and first transitions stay empty."""
    import sqlite3

    from flask_migrate import upgrade

    from app import create_app
    from config import TestConfig

    path = tmp_path / "upgrade.sqlite3"

    class UpgradeConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{path}"

    migrated = create_app(UpgradeConfig)
    with migrated.app_context():
        upgrade(revision="0009")
    rows = [  # id, application, kind, created_at (two applications, out of id order on purpose)
        (1, 7, "transition", "2026-01-01 08:00:00.000000"),
        (2, 7, "comment", "2026-01-02 08:00:00.000000"),
        (4, 7, "transition", "2026-01-05 08:00:00.000000"),
        (3, 7, "transition", "2026-01-03 08:00:00.000000"),
        (5, 8, "transition", "2026-01-04 08:00:00.000000"),
    ]
    with sqlite3.connect(path) as connection:
        connection.executemany("INSERT INTO application_activity (id, application_id, kind, visibility, created_at)"
                               " VALUES (?, ?, ?, 'shared', ?)", rows)
    with migrated.app_context():
        upgrade()
        entered = dict(db.session.execute(text("SELECT id, state_entered_at FROM application_activity")).all())
        db.session.remove()
        db.engine.dispose()
    assert entered == {1: None, 2: None, 3: "2026-01-01 08:00:00.000000", 4: "2026-01-03 08:00:00.000000", 5: None}
