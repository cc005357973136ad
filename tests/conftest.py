"""Fixtures in the style of Flask's tutorial: ``app``, ``client``, ``runner``, ``auth``, ``outbox``.

The schema is built by the Alembic migrations (``flask db upgrade``), not ``create_all``, so the
suite runs on what production runs. SQLite by default; PostgreSQL when TEST_DATABASE_URL is set.
Every test starts with empty tables.
"""

from __future__ import annotations

import hashlib
import os

import pytest
from flask.testing import FlaskClient
from flask_migrate import upgrade
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import text

from app import create_app
from app.extensions import db, limiter
from config import TestConfig, normalise_database_url
from tests import factories

DEFAULT_PASSWORD = factories.DEFAULT_PASSWORD


def _reset_schema(database_url: str) -> None:
    """Start from an empty database so the migrations build everything."""
    if database_url.startswith("postgresql"):
        db.session.execute(text("DROP SCHEMA public CASCADE"))
        db.session.execute(text("CREATE SCHEMA public"))
        db.session.commit()
    else:
        db.drop_all()
        db.session.execute(text("DROP TABLE IF EXISTS alembic_version"))
        db.session.commit()


def _compile_translations() -> None:
    """Compile the .po catalogues so tests see the Vietnamese texts, as `make` does before serving."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    from config import BASE_DIR

    for po_path in (BASE_DIR / "translations").glob("*/LC_MESSAGES/messages.po"):
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file)
        with po_path.with_suffix(".mo").open("wb") as mo_file:
            write_mo(mo_file, catalog)


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    """One app for the session, its schema created by the migrations."""
    url = os.environ.get("TEST_DATABASE_URL")
    database_url = normalise_database_url(url) if url else (
        f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    )

    class SessionConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = database_url

    _compile_translations()
    application = create_app(SessionConfig)
    application.test_client_class = CSRFClient
    with application.app_context():
        _reset_schema(database_url)
        upgrade()
    yield application


class CSRFClient(FlaskClient):
    """A test client that behaves like a browser against a real server.

    It adds a valid CSRF token to form posts, as the browser would from the page.

    CSRF protection stays ON in tests. Pass ``csrf=False`` to send a form without the token, to
    prove that such a request is refused.
    """

    def open(self, *args, csrf: bool = True, **kwargs):
        method = kwargs.get("method", "GET").upper()
        data = kwargs.get("data")
        unsafe = method in {"POST", "PUT", "PATCH", "DELETE"}
        if csrf and unsafe and isinstance(data, dict) and "csrf_token" not in data:
            kwargs["data"] = {**data, "csrf_token": self.csrf_token()}
        # Each request gets its own app context (its own ``g`` and DB session), as in production;
        # without this it would reuse the test's context and cache the user and locale across requests.
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        # The test's own session then reads what the request committed.
        db.session.expire_all()
        return response

    def csrf_token(self) -> str:
        """The token Flask-WTF would render into a form for this client's session."""
        app = self.application
        with self.session_transaction() as session:
            raw = session.setdefault("csrf_token", hashlib.sha1(os.urandom(64)).hexdigest())  # noqa: S324
        serializer = URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token")
        return serializer.dumps(raw)


@pytest.fixture(autouse=True)
def _clean_state(app):
    """Empty tables, outbox and rate-limit counters before every test."""
    with app.app_context():
        yield
        db.session.rollback()
        db.session.remove()
        tables = [t for t in reversed(db.metadata.sorted_tables)]
        if db.engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                db.session.execute(table.delete())
        db.session.commit()
        app.extensions.get("outbox", []).clear()
        limiter.reset()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def outbox(app):
    """Messages sent to users during the test (the "memory" channel)."""
    return app.extensions.setdefault("outbox", [])


class AuthActions:
    """Log in and out through the real forms."""

    def __init__(self, client):
        self._client = client

    def login(self, login: str, password: str = DEFAULT_PASSWORD, remember: bool = False, follow: bool = False):
        data = {"login": login, "password": password}
        if remember:
            data["remember"] = "y"
        return self._client.post("/auth/login", data=data, follow_redirects=follow)

    def logout(self):
        return self._client.post("/auth/logout", data={})


@pytest.fixture
def auth(client):
    return AuthActions(client)
