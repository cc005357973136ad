"""Start-up settings: secrets, database modes, limiter storage."""

import os

import pytest
from sqlalchemy import text

import config
from app import create_app
from app.extensions import db, limiter
from config import Config, ProductionConfig, TestConfig, normalise_database_url


def test_production_refuses_to_start_without_a_secret_key():
    class NoSecret(ProductionConfig):
        SECRET_KEY = None

    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(NoSecret)


def test_production_refuses_a_short_secret_key():
    class ShortSecret(ProductionConfig):
        SECRET_KEY = "short"

    with pytest.raises(RuntimeError):
        create_app(ShortSecret)


def test_production_cookies_are_secure_httponly_lax_and_remember_is_at_most_30_days():
    assert ProductionConfig.SESSION_COOKIE_SECURE and ProductionConfig.REMEMBER_COOKIE_SECURE
    assert ProductionConfig.REMEMBER_COOKIE_HTTPONLY and ProductionConfig.REMEMBER_COOKIE_SAMESITE == "Lax"
    assert ProductionConfig.REMEMBER_COOKIE_DURATION.days <= 30


def test_development_secret_is_generated_once_and_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "INSTANCE_DIR", tmp_path)
    first = config.development_secret_key()
    assert len(first) >= 48
    assert config.development_secret_key() == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u@h/d", "postgresql+psycopg://u@h/d"),
        ("postgresql://u@h/d", "postgresql+psycopg://u@h/d"),
        ("postgresql+psycopg://u@h/d", "postgresql+psycopg://u@h/d"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_database_urls_use_psycopg3(given, expected):
    assert normalise_database_url(given) == expected


def test_embedded_sqlite_uses_wal_busy_timeout_and_foreign_keys(tmp_path):
    class FileSqlite(TestConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'embedded.sqlite3'}"

    application = create_app(FileSqlite)
    with application.app_context():
        assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert db.session.execute(text("PRAGMA busy_timeout")).scalar() == Config.SQLITE_BUSY_TIMEOUT_MS
        assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1
        db.session.remove()
        db.engine.dispose()


@pytest.mark.skipif(not os.environ.get("TEST_REDIS_URL"), reason="needs TEST_REDIS_URL")
def test_rate_limits_are_stored_in_redis_when_redis_url_is_set():
    class WithRedis(TestConfig):
        REDIS_URL = os.environ["TEST_REDIS_URL"]
        RATELIMIT_STORAGE_URI = os.environ["TEST_REDIS_URL"]

    application = create_app(WithRedis)
    with application.app_context():
        assert type(limiter.storage).__name__ == "RedisStorage"
        assert limiter.storage.check()
