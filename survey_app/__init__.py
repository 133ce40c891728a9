"""sipas: citizen satisfaction surveys for Vietnamese public administration desks."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: defaults, then SIPAS_* environment variables, then ``test_config``."""
    # Imported here, not above: `sipas --help` imports this package and need not load SQLAlchemy.
    from . import config, db
    from .security import production

    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(config.DEFAULTS)
    app.config.from_prefixed_env("SIPAS")
    explicit = {name.removeprefix("SIPAS_") for name in os.environ if name.startswith("SIPAS_")}
    if test_config is not None:
        app.config.from_mapping(test_config)
        explicit |= set(test_config)
    generated_key = not app.config.get("SECRET_KEY")
    production.check(app, generated_key=generated_key)
    if not app.config.get("DATABASE_URL"):
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        app.config["DATABASE_URL"] = config.default_database_url(app)
    if generated_key:
        app.config["SECRET_KEY"] = config.load_secret_key(app)
    if not app.config.get("PUBLIC_BASE_URL"):
        app.config["PUBLIC_BASE_URL"] = config.LOCAL_BASE_URL
        app.config["PUBLIC_BASE_URL_GUESSED"] = True  # see web.public_base_url
    app.config["PUBLIC_BASE_URL"] = str(app.config["PUBLIC_BASE_URL"]).rstrip("/")
    production.apply_cookie_defaults(app, explicit)

    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    db.init_app(app)

    from . import cli, errors, i18n, outage, web
    from .security import inputs, limits, proxies

    cli.init_app(app)
    i18n.init_app(app)
    web.init_app(app)
    inputs.init_app(app)
    errors.init_app(app)
    outage.init_app(app)
    proxies.init_app(app)
    limits.init_app(app)

    from .api import bp as api_bp
    from .citizen import bp as citizen_bp
    from .kiosk_api import bp as kiosk_bp
    from .officer import bp as officer_bp
    from .reports import bp as reports_bp

    app.register_blueprint(citizen_bp)
    app.register_blueprint(kiosk_bp, url_prefix="/kiosk")
    app.register_blueprint(officer_bp, url_prefix="/officer")
    app.register_blueprint(reports_bp, url_prefix="/officer/reports")
    # Bearer tokens, not cookies, authenticate the API (and it only reads): no CSRF token.
    web.csrf.exempt(api_bp)
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    return app
