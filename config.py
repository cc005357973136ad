"""Settings for dxportal, read from the environment.

Three classes: ``Config`` (development, the embedded mode of ``make run``), ``TestConfig`` and
``ProductionConfig``. Every setting can be overridden by an environment variable of the same name.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("DXPORTAL_INSTANCE_DIR", BASE_DIR / "instance"))


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs written the usual way (``postgres://``, ``postgresql://``)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def development_secret_key() -> str:
    """Generate the development secret once and keep it in ``instance/`` so sessions survive restarts."""
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    key_file = INSTANCE_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(48))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


class Config:
    """Development and embedded mode: SQLite in ``instance/``, jobs in-process, limits in memory."""

    ENV_NAME = "development"
    SECRET_KEY = os.environ.get("SECRET_KEY") or None
    SQLALCHEMY_DATABASE_URI = normalise_database_url(
        os.environ.get("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'dxportal.sqlite3'}")
    )
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    #: Seconds SQLite waits for a lock before giving up ("database is locked").
    SQLITE_BUSY_TIMEOUT_MS = _env_int("SQLITE_BUSY_TIMEOUT_MS", 15000)
    REDIS_URL = os.environ.get("REDIS_URL") or None
    #: "rq" sends background jobs (messages, PDFs) to RQ workers on REDIS_URL; "inline" runs them at once.
    JOB_QUEUE = os.environ.get("JOB_QUEUE") or ("rq" if REDIS_URL else "inline")
    JOB_QUEUE_NAME = os.environ.get("JOB_QUEUE_NAME", "dxportal")

    #: The province this portal serves (code from the national list of administrative units).
    PROVINCE_CODE = os.environ.get("PROVINCE_CODE", "51")
    PORTAL_NAME = os.environ.get("PORTAL_NAME", "dxportal")
    BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:5000")

    BABEL_DEFAULT_LOCALE = "vi"
    BABEL_DEFAULT_TIMEZONE = os.environ.get("TIMEZONE", "Asia/Ho_Chi_Minh")
    LANGUAGES = ("vi", "en")

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", False)
    PERMANENT_SESSION_LIFETIME = timedelta(hours=_env_int("SESSION_HOURS", 12))
    REMEMBER_COOKIE_DURATION = timedelta(days=min(_env_int("REMEMBER_DAYS", 30), 30))
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = _env_bool("REMEMBER_COOKIE_SECURE", False)

    WTF_CSRF_TIME_LIMIT = 8 * 3600
    #: Largest request body; above it the portal answers 413 with a page that says why.
    MAX_CONTENT_LENGTH = _env_int("MAX_CONTENT_LENGTH", 32 * 1024 * 1024)
    #: Largest document a business may attach to an application (PDF, JPEG or PNG).
    APPLICATION_UPLOAD_MAX_BYTES = _env_int("APPLICATION_UPLOAD_MAX_BYTES", 10 * 1024 * 1024)
    #: Where application documents are kept (outside static/); default instance/uploads/applications.
    UPLOAD_DIR = os.environ.get("UPLOAD_DIR") or None
    #: Rendered PDFs (plans, letters); default instance/pdf-cache. Web and workers must share it.
    PDF_CACHE_DIR = os.environ.get("PDF_CACHE_DIR") or None
    #: Seconds open-data downloads and cached dashboard figures are kept (also the downloads' max-age).
    OPENDATA_CACHE_SECONDS = _env_int("OPENDATA_CACHE_SECONDS", 3600)
    #: How often (seconds) the data version is re-read before serving a cached download; 0 checks every time.
    OPENDATA_RECHECK_SECONDS = float(os.environ.get("OPENDATA_RECHECK_SECONDS", "2"))
    #: Entries of the in-process statistics cache (used when REDIS_URL is not set).
    STATISTICS_CACHE_ENTRIES = _env_int("STATISTICS_CACHE_ENTRIES", 64)
    #: Staff queue: applications waiting longer than this many days in a staff state get a badge.
    REVIEW_OVERDUE_DAYS = _env_int("REVIEW_OVERDUE_DAYS", 10)
    REVIEW_PAGE_SIZE = _env_int("REVIEW_PAGE_SIZE", 25)

    #: Lifetime of password-reset, confirmation and invitation links.
    PASSWORD_RESET_MAX_AGE = _env_int("PASSWORD_RESET_MAX_AGE", 3600)
    ACCOUNT_CONFIRM_MAX_AGE = _env_int("ACCOUNT_CONFIRM_MAX_AGE", 3 * 24 * 3600)
    INVITATION_MAX_AGE_DAYS = _env_int("INVITATION_MAX_AGE_DAYS", 14)

    RATELIMIT_ENABLED = _env_bool("RATELIMIT_ENABLED", True)
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_LOGIN_PER_IP = os.environ.get("RATELIMIT_LOGIN_PER_IP", "20 per minute;200 per hour")
    RATELIMIT_LOGIN_PER_ACCOUNT = os.environ.get("RATELIMIT_LOGIN_PER_ACCOUNT", "5 per minute;30 per hour")
    RATELIMIT_SENSITIVE = os.environ.get("RATELIMIT_SENSITIVE", "5 per minute;20 per hour")
    #: JSON API: per-address limit of POST /api/v1/assessments/score, and the largest body it reads.
    RATELIMIT_API_SCORE = os.environ.get("RATELIMIT_API_SCORE", "60 per minute")
    #: Per-address limit of POST /api/v1/recommendations/preview (it runs the recommender, so lower).
    RATELIMIT_API_PREVIEW = os.environ.get("RATELIMIT_API_PREVIEW", "30 per minute")
    #: Per-address limit of the public page that checks a printed plan's verification code (40-bit codes:
    #: this keeps guessing hopeless).
    RATELIMIT_VERIFY = os.environ.get("RATELIMIT_VERIFY", "20 per minute;200 per day")
    API_MAX_BODY_BYTES = _env_int("API_MAX_BODY_BYTES", 64 * 1024)
    #: Per-token limit of the token-protected API endpoints (each integration has its own budget).
    RATELIMIT_API_TOKEN = os.environ.get("RATELIMIT_API_TOKEN", "300 per minute")
    #: Largest catalogue POST /api/v1/catalogue reads (the admin upload's limit).
    API_CATALOGUE_MAX_BODY_BYTES = _env_int("API_CATALOGUE_MAX_BODY_BYTES", 5 * 1024 * 1024)

    #: Where messages to users go: "log" (development), "smtp", or "memory" (tests).
    MESSAGE_BACKEND = os.environ.get("MESSAGE_BACKEND", "log")
    #: SMS/Zalo adapter: "log" (development) or "http" (a provider's HTTP gateway).
    SMS_BACKEND = os.environ.get("SMS_BACKEND", "log")
    SMS_GATEWAY_URL = os.environ.get("SMS_GATEWAY_URL", "")
    SMS_GATEWAY_TOKEN = os.environ.get("SMS_GATEWAY_TOKEN", "")
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "localhost")
    MAIL_PORT = _env_int("MAIL_PORT", 587)
    MAIL_USE_TLS = _env_bool("MAIL_USE_TLS", True)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
    MAIL_SENDER = os.environ.get("MAIL_SENDER", "dxportal <no-reply@localhost>")

    #: Number of reverse proxies in front of the app whose X-Forwarded-* headers are trusted.
    TRUSTED_PROXIES = _env_int("TRUSTED_PROXIES", 0)
    #: Argon2id cost (RFC 9106 "second recommended" option by default).
    ARGON2_TIME_COST = _env_int("ARGON2_TIME_COST", 3)
    ARGON2_MEMORY_COST = _env_int("ARGON2_MEMORY_COST", 65536)
    ARGON2_PARALLELISM = _env_int("ARGON2_PARALLELISM", 4)
    DEMO_COMMANDS_ENABLED = True
    #: Where ``flask recommender train`` writes model files and the app loads the newest valid one from.
    RECOMMENDER_MODEL_DIR = os.environ.get("RECOMMENDER_MODEL_DIR") or str(INSTANCE_DIR / "models")
    #: How often (seconds) the recommender re-reads the catalogue's fingerprint to see other processes'
    #: changes; this process's own changes are seen at once. 0 checks on every recommendation.
    RECOMMENDER_CATALOGUE_RECHECK_SECONDS = float(os.environ.get("RECOMMENDER_CATALOGUE_RECHECK_SECONDS", "2"))

    @classmethod
    def init(cls, app) -> None:
        """Fill settings that need the filesystem; called by the factory."""
        if not app.config.get("SECRET_KEY"):
            app.config["SECRET_KEY"] = development_secret_key()


class TestConfig(Config):
    """Tests: a throw-away database (SQLite unless TEST_DATABASE_URL is set), messages kept in memory."""

    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "test-secret-key-not-for-production"  # noqa: S105
    SQLALCHEMY_DATABASE_URI = normalise_database_url(os.environ.get("TEST_DATABASE_URL", "sqlite://"))
    REDIS_URL = os.environ.get("TEST_REDIS_URL") or None
    #: Jobs run in-process in tests; the tests of the queue itself switch to "rq" with a private queue.
    JOB_QUEUE = "inline"
    JOB_QUEUE_NAME = f"dxportal-test-{os.getpid()}"
    MESSAGE_BACKEND = "memory"
    SMS_BACKEND = "memory"
    #: Cheap hashing keeps the suite fast; production cost is set above.
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 1024
    ARGON2_PARALLELISM = 1
    RATELIMIT_STORAGE_PREFIX = f"dxportal-test-{os.getpid()}"
    #: Uploaded documents go to a throw-away folder, never into the developer's instance/.
    UPLOAD_DIR = str(Path(tempfile.gettempdir()) / f"dxportal-test-uploads-{os.getpid()}")
    PDF_CACHE_DIR = str(Path(tempfile.gettempdir()) / f"dxportal-test-pdf-{os.getpid()}")
    OPENDATA_RECHECK_SECONDS = 0.0
    #: Tests never load the developer's trained models (tests that train point this at a temporary folder).
    RECOMMENDER_MODEL_DIR = str(Path(tempfile.gettempdir()) / f"dxportal-test-models-{os.getpid()}")
    #: Tests rewrite tables with raw SQL between tests: always check.
    RECOMMENDER_CATALOGUE_RECHECK_SECONDS = 0.0

    @classmethod
    def init(cls, app) -> None:
        """Nothing to create on disk for tests."""


class ProductionConfig(Config):
    """Production: refuses to start without a SECRET_KEY; cookies only over HTTPS."""

    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_SECURE = _env_bool("REMEMBER_COOKIE_SECURE", True)
    MESSAGE_BACKEND = os.environ.get("MESSAGE_BACKEND", "smtp")
    DEMO_COMMANDS_ENABLED = False

    @classmethod
    def init(cls, app) -> None:
        """Refuse to run with a missing or throw-away secret."""
        key = app.config.get("SECRET_KEY")
        if not key or len(key) < 32:
            raise RuntimeError("SECRET_KEY must be set (at least 32 characters) in production.")


CONFIGS = {"development": Config, "testing": TestConfig, "production": ProductionConfig}


def config_from_env() -> type[Config]:
    """The config class named by DXPORTAL_ENV (development by default)."""
    return CONFIGS[os.environ.get("DXPORTAL_ENV", "development")]
