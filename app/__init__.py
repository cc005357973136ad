"""dxportal application factory."""

from __future__ import annotations

import logging

from flask import Flask
from sqlalchemy import event
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from config import BASE_DIR, INSTANCE_DIR, Config, config_from_env


def create_app(config_class: type[Config] | None = None) -> Flask:
    """Build the app in named steps; nothing here touches the database."""
    config_class = config_class or config_from_env()
    app = Flask(
        __name__,
        instance_path=str(INSTANCE_DIR),
        template_folder=str(BASE_DIR / "templates"),
        static_folder="static",
    )
    app.config.from_object(config_class)
    config_class.init(app)
    configure_logging(app)
    app.url_map.converters["int"] = DatabaseIntegerConverter
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_request_hooks(app)
    register_template_helpers(app)
    register_commands(app)
    if app.config["TRUSTED_PROXIES"]:
        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)
    return app


class DatabaseIntegerConverter(IntegerConverter):
    """``<int:id>`` that only matches ids an INTEGER column can hold, so ``/x/99999999999`` is a 404, not a 500."""

    def __init__(self, map, *args, max: int = 2**31 - 1, **kwargs):
        super().__init__(map, *args, max=max, **kwargs)


def configure_logging(app: Flask) -> None:
    """Log to stderr at INFO so development messages (reset links, SMS) are visible."""
    if not app.debug and not app.testing:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app.logger.setLevel(logging.INFO)


def _unicode_lower(value):
    return value.lower() if isinstance(value, str) else value


def _sqlite_pragmas(busy_timeout_ms: int):
    def set_pragmas(dbapi_connection, _record):
        # SQLite's own lower() (and so ILIKE) folds ASCII only; PostgreSQL folds "TRẦN" to "trần" too.
        dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return set_pragmas


def register_extensions(app: Flask) -> None:
    """Initialise the extensions; SQLite gets WAL, a busy timeout and enforced foreign keys."""
    from app.extensions import babel, csrf, db, limiter, login_manager, migrate
    from app.models.types import render_migration_item
    from app.services.i18n import escape_lazy_strings, select_locale, select_timezone

    db.init_app(app)
    is_sqlite = app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")
    with app.app_context():
        if is_sqlite:
            event.listen(db.engine, "connect", _sqlite_pragmas(app.config["SQLITE_BUSY_TIMEOUT_MS"]))
    migrate.init_app(app, db, render_as_batch=is_sqlite, compare_type=True,
                     render_item=render_migration_item, directory=str(BASE_DIR / "migrations"))
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "basic"
    csrf.init_app(app)
    escape_lazy_strings()
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone,
                   default_translation_directories=str(BASE_DIR / "translations"))
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["REDIS_URL"] or "memory://")
    app.config.setdefault("RATELIMIT_KEY_PREFIX", app.config.get("RATELIMIT_STORAGE_PREFIX", "dxportal"))
    limiter.init_app(app)

    import app.models
    from app.services import accounts  # noqa: F401  (registers the user loader)


def register_blueprints(app: Flask) -> None:
    """One blueprint per feature."""
    from app.blueprints.admin import bp as admin_bp
    from app.blueprints.api import bp as api_bp
    from app.blueprints.applications import bp as applications_bp
    from app.blueprints.assessments import bp as assessments_bp
    from app.blueprints.auth import bp as auth_bp
    from app.blueprints.catalogue import bp as catalogue_bp
    from app.blueprints.dashboard import bp as dashboard_bp
    from app.blueprints.main import bp as main_bp
    from app.blueprints.notifications import bp as notifications_bp
    from app.blueprints.opendata import bp as opendata_bp
    from app.blueprints.organisations import bp as organisations_bp
    from app.blueprints.plans import bp as plans_bp
    from app.blueprints.printing import bp as printing_bp
    from app.blueprints.recommendations import bp as recommendations_bp
    from app.blueprints.review import bp as review_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp, url_prefix="/auth")
    app.register_blueprint(organisations_bp, url_prefix="/organisations")
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    app.register_blueprint(assessments_bp, url_prefix="/organisations/<int(max=2147483647):org_id>/assessments")
    app.register_blueprint(catalogue_bp, url_prefix="/catalogue")
    app.register_blueprint(recommendations_bp, url_prefix="/organisations/<int:org_id>/recommendations")
    app.register_blueprint(plans_bp, url_prefix="/organisations/<int:org_id>/plans")
    app.register_blueprint(applications_bp, url_prefix="/organisations/<int:org_id>/applications")
    app.register_blueprint(notifications_bp, url_prefix="/notifications")
    app.register_blueprint(review_bp, url_prefix="/review")
    app.register_blueprint(dashboard_bp, url_prefix="/dashboard")
    app.register_blueprint(opendata_bp, url_prefix="/open-data")
    app.register_blueprint(printing_bp)  # full paths: /organisations/.../pdf, /review/.../decision-letter.pdf
    from app.blueprints.api_tokens import bp as api_tokens_bp
    app.register_blueprint(api_tokens_bp, url_prefix="/admin/api-tokens")


def register_errorhandlers(app: Flask) -> None:
    """Translated error pages, JSON for API clients."""
    from app.blueprints.main.errors import register

    register(app)


def register_request_hooks(app: Flask) -> None:
    """Security headers on every response."""
    from app.security import apply_security_headers

    app.after_request(apply_security_headers)


def register_template_helpers(app: Flask) -> None:
    """Filters for VND, dates and labels, and globals every template needs."""
    from app.services import formatting

    formatting.register(app)


def register_commands(app: Flask) -> None:
    """``flask demo load`` and the other CLI commands."""
    from app.cli import register

    register(app)

