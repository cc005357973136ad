"""The migrations build exactly the schema the models describe (SQLite, and PostgreSQL in CI)."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

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
